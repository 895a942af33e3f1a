"""ftclient's Together rules against Together's own file checker (together 1.6.0 ``check_file``).

Every dataset fixture, a set of one-rule edge cases, and every file ``prepare --provider together`` writes
from the bundled samples (several tasks) goes through both. What check_file rejects, ftclient rejects on
the same line; what check_file accepts, ftclient does not reject (it may warn). The checker runs in its own
virtualenv (tests/together_oracle.py); without PyPI the tests skip and say why.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest
from together_oracle import CheckerUnavailable, check_files, checker_python

from ftclient.dataset.prepare import prepare
from ftclient.dataset.validate import validate

REPO = Path(__file__).resolve().parent.parent
MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"

# Codes ftclient may report as errors on a line check_file passes: documented server-side rules, each with
# its source in ftclient/dataset/rules_together.py. None today.
SERVER_SIDE_RULES: frozenset[str] = frozenset()

U = {"role": "user", "content": "q"}
A = {"role": "assistant", "content": "a"}
B = {"role": "assistant", "content": "b"}
S = {"role": "system", "content": "s"}
IMG = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
TEXT_Q, TEXT_A = {"type": "text", "text": "q"}, {"type": "text", "text": "a"}
PARTS_A = {"role": "assistant", "content": [TEXT_A]}
PREF = {"input": {"messages": [U]}, "preferred_output": [A], "non_preferred_output": [B]}

EDGE_CASES: dict[str, dict[str, Any]] = {
    "assistant_first": {"messages": [A, U, A]},
    "only_assistant": {"messages": [A]},
    "system_in_the_middle": {"messages": [U, A, S, U, A]},
    "two_systems": {"messages": [S, S, U, A]},
    "ends_with_user": {"messages": [U, A, U]},
    "empty_user": {"messages": [{"role": "user", "content": ""}, A]},
    "empty_assistant": {"messages": [U, {"role": "assistant", "content": ""}]},
    "whitespace_assistant": {"messages": [U, {"role": "assistant", "content": "  "}]},
    "content_null": {"messages": [U, {"role": "assistant", "content": None}]},
    "content_number": {"messages": [U, {"role": "assistant", "content": 5}]},
    "no_content": {"messages": [U, {"role": "assistant"}]},
    "tool_role": {"messages": [U, A, {"role": "tool", "content": "x"}, A]},
    "tools_column": {"messages": [U, A], "tools": []},
    "name_key": {"messages": [{"role": "user", "content": "q", "name": "bob"}, A]},
    "extra_message_key": {"messages": [U, {"role": "assistant", "content": "a", "foo": 1}]},
    "weight_on_user": {"messages": [{"role": "user", "content": "q", "weight": 0}, A]},
    "weight_true": {"messages": [U, {"role": "assistant", "content": "a", "weight": True}]},
    "weight_zero_only": {"messages": [U, {"role": "assistant", "content": "a", "weight": 0}]},
    "weight_float": {"messages": [U, {"role": "assistant", "content": "a", "weight": 1.0}]},
    "weight_two": {"messages": [U, {"role": "assistant", "content": "a", "weight": 2}]},
    "part_lists": {"messages": [{"role": "user", "content": [TEXT_Q]}, {"role": "assistant", "content": [TEXT_A]}]},
    "parts_and_strings": {"messages": [{"role": "user", "content": [TEXT_Q]}, A]},
    "image_data_url": {"messages": [{"role": "user", "content": [TEXT_Q, IMG]}, PARTS_A]},
    "image_https": {
        "messages": [
            {"role": "user", "content": [TEXT_Q, {"type": "image_url", "image_url": {"url": "https://x.test/y.png"}}]},
            {"role": "assistant", "content": [TEXT_A]},
        ]
    },
    "image_gif": {
        "messages": [
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/gif;base64,R0lG"}}]},
            {"role": "assistant", "content": [TEXT_A]},
        ]
    },
    "eleven_images": {"messages": [{"role": "user", "content": [IMG] * 11}, PARTS_A]},
    "image_in_assistant": {"messages": [{"role": "user", "content": [TEXT_Q]}, {**A, "content": [IMG]}]},
    "image_weighted": {
        "messages": [{"role": "user", "content": [IMG], "weight": 1}, {"role": "assistant", "content": [TEXT_A]}]
    },
    "unknown_part_type": {
        "messages": [{"role": "user", "content": [{"type": "audio"}]}, {"role": "assistant", "content": [TEXT_A]}]
    },
    "empty_messages": {"messages": []},
    "messages_string": {"messages": "hi"},
    "role_number": {"messages": [{"role": 1, "content": "q"}, A]},
    "chat_extra_column": {"messages": [U, A], "id": 3},
    "text_and_messages": {"text": "t", "messages": [U, A]},
    "special_token": {"messages": [U, {"role": "assistant", "content": "a <|eot_id|>"}]},
    "text": {"text": "hello"},
    "text_empty": {"text": ""},
    "text_number": {"text": 5},
    "prompt_completion": {"prompt": "p", "completion": "c"},
    "prompt_completion_extra": {"prompt": "p", "completion": "c", "id": 1},
    "completion_empty": {"prompt": "p", "completion": ""},
    "prompt_number": {"prompt": 1, "completion": "c"},
    "pref": PREF,
    "pref_identical": {**PREF, "non_preferred_output": [A]},
    "pref_input_ends_with_assistant": {**PREF, "input": {"messages": [U, A]}},
    "pref_two_outputs": {**PREF, "preferred_output": [A, A]},
    "pref_user_output": {**PREF, "preferred_output": [U]},
    "pref_empty_output": {**PREF, "preferred_output": [{"role": "assistant", "content": ""}]},
    "pref_tools": {**PREF, "input": {"messages": [U], "tools": []}},
    "pref_assistant_first": {**PREF, "input": {"messages": [A, U]}},
}
"""One line each, placed third in a file of good lines of the same format."""


@pytest.fixture(scope="session")
def checker() -> Path:
    try:
        return checker_python()
    except CheckerUnavailable as exc:
        pytest.skip(f"Together's check_file (together 1.6.0) is not available: {exc}")


def _good_line(case: dict[str, Any]) -> dict[str, Any]:
    if "input" in case:
        return PREF
    if "messages" in case:
        return {"messages": [U, A]}
    if "prompt" in case or "completion" in case:
        return {"prompt": "p", "completion": "c"}
    return {"text": "hello"}


def _edge_files(folder: Path) -> list[Path]:
    paths = []
    for name, case in EDGE_CASES.items():
        good = _good_line(case)
        path = folder / f"{name}.jsonl"
        path.write_text("".join(json.dumps(line) + "\n" for line in (good, good, case, good)), encoding="utf-8")
        paths.append(path)
    return paths


def _oracle_line(report: dict[str, Any]) -> int | None:
    """The line check_file blames: its ``line_number``, or the one its JSON-parse message names."""
    if report.get("line_number") is not None:
        return int(report["line_number"])
    found = re.search(r"on line (\d+)", str(report.get("message") or ""))
    return int(found.group(1)) if found else None


def _agree(paths: list[Path], checker: Path) -> list[str]:
    """Every disagreement between check_file and ftclient's Together rules, as readable lines."""
    disagreements = []
    for path, report in zip(paths, check_files(checker, paths), strict=True):
        method = "dpo" if path.name.startswith("pref") or "dpo" in path.name else None
        ours = validate(path, provider="together", model=MODEL, method=method)
        errors = [p for p in ours.problems if p.severity == "error"]
        if not report["is_check_passed"]:
            line = _oracle_line(report)
            matched = [p for p in errors if line is None or p.line == line]
            if not matched:
                disagreements.append(f"{path.name}: check_file rejects line {line} ({report['message']}); ftclient not")
        else:
            extra = [p for p in errors if p.code not in SERVER_SIDE_RULES]
            if extra:
                found = ", ".join(f"{p.line}:{p.code}" for p in extra)
                disagreements.append(f"{path.name}: check_file passes it; ftclient rejects {found}")
    return disagreements


