"""Following jobs until they end: incremental events, progress, ETA, adaptive polling.

Each round reads every unfinished job and only the events after the last one seen (the last seen id is
kept in the registry, so a ``jobs watch`` from another process or a later day carries on where the
previous one stopped). The pause between rounds starts at the poll interval, grows while nothing changes
(up to ``max_interval_s``) and drops back as soon as something does.

Retries: the provider used here sends with no retries of its own; a poll request that fails with a
transient error is retried here (the one retry layer of this call path): after the server's
``retry_after_s``, else ``backoff_s`` doubling, at most ``max_attempts`` times per request.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

from ftclient.errors import ProviderUnavailable, RateLimitError, UnknownModelError, UnknownProviderError, WaitTimeout

if TYPE_CHECKING:
    from ftclient.providers.base import JobEvent, JobInfo, Provider
    from ftclient.registry import Registry

T = TypeVar("T")
GROWTH = 1.5
MAX_POLL_ATTEMPTS = 5


@dataclass(frozen=True)
class JobProgress:
    """What a live display shows for one job."""

    job_id: str
    status: str
    model: str
    step: int | None = None
    total_steps: int | None = None
    train_loss: float | None = None
    valid_loss: float | None = None
    full_valid_loss: float | None = None
    eta_s: float | None = None
    fine_tuned_model: str | None = None
    trained_tokens: int | None = None

    @property
    def fraction(self) -> float | None:
        if self.step is None or not self.total_steps:
            return None
        return min(1.0, self.step / self.total_steps)


def apply_event(progress: JobProgress, event: JobEvent) -> JobProgress:
    """Fold a metrics event into the progress (other events leave it unchanged)."""
    data = event.data or {}
    if event.type != "metrics" and "step" not in data:
        return progress

    def num(key: str) -> float | None:
        value = data.get(key)
        return float(value) if isinstance(value, int | float) else None

    step = data.get("step")
    total = data.get("total_steps")
    return replace(
        progress,
        step=int(step) if isinstance(step, int | float) else progress.step,
        total_steps=int(total) if isinstance(total, int | float) else progress.total_steps,
        train_loss=num("train_loss") if num("train_loss") is not None else progress.train_loss,
        valid_loss=num("valid_loss") if num("valid_loss") is not None else progress.valid_loss,
        full_valid_loss=num("full_valid_loss") if num("full_valid_loss") is not None else progress.full_valid_loss,
    )


def actual_cost(info: JobInfo) -> float | None:
    """What the finished job cost, from the tokens the provider says it trained on."""
    if info.trained_tokens is None:
        return None
    from ftclient import pricing

    try:
        return pricing.price_for(info.provider, info.model).training_cost(info.trained_tokens)
    except (UnknownModelError, UnknownProviderError):  # no offline price for this model or provider
        return None


class Follower:
    """Poll a set of jobs until all of them are finished (or the timeout passes)."""

    def __init__(
        self,
        provider: Provider,
        registry: Registry | None,
        job_ids: Iterable[str],
        *,
        min_interval_s: float,
        max_interval_s: float = 60.0,
        timeout_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        wall: Callable[[], float] = time.time,
        on_event: Callable[[str, JobEvent], None] | None = None,
        on_update: Callable[[JobProgress], None] | None = None,
        max_attempts: int = MAX_POLL_ATTEMPTS,
        backoff_s: float = 0.5,
    ) -> None:
        self.provider = provider
        self.registry = registry
        self.job_ids = list(dict.fromkeys(job_ids))
        self.min_interval_s = max(0.0, min_interval_s)
        self.max_interval_s = max(self.min_interval_s, max_interval_s)
        self.timeout_s = timeout_s
        self.clock, self.sleep, self.wall = clock, sleep, wall
        self.on_event, self.on_update = on_event, on_update
        self.max_attempts = max(1, max_attempts)
        self.backoff_s = backoff_s
        self.last_event: dict[str, str | None] = {}
        self.progress: dict[str, JobProgress] = {}
        self.infos: dict[str, JobInfo] = {}
        self._step_seen: dict[str, tuple[float, int]] = {}
        for job_id in self.job_ids:
            record = registry.get_job(job_id) if registry else None
            self.last_event[job_id] = record.last_event_id if record else None

    def run(self) -> dict[str, JobInfo]:
        started = self.clock()
        interval = self.min_interval_s
        while True:
            changed = self.poll_once()
            if self.job_ids and all(self.infos.get(j) and self.infos[j].terminal for j in self.job_ids):
                return {j: self.infos[j] for j in self.job_ids}
            interval = self.min_interval_s if changed else min(interval * GROWTH, self.max_interval_s)
            interval = self._clamp_to_eta(interval)
            if self.timeout_s is not None:
                remaining = self.timeout_s - (self.clock() - started)
                if remaining <= 0:
                    pending = [j for j in self.job_ids if not self.infos.get(j) or not self.infos[j].terminal]
                    raise WaitTimeout(
                        f"job{'s' if len(pending) > 1 else ''} {', '.join(pending)}",
                        self.timeout_s,
                        hint=f"the job keeps running; follow it with `ftclient jobs watch {pending[0]}`",
                    )
                interval = min(interval, remaining)
            self.sleep(interval)

    def poll_once(self) -> bool:
        """One round over the unfinished jobs; True when anything changed."""
        changed = False
        for job_id in self.job_ids:
            previous = self.infos.get(job_id)
            if previous is not None and previous.terminal:
                continue
            info = self._request(self.provider.get_job, job_id)
            events = self._request(self.provider.list_events, job_id, self.last_event.get(job_id))
            progress = self.progress.get(job_id) or JobProgress(job_id=job_id, status=info.status, model=info.model)
            for event in events:
                progress = apply_event(progress, event)
                if self.on_event:
                    self.on_event(job_id, event)
            if events:
                self.last_event[job_id] = events[-1].id
            progress = replace(
                progress,
                status=info.status,
                fine_tuned_model=info.fine_tuned_model,
                trained_tokens=info.trained_tokens,
                eta_s=self._eta(job_id, info, progress),
            )
            if info.status == "succeeded" and progress.total_steps:
                progress = replace(progress, step=progress.total_steps, eta_s=0.0)
            changed = changed or bool(events) or previous is None or previous.status != info.status
            self.infos[job_id] = info
            self.progress[job_id] = progress
            if self.registry is not None:
                cost = actual_cost(info) if info.terminal else None
                self.registry.update_job(info, actual_cost_usd=cost, last_event_id=self.last_event.get(job_id))
            if self.on_update:
                self.on_update(progress)
        return changed

    def _request(self, call: Callable[..., T], *args: Any) -> T:
        """One poll request, retried on transient errors (this path's single retry layer, with a stop)."""
        for attempt in range(1, self.max_attempts + 1):
            try:
                return call(*args)
            except (ProviderUnavailable, RateLimitError) as exc:
                if attempt == self.max_attempts:
                    raise
                asked = exc.retry_after_s
                pause = asked if asked is not None else self.backoff_s * 2.0 ** (attempt - 1)
                self.sleep(min(pause, self.max_interval_s))
        raise AssertionError("unreachable")

    def _eta(self, job_id: str, info: JobInfo, progress: JobProgress) -> float | None:
        """Time left: from the step rate seen while following (measured on this machine's clock), else
        from the provider's ``estimated_finish``."""
        if info.terminal:
            return 0.0
        if progress.step is not None and progress.total_steps:
            now = self.clock()
            first = self._step_seen.setdefault(job_id, (now, progress.step))
            steps_done = progress.step - first[1]
            if steps_done > 0 and now > first[0]:
                rate = steps_done / (now - first[0])
                return max(0.0, (progress.total_steps - progress.step) / rate)
        if info.estimated_finish:
            return max(0.0, float(info.estimated_finish) - self.wall())
        return None

    def _clamp_to_eta(self, interval: float) -> float:
        etas = [p.eta_s for p in self.progress.values() if p.eta_s is not None and p.status == "running"]
        if etas:
            interval = min(interval, max(self.min_interval_s, min(etas)))
        return interval
