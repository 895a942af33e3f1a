"""Contract: the Azure adapter's data-plane requests, and the emulator's Azure answers, against Azure's spec.

Prism (``prism proxy --errors``) serves the stable Azure OpenAI authoring spec (2024-10-21, see
../shared/openapi/SOURCES.md) in front of the emulator's Azure dialect; every request the adapter sends and
every answer is checked, a violation becomes an error status and the adapter runs without retries, so any
violation fails the test. The flow: upload, file read, job create, list, events, checkpoints, models, cancel. Two
adaptations, in the copy of the spec only: the ``/openai`` of its parameterised host (``{endpoint}/openai``)
moves into the paths, and the ``x-ms-examples`` (files not stored) are left out. Chat completions and the
management plane are not in this spec. Skipped when Prism or the spec is absent.
"""

from __future__ import annotations

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
from ftclient.providers.azure import AzureProvider
from ftclient.providers.base import JobSpec

SPEC = SHARED / "openapi" / "azure-openai-dataplane.json"
BASE = "gpt-4.1-mini-2025-04-14"
pytestmark = [pytest.mark.contract, pytest.mark.skipif(not SPEC.exists(), reason="the Azure spec is not present")]


def azure_spec(emu: Emulator, out: Path) -> Path:
    """The spec's operations the emulator serves, under the base path /openai."""
    spec: dict[str, Any] = json.loads(SPEC.read_text(encoding="utf-8"))
    served = {r.split(" ", 1)[1].removeprefix("/openai") for r in emu.core.router.routes()}
    paths = {
        "/openai" + path: {verb: _without_examples(op) for verb, op in item.items()}
        for path, item in spec["paths"].items()
        if path.replace("{file-id}", "{file_id}").replace("{fine-tuning-job-id}", "{job_id}") in served
    }
    assert {"/openai/files", "/openai/fine_tuning/jobs", "/openai/fine_tuning/jobs/{fine-tuning-job-id}"} <= set(paths)
    document = {k: v for k, v in spec.items() if k not in {"paths", "x-ms-parameterized-host"}}
    document.update(paths=paths, schemes=["http"], host="127.0.0.1")
    out.write_text(json.dumps(document), encoding="utf-8")
    return out


def _without_examples(operation: Any) -> Any:
    """The operation without ``x-ms-examples``: they point at example files the stored spec does not carry."""
    return {k: v for k, v in operation.items() if k != "x-ms-examples"} if isinstance(operation, dict) else operation


@pytest.fixture(scope="module")
def through_prism(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Emulator, str]]:
    prism = prism_support.find_prism()
    if prism is None:
        pytest.skip("Prism is not installed (npm install --prefix .ci/node @stoplight/prism-cli@5)")
    with run_in_thread(EmulatorConfig(provider="azure", speed=1.0, seed=15)) as emu:
        spec = azure_spec(emu, tmp_path_factory.mktemp("prism") / "azure.json")
        with prism_support.prism_proxy(prism, spec, emu.url) as url:
            yield emu, url


def test_the_adapter_speaks_the_spec(through_prism: tuple[Emulator, str], tmp_path: Path) -> None:
    emu, proxy_url = through_prism
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(e) + "\n" for e in classification_examples()), encoding="utf-8")
    adapter = AzureProvider(api_key="az-contract", azure_endpoint=proxy_url, api_version="2024-10-21", max_retries=0)
    uploaded = adapter.upload_file(data)
    assert uploaded.status == "processed" and adapter.get_file(uploaded.id).id == uploaded.id
    assert adapter.download_file(uploaded.id) == data.read_bytes()
    job = adapter.create_job(
        JobSpec(model=BASE, training_file=uploaded.id, hyperparameters={"n_epochs": 2}, suffix="contract", seed=7)
    )
    assert job.status == "queued" and job.raw_status == "pending"
    emu.advance(10_000)
    done = adapter.get_job(job.id)
    assert done.status == "succeeded" and done.fine_tuned_model
    assert [c.step for c in adapter.list_checkpoints(job.id)] == [1, 2]
    assert adapter.list_events(job.id)[-1].message == "Training succeeded."
    listed = {m.id: m for m in adapter.list_models()}  # Models_List: the Model schema, deprecation dates
    assert listed[done.fine_tuned_model].base_model == BASE and listed[BASE].fine_tune_shutdown_date
    other = adapter.create_job(JobSpec(model=BASE, training_file=uploaded.id))
    assert adapter.cancel_job(other.id).status == "cancelled"
    assert {j.id for j in adapter.list_jobs()} == {job.id, other.id}
    with pytest.raises(RemoteNotFoundError):
        adapter.get_job("ftjob-nothere")
    adapter.close()
    assert "500" not in emu.stats()["requests"]["by_status"]


def test_prism_really_validates(through_prism: tuple[Emulator, str]) -> None:
    emu, proxy_url = through_prism
    before = emu.stats()["requests"]["total"]
    refused = httpx2.post(
        f"{proxy_url}/openai/fine_tuning/jobs",
        params={"api-version": "2024-10-21"},
        json={"model": BASE},  # "training_file" is required by the spec
        headers={"api-key": "az-contract"},
        timeout=10,
    )
    assert refused.status_code == 422
    assert emu.stats()["requests"]["total"] == before
