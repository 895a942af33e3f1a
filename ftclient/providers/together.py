"""Together AI behind ftclient's provider protocol, over plain HTTP (``httpx2``, the openai SDK's client).

Credentials: ``TOGETHER_API_KEY``; ``TOGETHER_BASE_URL`` points the adapter elsewhere (the local emulator,
a proxy), exactly like Together's own SDK. The key is sent as a bearer token, never stored, logged or
echoed, and scrubbed from every error message whatever the server put there.

Retries: ``_send`` is the one retry layer for ordinary calls: 5xx, 429 and dropped connections are tried
again up to ``max_retries`` times, pausing as ``retry-after-ms``/``retry-after`` say (else ``retry_backoff_s``
doubling up to 8 s). Never retried here: job creation (a resend after a lost response would start a second
paid job; ``ftclient.launching.create`` finds the job by the run token in its suffix first), endpoint
creation (a second endpoint bills twice) and ``chat`` (the evaluation runner paces and retries).

Uploads follow Together's SDK: files up to ``multipart_threshold_bytes`` (5 GiB) go through the redirect
flow (``POST /files`` -> 302 with a signed URL and the file id, ``PUT`` the bytes there, then
``POST /files/{id}/preprocess``); larger ones through ``/files/multipart/initiate|complete|abort``.

Tuned models answer only from a dedicated endpoint (``capabilities.needs_deployment``); see
``ftclient.deploy`` for the lifecycle, which always sets an inactivity timeout.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx2

from ftclient._version import __version__
from ftclient.errors import (
    AuthError,
    FtclientError,
    InvalidRequestError,
    PermissionError_,
    ProviderError,
    ProviderUnavailable,
    RemoteNotFoundError,
)
from ftclient.providers import together_wire as wire
from ftclient.providers.base import (
    Capabilities,
    ChatRequest,
    ChatResult,
    Checkpoint,
    Endpoint,
    JobEvent,
    JobInfo,
    JobSpec,
    ModerationResult,
    ProgressCallback,
    RateLimitState,
    RemoteFile,
)
from ftclient.providers.headers import rate_limit_state, retry_after_seconds
from ftclient.providers.retries import Hints, RetryLayer, scrub, status_error, unreachable

if TYPE_CHECKING:
    from ftclient.config import Settings

DEFAULT_BASE_URL = "https://api.together.ai/v1"
HINTS = Hints(
    auth="check TOGETHER_API_KEY (a key from api.together.ai/settings)",
    permission="this key's account may not do this (credits, plan)",
    unavailable="Together is having trouble; run the same command again later",
)
MULTIPART_THRESHOLD = 5 * 1024**3
PART_SIZE = 250 * 1024**2
MAX_PARTS = 250
MIN_PART_SIZE = 5 * 1024**2
DEFAULT_INACTIVE_TIMEOUT_MIN = 30
RUN_KEY = "ftclient_run"
ESTIMATE_KEYS = ("estimated_total_price", "estimated_train_token_count")
"""The run id key ``ftclient.launching.create`` puts in a job spec's metadata."""


