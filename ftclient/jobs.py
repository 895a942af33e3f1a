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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftclient.config import Settings, resolve
from ftclient.errors import ProviderError
from ftclient.launching.config import LaunchConfig, expand, sweep_id_for
from ftclient.launching.create import (
    CONFIG_KEY,
    DATASET_KEY,
    RUN_KEY,
    SWEEP_KEY,
    UNFINISHED_OK,
    create_idempotent,
    find_existing,
    new_run_id,
)
from ftclient.launching.follow import Follower, JobProgress
from ftclient.launching.preflight import DatasetRef, Preflight, TokenScan, moderation_error, preflight, resolve_dataset
from ftclient.launching.preflight import screen as moderation_screen
from ftclient.launching.upload import ensure_uploaded
from ftclient.providers import get_provider
from ftclient.providers.base import JobSpec, RequestPreview

if TYPE_CHECKING:
    from ftclient.providers.base import Checkpoint, JobEvent, JobInfo, Provider
    from ftclient.registry import Registry

__all__ = ["Job", "LaunchPlan", "LaunchStep", "PlannedJob", "launch", "plan_launch", "wait_all"]


@dataclass(frozen=True)
class LaunchStep:
    """Something a launch did or decided, for a live display (``kind``: preflight, note, moderation,
    upload, reuse, create, retry, attach)."""

    kind: str
    message: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PlannedJob:
    config: LaunchConfig
    config_key: str
    preflight: Preflight
    request: Mapping[str, Any]
    """The create request as it will be sent (file ids are placeholders until the files are uploaded)."""
    existing_job_id: str | None = None


@dataclass(frozen=True)
class LaunchPlan:
    """Everything a launch will send and spend, worked out without sending anything."""

    dataset: DatasetRef
    provider: str
    endpoint: str
    uploads: Sequence[Mapping[str, Any]]
    jobs: Sequence[PlannedJob]
    sweep_id: str | None
    notes: Sequence[str] = ()

    @property
    def total_cost_usd(self) -> float | None:
        costs = [j.preflight.cost_usd for j in self.jobs if j.existing_job_id is None]
        return None if any(c is None for c in costs) else float(sum(c for c in costs if c is not None))

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": {"path": str(self.dataset.path), "dataset_sha256": self.dataset.dataset_sha256},
            "provider": self.provider, "endpoint": self.endpoint, "sweep_id": self.sweep_id,
            "uploads": [dict(u) for u in self.uploads],
            "jobs": [{"config_key": j.config_key, "model": j.config.model, "method": j.config.method,
                      "hyperparameters": dict(j.config.hyperparameters), "existing_job_id": j.existing_job_id,
                      "request": dict(j.request), "epochs": j.preflight.epochs,
                      "tokens_per_epoch": j.preflight.tokens_per_epoch, "billed_tokens": j.preflight.billed_tokens,
                      "estimated_cost_usd": j.preflight.cost_usd, "price_as_of": j.preflight.price_as_of,
                      "examples": j.preflight.examples, "validation_examples": j.preflight.validation_examples}
                     for j in self.jobs],
            "estimated_total_cost_usd": self.total_cost_usd,
            "notes": list(self.notes),
        }


def _open_registry(registry: Registry | None, settings: Settings) -> Registry:
    if registry is not None:
        return registry
    from ftclient.registry import Registry

    return Registry(settings.registry_path)


