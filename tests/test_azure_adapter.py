"""The Azure adapter against the emulator's Azure dialect: both planes, Azure's api-version and api-key rules,
job states, failures, deployments through ARM and the hosting fee the emulator billed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from ftclient.deploy import deployed, endpoint_billing
from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread
from ftclient.emulator.samples import classification_examples
from ftclient.errors import InvalidRequestError, RateLimitError, RemoteNotFoundError
from ftclient.providers.azure import AzureProvider
from ftclient.providers.azure.management import AzureManagement
from ftclient.providers.base import ChatRequest, ChatResult, JobSpec
from ftclient.registry import Registry

BASE = "gpt-4.1-mini-2025-04-14"
KEY = "az-canary-7d8e9f0a1b"
ARM = "/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.CognitiveServices/accounts/acct/deployments"


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with run_in_thread(EmulatorConfig(provider="azure", seed=3, start=1_800_000_000.0)) as running:
        yield running


def arm(url: str, **options: Any) -> AzureManagement:
    """The management plane of the emulator at ``url`` (ARM account ``sub-1/rg-1/acct``), ``options`` changed."""
    settings: dict[str, Any] = {
        "token": "arm-token",
        "management_url": url,
        "subscription": "sub-1",
        "resource_group": "rg-1",
        "account": "acct",
        "max_retries": 2,
        "timeout_s": 10,
        "retry_backoff_s": 0.0,
        **options,
    }
    return AzureManagement(**settings)


@pytest.fixture
def provider(emu: Emulator) -> Iterator[AzureProvider]:
    management = arm(emu.url)
    adapter = AzureProvider(
        api_key=KEY, azure_endpoint=emu.url, api_version="2024-10-21", management=management, retry_backoff_s=0.0
    )
    yield adapter
    adapter.close()


@pytest.fixture
def train_file(tmp_path: Path) -> Path:
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in classification_examples()), encoding="utf-8")
    return path


def chat_once(provider: AzureProvider, request: ChatRequest) -> ChatResult:
    async def ask() -> ChatResult:
        try:
            return await provider.chat(request)
        finally:
            await provider.aclose()

    return asyncio.run(ask())


def tuned(emu: Emulator, provider: AzureProvider, train_file: Path) -> str:
    uploaded = provider.upload_file(train_file)
    job = provider.create_job(JobSpec(model=BASE, training_file=uploaded.id, metadata={"ftclient_run": "run-1"}))
    emu.advance(10_000)
    done = provider.get_job(job.id)
    assert done.status == "succeeded" and done.fine_tuned_model
    return done.fine_tuned_model


def test_the_emulator_wants_api_version_and_a_key(emu: Emulator) -> None:
    with httpx2.Client(base_url=emu.url) as client:
        assert client.get("/openai/fine_tuning/jobs", params={"api-version": "2024-10-21"}).status_code == 401
        missing = client.get("/openai/fine_tuning/jobs", headers={"api-key": "k"})
        assert missing.status_code == 400 and "api-version" in missing.json()["error"]["message"]
        found = client.get("/openai/fine_tuning/jobs?api-version=2024-10-21", headers={"api-key": "k"})
        assert found.status_code == 200
        # the management plane takes a bearer token, never the data-plane key
        assert client.get(ARM, params={"api-version": "2025-09-01"}, headers={"api-key": "k"}).status_code == 401
        bearer = {"authorization": "Bearer t"}
        assert client.get(ARM, headers=bearer).status_code == 400
        assert client.get(ARM, params={"api-version": "2025-09-01"}, headers=bearer).json() == {"value": []}


def test_upload_create_follow_to_success(emu: Emulator, provider: AzureProvider, train_file: Path) -> None:
    uploaded = provider.upload_file(train_file)
    assert uploaded.status == "processed" and uploaded.bytes == train_file.stat().st_size
    job = provider.create_job(JobSpec(model=BASE, training_file=uploaded.id, metadata={"ftclient_run": "run-7"}))
    assert job.id.startswith("ftjob-") and job.raw_status == "pending" and job.status == "queued"
    assert job.extra["trainingType"] == "standard"  # the training type went with the create
    assert [j.id for j in provider.find_jobs({"ftclient_run": "run-7"})] == [job.id]
    emu.advance(45)
    assert provider.get_job(job.id).status == "running"
    emu.advance(10_000)
    done = provider.get_job(job.id)
    assert done.status == "succeeded" and done.raw_status == "succeeded"
    assert done.fine_tuned_model is not None and done.fine_tuned_model.startswith(f"{BASE}.ft-")
    messages = [e.message for e in provider.list_events(job.id)]
    assert messages[0].startswith("Job enqueued") and messages[-1] == "Training succeeded."
    (checkpoint,) = provider.list_checkpoints(job.id)
    assert checkpoint.id.startswith("ftchkpt-") and checkpoint.step == 1


def test_cancel_and_a_failed_job_says_why(emu: Emulator, provider: AzureProvider, train_file: Path) -> None:
    uploaded = provider.upload_file(train_file)
    job = provider.create_job(JobSpec(model=BASE, training_file=uploaded.id))
    cancelled = provider.cancel_job(job.id)
    assert cancelled.status == "cancelled" and cancelled.terminal
    with pytest.raises(InvalidRequestError, match="cannot be cancelled"):
        provider.cancel_job(job.id)
    failing = provider.create_job(JobSpec(model=BASE, training_file=uploaded.id))
    emu.inject("*", "fail_job", job_id=failing.id, message="Out of capacity in this region.")
    emu.advance(10_000)
    failed = provider.get_job(failing.id)
    assert failed.status == "failed" and failed.error_message == "Out of capacity in this region."
    few = train_file.parent / "few.jsonl"
    few.write_text("".join(json.dumps(e) + "\n" for e in classification_examples()[:9]), encoding="utf-8")
    small = provider.create_job(JobSpec(model=BASE, training_file=provider.upload_file(few).id))
    emu.advance(100)
    rejected = provider.get_job(small.id)
    assert rejected.status == "failed" and "at least 10" in (rejected.error_message or "")


def test_deploy_evaluate_teardown_bills_what_the_emulator_billed(
    emu: Emulator, provider: AzureProvider, train_file: Path, tmp_path: Path
) -> None:
    model = tuned(emu, provider, train_file)
    example = classification_examples()[0]["messages"]
    assert provider.hourly_fee(model) == ("Developer", 0.0)  # the default for gpt-4.1 family: no fee
    assert provider.hourly_fee(model, "Standard") == ("Standard", 1.70)
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds
        emu.advance(seconds)

    with Registry(tmp_path / "registry.db") as registry:
        with deployed(
            model,
            provider=provider,
            registry=registry,
            hardware="Standard",
            poll_s=10,
            clock=lambda: now[0],
            sleep=sleep,
            wall=emu.now,
        ) as deployment:
            assert deployment.endpoint.state == "STARTED" and deployment.endpoint.hardware == "Standard"
            with pytest.raises(RemoteNotFoundError):  # a model that is not deployed answers nothing
                chat_once(provider, ChatRequest(model="no-such-deployment", messages=example[:-1]))
            answer = chat_once(provider, ChatRequest(model=deployment.serving_name, messages=example[:-1]))
            assert answer.text == example[-1]["content"]
        record = registry.get_endpoint(deployment.endpoint.id)
        assert record is not None and record.state == "DELETED"
        minutes, cost = endpoint_billing(record)
    books = emu.stats()["deployments"]
    (bill,) = books["list"]
    assert books["running"] == 0 and bill["state"] == "Deleted" and bill["sku"] == "Standard"
    assert cost is not None and cost > 0
    assert minutes == bill["minutes"] and cost == pytest.approx(bill["cost_usd"], abs=1e-4)
    assert provider.list_endpoints() == []


def test_teardown_after_a_failure_and_ctrl_c(emu: Emulator, provider: AzureProvider, train_file: Path) -> None:
    model = tuned(emu, provider, train_file)
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds
        emu.advance(seconds)

    for raised in (KeyboardInterrupt, RuntimeError):
        with pytest.raises(raised), deployed(model, provider=provider, clock=lambda: now[0], sleep=sleep):
            raise raised
    books = emu.stats()["deployments"]
    assert books["running"] == 0 and len(books["list"]) == 2
    assert {b["sku"] for b in books["list"]} == {"Developer"} and books["hosting_usd"] == 0.0


def test_a_lost_deployment_answer_makes_one_deployment(
    emu: Emulator, provider: AzureProvider, train_file: Path
) -> None:
    model = tuned(emu, provider, train_file)
    put = "PUT /subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.CognitiveServices"
    emu.inject(put + "/accounts/{account}/deployments/{name}", "lose_response_after_commit", times=1)
    endpoint = provider.create_endpoint(model)  # the PUT is resent under the same name: ARM's create is idempotent
    assert endpoint.state == "STARTING" and endpoint.hardware == "Developer"
    assert [e.id for e in provider.list_endpoints()] == [endpoint.id]
    assert len(emu.stats()["deployments"]["list"]) == 1
    route = put + "/accounts/{account}/deployments/{name}"
    assert emu.stats()["requests"]["by_route"][route] == {"dropped": 1, "200": 1}
    provider.stop_endpoint(endpoint.id)
    with pytest.raises(RemoteNotFoundError):
        provider.get_endpoint(endpoint.id)


def test_an_entra_id_token_is_sent_as_bearer_and_never_shown(emu: Emulator, train_file: Path) -> None:
    token = "entra-token-canary-9a8b7c"
    adapter = AzureProvider(ad_token=token, azure_endpoint=emu.url, api_version="2024-10-21", max_retries=0)
    assert adapter.upload_file(train_file).status == "processed"  # the emulator takes a bearer token too
    wrong = AzureProvider(ad_token=token, azure_endpoint=emu.url, api_version="1999-01-01", max_retries=0)
    with pytest.raises(RemoteNotFoundError) as caught:
        wrong.get_job("ftjob-x")
    assert "OPENAI_API_VERSION" in (caught.value.hint or "") and token not in str(caught.value)
    adapter.close()
    wrong.close()


def test_chat_is_rate_limited_per_deployment(train_file: Path) -> None:
    with run_in_thread(EmulatorConfig(provider="azure", rpm=1, burst_s=60.0)) as emu:
        adapter = AzureProvider(api_key=KEY, azure_endpoint=emu.url, api_version="2024-10-21", max_retries=0)
        ask = ChatRequest(model=BASE, messages=[{"role": "user", "content": "hello"}])
        assert chat_once(adapter, ask).text
        with pytest.raises(RateLimitError) as caught:
            chat_once(adapter, ask)
        wait = caught.value.retry_after_s
        assert wait is not None and wait > 0
        other = ChatRequest(model="gpt-4.1-nano-2025-04-14", messages=[{"role": "user", "content": "hello"}])
        assert chat_once(adapter, other).text  # another deployment has its own quota
        adapter.close()


@pytest.mark.parametrize("raised", [KeyboardInterrupt, RuntimeError])
def test_evaluate_deletes_the_deployment_when_the_evaluation_breaks(
    emu: Emulator,
    provider: AzureProvider,
    train_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    raised: type[BaseException],
) -> None:
    from ftclient.evaluate import api as evaluate_api
    from ftclient.evaluate.jobs import evaluate_job

    model = tuned(emu, provider, train_file)
    (job_id,) = [j.id for j in provider.list_jobs() if j.fine_tuned_model == model]

    def breaks(*args: object, **kwargs: object) -> None:
        assert emu.stats()["deployments"]["running"] == 1  # deployed, and now the evaluation breaks
        raise raised

    def sleep(seconds: float) -> None:
        emu.advance(seconds)

    monkeypatch.setattr(evaluate_api, "evaluate", breaks)
    with Registry(tmp_path / "registry.db") as registry, pytest.raises(raised):
        evaluate_job(job_id, provider_client=provider, registry=registry, sleep=sleep, hardware="Standard")
    books = emu.stats()["deployments"]
    assert books["running"] == 0 and books["list"][0]["state"] == "Deleted"


def test_a_restarted_emulator_keeps_its_resource(train_file: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    example = classification_examples()[0]["messages"]

    def adapter_for(emu: Emulator) -> AzureProvider:
        return AzureProvider(api_key=KEY, azure_endpoint=emu.url, api_version="2024-10-21", management=arm(emu.url))

    with run_in_thread(EmulatorConfig(provider="azure", seed=3, state_dir=state)) as emu:
        provider = adapter_for(emu)
        model = tuned(emu, provider, train_file)
        endpoint = provider.create_endpoint(model, hardware="Standard")
        emu.advance(120)
        stopped_at = emu.now()
        provider.close()
    assert (state / "state.json").is_file() and len(list((state / "files").iterdir())) == 1
    with run_in_thread(EmulatorConfig(provider="azure", seed=3, state_dir=state)) as emu:
        assert emu.now() >= stopped_at  # the resource's clock never runs backwards
        provider = adapter_for(emu)
        (job,) = provider.list_jobs()
        assert job.status == "succeeded" and job.fine_tuned_model == model
        assert provider.download_file(job.training_file or "") == train_file.read_bytes()
        assert provider.get_endpoint(endpoint.id).state == "STARTED"
        answer = chat_once(provider, ChatRequest(model=endpoint.id, messages=example[:-1]))
        assert answer.text == example[-1]["content"]  # the fine-tune answers from what it learnt, as before
        (bill,) = emu.stats()["deployments"]["list"]
        assert bill["minutes"] >= 2 and bill["state"] == "Succeeded"  # billed from creation, across the restart
        provider.delete_endpoint(endpoint.id)
        provider.close()
