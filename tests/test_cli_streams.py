"""Output that pipes: results on stdout (even with -q), talk on stderr, one JSON document with --json, and
ids never cut when stdout is not a terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from launch_support import emulator_env, write_dataset


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    with emulator_env(monkeypatch, speed=50.0) as running:
        yield running


def test_a_detached_launch_prints_only_the_job_id_on_stdout(emu, run_cli, tmp_path: Path) -> None:
    ds = write_dataset(tmp_path / "ds")
    quiet = run_cli("-q", "launch", str(ds), "--detach")
    assert quiet.exit_code == 0, quiet.stderr
    assert quiet.stdout.strip().startswith("ftjob-") and len(quiet.stdout.strip().split()) == 1
    other = write_dataset(tmp_path / "other", salt="b")
    again = run_cli("launch", str(other), "--detach")  # without -q too: the talk is on stderr
    assert again.exit_code == 0, again.stderr
    assert again.stdout.strip().startswith("ftjob-") and len(again.stdout.strip().split()) == 1
    assert "ftclient jobs watch" in again.stderr


def test_listings_go_to_stdout_and_grep_finds_a_running_job(emu, run_cli, tmp_path: Path) -> None:
    job_id = run_cli("-q", "launch", str(write_dataset(tmp_path / "ds", validation=10)), "--detach").stdout.strip()
    emu.advance(60)  # type: ignore[attr-defined]
    for args in (("jobs", "list"), ("-q", "jobs", "list")):
        listed = run_cli(*args)
        assert listed.exit_code == 0 and listed.stderr == ""
        running = [line for line in listed.stdout.splitlines() if "running" in line]
        assert [line.split()[0] for line in running] == [job_id], listed.stdout
    for args in (("jobs", "show", job_id), ("jobs", "events", job_id), ("runs",)):
        result = run_cli(*args)
        assert result.exit_code == 0 and job_id in result.stdout and job_id not in result.stderr, args
    emu.advance(3600)  # type: ignore[attr-defined]
    checkpoints = run_cli("-q", "jobs", "checkpoints", job_id)
    assert "step" in checkpoints.stdout and checkpoints.stderr == ""


def test_reports_stay_on_stderr_and_the_folder_on_stdout(run_cli, tmp_path: Path) -> None:
    from conftest import EXAMPLES

    result = run_cli("prepare", str(EXAMPLES / "support_tickets.csv"), "--out", str(tmp_path / "ds"))
    assert result.exit_code == 0
    assert result.stdout.strip() == str(tmp_path / "ds") and "splits" in result.stderr


@pytest.mark.parametrize(
    "args",
    [("jobs", "list"), ("runs",), ("endpoints", "list"), ("launch", "{ds}", "--dry-run")],
)
def test_json_mode_writes_exactly_one_document(emu, run_cli, tmp_path: Path, args: tuple[str, ...]) -> None:
    ds = write_dataset(tmp_path / "ds")
    run_cli("-q", "launch", str(ds), "--detach")
    result = run_cli(*[a.replace("{ds}", str(ds)) for a in args], "--json")
    assert result.exit_code == 0, result.stderr
    decoder = json.JSONDecoder()
    _, end = decoder.raw_decode(result.stdout)
    assert result.stdout[end:].strip() == ""


def test_tables_never_cut_an_id_when_stdout_is_a_pipe(tmp_path: Path) -> None:
    """``endpoints list`` is a table; piped, every cell arrives whole (rich would otherwise lay it out in 80
    columns and shorten ids with an ellipsis)."""
    from ftclient.registry import Registry

    home = tmp_path / "home"
    registry = Registry(home / "registry.db")
    long_id = "endpoint-" + "0123456789abcdef" * 4
    long_name = "someone/" + "Meta-Llama-3.1-8B-Instruct-Reference-" + "x" * 40
    from ftclient.providers.base import Endpoint

    endpoint = Endpoint(
        id=long_id,
        name=long_name,
        model=long_name,
        state="STARTED",
        hardware="4x_nvidia_h100_80gb_sxm",
        created_at=None,
        inactive_timeout_min=30,
    )
    with registry:
        registry.record_endpoint(
            endpoint, provider="together", api_endpoint="http://127.0.0.1:9/v1", job_id=None, keep=True
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TOGETHER_"))}
    env.update(
        FTCLIENT_HOME=str(home),
        TOGETHER_API_KEY="sk-x",
        TOGETHER_BASE_URL="http://127.0.0.1:9/v1",
        FTCLIENT_MAX_RETRIES="0",
        COLUMNS="60",
    )
    done = subprocess.run(
        [sys.executable, "-m", "ftclient", "endpoints", "list"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert long_id in done.stdout and long_name in done.stdout and "…" not in done.stdout


def test_results_fold_rather_than_cut_on_a_narrow_terminal() -> None:
    import io

    from rich.console import Console

    from ftclient.cli.output import make_console

    stream = io.StringIO()
    console = make_console(stream)
    assert console.width >= 1000  # not a terminal: no width to cut to
    narrow = Console(file=io.StringIO(), width=30, force_terminal=True)
    from rich.table import Table

    table = Table()
    table.add_column("endpoint", overflow="fold")
    table.add_row("endpoint-" + "a" * 60)
    narrow.print(table)
    text = narrow.file.getvalue()  # type: ignore[attr-defined]
    assert "…" not in text and "".join(line.strip("│ ") for line in text.splitlines()).count("a") == 60


def test_a_detached_sweep_names_each_jobs_setting_and_prints_only_ids(emu, run_cli, tmp_path: Path) -> None:
    ds = write_dataset(tmp_path / "ds", validation=10)
    result = run_cli("launch", str(ds), "--epochs", "2,3", "--detach")
    assert result.exit_code == 0, result.stderr
    ids = result.stdout.split()
    assert len(ids) == 2 and all(i.startswith("ftjob-") for i in ids)
    for job_id, epochs in zip(ids, (2, 3), strict=True):
        assert f"{job_id} (gpt-4o-mini-2024-07-18, n_epochs={epochs})" in result.stderr
    assert "compare them: ftclient evaluate sweep-" in result.stderr
