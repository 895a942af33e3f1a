"""The Fireworks adapter against the emulator's Fireworks dialect: datasets, idempotent jobs, states, failures,
deployments with a LoRA addon, chat and teardown."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ftclient.deploy import deployed
from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread
from ftclient.emulator.samples import classification_examples
from ftclient.errors import AuthError, InvalidRequestError, ProviderUnavailable, RemoteNotFoundError
from ftclient.launching.create import create_idempotent
from ftclient.launching.upload import ensure_uploaded
from ftclient.providers.base import ChatRequest, ChatResult, JobSpec
from ftclient.providers.fireworks import FireworksProvider
from ftclient.registry import Registry

BASE = "accounts/fireworks/models/llama-v3p1-8b-instruct"
KEY = "fw-canary-0b1c2d3e4f"
ACCOUNT = "acme"
JOBS = "/v1/accounts/{account_id}/supervisedFineTuningJobs"
RUN = "run-0123456789abcdef0123"


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with run_in_thread(EmulatorConfig(provider="fireworks", seed=5)) as running:
        yield running


@pytest.fixture
def provider(emu: Emulator) -> Iterator[FireworksProvider]:
    adapter = FireworksProvider(
        api_key=KEY, account_id=ACCOUNT, base_url=emu.url, retry_backoff_s=0.0, sleep=lambda s: None
    )
    yield adapter
    adapter.close()


@pytest.fixture
def train_file(tmp_path: Path) -> Path:
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in classification_examples()), encoding="utf-8")
    return path


def routes(emu: Emulator) -> dict[str, dict[str, int]]:
    by_route: dict[str, dict[str, int]] = emu.stats()["requests"]["by_route"]
    return by_route


def chat_once(provider: FireworksProvider, request: ChatRequest) -> ChatResult:
    async def ask() -> ChatResult:
        try:
            return await provider.chat(request)
        finally:
            await provider.aclose()

    return asyncio.run(ask())


def tuned(emu: Emulator, provider: FireworksProvider, train_file: Path, run: str = RUN) -> str:
    dataset = provider.upload_named(train_file, filename="train-feed.jsonl")
    job = provider.create_job(JobSpec(model=BASE, training_file=dataset.id, metadata={"ftclient_run": run}))
    emu.advance(10_000)
    done = provider.get_job(job.id)
    assert done.status == "succeeded" and done.fine_tuned_model
    return done.fine_tuned_model


def test_upload_is_reused_by_content_hash(
    emu: Emulator, provider: FireworksProvider, train_file: Path, tmp_path: Path
) -> None:
    with Registry(tmp_path / "registry.db") as registry:
        first = ensure_uploaded(provider, registry, train_file, sha256="ab" * 32)
        again = ensure_uploaded(provider, registry, train_file, sha256="ab" * 32)
    assert first.file.id == again.file.id == f"accounts/{ACCOUNT}/datasets/train-abababababab"
    assert not first.reused and again.reused and first.file.status == "processed"
    # a second adapter without the registry (another machine): the dataset id says it is there already
    fresh = provider.upload_named(train_file, filename=first.file.filename)
    assert fresh.id == first.file.id
    assert routes(emu)["POST /v1/accounts/{account_id}/datasets/{dataset_id}:upload"] == {"200": 1}
    assert routes(emu)["POST /v1/accounts/{account_id}/datasets"] == {"200": 1, "409": 1}
    assert provider.download_file(first.file.id) == train_file.read_bytes()


def test_files_with_the_same_name_and_other_content_get_their_own_dataset(
    provider: FireworksProvider, train_file: Path, tmp_path: Path
) -> None:
    first = provider.upload_file(train_file)
    other = tmp_path / "other" / "train.jsonl"
    other.parent.mkdir()
    other.write_text("".join(json.dumps(e) + "\n" for e in classification_examples()[:5]), encoding="utf-8")
    second = provider.upload_file(other)
    assert first.id != second.id and first.id.startswith(f"accounts/{ACCOUNT}/datasets/train-")
    assert provider.download_file(second.id) == other.read_bytes()
    assert provider.upload_file(train_file).id == first.id


def test_large_files_go_through_a_signed_url(emu: Emulator, provider: FireworksProvider, train_file: Path) -> None:
    provider.simple_upload_limit = 100
    remote = provider.upload_named(train_file, filename="big-1234.jsonl")
    assert remote.status == "processed"
    seen = routes(emu)
    assert seen["PUT /_storage/datasets/{account}/{dataset}/{filename}"] == {"200": 1}
    assert seen["POST /v1/accounts/{account_id}/datasets/{dataset_id}:validateUpload"] == {"200": 1}
    assert "POST /v1/accounts/{account_id}/datasets/{dataset_id}:upload" not in seen


def test_a_lost_create_response_makes_one_job(emu: Emulator, provider: FireworksProvider, train_file: Path) -> None:
    dataset = provider.upload_file(train_file)
    emu.inject(f"POST {JOBS}", "lose_response_after_commit", times=1)
    spec = JobSpec(
        model=BASE, training_file=dataset.id, hyperparameters={"n_epochs": 2}, metadata={"ftclient_run": RUN}
    )
    pauses: list[float] = []
    info = create_idempotent(provider, spec, RUN, sleep=pauses.append)
    assert info.id == "ftc-0123456789abcdef0123" and pauses  # it waited, looked, and found the job
    assert emu.stats()["jobs_created"] == 1
    assert routes(emu)[f"POST {JOBS}:estimateCost"] == {"200": 1}
    # and a resend of the same create gets 409 and the job made by the first one
    again = provider.create_job(spec)
    assert again.id == info.id and emu.stats()["jobs_created"] == 1
    assert routes(emu)[f"POST {JOBS}"].get("409") == 1


def test_a_job_follows_to_success_with_metrics(emu: Emulator, provider: FireworksProvider, train_file: Path) -> None:
    dataset = provider.upload_file(train_file)
    info = provider.create_job(
        JobSpec(
            model=BASE,
            training_file=dataset.id,
            hyperparameters={"n_epochs": 3, "batch_size": 8},
            metadata={"ftclient_run": RUN},
        )
    )
    assert info.status == "queued" and info.raw_status == "JOB_STATE_PENDING"
    assert float(info.metadata["estimated_total_price"]) > 0
    emu.advance(6)
    assert provider.get_job(info.id).status == "validating_files"
    emu.advance(10 + 3 * 2)
    running = provider.get_job(info.id)
    assert running.status == "running" and running.raw_status == "JOB_STATE_RUNNING"
    early = [e for e in provider.list_events(info.id) if e.type == "metrics"]
    emu.advance(10_000)
    done = provider.get_job(info.id)
    assert done.status == "succeeded" and done.fine_tuned_model == f"accounts/{ACCOUNT}/models/{info.id}"
    late = [e for e in provider.list_events(info.id) if e.type == "metrics"]
    assert 0 < len(early) < len(late) and late[-1].data["step"] == late[-1].data["total_steps"]
    assert late[0].data["train_loss"] > late[-1].data["train_loss"]
    assert done.hyperparameters["n_epochs"] == 3 and done.hyperparameters["batch_size"] == 8
    assert [j.id for j in provider.list_jobs()] == [info.id]
    assert provider.find_jobs({"ftclient_run": RUN})[0].id == info.id
    assert provider.find_jobs({"ftclient_run": "run-ffffffffffffffffffff"}) == []


def test_a_dpo_job_reports_its_metrics(emu: Emulator, provider: FireworksProvider, tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.jsonl"
    rows = [
        {
            "input": {"messages": e["messages"][:-1]},
            "preferred_output": [e["messages"][-1]],
            "non_preferred_output": [{"role": "assistant", "content": "no idea"}],
        }
        for e in classification_examples()
    ]
    pairs.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    info = provider.create_job(
        JobSpec(model=BASE, training_file=provider.upload_file(pairs).id, method="dpo", hyperparameters={"beta": 0.3})
    )
    emu.advance(10_000)
    done = provider.get_job(info.id)
    assert done.status == "succeeded" and done.method == "dpo" and done.hyperparameters["beta"] == 0.3
    metrics = [e for e in provider.list_events(info.id) if e.type == "metrics"]
    assert metrics and metrics[-1].data["step"] == metrics[-1].data["total_steps"]


def test_cancel_and_an_already_cancelled_job(emu: Emulator, provider: FireworksProvider, train_file: Path) -> None:
    dataset = provider.upload_file(train_file)
    info = provider.create_job(
        JobSpec(
            model=BASE,
            training_file=dataset.id,
            method="dpo",
            hyperparameters={"beta": 0.2},
            metadata={"ftclient_run": RUN},
        )
    )
    cancelled = provider.cancel_job(info.id)
    assert cancelled.status == "cancelled" and cancelled.raw_status == "JOB_STATE_CANCELLING"
    emu.advance(5)
    assert provider.cancel_job(info.id).raw_status == "JOB_STATE_CANCELLED"
    assert routes(emu)["POST /v1/accounts/{account_id}/dpoJobs/{dpo_job_id}:cancel"] == {"200": 2}
    with pytest.raises(InvalidRequestError):
        provider.pause_job(info.id)


def test_a_failed_job_says_why_and_can_resume(emu: Emulator, provider: FireworksProvider, train_file: Path) -> None:
    dataset = provider.upload_file(train_file)
    emu.inject(f"POST {JOBS}", "fail_job", times=1, message="GPU node lost during step 2")
    info = provider.create_job(JobSpec(model=BASE, training_file=dataset.id, hyperparameters={"batch_size": 4}))
    emu.advance(10_000)
    failed = provider.get_job(info.id)
    assert failed.status == "failed" and failed.raw_status == "JOB_STATE_FAILED"
    assert failed.error_code == "INTERNAL" and failed.error_message == "GPU node lost during step 2"
    resumed = provider.resume_job(info.id)
    assert resumed.status == "running"
    emu.advance(10_000)
    assert provider.get_job(info.id).status == "succeeded"


def test_bad_data_fails_validation_with_fireworks_reason(
    emu: Emulator, provider: FireworksProvider, tmp_path: Path
) -> None:
    two = tmp_path / "two.jsonl"
    two.write_text("".join(json.dumps(e) + "\n" for e in classification_examples()[:2]), encoding="utf-8")
    dataset = provider.upload_file(two)
    info = provider.create_job(JobSpec(model=BASE, training_file=dataset.id))
    emu.advance(100)
    failed = provider.get_job(info.id)
    assert failed.status == "failed" and failed.error_code == "INVALID_ARGUMENT"
    assert "at least 3" in (failed.error_message or "")


def test_errors_are_mapped_and_the_key_never_shows(
    emu: Emulator, provider: FireworksProvider, train_file: Path
) -> None:
    with pytest.raises(RemoteNotFoundError) as missing:
        provider.get_job("ftc-nothere")
    assert KEY not in str(missing.value)
    with pytest.raises(InvalidRequestError, match="base model"):
        provider.create_job(
            JobSpec(model="accounts/fireworks/models/nope", training_file=provider.upload_file(train_file).id)
        )
    with pytest.raises(AuthError, match="FIREWORKS_API_KEY"):
        FireworksProvider(api_key=None, account_id=ACCOUNT, base_url=emu.url).list_jobs()
    with pytest.raises(InvalidRequestError, match="FIREWORKS_ACCOUNT_ID"):
        FireworksProvider(api_key=KEY, account_id=None, base_url=emu.url).list_jobs()


def test_deploy_evaluate_teardown_leaves_nothing_billing(
    emu: Emulator, provider: FireworksProvider, train_file: Path, tmp_path: Path
) -> None:
    model = tuned(emu, provider, train_file)
    example = classification_examples()[0]["messages"]
    with pytest.raises(RemoteNotFoundError):  # a tuned LoRA does not answer before it is deployed
        chat_once(provider, ChatRequest(model=model, messages=example[:-1]))
    # the deployment's create answer is lost: the adapter resends, gets 409 and uses the one made
    emu.inject("POST /v1/accounts/{account_id}/deployments", "lose_response_after_commit", times=1)
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds
        emu.advance(seconds)

    with (
        Registry(tmp_path / "registry.db") as registry,
        deployed(
            model,
            provider=provider,
            registry=registry,
            poll_s=10,
            clock=lambda: now[0],
            sleep=sleep,
            inactive_timeout_min=10,
        ) as deployment,
    ):
        assert deployment.endpoint.state == "STARTED" and deployment.serving_name == model
        assert deployment.endpoint.cost_per_hour_usd == 3.89 and deployment.endpoint.inactive_timeout_min == 10
        answer = chat_once(provider, ChatRequest(model=deployment.serving_name, messages=example[:-1]))
        assert answer.text == example[-1]["content"]
        assert emu.stats()["deployments"]["replicas_up"] == 1
    stats = emu.stats()["deployments"]
    assert stats["running"] == 0 and stats["replicas_up"] == 0 and len(stats["list"]) == 1
    assert stats["list"][0]["history"] == ["CREATING", "READY", "DELETING", "DELETED"] and stats["cost_usd"] > 0
    assert emu.stats()["requests"]["by_route"]["POST /v1/accounts/{account_id}/deployments"] == {"409": 1, "dropped": 1}
    base = chat_once(provider, ChatRequest(model=BASE, messages=example[:-1]))  # the base is serverless
    assert base.text and base.model == BASE


def test_teardown_on_ctrl_c_and_scale_to_zero(emu: Emulator, provider: FireworksProvider, train_file: Path) -> None:
    model = tuned(emu, provider, train_file)
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds
        emu.advance(seconds)

    with pytest.raises(KeyboardInterrupt), deployed(model, provider=provider, clock=lambda: now[0], sleep=sleep):
        raise KeyboardInterrupt
    assert emu.stats()["deployments"]["running"] == 0
    endpoint = provider.create_endpoint(model, inactive_timeout_min=1)  # raised to Fireworks' 5-minute minimum
    assert endpoint.inactive_timeout_min == 5
    emu.advance(80 + 5 * 60 + 1)
    (bill,) = [b for b in emu.stats()["deployments"]["list"] if b["state"] == "READY"]
    assert bill["replicas"] == 0 and bill["history"][-1] == "SCALED_TO_ZERO"
    with pytest.raises(ProviderUnavailable, match="scaling up"):  # a request wakes it
        chat_once(provider, ChatRequest(model=model, messages=[{"role": "user", "content": "hi"}]))
    provider.stop_endpoint(endpoint.id)
    assert emu.stats()["deployments"]["running"] == 0


def test_a_deployment_deleted_while_it_starts_says_which_inactivity_timeout_it_had(
    emu: Emulator, provider: FireworksProvider, train_file: Path
) -> None:
    """Fireworks' deployment carries its scale-to-zero window, so the message can quote it (Together's
    endpoint object carries none: tests/test_deploy_lifecycle.py)."""
    from ftclient.deploy import wait_started

    endpoint = provider.create_endpoint(tuned(emu, provider, train_file), inactive_timeout_min=10)
    provider.delete_endpoint(endpoint.id)
    with pytest.raises(ProviderUnavailable) as caught:
        wait_started(provider, endpoint.id, sleep=lambda s: None)
    assert caught.value.message == (
        f"endpoint {endpoint.id} was stopped (STOPPING) instead of starting: its inactivity timeout "
        "(10 min without requests) passed, or it was stopped from outside ftclient"
    )
