"""Contract: the Together adapter's requests, and the emulator's Together answers, against Together's spec.

Prism (``prism proxy --errors``) serves the official Together OpenAPI spec in front of the emulator's Together
dialect: every request the adapter sends is validated before it is forwarded, every answer on its way back;
a violation becomes an error status, and the adapter runs with no retries, so any violation fails the test.
The spec is cut down to the operations the emulator serves (the Prism helpers come from the OpenAI contract
test). The redirect upload (``POST /files`` -> 302 -> PUT -> ``/files/{id}/preprocess``), which Together's
SDKs use but the spec does not describe, goes straight to the emulator; the spec's ``/files/upload`` goes
through Prism. Skipped when node/Prism or the spec is absent.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import httpx2
import pytest
import test_contract_emulator as prism_support
from conftest import SHARED

from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread
from ftclient.emulator.samples import classification_examples
from ftclient.errors import RemoteNotFoundError
from ftclient.providers.base import ChatRequest, JobSpec
from ftclient.providers.together import TogetherProvider

SPEC = SHARED / "openapi" / "together-openapi.yaml"
BASE = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
pytestmark = [pytest.mark.contract, pytest.mark.skipif(not SPEC.exists(), reason="the Together spec is not present")]


def spec_routes(emu: Emulator) -> list[str]:
    """The emulator's routes that the spec describes (the SDK-only upload routes are not in it)."""
    yaml = pytest.importorskip("yaml")
    with SPEC.open(encoding="utf-8") as handle:
        paths = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))["paths"]
    return [r for r in emu.core.router.routes() if r.split(" ", 1)[1].removeprefix("/v1") in paths]


def relax_known_spec_defects(path: Path) -> None:
    """The places where the spec contradicts itself or the live API, relaxed here and nowhere else:

    - ``FinetuneResponse.id`` is declared ``format: uuid``, while the same spec's job examples, the API and
      both SDKs (``^ft-[\\dabcdef-]+``) use ``ft-<uuid>``;
    - ``TrainingMethodSFT.train_on_inputs`` says ``type: boolean`` beside its own ``oneOf: [boolean, "auto"]``
      and ``default: "auto"``; together 1.6.0 sends ``"auto"`` (and the live API echoes it, job-3);
    - ``LRScheduler.lr_scheduler_args`` is a ``oneOf`` of the linear and cosine arguments, but cosine's
      arguments are also valid linear ones (no ``additionalProperties: false``), so the SDK's default cosine
      schedule matches both: ``anyOf`` is what the spec means;
    - ``FinetuneEventType`` lists lowercase types; the live API sends them UPPER-CASE (real-payloads/together
      job-1, job-2: ``JOB_PENDING``) and both SDKs parse them so."""
    document = json.loads(path.read_text(encoding="utf-8"))
    schemas = document["components"]["schemas"]
    schemas["FinetuneResponse"]["properties"]["id"].pop("format", None)
    schemas["TrainingMethodSFT"]["properties"]["train_on_inputs"].pop("type", None)
    args = schemas["LRScheduler"]["properties"]["lr_scheduler_args"]
    args["anyOf"] = args.pop("oneOf")
    if "FinetuneEventType" in schemas:
        kinds = schemas["FinetuneEventType"]
        upper = {k.upper() for k in kinds.get("enum", [])} | {"COMPRESSING_MODEL"}  # together 1.6.0's spelling
        kinds["enum"] = sorted({*kinds.get("enum", []), *upper})
    path.write_text(json.dumps(document), encoding="utf-8")