def test_every_dataset_fixture_agrees_with_check_file(checker: Path) -> None:
    paths = sorted((REPO / "fixtures" / "datasets").glob("*.jsonl"))
    assert len(paths) >= 25
    assert _agree(paths, checker) == []


def test_edge_cases_agree_with_check_file(checker: Path, tmp_path: Path) -> None:
    assert _agree(_edge_files(tmp_path), checker) == []


def test_the_edge_cases_are_not_all_accepted_or_all_rejected(checker: Path, tmp_path: Path) -> None:
    """The corpus must exercise both sides of check_file, or agreement would prove nothing."""
    reports = check_files(checker, _edge_files(tmp_path))
    passed = sum(bool(r["is_check_passed"]) for r in reports)
    assert 15 <= passed <= len(reports) - 15


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


PREPARE_CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "tickets-classify": ("examples/support_tickets.csv", {}),
    "tickets-summarize": (
        "examples/support_tickets.csv",
        {"task": "summarize", "text_col": "text", "output_col": "label"},
    ),
    "translate": ("examples/translate_en_zh.csv", {}),
    "summarize": ("examples/summarize_news.jsonl", {}),
    "preference": ("<preference>", {"task": "preference"}),
    "chat": ("<chat>", {"task": "chat"}),
}


@pytest.mark.parametrize("case", sorted(PREPARE_CASES))
def test_every_file_prepare_writes_for_together_passes_check_file(case: str, checker: Path, tmp_path: Path) -> None:
    source, flags = PREPARE_CASES[case]
    if source == "<preference>":
        rows = [[f"question {i}?", f"a good answer {i}", f"a bad answer {i}"] for i in range(40)]
        source_path = _write_csv(tmp_path / "prefs.csv", ["prompt", "chosen", "rejected"], rows)
    elif source == "<chat>":
        source_path = tmp_path / "chat.jsonl"
        source_path.write_text(
            "".join(
                json.dumps({"messages": [{"role": "user", "content": f"hi {i}"}, {**A, "content": f"yo {i}"}]}) + "\n"
                for i in range(40)
            ),
            encoding="utf-8",
        )
    else:
        source_path = REPO / source
    out = tmp_path / "out"
    prepare(source_path, provider="together", out=out, **flags)
    written = sorted(out.glob("*.jsonl"))
    assert {p.name for p in written} >= {"train.jsonl", "validation.jsonl", "test.jsonl"}
    reports = check_files(checker, written)
    assert [(p.name, r["message"]) for p, r in zip(written, reports, strict=True) if not r["is_check_passed"]] == []
    assert _agree(written, checker) == []


def test_the_emulators_own_rules_agree_with_check_file(checker: Path, tmp_path: Path) -> None:
    """The emulator's Together file rules are written apart from ftclient's; check_file judges both."""
    from ftclient.emulator.together.rules import first_problem

    paths = sorted((REPO / "fixtures" / "datasets").glob("*.jsonl")) + _edge_files(tmp_path)
    disagreements = []
    for path, report in zip(paths, check_files(checker, paths), strict=True):
        method = "dpo" if path.name.startswith("pref") or "dpo" in path.name else "supervised"
        problem = first_problem(path.read_bytes(), method=method)
        line = _oracle_line(report)
        if report["is_check_passed"] and problem is not None:
            disagreements.append(f"{path.name}: check_file passes it; the emulator says {problem}")
        elif not report["is_check_passed"] and (problem is None or (line and f"Line {line}:" not in problem)):
            disagreements.append(f"{path.name}: check_file rejects line {line}; the emulator says {problem}")
    assert disagreements == []
