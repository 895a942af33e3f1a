"""prepare -> launch --provider fireworks -> evaluate (deploy, ask, tear down) against the emulator; nothing is
left running or billing afterwards (the emulator's own books say so), and Fireworks' data rules apply."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES

from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread
from ftclient.emulator.samples import classification_examples

BASE = "accounts/fireworks/models/llama-v3p1-8b-instruct"
KEY = "fw-e2e-canary-5e6f7a"


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with run_in_thread(EmulatorConfig(provider="fireworks", speed=100.0, seed=6)) as running:
        monkeypatch.setenv("FIREWORKS_BASE_URL", running.url)
        monkeypatch.setenv("FIREWORKS_API_KEY", KEY)
        monkeypatch.setenv("FIREWORKS_ACCOUNT_ID", "e2e-account")
        monkeypatch.setenv("FTCLIENT_POLL_INTERVAL_S", "0.02")
        monkeypatch.setenv("FTCLIENT_RETRY_BACKOFF_S", "0.01")
        yield running


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.stderr
    return result.json()


def test_prepare_launch_evaluate_on_fireworks(emu: Emulator, run_cli: Any, tmp_path: Path) -> None:
    lines = (EXAMPLES / "support_tickets.csv").read_text(encoding="utf-8").splitlines()
    source = tmp_path / "tickets.csv"
    source.write_text("\n".join(lines[:101]) + "\n", encoding="utf-8")
    folder = tmp_path / "ds"
    prepared = ok(
        run_cli("prepare", str(source), "--provider", "fireworks", "--model", BASE, "--out", str(folder), "--json")
    )
    assert prepared["manifest"]["target"] == {"provider": "fireworks", "model": BASE}
    launched = ok(run_cli("launch", str(folder), "--provider", "fireworks", "--suffix", "tickets", "--json"))
    job = launched["jobs"][0]
    assert job["status"] == "succeeded" and job["id"].startswith("ftc-")
    assert job["fine_tuned_model"] == f"accounts/e2e-account/models/{job['id']}"
    again = ok(run_cli("launch", str(folder), "--provider", "fireworks", "--suffix", "tickets", "--json"))
    assert again["jobs"][0]["id"] == job["id"] and emu.stats()["jobs_created"] == 1  # re-attached, not re-made
    shown = ok(run_cli("jobs", "show", job["id"], "--json"))
    assert shown["raw_status"] == "JOB_STATE_COMPLETED"
    report = ok(run_cli("evaluate", job["id"], "--out", str(tmp_path / "report"), "--json"))
    tuned, base = report["models"]
    assert tuned["role"] == "tuned" and base["model"] == BASE
    assert tuned["metrics"]["accuracy"] > base["metrics"]["accuracy"]
    (deployment,) = report["deployments"]
    assert deployment["job_id"] == job["id"] and deployment["cost_per_hour_usd"] == 3.89
    books = emu.stats()["deployments"]
    assert books["running"] == 0 and books["replicas_up"] == 0 and books["list"][0]["state"] in {"DELETING", "DELETED"}
    for written in (tmp_path / "report").iterdir():
        assert KEY not in written.read_text(encoding="utf-8")


def test_fireworks_data_rules_in_validate(run_cli: Any, tmp_path: Path) -> None:
    three = tmp_path / "three.jsonl"
    three.write_text("".join(json.dumps(e) + "\n" for e in classification_examples()[:3]), encoding="utf-8")
    report = ok(run_cli("validate", str(three), "--provider", "fireworks", "--model", BASE, "--json"))
    assert report["ok"] is True  # Fireworks trains on 3 examples (OpenAI needs 10)
    assert run_cli("validate", str(three), "--json").exit_code == 1
    two = tmp_path / "two.jsonl"
    two.write_text("".join(json.dumps(e) + "\n" for e in classification_examples()[:2]), encoding="utf-8")
    refused = run_cli("validate", str(two), "--provider", "fireworks", "--json")
    assert refused.exit_code == 1 and "at least 3" in refused.stdout
    late_system = tmp_path / "late.jsonl"
    rows = [dict(e) for e in classification_examples()[:3]]
    rows[1] = {"messages": [*rows[1]["messages"], {"role": "system", "content": "late"}]}
    late_system.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert "system-not-first" in run_cli("validate", str(late_system), "--provider", "fireworks", "--json").stdout
    completion = tmp_path / "completion.jsonl"
    completion.write_text("".join(json.dumps({"prompt": "a", "completion": "b"}) + "\n" for _ in range(3)))
    assert "unknown-format" in run_cli("validate", str(completion), "--provider", "fireworks", "--json").stdout


def test_cross_provider_lists_route_fireworks_names() -> None:
    from ftclient.launching.cross import takes

    assert takes("fireworks", BASE) and not takes("together", BASE) and not takes("openai", BASE)
    assert not takes("fireworks", "Qwen/Qwen3-8B") and takes("together", "Qwen/Qwen3-8B")


def test_emulator_command_speaks_fireworks() -> None:
    import os
    import signal
    import subprocess
    import sys

    import httpx2

    command = [sys.executable, "-m", "ftclient", "emulator", "--provider", "fireworks", "--port", "0"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ) as proc:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip()
        url = base_url.removesuffix("/v1")
        listed = httpx2.get(f"{url}/v1/accounts/fireworks/models", headers={"Authorization": "Bearer k"}, timeout=10)
        missing = httpx2.get(f"{url}/v1/accounts/a/datasets/none", headers={"Authorization": "Bearer k"}, timeout=10)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=20)
    assert BASE in [m["name"] for m in listed.json()["models"]]
    assert missing.status_code == 404 and missing.json()["code"] == 5  # google.rpc NOT_FOUND
    assert "FIREWORKS_BASE_URL" in stderr


def test_preflight_uses_fireworks_defaults(tmp_path: Path) -> None:
    from launch_support import write_dataset

    from ftclient.config import resolve
    from ftclient.errors import UserInputError
    from ftclient.launching.config import LaunchConfig
    from ftclient.launching.preflight import preflight, resolve_dataset

    folder = write_dataset(tmp_path / "ds", train=6, model=BASE)
    dataset = resolve_dataset(folder, resolve({}), None)
    methods = frozenset({"supervised", "dpo"})
    plain = preflight(dataset, LaunchConfig(model=BASE), provider="fireworks", methods=methods, official=False)
    assert plain.epochs == 1 and plain.examples == 6  # Fireworks' default, and 6 < OpenAI's minimum of 10 is fine
    assert plain.cost_usd == pytest.approx(plain.tokens_per_epoch * 0.50 / 1_000_000)
    with pytest.raises(UserInputError, match="3,000,000"):
        preflight(
            dataset,
            LaunchConfig(model=BASE, hyperparameters={"n_epochs": 600_000}),
            provider="fireworks",
            methods=methods,
            official=False,
        )


def test_a_failure_mid_evaluation_still_deletes_the_deployment(emu: Emulator, run_cli: Any, tmp_path: Path) -> None:
    from ftclient.evaluate.jobs import evaluate_job

    lines = (EXAMPLES / "support_tickets.csv").read_text(encoding="utf-8").splitlines()
    source = tmp_path / "tickets.csv"
    source.write_text("\n".join(lines[:61]) + "\n", encoding="utf-8")
    folder = tmp_path / "ds"
    ok(run_cli("prepare", str(source), "--provider", "fireworks", "--model", BASE, "--out", str(folder), "--json"))
    job_id = ok(run_cli("launch", str(folder), "--provider", "fireworks", "--json"))["jobs"][0]["id"]

    def crash_after_two(progress: Any) -> None:
        if progress.done >= 2:
            raise RuntimeError("the disk filled up")

    with pytest.raises(RuntimeError, match="disk filled up"):
        evaluate_job(job_id, on_progress=crash_after_two, concurrency=1)
    books = emu.stats()["deployments"]
    assert books["running"] == 0 and books["list"][0]["history"][-2:] == ["DELETING", "DELETED"]
