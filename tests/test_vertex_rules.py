"""Vertex AI's Gemini tuning schema: the converter checked against Google's published example record, and
one broken fixture per rule, each reported on its line with its JSON path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ftclient.dataset.formats import ConversionError, convert_file, converter_for
from ftclient.dataset.validate import validate
from ftclient.errors import DatasetError

MODEL = "gemini-2.5-flash"

# The published example record (cloud.google.com/vertex-ai/generative-ai/docs/models/tune_gemini/text_tune,
# read 2026-12-03), and the canonical chat record it corresponds to.
LAST = "I be Captain Barktholomew, the most feared pirate dog of the seven seas."
PUBLISHED = {
    "systemInstruction": {"role": "system", "parts": [{"text": "You are a pirate dog named Captain Barktholomew."}]},
    "contents": [
        {"role": "user", "parts": [{"text": "Hi"}]},
        {"role": "model", "parts": [{"text": "Argh! What brings ye to my ship?"}]},
        {"role": "user", "parts": [{"text": "What's your name?"}]},
        {"role": "model", "parts": [{"text": LAST}]},
    ],
}
CANONICAL = {
    "messages": [
        {"role": "system", "content": "You are a pirate dog named Captain Barktholomew."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Argh! What brings ye to my ship?"},
        {"role": "user", "content": "What's your name?"},
        {"role": "assistant", "content": "I be Captain Barktholomew, the most feared pirate dog of the seven seas."},
    ]
}
GOOD_NATIVE = {"contents": [{"role": "user", "parts": [{"text": "2+2?"}]}, {"role": "model", "parts": [{"text": "4"}]}]}


def test_the_converter_writes_the_published_example_record() -> None:
    assert converter_for("gemini")(CANONICAL) == PUBLISHED


def test_repeated_roles_merge_into_one_turn_and_text_parts_carry_over() -> None:
    record = {
        "messages": [
            {"role": "user", "content": "first"},
            {"role": "user", "content": [{"type": "text", "text": "second"}]},
            {"role": "assistant", "content": "reply"},
        ]
    }
    assert converter_for("gemini")(record) == {
        "contents": [
            {"role": "user", "parts": [{"text": "first"}, {"text": "second"}]},
            {"role": "model", "parts": [{"text": "reply"}]},
        ]
    }


def _write(tmp_path: Path, lines: list[Any]) -> Path:
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def test_both_the_canonical_and_the_native_example_pass(tmp_path: Path) -> None:
    for record in (CANONICAL, PUBLISHED, GOOD_NATIVE):
        report = validate(_write(tmp_path, [record] * 3), provider="vertex", model=MODEL)
        assert report.ok, report.errors
        assert report.tokens is not None and report.tokens.exact is False  # an estimate, and said so


def _msgs(*pairs: tuple[str, Any], **extra: Any) -> dict[str, Any]:
    return {"messages": [{"role": role, "content": content} for role, content in pairs], **extra}


# (rule code, broken line 2, JSON path named, severity)
CASES: list[tuple[str, Any, str | None, str]] = [
    # canonical chat lines that cannot become Vertex lines
    ("not-convertible", _msgs(("user", "a"), ("system", "late"), ("assistant", "b")), "messages[1]", "error"),
    ("not-convertible", {"messages": [{"role": "user", "content": "a"},
                                      {"role": "assistant", "content": "b", "name": "bot"}]},
     "messages[1].name", "error"),
    ("not-convertible", {"messages": [{"role": "user", "content": "a"},
                                      {"role": "assistant", "content": "b", "weight": 0},
                                      {"role": "user", "content": "c"},
                                      {"role": "assistant", "content": "d"}]}, "messages[1].weight", "error"),
    ("not-convertible", {"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]},
        {"role": "assistant", "content": "b"}]}, "messages[0].content[0]", "error"),
    ("not-convertible", {"messages": [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": None,
         "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "w", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        {"role": "assistant", "content": "sunny"}]}, "messages[1]", "error"),
    ("first-turn-not-user", _msgs(("assistant", "hello"), ("user", "hi"), ("assistant", "bye")), "messages[0]",
     "warning"),
    ("last-turn-not-model", _msgs(("user", "a"), ("assistant", "b"), ("user", "c")), "messages[2]", "error"),
    # native Gemini lines
    ("unknown-field", {**GOOD_NATIVE, "messages_extra": 1}, "messages_extra", "error"),
    ("system-instruction-shape", {**GOOD_NATIVE, "systemInstruction": {"parts": []}}, "systemInstruction", "error"),
    ("system-instruction-shape", {**GOOD_NATIVE, "systemInstruction": {"parts": [{"text": " "}]}},
     "systemInstruction.parts[0]", "error"),
    ("contents-empty", {"contents": []}, "contents", "error"),
    ("content-shape", {"contents": ["hi", {"role": "model", "parts": [{"text": "b"}]}]}, "contents[0]", "error"),
    ("invalid-role", {"contents": [{"role": "assistant", "parts": [{"text": "a"}]}]}, "contents[0].role", "error"),
    ("roles-not-alternating", {"contents": [{"role": "user", "parts": [{"text": "a"}]},
                                            {"role": "user", "parts": [{"text": "b"}]},
                                            {"role": "model", "parts": [{"text": "c"}]}]}, "contents[1].role", "error"),
    ("parts-empty", {"contents": [{"role": "user", "parts": []}, {"role": "model", "parts": [{"text": "c"}]}]},
     "contents[0].parts", "error"),
    ("part-shape", {"contents": [{"role": "user", "parts": [{"text": "a", "fileData": {}}]},
                                 {"role": "model", "parts": [{"text": "c"}]}]}, "contents[0].parts[0]", "error"),
    ("part-shape", {"contents": [{"role": "user", "parts": [{"fileData": {"fileUri": "gs://b/x.png"}}]},
                                 {"role": "model", "parts": [{"text": "c"}]}]}, "contents[0].parts[0].fileData",
     "error"),
    ("empty-content", {"contents": [{"role": "user", "parts": [{"text": ""}]},
                                    {"role": "model", "parts": [{"text": "c"}]}]}, "contents[0].parts[0].text",
     "error"),
    ("last-turn-not-model", {"contents": [{"role": "user", "parts": [{"text": "a"}]}]}, "contents[0]", "error"),
    ("first-turn-not-user", {"contents": [{"role": "model", "parts": [{"text": "a"}]},
                                          {"role": "user", "parts": [{"text": "b"}]},
                                          {"role": "model", "parts": [{"text": "c"}]}]}, "contents[0].role",
     "warning"),
]


@pytest.mark.parametrize(
    ("code", "broken", "path", "severity"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_each_rule_reports_its_line_and_path(tmp_path: Path, code: str, broken: Any, path: str | None,
                                             severity: str) -> None:
    good = CANONICAL if "messages" in broken else GOOD_NATIVE
    report = validate(_write(tmp_path, [good, broken, good]), provider="vertex", model=MODEL)
    found = [p for p in report.problems if p.code == code and p.line == 2]
    assert found, [(p.code, p.line, p.path) for p in report.problems]
    assert found[0].path == path and found[0].severity == severity
    assert not [p for p in report.problems if p.line in (1, 3) and p.severity == "error"]
    assert report.ok is (severity == "warning")


def test_an_example_over_the_token_limit_is_refused(tmp_path: Path) -> None:
    long = {"contents": [{"role": "user", "parts": [{"text": "tok " * 132_000}]},
                         {"role": "model", "parts": [{"text": "short"}]}]}
    report = validate(_write(tmp_path, [GOOD_NATIVE, long]), provider="vertex", model=MODEL)
    assert not report.ok
    assert any(p.line == 2 and "131,072" in p.message for p in report.errors), report.errors


def test_file_wide_limits_name_the_provider(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ftclient.dataset.rules_vertex import VertexRuleSet

    monkeypatch.setattr(VertexRuleSet, "max_examples", 2)
    report = validate(_write(tmp_path, [GOOD_NATIVE] * 3), provider="vertex", model=MODEL)
    assert [p.code for p in report.errors] == ["too-many-examples"]
    monkeypatch.setattr(VertexRuleSet, "max_file_bytes", 10)
    report = validate(_write(tmp_path, [GOOD_NATIVE]), provider="vertex", model=MODEL)
    assert "file-too-large" in [p.code for p in report.errors]


def test_convert_file_reports_every_line_that_cannot_convert(tmp_path: Path) -> None:
    source = _write(tmp_path, [CANONICAL, _msgs(("user", "a"), ("system", "late"), ("assistant", "b")), CANONICAL])
    with pytest.raises(DatasetError) as caught:
        convert_file(source, "gemini", tmp_path / "out", source_sha256="0" * 64)
    assert [(p.line, p.path) for p in caught.value.problems] == [(2, "messages[1]")]
    fine = _write(tmp_path, [CANONICAL, CANONICAL])
    done = convert_file(fine, "gemini", tmp_path / "out", source_sha256="1" * 64)
    assert [json.loads(line) for line in done.path.read_text(encoding="utf-8").splitlines()] == [PUBLISHED] * 2
    assert validate(done.path, provider="vertex", model=MODEL).ok


def test_conversion_errors_carry_a_path() -> None:
    with pytest.raises(ConversionError) as caught:
        converter_for("gemini")({"messages": [{"role": "user", "content": "a"}], "tools": []})
    assert caught.value.path == "tools"
