"""The emulated OpenAI's own file rules (emulator/openai/filerules.py), one rejection at a time."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ftclient.emulator.openai.filerules import FileRejection, check_file

USER = {"role": "user", "content": "Where is my parcel?"}
ANSWER = {"role": "assistant", "content": "It ships tomorrow."}
GOOD = {"messages": [{"role": "system", "content": "Be brief."}, USER, ANSWER]}
GOOD_DPO = {
    "input": {"messages": [USER]},
    "preferred_output": [ANSWER],
    "non_preferred_output": [{"role": "assistant", "content": "No idea."}],
}


def _file(bad: Any, good: dict[str, Any] = GOOD, at: int = 3) -> bytes:
    lines = [json.dumps(good)] * 12
    lines[at - 1] = bad if isinstance(bad, str) else json.dumps(bad)
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ('{"messages": [', "Example 3 cannot be parsed"),
        ("[1, 2]", "Example 3 is not a JSON object"),
        ({"prompt": "x"}, 'Example 3 is missing key "messages"'),
        ({"messages": [USER, {"content": "hi"}]}, "Example 3, message 2 Discriminator 'role' is missing"),
        ({"messages": [{"role": "developer", "content": "x"}, USER, ANSWER]}, "unrecognised role 'developer'"),
        ({"messages": [USER]}, "Example 3 has no assistant message"),
        ({"messages": [USER, {**ANSWER, "weight": 0}]}, "every assistant message has weight 0"),
        ({"messages": [USER, {**ANSWER, "weight": 2}]}, "weight must be 0 or 1"),
        ({"messages": [USER, {"role": "assistant"}]}, "neither content nor tool calls"),
        ({"messages": [{"role": "user"}, ANSWER]}, "message 1 is missing its content"),
        ({"messages": [USER, {"role": "tool", "content": "21"}, ANSWER]}, "needs tool_call_id"),
        (
            {"messages": [USER, {"role": "assistant", "tool_calls": [
                {"id": "c", "type": "function", "function": {"name": "f", "arguments": {"a": 1}}}]}]},
            "arguments must be a JSON string",
        ),
        (
            {"messages": [USER, {"role": "assistant", "content": [
                {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}]},
            "assistant messages may not contain images",
        ),
        ({"messages": [USER, {"role": "assistant", "content": "a <|fim_suffix|> b"}]}, "invalid token: <|fim_suffix|>"),
        (GOOD_DPO, "preference format"),
    ],
)
def test_a_bad_example_fails_with_the_line_and_the_reason(bad: Any, words: str) -> None:
    with pytest.raises(FileRejection) as info:
        check_file(_file(bad), "supervised", training=True)
    assert words in info.value.message and info.value.code == "invalid_file_format"


def test_dpo_files_are_checked_for_their_own_shape() -> None:
    assert len(check_file(_file(GOOD_DPO, GOOD_DPO), "dpo", training=True)) == 12
    with pytest.raises(FileRejection, match="fine-tune-chat format"):
        check_file(_file(GOOD), "dpo", training=True)
    two = {**GOOD_DPO, "preferred_output": [ANSWER, ANSWER]}
    with pytest.raises(FileRejection, match="preferred_output must hold exactly one assistant message"):
        check_file(_file(two, GOOD_DPO), "dpo", training=True)


def test_at_least_ten_training_examples_but_any_number_of_validation_examples() -> None:
    three = b"\n".join(json.dumps(GOOD).encode() for _ in range(3)) + b"\n"
    with pytest.raises(FileRejection) as info:
        check_file(three, "supervised", training=True)
    assert info.value.code == "invalid_n_examples" and "has 3 example(s)" in info.value.message
    assert len(check_file(three, "supervised", training=False)) == 3


def test_tool_calls_images_in_user_messages_and_blank_lines_are_accepted() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\": \"Oslo\"}"}}
    example = {"messages": [
        {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                     {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]},
        {"role": "assistant", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "12C"},
        {"role": "assistant", "content": "12 degrees."},
    ]}
    data = _file(example).replace(b"\n", b"\n\n", 1)
    assert len(check_file(data, "supervised", training=True)) == 12
