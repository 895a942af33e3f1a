"""One prepared dataset, in the canonical chat format, launched on AWS Bedrock and Google Vertex AI (each split
converted to the provider's own schema on the way) and on Together, all three tuned models evaluated against
their bases in one report, and nothing left serving or billing anywhere afterwards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES

pytest.importorskip("boto3")
pytest.importorskip("google.genai")

from test_bedrock_e2e import bedrock_env

from ftclient.emulator import EmulatorConfig, run_in_thread
from ftclient.launching.cross import pair

MODELS = {"bedrock": "amazon.nova-micro-v1:0", "vertex": "gemini-2.5-flash", "together": "Qwen/Qwen3-8B"}


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.stderr
    return result.json()


def test_each_model_goes_to_the_provider_that_tunes_it_whatever_the_order() -> None:
    assert pair(["together", "bedrock", "vertex"], [MODELS["bedrock"], MODELS["together"], MODELS["vertex"]]) == [
        ("together", [MODELS["together"]]),
        ("bedrock", [MODELS["bedrock"]]),
        ("vertex", [MODELS["vertex"]]),
    ]


def test_one_dataset_on_bedrock_vertex_and_together_in_one_report(
    run_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        run_in_thread(EmulatorConfig(provider="bedrock", speed=2000.0, seed=4)) as bedrock_emu,
        run_in_thread(EmulatorConfig(provider="vertex", speed=1000.0, seed=4)) as vertex_emu,
        run_in_thread(EmulatorConfig(provider="together", speed=100.0, seed=5)) as together_emu,
    ):
        bedrock_env(monkeypatch, bedrock_emu.url)
        for name, value in {
            "FTCLIENT_VERTEX_ENDPOINT": vertex_emu.url,
            "GOOGLE_CLOUD_PROJECT": "cross",
            "GOOGLE_CLOUD_LOCATION": "us-central1",
            "FTCLIENT_VERTEX_BUCKET": "cross-bucket",
            "TOGETHER_BASE_URL": together_emu.base_url,
            "TOGETHER_API_KEY": "tk-cross",
        }.items():
            monkeypatch.setenv(name, value)
        rows = (EXAMPLES / "support_tickets.csv").read_text(encoding="utf-8").splitlines()[:81]
        source = tmp_path / "tickets.csv"
        source.write_text("\n".join(rows) + "\n", encoding="utf-8")
        folder = tmp_path / "ds"
        ok(run_cli("prepare", str(source), "--out", str(folder), "--json"))  # once, canonical chat JSONL
        canonical = {p.name: p.read_bytes() for p in folder.glob("*.jsonl")}
        launched = ok(run_cli("launch", str(folder), "--provider", ",".join(MODELS), "--model",
                              ",".join(MODELS.values()), "--epochs", "2", "--json"))
        assert {p.name: p.read_bytes() for p in folder.glob("*.jsonl")} == canonical  # converted copies elsewhere
        jobs = {row["provider"]: row for row in launched["jobs"]}
        assert set(jobs) == set(MODELS) and all(r["status"] == "succeeded" for r in jobs.values())
        for emu in (bedrock_emu, vertex_emu, together_emu):
            assert emu.stats()["jobs_created"] == 1
        # each cloud trained on its own schema: Bedrock's conversation records, Gemini's contents
        vertex_objects = vertex_emu.core.app.storage.objects  # type: ignore[attr-defined]
        assert vertex_objects and all(b'"contents"' in blob.data for blob in vertex_objects.values())
        buckets = bedrock_emu.core.app.s3.buckets  # type: ignore[attr-defined]
        uploaded = [obj for objects in buckets.values() for key, obj in objects.items() if "/output/" not in key]
        assert uploaded and all(b'"bedrock-conversation-2024"' in obj.data for obj in uploaded)

        report = ok(run_cli("evaluate", launched["sweep_id"], "--out", str(tmp_path / "cmp"), "--json"))
        runs = {r["provider"]: r for r in report["runs"]}
        assert set(runs) == set(MODELS)
        for provider, run in runs.items():
            assert run["job_id"] == jobs[provider]["id"] and run["tuned_metric"] > run["base_metric"], run
        assert {m["role"] for m in report["models"]} == {f"{r} · {p}" for p in MODELS for r in ("tuned", "base")}
        assert all(m["examples"] == report["examples"] for m in report["models"])

        serving = bedrock_emu.stats()["serving"]
        assert serving["provisioned_running"] == 0 and serving["deployments_active"] == 0
        assert vertex_emu.stats()["endpoints"]["list"] == []  # the job's endpoint: undeployed and deleted
        together_emu.advance(60)
        assert [e["state"] for e in together_emu.stats()["endpoints"]["list"]] == ["STOPPED"]
        assert "## Jobs compared" in (tmp_path / "cmp" / "report.md").read_text(encoding="utf-8")

