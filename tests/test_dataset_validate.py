"""validate: every problem kind on its exact line, warnings apart from errors, streaming and parallel scans."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest
from conftest import FIXTURES

from ftclient.dataset import scan
from ftclient.dataset.rules import RuleSet
from ftclient.dataset.validate import validate
from ftclient.errors import DatasetError

DATA = FIXTURES / "datasets"

# file -> (model or None, [(code, line, column, json path)]) of every error validate must report
BROKEN: dict[str, tuple[str | None, list[tuple[str, int | None, int | None, str | None]]]] = {
    "bom.jsonl": (None, [("bom", 1, 1, None)]),
    "invalid_json.jsonl": (None, [("invalid-json", 12, 48, None)]),
    "blank_line.jsonl": (None, [("blank-line", 7, None, None)]),
    "not_object.jsonl": (None, [("not-an-object", 5, None, None)]),
    "nested_too_deep.jsonl": (None, [("nested-too-deep", 8, None, None)]),
    "unknown_key.jsonl": (None, [("unknown-key", 3, None, "metadata")]),
    "missing_role.jsonl": (None, [("missing-key", 4, None, "messages[1]")]),
    "unknown_role.jsonl": (None, [("unknown-role", 6, None, "messages[1]")]),
    "weight_invalid.jsonl": (None, [("invalid-weight", 9, None, "messages[2].weight")]),
    "no_trainable_assistant.jsonl": (None, [("no-trainable-assistant", 2, None, "messages")]),
    "no_assistant.jsonl": (None, [("no-trainable-assistant", 8, None, "messages")]),
    "tool_arguments_object.jsonl": (
        None,
        [("tool-arguments-not-string", 5, None, "messages[1].tool_calls[0].function.arguments")],
    ),
    "tool_arguments_not_json.jsonl": (
        None,
        [("tool-arguments-not-json", 6, None, "messages[1].tool_calls[0].function.arguments")],
    ),
    "special_token.jsonl": (None, [("special-token", 10, None, "messages[1].content")]),
    "too_many_tokens.jsonl": ("gpt-3.5-turbo-0613", [("too-many-tokens", 11, None, None)]),
    "too_few_examples.jsonl": (None, [("too-few-examples", None, None, None)]),
    "image_not_supported.jsonl": (
        "gpt-4.1-mini-2025-04-14",
        [("images-not-supported", 3, None, "messages[0].content[1]")],
    ),
    "image_in_system.jsonl": ("gpt-4o-2024-08-06", [("images-not-allowed", 4, None, "messages[0].content[0]")]),
    "empty_content.jsonl": (None, [("empty-content", 7, None, "messages[2].content")]),
    "mixed_formats.jsonl": (None, [("format-not-supported", 9, None, None), ("mixed-formats", 9, None, None)]),
    "not_utf8.jsonl": (None, [("not-utf8", 4, 124, None)]),
    "function_name_invalid.jsonl": (None, [("invalid-function-name", 2, None, "tools[0].function.name")]),
    "dpo_invalid.jsonl": (
        None,
        [
            ("wrong-length", 3, None, "preferred_output"),
            ("preference-input-ends-with-assistant", 5, None, "input.messages[1]"),
        ],
    ),
    "completion_format.jsonl": (
        "gpt-4.1-mini-2025-04-14",
        [("format-not-supported", line, None, None) for line in range(1, 13)],
    ),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_each_problem_kind_is_reported_on_its_line(name: str) -> None:
    model, expected = BROKEN[name]
    report = validate(DATA / name, model=model)
    assert not report.ok
    got = [(p.code, p.line, p.column, p.path) for p in report.errors]
    assert got == expected
    for problem in report.errors:
        assert problem.file == str(DATA / name)
        assert problem.hint, f"{problem.code} has no hint"


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("valid_chat.jsonl", None),
        ("valid_dpo.jsonl", None),
        ("completion_format.jsonl", None),
        ("image_not_supported.jsonl", "gpt-4o-2024-08-06"),
        ("too_many_tokens.jsonl", "gpt-4o-mini-2024-07-18"),
    ],
)
def test_valid_files_pass(name: str, model: str | None) -> None:
    report = validate(DATA / name, model=model)
    assert report.ok, [p.to_dict() for p in report.errors]
    assert report.examples == 12
    assert report.tokens is not None and report.tokens.exact


def test_formats_and_methods_are_detected() -> None:
    assert validate(DATA / "valid_dpo.jsonl").format == "preference"
    assert validate(DATA / "valid_dpo.jsonl").method == "dpo"
    completion = validate(DATA / "completion_format.jsonl")
    assert (completion.format, completion.model) == ("completion", "babbage-002")


def test_dpo_on_a_model_without_dpo_is_rejected() -> None:
    report = validate(DATA / "valid_dpo.jsonl", model="gpt-3.5-turbo-0125")
    assert [p.code for p in report.errors] == ["method-not-supported"]


def test_warnings_are_apart_from_errors() -> None:
    report = validate(DATA / "valid_chat.jsonl")
    codes = {p.code for p in report.warnings}
    assert "few-examples" in codes  # 12 < 50
    assert "no-system-message" in codes  # the tool examples have none
    assert report.errors == []
    assert report.warning_count == len(report.warnings)


def test_duplicates_are_warnings_with_both_lines(tmp_path: Path) -> None:
    lines = (DATA / "valid_chat.jsonl").read_text().splitlines()
    lines.append(lines[1])
    lines.append(lines[2].replace("Question number", "QUESTION NUMBER"))
    path = tmp_path / "dups.jsonl"
    path.write_text("\n".join(lines) + "\n")
    report = validate(path)
    found = {(p.code, p.line, p.related_lines) for p in report.warnings}
    assert ("duplicate-example", 13, (2,)) in found
    assert ("near-duplicate", 14, (3,)) in found


def test_token_stats_and_cost_use_the_price_table() -> None:
    report = validate(DATA / "valid_chat.jsonl", model="gpt-4o-mini-2024-07-18")
    assert report.tokens is not None and report.cost is not None
    assert report.cost.epochs == 8  # 100 // 12
    assert report.cost.billed_tokens_total == report.tokens.billed_per_epoch * 8
    assert report.cost.usd == pytest.approx(report.cost.billed_tokens_total * 3.0 / 1e6, abs=1e-4)
    assert report.cost.price_as_of == "2025-06-15"


def test_together_rules(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    rows = [
        {"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]}
        for i in range(12)
    ]
    rows[4]["messages"].insert(1, {"role": "user", "content": "again"})
    rows[6] = {"text": "plain text line"}
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = validate(path, provider="together", model="meta-llama/Meta-Llama-3.1-8B-Instruct-Reference")
    assert [(p.code, p.line) for p in report.errors] == [("roles-not-alternating", 5), ("mixed-formats", 7)]
    assert report.tokens is not None and report.tokens.exact is False
    assert report.cost is None


def test_unreadable_input_raises_dataset_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such file"):
        validate(tmp_path / "missing.jsonl")
    with pytest.raises(DatasetError, match="directory"):
        validate(tmp_path)


def test_problem_storage_is_capped_but_every_problem_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(scan.MAX_STORED_PER_CODE, "error", 5)
    path = tmp_path / "bad.jsonl"
    path.write_text("[1]\n" * 40)
    report = validate(path)
    assert report.problem_counts["error:not-an-object"] == 40
    assert len([p for p in report.errors if p.code == "not-an-object"]) == 5
    assert report.problems_truncated


def _write_examples(path: Path, n: int) -> None:
    with path.open("w") as handle:
        for i in range(n):
            handle.write(
                json.dumps({"messages": [{"role": "user", "content": f"q {i}"}, {"role": "assistant", "content": "a"}]})
                + "\n"
            )


def test_parallel_scan_matches_single_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.jsonl"
    _write_examples(path, 3000)
    with path.open("a") as handle:
        handle.write("not json\n")
        handle.write(
            json.dumps({"messages": [{"role": "user", "content": "q 5"}, {"role": "assistant", "content": "a"}]}) + "\n"
        )
    lines = path.read_text().splitlines(keepends=True)
    lines[499] = "[500]\n"  # problems inside early and middle slices: their line numbers must survive the merge
    lines[1699] = '{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": ""}]}\n'
    path.write_text("".join(lines))
    single = validate(path)
    monkeypatch.setattr(scan, "_workers_for", lambda _path: 2)
    double = validate(path)
    assert double.model_dump() == single.model_dump()
    assert [(p.code, p.line) for p in double.errors] == [
        ("not-an-object", 500),
        ("empty-content", 1700),
        ("invalid-json", 3001),
    ]
    assert ("duplicate-example", 3002) in {(p.code, p.line) for p in double.warnings}


def test_tool_arguments_too_deep_to_check_are_a_warning(tmp_path: Path) -> None:
    lines = (DATA / "valid_chat.jsonl").read_text().splitlines()
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "[" * 50_000 + "]" * 50_000}}
    deep = {
        "messages": [
            {"role": "user", "content": "q"},
            {"role": "assistant", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "c1", "content": "ok"},
            {"role": "assistant", "content": "done"},
        ]
    }
    path = tmp_path / "deep_args.jsonl"
    path.write_text("\n".join([*lines, json.dumps(deep)]) + "\n")
    report = validate(path)
    assert report.errors == []
    assert ("tool-arguments-too-deep", len(lines) + 1) in {(p.code, p.line) for p in report.warnings}


def test_a_failed_child_scan_is_redone_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.jsonl"
    _write_examples(path, 3000)
    single = validate(path)

    def broken_dumps(*_args: object, **_kwargs: object) -> bytes:
        raise MemoryError  # as if the child ran out of memory before sending its result

    monkeypatch.setattr(scan, "_workers_for", lambda _path: 2)
    monkeypatch.setattr(scan.pickle, "dumps", broken_dumps)
    assert validate(path).model_dump() == single.model_dump()


ODD_LINES = [
    {"messages": [{"role": ["user"], "content": "a list as role"}, {"role": "assistant", "content": "ok"}]},
    {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "weight": 2**64}]},
    {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "weight": 1.0}]},
    {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "weight": True}]},
    {"messages": [{"role": "user", "content": "q", "weight": 1}, {"role": "assistant", "content": "a"}]},
    {"messages": [{"role": "user", "content": "q", "name": None}, {"role": "assistant", "content": "a"}]},
    {"messages": [{"role": "user", "content": "q", "extra": 1}, {"role": "assistant", "content": "a"}]},
    {"messages": [{"role": "tool", "content": "q"}, {"role": "assistant", "content": "a"}]},
    {"messages": [{"role": "user", "content": None}, {"role": "assistant", "content": "a"}]},
    {"messages": [{"role": "user", "content": "   "}, {"role": "assistant", "content": "a <|endoftext|>"}]},
    {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "weight": 0}]},
    {"messages": [{"role": "assistant", "content": "a"}, {"role": "user", "content": "q"}]},
    {"messages": []},
    {"messages": "not a list"},
    {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "tools": []},
    {"messages": [["not", "a", "dict"]]},
]


def test_the_one_pass_plain_chat_check_agrees_with_the_full_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plain chat lines take a fast path (orjson, one pass); anything unusual must be judged as the schema pass does."""
    plain = {"messages": [{"role": "user", "content": "Où est ma commande ?"}, {"role": "assistant", "content": "ok"}]}
    lines = [json.dumps(plain, ensure_ascii=False)] * 10 + [json.dumps(line) for line in ODD_LINES]
    path = tmp_path / "odd.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    fast = validate(path)
    monkeypatch.setattr(RuleSet, "fast_path", False)
    full = validate(path)
    assert fast.model_dump() == full.model_dump()
    assert [(p.line, p.code, p.message) for p in fast.errors if p.code in {"invalid-weight", "wrong-type"}] == [
        (12, "invalid-weight", "weight must be 0 or 1, got 18446744073709551616"),  # exact, not orjson's float
        (13, "invalid-weight", "weight must be 0 or 1, got 1.0"),
        (14, "invalid-weight", "weight must be 0 or 1, got True"),
        (24, "wrong-type", "messages must be an array, got a string"),
        (26, "wrong-type", "messages[0] must be an object, got an array"),
    ]
    assert {(p.line, p.code) for p in fast.errors} >= {
        (11, "unknown-role"),
        (15, "unknown-key"),
        (17, "unknown-key"),
        (18, "missing-key"),
        (19, "invalid-content"),
        (20, "empty-content"),
        (20, "special-token"),
        (21, "no-trainable-assistant"),
        (23, "wrong-length"),
    }


