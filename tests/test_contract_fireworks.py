"""Contract: the Fireworks adapter's requests, and the emulator's Fireworks answers, against Fireworks' spec.

Prism (``prism proxy --errors``) serves the Gateway REST API spec (4.259.0, a third-party mirror of the
docs.fireworks.ai spec: see ../shared/openapi/SOURCES.md) in front of the emulator's Fireworks dialect. Every
request the adapter sends is checked before it is forwarded and every answer on its way back; a violation
becomes an error status, and the adapter runs with no retries, so any violation fails the test. The flow is
the whole one: dataset, upload, cost estimate, SFT job, list, cancel of a DPO job, deployment, LoRA load,
chat, unload, delete. Two adaptations, in the copy of the spec only: it is cut down to the operations the
emulator serves, and chat's own server (``https://api.fireworks.ai/inference``) is folded into its path.
Signed-URL traffic (not in the spec) goes straight to the emulator. Skipped when Prism or the spec is absent.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import test_contract_emulator as prism_support
from conftest import SHARED

from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread
from ftclient.emulator.samples import classification_examples
from ftclient.errors import RemoteNotFoundError
from ftclient.providers.base import ChatRequest, JobSpec
from ftclient.providers.fireworks import FireworksProvider

SPEC = SHARED / "openapi" / "fireworks-openapi.yaml"
BASE = "accounts/fireworks/models/llama-v3p1-8b-instruct"
CHAT = "/v1/chat/completions"
pytestmark = [pytest.mark.contract, pytest.mark.skipif(not SPEC.exists(), reason="the Fireworks spec is not present")]


def fireworks_spec(emu: Emulator, out: Path) -> Path:
    """The spec's operations the emulator serves (and the components they reach), chat under /inference."""
    yaml = pytest.importorskip("yaml")
    with SPEC.open(encoding="utf-8") as handle:
        spec = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    served = {r.split(" ", 1)[1] for r in emu.core.router.routes()}
    paths: dict[str, Any] = {}
    for path, item in spec["paths"].items():
        if path == CHAT:
            paths["/inference" + CHAT] = {k: v for k, v in item.items() if k != "servers"}
        elif path in served:
            paths[path] = item
    assert "/inference" + CHAT in served and len(paths) > 20
    pending: set[str] = set()
    prism_support._refs(paths, pending)
    components: dict[str, dict[str, Any]] = {"securitySchemes": spec["components"]["securitySchemes"]}
    seen: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in seen or not ref.startswith("#/components/"):
            continue
        seen.add(ref)
        _, _, kind, name = ref.split("/", 3)
        node = spec["components"][kind][name]
        components.setdefault(kind, {})[name] = node
        prism_support._refs(node, pending)
    document = {k: v for k, v in spec.items() if k not in {"paths", "components", "x-tagGroups", "tags"}}
    document.update(paths=paths, components=components, security=[{"BearerAuth": []}])
    out.write_text(json.dumps(document, default=str), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def through_prism(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Emulator, str]]:
    prism = prism_support.find_prism()
    if prism is None:
        pytest.skip("Prism is not installed (npm install --prefix .ci/node @stoplight/prism-cli@5)")
    with run_in_thread(EmulatorConfig(provider="fireworks", speed=1.0, seed=14)) as emu:
        spec = fireworks_spec(emu, tmp_path_factory.mktemp("prism") / "fireworks.json")
        with prism_support.prism_proxy(prism, spec, emu.url) as url:
            yield emu, url


def test_the_adapter_speaks_the_spec(through_prism: tuple[Emulator, str], tmp_path: Path) -> None:
    emu, proxy_url = through_prism
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(e) + "\n" for e in classification_examples()), encoding="utf-8")
    adapter = FireworksProvider(api_key="fw-contract", account_id="contract", base_url=proxy_url, max_retries=0)
    dataset = adapter.upload_named(data, filename="train-c0ffee.jsonl")
    assert dataset.status == "processed" and adapter.get_file(dataset.id).id == dataset.id
    assert adapter.upload_named(data, filename="train-c0ffee.jsonl").id == dataset.id  # 409 through Prism
    adapter.simple_upload_limit = 100  # the signed-URL flow: :getUploadEndpoint, PUT, :validateUpload
    assert adapter.upload_named(data, filename="big-c0ffee.jsonl").status == "processed"
    assert adapter.download_file(dataset.id) == data.read_bytes()
    spec = JobSpec(
        model=BASE,
        training_file=dataset.id,
        validation_file=dataset.id,
        hyperparameters={
            "n_epochs": 2,
            "learning_rate": 2e-4,
            "lora_rank": 16,
            "batch_size": 8,
            "max_context_length": 4096,
        },
        suffix="contract",
        metadata={"ftclient_run": "run-00112233445566778899"},
    )
    assert adapter.estimate_price(spec)["estimated_total_price"] > 0
    job = adapter.create_job(spec)
    emu.advance(10_000)
    done = adapter.get_job(job.id)
    assert done.status == "succeeded" and done.fine_tuned_model
    assert any(e.type == "metrics" for e in adapter.list_events(job.id))
    dpo = adapter.create_job(JobSpec(model=BASE, training_file=dataset.id, method="dpo", hyperparameters={"beta": 0.1}))
    assert adapter.cancel_job(dpo.id).status == "cancelled"
    assert [e.type for e in adapter.list_events(dpo.id)] == ["message"]  # via :getMetricsFileEndpoint
    assert {j.id for j in adapter.list_jobs()} == {job.id, dpo.id}
    endpoint = adapter.create_endpoint(done.fine_tuned_model, inactive_timeout_min=10)
    emu.advance(80)
    ready = adapter.get_endpoint(endpoint.id)
    assert ready.state == "STARTED" and [e.id for e in adapter.list_endpoints()] == [endpoint.id]

    async def ask() -> str:
        try:
            messages = classification_examples()[0]["messages"][:-1]
            answer = await adapter.chat(ChatRequest(model=ready.name or "", messages=messages, max_tokens=16))
            return answer.text
        finally:
            await adapter.aclose()

    assert asyncio.run(ask()) == classification_examples()[0]["messages"][-1]["content"]
    assert adapter.stop_endpoint(endpoint.id).state == "STOPPING"
    with pytest.raises(RemoteNotFoundError):
        adapter.get_job("ftc-nothere")
    adapter.close()
    assert emu.stats()["deployments"]["running"] == 0
    assert "500" not in emu.stats()["requests"]["by_status"]


def test_prism_really_validates(through_prism: tuple[Emulator, str]) -> None:
    emu, proxy_url = through_prism
    before = emu.stats()["requests"]["total"]
    refused = httpx2.post(
        f"{proxy_url}/v1/accounts/contract/supervisedFineTuningJobs",
        json={"baseModel": BASE},  # "dataset" is required by the spec
        headers={"Authorization": "Bearer fw-contract"},
        timeout=10,
    )
    assert refused.status_code == 422
    assert emu.stats()["requests"]["total"] == before
