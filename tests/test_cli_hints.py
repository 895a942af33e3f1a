"""Hints that lead somewhere: a cancel twice is fine, a cancelled job is not a failure to fix, and an
endpoint stopped by its inactivity timeout is not a hardware problem."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from launch_support import emulator_env, write_dataset

from ftclient.providers.base import Endpoint


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    with emulator_env(monkeypatch, speed=50.0) as running:
        yield running


def _detached(run_cli, tmp_path: Path, salt: str = "") -> str:  # type: ignore[no-untyped-def]
    result = run_cli("-q", "launch", str(write_dataset(tmp_path / f"ds{salt}", validation=10, salt=salt)), "--detach")
    assert result.exit_code == 0, result.stderr
    return str(result.stdout.strip())


def test_cancelling_a_cancelled_job_is_idempotent(emu, run_cli, tmp_path: Path) -> None:
    job_id = _detached(run_cli, tmp_path)
    emu.advance(60)  # type: ignore[attr-defined]
    first = run_cli("jobs", "cancel", job_id, "--json")
    assert first.exit_code == 0 and first.json()["status"] == "cancelled" and first.json()["already"] is False
    again = run_cli("jobs", "cancel", job_id)
    assert again.exit_code == 0, again.stderr
    assert f"{job_id}: cancelled (it already was; nothing to do)" in again.stdout
    assert run_cli("jobs", "cancel", job_id, "--json").json()["already"] is True


def test_watching_a_cancelled_job_does_not_ask_to_fix_a_cause(emu, run_cli, tmp_path: Path) -> None:
    job_id = _detached(run_cli, tmp_path)
    emu.advance(60)  # type: ignore[attr-defined]
    assert run_cli("jobs", "cancel", job_id).exit_code == 0
    watched = run_cli("jobs", "watch", job_id, "--poll-interval", "0.01")
    assert watched.exit_code == 3
    assert "error[job-cancelled]" in watched.stderr and "it was cancelled" in watched.stderr
    assert "job-failed" not in watched.stderr and "fix the cause" not in watched.stderr


def test_cancelling_a_finished_job_says_it_already_ended(emu, run_cli, tmp_path: Path) -> None:
    job_id = _detached(run_cli, tmp_path)
    emu.advance(7200)  # type: ignore[attr-defined]
    result = run_cli("jobs", "cancel", job_id)
    assert result.exit_code == 0, result.stderr
    assert f"{job_id}: succeeded (it had already ended; nothing to cancel)" in result.stdout
    assert "error" not in result.stderr


class _Stopped:
    """A deploying provider whose endpoint is found in one state."""

    name = "together"

    def __init__(self, state: str) -> None:
        self.state = state

    def get_endpoint(self, endpoint_id: str) -> Endpoint:
        return Endpoint(id=endpoint_id, model="m", state=self.state, inactive_timeout_min=5)


def test_an_endpoint_stopped_while_starting_is_not_a_hardware_problem() -> None:
    from ftclient.deploy import wait_started
    from ftclient.errors import ProviderUnavailable

    with pytest.raises(ProviderUnavailable) as stopped:
        wait_started(_Stopped("STOPPED"), "endpoint-1", poll_s=0, sleep=lambda s: None)  # type: ignore[arg-type]
    assert "inactivity timeout (5 min without requests)" in stopped.value.message
    assert "hardware" not in (stopped.value.hint or "") and "--inactive-timeout" in (stopped.value.hint or "")
    with pytest.raises(ProviderUnavailable) as errored:
        wait_started(_Stopped("ERROR"), "endpoint-1", poll_s=0, sleep=lambda s: None)  # type: ignore[arg-type]
    assert "other hardware" in (errored.value.hint or "")
