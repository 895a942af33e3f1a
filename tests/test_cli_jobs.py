"""``ftclient jobs ...`` against the emulator: every subcommand in --json and human form."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from launch_support import emulator_env, write_dataset


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    with emulator_env(monkeypatch, speed=50.0) as running:
        yield running


def _detached(run_cli, tmp_path: Path) -> str:  # type: ignore[no-untyped-def]
    ds = write_dataset(tmp_path / "ds", validation=10)
    result = run_cli("-q", "launch", str(ds), "--detach")
    assert result.exit_code == 0, result.stderr
    return result.stdout.strip()


def test_list_show_events_checkpoints(emu, run_cli, tmp_path: Path) -> None:
    job_id = _detached(run_cli, tmp_path)
    listed = run_cli("jobs", "list", "--json").json()["jobs"]
    assert [j["id"] for j in listed] == [job_id] and listed[0]["local"] is True
    local = run_cli("jobs", "list", "--local", "--json").json()["jobs"]
    assert local[0]["id"] == job_id
    human = run_cli("jobs", "list")
    assert job_id in human.stderr and human.exit_code == 0
    emu.advance(3600)
    shown = run_cli("jobs", "show", job_id, "--json").json()
    assert shown["status"] == "succeeded" and shown["fine_tuned_model"].startswith("ft:")
    assert shown["metadata"]["ftclient_run"]
    text = run_cli("jobs", "show", job_id).stderr
    assert "tuned model" in text and shown["fine_tuned_model"] in text
    events = run_cli("jobs", "events", job_id, "--json").json()["events"]
    assert events[0]["message"].startswith("Created fine-tuning job") and len(events) > 10
    later = run_cli("jobs", "events", job_id, "--after", events[-3]["id"], "--json").json()["events"]
    assert [e["id"] for e in later] == [e["id"] for e in events[-2:]]
    checkpoints = run_cli("jobs", "checkpoints", job_id, "--json").json()["checkpoints"]
    assert checkpoints and all(c["model"].startswith(shown["fine_tuned_model"]) for c in checkpoints)
    assert "step" in run_cli("jobs", "checkpoints", job_id).stderr


def test_pause_resume_cancel_and_watch_of_a_cancelled_job_exits_3(emu, run_cli, tmp_path: Path) -> None:
    job_id = _detached(run_cli, tmp_path)
    emu.advance(60)  # into training
    paused = run_cli("jobs", "pause", job_id, "--json")
    assert paused.exit_code == 0 and paused.json()["status"] in {"pausing", "paused"}
    resumed = run_cli("jobs", "resume", job_id, "--json")
    assert resumed.exit_code == 0 and resumed.json()["status"] in {"running", "queued", "validating_files"}
    cancelled = run_cli("jobs", "cancel", job_id)
    assert cancelled.exit_code == 0 and job_id in cancelled.stderr
    watched = run_cli("jobs", "watch", job_id, "--poll-interval", "0.01")
    assert watched.exit_code == 3 and "cancelled" in watched.stderr


def test_an_unknown_job_is_a_clear_error_with_the_request_id(emu, run_cli) -> None:
    result = run_cli("jobs", "show", "ftjob-nope")
    assert result.exit_code == 1
    assert "error[provider-not-found]" in result.stderr and "request id: req_" in result.stderr


def test_the_live_view_shows_a_bar_eta_and_losses_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from rich.console import Console

    from ftclient.cli.jobs import FollowView
    from ftclient.cli.output import Output
    from ftclient.launching.follow import JobProgress

    buffer = io.StringIO()
    monkeypatch.setattr(Output, "interactive", property(lambda self: True))
    out = Output(_console=Console(file=buffer, force_terminal=True, width=140, color_system=None))
    with FollowView(out, ["ftjob-1"]) as view:
        view.on_update(JobProgress(job_id="ftjob-1", status="running", model="m", step=48, total_steps=96,
                                   train_loss=0.5, valid_loss=0.61, eta_s=75.0))
        assert view.progress is not None
        view.progress.refresh()
    text = buffer.getvalue()
    assert "ftjob-1 running" in text and "48/96" in text and "ETA 0:01:15" in text
    assert "loss train 0.500, valid 0.610" in text