def plan_launch(
    dataset: Path | str | None = None, *, provider: str | None = None, model: str | Sequence[str] | None = None,
    method: str | None = None, epochs: int | Sequence[int] | None = None,
    batch_size: int | Sequence[int] | None = None, lr_multiplier: float | Sequence[float] | None = None,
    beta: float | Sequence[float] | None = None, suffix: str | None = None, seed: int | None = None,
    validation: bool = True, wandb_project: str | None = None, force_new: bool = False,
    settings: Settings | None = None, registry: Registry | None = None, today: dt.date | None = None,
) -> LaunchPlan:
    """Resolve the dataset, expand the configurations and run preflight: sends nothing."""
    settings = settings or resolve()
    registry = _open_registry(registry, settings)
    ref = resolve_dataset(dataset, settings, registry)
    target = ref.manifest.get("target") or {}
    provider_name = provider or target.get("provider") or settings.provider
    adapter = get_provider(provider_name, settings)
    endpoint = str(getattr(adapter, "endpoint", ""))
    official = bool(getattr(adapter, "is_official", True))
    configs = expand(models=model or target.get("model") or settings.model, method=method or ref.method,
                     epochs=epochs, batch_size=batch_size, lr_multiplier=lr_multiplier, beta=beta, suffix=suffix,
                     seed=seed, use_validation=validation and ref.validation is not None, wandb_project=wandb_project)
    scans: dict[tuple[str, str], TokenScan] = {}
    checks = [preflight(ref, c, provider=provider_name, methods=adapter.capabilities.methods, official=official,
                        today=today, scans=scans) for c in configs]
    keys = [c.key(ref.dataset_sha256, provider_name) for c in configs]
    sweep_id = sweep_id_for(ref.dataset_sha256, keys) if len(configs) > 1 else None
    preview = adapter if isinstance(adapter, RequestPreview) else None
    uploads = []
    for split, path, sha in (("train", ref.train, ref.train_sha256), ("validation", ref.validation,
                                                                        ref.validation_sha256)):
        if path is None or sha is None or (split == "validation" and not any(c.use_validation for c in configs)):
            continue
        known = registry.find_upload(provider_name, sha, endpoint=endpoint)
        uploads.append({"split": split, "path": str(path), "bytes": path.stat().st_size, "sha256": sha,
                        "reuse_file_id": known.file_id if known else None,
                        "requests": [] if known or preview is None else preview.preview_upload(path)})
    planned = []
    for config, key, check in zip(configs, keys, checks, strict=True):
        spec = _spec(config, "<training file id>", "<validation file id>" if config.use_validation else None,
                     run_id="<run id>", key=key, dataset_sha256=ref.dataset_sha256, sweep_id=sweep_id)
        request = preview.preview_create(spec) if preview else {"job": spec.__dict__}
        existing = None if force_new else _known_job(registry, provider_name, endpoint, key)
        planned.append(PlannedJob(config, key, check, request, existing))
    notes = list(dict.fromkeys(n for c in checks for n in c.notes))
    return LaunchPlan(ref, provider_name, endpoint, uploads, planned, sweep_id, notes)


def _known_job(registry: Registry, provider: str, endpoint: str, key: str) -> str | None:
    for run in registry.find_runs(provider, endpoint, key):
        record = registry.get_job(run.job_id) if run.job_id else None
        if record is not None and record.status not in UNFINISHED_OK:
            return record.job_id
    return None


def _spec(config: LaunchConfig, training_file: str, validation_file: str | None, *, run_id: str, key: str,
          dataset_sha256: str, sweep_id: str | None) -> JobSpec:
    metadata = {RUN_KEY: run_id, CONFIG_KEY: key, DATASET_KEY: dataset_sha256}
    if sweep_id:
        metadata[SWEEP_KEY] = sweep_id
    return JobSpec(model=config.model, training_file=training_file, validation_file=validation_file,
                   method=config.method, hyperparameters=dict(config.hyperparameters), suffix=config.suffix,
                   seed=config.seed, metadata=metadata, wandb_project=config.wandb_project)