def test_together_plain_chat_lines_get_the_same_checks_on_both_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Together adds role-order rules; the one-pass path must apply them exactly as the schema pass does."""
    user, assistant = {"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}
    lines = [{"messages": [user, assistant]}] * 10 + [
        {"messages": [assistant, user, assistant]},  # starts with the assistant
        {"messages": [user, user, assistant]},  # two user messages in a row
        {"messages": [{"role": "system", "content": "s"}, user, assistant, assistant]},
        *ODD_LINES,
    ]
    path = tmp_path / "together.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    model = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
    fast = validate(path, provider="together", model=model)
    monkeypatch.setattr(RuleSet, "fast_path", False)
    full = validate(path, provider="together", model=model)
    assert fast.model_dump() == full.model_dump()
    assert [(p.line, p.code, p.severity) for p in fast.problems if p.line in (11, 12, 13)] == [
        (11, "conversation-start", "warning"),  # Together's check_file accepts an assistant turn first
        (12, "roles-not-alternating", "error"),
        (13, "roles-not-alternating", "error"),
    ]


def test_memory_does_not_grow_with_file_size(tmp_path: Path) -> None:
    """Streaming: ten times the lines must not take ten times the memory (only 16 bytes/line for duplicates)."""
    small, large = tmp_path / "small.jsonl", tmp_path / "large.jsonl"
    _write_examples(small, 1_000)
    _write_examples(large, 10_000)
    validate(small)  # warm caches (encodings, imports)
    peaks = []
    for path in (small, large):
        tracemalloc.start()
        validate(path)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert large.stat().st_size > 9 * small.stat().st_size
    assert peaks[1] < peaks[0] + 3 * 1024 * 1024, peaks


@pytest.mark.parametrize("count_up_to", [0, 250_000], ids=["bitmap", "counter"])
def test_duplicate_log_finds_repeats_and_ignores_bitmap_collisions(
    count_up_to: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ftclient.dataset.dedup import DuplicateLog

    monkeypatch.setattr(DuplicateLog, "COUNT_UP_TO", count_up_to)
    log = DuplicateLog()
    for line, key in enumerate([5, 7, 5, 9, 7, 5, 5 + (1 << DuplicateLog.FILTER_BITS)], start=1):
        log.add(key, line)
    assert log.repeats() == [(3, 1), (5, 2), (6, 1)]
    unique = DuplicateLog()
    unique.add_many([3, 1 << 40, -2], [1, 2, 3])
    assert unique.repeats() == []


def test_together_accepts_what_its_own_file_check_accepts(tmp_path: Path) -> None:
    """together 1.6.0's check_file passes one example, empty messages and an assistant turn first; ftclient
    used to reject all three for Together (OpenAI's rules). They are warnings now, not errors."""
    user, assistant = {"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}
    lines = [
        {"messages": [assistant, user, assistant]},
        {"messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": ""}]},
    ]
    path = tmp_path / "few.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    report = validate(path, provider="together", model="meta-llama/Meta-Llama-3.1-8B-Instruct-Reference")
    assert report.ok, [(p.line, p.code) for p in report.errors]
    assert {(p.line, p.code) for p in report.warnings} >= {(1, "conversation-start"), (2, "empty-content")}
    assert not validate(path).ok  # OpenAI still refuses all three
