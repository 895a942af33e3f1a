"""Fireworks AI behind ftclient's provider protocol, over plain HTTP (``httpx2``; no Fireworks SDK).

Credentials: ``FIREWORKS_API_KEY`` and ``FIREWORKS_ACCOUNT_ID`` (every resource is account-scoped);
``FIREWORKS_BASE_URL`` points the adapter elsewhere (the local emulator, a proxy), as in Fireworks' SDK.

Jobs: ``supervisedFineTuningJobs`` for SFT, ``dpoJobs`` for DPO. A job ftclient creates gets the id
``ftc-<run id>``, so a create whose answer was lost is found by asking for that id (``find_jobs``) and a
resend gets 409 ALREADY_EXISTS instead of a second paid job. Fireworks has no event log: ``list_events``
reports the state and progress, plus the training metrics from the job's metrics file.

Never retried here: job creation (see above) and ``chat`` (the evaluation runner paces and retries).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import httpx2

from ftclient.errors import InvalidRequestError, ProviderError, RemoteNotFoundError
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
from ftclient.providers.fireworks import wire
from ftclient.providers.fireworks.datasets import SIMPLE_UPLOAD_LIMIT, FireworksDatasets
from ftclient.providers.fireworks.http import is_conflict
from ftclient.providers.fireworks.serving import FireworksServing
from ftclient.providers.headers import rate_limit_state
from ftclient.providers.rest import post_chat
from ftclient.providers.retries import request_settings

if TYPE_CHECKING:
    from ftclient.config import Settings

COLLECTIONS = {"supervised": "supervisedFineTuningJobs", "dpo": "dpoJobs"}
ID_PARAMS = {"supervised": "supervisedFineTuningJobId", "dpo": "dpoJobId"}


class FireworksProvider(FireworksDatasets, FireworksServing):
    """Fireworks' datasets, SFT and DPO jobs, deployments and OpenAI-compatible chat."""

    capabilities = Capabilities(
        methods=frozenset({"supervised", "dpo"}),
        pause_resume=False,  # jobs can be resumed (``:resume``) but not paused
        checkpoints=False,
        batch=False,
        needs_deployment=True,
        job_metadata=True,  # the run id is the job id, see find_jobs
        moderation=False,
        max_file_bytes=SIMPLE_UPLOAD_LIMIT,
        max_upload_bytes=100 * 1024**3,  # no published cap; large files go to a signed URL
    )

    def __init__(
        self,
        *,
        api_key: str | None = None,
        account_id: str | None = None,
        base_url: str | None = None,
        max_retries: int = 4,
        timeout_s: float = 120.0,
        retry_backoff_s: float = 0.5,
        simple_upload_limit: int = SIMPLE_UPLOAD_LIMIT,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(
            api_key=api_key,
            account_id=account_id,
            base_url=base_url,
            max_retries=max_retries,
            timeout_s=timeout_s,
            retry_backoff_s=retry_backoff_s,
            sleep=sleep,
        )
        self.simple_upload_limit = simple_upload_limit
        self._kinds: dict[str, str] = {}
        """Job id -> method, learned from creates and reads (SFT and DPO jobs live in different collections)."""

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> FireworksProvider:
        env = os.environ
        return cls(
            api_key=env.get("FIREWORKS_API_KEY") or None,
            account_id=env.get("FIREWORKS_ACCOUNT_ID") or None,
            base_url=env.get("FIREWORKS_BASE_URL") or None,
            **request_settings(settings),
        )

    # -- jobs ------------------------------------------------------------------------------------

    def _job_id(self, spec: JobSpec) -> str | None:
        run_id = spec.metadata.get(wire.RUN_KEY)
        return wire.job_id_for_run(run_id) if run_id else None

    def preview_create(self, spec: JobSpec) -> dict[str, Any]:
        job_id = self._job_id(spec) if not str(spec.metadata.get(wire.RUN_KEY, "")).startswith("<") else "ftc-<run id>"
        body = wire.create_body(spec, account=self._account_id or "<FIREWORKS_ACCOUNT_ID>", job_id=job_id)
        collection = COLLECTIONS.get(spec.method, COLLECTIONS["supervised"])
        url = f"{self.endpoint}/{collection}?{ID_PARAMS.get(spec.method, ID_PARAMS['supervised'])}={job_id}"
        return {"method": "POST", "url": url, "json": body}

    def estimate_price(self, spec: JobSpec) -> dict[str, Any]:
        """Fireworks' own estimate (``:estimateCost``, SFT only: "uses the dataset, base model, and number of
        epochs"), as ``{"estimated_total_price": USD}``; DPO has no estimate endpoint and gets ``{}``."""
        if spec.method != "supervised":
            return {}
        body = wire.create_body(spec, account=self.account, job_id=None)
        answer = self._json(
            f"estimating the cost of a job on {spec.model}", "POST", "/supervisedFineTuningJobs:estimateCost", json=body
        )
        usd = wire.money_usd(answer.get("estimatedCost"))
        return {} if usd is None else {"estimated_total_price": round(usd, 6)}

    def create_job(self, spec: JobSpec) -> JobInfo:
        """Estimate the cost (SFT), then create the job under its run's id with one request; a 409 means an
        earlier try got through, and that job is returned."""
        if spec.method not in COLLECTIONS:
            raise InvalidRequestError(
                f"Fireworks tunes with supervised or dpo, not {spec.method!r}", provider=self.name, hint="--method"
            )
        estimate = self.estimate_price(spec)
        job_id = self._job_id(spec)
        body = wire.create_body(spec, account=self.account, job_id=job_id)
        collection = COLLECTIONS[spec.method]
        params = {ID_PARAMS[spec.method]: job_id} if job_id else None
        try:
            obj = self._json(
                f"creating a fine-tuning job on {spec.model}",
                "POST",
                f"/{collection}",
                retry=False,
                params=params,
                json=body,
            )
        except ProviderError as exc:
            if not (job_id and is_conflict(exc)):
                raise
            obj = self._json(f"reading job {job_id}", "GET", f"/{collection}/{job_id}")
        info = self._job(obj, spec.method)
        shown = {k: str(v) for k, v in estimate.items()}
        return replace(info, metadata={**info.metadata, **shown})

    def find_jobs(self, metadata: Mapping[str, str]) -> list[JobInfo]:
        """The job of run ``metadata["ftclient_run"]`` (its id is derived from the run id); Fireworks jobs keep
        no other metadata, so any other key matches nothing."""
        if set(metadata) != {wire.RUN_KEY}:
            return []
        job_id = wire.job_id_for_run(metadata[wire.RUN_KEY])
        try:
            return [self.get_job(job_id)]
        except RemoteNotFoundError:
            return []

    def _locate(self, job_id: str) -> tuple[str, dict[str, Any]]:
        """(method, job object) for a job id or resource name, trying SFT first, then DPO."""
        ident = wire.short_id(job_id)
        known = self._kinds.get(ident)
        if "/dpoJobs/" in job_id:
            known = "dpo"
        order = [known] if known else ["supervised", "dpo"]
        last: RemoteNotFoundError | None = None
        for method in order:
            try:
                obj = self._json(f"reading job {ident}", "GET", f"/{COLLECTIONS[method]}/{ident}")
            except RemoteNotFoundError as exc:
                last = exc
                continue
            self._kinds[ident] = method
            return method, obj
        assert last is not None
        raise last

    def get_job(self, job_id: str) -> JobInfo:
        method, obj = self._locate(job_id)
        return self._job(obj, method)

    def list_jobs(self, limit: int = 20) -> list[JobInfo]:
        jobs: list[JobInfo] = []
        for method, collection in COLLECTIONS.items():
            token: str | None = None
            while True:
                params: dict[str, Any] = {"pageSize": 200}
                if token:
                    params["pageToken"] = token
                page = self._json("listing jobs", "GET", f"/{collection}", params=params)
                jobs += [self._job(item, method) for item in page.get(collection) or []]
                token = page.get("nextPageToken") or None
                if not token or len(jobs) >= max(limit, 200):
                    break
        jobs.sort(key=lambda j: j.created_at, reverse=True)
        return jobs[:limit]

    def list_events(self, job_id: str, after: str | None = None) -> list[JobEvent]:
        """The job's state and progress as one event, and each point of its metrics file as a ``metrics``
        event (step, epoch, train_loss), oldest first."""
        method, obj = self._locate(job_id)
        info = self._job(obj, method)
        events = self._metric_events(info.id, method, obj)
        percent = info.metadata.get("progress_percent")
        message = info.raw_status + (f" ({percent}%)" if percent else "")
        if info.error_message:
            message += f": {info.error_message}"
        when = wire.rfc3339_to_epoch(obj.get("updateTime")) or info.created_at
        level = "error" if info.status == "failed" else "info"
        steps = max((int(e.data["step"]) for e in events), default=0)
        # The state event's id carries the last step seen with it: once the state moves on, that id is gone
        # from the list, and the step it names still says where a follower's cursor was.
        state_id = f"{info.id}:state:{info.raw_status}:{steps}"
        events.append(JobEvent(id=state_id, created_at=when, level=level, message=message))
        events.sort(key=lambda e: e.created_at)
        ids = [e.id for e in events]
        if after in ids:
            return events[ids.index(after) + 1 :]
        seen = _cursor_step(after, info.id)
        if seen is None:
            return events
        return [e for e in events if e.id == state_id or (e.type == "metrics" and int(e.data["step"]) > seen)]

    def _metric_events(self, job_id: str, method: str, obj: Mapping[str, Any]) -> list[JobEvent]:
        url = obj.get("metricsFileSignedUrl")
        if method == "dpo" and not url:
            try:
                url = self._json(
                    f"asking for the metrics of {job_id}", "GET", f"/dpoJobs/{job_id}:getMetricsFileEndpoint"
                ).get("signedUrl")
            except RemoteNotFoundError:
                url = None
        if not url:
            return []
        try:
            text = self._retrying(lambda: self._client().get(str(url))).text
        except (httpx2.HTTPError, ProviderError):
            return []
        events: list[JobEvent] = []
        for line in text.splitlines():
            try:
                point = json.loads(line)
            except ValueError:
                continue
            if isinstance(point, dict) and point.get("step") is not None:
                events.append(wire_metric(job_id, point))
        return events

    def list_checkpoints(self, job_id: str) -> list[Checkpoint]:
        return []

    def cancel_job(self, job_id: str) -> JobInfo:
        method, _ = self._locate(job_id)
        ident = wire.short_id(job_id)
        self._json(f"cancelling job {ident}", "POST", f"/{COLLECTIONS[method]}/{ident}:cancel", json={})
        return self.get_job(ident)

    def pause_job(self, job_id: str) -> JobInfo:
        raise InvalidRequestError(
            "Fireworks cannot pause a fine-tuning job", provider=self.name, hint="cancel it, or let it finish"
        )

    def resume_job(self, job_id: str) -> JobInfo:
        """``:resume``: a failed or cancelled job continues from its last checkpoint."""
        method, _ = self._locate(job_id)
        ident = wire.short_id(job_id)
        obj = self._json(f"resuming job {ident}", "POST", f"/{COLLECTIONS[method]}/{ident}:resume", json={})
        return self._job(obj, method)

    def _job(self, data: Mapping[str, Any], method: str) -> JobInfo:
        info = wire.job_info_from_dict(data, account=self._account_id or "", method=method)
        self._kinds[info.id] = method
        return info

    # -- inference -------------------------------------------------------------------------------

    async def chat(self, request: ChatRequest) -> ChatResult:
        """One completion from ``/inference/v1/chat/completions`` (OpenAI's shape); a tuned model answers only
        while its deployment is up (404 otherwise)."""
        return await post_chat(self, f"{self.inference_url}/chat/completions", request, rate_limit_state)

    def moderate(self, texts: Sequence[str]) -> list[ModerationResult]:
        raise InvalidRequestError(
            "Fireworks has no moderation endpoint ftclient can screen training data with",
            provider=self.name,
            hint="launch without --moderate",
        )


def _cursor_step(after: str | None, job_id: str) -> int | None:
    """The last step a follower had seen, from an event id this adapter gave out (``<job>:step:<n>`` or
    ``<job>:state:<STATE>:<n>``); None for no cursor or one from elsewhere."""
    if not after or not after.startswith(f"{job_id}:"):
        return None
    tail = after.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else None


def wire_metric(job_id: str, point: Mapping[str, Any]) -> JobEvent:
    """One line of a metrics file (``{"step", "epoch", "train/loss", "eval/loss", "time"}``) as a metrics event."""
    step = int(point["step"])
    data: dict[str, Any] = {"step": step}
    if point.get("total_steps"):
        data["total_steps"] = int(point["total_steps"])
    for src, dst in (("train/loss", "train_loss"), ("eval/loss", "valid_loss"), ("epoch", "epoch")):
        if point.get(src) is not None:
            data[dst] = float(point[src])
    return JobEvent(
        id=f"{job_id}:step:{step}",
        created_at=wire.rfc3339_to_epoch(point.get("time")) or 0,
        level="info",
        message=f"Step {step}",
        type="metrics",
        data=data,
    )
