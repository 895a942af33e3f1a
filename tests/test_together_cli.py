"""``--provider together`` on validate, launch --dry-run and the jobs commands, against the emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES

from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread
from ftclient.emulator.samples import classification_examples

BASE = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with run_in_thread(EmulatorConfig(provider="together", speed=1.0, seed=8)) as running:
        monkeypatch.setenv("TOGETHER_BASE_URL", running.base_url)
        monkeypatch.setenv("TOGETHER_API_KEY", "tk-cli")
        monkeypatch.setenv("FTCLIENT_POLL_INTERVAL_S", "0.02")
        yield running


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.stderr
    return result.json()


def test_validate_applies_together_rules(run_cli: Any, tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text("".join(json.dumps(e) + "\n" for e in classification_examples()), encoding="utf-8")
    report = ok(run_cli("validate", str(good), "--provider", "together", "--model", BASE, "--json"))
    assert report["ok"] is True and report["tokens"]["exact"] is False  # an estimate, and it says so
    extra = tmp_path / "extra.jsonl"
    extra.write_text("".join(json.dumps(dict(e, id=i)) + "\n" for i, e in enumerate(classification_examples())))
    refused = run_cli("validate", str(extra), "--provider", "together", "--json")
    assert refused.exit_code == 1 and '"id"' in refused.stdout


def test_dry_run_and_jobs_commands(emu: Emulator, run_cli: Any, tmp_path: Path) -> None:
    rows = (EXAMPLES / "support_tickets.csv").read_text(encoding="utf-8").splitlines()[:61]
    source = tmp_path / "t.csv"
    source.write_text("\n".join(rows) + "\n", encoding="utf-8")
    folder = tmp_path / "ds"
    ok(run_cli("prepare", str(source), "--provider", "together", "--model", BASE, "--out", str(folder), "--json"))
    plan = ok(run_cli("launch", str(folder), "--dry-run", "--epochs", "2", "--json"))
    assert plan["provider"] == "together" and plan["endpoint"] == emu.base_url
    request = plan["jobs"][0]["request"]
    assert request["url"] == f"{emu.base_url}/fine-tunes" and request["json"]["n_epochs"] == 2
    assert [r["method"] for r in plan["uploads"][0]["requests"]] == ["POST", "PUT", "POST"]
    assert emu.stats()["requests"]["total"] == 0  # a dry run sends nothing
    job_id = ok(run_cli("launch", str(folder), "--detach", "--json"))["jobs"][0]["id"]
    listed = ok(run_cli("jobs", "list", "--provider", "together", "--json"))
    assert job_id in json.dumps(listed)
    emu.advance(10_000)
    shown = ok(run_cli("jobs", "show", job_id, "--json"))
    assert shown["status"] == "succeeded" and shown["raw_status"] == "completed"
    events = ok(run_cli("jobs", "events", job_id, "--json"))
    assert "job_complete" in json.dumps(events)
    checkpoints = ok(run_cli("jobs", "checkpoints", job_id, "--json"))
    assert shown["fine_tuned_model"] in json.dumps(checkpoints)
    other = ok(run_cli("launch", str(folder), "--detach", "--force-new", "--json"))["jobs"][0]["id"]
    cancelling = ok(run_cli("jobs", "cancel", other, "--json"))
    assert cancelling["status"] == "running" and cancelling["raw_status"] == "cancel_requested"  # still billing
    emu.advance(60)
    assert ok(run_cli("jobs", "show", other, "--json"))["status"] == "cancelled"


def test_emulator_command_speaks_together(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    import httpx2

    command = [sys.executable, "-m", "ftclient", "emulator", "--provider", "together", "--port", "0"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ) as proc:
        assert proc.stdout is not None
        base_url = next(line.strip() for line in proc.stdout if line.startswith("http"))
        try:
            supported = httpx2.get(f"{base_url}/fine-tunes/models/supported", headers={"Authorization": "Bearer t"})
            assert BASE in supported.json()["models"]
            assert httpx2.get(f"{base_url}/fine-tunes").status_code == 401
        finally:
            proc.send_signal(signal.SIGINT)
            _, stderr = proc.communicate(timeout=10)
    assert "TOGETHER_BASE_URL" in stderr
