"""prepare -> launch --provider bedrock -> evaluate against the emulator, through the real boto3: the chat
dataset is converted to bedrock-conversation-2024 and uploaded to S3 by content hash, the job is created once,
its metrics come from its S3 output, and evaluation serves the custom model (on demand, or on provisioned
throughput billed by the hour) and deletes what it made. boto3 validates every request against Bedrock's
service model before it leaves, so these runs are also the request-side contract check."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES

pytest.importorskip("boto3")

from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread

BASE = "amazon.nova-micro-v1:0"
SECRET = "bedrock-e2e-canary-secret-4c3d"


def bedrock_env(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEMULATOR")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("FTCLIENT_BEDROCK_BUCKET", "ftclient-e2e")
    monkeypatch.setenv("FTCLIENT_BEDROCK_ROLE_ARN", "arn:aws:iam::123456789012:role/ftclient-e2e")
    monkeypatch.setenv("FTCLIENT_POLL_INTERVAL_S", "0.02")
    monkeypatch.setenv("FTCLIENT_RETRY_BACKOFF_S", "0.01")


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with run_in_thread(EmulatorConfig(provider="bedrock", speed=2000.0, seed=3)) as running:
        bedrock_env(monkeypatch, running.url)
        yield running


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.stderr
    return result.json()


def prepared(run_cli: Any, tmp_path: Path, rows: int = 61) -> Path:
    lines = (EXAMPLES / "support_tickets.csv").read_text(encoding="utf-8").splitlines()
    source = tmp_path / "tickets.csv"
    source.write_text("\n".join(lines[:rows]) + "\n", encoding="utf-8")
    folder = tmp_path / "ds"
    ok(run_cli("prepare", str(source), "--provider", "bedrock", "--model", BASE, "--out", str(folder), "--json"))
    return folder


@pytest.mark.parametrize("serving", ["on-demand", "provisioned"])
def test_prepare_launch_evaluate_on_bedrock(emu: Emulator, run_cli: Any, tmp_path: Path, serving: str) -> None:
    folder = prepared(run_cli, tmp_path)
    launched = ok(run_cli("launch", str(folder), "--provider", "bedrock", "--json"))
    job = launched["jobs"][0]
    assert job["status"] == "succeeded" and job["id"].startswith("ftc-")
    assert job["fine_tuned_model"].startswith("arn:aws:bedrock:us-east-1:123456789012:custom-model/")
    objects = emu.core.app.s3.buckets["ftclient-e2e"]  # type: ignore[attr-defined]
    uploaded = [k for k in objects if k.startswith("ftclient/train-")]
    assert len(uploaded) == 1 and objects[uploaded[0]].data.startswith(b'{"schemaVersion":"bedrock-conversation-2024"')
    again = ok(run_cli("launch", str(folder), "--provider", "bedrock", "--json"))
    assert again["jobs"][0]["id"] == job["id"] and emu.stats()["jobs_created"] == 1
    events = ok(run_cli("jobs", "events", job["id"], "--json"))
    losses = [e["data"]["train_loss"] for e in events["events"] if e["type"] == "metrics"]
    assert len(losses) >= 4 and losses[-1] < losses[0]  # read back from the job's S3 output
    shown = run_cli("jobs", "events", job["id"]).stdout  # the table says the losses, not only "Step N"
    assert f"train loss {losses[-1]:.4f}" in shown
    report = ok(run_cli("evaluate", job["id"], "--hardware", serving, "--out", str(tmp_path / "r"), "--json"))
    tuned, base = report["models"]
    assert base["model"] == BASE and tuned["metrics"]["accuracy"] > base["metrics"]["accuracy"]
    (deployment,) = report["deployments"]
    books = emu.stats()["serving"]
    assert books["provisioned_running"] == 0 and books["deployments_active"] == 0  # nothing left behind
    if serving == "provisioned":
        assert deployment["cost_per_hour_usd"] == 20.0 and books["provisioned"][0]["status"] == "Deleted"
    else:
        assert deployment["cost_per_hour_usd"] == 0.0 and books["provisioned"] == []
    for written in (tmp_path / "r").iterdir():
        assert SECRET not in written.read_text(encoding="utf-8")


@pytest.mark.parametrize("stop", [RuntimeError("the disk filled up"), KeyboardInterrupt()], ids=["error", "ctrl-c"])
def test_an_error_or_ctrl_c_mid_evaluation_still_deletes_the_provisioned_throughput(
    emu: Emulator, run_cli: Any, tmp_path: Path, stop: BaseException
) -> None:
    from ftclient.evaluate.jobs import evaluate_job

    job_id = ok(run_cli("launch", str(prepared(run_cli, tmp_path)), "--provider", "bedrock", "--json"))["jobs"][0]["id"]

    def crash_after_two(progress: Any) -> None:
        if progress.done >= 2:
            raise stop

    with pytest.raises(type(stop)):
        evaluate_job(job_id, on_progress=crash_after_two, concurrency=1, hardware="provisioned")
    books = emu.stats()["serving"]
    assert books["provisioned_running"] == 0 and [b["status"] for b in books["provisioned"]] == ["Deleted"]


def test_dry_run_validate_and_models_on_bedrock(emu: Emulator, run_cli: Any, tmp_path: Path) -> None:
    folder = prepared(run_cli, tmp_path)
    plan = ok(run_cli("launch", str(folder), "--provider", "bedrock", "--dry-run", "--json"))
    upload = plan["uploads"][0]
    assert upload["format"] == "bedrock-conversation-2024"
    assert upload["path"].endswith(".bedrock-conversation-2024.jsonl")
    assert upload["requests"][0]["uri"].startswith("s3://ftclient-e2e/ftclient/train-")
    request = plan["jobs"][0]["request"]
    assert request["operation"] == "bedrock:CreateModelCustomizationJob"
    assert request["params"]["roleArn"] == "arn:aws:iam::123456789012:role/ftclient-e2e"
    assert request["params"]["hyperParameters"] == {} and plan["jobs"][0]["epochs"] == 2
    assert emu.stats()["requests"]["total"] == 0  # a dry run sends nothing
    native = ok(run_cli("validate", upload["path"], "--provider", "bedrock", "--model", BASE, "--json"))
    train = str(folder / "train.jsonl")
    canonical = ok(run_cli("validate", train, "--provider", "bedrock", "--model", BASE, "--json"))
    assert native["ok"] and canonical["ok"] and native["examples"] == canonical["examples"]
    assert native["tokens"]["exact"] is False  # an estimate, and marked so
    listed = ok(run_cli("models", "--provider", "bedrock", "--json"))
    assert BASE in [m["model"] for m in listed["models"]]
