"""Contract: the Azure adapter's deployment calls (Azure Resource Manager), and the emulator's answers, against
the stored management spec (``Microsoft.CognitiveServices`` stable 2025-09-01, see ../shared/openapi/SOURCES.md).

Prism (``prism proxy --errors``) checks every request and answer of the deployment lifecycle the adapter drives:
create (PUT), get, list and delete, and ARM's error envelope for a deployment that is gone. The copy of the spec
keeps only the deployment paths, without their ``x-ms-examples`` (files not stored), with ``http`` on loopback,
and with its ``../../../../../common-types/`` references pointed at a copy of the stored common types beside it
(the mapping SOURCES.md gives; the one file they name that is not stored gets an empty stand-in). Skipped
when Prism, the spec or the common types are absent.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import test_contract_emulator as prism_support
from conftest import SHARED
from test_contract_azure import _without_examples

from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread
from ftclient.emulator.samples import classification_examples
from ftclient.errors import RemoteNotFoundError
from ftclient.providers.azure import AzureProvider
from ftclient.providers.azure.management import MANAGEMENT_API_VERSION, AzureManagement
from ftclient.providers.base import JobSpec

SPECS = SHARED / "openapi"
SPEC = SPECS / "azure-cognitiveservices-mgmt.json"
COMMON = SPECS / "common-types"
BASE = "gpt-4.1-mini-2025-04-14"
SUBSCRIPTION = "00000000-0000-0000-0000-0000000000c5"
ACCOUNTS = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-contract/providers/Microsoft.CognitiveServices/accounts"
pytestmark = [
    pytest.mark.contract,
    pytest.mark.skipif(not (SPEC.exists() and COMMON.is_dir()), reason="the Azure management spec is not present"),
]


def management_spec(out: Path) -> Path:
    """The deployment operations of the spec, with the common-types references resolvable from ``out``."""
    text = SPEC.read_text(encoding="utf-8").replace("../../../../../common-types/", "common-types/")
    spec: dict[str, Any] = json.loads(text)
    paths = {
        path: {verb: _without_examples(op) for verb, op in item.items()}
        for path, item in spec["paths"].items()
        if path.endswith(("/deployments", "/deployments/{deploymentName}"))
    }
    assert len(paths) == 2 and {"get", "put", "delete"} <= set(paths[max(paths)])
    spec.update(paths=paths, schemes=["http"], host="127.0.0.1")
    shutil.copytree(COMMON, out / "common-types")
    # v6/types.json names managedidentity.json (not stored) in a definition this spec never reaches; the
    # resolver opens every file it names, so an empty stand-in takes its place.
    stand_in = out / "common-types" / "resource-management" / "v6" / "managedidentity.json"
    if not stand_in.exists():
        stand_in.write_text(json.dumps({"definitions": {"ManagedServiceIdentity": {"type": "object"}}}), "utf-8")
    target = out / "cognitiveservices.json"
    target.write_text(json.dumps(spec), encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def through_prism(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Emulator, str]]:
    prism = prism_support.find_prism()
    if prism is None:
        pytest.skip("Prism is not installed (npm install --prefix .ci/node @stoplight/prism-cli@5)")
    with run_in_thread(EmulatorConfig(provider="azure", speed=1.0, seed=16)) as emu:
        spec = management_spec(tmp_path_factory.mktemp("prism-arm"))
        with prism_support.prism_proxy(prism, spec, emu.url) as url:
            yield emu, url


def test_the_deployment_calls_speak_the_management_spec(through_prism: tuple[Emulator, str], tmp_path: Path) -> None:
    emu, proxy_url = through_prism
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(e) + "\n" for e in classification_examples()), encoding="utf-8")
    adapter = AzureProvider(
        api_key="az-contract",
        azure_endpoint=emu.url,  # the data plane directly: only the management calls go through Prism
        api_version="2024-10-21",
        max_retries=0,
        management=AzureManagement(
            token="arm-contract",
            management_url=proxy_url,
            subscription=SUBSCRIPTION,
            resource_group="rg-contract",
            account="acct-contract",
            max_retries=0,
            timeout_s=10,
            retry_backoff_s=0.0,
        ),
    )
    job = adapter.create_job(JobSpec(model=BASE, training_file=adapter.upload_file(data).id))
    emu.advance(10_000)
    model = adapter.get_job(job.id).fine_tuned_model
    assert model
    created = adapter.create_endpoint(model, hardware="Standard")
    assert created.state == "STARTING" and created.hardware == "Standard"
    emu.advance(120)
    assert adapter.get_endpoint(created.id).state == "STARTED"
    assert [e.id for e in adapter.list_endpoints()] == [created.id]
    adapter.delete_endpoint(created.id)
    adapter.delete_endpoint(created.id)  # gone already: ARM's 204, which the spec allows
    with pytest.raises(RemoteNotFoundError):
        adapter.get_endpoint(created.id)  # ARM's ErrorResponse envelope, checked by Prism
    assert adapter.list_endpoints() == []
    adapter.close()
    by_status = emu.stats()["requests"]["by_status"]
    assert "500" not in by_status and "422" not in by_status


def test_prism_checks_the_deployment_body(through_prism: tuple[Emulator, str]) -> None:
    emu, proxy_url = through_prism
    before = emu.stats()["requests"]["total"]
    refused = httpx2.put(
        f"{proxy_url}{ACCOUNTS}/acct-contract/deployments/dep-1",
        params={"api-version": MANAGEMENT_API_VERSION},
        json={"sku": {"capacity": 1}},  # Sku.name is required by the spec
        headers={"Authorization": "Bearer arm-contract"},
        timeout=10,
    )
    assert refused.status_code == 422
    bad_account = httpx2.get(
        f"{proxy_url}{ACCOUNTS}/-bad/deployments",
        params={"api-version": MANAGEMENT_API_VERSION},
        headers={"Authorization": "Bearer arm-contract"},
        timeout=10,
    )
    assert bad_account.status_code == 422  # accountName must start with a letter or digit
    assert emu.stats()["requests"]["total"] == before
