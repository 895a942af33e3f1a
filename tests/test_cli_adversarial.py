"""Hostile input and a hostile machine: every case ends in a known error (exit 1 or 2) that says what and
where, never a traceback (exit 70), and no credential is ever printed."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import EXAMPLES
from launch_support import emulator_env, route_count, write_dataset

TICKETS = str(EXAMPLES / "support_tickets.csv")


def _chat(i: int) -> str:
    return json.dumps(
        {"messages": [{"role": "user", "content": f"question {i}"}, {"role": "assistant", "content": f"answer {i}"}]}
    )


def _jsonl(path: Path, odd_line: str, *, good: int = 12) -> Path:
    """``good`` valid chat lines with ``odd_line`` as line 3."""
    lines = [_chat(i) for i in range(good)]
    lines.insert(2, odd_line)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _no_traceback(result) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code in (1, 2), (result.exit_code, result.stderr[-2000:])
    assert "Traceback" not in result.stderr and "bug in ftclient" not in result.stderr


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    with emulator_env(monkeypatch) as running:
        yield running


# -- data ------------------------------------------------------------------------------------------


def test_json_nested_200k_deep_is_a_problem_on_its_line(run_cli, tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "deep.jsonl", '{"messages": ' + "[" * 200_000 + "]" * 200_000 + "}")
    result = run_cli("validate", str(path), "--json")
    _no_traceback(result)
    codes = {(p["code"], p["line"]) for p in result.json()["problems"]}
    assert ("nested-too-deep", 3) in codes


def test_a_100000_digit_integer_is_a_problem_not_a_crash(run_cli, tmp_path: Path) -> None:
    odd = '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "x"}], "n": '
    path = _jsonl(tmp_path / "bigint.jsonl", odd + "9" * 100_000 + "}")
    result = run_cli("validate", str(path), "--json")
    _no_traceback(result)
    assert ("number-too-long", 3) in {(p["code"], p["line"]) for p in result.json()["problems"]}
    prepared = run_cli("prepare", str(path), "--task", "chat", "--out", str(tmp_path / "ds"), "--json")
    assert prepared.exit_code == 0, prepared.stderr
    assert [d["line"] for d in prepared.json()["dropped"]] == [3]
    array = tmp_path / "bigint.json"
    array.write_text('[{"text": "a", "label": ' + "9" * 100_000 + "}]", encoding="utf-8")
    from_array = run_cli("prepare", str(array), "--task", "classify", "--out", str(tmp_path / "ds2"))
    _no_traceback(from_array)
    assert "bigint.json:1:" in from_array.stderr and "number too long" in from_array.stderr


def test_a_lone_surrogate_is_reported_with_its_column_and_prepare_drops_the_line(run_cli, tmp_path: Path) -> None:
    odd = '{"messages": [{"role": "user", "content": "hi \\ud800 there"}, {"role": "assistant", "content": "x"}]}'
    path = _jsonl(tmp_path / "surrogate.jsonl", odd)
    result = run_cli("validate", str(path), "--json")
    _no_traceback(result)
    found = [p for p in result.json()["problems"] if p["code"] == "lone-surrogate"]
    assert [(p["line"], p["column"]) for p in found] == [(3, odd.index("\\ud800") + 1)]
    prepared = run_cli("prepare", str(path), "--task", "chat", "--out", str(tmp_path / "ds"), "--json")
    assert prepared.exit_code == 0, prepared.stderr
    assert [d["line"] for d in prepared.json()["dropped"]] == [3]
    # A whole character written as an escaped pair is text, not a problem.
    pair = '{"messages": [{"role": "user", "content": "\\ud83d\\ude00"}, {"role": "assistant", "content": "x"}]}'
    clean = run_cli("validate", str(_jsonl(tmp_path / "pair.jsonl", pair)), "--json")
    assert not [p for p in clean.json()["problems"] if p["code"] == "lone-surrogate"]


@pytest.mark.parametrize("split", ["nan/10/10", "inf/10/10", "80/nan/10", "80/10/-inf"])
def test_a_split_that_is_not_finite_is_refused(run_cli, tmp_path: Path, split: str) -> None:
    result = run_cli("prepare", TICKETS, "--split", split, "--out", str(tmp_path / "ds"))
    _no_traceback(result)
    assert "finite" in result.stderr and not (tmp_path / "ds" / "manifest.json").exists()


@pytest.mark.parametrize(
    ("flag", "value", "words"),
    [
        ("--encoding", "bogus", "not a text encoding"),
        ("--encoding", "hex", "not a text encoding"),
        ("--delimiter", "abc", "must be one character"),
        ("--delimiter", '"', "must be one character"),
    ],
)
def test_an_unusable_encoding_or_delimiter_is_refused(
    run_cli, tmp_path: Path, flag: str, value: str, words: str
) -> None:
    result = run_cli("prepare", TICKETS, flag, value, "--out", str(tmp_path / "ds"))
    _no_traceback(result)
    assert words in result.stderr


def test_a_tab_delimiter_can_be_written_as_backslash_t(run_cli, tmp_path: Path) -> None:
    tsv = tmp_path / "t.txt"
    rows = ["text\tlabel"] + [f"ticket number {i} about things\t{'ab'[i % 2]}" for i in range(40)]
    tsv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = run_cli("prepare", str(tsv), "--delimiter", "\\t", "--task", "classify", "--out", str(tmp_path / "ds"))
    assert result.exit_code == 0, result.stderr


def test_a_line_over_the_cap_is_a_problem_with_line_cap_and_fix(run_cli, tmp_path: Path) -> None:
    from ftclient.dataset.jsonl import MAX_LINE_BYTES

    huge = json.dumps(
        {"messages": [{"role": "user", "content": "a" * (MAX_LINE_BYTES + 10)}, {"role": "assistant", "content": "x"}]}
    )
    path = _jsonl(tmp_path / "long.jsonl", huge)
    result = run_cli("validate", str(path))
    assert result.exit_code == 1
    assert "long.jsonl:3: the line is 8.0 MB" in result.stderr
    assert "up to 8 MB" in result.stderr and "split the example" in result.stderr
    as_json = run_cli("validate", str(path), "--json").json()
    assert [p["line"] for p in as_json["problems"] if p["code"] == "line-too-long"] == [3]
    assert as_json["examples"] == 12  # the lines after the long one are still read


def test_a_line_beyond_the_image_cap_is_never_held_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ftclient.dataset import jsonl

    monkeypatch.setattr(jsonl, "MAX_LINE_BYTES", 100)
    monkeypatch.setattr(jsonl, "MAX_IMAGE_LINE_BYTES", 1000)
    path = tmp_path / "x.jsonl"
    path.write_bytes(b"{}\n" + b"x" * 5000 + b"\n" + b'{"a": 1}\n')
    lines = list(jsonl.raw_lines(path))
    assert [(n, len(raw)) for n, raw in lines] == [(1, 3), (2, 1001), (3, 9)]
    problems = [p for _, _, p, _ in jsonl.iter_jsonl(path, "x.jsonl") if p is not None]
    assert [(p.code, p.line) for p in problems] == [("line-too-long", 2)]
    assert "more than" in problems[0].message
    # A line with inline images may be longer than the text cap.
    image = b'{"image_url": "' + b"A" * 500 + b'"}\n'
    assert not jsonl.is_too_long(image) and jsonl.is_too_long(b'{"text": "' + b"A" * 500 + b'"}\n')


def test_manifest_json_never_holds_nan(run_cli, tmp_path: Path) -> None:
    from ftclient.dataset.manifest import Manifest

    assert run_cli("-q", "prepare", TICKETS, "--out", str(tmp_path / "ds")).exit_code == 0
    manifest = Manifest.load(tmp_path / "ds")
    # `--split inf/10/10` used to be accepted and wrote ratios of NaN (inf/inf).
    manifest.split.ratios = (float("nan"), float("inf"), 0.1)
    manifest.cost = {"estimated_usd": float("nan"), "per_epoch": [1.0, float("inf")]}
    manifest.write(tmp_path / "ds")

    def refuse(name: str) -> None:
        raise AssertionError(f"manifest.json holds {name}")

    data = json.loads((tmp_path / "ds" / "manifest.json").read_text(encoding="utf-8"), parse_constant=refuse)
    assert data["split"]["ratios"] == [None, None, 0.1]
    assert data["cost"] == {"estimated_usd": None, "per_epoch": [1.0, None]}


# -- hyperparameters --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1,nan"])
def test_a_non_finite_lr_multiplier_is_refused_by_the_dry_run(run_cli, tmp_path: Path, value: str) -> None:
    ds = write_dataset(tmp_path / "ds")
    result = run_cli("launch", str(ds), "--lr-multiplier", value, "--dry-run")
    _no_traceback(result)
    assert result.exit_code == 2 and "finite" in result.stderr


def test_the_python_api_refuses_a_nan_lr_multiplier_before_anything_is_uploaded(emu, tmp_path: Path) -> None:
    import ftclient
    from ftclient.errors import UserInputError

    ds = write_dataset(tmp_path / "ds")
    for value in (float("nan"), float("inf")):
        with pytest.raises(UserInputError, match="finite"):
            ftclient.launch(ds, lr_multiplier=value)
    assert route_count(emu, "POST /v1/files") == 0  # type: ignore[arg-type]


# -- credentials -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("sk-live\nSECRETPART", "a line break at character 8"),
        ("sk-live SECRETPART", "a space at character 8"),
        ("sk-livé-SECRETPART", "a non-ASCII character"),
        ("\tsk-SECRETPART", "a whitespace character at character 1"),
    ],
)
def test_a_malformed_api_key_is_named_never_printed(
    emu, run_cli, monkeypatch: pytest.MonkeyPatch, key: str, words: str
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", key)
    for args in (("jobs", "list"), ("--debug", "jobs", "list"), ("jobs", "list", "--json")):
        result = run_cli(*args)
        if "--debug" not in args:
            _no_traceback(result)
        assert result.exit_code == 1
        assert "OPENAI_API_KEY" in result.stderr and words in result.stderr
        assert "network" not in result.stderr
        assert "SECRETPART" not in result.stderr + result.stdout


def test_credentials_in_the_base_url_are_never_echoed(
    emu, run_cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://alice:pw-SECRETPART@127.0.0.1:9/v1")
    unreachable = run_cli("jobs", "list")
    assert unreachable.exit_code == 1 and "cannot reach http://***@127.0.0.1:9/v1" in unreachable.stderr
    assert "SECRETPART" not in unreachable.stderr
    base = emu.base_url  # type: ignore[attr-defined]
    monkeypatch.setenv("OPENAI_BASE_URL", base.replace("http://", "http://alice:pw-SECRETPART@"))
    ds = write_dataset(tmp_path / "ds")
    planned = run_cli("launch", str(ds), "--dry-run", "--json")
    human = run_cli("launch", str(ds), "--dry-run")
    assert planned.exit_code == 0 and human.exit_code == 0, planned.stderr
    assert "SECRETPART" not in planned.stdout + planned.stderr + human.stdout + human.stderr
    assert "***@127.0.0.1" in planned.stdout
    launched = run_cli("launch", str(ds), "--detach")  # whatever the emulator makes of the userinfo
    assert "SECRETPART" not in launched.stdout + launched.stderr
    home = Path(os.environ["FTCLIENT_HOME"])
    stored = b"".join(f.read_bytes() for f in home.rglob("*") if f.is_file())
    assert b"SECRETPART" not in stored, launched.stderr
    from ftclient.providers.credentials import endpoint_identity
    from ftclient.providers.openai import OpenAIProvider

    # What the registry keys uploads, runs, jobs and endpoints by.
    adapter = OpenAIProvider(api_key="sk-x", base_url="https://alice:pw-SECRETPART@proxy.example/v1")
    assert endpoint_identity(adapter) == "https://***@proxy.example/v1"


def test_a_base_url_without_v1_gets_a_hint_that_says_so(emu, run_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    base = emu.base_url  # type: ignore[attr-defined]
    monkeypatch.setenv("OPENAI_BASE_URL", base.removesuffix("/v1"))
    result = run_cli("jobs", "list")
    assert result.exit_code == 1 and "HTTP 404" in result.stderr
    assert "probably lacks /v1" in result.stderr and f"OPENAI_BASE_URL={base}" in result.stderr
    assert "check the id" not in result.stderr


# -- the machine ------------------------------------------------------------------------------------


def test_a_home_that_is_not_a_folder_is_a_clear_error(run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("FTCLIENT_HOME", str(blocker / "home"))
    result = run_cli("runs")
    _no_traceback(result)
    assert "error[local-file]" in result.stderr and str(blocker / "home") in result.stderr
    assert "FTCLIENT_HOME" in result.stderr


@pytest.mark.parametrize(
    ("code", "words"),
    [(errno.ENOSPC, "the disk is full"), (errno.EROFS, "Read-only file system"), (errno.EACCES, "Permission denied")],
)
def test_an_unwritable_or_full_disk_is_a_clear_error(
    run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, words: str
) -> None:
    import os

    import ftclient.dataset.prepare as prepare_module

    target = str(tmp_path / "ds" / "train.jsonl")

    def failing(*args: object, **kwargs: object) -> None:
        raise OSError(code, os.strerror(code), target)

    monkeypatch.setattr(prepare_module, "prepare", failing)
    for args in (("prepare", TICKETS, "--out", str(tmp_path / "ds")), ("prepare", TICKETS, "--json")):
        result = run_cli(*args)
        _no_traceback(result)
        assert result.exit_code == 1
        if "--json" in args:
            assert json.loads(result.stderr)["error"] == "local-file"
        else:
            assert words in result.stderr and target in result.stderr and "--out" in result.stderr


def test_a_registry_that_cannot_be_written_is_a_clear_error(run_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    from ftclient.registry import Registry

    def readonly(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(Registry, "__init__", readonly)
    result = run_cli("runs")
    _no_traceback(result)
    assert "error[local-file]" in result.stderr and "FTCLIENT_HOME" in result.stderr


def test_a_file_with_no_readable_record_says_why_not_no_columns(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_text('{"messages": ' + "[" * 200_000 + "]" * 200_000 + "}\n", encoding="utf-8")
    result = run_cli("prepare", str(path), "--out", str(tmp_path / "ds"))
    _no_traceback(result)
    assert "not one record can be read" in result.stderr and "deep.jsonl:1: the line nests" in result.stderr
    assert "columns" not in result.stderr


def test_a_huge_integer_inside_tool_arguments_is_a_problem(run_cli, tmp_path: Path) -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"n": ' + "7" * 5000 + "}"}}
    odd = json.dumps(
        {
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "call_1", "content": "ok"},
                {"role": "assistant", "content": "done"},
            ]
        }
    )
    result = run_cli("validate", str(_jsonl(tmp_path / "tools.jsonl", odd)), "--json")
    _no_traceback(result)
    found = [p for p in result.json()["problems"] if p["code"] == "tool-arguments-not-json"]
    assert [p["line"] for p in found] == [3] and "4,300 digits" in found[0]["message"]
