"""The OpenAI adapter against the emulator over real HTTP: error translation, the one retry layer,
create never resent, incremental events, metadata lookup, multipart uploads, chat and moderation."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx2
import openai
import pytest
from launch_support import CANARY_KEY, emulator_env, route_count, write_dataset

from ftclient.config import resolve
from ftclient.errors import (
    AuthError,
    InvalidRequestError,
    PermissionError_,
    ProviderUnavailable,
    RateLimitError,
    RemoteNotFoundError,
)
from ftclient.providers import get_provider
from ftclient.providers.base import ChatRequest, JobSpec, MultipartUploadProvider, Provider, RequestPreview
from ftclient.providers.openai import OpenAIProvider

JOB_ROUTE = "GET /v1/fine_tuning/jobs/{fine_tuning_job_id}"
CREATE_ROUTE = "POST /v1/fine_tuning/jobs"


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    with emulator_env(monkeypatch) as running:
        yield running


def _provider(**overrides: object) -> OpenAIProvider:
    provider = OpenAIProvider.from_settings(resolve())
    for name, value in overrides.items():
        setattr(provider, name, value)
    return provider


def _job(provider: OpenAIProvider, tmp_path: Path, **metadata: str) -> str:
    ds = write_dataset(tmp_path / "ds", validation=10)
    train = provider.upload_file(ds / "train.jsonl")
    spec = JobSpec(model="gpt-4o-mini-2024-07-18", training_file=train.id, metadata=metadata or {"k": "v"})
    return provider.create_job(spec).id


def test_it_is_a_provider_with_previews_and_multipart_and_no_key_is_needed_to_build_it() -> None:
    provider = get_provider("openai", resolve())
    assert isinstance(provider, Provider) and isinstance(provider, MultipartUploadProvider)
    assert isinstance(provider, RequestPreview)
    assert provider.capabilities.job_metadata and provider.capabilities.pause_resume
    assert provider.capabilities.methods == {"supervised", "dpo"}
    with pytest.raises(AuthError) as info:
        provider.get_job("ftjob-x")
    assert "OPENAI_API_KEY" in (info.value.hint or "")


def test_errors_carry_status_request_id_and_retry_after(emu, tmp_path: Path) -> None:
    provider = _provider(max_retries=0)
    with pytest.raises(RemoteNotFoundError) as missing:
        provider.get_job("ftjob-does-not-exist")
    assert missing.value.status == 404 and (missing.value.request_id or "").startswith("req_")
    job_id = _job(provider, tmp_path)
    emu.inject(JOB_ROUTE, "status_429", times=1, retry_after_s=0.25)
    with pytest.raises(RateLimitError) as limited:
        provider.get_job(job_id)
    assert limited.value.retry_after_s == pytest.approx(0.25) and limited.value.request_id
    emu.inject(JOB_ROUTE, "status_503", times=1)
    with pytest.raises(ProviderUnavailable) as down:
        provider.get_job(job_id)
    assert down.value.status == 503 and down.value.request_id
    emu.inject(JOB_ROUTE, "drop_connection", times=1)
    with pytest.raises(ProviderUnavailable) as dropped:
        provider.get_job(job_id)
    assert dropped.value.code == "connection" and dropped.value.status is None


def test_transient_errors_are_retried_once_per_attempt_in_a_single_layer(emu, tmp_path: Path) -> None:
    naps: list[float] = []
    provider = _provider(max_retries=3, _sleep=naps.append)
    job_id = _job(provider, tmp_path)
    before = route_count(emu, JOB_ROUTE)
    emu.inject(JOB_ROUTE, "status_500", times=2)
    assert provider.get_job(job_id).id == job_id
    assert route_count(emu, JOB_ROUTE) - before == 3  # 2 failures + 1 success: no SDK retries on top
    assert naps == [pytest.approx(0.01), pytest.approx(0.02)]  # retry_backoff_s doubling
    emu.inject(JOB_ROUTE, "status_429", times=1, retry_after_s=0.3)
    naps.clear()
    provider.get_job(job_id)
    assert naps == [pytest.approx(0.3)]  # the server's Retry-After wins
    emu.inject(JOB_ROUTE, "status_500", times=10)
    before = route_count(emu, JOB_ROUTE)
    with pytest.raises(ProviderUnavailable):
        provider.get_job(job_id)
    assert route_count(emu, JOB_ROUTE) - before == 4  # stop: 1 + max_retries attempts


def test_create_is_sent_once_even_when_it_fails(emu, tmp_path: Path) -> None:
    provider = _provider(max_retries=5)
    ds = write_dataset(tmp_path / "ds")
    train = provider.upload_file(ds / "train.jsonl")
    emu.inject(CREATE_ROUTE, "status_500", times=1)
    with pytest.raises(ProviderUnavailable):
        provider.create_job(JobSpec(model="gpt-4o-mini-2024-07-18", training_file=train.id))
    assert route_count(emu, CREATE_ROUTE) == 1 and emu.stats()["jobs_created"] == 0
    emu.inject(CREATE_ROUTE, "lose_response_after_commit", times=1)
    with pytest.raises(ProviderUnavailable):
        provider.create_job(JobSpec(model="gpt-4o-mini-2024-07-18", training_file=train.id, metadata={"r": "1"}))
    assert emu.stats()["jobs_created"] == 1
    [found] = provider.find_jobs({"r": "1"})
    assert found.metadata["r"] == "1" and found.training_file == train.id
    assert provider.find_jobs({"r": "2"}) == []


def test_events_are_read_incrementally_oldest_first(emu, tmp_path: Path) -> None:
    provider = _provider()
    job_id = _job(provider, tmp_path)
    emu.advance(3600)
    assert provider.get_job(job_id).status == "succeeded"
    events = provider.list_events(job_id)
    assert len(events) > 100  # more than one page of 100
    assert [e.created_at for e in events] == sorted(e.created_at for e in events)
    assert "succeeded" in events[-1].message or "completed" in events[-1].message
    middle = events[len(events) // 2]
    newer = provider.list_events(job_id, after=middle.id)
    assert [e.id for e in newer] == [e.id for e in events[len(events) // 2 + 1 :]]
    assert provider.list_events(job_id, after=events[-1].id) == []
    metrics = [e for e in events if e.type == "metrics"]
    assert metrics and {"step", "total_steps", "train_loss"} <= set(metrics[0].data)
    checkpoints = provider.list_checkpoints(job_id)
    assert checkpoints and [c.step for c in checkpoints] == sorted(c.step for c in checkpoints)
    assert all(c.model.startswith("ft:") for c in checkpoints)


def test_lifecycle_cancel(emu, tmp_path: Path) -> None:
    provider = _provider()
    job_id = _job(provider, tmp_path)
    assert provider.cancel_job(job_id).status in {"cancelled", "cancelling"}
    assert provider.get_job(job_id).status == "cancelled"
    assert any(j.id == job_id for j in provider.list_jobs(limit=5))


def test_multipart_upload_primitives_and_md5_check(emu, tmp_path: Path) -> None:
    provider = _provider()
    data = b'{"a": 1}\n' * 300
    session = provider.start_upload(filename="big.jsonl", bytes=len(data))
    assert session.expires_at and session.status == "pending"
    parts = [provider.upload_part(session.id, data[i : i + 1000]) for i in range(0, len(data), 1000)]
    remote = provider.complete_upload(session.id, parts, md5=hashlib.md5(data, usedforsecurity=False).hexdigest())
    assert remote.bytes == len(data) and remote.filename == "big.jsonl"
    other = provider.start_upload(filename="x.jsonl", bytes=len(data))
    part = provider.upload_part(other.id, data)
    with pytest.raises(InvalidRequestError):
        provider.complete_upload(other.id, [part], md5="0" * 32)


def test_chat_parses_rate_limit_headers_and_sends_no_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    request = ChatRequest(model="gpt-4o-mini-2024-07-18", messages=[{"role": "user", "content": "hi"}])
    with emulator_env(monkeypatch, rpm=600, tpm=100_000) as running:
        provider = _provider(max_retries=5)

        async def scenario() -> None:
            try:
                result = await provider.chat(request)
                assert result.text and result.prompt_tokens > 0 and result.request_id
                assert result.rate_limits.limit_requests == 600
                assert result.rate_limits.remaining_requests is not None
                running.inject("POST /v1/chat/completions", "status_429", times=1, retry_after_s=0.5)
                with pytest.raises(RateLimitError) as info:
                    await provider.chat(request)
                assert info.value.retry_after_s == pytest.approx(0.5)
            finally:
                await provider.aclose()

        asyncio.run(scenario())
        assert route_count(running, "POST /v1/chat/completions", "429") == 1


def test_moderation_returns_one_result_per_text(emu) -> None:
    results = _provider().moderate([f"text {i}" for i in range(40)])
    assert len(results) == 40 and all(r.flagged in (True, False) for r in results)


def _status_error(cls: type[openai.APIStatusError], status: int, message: str) -> openai.APIStatusError:
    request = httpx2.Request("POST", "https://api.openai.com/v1/fine_tuning/jobs")
    response = httpx2.Response(status, request=request, headers={"x-request-id": "req_123"})
    body = {"message": message, "type": "invalid_request_error", "code": None}
    return cls(message, response=response, body=body)


def test_not_eligible_refusals_explain_the_wind_down_and_keys_are_scrubbed() -> None:
    provider = OpenAIProvider(api_key=CANARY_KEY)
    error = provider._status_error(
        _status_error(
            openai.PermissionDeniedError, 403, "Your organization is not eligible to create fine-tuning jobs"
        ),
        "creating a job",
    )
    assert isinstance(error, PermissionError_) and "2027-01-06" in (error.hint or "")
    assert error.request_id == "req_123" and "does not retry" in (error.hint or "")
    echoed = provider._status_error(
        _status_error(openai.AuthenticationError, 401, f"Incorrect API key provided: {CANARY_KEY}"), "listing"
    )
    assert isinstance(echoed, AuthError)
    assert CANARY_KEY not in echoed.message and "[redacted]" in echoed.message


def test_ftclient_record_writes_a_cassette_without_the_key(emu, tmp_path: Path, monkeypatch) -> None:
    cassette = tmp_path / "cassette.json"
    monkeypatch.setenv("FTCLIENT_RECORD", str(cassette))
    monkeypatch.setenv("OPENAI_ORG_ID", "org-canary0123456789")
    provider = _provider()
    job_id = _job(provider, tmp_path)
    provider.get_job(job_id)
    provider.close()
    text = cassette.read_text()
    assert "/fine_tuning/jobs" in text and "/files" in text
    assert CANARY_KEY not in text and "org-canary0123456789" not in text


def test_create_body_puts_hyperparameters_under_the_method_and_adds_integrations() -> None:
    from ftclient.providers.openai.wire import create_body

    spec = JobSpec(
        model="gpt-4.1-mini-2025-04-14",
        training_file="file-t",
        validation_file="file-v",
        method="dpo",
        hyperparameters={"n_epochs": 2, "beta": 0.2, "lora": 8},
        suffix="s",
        seed=0,
        metadata={"ftclient_run": "r"},
        wandb_project="proj",
    )
    body = create_body(spec)
    assert body["method"] == {"type": "dpo", "dpo": {"hyperparameters": {"n_epochs": 2, "beta": 0.2}}}
    assert "hyperparameters" not in body and body["seed"] == 0 and body["suffix"] == "s"
    assert body["integrations"] == [{"type": "wandb", "wandb": {"project": "proj"}}]
    assert create_body(JobSpec(model="m", training_file="f"))["method"] == {"type": "supervised"}


def test_job_objects_are_read_tolerantly() -> None:
    from ftclient.providers.openai.wire import job_info_from_dict

    base = {
        "id": "ftjob-1",
        "model": "m",
        "created_at": 1,
        "error": {},
        "user_provided_suffix": "x",
        "method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": "auto"}}},
    }
    paused = job_info_from_dict({**base, "status": "paused"})
    assert paused.status == "paused" and paused.error_code is None and paused.suffix == "x"
    assert paused.hyperparameters == {"n_epochs": "auto"}
    odd = job_info_from_dict({**base, "status": "hibernating"})
    assert (odd.status, odd.raw_status, odd.terminal) == ("unknown", "hibernating", False)
    failed = job_info_from_dict({**base, "status": "failed", "error": {"code": "invalid_file", "message": "bad"}})
    assert failed.terminal and (failed.error_code, failed.error_message) == ("invalid_file", "bad")
