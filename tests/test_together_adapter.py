"""The Together adapter against the emulator's Together dialect: uploads, jobs, errors, retries, limits."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread
from ftclient.emulator.samples import classification_examples
from ftclient.errors import (
    AuthError,
    InvalidRequestError,
    PermissionError_,
    ProviderUnavailable,
    RateLimitError,
    RemoteNotFoundError,
)
from ftclient.providers.base import ChatRequest, ChatResult, JobSpec
from ftclient.providers.together import TogetherProvider, together_rate_limits

BASE = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
KEY = "tk-canary-5d1e0a9b77c3"


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with run_in_thread(EmulatorConfig(speed=1.0, provider="together", seed=3)) as running:
        yield running


@pytest.fixture
def pauses() -> list[float]:
    return []


@pytest.fixture
def provider(emu: Emulator, pauses: list[float]) -> Iterator[TogetherProvider]:
    adapter = TogetherProvider(api_key=KEY, base_url=emu.base_url, retry_backoff_s=0.01, sleep=pauses.append)
    yield adapter
    adapter.close()


@pytest.fixture
def train_file(tmp_path: Path) -> Path:
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in classification_examples()), encoding="utf-8")
    return path


def chat_once(provider: TogetherProvider, request: ChatRequest) -> ChatResult:
    """One chat call in its own event loop, closing the async client with it (as the evaluation runner does)."""

    async def ask() -> ChatResult:
        try:
            return await provider.chat(request)
        finally:
            await provider.aclose()

    return asyncio.run(ask())


def routes(emu: Emulator) -> dict[str, dict[str, int]]:
    by_route: dict[str, dict[str, int]] = emu.stats()["requests"]["by_route"]
    return by_route


def test_redirect_upload_sends_form_then_bytes_then_preprocess(
    emu: Emulator, provider: TogetherProvider, train_file: Path
) -> None:
    progress: list[tuple[int, int]] = []
    remote = provider.upload_file(train_file, on_progress=lambda done, total: progress.append((done, total)))
    size = train_file.stat().st_size
    assert remote.id.startswith("file-") and remote.bytes == size and remote.status == "processed"
    assert progress == [(size, size)]
    seen = routes(emu)
    assert seen["POST /v1/files"] == {"302": 1}
    assert seen["PUT /v1/_storage/{file_id}"] == {"200": 1}
    assert seen["POST /v1/files/{id}/preprocess"] == {"200": 1}
    assert provider.download_file(remote.id) == train_file.read_bytes()
    assert provider.get_file(remote.id).filename == "train.jsonl"


def test_large_files_go_up_in_parts_and_are_found_by_name(
    emu: Emulator, provider: TogetherProvider, train_file: Path
) -> None:
    provider.multipart_threshold_bytes = 1000
    provider.part_size_bytes = 1024
    remote = provider.upload_named(train_file, filename="train-abc123.jsonl")
    parts = -(-train_file.stat().st_size // 1024)
    assert routes(emu)["PUT /v1/_storage/{upload_id}/parts/{number}"] == {"200": parts}
    assert provider.download_file(remote.id) == train_file.read_bytes()
    assert [f.id for f in provider.find_files("train-abc123.jsonl")] == [remote.id]
    assert provider.find_files("train-abc123.jsonl", purpose="eval") == []


def test_a_failed_part_aborts_the_upload_session(emu: Emulator, provider: TogetherProvider, train_file: Path) -> None:
    provider.multipart_threshold_bytes = 1000
    provider.part_size_bytes = 1024
    provider.max_retries = 1
    emu.inject("PUT /v1/_storage/{upload_id}/parts/{number}", "status_500")
    with pytest.raises(ProviderUnavailable):
        provider.upload_file(train_file)
    assert routes(emu)["POST /v1/files/multipart/abort"] == {"200": 1}
    assert "POST /v1/files/multipart/complete" not in routes(emu)


def test_create_body_maps_ftclient_names_to_together_fields(provider: TogetherProvider) -> None:
    spec = JobSpec(
        model=BASE,
        training_file="file-1",
        validation_file="file-2",
        hyperparameters={"n_epochs": 3, "learning_rate_multiplier": 2.0, "warmup_ratio": 0.1, "lora_r": 16},
        suffix="tickets",
        seed=7,
        metadata={"ftclient_run": "run-0123456789abcdef0123"},
        wandb_project="proj",
    )
    body = provider.preview_create(spec)["json"]
    assert body["learning_rate"] == pytest.approx(2e-5)
    assert body["training_type"] == {"type": "Lora", "lora_r": 16, "lora_alpha": 32}
    # As together 1.6.0's create_finetune_request sends them when the caller says nothing:
    assert body["training_method"] == {"method": "sft", "train_on_inputs": "auto"}
    assert body["lr_scheduler"] == {
        "lr_scheduler_type": "cosine",
        "lr_scheduler_args": {"min_lr_ratio": 0.0, "num_cycles": 0.5},
    }
    assert body["suffix"] == "tickets-r01234567"
    assert body["random_seed"] == 7 and body["n_evals"] == 1 and body["wandb_project_name"] == "proj"
    full_dpo = JobSpec(model=BASE, training_file="f", method="dpo", hyperparameters={"beta": 0.2, "lora": False})
    body = provider.preview_create(full_dpo)["json"]
    assert body["training_method"] == {"method": "dpo", "dpo_beta": 0.2}
    assert body["training_type"] == {"type": "Full"}


def test_a_job_runs_to_completed_with_events_metrics_and_checkpoints(
    emu: Emulator, provider: TogetherProvider, train_file: Path
) -> None:
    remote = provider.upload_file(train_file)
    run_id = "run-feedc0ffee0123456789"
    info = provider.create_job(
        JobSpec(model=BASE, training_file=remote.id, hyperparameters={"n_epochs": 2}, metadata={"ftclient_run": run_id})
    )
    assert info.id.startswith("ft-") and info.status == "validating_files" and info.raw_status == "pending"
    assert routes(emu)["POST /v1/fine-tunes/estimate-price"] == {"200": 1}
    assert float(info.metadata["estimated_total_price"]) > 0 and int(info.metadata["estimated_train_token_count"]) > 0
    emu.advance(20)
    running = provider.get_job(info.id)
    assert running.status == "running"
    first = provider.list_events(info.id)
    emu.advance(10_000)
    done = provider.get_job(info.id)
    assert done.status == "succeeded" and done.raw_status == "completed"
    assert done.fine_tuned_model and done.fine_tuned_model.startswith("ftclient-emulator/")
    assert done.trained_tokens and done.trained_tokens > 0
    newer = provider.list_events(info.id, after=first[-1].id)
    assert newer and all(e.id not in {x.id for x in first} for e in newer)
    metrics = [e for e in provider.list_events(info.id) if e.type == "metrics"]
    assert [e.data["step"] for e in metrics] == list(range(1, len(metrics) + 1))
    assert all("train_loss" in e.data for e in metrics)
    checkpoints = provider.list_checkpoints(info.id)
    assert checkpoints[-1].model == done.fine_tuned_model
    assert checkpoints[0].model == f"{info.id}:{checkpoints[0].step}"
    assert [j.id for j in provider.find_jobs({"ftclient_run": run_id})] == [info.id]
    assert provider.find_jobs({"ftclient_run": "run-000000000000000000"}) == []


def test_cancel_requested_is_not_terminal(emu: Emulator, provider: TogetherProvider, train_file: Path) -> None:
    """``cancel_requested``: the job still runs (and bills) until Together says ``cancelled``."""
    info = provider.create_job(JobSpec(model=BASE, training_file=provider.upload_file(train_file).id))
    cancelled = provider.cancel_job(info.id)
    assert cancelled.raw_status == "cancel_requested" and not cancelled.terminal
    assert cancelled.status == "running" and cancelled.finished_at is None
    emu.advance(5)
    done = provider.get_job(info.id)
    assert done.raw_status == "cancelled" and done.status == "cancelled" and done.terminal
    with pytest.raises(InvalidRequestError):
        provider.pause_job(info.id)


def test_a_refused_price_estimate_creates_no_job(emu: Emulator, provider: TogetherProvider, train_file: Path) -> None:
    emu.core.app.credit_limit_usd = 0.0  # type: ignore[attr-defined]
    remote = provider.upload_file(train_file)
    with pytest.raises(PermissionError_) as caught:
        provider.create_job(JobSpec(model=BASE, training_file=remote.id))
    assert caught.value.code == "not_allowed_to_proceed" and "credit limit" in caught.value.message
    assert "POST /v1/fine-tunes" not in routes(emu)


def test_errors_carry_status_and_request_id_and_never_the_key(emu: Emulator, provider: TogetherProvider) -> None:
    with pytest.raises(RemoteNotFoundError) as missing:
        provider.get_job("ft-00000000-0000-0000-0000-000000000000")
    assert missing.value.status == 404 and missing.value.request_id
    assert re.fullmatch(r"[A-Za-z0-9]{7}-[A-Za-z0-9]{6}-[0-9a-f]{16}", missing.value.request_id)
    emu.inject("GET /v1/fine-tunes", "status_500", message=f"upstream rejected key {KEY}")
    provider.max_retries = 0
    with pytest.raises(ProviderUnavailable) as failed:
        provider.list_jobs()
    assert KEY not in failed.value.message and "[redacted]" in failed.value.message
    with pytest.raises(AuthError):
        TogetherProvider(api_key=None, base_url=emu.base_url).list_jobs()


def test_transient_errors_are_retried_as_the_server_asks(
    emu: Emulator, provider: TogetherProvider, pauses: list[float]
) -> None:
    emu.inject("GET /v1/fine-tunes", "status_429", times=2, retry_after_s=0.25)
    assert provider.list_jobs() == []
    assert pauses == [0.25, 0.25]
    emu.inject("GET /v1/fine-tunes", "status_503", times=10)
    with pytest.raises(ProviderUnavailable):
        provider.list_jobs()
    assert routes(emu)["GET /v1/fine-tunes"]["503"] == provider.max_retries + 1


def test_job_creation_is_never_resent(emu: Emulator, provider: TogetherProvider, train_file: Path) -> None:
    remote = provider.upload_file(train_file)
    emu.inject("POST /v1/fine-tunes", "status_503", times=1)
    with pytest.raises(ProviderUnavailable):
        provider.create_job(JobSpec(model=BASE, training_file=remote.id))
    assert routes(emu)["POST /v1/fine-tunes"] == {"503": 1}


def test_a_tuned_model_off_the_serverless_lora_bases_answers_only_through_its_endpoint(
    emu: Emulator, provider: TogetherProvider, train_file: Path
) -> None:
    info = provider.create_job(JobSpec(model="Qwen/Qwen3-8B", training_file=provider.upload_file(train_file).id))
    emu.advance(10_000)
    done = provider.get_job(info.id)
    tuned = done.fine_tuned_model
    assert tuned and provider.serverless_model(done) is None
    example = classification_examples()[0]["messages"]
    with pytest.raises(RemoteNotFoundError) as refused:  # 404, as the live API answers (error-404-1)
        chat_once(provider, ChatRequest(model=tuned, messages=example[:-1]))
    assert refused.value.code == "model_not_available"
    endpoint = provider.create_endpoint(tuned, inactive_timeout_min=10)
    assert endpoint.cost_per_hour_usd == pytest.approx(2.4) and endpoint.inactive_timeout_min == 10
    emu.advance(70)
    assert provider.get_endpoint(endpoint.id).state == "STARTED"
    answer = chat_once(provider, ChatRequest(model=endpoint.name or "", messages=example[:-1]))
    assert answer.text == example[-1]["content"] and answer.model == endpoint.name
    assert provider.stop_endpoint(endpoint.id).state == "STOPPING"


def test_a_lora_adapter_on_a_serverless_lora_base_answers_by_its_name(
    emu: Emulator, provider: TogetherProvider, train_file: Path
) -> None:
    """docs.together.ai/docs/lora-inference: LoRA adapters of some bases (the docs' own example is
    Meta-Llama-3.1-8B-Instruct-Reference) answer serverless; full fine-tunes of the same base do not."""
    file_id = provider.upload_file(train_file).id
    lora = provider.create_job(JobSpec(model=BASE, training_file=file_id))
    full = provider.create_job(JobSpec(model=BASE, training_file=file_id, hyperparameters={"lora": False}))
    emu.advance(10_000)
    lora_done, full_done = provider.get_job(lora.id), provider.get_job(full.id)
    assert provider.serverless_model(lora_done) == lora_done.fine_tuned_model
    assert provider.serverless_model(full_done) is None
    example = classification_examples()[0]["messages"]
    answer = chat_once(provider, ChatRequest(model=lora_done.fine_tuned_model or "", messages=example[:-1]))
    assert answer.text == example[-1]["content"]
    with pytest.raises(RemoteNotFoundError):
        chat_once(provider, ChatRequest(model=full_done.fine_tuned_model or "", messages=example[:-1]))


def test_rate_limit_headers_are_read_in_both_spellings(emu: Emulator, train_file: Path) -> None:
    openai_style = together_rate_limits({"x-ratelimit-limit-requests": "600", "x-ratelimit-remaining-tokens": "9"})
    assert openai_style.limit_requests == 600 and openai_style.remaining_tokens == 9
    own = together_rate_limits({"x-ratelimit-limit": "10", "x-ratelimit-remaining": "4", "x-ratelimit-reset": "1.5"})
    assert (own.limit_requests, own.remaining_requests, own.reset_requests_s) == (10, 4, 1.5)
    with run_in_thread(EmulatorConfig(provider="together", rpm=600, tpm=100_000)) as limited:
        adapter = TogetherProvider(api_key=KEY, base_url=limited.base_url)
        hello = ChatRequest(model=BASE, messages=[{"role": "user", "content": "hi"}])
        assert chat_once(adapter, hello).rate_limits.limit_requests == 600
        limited.inject("POST /v1/chat/completions", "status_429", retry_after_s=2)
        with pytest.raises(RateLimitError) as slow:
            chat_once(adapter, hello)
        assert slow.value.retry_after_s == 2.0


def test_credentials_and_base_url_come_from_together_variables(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    from ftclient.providers import get_provider

    monkeypatch.setenv("TOGETHER_API_KEY", KEY)
    monkeypatch.setenv("TOGETHER_BASE_URL", emu.base_url + "/")
    adapter = get_provider("together")
    assert isinstance(adapter, TogetherProvider)
    assert adapter.endpoint == emu.base_url and not adapter.is_official
    assert adapter.list_jobs() == []
    assert adapter.model_limits(BASE)["lora_training"]["max_rank"] == 64
    with pytest.raises(RemoteNotFoundError):
        adapter.model_limits("acme/not-a-model")
    adapter.close()
