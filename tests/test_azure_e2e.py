"""prepare -> launch --provider azure -> evaluate (deploy, ask, delete the deployment) against the emulator; the
hosting fee the report shows is what the emulator billed, and nothing is left deployed, also after a failure
or Ctrl-C (SIGINT to a real ``ftclient evaluate`` process) during the evaluation."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES
from test_eval_support import interrupt_evaluation

from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread
from ftclient.emulator.samples import classification_examples

BASE = "gpt-4.1-mini-2025-04-14"
KEY = "az-e2e-canary-3c4d5e"


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with azure_emulator(monkeypatch, speed=200.0) as running:
        yield running


@contextlib.contextmanager
def azure_emulator(monkeypatch: pytest.MonkeyPatch, *, speed: float) -> Iterator[Emulator]:
    with run_in_thread(EmulatorConfig(provider="azure", speed=speed, seed=6)) as running:
        monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", running.url)
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY)
        monkeypatch.setenv("OPENAI_API_VERSION", "2024-10-21")
        monkeypatch.setenv("AZURE_MANAGEMENT_URL", running.url)
        monkeypatch.setenv("AZURE_MANAGEMENT_TOKEN", "arm-e2e-token")
        monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "sub-e2e")
        monkeypatch.setenv("AZURE_RESOURCE_GROUP", "rg-e2e")
        monkeypatch.setenv("AZURE_OPENAI_ACCOUNT", "acct-e2e")
        monkeypatch.setenv("FTCLIENT_POLL_INTERVAL_S", "0.02")
        monkeypatch.setenv("FTCLIENT_RETRY_BACKOFF_S", "0.01")
        yield running


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.stderr
    return result.json()


def launched_job(run_cli: Any, tmp_path: Path, *launch_options: str) -> dict[str, Any]:
    lines = (EXAMPLES / "support_tickets.csv").read_text(encoding="utf-8").splitlines()
    source = tmp_path / "tickets.csv"
    source.write_text("\n".join(lines[:101]) + "\n", encoding="utf-8")
    folder = tmp_path / "ds"
    prepared = ok(
        run_cli("prepare", str(source), "--provider", "azure", "--model", BASE, "--out", str(folder), "--json")
    )
    assert prepared["manifest"]["target"] == {"provider": "azure", "model": BASE}
    command = ["launch", str(folder), "--provider", "azure", "--suffix", "tickets", *launch_options, "--json"]
    launched = ok(run_cli(*command))
    job: dict[str, Any] = launched["jobs"][0]
    return job


def test_prepare_launch_evaluate_on_azure(emu: Emulator, run_cli: Any, tmp_path: Path) -> None:
    job = launched_job(run_cli, tmp_path)
    assert job["status"] == "succeeded" and job["id"].startswith("ftjob-")
    assert job["fine_tuned_model"].startswith(f"{BASE}.ft-")
    shown = ok(run_cli("jobs", "show", job["id"], "--json"))
    assert shown["raw_status"] == "succeeded"
    evaluated = run_cli("evaluate", job["id"], "--hardware", "Standard", "--out", str(tmp_path / "report"), "--json")
    report = ok(evaluated)
    assert evaluated.stderr.index("deploying on Standard: $1.70/hour") < evaluated.stderr.index("STARTING")
    tuned, base = report["models"]
    assert tuned["role"] == "tuned"
    assert tuned["metrics"]["accuracy"] > base["metrics"]["accuracy"]
    (deployment,) = report["deployments"]
    books = emu.stats()["deployments"]
    (bill,) = books["list"]
    assert books["running"] == 0 and bill["state"] == "Deleted"
    # The report bills wall-clock minutes; the emulator at speed 200 bills its faster clock, so the exact match
    # is asserted in test_azure_adapter (clocks tied); here: the same rate, and both sides billed.
    assert deployment["cost_per_hour_usd"] == bill["hourly_usd"] == 1.70 and bill["cost_usd"] > 0
    assert deployment["cost_usd"] == pytest.approx(deployment["billed_minutes"] * 1.70 / 60, abs=1e-4)
    assert deployment["final_state"] == "DELETED"
    for written in (tmp_path / "report").iterdir():
        text = written.read_text(encoding="utf-8")
        assert KEY not in text and "arm-e2e-token" not in text


def test_deploy_shows_the_fee_first_and_endpoints_stop_deletes(emu: Emulator, run_cli: Any, tmp_path: Path) -> None:
    job = launched_job(run_cli, tmp_path)
    result = run_cli("deploy", job["id"], "--json")
    deployed = ok(result)
    quote, created = result.stderr.index("deploying on Developer: $0.00/hour"), result.stderr.index("STARTING")
    assert quote < created  # the fee is shown before anything is created
    assert deployed["hardware"] == "Developer" and deployed["state"] == "STARTED"  # no-fee tier by default
    listed = ok(run_cli("endpoints", "list", "--json"))
    assert [e["endpoint_id"] for e in listed["endpoints"]] == [deployed["endpoint_id"]]
    ok(run_cli("endpoints", "stop", deployed["endpoint_id"], "--json"))
    assert emu.stats()["deployments"]["running"] == 0


def test_azure_data_rules_in_validate(run_cli: Any, tmp_path: Path) -> None:
    nine = tmp_path / "nine.jsonl"
    nine.write_text("".join(json.dumps(e) + "\n" for e in classification_examples()[:9]), encoding="utf-8")
    refused = run_cli("validate", str(nine), "--provider", "azure", "--model", BASE, "--json")
    assert refused.exit_code == 1 and "at least 10" in refused.stdout
    ten = tmp_path / "ten.jsonl"
    ten.write_text("".join(json.dumps(e) + "\n" for e in classification_examples()[:10]), encoding="utf-8")
    assert ok(run_cli("validate", str(ten), "--provider", "azure", "--model", BASE, "--json"))["ok"] is True


def test_the_fee_evaluate_reports_is_the_fee_the_emulator_billed(
    monkeypatch: pytest.MonkeyPatch, run_cli: Any, tmp_path: Path
) -> None:
    """The emulator on the real clock (speed 1); ftclient's clock and waits tied to it: the same minutes, the
    same dollars, on both sides."""
    from ftclient.evaluate.jobs import evaluate_job

    with azure_emulator(monkeypatch, speed=1.0) as emu:
        monkeypatch.setenv("FTCLIENT_POLL_INTERVAL_S", "10")
        job = launched_job(run_cli, tmp_path, "--detach")
        emu.advance(10_000)  # training, on the emulated clock
        report = evaluate_job(job["id"], hardware="Standard", sleep=emu.advance, wall=emu.now)
        (deployment,) = report.deployments
        books = emu.stats()["deployments"]
    (bill,) = books["list"]
    assert books["running"] == 0 and bill["state"] == "Deleted" and deployment["final_state"] == "DELETED"
    assert deployment["billed_minutes"] == bill["minutes"] >= 1
    assert bill["cost_usd"] > 0  # the report shows dollars to 4 places, the emulator keeps 6
    assert deployment["cost_usd"] == round(bill["cost_usd"], 4) == round(bill["minutes"] * 1.70 / 60, 4)


def test_ctrl_c_during_evaluation_deletes_the_deployment(emu: Emulator, run_cli: Any, tmp_path: Path) -> None:
    job = launched_job(run_cli, tmp_path)
    emu.inject("POST /openai/deployments/{deployment}/chat/completions", "latency", ms=150)
    code, stdout, stderr = interrupt_evaluation(
        emu,
        *(job["id"], "--hardware", "Standard", "--concurrency", "1", "--json"),
        running=lambda: emu.stats()["deployments"]["running"] == 1,
    )
    assert code == 130, stderr
    assert stdout == ""
    books = emu.stats()["deployments"]
    assert books["running"] == 0 and [b["state"] for b in books["list"]] == ["Deleted"]
    assert emu.stats()["completions"] < 2 * 20  # it really stopped part-way
