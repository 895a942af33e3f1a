"""Launches of one dataset at the same moment create one job: real processes sharing a home or not, and a
launch from elsewhere that creates the job while ours is uploading."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from launch_support import emulator_env, write_dataset

import ftclient
from ftclient.config import resolve
from ftclient.jobs import Job
from ftclient.launching.plan import LaunchStep


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    # 150 ms per request: a launch spends about a second between "no job yet" and "created", so
    # launches started together overlap there.
    with emulator_env(monkeypatch, speed=200.0, latency_ms=150.0) as running:
        yield running


def test_three_launches_at_once_create_one_job(emu, tmp_path: Path) -> None:
    ds = write_dataset(tmp_path / "ds", validation=10)
    shared, other = tmp_path / "home-a", tmp_path / "home-b"
    procs = []
    for i, home in enumerate((shared, shared, other)):
        out = (tmp_path / f"{i}.out").open("wb")
        err = (tmp_path / f"{i}.err").open("wb")
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "ftclient", "launch", str(ds), "--detach", "--json"],
                env={**os.environ, "FTCLIENT_HOME": str(home)},
                stdout=out,
                stderr=err,
                cwd=tmp_path,
            )
        )
        out.close()
        err.close()
    for proc in procs:
        assert proc.wait(timeout=120) == 0, (tmp_path / "0.err").read_text()
    ids = {json.loads((tmp_path / f"{i}.out").read_text())["jobs"][0]["id"] for i in range(3)}
    assert emu.stats()["jobs_created"] == 1
    assert len(ids) == 1


def test_a_job_created_elsewhere_while_ours_uploads_is_attached_to(
    emu, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another machine: no lock is shared, so only the look at the provider just before create stops a
    second job."""
    monkeypatch.setattr("ftclient.jobs.lock_paths", lambda *args: [], raising=False)
    ds = write_dataset(tmp_path / "ds", validation=10)
    elsewhere = replace(resolve(), home=tmp_path / "other-machine")
    theirs: list[Job] = []
    steps: list[LaunchStep] = []

    def on_step(step: LaunchStep) -> None:
        steps.append(step)
        if step.kind == "upload" and not theirs:  # ours has looked for earlier jobs and found none
            made = ftclient.launch(ds, settings=elsewhere)
            assert isinstance(made, Job)
            theirs.append(made)

    ours = ftclient.launch(ds, on_step=on_step)
    assert isinstance(ours, Job) and theirs
    assert ours.id == theirs[0].id
    assert emu.stats()["jobs_created"] == 1
    assert any(s.kind == "attach" and "another launch has just created" in s.message for s in steps)
