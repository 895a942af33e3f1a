"""Bedrock's dataset side: the canonical chat JSONL converted to ``bedrock-conversation-2024`` (checked against
Amazon's published example record), and Bedrock's rules on both formats, one broken fixture per rule with the
line reported."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ftclient.dataset.formats import ConversionError, convert_file, converter_for
from ftclient.dataset.validate import validate
from ftclient.errors import DatasetError

MODEL = "amazon.nova-micro-v1:0"
BROKEN_LINE = 9
REPLY = "Mars does not have a capital. Perhaps it will one day."

# Amazon Nova user guide, fine-tune-prepare-data-understanding.html, "Example dataset formats" (text only),
# read 2026-12-03: the record Bedrock documents as a valid training line.
PUBLISHED = {
    "schemaVersion": "bedrock-conversation-2024",
    "system": [{"text": "You are a digital assistant with a friendly personality"}],
    "messages": [
        {"role": "user", "content": [{"text": "What is the capital of Mars?"}]},
        {"role": "assistant", "content": [{"text": REPLY}]},
    ],
}


def canonical(i: int) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": f"What is {i} plus {i}?"},
            {"role": "assistant", "content": f"It is {2 * i}."},
        ]
    }


def native(i: int) -> dict[str, Any]:
    return {
        "schemaVersion": "bedrock-conversation-2024",
        "system": [{"text": "Answer briefly."}],
        "messages": [
            {"role": "user", "content": [{"text": f"What is {i} plus {i}?"}]},
            {"role": "assistant", "content": [{"text": f"It is {2 * i}."}]},
        ],
    }


def write(tmp_path: Path, records: list[Any], name: str = "data.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def with_broken(tmp_path: Path, make: Any, broken: Any, n: int = 12) -> Path:
    records = [make(i) for i in range(n)]
    records[BROKEN_LINE - 1] = broken
    return write(tmp_path, records)


def test_the_published_example_passes_and_a_canonical_record_converts_to_it(tmp_path: Path) -> None:
    source = {
        "messages": [
            {"role": "system", "content": PUBLISHED["system"][0]["text"]},
            {"role": "user", "content": "What is the capital of Mars?"},
            {"role": "assistant", "content": [{"type": "text", "text": REPLY}]},
        ]
    }
    assert converter_for("bedrock-conversation-2024")(source) == PUBLISHED
    report = validate(write(tmp_path, [PUBLISHED] * 1 + [native(i) for i in range(9)]), provider="bedrock", model=MODEL)
    assert report.ok, report.errors


def test_a_record_already_in_bedrocks_schema_is_kept_as_it_is() -> None:
    assert converter_for("bedrock-conversation-2024")(PUBLISHED) == PUBLISHED


def test_a_prepared_file_converts_validates_and_counts_the_same_tokens(tmp_path: Path) -> None:
    source = write(tmp_path, [canonical(i) for i in range(10)])
    before = validate(source, provider="bedrock", model=MODEL)
    converted = convert_file(source, "bedrock-conversation-2024", tmp_path / "out", source_sha256="0" * 64)
    after = validate(converted.path, provider="bedrock", model=MODEL)
    assert before.ok and after.ok, (before.errors, after.errors)
    assert converted.examples == 10
    assert json.loads(converted.path.read_text().splitlines()[3]) == native(3)
    assert before.tokens is not None and after.tokens is not None
    assert before.tokens.total == after.tokens.total  # one estimate, whichever format it is counted in
    assert after.tokens.exact is False  # Nova's tokenizer is not published: an estimate, and marked so
    assert after.cost is not None and after.cost.epochs == 2  # Bedrock's default epochCount


@pytest.mark.parametrize(
    ("broken", "path"),
    [
        ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "weight": 0}]},
         "messages[1].weight"),
        ({"messages": [{"role": "user", "content": "q"}, {"role": "tool", "content": "x"}]}, "messages[1].role"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/a.png"}}]},
                       {"role": "assistant", "content": "a"}]}, "messages[0].content[0]"),
        ({"messages": [{"role": "user", "content": "q"}, {"role": "system", "content": "late"},
                       {"role": "assistant", "content": "a"}]}, "messages[1]"),
        ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "tools": []},
         "tools"),
    ],
    ids=["weight", "tool-role", "image-url", "late-system", "tools"],
)
def test_what_cannot_convert_is_refused_with_its_line_and_json_path(tmp_path: Path, broken: Any, path: str) -> None:
    with pytest.raises(ConversionError) as raised:
        converter_for("bedrock-conversation-2024")(broken)
    assert raised.value.path == path
    source = with_broken(tmp_path, canonical, broken)
    with pytest.raises(DatasetError) as failed:
        convert_file(source, "bedrock-conversation-2024", tmp_path / "out", source_sha256="1" * 64)
    assert [(p.line, p.path) for p in failed.value.problems] == [(BROKEN_LINE, path)]
    assert not (tmp_path / "out").exists()  # nothing written when any record fails


def _errors(path: Path) -> list[tuple[str, int | None, str | None]]:
    report = validate(path, provider="bedrock", model=MODEL)
    return [(p.code, p.line, p.path) for p in report.errors]


# rule -> (a broken native line, a broken canonical line or None, the expected code, its JSON path)
NATIVE_RULES: dict[str, tuple[dict[str, Any], str, str | None]] = {
    "schema-version": ({k: v for k, v in native(0).items() if k != "schemaVersion"} | {"system": []},
                       "schema-version", "schemaVersion"),
    "unknown-key": (native(0) | {"metadata": {}}, "unknown-key", "metadata"),
    "system-not-text": (native(0) | {"system": "Answer briefly."}, "invalid-content", "system"),
    "role": (native(0) | {"messages": [{"role": "user", "content": [{"text": "q"}]},
                                       {"role": "bot", "content": [{"text": "a"}]}]},
             "role-not-supported", "messages[1].role"),
    "first-not-user": (native(0) | {"messages": [{"role": "assistant", "content": [{"text": "hi"}]},
                                                 {"role": "user", "content": [{"text": "q"}]},
                                                 {"role": "assistant", "content": [{"text": "a"}]}]},
                       "first-not-user", "messages[0]"),
    "alternating": (native(0) | {"messages": [{"role": "user", "content": [{"text": "q"}]},
                                              {"role": "user", "content": [{"text": "q2"}]},
                                              {"role": "assistant", "content": [{"text": "a"}]}]},
                    "roles-not-alternating", "messages[1]"),
    "last-not-assistant": (native(0) | {"messages": [{"role": "user", "content": [{"text": "q"}]},
                                                     {"role": "assistant", "content": [{"text": "a"}]},
                                                     {"role": "user", "content": [{"text": "more?"}]}]},
                           "last-not-assistant", "messages[2]"),
    "block-not-text": (native(0) | {"messages": [{"role": "user", "content": [{"image": {}}]},
                                                 {"role": "assistant", "content": [{"text": "a"}]}]},
                       "invalid-content", "messages[0].content[0]"),
    "empty-text": (native(0) | {"messages": [{"role": "user", "content": [{"text": " "}]},
                                             {"role": "assistant", "content": [{"text": "a"}]}]},
                   "empty-content", "messages[0].content[0].text"),
    "no-messages": (native(0) | {"messages": []}, "no-messages", "messages"),
    "reserved-keyword": (native(0) | {"messages": [{"role": "user", "content": [{"text": "User: hi"}]},
                                                   {"role": "assistant", "content": [{"text": "a"}]}]},
                         "reserved-keyword", "messages[0].content[0].text"),
    "reserved-in-system": (native(0) | {"system": [{"text": "end with [EOS]"}]},
                           "reserved-keyword", "system[0].text"),
}


@pytest.mark.parametrize("rule", sorted(NATIVE_RULES))
def test_each_native_rule_reports_its_line(tmp_path: Path, rule: str) -> None:
    broken, code, path = NATIVE_RULES[rule]
    found = _errors(with_broken(tmp_path, native, broken))
    assert found == [(code, BROKEN_LINE, path)]


CANONICAL_RULES: dict[str, tuple[dict[str, Any], str, str | None]] = {
    "role": ({"messages": [{"role": "user", "content": "q"}, {"role": "tool", "content": "x"},
                           {"role": "assistant", "content": "a"}]}, "role-not-supported", "messages[1].role"),
    "late-system": ({"messages": [{"role": "user", "content": "q"}, {"role": "system", "content": "s"},
                                  {"role": "assistant", "content": "a"}]}, "system-not-first", "messages[1]"),
    "first-not-user": ({"messages": [{"role": "system", "content": "s"}, {"role": "assistant", "content": "hi"},
                                     {"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]},
                       "first-not-user", "messages[1]"),
    "alternating": ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"},
                                  {"role": "assistant", "content": "b"}]}, "roles-not-alternating", "messages[2]"),
    "last-not-assistant": ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"},
                                         {"role": "user", "content": "and?"}]}, "last-not-assistant", "messages[2]"),
    "weight": ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "weight": 1}]},
               "not-convertible", "messages[1].weight"),
    "image": ({"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]},
        {"role": "assistant", "content": "a"}]}, "not-convertible", "messages[0].content[0]"),
    "reserved-keyword": ({"messages": [{"role": "system", "content": "Reply as Assistant: only"},
                                       {"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]},
                         "reserved-keyword", "messages[0].content"),
}


@pytest.mark.parametrize("rule", sorted(CANONICAL_RULES))
def test_each_canonical_rule_reports_what_would_fail_on_bedrock(tmp_path: Path, rule: str) -> None:
    broken, code, path = CANONICAL_RULES[rule]
    assert (code, BROKEN_LINE, path) in _errors(with_broken(tmp_path, canonical, broken))


def test_record_count_limits(tmp_path: Path) -> None:
    few = write(tmp_path, [native(i) for i in range(7)], "few.jsonl")
    assert [p.code for p in validate(few, provider="bedrock", model=MODEL).errors] == ["too-few-examples"]
    assert validate(write(tmp_path, [native(i) for i in range(8)], "eight.jsonl"), provider="bedrock").ok


def test_an_example_over_the_token_limit_is_reported(tmp_path: Path) -> None:
    long = native(0) | {"messages": [{"role": "user", "content": [{"text": "word " * 40_000}]},
                                     {"role": "assistant", "content": [{"text": "a"}]}]}
    codes = [(p.code, p.line) for p in validate(with_broken(tmp_path, native, long), provider="bedrock",
                                                model=MODEL).errors]
    assert codes == [("too-many-tokens", BROKEN_LINE)]