def launch(
    dataset: Path | str | None = None, *, provider: str | None = None, model: str | Sequence[str] | None = None,
    method: str | None = None, epochs: int | Sequence[int] | None = None,
    batch_size: int | Sequence[int] | None = None, lr_multiplier: float | Sequence[float] | None = None,
    beta: float | Sequence[float] | None = None, suffix: str | None = None, seed: int | None = None,
    validation: bool = True, wandb_project: str | None = None, moderate: bool = False, force_new: bool = False,
    settings: Settings | None = None, registry: Registry | None = None,
    on_step: Callable[[LaunchStep], None] | None = None, on_upload_progress: Callable[[str, int, int], None] | None
    = None, sleep: Callable[[float], None] = time.sleep, today: dt.date | None = None,
) -> Job | list[Job]:
    """Upload and create (or re-attach to) the job(s); returns a ``Job``, or a list for a sweep.

    Raises UserInputError/DatasetError before anything is sent when preflight fails, and ProviderError
    subclasses when the provider refuses (a "not eligible" refusal is never retried).
    """
    settings = settings or resolve()
    registry = _open_registry(registry, settings)
    plan = plan_launch(dataset, provider=provider, model=model, method=method, epochs=epochs, batch_size=batch_size,
                       lr_multiplier=lr_multiplier, beta=beta, suffix=suffix, seed=seed, validation=validation,
                       wandb_project=wandb_project, force_new=force_new, settings=settings, registry=registry,
                       today=today)
    step = on_step or (lambda _s: None)
    for job in plan.jobs:
        step(LaunchStep("preflight", f"{job.config.describe()}: {job.preflight.examples} examples, "
                        f"{job.preflight.billed_tokens:,} billed tokens", {"config_key": job.config_key}))
    for note in plan.notes:
        step(LaunchStep("note", note))
    adapter = get_provider(plan.provider, settings)
    if plan.sweep_id:
        registry.record_sweep(plan.sweep_id, plan.dataset.dataset_sha256,
                              [{"config_key": j.config_key, "model": j.config.model, "method": j.config.method,
                                "hyperparameters": dict(j.config.hyperparameters)} for j in plan.jobs])
    existing, pending_runs = ({}, {}) if force_new else _find_existing(plan, adapter, registry, step)
    files: dict[str, str] = {}
    if any(j.config_key not in existing for j in plan.jobs):
        if moderate:
            _moderate(plan, adapter, step)
        files = _upload(plan, adapter, registry, settings, step=step, on_progress=on_upload_progress, sleep=sleep)
    handles: list[Job] = []
    for job in plan.jobs:
        if job.config_key in existing:
            info = existing[job.config_key]
            handles.append(Job(info.id, provider=adapter, registry=registry, settings=settings, info=info,
                               reused=True, sweep_id=plan.sweep_id))
            continue
        run_id = pending_runs.get(job.config_key) or new_run_id()
        info = _create(plan, job, adapter, registry, settings=settings, files=files, run_id=run_id,
                       record_run=job.config_key not in pending_runs, step=step, sleep=sleep)
        handles.append(Job(info.id, provider=adapter, registry=registry, settings=settings, info=info,
                           run_id=run_id, sweep_id=plan.sweep_id))
    return handles if plan.sweep_id else handles[0]


def _find_existing(
    plan: LaunchPlan, adapter: Provider, registry: Registry, step: Callable[[LaunchStep], None]
) -> tuple[dict[str, JobInfo], dict[str, str]]:
    """Jobs an identical launch already created (to re-attach to), and runs whose create never answered."""
    existing: dict[str, JobInfo] = {}
    pending_runs: dict[str, str] = {}
    for job in plan.jobs:
        found = find_existing(adapter, registry, job.config_key, dataset_path=str(plan.dataset.path),
                              dataset_sha256=plan.dataset.dataset_sha256)
        if found.job is not None:
            existing[job.config_key] = found.job
            step(LaunchStep("attach", f"{job.config.describe()}: already launched as {found.job.id} "
                            f"({found.job.status}); following it (use --force-new for a deliberate repeat)",
                            {"job_id": found.job.id}))
            continue
        if found.run_id:
            pending_runs[job.config_key] = found.run_id
        if found.previous_failed is not None:
            step(LaunchStep("note", f"an identical job {found.previous_failed.id} ended "
                            f"{found.previous_failed.status}; launching a new one"))
    return existing, pending_runs


