"""One prepared dataset launched on Vertex AI (converted to Gemini's schema on the way) and on Together,
evaluated and compared in one report, with no endpoint left serving on either."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES

pytest.importorskip("google.genai")

from ftclient.emulator import EmulatorConfig, run_in_thread

VERTEX_MODEL = "gemini-2.5-flash"
TOGETHER_MODEL = "Qwen/Qwen3-8B"


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.stderr
    return result.json()


def test_one_dataset_on_vertex_and_together_compared_with_nothing_left_running(
    run_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        run_in_thread(EmulatorConfig(provider="vertex", speed=1000.0, seed=4)) as vertex_emu,
        run_in_thread(EmulatorConfig(provider="together", speed=100.0, seed=2)) as together_emu,
    ):
        for name, value in {
            "FTCLIENT_VERTEX_ENDPOINT": vertex_emu.url,
            "GOOGLE_CLOUD_PROJECT": "cross",
            "GOOGLE_CLOUD_LOCATION": "us-central1",
            "FTCLIENT_VERTEX_BUCKET": "cross-bucket",
            "TOGETHER_BASE_URL": together_emu.base_url,
            "TOGETHER_API_KEY": "tk-cross",
            "FTCLIENT_POLL_INTERVAL_S": "0.02",
        }.items():
            monkeypatch.setenv(name, value)
        rows = (EXAMPLES / "support_tickets.csv").read_text(encoding="utf-8").splitlines()[:101]
        source = tmp_path / "tickets.csv"
        source.write_text("\n".join(rows) + "\n", encoding="utf-8")
        folder = tmp_path / "ds"
        ok(run_cli("prepare", str(source), "--provider", "together", "--model", TOGETHER_MODEL, "--out", str(folder),
                   "--json"))
        launched = ok(run_cli("launch", str(folder), "--provider", "vertex,together", "--model",
                              f"{VERTEX_MODEL},{TOGETHER_MODEL}", "--epochs", "2", "--json"))
        jobs = {row["provider"]: row for row in launched["jobs"]}
        assert set(jobs) == {"vertex", "together"} and all(r["status"] == "succeeded" for r in jobs.values())
        assert vertex_emu.stats()["jobs_created"] == 1 and together_emu.stats()["jobs_created"] == 1
        # Vertex trained on the converted file, which sits in the bucket beside nothing else
        objects = vertex_emu.core.app.storage.objects  # type: ignore[attr-defined]
        assert sorted(name.split("-")[0] for _, name in objects) == ["ftclient/train", "ftclient/validation"]
        assert all(b".gemini" in name.encode() and b'"contents"' in blob.data for (_, name), blob in objects.items())

        report = ok(run_cli("evaluate", launched["sweep_id"], "--out", str(tmp_path / "cmp"), "--json"))
        runs = {r["provider"]: r for r in report["runs"]}
        assert set(runs) == {"vertex", "together"}
        for provider, run in runs.items():
            assert run["job_id"] == jobs[provider]["id"]
            assert run["tuned_metric"] > run["base_metric"], run
        assert {m["role"] for m in report["models"]} >= {"tuned · vertex", "base · vertex"}
        assert {d["final_state"] for d in report["deployments"]} <= {"STOPPED", "STOPPING", "DELETED"}
        assert vertex_emu.stats()["endpoints"]["list"] == []  # the job's endpoint: undeployed and deleted
        together_emu.advance(60)
        assert [e["state"] for e in together_emu.stats()["endpoints"]["list"]] == ["STOPPED"]
        assert "## Jobs compared" in (tmp_path / "cmp" / "report.md").read_text(encoding="utf-8")
