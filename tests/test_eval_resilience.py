"""The runner under faults and interruption, against the emulator over loopback HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO
from test_eval_support import TICKET_LABELS, TICKET_SYSTEM, launch_and_wait, openai_emulator, ticket_rows, write_dataset

import ftclient
from ftclient.errors import QuotaExhaustedError
from ftclient.evaluate.runner import RunnerConfig

CHAT = "POST /v1/chat/completions"
FAST_RETRIES = RunnerConfig(backoff_base_s=0.01, backoff_max_s=0.05, max_attempts=12)


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    with openai_emulator(monkeypatch, seed=5) as emu:
        yield emu


@pytest.fixture
def job_id(emulator: object, tmp_path: Path) -> str:
    dataset = write_dataset(
        tmp_path / "tickets", ticket_rows(), task="classify", system=TICKET_SYSTEM, labels=TICKET_LABELS
    )
    return launch_and_wait(dataset)


def _fingerprint(report: ftclient.evaluate.EvaluationReport) -> object:  # type: ignore[name-defined]
    return (
        [(m.model, m.metrics, m.per_class, m.confusion, m.failed) for m in report.models],
        [(c.metric, c.baseline, c.tuned, c.ci_low, c.ci_high, c.p_value) for c in report.comparisons],
        report.mcnemar,
        [d.index for d in report.fixed],
        [d.index for d in report.broken],
    )


def test_faults_do_not_change_the_metrics(emulator, job_id: str, tmp_path: Path) -> None:
    clean = ftclient.evaluate(job_id, out=tmp_path / "clean", use_cache=False, resamples=300, handle_signals=False)
    before = emulator.stats()
    emulator.inject(CHAT, "status_500", probability=0.05)
    emulator.inject(CHAT, "status_503", probability=0.05)
    emulator.inject(CHAT, "drop_connection", probability=0.12)
    faulty = ftclient.evaluate(
        job_id,
        out=tmp_path / "faulty",
        use_cache=False,
        resamples=300,
        handle_signals=False,
        runner_config=FAST_RETRIES,
    )
    after = emulator.stats()
    by_status = after["requests"]["by_route"][CHAT]
    errors = (
        by_status.get("500", 0)
        + by_status.get("503", 0)
        - sum(before["requests"]["by_route"][CHAT].get(s, 0) for s in ("500", "503"))
    )
    dropped = after["dropped_connections"] - before["dropped_connections"]
    sent = errors + dropped + after["completions"] - before["completions"]
    assert errors > 0 and dropped > 0
    assert (errors + dropped) / sent > 0.12  # about a fifth of the requests failed on the wire
    assert all(m.failed == 0 for m in faulty.models)
    assert _fingerprint(faulty) == _fingerprint(clean)


def test_rate_limit_answers_are_waited_out(emulator, job_id: str, tmp_path: Path) -> None:
    emulator.inject(CHAT, "status_429", times=6, retry_after_s=0.05)
    report = ftclient.evaluate(
        job_id,
        limit=20,
        out=tmp_path / "r",
        use_cache=False,
        resamples=100,
        handle_signals=False,
        runner_config=FAST_RETRIES,
    )
    assert all(m.failed == 0 for m in report.models)
    assert emulator.stats()["requests"]["by_route"][CHAT].get("429") == 6


def test_an_exhausted_quota_stops_the_evaluation_at_once(emulator, job_id: str, tmp_path: Path) -> None:
    emulator.inject(CHAT, "status_429", code="insufficient_quota", type="insufficient_quota",
                    message="You exceeded your current quota, please check your plan and billing details.")
    with pytest.raises(QuotaExhaustedError) as info:
        ftclient.evaluate(job_id, limit=20, out=tmp_path / "r", use_cache=False, resamples=100,
                          handle_signals=False, runner_config=FAST_RETRIES)
    assert "billing" in (info.value.hint or "")
    assert emulator.stats()["requests"]["by_route"][CHAT]["429"] <= 32  # at most the requests in flight; no retries


def test_killed_evaluation_resumes_without_asking_twice(emulator, job_id: str, tmp_path: Path) -> None:
    slow = 40  # ms per answer, so the evaluation is still running when it is stopped
    emulator.inject(CHAT, "latency", ms=slow)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    before = emulator.stats()["completions"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "ftclient", "evaluate", job_id, "--concurrency", "2", "--out", str(tmp_path / "a")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while emulator.stats()["completions"] - before < 30:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "run the same command again" in stderr
    answered_before_kill = emulator.stats()["completions"] - before

    emulator.clear_faults()
    report = ftclient.evaluate(job_id, out=tmp_path / "b", resamples=100, handle_signals=False)
    total = sum(m.examples for m in report.models)
    assert answered_before_kill < total
    assert sum(m.cached for m in report.models) == answered_before_kill
    # every completion the emulator served was needed exactly once
    assert emulator.stats()["completions"] - before == total
    assert all(m.failed == 0 for m in report.models)
