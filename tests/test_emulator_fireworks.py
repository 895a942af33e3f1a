"""The emulator's Fireworks dialect on its own: persistence, rate limits, spec enums, and its catalogue and the
client's tables each checked against the published figures they both quote."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pytest
from conftest import SHARED

from ftclient import pricing
from ftclient.dataset.rules_fireworks import FireworksRuleSet
from ftclient.emulator import EmulatorConfig, run_in_thread
from ftclient.emulator.fireworks import catalog, jobs
from ftclient.emulator.fireworks.deployments import Deployments
from ftclient.emulator.samples import classification_examples
from ftclient.providers.base import JobSpec
from ftclient.providers.fireworks import FireworksProvider, wire

BASE = "accounts/fireworks/models/qwen3-8b"
AUTH = {"Authorization": "Bearer k"}


def test_published_figures_match_on_both_sides() -> None:
    """fireworks.ai/pricing and docs.fireworks.ai (stored copies, 2026-12-03): $0.50/1M training tokens up to
    16B, $0.20/1M serverless up to 16B, $3.89/h per A100 80 GB, 3 to 3,000,000 examples."""
    for model in ("accounts/fireworks/models/llama-v3p1-8b-instruct", BASE):
        price = pricing.price_for("fireworks", model)
        assert price.training_per_1m == catalog.training_usd_per_1m(model) == 0.50
        assert price.input_per_1m == catalog.BASES[model][2] == 0.20
        assert model in catalog.TUNABLE
    assert pricing.fireworks_gpu_hour_usd("NVIDIA_A100_80GB") == catalog.GPU_HOUR_USD["NVIDIA_A100_80GB"] == 3.89
    assert FireworksRuleSet.min_examples == catalog.MIN_EXAMPLES == 3
    assert FireworksRuleSet.max_examples == catalog.MAX_EXAMPLES == 3_000_000


@pytest.mark.skipif(not (SHARED / "openapi" / "fireworks-openapi.yaml").exists(), reason="no Fireworks spec")
def test_states_are_the_specs() -> None:
    yaml = pytest.importorskip("yaml")
    with (SHARED / "openapi" / "fireworks-openapi.yaml").open(encoding="utf-8") as handle:
        schemas = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))["components"]["schemas"]
    job_states = set(schemas["gatewayJobState"]["enum"])
    assert set(wire.STATE_MAP) <= job_states and job_states >= jobs.TERMINAL
    assert set(wire.DEPLOYMENT_STATES) <= set(schemas["gatewayDeploymentState"]["enum"])
    assert set(wire.ADDON_STATES) <= set(schemas["gatewayDeployedModelState"]["enum"])
    assert set(catalog.GPU_HOUR_USD) <= set(schemas["gatewayAcceleratorType"]["enum"])
    assert Deployments  # the routes module imports cleanly


def test_state_survives_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(e) + "\n" for e in classification_examples()), encoding="utf-8")
    state = tmp_path / "state"
    with run_in_thread(EmulatorConfig(provider="fireworks", state_dir=state)) as emu:
        adapter = FireworksProvider(api_key="k", account_id="acme", base_url=emu.url)
        dataset = adapter.upload_file(data)
        job = adapter.create_job(JobSpec(model=BASE, training_file=dataset.id))
        emu.advance(10_000)
        assert adapter.get_job(job.id).status == "succeeded"
        adapter.close()
    with run_in_thread(EmulatorConfig(provider="fireworks", state_dir=state)) as emu:
        adapter = FireworksProvider(api_key="k", account_id="acme", base_url=emu.url)
        again = adapter.get_job(job.id)
        assert again.status == "succeeded" and again.fine_tuned_model in emu.stats()["tuned_models"]
        assert adapter.download_file(dataset.id) == data.read_bytes()
        adapter.close()


def test_chat_is_rate_limited_per_model() -> None:
    with run_in_thread(EmulatorConfig(provider="fireworks", rpm=60)) as emu:
        body = {"model": BASE, "messages": [{"role": "user", "content": "hello"}]}
        url = f"{emu.url}/inference/v1/chat/completions"
        first = httpx2.post(url, json=body, headers=AUTH, timeout=10)
        second = httpx2.post(url, json=body, headers=AUTH, timeout=10)
    assert first.status_code == 200 and first.headers["x-emulator-answer"] == "baseline"
    assert second.status_code == 429 and float(second.headers["retry-after"]) > 0


def test_training_v2_refuses_deprecated_fields(tmp_path: Path) -> None:
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(e) + "\n" for e in classification_examples()), encoding="utf-8")
    with run_in_thread(EmulatorConfig(provider="fireworks")) as emu:
        adapter = FireworksProvider(api_key="k", account_id="acme", base_url=emu.url)
        dataset = adapter.upload_file(data)
        answer = httpx2.post(
            f"{emu.url}/v1/accounts/acme/supervisedFineTuningJobs",
            json={"dataset": dataset.id, "baseModel": BASE, "batchSize": 4096},
            headers=AUTH,
            timeout=10,
        )
        adapter.close()
    assert answer.status_code == 400 and answer.json()["code"] == 3 and "batchSize" in answer.json()["message"]


def test_recorded_fireworks_traffic_keeps_no_key_or_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(e) + "\n" for e in classification_examples()), encoding="utf-8")
    cassette = tmp_path / "fireworks.json"
    with run_in_thread(EmulatorConfig(provider="fireworks", speed=1000)) as emu:
        monkeypatch.setenv("FTCLIENT_RECORD", str(cassette))
        monkeypatch.setenv("FIREWORKS_API_KEY", "fw_CANARYkey0123456789")
        monkeypatch.setenv("FIREWORKS_ACCOUNT_ID", "canary-account")
        monkeypatch.setenv("FIREWORKS_BASE_URL", emu.url)
        adapter = FireworksProvider.from_settings()
        try:
            adapter.get_file(adapter.upload_file(data).id)
        finally:
            adapter.close()
    text = cassette.read_text(encoding="utf-8")
    assert "CANARY" not in text and "canary" not in text
    assert '"estimatedTokenCount": "REDACTED"' not in text and "estimatedTokenCount" in text
