"""``ftclient runs``: the history with its links, and estimated beside actual cost."""

from __future__ import annotations

from pathlib import Path

import pytest
from launch_support import emulator_env, write_dataset

from ftclient.registry import Registry


def test_empty_history_says_how_to_start(run_cli) -> None:
    result = run_cli("runs")
    assert result.exit_code == 0 and "ftclient prepare" in result.stderr
    assert run_cli("runs", "--json").json()["datasets"] == []


def test_history_links_dataset_uploads_jobs_models_and_evaluations(
    run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with emulator_env(monkeypatch):
        ds = write_dataset(tmp_path / "ds", validation=10)
        launched = run_cli("launch", str(ds), "--epochs", "2,3", "--json")
        assert launched.exit_code == 0, launched.stderr
    jobs = launched.json()["jobs"]
    registry = Registry()
    registry.record_evaluation("eval-1", jobs[0]["id"], None, [jobs[0]["fine_tuned_model"], "gpt-4o-mini"],
                               tmp_path / "report.json", {"accuracy": 0.9})
    registry.record_evaluation("eval-2", None, "e" * 64, ["gpt-4o-mini"], None, {})
    doc = run_cli("runs", "--json").json()
    [dataset] = doc["datasets"]
    assert dataset["path"] == str(ds.resolve())
    assert sorted(u["split"] for u in dataset["uploads"]) == ["train", "validation"]
    assert {j["job_id"] for j in dataset["jobs"]} == {j["id"] for j in jobs}
    for job in dataset["jobs"]:
        assert job["status"] == "succeeded" and job["sweep_id"] == launched.json()["sweep_id"]
        assert job["estimated_cost_usd"] > 0 and job["actual_cost_usd"] > 0 and job["trained_tokens"] > 0
        assert job["estimated_tokens"] == job["trained_tokens"]  # the emulator bills what preflight counted
    first = next(j for j in dataset["jobs"] if j["job_id"] == jobs[0]["id"])
    assert first["evaluations"] == ["eval-1"]
    assert [e["eval_id"] for e in doc["other_evaluations"]] == ["eval-2"]
    assert {m["model"] for m in doc["models"]} == {j["fine_tuned_model"] for j in jobs}
    assert doc["sweeps"][0]["jobs"] == 2
    human = run_cli("runs").stderr
    assert "cost: estimated $" in human and "actual $" in human and "evaluation eval-1" in human
    assert jobs[0]["fine_tuned_model"] in human and "upload file-" in human
