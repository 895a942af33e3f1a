"""Launch fine-tuning jobs and hold on to them: ``launch()``, ``plan_launch()`` and the ``Job`` handle.

    import ftclient

    job = ftclient.launch("ftdata/tickets", model="gpt-4.1-mini-2025-04-14", epochs=3)
    info = job.wait(on_event=lambda e: print(e.message))
    print(info.fine_tuned_model)

A launch runs preflight (locally: model, method, limits, cost, provider deadlines), optionally screens the
data with the provider's moderation endpoint, uploads each file once (reusing earlier uploads of the same
bytes), then creates one job per configuration exactly once (``ftclient.launching.create``). Launching an
identical configuration again re-attaches to its job instead of creating another; ``force_new=True``
makes a deliberate repeat. Lists of models or hyperparameter values make a sweep: one job per
combination, tracked as one group.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ftclient.config import Settings, resolve
from ftclient.errors import InvalidRequestError
from ftclient.launching.create import CONFIG_KEY, DATASET_KEY, RUN_KEY, SWEEP_KEY, new_run_id
from ftclient.launching.follow import Follower, JobProgress
from ftclient.launching.lock import launch_lock, lock_paths
from ftclient.launching.plan import LaunchPlan, LaunchStep, PlannedJob, open_registry, plan_launch
from ftclient.launching.steps import (
    attach_if_launched_elsewhere,
    create_job,
    find_existing_jobs,
    screen_training_data,
    upload_files,
)
from ftclient.providers import get_provider
from ftclient.providers.credentials import endpoint_identity

if TYPE_CHECKING:
    from ftclient.providers.base import Checkpoint, JobEvent, JobInfo, Provider
    from ftclient.registry import Registry

__all__ = ["Job", "JobProgress", "LaunchPlan", "LaunchStep", "PlannedJob", "launch", "plan_launch", "wait_all"]


def launch(
    dataset: Path | str | None = None,
    *,
    provider: str | None = None,
    model: str | Sequence[str] | None = None,
    method: str | None = None,
    epochs: int | Sequence[int] | None = None,
    batch_size: int | Sequence[int] | None = None,
    lr_multiplier: float | Sequence[float] | None = None,
    beta: float | Sequence[float] | None = None,
    suffix: str | None = None,
    seed: int | None = None,
    validation: bool = True,
    wandb_project: str | None = None,
    moderate: bool = False,
    force_new: bool = False,
    yes: bool = False,
    settings: Settings | None = None,
    registry: Registry | None = None,
    on_step: Callable[[LaunchStep], None] | None = None,
    on_upload_progress: Callable[[str, int, int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    today: dt.date | None = None,
) -> Job | list[Job]:
    """Upload and create (or re-attach to) the job(s); returns a ``Job``, or a list for a sweep.

    Raises UserInputError/DatasetError before anything is sent when preflight fails, and ProviderError
    subclasses when the provider refuses (a "not eligible" refusal is never retried). ``yes`` creates the
    job even when the provider's own price estimate advises against it (Together's ``allowed_to_proceed``).
    """
    settings = settings or resolve()
    registry = open_registry(registry, settings)
    plan = plan_launch(
        dataset,
        provider=provider,
        model=model,
        method=method,
        epochs=epochs,
        batch_size=batch_size,
        lr_multiplier=lr_multiplier,
        beta=beta,
        suffix=suffix,
        seed=seed,
        validation=validation,
        wandb_project=wandb_project,
        force_new=force_new,
        settings=settings,
        registry=registry,
        today=today,
        ask_shutdown_dates=True,
    )
    step = on_step or (lambda _s: None)
    for job in plan.jobs:
        step(
            LaunchStep(
                "preflight",
                f"{job.config.describe()}: {job.preflight.examples} examples, "
                f"{job.preflight.billed_tokens:,} billed tokens",
                {"config_key": job.config_key},
            )
        )
    for note in plan.notes:
        step(LaunchStep("note", note))
    adapter = get_provider(plan.provider, settings)

    def waiting() -> None:
        step(LaunchStep("wait", "another launch of this dataset is under way; waiting for it to create its job"))

    try:
        _provider_checks(plan, adapter, yes=yes)
        with launch_lock(lock_paths(settings.home, plan.endpoint, plan.dataset.dataset_sha256), on_wait=waiting):
            return _execute(
                plan,
                adapter,
                registry,
                settings,
                step=step,
                moderate=moderate,
                force_new=force_new,
                on_upload_progress=on_upload_progress,
                sleep=sleep,
            )
    except BaseException:
        close = getattr(adapter, "close", None)
        if callable(close):
            close()
        raise


def _provider_checks(plan: LaunchPlan, adapter: Provider, *, yes: bool) -> None:
    """The provider's own rules for each new job (e.g. Together's per-model limits), read from the provider
    before anything is uploaded; and whether to go ahead when its price estimate advises against a job."""
    from ftclient.launching.plan import job_spec
    from ftclient.providers.base import PriceConfirmation, SpecChecks

    if isinstance(adapter, SpecChecks):
        for job in plan.jobs:
            if job.existing_job_id is None:
                spec = job_spec(
                    job.config,
                    "<training file id>",
                    "<validation file id>" if job.config.use_validation else None,
                    run_id="<run id>",
                    key=job.config_key,
                    dataset_sha256=plan.dataset.dataset_sha256,
                    sweep_id=plan.sweep_id,
                )
                adapter.check_spec(spec, online=True)
    if yes and isinstance(adapter, PriceConfirmation):
        adapter.proceed_over_estimate()


def _execute(
    plan: LaunchPlan,
    adapter: Provider,
    registry: Registry,
    settings: Settings,
    *,
    step: Callable[[LaunchStep], None],
    moderate: bool,
    force_new: bool,
    on_upload_progress: Callable[[str, int, int], None] | None,
    sleep: Callable[[float], None],
) -> Job | list[Job]:
    """Moderate, upload and create what the plan says, re-attaching to what already exists."""
    if registry.get_dataset(plan.dataset.dataset_sha256) is None:
        registry.record_dataset(plan.dataset.manifest, plan.dataset.path)
    if plan.sweep_id:
        registry.record_sweep(
            plan.sweep_id,
            plan.dataset.dataset_sha256,
            [
                {
                    "config_key": j.config_key,
                    "model": j.config.model,
                    "method": j.config.method,
                    "hyperparameters": dict(j.config.hyperparameters),
                }
                for j in plan.jobs
            ],
        )

    existing, pending_runs = ({}, {}) if force_new else find_existing_jobs(plan, adapter, registry, step)
    files: dict[str, str] = {}
    if any(j.config_key not in existing for j in plan.jobs):
        if moderate:
            screen_training_data(plan, adapter, step)
        files = upload_files(plan, adapter, registry, settings, step=step, on_progress=on_upload_progress, sleep=sleep)
    handles: list[Job] = []
    for job in plan.jobs:
        run_id: str | None = None
        if job.config_key not in existing and not force_new:
            other = attach_if_launched_elsewhere(plan, job, adapter, registry, step)
            if other is not None:
                existing[job.config_key] = other
        reused = job.config_key in existing
        if reused:
            info = existing[job.config_key]
        else:
            run_id = pending_runs.get(job.config_key) or new_run_id()
            info = create_job(
                plan,
                job,
                adapter,
                registry,
                settings=settings,
                files=files,
                run_id=run_id,
                record_run=job.config_key not in pending_runs,
                step=step,
                sleep=sleep,
            )
        handles.append(
            Job(
                info.id,
                provider=adapter,
                registry=registry,
                settings=settings,
                info=info,
                run_id=run_id,
                reused=reused,
                sweep_id=plan.sweep_id,
            )
        )
    return handles if plan.sweep_id else handles[0]


ENDED = frozenset({"cancelled", "succeeded", "failed"})
"""Statuses a job never leaves."""


class Job:
    """A handle on one fine-tuning job: refresh it, follow it, cancel, pause or resume it."""

    def __init__(
        self,
        job_id: str,
        *,
        provider: Provider | None = None,
        registry: Registry | None = None,
        settings: Settings | None = None,
        info: JobInfo | None = None,
        run_id: str | None = None,
        sweep_id: str | None = None,
        reused: bool = False,
        provider_name: str | None = None,
    ) -> None:
        self.id = job_id
        self.settings = settings or resolve()
        self.registry = registry
        record = registry.get_job(job_id) if registry else None
        self.provider_name = (
            provider.name if provider else provider_name or (record.provider if record else self.settings.provider)
        )
        self.provider = provider or get_provider(self.provider_name, self.settings)
        self.info = info
        self.run_id = run_id or (record.run_id if record else None)
        self.sweep_id = sweep_id or (record.sweep_id if record else None)
        self.reused = reused

    def __repr__(self) -> str:
        return f"Job({self.id!r}, status={self.status!r})"

    @classmethod
    def attach(
        cls,
        job_id: str,
        *,
        settings: Settings | None = None,
        registry: Registry | None = None,
        provider: str | None = None,
    ) -> Job:
        """A handle on an existing job (launched here, elsewhere or from the provider's console)."""
        settings = settings or resolve()
        registry = open_registry(registry, settings)
        job = cls(job_id, registry=registry, settings=settings, provider_name=provider)
        info = job.refresh()
        if registry.get_job(job_id) is None:
            registry.record_job(
                info,
                endpoint=endpoint_identity(job.provider),
                run_id=info.metadata.get(RUN_KEY),
                sweep_id=info.metadata.get(SWEEP_KEY),
                config_key=info.metadata.get(CONFIG_KEY),
                dataset_sha256=info.metadata.get(DATASET_KEY),
            )
        return job

    @property
    def status(self) -> str | None:
        return self.info.status if self.info else None

    @property
    def fine_tuned_model(self) -> str | None:
        return self.info.fine_tuned_model if self.info else None

    def refresh(self) -> JobInfo:
        self.info = self.provider.get_job(self.id)
        if self.registry is not None and self.registry.get_job(self.id) is not None:
            self.registry.update_job(self.info)
        return self.info

    def wait(
        self,
        on_event: Callable[[JobEvent], None] | None = None,
        timeout: float | None = None,
        *,
        on_update: Callable[[JobProgress], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        poll_interval: float | None = None,
        max_interval: float | None = None,
    ) -> JobInfo:
        """Follow the job until it ends and return its final state (whatever the outcome: check
        ``.status``). Raises WaitTimeout after ``timeout`` seconds; the job keeps running."""
        final = wait_all(
            [self],
            on_event=(lambda _j, e: on_event(e)) if on_event else None,
            timeout=timeout,
            on_update=on_update,
            clock=clock,
            sleep=sleep,
            poll_interval=poll_interval,
            max_interval=max_interval,
        )
        return final[self.id]

    def events(self, after: str | None = None) -> list[JobEvent]:
        return self.provider.list_events(self.id, after=after)

    def checkpoints(self) -> list[Checkpoint]:
        return self.provider.list_checkpoints(self.id)

    def cancel(self) -> JobInfo:
        """Cancel the job. Idempotent: a job that has already ended (cancelled, succeeded or failed, before
        or during this call) comes back as it is, so the caller sees how it ended; nothing is sent."""
        current = self.provider.get_job(self.id)
        if current.status in ENDED:
            return self._record(current)
        try:
            return self._record(self.provider.cancel_job(self.id))
        except InvalidRequestError:
            after = self.provider.get_job(self.id)
            if after.status in ENDED:
                return self._record(after)
            raise

    def pause(self) -> JobInfo:
        return self._record(self.provider.pause_job(self.id))

    def resume(self) -> JobInfo:
        return self._record(self.provider.resume_job(self.id))

    def close(self) -> None:
        """Release the provider's HTTP connections (handles of one launch share them)."""
        close = getattr(self.provider, "close", None)
        if callable(close):
            close()

    def __enter__(self) -> Job:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _record(self, info: JobInfo) -> JobInfo:
        self.info = info
        if self.registry is not None and self.registry.get_job(self.id) is not None:
            self.registry.update_job(info)
        return info


def wait_all(
    jobs: Sequence[Job],
    *,
    on_event: Callable[[str, JobEvent], None] | None = None,
    timeout: float | None = None,
    on_update: Callable[[JobProgress], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    poll_interval: float | None = None,
    max_interval: float | None = None,
) -> dict[str, JobInfo]:
    """Follow several jobs (a sweep) together until all have ended; returns their final states."""
    if not jobs:
        return {}
    first = jobs[0]
    settings = first.settings
    # Polls send without the SDK's retries: the follower's loop is the one retry layer here.
    poller = get_provider(first.provider_name, replace(settings, max_retries=0))
    interval = settings.poll_interval_s if poll_interval is None else poll_interval
    follower = Follower(
        poller,
        first.registry,
        [j.id for j in jobs],
        min_interval_s=interval,
        max_interval_s=max_interval if max_interval is not None else max(60.0, 12 * interval),
        timeout_s=timeout,
        clock=clock,
        sleep=sleep,
        on_event=on_event,
        on_update=on_update,
        max_attempts=settings.max_retries + 1,
        backoff_s=settings.retry_backoff_s,
    )
    try:
        final = follower.run()
    finally:
        for job in jobs:
            if job.id in follower.infos:
                job.info = follower.infos[job.id]
        close = getattr(poller, "close", None)
        if callable(close):
            close()
    return final
