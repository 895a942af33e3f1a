"""One prepared dataset launched on Bedrock and Together at once (``--provider bedrock,together``), both tuned
models evaluated against their bases in one report, and nothing left serving afterwards on either side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES

pytest.importorskip("boto3")

from test_bedrock_e2e import bedrock_env

from ftclient.emulator import EmulatorConfig, run_in_thread
from ftclient.launching.cross import pair

BEDROCK_MODEL = "amazon.nova-micro-v1:0"
TOGETHER_MODEL = "Qwen/Qwen3-8B"


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.stderr
    return result.json()


def test_models_pair_with_bedrock_and_together() -> None:
    assert pair(["together", "bedrock"], [BEDROCK_MODEL, TOGETHER_MODEL]) == [
        ("together", [TOGETHER_MODEL]),
        ("bedrock", [BEDROCK_MODEL]),
    ]


def test_one_dataset_on_bedrock_and_together_in_one_report(
    run_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        run_in_thread(EmulatorConfig(provider="bedrock", speed=2000.0, seed=4)) as bedrock_emu,
        run_in_thread(EmulatorConfig(provider="together", speed=100.0, seed=5)) as together_emu,
    ):
        bedrock_env(monkeypatch, bedrock_emu.url)
        monkeypatch.setenv("TOGETHER_BASE_URL", together_emu.base_url)
        monkeypatch.setenv("TOGETHER_API_KEY", "tk-cross")
        rows = (EXAMPLES / "support_tickets.csv").read_text(encoding="utf-8").splitlines()[:81]
        source = tmp_path / "tickets.csv"
        source.write_text("\n".join(rows) + "\n", encoding="utf-8")
        folder = tmp_path / "ds"
        ok(run_cli("prepare", str(source), "--out", str(folder), "--json"))  # once, in the canonical chat format
        launched = ok(run_cli("launch", str(folder), "--provider", "bedrock,together", "--model",
                              f"{BEDROCK_MODEL},{TOGETHER_MODEL}", "--epochs", "2", "--json"))
        jobs = {row["provider"]: row for row in launched["jobs"]}
        assert set(jobs) == {"bedrock", "together"} and all(r["status"] == "succeeded" for r in jobs.values())
        assert bedrock_emu.stats()["jobs_created"] == 1 and together_emu.stats()["jobs_created"] == 1
        report = ok(run_cli("evaluate", launched["sweep_id"], "--out", str(tmp_path / "cmp"), "--json"))
        runs = {r["provider"]: r for r in report["runs"]}
        assert set(runs) == {"bedrock", "together"}
        for provider, run in runs.items():
            assert run["job_id"] == jobs[provider]["id"] and run["tuned_metric"] > run["base_metric"]
        assert {m["role"] for m in report["models"]} == {
            "tuned · bedrock", "base · bedrock", "tuned · together", "base · together"}
        assert all(m["examples"] == report["examples"] for m in report["models"])
        together_emu.advance(60)
        assert [e["state"] for e in together_emu.stats()["endpoints"]["list"]] == ["STOPPED"]
        serving = bedrock_emu.stats()["serving"]
        assert serving["provisioned_running"] == 0 and serving["deployments_active"] == 0
        assert "## Jobs compared" in (tmp_path / "cmp" / "report.md").read_text(encoding="utf-8")
