"""Killing a real ``ftclient launch`` process (SIGINT, SIGKILL) during upload, right after create and
while watching, then running it again: never a second job, never a completed file sent twice; and
``ftclient jobs watch`` re-attaching from another process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from launch_support import CANARY_KEY, emulator_env, route_count, write_dataset

FILES = "POST /v1/files"
JOB = "GET /v1/fine_tuning/jobs/{fine_tuning_job_id}"


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    with emulator_env(monkeypatch, speed=200.0) as running:
        yield running


def _start(args: list[str], tmp_path: Path, name: str, **env: str) -> tuple[subprocess.Popen[bytes], Path]:
    """Run ``ftclient ARGS`` as a real process; its stdout goes to NAME.out, its stderr to NAME.err."""
    log = tmp_path / f"{name}.err"
    with log.open("wb") as err, (tmp_path / f"{name}.out").open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ftclient", *args],
            env={**os.environ, **env},
            stdout=out,
            stderr=err,
            cwd=tmp_path,
        )
    return proc, log


def _until(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _finish(args: list[str], tmp_path: Path, name: str) -> tuple[int, str, str]:
    proc, log = _start(args, tmp_path, name)
    proc.wait(timeout=60)
    return proc.returncode, (tmp_path / f"{name}.out").read_text(), log.read_text()


def test_ctrl_c_while_watching_detaches_and_jobs_watch_reattaches_from_another_process(
    emu, run_cli, tmp_path: Path
) -> None:
    ds = write_dataset(tmp_path / "ds", validation=10)
    proc, log = _start(["launch", str(ds)], tmp_path, "launch")
    _until(lambda: route_count(emu, JOB) >= 2, "the launch to start watching")
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=20) == 130
    err = log.read_text()
    assert "keeps running" in err and "ftclient jobs watch ftjob-" in err and "Traceback" not in err
    job_id = err.split("ftclient jobs watch ")[1].split("`")[0].strip()
    emu.advance(3600)  # fast-forward: the job finishes while nobody watches
    code, out, watch_err = _finish(["jobs", "watch", job_id, "--json"], tmp_path, "watch")
    assert code == 0, watch_err
    assert json.loads(out)["status"] == "succeeded" and json.loads(out)["fine_tuned_model"]
    again = run_cli("launch", str(ds), "--json")  # running it again (in this process)
    code, out, again_err = again.exit_code, again.stdout, again.stderr
    assert code == 0, again_err
    assert json.loads(out)["jobs"][0]["id"] == job_id and json.loads(out)["jobs"][0]["reused"]
    assert emu.stats()["jobs_created"] == 1 and route_count(emu, FILES) == 2
    for text in (err, watch_err, again_err, out):
        assert CANARY_KEY not in text


def test_sigkill_during_upload_then_rerun_sends_each_file_once(emu, run_cli, tmp_path: Path) -> None:
    ds = write_dataset(tmp_path / "ds", validation=10)
    emu.inject(FILES, "latency", times=1, ms=5000)  # the server stores the file, then answers late
    proc, _ = _start(["launch", str(ds), "--detach"], tmp_path, "killed")
    _until(lambda: emu.stats()["files"] >= 1, "the first file to reach the emulator")
    proc.kill()
    proc.wait(timeout=10)
    assert emu.stats()["jobs_created"] == 0
    rerun = run_cli("launch", str(ds), "--detach", "--json")
    code, err = rerun.exit_code, rerun.stderr
    assert code == 0, err
    assert "reusing file-" in err  # found by its content name, although the killed run never recorded it
    assert emu.stats()["files"] == 2 and emu.stats()["jobs_created"] == 1


def test_sigkill_right_after_create_then_rerun_finds_the_job_by_its_run_id(emu, run_cli, tmp_path: Path) -> None:
    ds = write_dataset(tmp_path / "ds", validation=10)
    emu.inject("POST /v1/fine_tuning/jobs", "lose_response_after_commit", times=1)
    # The create response is lost; the process waits 30 s before looking the job up, and dies meanwhile.
    proc, _ = _start(["launch", str(ds)], tmp_path, "killed", FTCLIENT_RETRY_BACKOFF_S="30")
    _until(lambda: emu.stats()["jobs_created"] == 1, "the job to be created")
    time.sleep(0.1)
    proc.kill()
    proc.wait(timeout=10)
    emu.advance(3600)
    rerun = run_cli("launch", str(ds), "--json")
    code, out, err = rerun.exit_code, rerun.stdout, rerun.stderr
    assert code == 0, err
    assert emu.stats()["jobs_created"] == 1 and route_count(emu, FILES) == 2
    assert json.loads(out)["jobs"][0]["status"] == "succeeded" and "already launched as ftjob-" in err


def test_sigkill_while_watching_then_rerun_reattaches(emu, run_cli, tmp_path: Path) -> None:
    ds = write_dataset(tmp_path / "ds", validation=10)
    proc, _ = _start(["launch", str(ds)], tmp_path, "killed")
    _until(lambda: route_count(emu, JOB) >= 2, "the launch to start watching")
    proc.kill()
    proc.wait(timeout=10)
    emu.advance(3600)
    rerun = run_cli("launch", str(ds), "--json")
    code, out, err = rerun.exit_code, rerun.stdout, rerun.stderr
    assert code == 0, err
    assert emu.stats()["jobs_created"] == 1 and route_count(emu, FILES) == 2
    assert json.loads(out)["jobs"][0]["status"] == "succeeded"
