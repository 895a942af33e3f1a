"""ftclient prepare: the dataset folder, the terminal report, --json, exit codes and no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, FIXTURES

DATA = FIXTURES / "datasets"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_prepare_writes_the_folder_and_reports(run_cli: Any, tmp_path: Path) -> None:
    result = run_cli("prepare", str(DATA / "excel_style.csv"))
    assert result.exit_code == 0, result.stderr
    folder = tmp_path / "ftdata" / "excel_style"
    assert sorted(p.name for p in folder.iterdir()) == [
        "manifest.json",
        "report.md",
        "test.jsonl",
        "train.jsonl",
        "validation.jsonl",
    ]
    assert result.stdout.strip() == "ftdata/excel_style"
    for text in (
        "dropped rows (5)",
        "line 17",
        "exact duplicate of line 4",
        "line 22",
        "labels",
        "cost: $",
        "2025-06-15",
    ):
        assert text in result.stderr
    assert (tmp_path / "ftdata" / ".latest").read_text().strip() == str(folder.resolve())


def test_json_mode(run_cli: Any, tmp_path: Path) -> None:
    result = run_cli(
        "prepare",
        str(EXAMPLES / "support_tickets.csv"),
        "--json",
        "--out",
        "tickets",
        "--seed",
        "7",
        "--model",
        "gpt-4.1-nano-2025-04-14",
        "--split",
        "70/15/15",
    )
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert data["manifest"]["split"]["seed"] == 7
    assert data["manifest"]["split"]["ratios"] == [0.7, 0.15, 0.15]
    assert data["manifest"]["target"]["model"] == "gpt-4.1-nano-2025-04-14"
    assert data["out_dir"] == "tickets"
    on_disk = json.loads((tmp_path / "tickets" / "manifest.json").read_text())
    assert on_disk["dataset_sha256"] == data["manifest"]["dataset_sha256"]


def test_column_flags(run_cli: Any) -> None:
    result = run_cli(
        "prepare",
        str(DATA / "unknown_columns.csv"),
        "--task",
        "translate",
        "--source-col",
        "foo",
        "--target-col",
        "bar",
        "--source-lang",
        "English",
        "--target-lang",
        "French",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    assert result.json()["manifest"]["languages"] == {"source": "English", "target": "French"}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["missing.csv"], "no such file"),
        ([str(DATA / "unknown_columns.csv")], "cannot tell the task"),
        ([str(DATA / "unknown_columns.csv"), "--task", "classify"], "--text-col"),
        ([str(EXAMPLES / "support_tickets.csv"), "--split", "a/b/c"], "--split"),
        ([str(EXAMPLES / "support_tickets.csv"), "--model", "gpt-2"], "model-unknown"),
        ([str(EXAMPLES / "support_tickets.csv"), "--model", "babbage-002"], "prompt/completion"),
    ],
)
def test_known_errors_exit_1_without_traceback(run_cli: Any, args: list[str], needle: str) -> None:
    result = run_cli("prepare", *args)
    assert result.exit_code == 1
    assert needle in result.stderr
    assert "Traceback" not in result.stderr


def test_usage_error_exits_2(run_cli: Any) -> None:
    assert run_cli("prepare").exit_code == 2
    assert run_cli("prepare", "x.csv", "--task", "poetry").exit_code == 2


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.iterdir() if p.suffix in {".jsonl", ".csv"}))
def test_no_traceback_for_any_fixture(run_cli: Any, name: str) -> None:
    result = run_cli("prepare", str(DATA / name), "--out", "out")
    assert result.exit_code in (0, 1), result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "content", [b"\x00\x01\xff", b"a\n", b'text,label\n"unclosed\n', b"\xff\xfe" + "t,l\n".encode("utf-16-le")]
)
def test_no_traceback_for_garbage(run_cli: Any, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "garbage.csv"
    path.write_bytes(content)
    result = run_cli("prepare", str(path))
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
