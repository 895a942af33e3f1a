"""OpenAI (and any OpenAI-compatible ``base_url``) behind ftclient's provider protocol.

This is the only module that imports the ``openai`` SDK. Everything the SDK returns is turned into
ftclient's own dataclasses; every SDK or transport failure becomes an ``ftclient.errors.ProviderError``
subclass that keeps the request id and, on 429/5xx, how long the server asked us to wait.

Retries: the SDK's own retry loop is switched off (``max_retries=0`` on the client); ``_call`` is the one
retry layer for ordinary calls: transient failures (5xx, 429 other than an exhausted daily quota,
timeouts, dropped connections) are retried up to ``max_retries`` times, pausing as the server's
Retry-After says, else ``retry_backoff_s`` doubling up to 8 s (both from the settings). Two call paths
are never retried here:
- job creation (``create_job``), because OpenAI sends no idempotency key and a blind resend after a lost
  response creates a second job; ``ftclient.launching.create`` retries it safely;
- ``chat``: the evaluation runner paces and retries requests itself.

Credentials come from ``OPENAI_API_KEY`` (plus ``OPENAI_BASE_URL``, ``OPENAI_ORG_ID``,
``OPENAI_PROJECT_ID``) when the first request is made; the key is never stored, logged or echoed — it is
scrubbed from every error message, whatever the server put there.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

import openai

from ftclient.errors import AuthError, PermissionError_, ProviderError, RateLimitError
from ftclient.providers.base import (
    Capabilities,
    ChatRequest,
    ChatResult,
    Checkpoint,
    JobEvent,
    JobInfo,
    JobSpec,
    ModerationResult,
)
from ftclient.providers.credentials import checked_api_key
from ftclient.providers.headers import rate_limit_state, wait_after_refusal
from ftclient.providers.openai.batches import ModelsAndBatches
from ftclient.providers.openai.files import FilesAndUploads
from ftclient.providers.openai.wire import (
    ELIGIBILITY_HINT,
    ELIGIBILITY_WORDS,
    create_body,
    error_message,
    event_from_dict,
    job_info_from_dict,
)
from ftclient.providers.retries import Hints, RetryLayer, request_settings, scrub, status_error, unreachable

if TYPE_CHECKING:
    from ftclient.config import ProviderProfile, Settings

T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.openai.com/v1"
HINTS = Hints(
    auth="check OPENAI_API_KEY (and OPENAI_ORG_ID / OPENAI_PROJECT_ID)",
    permission="this key's organisation or project may not do this",
    unavailable="the provider is having trouble; run the same command again later",
)
MODERATION_MODEL = "omni-moderation-latest"
MODERATION_BATCH = 32
EVENTS_PAGE = 100
MAX_LIST_PAGES = 50


class OpenAIProvider(ModelsAndBatches, FilesAndUploads):
    """OpenAI's fine-tuning, files, uploads, moderation and chat APIs."""

    name = "openai"
    api_key_env = "OPENAI_API_KEY"
    base_url_var = "OPENAI_BASE_URL"
    """The variable that points the adapter elsewhere, named in error hints."""
    capabilities = Capabilities(
        methods=frozenset({"supervised", "dpo"}),
        pause_resume=True,
        checkpoints=True,
        batch=True,
        needs_deployment=False,
        job_metadata=True,
        moderation=True,
        max_file_bytes=512 * 1024**2,
        max_upload_bytes=8 * 1024**3,
        model_listing=True,
    )

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        organization: str | None = None,
        project: str | None = None,
        max_retries: int = 4,
        timeout_s: float = 120.0,
        retry_backoff_s: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._api_key = api_key
        self.endpoint = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self._organization = organization
        self._project = project
        self.max_retries = max(0, max_retries)
        self.timeout_s = timeout_s
        self.retry_backoff_s = max(0.0, retry_backoff_s)
        self._sleep = sleep
        self._sync: openai.OpenAI | None = None
        self._async: openai.AsyncOpenAI | None = None
        self._async_loop: object | None = None

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> OpenAIProvider:
        """Credentials from the environment; retries and timeout from ``settings``."""
        env = os.environ
        return cls(
            api_key=env.get("OPENAI_API_KEY") or None,
            base_url=env.get("OPENAI_BASE_URL") or None,
            organization=env.get("OPENAI_ORG_ID") or None,
            project=env.get("OPENAI_PROJECT_ID") or None,
            **request_settings(settings),
        )

    @classmethod
    def from_profile(cls, profile: ProviderProfile, settings: Settings | None = None) -> OpenAIProvider:
        """A service speaking OpenAI's fine-tuning API on its own base URL (a ``[providers.NAME]`` profile):
        this adapter under the profile's name, its key read from the variable the profile names, its
        capabilities as the profile declares them (OpenAI's otherwise)."""
        adapter = cls(
            api_key=os.environ.get(profile.api_key_env) or None,
            base_url=profile.base_url,
            **request_settings(settings),
        )
        adapter.name = profile.name
        adapter.api_key_env = profile.api_key_env
        flags: dict[str, Any] = dict(profile.capabilities)
        adapter.capabilities = replace(cls.capabilities, **flags)
        return adapter

    @property
    def is_official(self) -> bool:
        """True when talking to api.openai.com itself (OpenAI's own deadlines apply)."""
        return self.endpoint == DEFAULT_BASE_URL

    # -- clients ---------------------------------------------------------------------------------

    def _key(self) -> str:
        if not self._api_key:
            raise AuthError(
                f"no {self.name} API key: {self.api_key_env} is not set",
                provider=self.name,
                hint=f"export {self.api_key_env}=... (ftclient reads it from the environment and never stores it)",
            )
        return checked_api_key(self._api_key, self.api_key_env, provider=self.name)

    def _client(self) -> openai.OpenAI:
        if self._sync is None:
            self._sync = openai.OpenAI(
                api_key=self._key(),
                base_url=self.endpoint,
                organization=self._organization,
                project=self._project,
                max_retries=0,
                timeout=self.timeout_s,
                http_client=_http_client([self._api_key, self._organization, self._project]),
            )
        return self._sync

    def _aclient(self) -> openai.AsyncOpenAI:
        """The async client of the running event loop (a client's connections belong to one loop)."""
        import asyncio

        loop = asyncio.get_running_loop()
        if self._async is None or self._async_loop is not loop:
            self._async_loop = loop
            self._async = openai.AsyncOpenAI(
                api_key=self._key(),
                base_url=self.endpoint,
                organization=self._organization,
                project=self._project,
                max_retries=0,
                timeout=self.timeout_s,
                http_client=_async_http_client([self._api_key, self._organization, self._project]),
            )
        return self._async

    def close(self) -> None:
        if self._sync is not None:
            self._sync.close()
            self._sync = None

    def __del__(self) -> None:
        # A provider dropped without close() (a Job handle going out of scope) releases its connections
        # now, while its sockets still exist, rather than leaving them to the cyclic garbage collector.
        with contextlib.suppress(Exception):
            self.close()

    async def aclose(self) -> None:
        if self._async is not None:
            await self._async.close()
            self._async = None

    # -- errors ----------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        return scrub(text, self._api_key)

    @contextmanager
    def _calls(self, what: str) -> Iterator[None]:
        """Translate whatever the SDK raises while doing ``what`` into ftclient's provider errors."""
        try:
            yield
        except openai.APIStatusError as exc:
            # Not chained: the SDK error holds the raw body, which may echo secrets; the translation keeps
            # status, code, request id and the scrubbed message.
            raise self._status_error(exc, what) from None
        except openai.APIConnectionError as exc:  # APITimeoutError is one of these
            cause = exc.__cause__ or exc
            raise unreachable(
                what,
                self.endpoint,
                provider=self.name,
                timeout_s=self.timeout_s,
                timed_out=isinstance(exc, openai.APITimeoutError),
                cause=self._scrub(type(cause).__name__),
                base_url_var=self.base_url_var,
            ) from exc

    def _call(self, what: str, fn: Callable[[], T], *, retry: bool = True) -> T:
        """Run ``fn`` (one or more SDK calls), translating errors; retry transient ones when ``retry``."""

        def once() -> T:
            with self._calls(what):
                return fn()

        if not retry:
            return once()
        return RetryLayer(self.max_retries, self.retry_backoff_s, self._sleep).run(once)

    def _status_error(self, exc: openai.APIStatusError, what: str) -> ProviderError:
        status = exc.status_code
        detail = self._scrub(error_message(exc))
        message = f"{what}: {detail} (HTTP {status})"
        if status in (400, 403) and any(word in detail.lower() for word in ELIGIBILITY_WORDS):
            return PermissionError_(
                message,
                hint=ELIGIBILITY_HINT,
                provider=self.name,
                status=status,
                code=exc.code,
                request_id=exc.request_id,
            )
        error = status_error(
            message,
            provider=self.name,
            status=status,
            code=exc.code,
            request_id=exc.request_id,
            retry_after_s=wait_after_refusal(exc.response.headers, status),
            hints=HINTS,
            endpoint=self.endpoint,
            base_url_var=self.base_url_var,
        )
        if isinstance(error, RateLimitError) and exc.code == "daily_rate_limit_exceeded":
            error.hint = "the daily fine-tuning quota for this model is used up; try tomorrow or another model"
        return error

    # -- jobs ------------------------------------------------------------------------------------

    def preview_create(self, spec: JobSpec) -> dict[str, Any]:
        return {"method": "POST", "url": f"{self.endpoint}/fine_tuning/jobs", "json": create_body(spec)}

    def create_job(self, spec: JobSpec) -> JobInfo:
        """One create request, never resent by the SDK (see the module docstring)."""
        body = create_body(spec)
        job = self._call(
            f"creating a fine-tuning job on {spec.model}",
            lambda: self._client().fine_tuning.jobs.create(**body),
            retry=False,
        )
        return self._job_info(job.to_dict())

    def find_jobs(self, metadata: Mapping[str, str]) -> list[JobInfo]:
        wanted = dict(metadata)

        def read() -> list[JobInfo]:
            found: list[JobInfo] = []
            for n, item in enumerate(self._client().fine_tuning.jobs.list(metadata=wanted, limit=100)):
                data: dict[str, Any] = item.to_dict()
                meta = data.get("metadata") or {}
                if all(meta.get(k) == v for k, v in wanted.items()):
                    found.append(self._job_info(data))
                if n >= 100 * MAX_LIST_PAGES:
                    break
            return found

        return self._call("looking up jobs by metadata", read)

    def get_job(self, job_id: str) -> JobInfo:
        job = self._call(f"reading job {job_id}", lambda: self._client().fine_tuning.jobs.retrieve(job_id))
        return self._job_info(job.to_dict())

    def list_jobs(self, limit: int = 20) -> list[JobInfo]:

        def read() -> list[JobInfo]:
            jobs: list[JobInfo] = []
            for item in self._client().fine_tuning.jobs.list(limit=min(limit, 100)):
                jobs.append(self._job_info(item.to_dict()))
                if len(jobs) >= limit:
                    break
            return jobs

        return self._call("listing jobs", read)

    def list_events(self, job_id: str, after: str | None = None) -> list[JobEvent]:
        """Events oldest first. The API lists newest first and pages towards older ones, so this reads
        pages until it meets ``after`` (usually the first page, when polling often)."""

        def read() -> list[JobEvent]:
            newer: list[JobEvent] = []
            page = self._client().fine_tuning.jobs.list_events(job_id, limit=EVENTS_PAGE)
            for _ in range(MAX_LIST_PAGES):
                for item in page.data:
                    if after is not None and item.id == after:
                        return newer[::-1]
                    newer.append(event_from_dict(item.to_dict()))
                if not page.has_next_page():
                    break
                page = page.get_next_page()
            return newer[::-1]

        return self._call(f"reading events of job {job_id}", read)

    def list_checkpoints(self, job_id: str) -> list[Checkpoint]:
        items: list[dict[str, Any]] = self._call(
            f"reading checkpoints of job {job_id}",
            lambda: [c.to_dict() for c in self._client().fine_tuning.jobs.checkpoints.list(job_id, limit=100)],
        )
        checkpoints = [
            Checkpoint(
                id=c["id"],
                created_at=int(c.get("created_at") or 0),
                model=c.get("fine_tuned_model_checkpoint") or "",
                step=int(c.get("step_number") or 0),
                metrics={k: float(v) for k, v in (c.get("metrics") or {}).items() if isinstance(v, int | float)},
            )
            for c in items
        ]
        return sorted(checkpoints, key=lambda c: c.step)

    def cancel_job(self, job_id: str) -> JobInfo:
        job = self._call(f"cancelling job {job_id}", lambda: self._client().fine_tuning.jobs.cancel(job_id))
        return self._job_info(job.to_dict())

    def pause_job(self, job_id: str) -> JobInfo:
        job = self._call(f"pausing job {job_id}", lambda: self._client().fine_tuning.jobs.pause(job_id))
        return self._job_info(job.to_dict())

    def resume_job(self, job_id: str) -> JobInfo:
        job = self._call(f"resuming job {job_id}", lambda: self._client().fine_tuning.jobs.resume(job_id))
        return self._job_info(job.to_dict())

    def _job_info(self, data: Mapping[str, Any]) -> JobInfo:
        return job_info_from_dict(data, provider=self.name)

    # -- inference -------------------------------------------------------------------------------

    async def chat(self, request: ChatRequest) -> ChatResult:
        kwargs = request.body()
        started = time.perf_counter()
        with self._calls(f"asking {request.model}"):
            raw = await self._aclient().chat.completions.with_raw_response.create(**kwargs)
            completion = raw.parse()
        latency = time.perf_counter() - started
        choice = completion.choices[0] if completion.choices else None
        usage = completion.usage
        return ChatResult(
            text=(choice.message.content or "") if choice else "",
            model=completion.model,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            latency_s=latency,
            request_id=raw.headers.get("x-request-id"),
            finish_reason=choice.finish_reason if choice else None,
            rate_limits=rate_limit_state(raw.headers),
        )

    def moderate(self, texts: Sequence[str]) -> list[ModerationResult]:
        results: list[ModerationResult] = []
        for start in range(0, len(texts), MODERATION_BATCH):
            batch = list(texts[start : start + MODERATION_BATCH])

            def screen(batch: list[str] = batch) -> Any:
                return self._client().moderations.create(model=MODERATION_MODEL, input=batch)

            response = self._call("screening training data with the moderation endpoint", screen)
            for item in response.results:
                categories = item.categories.to_dict()
                results.append(
                    ModerationResult(
                        flagged=bool(item.flagged), categories=sorted(k for k, v in categories.items() if v)
                    )
                )
        return results


def _http_client(secrets: Sequence[str | None]) -> openai.DefaultHttpxClient | None:
    """The SDK's HTTP client with its transport wrapped in ftclient's recorder when ``FTCLIENT_RECORD``
    is set (None: the SDK's own default client)."""
    path = os.environ.get("FTCLIENT_RECORD", "").strip()
    if not path:
        return None
    import httpx2

    from ftclient.providers.recording import RecordingTransport

    transport = RecordingTransport(httpx2.HTTPTransport(), path, secrets=[s for s in secrets if s])
    return openai.DefaultHttpxClient(transport=transport)


def _async_http_client(secrets: Sequence[str | None]) -> openai.DefaultAsyncHttpxClient | None:
    path = os.environ.get("FTCLIENT_RECORD", "").strip()
    if not path:
        return None
    import httpx2

    from ftclient.providers.recording import AsyncRecordingTransport

    transport = AsyncRecordingTransport(httpx2.AsyncHTTPTransport(), path, secrets=[s for s in secrets if s])
    return openai.DefaultAsyncHttpxClient(transport=transport)