@pytest.fixture(scope="module")
def through_prism(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Emulator, str]]:
    prism = prism_support.find_prism()
    if prism is None:
        pytest.skip("Prism is not installed (npm install --prefix .ci/node @stoplight/prism-cli@5)")
    with run_in_thread(EmulatorConfig(provider="together", speed=1.0, seed=12)) as emu:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(prism_support, "SPEC", SPEC)
            # Together's spec has unquoted example timestamps, which YAML reads as datetimes.
            patch.setattr(prism_support, "json", SimpleNamespace(dumps=partial(json.dumps, default=str)))
            spec = prism_support.trimmed_spec(spec_routes(emu), tmp_path_factory.mktemp("prism") / "together.json")
        relax_known_spec_defects(spec)
        with prism_support.prism_proxy(prism, spec, emu.base_url) as url:
            yield emu, url


def test_the_adapter_speaks_the_spec(through_prism: tuple[Emulator, str], tmp_path: Path) -> None:
    emu, proxy_url = through_prism
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(e) + "\n" for e in classification_examples()), encoding="utf-8")
    direct = TogetherProvider(api_key="tk-contract", base_url=emu.base_url, max_retries=0)
    file_id = direct.upload_file(data).id
    adapter = TogetherProvider(api_key="tk-contract", base_url=proxy_url, max_retries=0)
    assert adapter.get_file(file_id).status == "processed"
    assert adapter.model_limits(BASE)["model_name"] == BASE
    spec = JobSpec(
        model=BASE,
        training_file=file_id,
        hyperparameters={"n_epochs": 2, "learning_rate": 2e-5, "warmup_ratio": 0.05, "lora_r": 8},
        suffix="contract",
        seed=5,
        metadata={"ftclient_run": "run-00112233445566778899"},
    )
    assert adapter.estimate_price(spec)["allowed_to_proceed"] is True
    job = adapter.create_job(spec)
    emu.advance(10_000)
    done = adapter.get_job(job.id)
    assert done.status == "succeeded" and done.fine_tuned_model
    assert [j.id for j in adapter.list_jobs()] == [job.id]
    assert any(e.type == "metrics" for e in adapter.list_events(job.id))
    assert adapter.list_checkpoints(job.id)[-1].model == done.fine_tuned_model
    endpoint = adapter.create_endpoint(done.fine_tuned_model, inactive_timeout_min=10)
    emu.advance(70)
    assert adapter.get_endpoint(endpoint.id).state == "STARTED"
    assert [e.id for e in adapter.list_endpoints()] == [endpoint.id]

    async def ask() -> str:
        try:
            messages = classification_examples()[0]["messages"][:-1]
            answer = await adapter.chat(ChatRequest(model=endpoint.name or "", messages=messages, max_tokens=16))
            return answer.text
        finally:
            await adapter.aclose()

    assert asyncio.run(ask()) == classification_examples()[0]["messages"][-1]["content"]
    assert adapter.stop_endpoint(endpoint.id).state == "STOPPING"
    adapter.delete_endpoint(endpoint.id)
    cancelled = adapter.create_job(JobSpec(model=BASE, training_file=file_id))
    assert adapter.cancel_job(cancelled.id).raw_status == "cancel_requested"
    with pytest.raises(RemoteNotFoundError):
        adapter.get_job("ft-00000000-0000-0000-0000-000000000000")
    adapter.close()
    direct.close()
    assert "500" not in emu.stats()["requests"]["by_status"]


def test_the_spec_upload_and_prism_really_validates(through_prism: tuple[Emulator, str]) -> None:
    emu, proxy_url = through_prism
    auth = {"Authorization": "Bearer tk-contract"}
    uploaded = httpx2.post(
        f"{proxy_url}/files/upload",
        data={"purpose": "fine-tune", "file_name": "t.jsonl", "file_type": "jsonl"},
        files={"file": ("t.jsonl", b'{"text": "hello"}\n')},
        headers=auth,
        timeout=10,
    )
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["Processed"] is True
    before = emu.stats()["requests"]["total"]
    refused = httpx2.post(f"{proxy_url}/fine-tunes", json={"model": BASE}, headers=auth, timeout=10)
    assert refused.status_code == 422  # training_file is required by the spec: stopped before the emulator
    assert emu.stats()["requests"]["total"] == before
