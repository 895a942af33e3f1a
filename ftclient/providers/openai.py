"""OpenAI (and any OpenAI-compatible ``base_url``) behind ftclient's provider protocol.

This is the only module that imports the ``openai`` SDK. Everything the SDK returns is turned into
ftclient's own dataclasses; every SDK or transport failure becomes an ``ftclient.errors.ProviderError``
subclass that keeps the request id and, on 429/5xx, how long the server asked us to wait.

Retries: the SDK's own retry loop is the one retry layer for ordinary calls (``max_retries`` from the
settings). Two call paths opt out and carry their own single layer instead:
- job creation (``create_job``) sends with ``max_retries=0``, because OpenAI sends no idempotency key and a
  blind resend after a lost response creates a second job; ``ftclient.launching.create`` retries it safely;
- ``chat`` sends with ``max_retries=0``: the evaluation runner paces and retries requests itself.

Credentials come from ``OPENAI_API_KEY`` (plus ``OPENAI_BASE_URL``, ``OPENAI_ORG_ID``,
``OPENAI_PROJECT_ID``) when the first request is made; the key is never stored, logged or echoed — it is
scrubbed from every error message, whatever the server put there.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import openai

from ftclient.errors import (
    AuthError,
    InvalidRequestError,
    PermissionError_,
    ProviderError,
    ProviderUnavailable,
    RateLimitError,
    RemoteNotFoundError,
)
from ftclient.providers.base import (
    JOB_STATUSES,
    Capabilities,
    ChatRequest,
    ChatResult,
    Checkpoint,
    JobEvent,
    JobInfo,
    JobSpec,
    ModerationResult,
    ProgressCallback,
    RemoteFile,
    UploadSessionInfo,
)
from ftclient.providers.headers import rate_limit_state, retry_after_seconds

if TYPE_CHECKING:
    from ftclient.config import Settings

DEFAULT_BASE_URL = "https://api.openai.com/v1"
PART_SIZE = 64 * 1024**2
MODERATION_MODEL = "omni-moderation-latest"
MODERATION_BATCH = 32
EVENTS_PAGE = 100
MAX_LIST_PAGES = 50
NEW_JOBS_CUTOFF = "2027-01-06"
_ELIGIBILITY_WORDS = ("eligib", "no longer available", "not available to your organization", "winding down")
ELIGIBILITY_HINT = (
    "OpenAI is winding fine-tuning down: organisations that never fine-tuned lost job creation on 2026-05-07, "
    "those without recent fine-tuned inference on 2026-07-02, and everyone loses it on "
    f"{NEW_JOBS_CUTOFF}. This refusal is final, so ftclient does not retry it; launch the same dataset on "
    "another provider (--provider together)"
)


class OpenAIProvider:
    """OpenAI's fine-tuning, files, uploads, moderation and chat APIs."""

    name = "openai"
    capabilities = Capabilities(
        methods=frozenset({"supervised", "dpo"}),
        pause_resume=True,
        checkpoints=True,
        batch=False,
        needs_deployment=False,
        job_metadata=True,
        moderation=True,
        max_file_bytes=512 * 1024**2,
        max_upload_bytes=8 * 1024**3,
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
    ) -> None:
        self._api_key = api_key
        self.endpoint = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self._organization = organization
        self._project = project
        self.max_retries = max_retries
        self.timeout_s = timeout_s
        self._sync: openai.OpenAI | None = None
        self._async: openai.AsyncOpenAI | None = None

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> OpenAIProvider:
        """Credentials from the environment; retries and timeout from ``settings``."""
        env = os.environ
        return cls(
            api_key=env.get("OPENAI_API_KEY") or None,
            base_url=env.get("OPENAI_BASE_URL") or None,
            organization=env.get("OPENAI_ORG_ID") or None,
            project=env.get("OPENAI_PROJECT_ID") or None,
            max_retries=settings.max_retries if settings else 4,
            timeout_s=settings.request_timeout_s if settings else 120.0,
        )

    @property
    def is_official(self) -> bool:
        """True when talking to api.openai.com itself (OpenAI's own deadlines apply)."""
        return self.endpoint == DEFAULT_BASE_URL

    # -- clients ---------------------------------------------------------------------------------

    def _key(self) -> str:
        if not self._api_key:
            raise AuthError(
                "no OpenAI API key: OPENAI_API_KEY is not set",
                provider=self.name,
                hint="export OPENAI_API_KEY=... (ftclient reads it from the environment and never stores it)",
            )
        return self._api_key

    def _client(self) -> openai.OpenAI:
        if self._sync is None:
            self._sync = openai.OpenAI(
                api_key=self._key(), base_url=self.endpoint, organization=self._organization,
                project=self._project, max_retries=self.max_retries, timeout=self.timeout_s,
                http_client=_http_client(),
            )
        return self._sync

    def _aclient(self) -> openai.AsyncOpenAI:
        if self._async is None:
            self._async = openai.AsyncOpenAI(
                api_key=self._key(), base_url=self.endpoint, organization=self._organization,
                project=self._project, max_retries=0, timeout=self.timeout_s, http_client=_async_http_client(),
            )
        return self._async

    def close(self) -> None:
        if self._sync is not None:
            self._sync.close()
            self._sync = None

    async def aclose(self) -> None:
        if self._async is not None:
            await self._async.close()
            self._async = None

    # -- errors ----------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        if self._api_key and len(self._api_key) >= 4:
            text = text.replace(self._api_key, "[redacted]")
        return text

    @contextmanager
    def _calls(self, what: str) -> Iterator[None]:
        """Translate whatever the SDK raises while doing ``what`` into ftclient's provider errors."""
        try:
            yield
        except openai.APIStatusError as exc:
            raise self._status_error(exc, what) from exc
        except openai.APITimeoutError as exc:
            raise ProviderUnavailable(
                f"{what}: {self.endpoint} did not answer within {self.timeout_s:.0f}s",
                provider=self.name, code="timeout",
                hint="try again; raise FTCLIENT_REQUEST_TIMEOUT_S if it keeps happening",
            ) from exc
        except openai.APIConnectionError as exc:
            cause = exc.__cause__ or exc
            raise ProviderUnavailable(
                f"{what}: cannot reach {self.endpoint} ({self._scrub(type(cause).__name__)})",
                provider=self.name, code="connection",
                hint="check the network and OPENAI_BASE_URL, then run the same command again",
            ) from exc

    def _status_error(self, exc: openai.APIStatusError, what: str) -> ProviderError:
        status = exc.status_code
        detail = self._scrub(_error_message(exc))
        message = f"{what}: {detail} (HTTP {status})"
        common: dict[str, Any] = {"provider": self.name, "status": status, "code": exc.code,
                                  "request_id": exc.request_id}
        lowered = detail.lower()
        if status == 401:
            return AuthError(message, hint="check OPENAI_API_KEY (and OPENAI_ORG_ID / OPENAI_PROJECT_ID)", **common)
        if status in (400, 403) and any(word in lowered for word in _ELIGIBILITY_WORDS):
            return PermissionError_(message, hint=ELIGIBILITY_HINT, **common)
        if status == 403:
            return PermissionError_(message, hint="this key's organisation or project may not do this", **common)
        if status == 404:
            return RemoteNotFoundError(message, hint="check the id; `ftclient jobs list` shows known jobs", **common)
        retry_after = retry_after_seconds(exc.response.headers)
        if status == 429:
            daily = exc.code == "daily_rate_limit_exceeded"
            return RateLimitError(
                message, retry_after_s=retry_after,
                hint="the daily fine-tuning quota for this model is used up; try tomorrow or another model"
                if daily else "wait a moment and run the same command again; it resumes where it stopped",
                **common,
            )
        if status >= 500:
            return ProviderUnavailable(
                message, retry_after_s=retry_after,
                hint="the provider is having trouble; run the same command again later", **common,
            )
        return InvalidRequestError(message, hint="fix the request as the message says", **common)

    # -- files -----------------------------------------------------------------------------------

    def upload_file(
        self, path: Path, *, purpose: str = "fine-tune", on_progress: ProgressCallback | None = None
    ) -> RemoteFile:
        """Send a file in one request (files up to ``capabilities.max_file_bytes``); larger files go
        through ``start_upload``/``upload_part``/``complete_upload`` in parts, in order."""
        size = path.stat().st_size
        if size > self.capabilities.max_file_bytes:
            return self._upload_in_parts(path, purpose, on_progress)
        data = path.read_bytes()  # bytes, so the SDK's retry can replay the body
        with self._calls(f"uploading {path.name}"):
            obj = self._client().files.create(file=(path.name, data, "application/jsonl"), purpose=purpose)  # type: ignore[arg-type]
        if on_progress:
            on_progress(size, size)
        return _remote_file(obj.to_dict())

    def _upload_in_parts(self, path: Path, purpose: str, on_progress: ProgressCallback | None) -> RemoteFile:
        import hashlib

        size = path.stat().st_size
        session = self.start_upload(filename=path.name, bytes=size, purpose=purpose)
        digest, part_ids, done = hashlib.md5(usedforsecurity=False), [], 0
        with path.open("rb") as fh:
            while chunk := fh.read(PART_SIZE):
                digest.update(chunk)
                part_ids.append(self.upload_part(session.id, chunk))
                done += len(chunk)
                if on_progress:
                    on_progress(done, size)
        return self.complete_upload(session.id, part_ids, md5=digest.hexdigest())

    def get_file(self, file_id: str) -> RemoteFile:
        with self._calls(f"reading file {file_id}"):
            return _remote_file(self._client().files.retrieve(file_id).to_dict())

    def download_file(self, file_id: str) -> bytes:
        with self._calls(f"downloading file {file_id}"):
            return self._client().files.content(file_id).read()

    def start_upload(
        self, *, filename: str, bytes: int, purpose: str = "fine-tune", mime_type: str = "text/jsonl"
    ) -> UploadSessionInfo:
        with self._calls(f"starting the upload of {filename}"):
            up = self._client().uploads.create(bytes=bytes, filename=filename, mime_type=mime_type, purpose=purpose)  # type: ignore[arg-type]
        return UploadSessionInfo(id=up.id, bytes=up.bytes, part_size=PART_SIZE, expires_at=up.expires_at,
                                 status=up.status)

    def upload_part(self, upload_id: str, data: bytes) -> str:
        with self._calls(f"sending a part of upload {upload_id}"):
            return self._client().uploads.parts.create(upload_id, data=data).id

    def complete_upload(self, upload_id: str, part_ids: Sequence[str], *, md5: str | None = None) -> RemoteFile:
        with self._calls(f"completing upload {upload_id}"):
            up = self._client().uploads.complete(upload_id, part_ids=list(part_ids), md5=md5 or openai.omit)
        if up.status != "completed" or up.file is None:
            raise ProviderUnavailable(
                f"upload {upload_id} ended {up.status!r} without a file", provider=self.name,
                hint="run the same command again; the upload starts over",
            )
        return _remote_file(up.file.to_dict())

    def cancel_upload(self, upload_id: str) -> None:
        with self._calls(f"cancelling upload {upload_id}"):
            self._client().uploads.cancel(upload_id)

    def preview_upload(self, path: Path, *, purpose: str = "fine-tune") -> list[dict[str, Any]]:
        size = path.stat().st_size
        if size <= self.capabilities.max_file_bytes:
            upload = {"filename": path.name, "bytes": size, "content_type": "application/jsonl"}
            return [{"method": "POST", "url": f"{self.endpoint}/files",
                     "multipart": {"purpose": purpose, "file": upload}}]
        parts = -(-size // PART_SIZE)
        return [
            {"method": "POST", "url": f"{self.endpoint}/uploads",
             "json": {"bytes": size, "filename": path.name, "mime_type": "text/jsonl", "purpose": purpose}},
            {"method": "POST", "url": f"{self.endpoint}/uploads/{{upload_id}}/parts", "repeat": parts,
             "multipart": {"data": f"<{PART_SIZE} bytes per part, the last {size - (parts - 1) * PART_SIZE}>"}},
            {"method": "POST", "url": f"{self.endpoint}/uploads/{{upload_id}}/complete",
             "json": {"part_ids": [f"<{parts} part ids in order>"], "md5": "<md5 of the file>"}},
        ]

    # -- jobs ------------------------------------------------------------------------------------

    def preview_create(self, spec: JobSpec) -> dict[str, Any]:
        return {"method": "POST", "url": f"{self.endpoint}/fine_tuning/jobs", "json": create_body(spec)}

    def create_job(self, spec: JobSpec) -> JobInfo:
        """One create request, never resent by the SDK (see the module docstring)."""
        body = create_body(spec)
        with self._calls(f"creating a fine-tuning job on {spec.model}"):
            job = self._client().with_options(max_retries=0).fine_tuning.jobs.create(**body)
        return self._job_info(job.to_dict())

    def find_jobs(self, metadata: Mapping[str, str]) -> list[JobInfo]:
        wanted = dict(metadata)
        found: list[JobInfo] = []
        with self._calls("looking up jobs by metadata"):
            page = self._client().fine_tuning.jobs.list(metadata=wanted, limit=100)
            for n, item in enumerate(page):
                data: dict[str, Any] = item.to_dict()
                meta = data.get("metadata") or {}
                if all(meta.get(k) == v for k, v in wanted.items()):
                    found.append(self._job_info(data))
                if n >= 100 * MAX_LIST_PAGES:
                    break
        return found

    def get_job(self, job_id: str) -> JobInfo:
        with self._calls(f"reading job {job_id}"):
            return self._job_info(self._client().fine_tuning.jobs.retrieve(job_id).to_dict())

    def list_jobs(self, limit: int = 20) -> list[JobInfo]:
        with self._calls("listing jobs"):
            page = self._client().fine_tuning.jobs.list(limit=min(limit, 100))
            jobs: list[JobInfo] = []
            for item in page:
                jobs.append(self._job_info(item.to_dict()))
                if len(jobs) >= limit:
                    break
        return jobs

    def list_events(self, job_id: str, after: str | None = None) -> list[JobEvent]:
        """Events oldest first. The API lists newest first and pages towards older ones, so this reads
        pages until it meets ``after`` (usually the first page, when polling often)."""
        newer: list[JobEvent] = []
        with self._calls(f"reading events of job {job_id}"):
            page = self._client().fine_tuning.jobs.list_events(job_id, limit=EVENTS_PAGE)
            for _ in range(MAX_LIST_PAGES):
                for item in page.data:
                    if after is not None and item.id == after:
                        return newer[::-1]
                    newer.append(_event(item.to_dict()))
                if not page.has_next_page():
                    break
                page = page.get_next_page()
        return newer[::-1]

    def list_checkpoints(self, job_id: str) -> list[Checkpoint]:
        with self._calls(f"reading checkpoints of job {job_id}"):
            items: list[dict[str, Any]] = [
                c.to_dict() for c in self._client().fine_tuning.jobs.checkpoints.list(job_id, limit=100)
            ]
        checkpoints = [
            Checkpoint(id=c["id"], created_at=int(c.get("created_at") or 0),
                       model=c.get("fine_tuned_model_checkpoint") or "", step=int(c.get("step_number") or 0),
                       metrics={k: float(v) for k, v in (c.get("metrics") or {}).items() if isinstance(v, int | float)})
            for c in items
        ]
        return sorted(checkpoints, key=lambda c: c.step)

    def cancel_job(self, job_id: str) -> JobInfo:
        with self._calls(f"cancelling job {job_id}"):
            return self._job_info(self._client().fine_tuning.jobs.cancel(job_id).to_dict())

    def pause_job(self, job_id: str) -> JobInfo:
        with self._calls(f"pausing job {job_id}"):
            return self._job_info(self._client().fine_tuning.jobs.pause(job_id).to_dict())

    def resume_job(self, job_id: str) -> JobInfo:
        with self._calls(f"resuming job {job_id}"):
            return self._job_info(self._client().fine_tuning.jobs.resume(job_id).to_dict())

    def _job_info(self, data: Mapping[str, Any]) -> JobInfo:
        return job_info_from_dict(data, provider=self.name)

    # -- inference -------------------------------------------------------------------------------

    async def chat(self, request: ChatRequest) -> ChatResult:
        kwargs: dict[str, Any] = {"model": request.model, "messages": list(request.messages),
                                  "temperature": request.temperature}
        if request.max_tokens is not None:
            kwargs["max_tokens"] = request.max_tokens
        if request.seed is not None:
            kwargs["seed"] = request.seed
        if request.tools:
            kwargs["tools"] = list(request.tools)
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
            batch = list(texts[start:start + MODERATION_BATCH])
            with self._calls("screening training data with the moderation endpoint"):
                response = self._client().moderations.create(model=MODERATION_MODEL, input=batch)
            for item in response.results:
                categories = item.categories.to_dict()
                results.append(ModerationResult(flagged=bool(item.flagged),
                                                categories=sorted(k for k, v in categories.items() if v)))
        return results


def create_body(spec: JobSpec) -> dict[str, Any]:
    """The JSON body of ``POST /fine_tuning/jobs`` for ``spec`` (hyperparameters under ``method``, not the
    deprecated top-level field); ``launch --dry-run`` prints exactly this."""
    allowed = {"supervised": ("n_epochs", "batch_size", "learning_rate_multiplier"),
               "dpo": ("n_epochs", "batch_size", "learning_rate_multiplier", "beta")}.get(spec.method, ())
    hyper = {k: spec.hyperparameters[k] for k in allowed if spec.hyperparameters.get(k) is not None}
    method: dict[str, Any] = {"type": spec.method}
    if hyper:
        method[spec.method] = {"hyperparameters": hyper}
    body: dict[str, Any] = {"model": spec.model, "training_file": spec.training_file, "method": method}
    if spec.validation_file:
        body["validation_file"] = spec.validation_file
    if spec.suffix:
        body["suffix"] = spec.suffix
    if spec.seed is not None:
        body["seed"] = spec.seed
    if spec.metadata:
        body["metadata"] = dict(spec.metadata)
    if spec.wandb_project:
        body["integrations"] = [{"type": "wandb", "wandb": {"project": spec.wandb_project}}]
    body.update(spec.extra)
    return body


def job_info_from_dict(data: Mapping[str, Any], *, provider: str = "openai") -> JobInfo:
    """A ``fine_tuning.job`` object as ftclient's JobInfo (tolerant of unknown statuses and ``error: {}``)."""
    raw_status = str(data.get("status") or "unknown")
    status = raw_status if raw_status in JOB_STATUSES else "unknown"
    method = data.get("method") or {}
    method_type = str(method.get("type") or "supervised")
    hyper = dict(((method.get(method_type) or {}).get("hyperparameters")) or data.get("hyperparameters") or {})
    error = data.get("error") or {}
    failed = status == "failed"
    info = JobInfo(
        id=str(data["id"]), provider=provider, status=status, raw_status=raw_status,
        model=str(data.get("model") or ""), created_at=int(data.get("created_at") or 0),
        fine_tuned_model=data.get("fine_tuned_model"), finished_at=data.get("finished_at"),
        estimated_finish=data.get("estimated_finish"), trained_tokens=data.get("trained_tokens"),
        training_file=data.get("training_file"), validation_file=data.get("validation_file"),
        method=method_type, hyperparameters={k: v for k, v in hyper.items() if v is not None},
        suffix=data.get("user_provided_suffix") or data.get("suffix"), seed=data.get("seed"),
        metadata={str(k): str(v) for k, v in (data.get("metadata") or {}).items()},
        result_files=tuple(data.get("result_files") or ()),
        error_code=error.get("code") if failed else None,
        error_message=error.get("message") if failed else None,
    )
    return info if failed or not info.error_code else replace(info, error_code=None)


def _event(data: Mapping[str, Any]) -> JobEvent:
    payload = data.get("data")
    return JobEvent(id=str(data["id"]), created_at=int(data.get("created_at") or 0),
                    level=str(data.get("level") or "info"), message=str(data.get("message") or ""),
                    type=str(data.get("type") or "message"), data=payload if isinstance(payload, dict) else {})


def _remote_file(data: Mapping[str, Any]) -> RemoteFile:
    return RemoteFile(id=str(data["id"]), bytes=int(data.get("bytes") or 0), filename=str(data.get("filename") or ""),
                      purpose=str(data.get("purpose") or ""), status=str(data.get("status") or "processed"),
                      created_at=int(data.get("created_at") or 0), status_details=data.get("status_details"))


def _error_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return exc.message or type(exc).__name__


def _http_client() -> Any:
    """The SDK's HTTP client, wrapped in ftclient's recorder when ``FTCLIENT_RECORD`` is set."""
    return None


def _async_http_client() -> Any:
    return None