def _moderate(plan: LaunchPlan, adapter: Provider, step: Callable[[LaunchStep], None]) -> None:
    train = plan.dataset.train
    step(LaunchStep("moderation", f"screening {train.name} with {plan.provider}'s moderation endpoint"))
    flagged = moderation_screen(adapter, train)
    if flagged:
        raise moderation_error(flagged, train)
    step(LaunchStep("moderation", "no example flagged"))


def _upload(
    plan: LaunchPlan, adapter: Provider, registry: Registry, settings: Settings, *,
    step: Callable[[LaunchStep], None], on_progress: Callable[[str, int, int], None] | None,
    sleep: Callable[[float], None],
) -> dict[str, str]:
    files: dict[str, str] = {}
    for upload in plan.uploads:
        split = str(upload["split"])
        path = Path(str(upload["path"]))

        def progress(done: int, total: int, split: str = split) -> None:
            if on_progress is not None:
                on_progress(split, done, total)

        result = ensure_uploaded(
            adapter, registry, path, sha256=str(upload["sha256"]), dataset_sha256=plan.dataset.dataset_sha256,
            split=split, sleep=sleep, poll_s=max(0.01, settings.poll_interval_s / 5), on_progress=progress,
        )
        files[split] = result.file.id
        verb = "reusing" if result.reused else "uploaded"
        step(LaunchStep("reuse" if result.reused else "upload",
                        f"{split}: {verb} {result.file.id} ({path.name}, {result.file.bytes:,} bytes)",
                        {"file_id": result.file.id, "split": split, "resumed_parts": result.resumed_parts}))
    return files


def _create(
    plan: LaunchPlan, job: PlannedJob, adapter: Provider, registry: Registry, *, settings: Settings,
    files: Mapping[str, str], run_id: str, record_run: bool, step: Callable[[LaunchStep], None],
    sleep: Callable[[float], None],
) -> JobInfo:
    ref = plan.dataset
    spec = _spec(job.config, files["train"], files.get("validation") if job.config.use_validation else None,
                 run_id=run_id, key=job.config_key, dataset_sha256=ref.dataset_sha256, sweep_id=plan.sweep_id)
    tokens, cost = job.preflight.billed_tokens, job.preflight.cost_usd
    if record_run:
        # Written before the request: a crash from here on leaves a run the next launch looks up.
        registry.record_run(run_id=run_id, provider=plan.provider, endpoint=plan.endpoint, config_key=job.config_key,
                            spec=adapter_request(spec), dataset_sha256=ref.dataset_sha256, dataset_path=str(ref.path),
                            sweep_id=plan.sweep_id, estimated_tokens=tokens, estimated_cost_usd=cost)

    def retried(attempt: int, error: ProviderError) -> None:
        step(LaunchStep("retry", f"create attempt {attempt} ended without a clear answer ({error.message}); "
                        "checking whether the job exists before trying again"))

    info = create_idempotent(adapter, spec, run_id, base_backoff_s=max(0.01, settings.poll_interval_s),
                             sleep=sleep, on_retry=retried)
    registry.record_job(info, endpoint=plan.endpoint, run_id=run_id, sweep_id=plan.sweep_id,
                        config_key=job.config_key, dataset_sha256=ref.dataset_sha256, dataset_path=str(ref.path),
                        estimated_tokens=tokens, estimated_cost_usd=cost)
    step(LaunchStep("create", f"{job.config.describe()}: created {info.id}", {"job_id": info.id}))
    return info


def adapter_request(spec: JobSpec) -> dict[str, Any]:
    """The spec as plain data, for the registry's record of the run."""
    return {"model": spec.model, "training_file": spec.training_file, "validation_file": spec.validation_file,
            "method": spec.method, "hyperparameters": dict(spec.hyperparameters), "suffix": spec.suffix,
            "seed": spec.seed, "metadata": dict(spec.metadata), "wandb_project": spec.wandb_project}


