"""OpenAI facts the client once had wrong: retired models, the end of job creation, DPO models, billing
429s, 429s without retry-after, and batch creation (headers, retries, the 200 MB input limit)."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from launch_support import emulator_env, route_count, write_dataset

from ftclient import pricing
from ftclient.config import resolve
from ftclient.errors import (
    FineTuningClosedError,
    ModelShutDownError,
    QuotaExhaustedError,
    RateLimitError,
    UserInputError,
)
from ftclient.evaluate.batch import BatchRunner, batches_for, encoded_line, split_for_batches
from ftclient.evaluate.runner import Call
from ftclient.launching.config import LaunchConfig
from ftclient.launching.preflight import preflight, resolve_dataset
from ftclient.providers.base import ChatRequest
from ftclient.providers.openai import OpenAIProvider

JOB_ROUTE = "GET /v1/fine_tuning/jobs/{fine_tuning_job_id}"
SHUT_DOWN_2026_10_23 = [
    "gpt-4.1-nano",
    "gpt-4.1-nano-2025-04-14",
    "o4-mini",
    "gpt-3.5-turbo-0125",
    "gpt-3.5-turbo-1106",
    "gpt-3.5-turbo-0613",
    "gpt-4-0613",
]
RETIRING_2027_01_14 = ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini"]
DECEMBER = dt.date(2026, 12, 3)


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with emulator_env(monkeypatch) as running:
        yield running


def _check(ds: Path, model: str, *, method: str = "supervised", today: dt.date = DECEMBER, **kw: Any) -> Any:
    ref = resolve_dataset(ds, resolve(), None)
    return preflight(
        ref,
        LaunchConfig(model=model, method=method),
        provider="openai",
        methods=frozenset({"supervised", "dpo"}),
        official=kw.pop("official", False),
        today=today,
        **kw,
    )


# -- retirements -----------------------------------------------------------------------------------


@pytest.mark.parametrize("model", SHUT_DOWN_2026_10_23)
def test_models_shut_down_on_2026_10_23_are_refused_with_the_date_and_alternatives(
    tmp_path: Path, model: str
) -> None:
    with pytest.raises(ModelShutDownError) as info:
        _check(write_dataset(tmp_path / "ds"), model)
    assert "2026-10-23" in info.value.message and "deprecations" in info.value.message
    assert "gpt-4.1-mini-2025-04-14" in (info.value.hint or "")
    assert not any(m in (info.value.hint or "") for m in ("nano", "gpt-3.5", "o4-mini"))


@pytest.mark.parametrize("model", RETIRING_2027_01_14)
def test_models_retiring_on_2027_01_14_warn_before_and_are_refused_from_that_day(tmp_path: Path, model: str) -> None:
    ds = write_dataset(tmp_path / "ds")
    notes = _check(ds, model).notes
    assert any("shuts down on 2027-01-14 (42 days" in note for note in notes)
    with pytest.raises(ModelShutDownError, match="2027-01-14"):
        _check(ds, model, today=dt.date(2027, 1, 14))
    with pytest.raises(ModelShutDownError):  # a tuned model goes with its base
        _check(ds, f"ft:{pricing.resolve_openai_model(model)}:acme:x:AbC123", today=dt.date(2027, 1, 14))


def test_after_2027_01_06_a_new_openai_job_is_refused_with_a_typed_error(tmp_path: Path) -> None:
    ds = write_dataset(tmp_path / "ds")
    assert _check(ds, "gpt-4o-mini", today=dt.date(2027, 1, 5), official=True).examples == 24
    with pytest.raises(FineTuningClosedError) as info:
        _check(ds, "gpt-4o-mini", today=dt.date(2027, 1, 6), official=True)
    assert info.value.since == "2027-01-06" and "--provider together" in (info.value.hint or "")


def test_the_models_api_shutdown_date_overrides_the_dated_table(tmp_path: Path) -> None:
    ds = write_dataset(tmp_path / "ds")
    with pytest.raises(ModelShutDownError, match=r"2026-12-01.*Models API"):
        _check(ds, "gpt-4.1-mini", shutdown_date=dt.date(2026, 12, 1))
    notes = _check(ds, "gpt-4.1-mini", shutdown_date=dt.date(2027, 3, 1)).notes
    assert any("2027-03-01" in note and "Models API" in note for note in notes)


def test_the_adapter_reads_shutdown_date_from_the_models_api(emu: Any) -> None:
    provider = OpenAIProvider.from_settings(resolve())
    assert provider.model_shutdown_date("gpt-4o-mini-2024-07-18") == dt.date(2027, 1, 14)
    assert provider.model_shutdown_date("davinci-002") is None  # announced for none
    assert provider.model_shutdown_date("gpt-4.1-nano-2025-04-14") is None  # gone from /models: table decides


def test_dpo_only_on_the_models_the_dpo_guide_lists(tmp_path: Path) -> None:
    assert pricing.tunable_models("openai", DECEMBER, "dpo") == ["gpt-4.1-2025-04-14", "gpt-4.1-mini-2025-04-14"]
    assert "dpo" not in pricing.model_limits("openai", "gpt-4o-2024-08-06").methods


# -- 429s ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("insufficient_quota", "You exceeded your current quota, please check your plan and billing details."),
        ("billing_hard_limit_reached", "Billing hard limit has been reached."),
        (None, "You exceeded your current quota, please check your plan and billing details."),
    ],
)
def test_quota_429s_are_final_at_once_and_say_to_check_billing(
    emu: Any, tmp_path: Path, code: str | None, message: str
) -> None:
    sleeps: list[float] = []
    provider = OpenAIProvider.from_settings(resolve())
    provider._sleep = sleeps.append
    job_id = _create_job(provider, tmp_path)
    emu.inject(JOB_ROUTE, "status_429", times=3, code=code or "", message=message, type="insufficient_quota")
    with pytest.raises(QuotaExhaustedError) as info:
        provider.get_job(job_id)
    assert not isinstance(info.value, RateLimitError) and sleeps == []
    assert route_count(emu, JOB_ROUTE, "429") == 1
    assert "billing" in (info.value.hint or "") and "limit" in (info.value.hint or "")
    assert "wait a moment" not in (info.value.hint or "")


def test_a_429_without_retry_after_is_paced_from_the_rate_limit_reset_headers(emu: Any, tmp_path: Path) -> None:
    sleeps: list[float] = []
    provider = OpenAIProvider.from_settings(resolve())
    provider._sleep = sleeps.append
    job_id = _create_job(provider, tmp_path)
    emu.inject(JOB_ROUTE, "status_429", times=1, retry_after_s=None, reset_s=6.5)
    assert provider.get_job(job_id).id == job_id
    assert sleeps == [6.5]
    emu.inject(JOB_ROUTE, "status_429", times=1, retry_after_s=None, reset_s=3.0)
    provider.max_retries = 0
    with pytest.raises(RateLimitError) as info:
        provider.get_job(job_id)
    assert info.value.retry_after_s == 3.0  # what the evaluation limiter backs off by


def _create_job(provider: OpenAIProvider, tmp_path: Path) -> str:
    from ftclient.providers.base import JobSpec

    train = provider.upload_file(write_dataset(tmp_path / "ds") / "train.jsonl")
    return provider.create_job(JobSpec(model="gpt-4o-mini-2024-07-18", training_file=train.id)).id


# -- batches ---------------------------------------------------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str, dict[str, str]]]] = []

    def _answer(self, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.seen.append(("POST", self.path, {k.lower(): v for k, v in self.headers.items()}))
        if self.path.endswith("/files"):
            self._answer({"id": "file-1", "object": "file", "bytes": 3, "created_at": 1, "filename": "b.jsonl",
                          "purpose": "batch", "status": "processed"})
        else:
            self._answer({"id": "batch_1", "object": "batch", "endpoint": "/v1/chat/completions", "errors": None,
                          "input_file_id": "file-1", "completion_window": "24h", "status": "validating",
                          "output_file_id": None, "error_file_id": None, "created_at": 1, "in_progress_at": None,
                          "expires_at": None, "request_counts": {"total": 0, "completed": 0, "failed": 0}})

    def log_message(self, *args: Any) -> None:
        pass


def test_batch_creation_sends_the_organisation_and_project_of_the_upload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Recorder.seen = []
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/v1"
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-batch")
        monkeypatch.setenv("OPENAI_BASE_URL", base)
        provider = OpenAIProvider(api_key="sk-test-batch", base_url=base, organization="org-acme", project="proj_x")
        path = tmp_path / "in.jsonl"
        path.write_text("{}\n", encoding="utf-8")
        uploaded = provider.upload_file(path, purpose="batch")
        batches_for(provider, "openai").create_batch(uploaded.id)
        provider.close()
    finally:
        server.shutdown()
        server.server_close()
    (_, upload_path, upload), (_, batch_path, batch) = _Recorder.seen
    assert upload_path.endswith("/files") and batch_path.endswith("/batches")
    for headers in (upload, batch):
        assert headers.get("openai-organization") == "org-acme" and headers.get("openai-project") == "proj_x"


def test_a_429_on_batch_create_is_retried_not_reported_invalid(emu: Any, tmp_path: Path) -> None:
    provider = OpenAIProvider.from_settings(resolve())
    provider._sleep = lambda _s: None
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(_line(0)) + "\n", encoding="utf-8")
    uploaded = provider.upload_file(path, purpose="batch")
    emu.inject("POST /v1/batches", "status_429", times=2, retry_after_s=0.01)
    info = batches_for(provider, "openai").create_batch(uploaded.id)
    assert info.id.startswith("batch_") and route_count(emu, "POST /v1/batches") == 3


def _line(index: int) -> dict[str, Any]:
    return {"custom_id": f"c{index}", "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": "gpt-4o-mini-2024-07-18", "messages": [{"role": "user", "content": "hi"}]}}


def _calls(n: int, text: str = "hello") -> list[Call]:
    messages = [({"role": "user", "content": f"{text} {i}"},) for i in range(n)]
    model = "gpt-4o-mini-2024-07-18"
    return [Call("tuned", i, ChatRequest(model=model, messages=m), 100) for i, m in enumerate(messages)]


def test_batch_inputs_are_split_by_bytes_as_well_as_lines() -> None:
    calls = _calls(10, "x" * 1000)
    by_lines = split_for_batches(calls, max_lines=4)
    assert [len(c) for c in by_lines] == [4, 4, 2]
    size = len(encoded_line(calls[0]))
    by_bytes = split_for_batches(calls, max_bytes=3 * size + size // 2)
    assert [len(c) for c in by_bytes] == [3, 3, 3, 1]
    with pytest.raises(UserInputError, match="batch input file holds at most 500"):
        split_for_batches(calls, max_bytes=500)


def test_the_emulator_refuses_a_batch_input_over_200_mb(
    emu: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ftclient.emulator.openai import batches

    monkeypatch.setattr(batches, "MAX_INPUT_BYTES", 100)
    provider = OpenAIProvider.from_settings(resolve())
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps(_line(i)) for i in range(3)) + "\n", encoding="utf-8")
    uploaded = provider.upload_file(path, purpose="batch")
    from ftclient.errors import InvalidRequestError

    with pytest.raises(InvalidRequestError, match="at most 200 MB"):
        batches_for(provider, "openai").create_batch(uploaded.id)


def test_the_batch_runner_keeps_every_input_file_under_the_byte_limit(
    emu: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ftclient.emulator.openai import batches

    provider = OpenAIProvider.from_settings(resolve())
    calls = _calls(6)
    limit = 2 * len(json.dumps(_line(0)).encode()) + 400
    monkeypatch.setattr(batches, "MAX_INPUT_BYTES", limit)
    runner = BatchRunner(provider, "openai", poll_s=0.0, sleep=lambda _s: emu.advance(3600), max_bytes=limit)
    answers = runner.run(calls)
    assert len(runner.batch_ids) > 1 and all(not a.error for a in answers.values()) and len(answers) == 6


# -- the emulator's own dates ----------------------------------------------------------------------


def _emulated(day: dt.date) -> float:
    return dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC).timestamp()


@pytest.mark.parametrize(
    ("day", "model", "status", "words"),
    [
        (DECEMBER, "gpt-4.1-nano", 400, "shut down on 2026-10-23"),
        (DECEMBER, "gpt-3.5-turbo-0125", 400, "shut down on 2026-10-23"),
        (dt.date(2027, 1, 6), "gpt-4o-mini", 403, "ended on 2027-01-06"),
    ],
)
def test_the_emulator_refuses_jobs_by_its_own_calendar(day: dt.date, model: str, status: int, words: str) -> None:
    import httpx2

    from ftclient.emulator import EmulatorConfig, run_in_thread
    from ftclient.emulator.samples import classification_examples, to_jsonl

    with run_in_thread(EmulatorConfig(start=_emulated(day))) as emu, httpx2.Client(
        base_url=emu.base_url, headers={"authorization": "Bearer sk-dates"}
    ) as http:
        train = http.post(
            "/files", data={"purpose": "fine-tune"}, files={"file": ("t.jsonl", to_jsonl(classification_examples()))}
        ).json()
        refused = http.post("/fine_tuning/jobs", json={"model": model, "training_file": train["id"]})
        listed = {m["id"]: m["shutdown_date"] for m in http.get("/models").json()["data"]}
    assert refused.status_code == status and words in refused.json()["error"]["message"]
    assert "gpt-4.1-nano-2025-04-14" not in listed and listed["gpt-4o-mini-2024-07-18"] == "2027-01-14"


@pytest.mark.parametrize(
    ("headers", "status", "wait"),
    [
        ({"retry-after": "2"}, 429, 2.0),  # the server's own word wins
        ({"retry-after-ms": "250", "x-ratelimit-reset-requests": "9s"}, 429, 0.25),
        ({"x-ratelimit-remaining-requests": "5", "x-ratelimit-reset-requests": "1s",
          "x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "6m0s"}, 429, 360.0),  # the exhausted one
        ({"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "12ms",
          "x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "1.5s"}, 429, 1.5),  # both: the later
        ({"x-ratelimit-reset-requests": "3s", "x-ratelimit-reset-tokens": "800ms"}, 429, 0.8),  # none says 0
        ({}, 429, None),
        ({"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "4s"}, 503, None),  # 429s only
    ],
)
def test_the_wait_after_a_refusal(headers: dict[str, str], status: int, wait: float | None) -> None:
    from ftclient.providers.headers import wait_after_refusal

    assert wait_after_refusal(headers, status) == wait


def test_an_alias_goes_out_as_the_dated_snapshot_and_keeps_its_run_key(emu: Any, tmp_path: Path) -> None:
    from ftclient.jobs import launch, plan_launch

    ds = write_dataset(tmp_path / "ds", validation=10)
    by_alias = plan_launch(ds, model="gpt-4.1-mini")
    assert by_alias.jobs[0].request["json"]["model"] == "gpt-4.1-mini-2025-04-14"  # what create will send
    assert by_alias.jobs[0].config.model == "gpt-4.1-mini"  # the run key still names what the user asked for
    job = launch(ds, model="gpt-4.1-mini")
    assert not isinstance(job, list) and job.refresh().model == "gpt-4.1-mini-2025-04-14"
    tuned = "ft:gpt-4.1-mini-2025-04-14:acme:x:AbC123"
    assert plan_launch(ds, model=tuned).jobs[0].request["json"]["model"] == tuned
