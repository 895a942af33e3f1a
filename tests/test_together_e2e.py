"""prepare -> launch on Together -> deploy -> evaluate -> teardown against the emulator, the endpoint stopped at
the end (the emulator's own state says so), also when the evaluation is interrupted or fails mid-run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES
from test_eval_support import interrupt_evaluation

from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread

BASE = "Qwen/Qwen3-8B"
"""A base whose tuned models Together serves only from a dedicated endpoint (not a serverless-LoRA base)."""
KEY = "tk-e2e-canary-91c2f7"


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    # speed 100: a 30-minute inactivity timeout is 18 real seconds, longer than any evaluation here
    with run_in_thread(EmulatorConfig(provider="together", speed=100.0, seed=4)) as running:
        monkeypatch.setenv("TOGETHER_BASE_URL", running.base_url)
        monkeypatch.setenv("TOGETHER_API_KEY", KEY)
        monkeypatch.setenv("FTCLIENT_POLL_INTERVAL_S", "0.02")
        monkeypatch.setenv("FTCLIENT_RETRY_BACKOFF_S", "0.01")
        yield running


def small_csv(tmp_path: Path, rows: int = 100) -> Path:
    lines = (EXAMPLES / "support_tickets.csv").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "tickets.csv"
    path.write_text("\n".join(lines[: rows + 1]) + "\n", encoding="utf-8")
    return path


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.stderr
    return result.json()


def prepared_and_launched(run_cli: Any, tmp_path: Path) -> tuple[Path, str]:
    folder = tmp_path / "ds"
    manifest = ok(
        run_cli(
            "prepare",
            str(small_csv(tmp_path)),
            "--provider",
            "together",
            "--model",
            BASE,
            "--out",
            str(folder),
            "--json",
        )
    )
    assert manifest["manifest"]["target"] == {"provider": "together", "model": BASE}
    launched = ok(run_cli("launch", str(folder), "--provider", "together", "--suffix", "tickets", "--json"))
    job = launched["jobs"][0]
    assert job["status"] == "succeeded" and job["fine_tuned_model"].startswith("ftclient-emulator/")
    return folder, str(job["id"])


def endpoint_states(emu: Emulator) -> list[str]:
    return [e["state"] for e in emu.stats()["endpoints"]["list"]]


def test_prepare_launch_deploy_evaluate_teardown(emu: Emulator, run_cli: Any, tmp_path: Path) -> None:
    folder, job_id = prepared_and_launched(run_cli, tmp_path)
    result = run_cli("evaluate", job_id, "--out", str(tmp_path / "report"), "--json")
    report = ok(result)
    tuned, base = report["models"]
    assert tuned["role"] == "tuned" and base["model"] == BASE
    assert tuned["metrics"]["accuracy"] > base["metrics"]["accuracy"]
    assert tuned["failed"] == base["failed"] == 0
    assert report["examples"] == len((folder / "test.jsonl").read_text(encoding="utf-8").splitlines())
    (deployment,) = report["deployments"]
    assert deployment["job_id"] == job_id and deployment["inactive_timeout_min"] == 30
    assert deployment["final_state"] in {"STOPPING", "STOPPED"} and deployment["cost_per_hour_usd"] == 2.4
    assert "STARTED" in result.stderr and "still running" not in result.stderr
    emu.advance(60)
    assert endpoint_states(emu) == ["STOPPED"]
    history = emu.stats()["endpoints"]["list"][0]["history"]
    assert history == ["PENDING", "STARTING", "STARTED", "STOPPING", "STOPPED"]  # stopped by ftclient, not idling
    markdown = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    assert "## Dedicated endpoints" in markdown and deployment["name"] in markdown
    for written in (tmp_path / "report").iterdir():
        assert KEY not in written.read_text(encoding="utf-8")
    kept = ok(run_cli("evaluate", job_id, "--keep-endpoint", "--json"))
    assert kept["deployments"][0]["final_state"].startswith("kept running")
    assert emu.stats()["endpoints"]["running"] == 1
    listed = ok(run_cli("endpoints", "list", "--json"))["endpoints"]
    assert [e["kept"] for e in listed] == [True]


def test_a_failure_mid_evaluation_still_stops_the_endpoint(emu: Emulator, run_cli: Any, tmp_path: Path) -> None:
    from ftclient.evaluate.jobs import evaluate_job

    _, job_id = prepared_and_launched(run_cli, tmp_path)
    answered: list[int] = []

    def crash_after_three(progress: Any) -> None:
        answered.append(progress.done)
        if progress.done >= 3:
            raise RuntimeError("the disk filled up")

    with pytest.raises(RuntimeError, match="disk filled up"):
        evaluate_job(job_id, on_progress=crash_after_three, concurrency=1)
    assert 3 in answered
    emu.advance(60)
    assert endpoint_states(emu) == ["STOPPED"]
    assert emu.stats()["endpoints"]["list"][0]["history"][-2:] == ["STOPPING", "STOPPED"]


def test_ctrl_c_during_evaluation_stops_the_endpoint(emu: Emulator, run_cli: Any, tmp_path: Path) -> None:
    _, job_id = prepared_and_launched(run_cli, tmp_path)
    emu.inject("POST /v1/chat/completions", "latency", ms=150)
    code, stdout, stderr = interrupt_evaluation(
        emu, job_id, "--concurrency", "1", "--json", running=lambda: emu.stats()["endpoints"]["running"] == 1
    )
    assert code == 130, stderr
    assert stdout == "" and "cached" in stderr
    emu.advance(60)
    assert endpoint_states(emu) == ["STOPPED"]
    assert emu.stats()["completions"] < 2 * 12  # it really stopped part-way


def test_a_serverless_lora_model_is_evaluated_without_an_endpoint(emu: Emulator, run_cli: Any, tmp_path: Path) -> None:
    """A LoRA adapter on Meta-Llama-3.1-8B-Instruct-Reference (the lora-inference docs' own example base)
    answers serverless by its name: evaluating it starts no dedicated endpoint and bills no minutes."""
    reference = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
    folder = tmp_path / "ds"
    prepare = ["prepare", str(small_csv(tmp_path)), "--provider", "together", "--model", reference]
    ok(run_cli(*prepare, "--out", str(folder), "--json"))
    job = ok(run_cli("launch", str(folder), "--provider", "together", "--json"))["jobs"][0]
    report = ok(run_cli("evaluate", job["id"], "--json"))
    tuned, _base = report["models"]
    assert tuned["model"] == job["fine_tuned_model"] and tuned["failed"] == 0
    assert not report.get("deployments")
    assert emu.stats()["endpoints"]["list"] == []