class TogetherProvider:
    """Together's files, fine-tunes, endpoints and chat APIs."""

    name = "together"
    capabilities = Capabilities(
        methods=frozenset({"supervised", "dpo"}),
        pause_resume=False,
        checkpoints=True,
        batch=False,
        needs_deployment=True,
        job_metadata=True,  # a run token in the suffix, see find_jobs
        moderation=False,
        max_file_bytes=MULTIPART_THRESHOLD,
        max_upload_bytes=100 * 1024**3,
    )

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        max_retries: int = 4,
        timeout_s: float = 120.0,
        retry_backoff_s: float = 0.5,
        multipart_threshold_bytes: int = MULTIPART_THRESHOLD,
        part_size_bytes: int = PART_SIZE,
        wandb_key: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._api_key = api_key
        self.endpoint = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.max_retries = max(0, max_retries)
        self.timeout_s = timeout_s
        self.retry_backoff_s = max(0.0, retry_backoff_s)
        self.multipart_threshold_bytes = multipart_threshold_bytes
        self.part_size_bytes = part_size_bytes
        self._wandb_key = wandb_key
        self._sleep = sleep
        self._sync: httpx2.Client | None = None
        self._async: httpx2.AsyncClient | None = None
        self._hourly: dict[str, float | None] = {}

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> TogetherProvider:
        """Credentials from the environment (as Together's SDK reads them); retries/timeout from settings."""
        env = os.environ
        return cls(
            api_key=env.get("TOGETHER_API_KEY") or None,
            base_url=env.get("TOGETHER_BASE_URL") or None,
            max_retries=settings.max_retries if settings else 4,
            timeout_s=settings.request_timeout_s if settings else 120.0,
            retry_backoff_s=settings.retry_backoff_s if settings else 0.5,
            wandb_key=env.get("WANDB_API_KEY") or None,
        )

    @property
    def is_official(self) -> bool:
        return self.endpoint in {DEFAULT_BASE_URL, "https://api.together.xyz/v1"}

    # -- clients ---------------------------------------------------------------------------------

    def _key(self) -> str:
        if not self._api_key:
            raise AuthError(
                "no Together API key: TOGETHER_API_KEY is not set",
                provider=self.name,
                hint="export TOGETHER_API_KEY=... (ftclient reads it from the environment and never stores it)",
            )
        return self._api_key

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._key()}", "User-Agent": f"ftclient/{__version__}"}

    def _client(self) -> httpx2.Client:
        if self._sync is None:
            self._sync = httpx2.Client(
                timeout=self.timeout_s, follow_redirects=False, transport=_transport("recording_transport")
            )
        return self._sync

    def _aclient(self) -> httpx2.AsyncClient:
        if self._async is None:
            self._async = httpx2.AsyncClient(
                timeout=self.timeout_s, follow_redirects=False, transport=_transport("async_recording_transport")
            )
        return self._async

    def close(self) -> None:
        if self._sync is not None:
            self._sync.close()
            self._sync = None

    def __del__(self) -> None:
        # Handles that are simply dropped (a Job, a one-off command) still give their sockets back.
        with contextlib.suppress(Exception):
            self.close()

    async def aclose(self) -> None:
        if self._async is not None:
            await self._async.aclose()
            self._async = None

    # -- errors and the retry layer --------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        return scrub(text, self._api_key)

    def _send_once(self, what: str, method: str, path: str, **kwargs: Any) -> httpx2.Response:
        url = path if path.startswith("http") else f"{self.endpoint}{path}"
        headers = {**self._headers(), **kwargs.pop("headers", {})}
        try:
            response = self._client().request(method, url, headers=headers, **kwargs)
        except httpx2.TransportError as exc:  # timeouts are transport errors too
            raise unreachable(
                what,
                self.endpoint,
                provider=self.name,
                timeout_s=self.timeout_s,
                timed_out=isinstance(exc, httpx2.TimeoutException),
                cause=type(exc).__name__,
                base_url_var="TOGETHER_BASE_URL",
            ) from exc
        if response.status_code >= 400:
            raise self._status_error(response, what)
        return response

    def _send(self, what: str, method: str, path: str, *, retry: bool = True, **kwargs: Any) -> httpx2.Response:
        if not retry:
            return self._send_once(what, method, path, **kwargs)
        return self._retrying(lambda: self._send_once(what, method, path, **kwargs))

    def _retrying(self, call: Callable[[], httpx2.Response]) -> httpx2.Response:
        """The one retry layer: ``call`` again on transient errors, at most ``max_retries`` more times."""
        return RetryLayer(self.max_retries, self.retry_backoff_s, self._sleep).run(call)

    def _json(self, what: str, method: str, path: str, *, retry: bool = True, **kwargs: Any) -> Any:
        response = self._send(what, method, path, retry=retry, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise ProviderUnavailable(
                f"{what}: the answer was not JSON (HTTP {response.status_code})",
                provider=self.name,
                status=response.status_code,
                request_id=_request_id(response),
                hint="the provider or a proxy in between answered oddly; run the same command again",
            ) from exc

    def _status_error(self, response: httpx2.Response, what: str) -> ProviderError:
        code, detail = _error_body(response)
        return status_error(
            f"{what}: {self._scrub(detail)} (HTTP {response.status_code})",
            provider=self.name,
            status=response.status_code,
            code=code,
            request_id=_request_id(response),
            retry_after_s=retry_after_seconds(response.headers),
            hints=HINTS,
        )

    # -- files -----------------------------------------------------------------------------------

    def upload_file(
        self, path: Path, *, purpose: str = "fine-tune", on_progress: ProgressCallback | None = None
    ) -> RemoteFile:
        return self.upload_named(path, filename=path.name, purpose=purpose, on_progress=on_progress)

    def upload_named(
        self, path: Path, *, filename: str, purpose: str = "fine-tune", on_progress: ProgressCallback | None = None
    ) -> RemoteFile:
        """Upload ``path`` under ``filename`` (ftclient names uploads after their content, see ``find_files``)."""
        size = path.stat().st_size
        if size > self.capabilities.max_upload_bytes:
            raise InvalidRequestError(
                f"{path} is {size / 1024**3:.1f} GiB; Together takes files up to 100 GB",
                provider=self.name,
                hint="split the dataset or drop examples",
            )
        if size > self.multipart_threshold_bytes:
            return self._upload_in_parts(path, filename, purpose, on_progress)
        return self._upload_redirect(path, filename, purpose, on_progress)

    def find_files(self, filename: str, *, purpose: str = "fine-tune") -> list[RemoteFile]:
        """Files with exactly this name and purpose, newest first (Together lists every file at once)."""
        data = self._json("listing files", "GET", "/files").get("data") or []
        found = [
            wire.remote_file_from_dict(item)
            for item in data
            if item.get("filename") == filename and item.get("purpose") == purpose
        ]
        return sorted(found, key=lambda f: f.created_at, reverse=True)

    def _upload_redirect(
        self, path: Path, filename: str, purpose: str, on_progress: ProgressCallback | None
    ) -> RemoteFile:
        form = {"purpose": purpose, "file_name": filename, "file_type": _file_type(path)}
        what = f"uploading {path.name}"
        answer = self._send(what, "POST", "/files", data=form)
        location = answer.headers.get("location")
        file_id = answer.headers.get("x-together-file-id")
        if answer.status_code != 302 or not location or not file_id:
            raise ProviderUnavailable(
                f"{what}: expected a redirect to a signed upload URL, got HTTP {answer.status_code}",
                provider=self.name,
                status=answer.status_code,
                request_id=_request_id(answer),
                hint="run the same command again",
            )
        data = path.read_bytes()  # bytes: a retried PUT sends the same body again
        self._put(what, location, data, {})
        if on_progress:
            on_progress(len(data), len(data))
        obj = self._json(f"finishing the upload of {path.name}", "POST", f"/files/{file_id}/preprocess")
        return wire.remote_file_from_dict(obj)

    def _put(self, what: str, url: str, data: bytes, headers: Mapping[str, str]) -> httpx2.Response:
        """A PUT to a signed URL: no Together credentials go there."""

        def once() -> httpx2.Response:
            try:
                response = self._client().put(url, content=data, headers=dict(headers))
            except httpx2.TransportError as exc:
                raise ProviderUnavailable(
                    f"{what}: the upload connection failed ({type(exc).__name__})",
                    provider=self.name,
                    code="connection",
                    hint="run the same command again",
                ) from exc
            if response.status_code >= 400:
                raise self._status_error(response, what)
            return response

        return self._retrying(once)

    def _upload_in_parts(
        self, path: Path, filename: str, purpose: str, on_progress: ProgressCallback | None
    ) -> RemoteFile:
        size = path.stat().st_size
        part_size = max(MIN_PART_SIZE if self.part_size_bytes >= MIN_PART_SIZE else 1, self.part_size_bytes)
        parts = max(1, math.ceil(size / part_size))
        if parts > MAX_PARTS:
            parts = MAX_PARTS
            part_size = math.ceil(size / parts)
        session = self._json(
            f"starting the upload of {path.name}",
            "POST",
            "/files/multipart/initiate",
            json={
                "file_name": filename,
                "file_size": size,
                "num_parts": parts,
                "purpose": purpose,
                "file_type": _file_type(path),
            },
        )
        upload_id, file_id = str(session["upload_id"]), str(session["file_id"])
        targets = {int(p["PartNumber"]): p for p in session.get("parts") or []}
        done: list[dict[str, Any]] = []
        sent = 0
        try:
            with path.open("rb") as fh:
                for number in range(1, parts + 1):
                    chunk = fh.read(part_size)
                    target = targets.get(number)
                    if target is None:
                        raise ProviderUnavailable(
                            f"the upload session of {path.name} has no URL for part {number}",
                            provider=self.name,
                            hint="run the same command again",
                        )
                    answer = self._put(
                        f"sending part {number}/{parts} of {path.name}",
                        str(target["URL"]),
                        chunk,
                        target.get("Headers") or {},
                    )
                    done.append({"part_number": number, "etag": answer.headers.get("etag", "").strip('"')})
                    sent += len(chunk)
                    if on_progress:
                        on_progress(sent, size)
            obj = self._json(
                f"completing the upload of {path.name}",
                "POST",
                "/files/multipart/complete",
                json={"upload_id": upload_id, "file_id": file_id, "parts": done},
            )
        except (FtclientError, KeyboardInterrupt):
            self._abort_upload(upload_id, file_id)
            raise
        return wire.remote_file_from_dict(obj.get("file", obj) if isinstance(obj, dict) else obj)

    def _abort_upload(self, upload_id: str, file_id: str) -> None:
        # The session expires on its own anyway; the original error is what matters.
        with contextlib.suppress(ProviderError):
            self._send(
                f"aborting upload {upload_id}",
                "POST",
                "/files/multipart/abort",
                retry=False,
                json={"upload_id": upload_id, "file_id": file_id},
            )

    def get_file(self, file_id: str) -> RemoteFile:
        return wire.remote_file_from_dict(self._json(f"reading file {file_id}", "GET", f"/files/{file_id}"))

    def download_file(self, file_id: str) -> bytes:
        return self._send(f"downloading file {file_id}", "GET", f"/files/{file_id}/content").content

    def preview_upload(
        self, path: Path, *, purpose: str = "fine-tune", filename: str | None = None
    ) -> list[dict[str, Any]]:
        size = path.stat().st_size
        if size <= self.multipart_threshold_bytes:
            form = {"purpose": purpose, "file_name": filename or path.name, "file_type": _file_type(path)}
            return [
                {"method": "POST", "url": f"{self.endpoint}/files", "form": form, "expect": "302 + signed URL"},
                {"method": "PUT", "url": "<signed URL from Location>", "bytes": size},
                {"method": "POST", "url": f"{self.endpoint}/files/<file id>/preprocess"},
            ]
        parts = min(MAX_PARTS, math.ceil(size / self.part_size_bytes))
        return [
            {"method": "POST", "url": f"{self.endpoint}/files/multipart/initiate", "json": {"num_parts": parts}},
            {"method": "PUT", "url": "<signed part URL>", "repeat": parts},
            {"method": "POST", "url": f"{self.endpoint}/files/multipart/complete"},
        ]

    # -- jobs ------------------------------------------------------------------------------------

    def preview_create(self, spec: JobSpec) -> dict[str, Any]:
        body = wire.create_body(_with_token(spec), wandb_key="<WANDB_API_KEY>" if self._wandb_key else None)
        return {"method": "POST", "url": f"{self.endpoint}/fine-tunes", "json": body}

    def estimate_price(self, spec: JobSpec) -> dict[str, Any]:
        """Together's own estimate for ``spec`` (needs the uploaded training file id)."""
        body: dict[str, Any] = {"training_file": spec.training_file, "model": spec.model}
        if spec.validation_file:
            body["validation_file"] = spec.validation_file
        epochs = spec.hyperparameters.get("n_epochs")
        if epochs is not None:
            body["n_epochs"] = epochs
        full = wire.create_body(self._with_lora_rank(spec))
        body["training_method"] = full["training_method"]
        body["training_type"] = full["training_type"]
        result: dict[str, Any] = self._json(
            f"estimating the price of a job on {spec.model}", "POST", "/fine-tunes/estimate-price", json=body
        )
        return result

    def _with_lora_rank(self, spec: JobSpec) -> JobSpec:
        """LoRA jobs name their rank and alpha (the spec requires both); like Together's SDK, the default rank is
        the model's largest (from its limits) and alpha twice the rank."""
        hyper = dict(spec.hyperparameters)
        if not hyper.get("lora", True) or ("lora_r" in hyper and "lora_alpha" in hyper):
            return spec
        if "lora_r" not in hyper:
            hyper["lora_r"] = int(self.model_limits(spec.model)["lora_training"]["max_rank"])
        hyper.setdefault("lora_alpha", 2 * int(hyper["lora_r"]))
        return replace(spec, hyperparameters=hyper)

    def model_limits(self, model: str) -> dict[str, Any]:
        """``GET /fine-tunes/models/limits``: epochs, batch sizes, learning rates, LoRA ranks (404: not tunable)."""
        result: dict[str, Any] = self._json(
            f"reading the fine-tuning limits of {model}",
            "GET",
            "/fine-tunes/models/limits",
            params={"model_name": model},
        )
        return result

    def create_job(self, spec: JobSpec) -> JobInfo:
        """Ask for Together's price estimate, refuse when it says the account may not proceed, then create
        the job with one request (never resent here, see the module docstring)."""
        spec = self._with_lora_rank(_with_token(spec))
        estimate = self.estimate_price(spec)
        if estimate.get("allowed_to_proceed") is False:
            price = estimate.get("estimated_total_price")
            limit = estimate.get("user_limit")
            raise PermissionError_(
                f"Together estimates this job at ${price} and says the account may not proceed (credit limit ${limit})",
                provider=self.name,
                code="not_allowed_to_proceed",
                hint="add credits on together.ai, or train fewer epochs / a smaller model",
            )
        body = wire.create_body(spec, wandb_key=self._wandb_key)
        obj = self._json(f"creating a fine-tuning job on {spec.model}", "POST", "/fine-tunes", retry=False, json=body)
        info = self._job(obj)
        # Together's own estimate travels with the new job's description, so `launch` shows it.
        shown = {k: str(estimate[k]) for k in ESTIMATE_KEYS if estimate.get(k) is not None}
        return replace(info, metadata={**info.metadata, **shown})

    def find_jobs(self, metadata: Mapping[str, str]) -> list[JobInfo]:
        """Jobs whose suffix carries the run token of ``metadata["ftclient_run"]``; Together keeps no other
        metadata, so any other key cannot be matched and nothing is returned for it."""
        if set(metadata) != {RUN_KEY}:
            return []
        token = wire.run_token(metadata[RUN_KEY])
        return [job for job in self.list_jobs(limit=1000) if job.metadata.get(wire.RUN_TOKEN_KEY) == token]

    def get_job(self, job_id: str) -> JobInfo:
        return self._job(self._json(f"reading job {job_id}", "GET", f"/fine-tunes/{job_id}"))

    def list_jobs(self, limit: int = 20) -> list[JobInfo]:
        data = self._json("listing jobs", "GET", "/fine-tunes").get("data") or []
        jobs = [self._job(item) for item in data]
        jobs.sort(key=lambda j: j.created_at, reverse=True)
        return jobs[:limit]

    def list_events(self, job_id: str, after: str | None = None) -> list[JobEvent]:
        """The job's event log and its training metrics as ``metrics`` events, oldest first. Together sends
        the whole log every time; ``after`` cuts it at an event id ftclient gave earlier."""
        raw = self._json(f"reading events of job {job_id}", "GET", f"/fine-tunes/{job_id}/events").get("data") or []
        events = [wire.event_from_dict(e, event_id=f"{job_id}:event:{i}") for i, e in enumerate(raw)]
        total = max((int(e.data.get("total_steps") or 0) for e in events), default=0) or None
        try:
            points = (
                self._json(f"reading metrics of job {job_id}", "GET", f"/fine-tunes/{job_id}/metrics").get("metrics")
                or []
            )
        except RemoteNotFoundError:
            points = []
        metrics = [m for p in points if (m := wire.metrics_event(p, job_id=job_id, total_steps=total))]
        merged = sorted(events + metrics, key=lambda e: e.created_at)
        if after is None:
            return merged
        ids = [e.id for e in merged]
        return merged[ids.index(after) + 1 :] if after in ids else merged

    def list_checkpoints(self, job_id: str) -> list[Checkpoint]:
        info = self.get_job(job_id)
        raw = self._json(f"reading checkpoints of job {job_id}", "GET", f"/fine-tunes/{job_id}/checkpoints")
        checkpoints = [
            wire.checkpoint_from_dict(c, job_id=job_id, final_model=info.fine_tuned_model)
            for c in raw.get("data") or []
        ]
        return sorted(checkpoints, key=lambda c: c.step)

    def cancel_job(self, job_id: str) -> JobInfo:
        return self._job(self._json(f"cancelling job {job_id}", "POST", f"/fine-tunes/{job_id}/cancel"))

    def pause_job(self, job_id: str) -> JobInfo:
        raise InvalidRequestError(
            "Together cannot pause a fine-tuning job", provider=self.name, hint="cancel it, or let it finish"
        )

    def resume_job(self, job_id: str) -> JobInfo:
        raise InvalidRequestError(
            "Together cannot resume a fine-tuning job",
            provider=self.name,
            hint="launch again with from_checkpoint in the job's extra settings",
        )

    def _job(self, data: Mapping[str, Any]) -> JobInfo:
        return wire.job_info_from_dict(data, provider=self.name)

    # -- endpoints -------------------------------------------------------------------------------

    def list_hardware(self, model: str) -> list[dict[str, Any]]:
        """Hardware that can host ``model``, with its price per minute (404: the model cannot be hosted)."""
        data = self._json(f"listing hardware for {model}", "GET", "/hardware", params={"model": model})
        items: list[dict[str, Any]] = list(data.get("data") or [])
        for item in items:
            self._hourly[str(item.get("id"))] = wire.hourly_usd(item)
        return items

    def create_endpoint(
        self, model: str, *, hardware: str | None = None, inactive_timeout_min: int = DEFAULT_INACTIVE_TIMEOUT_MIN
    ) -> Endpoint:
        """A dedicated endpoint for ``model`` on ``hardware`` (default: the cheapest available), one replica,
        stopped by Together after ``inactive_timeout_min`` idle minutes (always set: at least 1)."""
        options = self.list_hardware(model)
        if hardware is None:
            usable = [h for h in options if (h.get("availability") or {}).get("status", "available") == "available"]
            if not usable:
                raise ProviderUnavailable(
                    f"no hardware is available right now to host {model}",
                    provider=self.name,
                    hint="try again later, or pick hardware with --hardware",
                )
            usable.sort(key=lambda h: wire.hourly_usd(h) or math.inf)
            hardware = str(usable[0]["id"])
        body = {
            "model": model,
            "hardware": hardware,
            "autoscaling": {"min_replicas": 1, "max_replicas": 1},
            "display_name": f"ftclient {model.rsplit('/', 1)[-1]}"[:100],
            "state": "STARTED",
            "inactive_timeout": max(1, int(inactive_timeout_min)),
        }
        obj = self._json(f"creating an endpoint for {model}", "POST", "/endpoints", retry=False, json=body)
        return self._endpoint(obj)

    def get_endpoint(self, endpoint_id: str) -> Endpoint:
        return self._endpoint(self._json(f"reading endpoint {endpoint_id}", "GET", f"/endpoints/{endpoint_id}"))

    def list_endpoints(self) -> list[Endpoint]:
        data = self._json("listing endpoints", "GET", "/endpoints", params={"type": "dedicated"})
        return [self._endpoint(e) for e in data.get("data") or []]

    def start_endpoint(self, endpoint_id: str) -> Endpoint:
        return self._patch_state(endpoint_id, "STARTED", "starting")

    def stop_endpoint(self, endpoint_id: str) -> Endpoint:
        return self._patch_state(endpoint_id, "STOPPED", "stopping")

    def _patch_state(self, endpoint_id: str, state: str, verb: str) -> Endpoint:
        obj = self._json(f"{verb} endpoint {endpoint_id}", "PATCH", f"/endpoints/{endpoint_id}", json={"state": state})
        return self._endpoint(obj)

    def delete_endpoint(self, endpoint_id: str) -> None:
        self._send(f"deleting endpoint {endpoint_id}", "DELETE", f"/endpoints/{endpoint_id}")

    def _endpoint(self, data: Mapping[str, Any]) -> Endpoint:
        hardware = str(data.get("hardware") or "")
        return wire.endpoint_from_dict(data, cost_per_hour_usd=self._hourly.get(hardware))

    # -- inference -------------------------------------------------------------------------------

    async def chat(self, request: ChatRequest) -> ChatResult:
        body: dict[str, Any] = {
            "model": request.model,
            "messages": list(request.messages),
            "temperature": request.temperature,
        }
        if request.max_tokens is not None:
            body["max_tokens"] = request.max_tokens
        if request.seed is not None:
            body["seed"] = request.seed
        if request.tools:
            body["tools"] = list(request.tools)
        what = f"asking {request.model}"
        started = time.perf_counter()
        try:
            response = await self._aclient().post(
                f"{self.endpoint}/chat/completions", json=body, headers=self._headers()
            )
        except httpx2.TimeoutException as exc:
            raise ProviderUnavailable(
                f"{what}: no answer within {self.timeout_s:.0f}s", provider=self.name, code="timeout"
            ) from exc
        except httpx2.TransportError as exc:
            raise ProviderUnavailable(
                f"{what}: cannot reach {self.endpoint} ({type(exc).__name__})", provider=self.name, code="connection"
            ) from exc
        latency = time.perf_counter() - started
        if response.status_code >= 400:
            raise self._status_error(response, what)
        data = response.json()
        choices = data.get("choices") or []
        choice = choices[0] if choices else {}
        usage = data.get("usage") or {}
        return ChatResult(
            text=str((choice.get("message") or {}).get("content") or ""),
            model=str(data.get("model") or request.model),
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            latency_s=latency,
            request_id=_request_id(response),
            finish_reason=choice.get("finish_reason"),
            rate_limits=together_rate_limits(response.headers),
        )

    def moderate(self, texts: Sequence[str]) -> list[ModerationResult]:
        raise InvalidRequestError(
            "Together has no moderation endpoint ftclient can screen training data with",
            provider=self.name,
            hint="launch without --moderate",
        )


def together_rate_limits(headers: Mapping[str, str]) -> RateLimitState:
    """OpenAI-style ``x-ratelimit-*-requests/-tokens`` when sent; otherwise Together's own
    ``x-ratelimit-limit``/``-remaining``/``-reset`` (requests) and ``x-tokenlimit-*`` (tokens)."""
    state = rate_limit_state(headers)
    if state.limit_requests is not None or state.limit_tokens is not None:
        return state

    def num(name: str) -> float | None:
        value = headers.get(name)
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None

    def whole(name: str) -> int | None:
        value = num(name)
        return None if value is None else int(value)

    return RateLimitState(
        limit_requests=whole("x-ratelimit-limit"),
        remaining_requests=whole("x-ratelimit-remaining"),
        reset_requests_s=num("x-ratelimit-reset"),
        limit_tokens=whole("x-tokenlimit-limit"),
        remaining_tokens=whole("x-tokenlimit-remaining"),
        reset_tokens_s=None,
    )


def _with_token(spec: JobSpec) -> JobSpec:
    """Put the run token (from ``ftclient_run`` metadata) where ``create_body`` puts it into the suffix."""
    run_id = spec.metadata.get(RUN_KEY)
    if not run_id or wire.RUN_TOKEN_KEY in spec.metadata:
        return spec
    token = "<run token>" if run_id.startswith("<") else wire.run_token(run_id)
    return replace(spec, metadata={**spec.metadata, wire.RUN_TOKEN_KEY: token})


def _file_type(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    return suffix if suffix in {"jsonl", "parquet", "csv"} else "jsonl"


def _request_id(response: httpx2.Response) -> str | None:
    for name in ("x-request-id", "x-together-request-id", "cf-ray"):
        value = response.headers.get(name)
        if value:
            return value
    return None


def _error_body(response: httpx2.Response) -> tuple[str | None, str]:
    """(code, message) from ``{"error": {"message", "type", "code"}}`` or ``{"message": ...}``."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return None, text[:300] or response.reason_phrase or f"HTTP {response.status_code}"
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            code = inner.get("code") or inner.get("type")
            return (str(code) if code else None), str(inner.get("message") or body)
        if isinstance(inner, str):
            return None, inner
    return None, str(body)[:300]


def _transport(factory: str) -> Any:
    """ftclient's recording transport when ``FTCLIENT_RECORD`` is set and the recorder is installed."""
    try:
        module = importlib.import_module("ftclient.recording")
    except ImportError:
        return None
    make = getattr(module, factory, None)
    return make() if make is not None else None
