"""``--provider fireworks`` on launch --dry-run, the jobs commands, deploy and endpoints, against the emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES

from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread

BASE = "accounts/fireworks/models/qwen3-8b"


@contextmanager
def fireworks(monkeypatch: pytest.MonkeyPatch, speed: float) -> Iterator[Emulator]:
    with run_in_thread(EmulatorConfig(provider="fireworks", speed=speed, seed=9)) as running:
        monkeypatch.setenv("FIREWORKS_BASE_URL", running.url)
        monkeypatch.setenv("FIREWORKS_API_KEY", "fw-cli")
        monkeypatch.setenv("FIREWORKS_ACCOUNT_ID", "cli")
        monkeypatch.setenv("FTCLIENT_POLL_INTERVAL_S", "0.02")
        yield running


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.stderr
    return result.json()


def prepared(run_cli: Any, tmp_path: Path) -> Path:
    rows = (EXAMPLES / "support_tickets.csv").read_text(encoding="utf-8").splitlines()[:61]
    source = tmp_path / "t.csv"
    source.write_text("\n".join(rows) + "\n", encoding="utf-8")
    folder = tmp_path / "ds"
    ok(run_cli("prepare", str(source), "--provider", "fireworks", "--model", BASE, "--out", str(folder), "--json"))
    return folder


def test_dry_run_and_jobs_commands(monkeypatch: pytest.MonkeyPatch, run_cli: Any, tmp_path: Path) -> None:
    with fireworks(monkeypatch, speed=1.0) as emu:
        folder = prepared(run_cli, tmp_path)
        plan = ok(
            run_cli(
                "launch",
                str(folder),
                "--provider",
                "fireworks",
                "--dry-run",
                "--epochs",
                "2",
                "--lr-multiplier",
                "2",
                "--json",
            )
        )
        request = plan["jobs"][0]["request"]
        assert request["url"].startswith(f"{emu.url}/v1/accounts/cli/supervisedFineTuningJobs?")
        assert request["json"]["epochs"] == 2 and request["json"]["baseModel"] == BASE
        assert request["json"]["learningRate"] == pytest.approx(2e-4)
        assert [r["method"] for r in plan["uploads"][0]["requests"]] == ["POST", "POST"]
        assert emu.stats()["requests"]["total"] == 0  # a dry run sends nothing
        job_id = ok(run_cli("launch", str(folder), "--provider", "fireworks", "--detach", "--json"))["jobs"][0]["id"]
        assert job_id in json.dumps(ok(run_cli("jobs", "list", "--provider", "fireworks", "--json")))
        emu.advance(10_000)
        shown = ok(run_cli("jobs", "show", job_id, "--json"))
        assert shown["status"] == "succeeded" and shown["raw_status"] == "JOB_STATE_COMPLETED"
        events = ok(run_cli("jobs", "events", job_id, "--json"))
        assert "JOB_STATE_COMPLETED (100%)" in json.dumps(events) and '"train_loss"' in json.dumps(events)
        other = ok(run_cli("launch", str(folder), "--provider", "fireworks", "--detach", "--force-new", "--json"))
        other_id = other["jobs"][0]["id"]
        assert ok(run_cli("jobs", "cancel", other_id, "--json"))["status"] == "cancelled"
        emu.advance(10)
        refused = run_cli("jobs", "resume", other_id, "--json")  # cancelled before training: nothing to resume
        assert refused.exit_code == 1 and "cannot be resumed" in refused.stderr


def test_deploy_list_and_stop(monkeypatch: pytest.MonkeyPatch, run_cli: Any, tmp_path: Path) -> None:
    with fireworks(monkeypatch, speed=1000.0) as emu:
        folder = prepared(run_cli, tmp_path)
        job = ok(run_cli("launch", str(folder), "--provider", "fireworks", "--json"))["jobs"][0]
        deployed = ok(run_cli("deploy", job["id"], "--inactive-timeout", "15", "--json"))
        assert deployed["name"] == job["fine_tuned_model"] and deployed["cost_per_hour_usd"] == 3.89
        assert deployed["inactive_timeout_min"] == 15 and deployed["state"] == "STARTED"
        listed = ok(run_cli("endpoints", "list", "--provider", "fireworks", "--json"))["endpoints"]
        assert [e["endpoint_id"] for e in listed] == [deployed["endpoint_id"]]
        ok(run_cli("endpoints", "stop", deployed["endpoint_id"], "--json"))
        assert emu.stats()["deployments"]["running"] == 0
        assert ok(run_cli("endpoints", "list", "--provider", "fireworks", "--json"))["endpoints"] == []