class Job:
    """A handle on one fine-tuning job: refresh it, follow it, cancel, pause or resume it."""

    def __init__(self, job_id: str, *, provider: Provider | None = None, registry: Registry | None = None,
                 settings: Settings | None = None, info: JobInfo | None = None, run_id: str | None = None,
                 sweep_id: str | None = None, reused: bool = False, provider_name: str | None = None) -> None:
        self.id = job_id
        self.settings = settings or resolve()
        self.registry = registry
        record = registry.get_job(job_id) if registry else None
        self.provider_name = provider.name if provider else provider_name or (
            record.provider if record else self.settings.provider)
        self.provider = provider or get_provider(self.provider_name, self.settings)
        self.info = info
        self.run_id = run_id or (record.run_id if record else None)
        self.sweep_id = sweep_id or (record.sweep_id if record else None)
        self.reused = reused

    def __repr__(self) -> str:
        return f"Job({self.id!r}, status={self.status!r})"

    @classmethod
    def attach(cls, job_id: str, *, settings: Settings | None = None, registry: Registry | None = None,
               provider: str | None = None) -> Job:
        """A handle on an existing job (launched here, elsewhere or from the provider's console)."""
        settings = settings or resolve()
        registry = _open_registry(registry, settings)
        job = cls(job_id, registry=registry, settings=settings, provider_name=provider)
        info = job.refresh()
        if registry.get_job(job_id) is None:
            registry.record_job(info, endpoint=str(getattr(job.provider, "endpoint", "")),
                                run_id=info.metadata.get(RUN_KEY), sweep_id=info.metadata.get(SWEEP_KEY),
                                config_key=info.metadata.get(CONFIG_KEY),
                                dataset_sha256=info.metadata.get(DATASET_KEY))
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
        self, on_event: Callable[[JobEvent], None] | None = None, timeout: float | None = None, *,
        on_update: Callable[[JobProgress], None] | None = None, clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep, poll_interval: float | None = None,
        max_interval: float | None = None,
    ) -> JobInfo:
        """Follow the job until it ends and return its final state (whatever the outcome: check
        ``.status``). Raises WaitTimeout after ``timeout`` seconds; the job keeps running."""
        final = wait_all([self], on_event=(lambda _j, e: on_event(e)) if on_event else None, timeout=timeout,
                         on_update=on_update, clock=clock, sleep=sleep, poll_interval=poll_interval,
                         max_interval=max_interval)
        return final[self.id]

    def events(self, after: str | None = None) -> list[JobEvent]:
        return self.provider.list_events(self.id, after=after)

    def checkpoints(self) -> list[Checkpoint]:
        return self.provider.list_checkpoints(self.id)

    def cancel(self) -> JobInfo:
        return self._record(self.provider.cancel_job(self.id))

    def pause(self) -> JobInfo:
        return self._record(self.provider.pause_job(self.id))

    def resume(self) -> JobInfo:
        return self._record(self.provider.resume_job(self.id))

    def _record(self, info: JobInfo) -> JobInfo:
        self.info = info
        if self.registry is not None and self.registry.get_job(self.id) is not None:
            self.registry.update_job(info)
        return info


def wait_all(
    jobs: Sequence[Job], *, on_event: Callable[[str, JobEvent], None] | None = None, timeout: float | None = None,
    on_update: Callable[[JobProgress], None] | None = None, clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep, poll_interval: float | None = None,
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
    follower = Follower(poller, first.registry, [j.id for j in jobs], min_interval_s=interval,
                        max_interval_s=max_interval if max_interval is not None else max(60.0, 12 * interval),
                        timeout_s=timeout, clock=clock, sleep=sleep, on_event=on_event, on_update=on_update)
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
