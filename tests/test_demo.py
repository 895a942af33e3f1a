"""`ftclient demo`: the whole loop offline, in one folder, with the tuned model ahead of the base."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ftclient.samples import SAMPLES, sample_path


def test_demo_runs_the_whole_loop_in_one_folder(run_cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real-key-must-not-be-used")
    before = set(os.environ.items())
    result = run_cli("demo", "--dir", "out", "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert data["emulator"] is True
    assert data["verdict"].startswith("The tuned model ft:")
    assert "is better than" in data["verdict"]
    report = Path(data["report"])
    assert report.is_file() and report.is_relative_to(tmp_path / "out")
    assert json.loads((report.parent / "report.json").read_text())["job_id"] == data["job_id"]
    # It wrote only under its folder, and left the environment as it found it.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert set(os.environ.items()) == before
    assert "sk-real-key-must-not-be-used" not in result.stderr + result.stdout


@pytest.mark.parametrize("task", ["summarize", "translate"])
def test_demo_shows_a_real_gain_on_every_sample(run_cli, tmp_path: Path, task: str) -> None:
    result = run_cli("demo", "--task", task, "--dir", str(tmp_path / task), "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads((Path(result.json()["report"]).parent / "report.json").read_text())
    primary = report["comparisons"][0]
    assert primary["metric"] == {"summarize": "rougeL", "translate": "chrf"}[task]
    assert primary["ci_low"] > 0, primary  # the tuned model is ahead, and the interval says it is real


def test_after_openais_last_day_for_new_jobs_the_demo_rehearses_on_an_earlier_date(
    run_cli, tmp_path: Path, monkeypatch
) -> None:
    import datetime as dt

    from ftclient import calendar

    monkeypatch.delenv("FTCLIENT_TODAY")
    monkeypatch.setattr(calendar, "utc_today", lambda: dt.date(2027, 3, 1))
    result = run_cli("demo", "--dir", str(tmp_path / "out"), "--json")
    assert result.exit_code == 0, result.stderr
    assert "is better than" in result.json()["verdict"]
    assert "no new fine-tuning jobs since 2027-01-06" in result.stderr and "emulated 2026-12-01" in result.stderr
    assert "FTCLIENT_TODAY" not in os.environ  # put back as it was


def test_a_date_chosen_after_the_end_of_new_jobs_is_refused_by_the_demo(run_cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("FTCLIENT_TODAY", "2027-01-07")
    result = run_cli("demo", "--dir", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "2027-01-06" in result.stderr


def test_every_bundled_sample_is_found() -> None:
    for task, sample in SAMPLES.items():
        assert sample_path(task).name == sample.filename


def test_demo_as_a_process_prints_no_traceback(tmp_path: Path) -> None:
    """The README's first command, as a user runs it: a separate process, whose whole stderr is checked."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "ftclient", "demo", "--dir", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "Exception in callback" not in done.stderr
    assert "is better than" in done.stderr + done.stdout
