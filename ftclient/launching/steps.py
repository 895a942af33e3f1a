"""The steps of a launch that talk to the provider: find what an identical launch already made, screen
the data, upload the files once, create each job exactly once."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftclient.config import Settings
from ftclient.errors import ProviderError
from ftclient.launching.create import RUN_KEY, create_idempotent, find_existing, launched_elsewhere
from ftclient.launching.plan import LaunchPlan, LaunchStep, PlannedJob, job_spec
from ftclient.launching.preflight import moderation_error
from ftclient.launching.preflight import screen as moderation_screen
from ftclient.launching.upload import ensure_uploaded

if TYPE_CHECKING:
    from ftclient.providers.base import JobInfo, JobSpec, Provider
    from ftclient.registry import Registry


def find_existing_jobs(
    plan: LaunchPlan, adapter: Provider, registry: Registry, step: Callable[[LaunchStep], None]
) -> tuple[dict[str, JobInfo], dict[str, str]]:
    """Jobs an identical launch already created (to re-attach to), and runs whose create never answered."""
    existing: dict[str, JobInfo] = {}
    pending_runs: dict[str, str] = {}
    for job in plan.jobs:
        found = find_existing(
            adapter,
            registry,
            job.config_key,
            dataset_path=str(plan.dataset.path),
            dataset_sha256=plan.dataset.dataset_sha256,
        )
        if found.job is not None:
            existing[job.config_key] = found.job
            step(
                LaunchStep(
                    "attach",
                    f"{job.config.describe()}: already launched as {found.job.id} "
                    f"({found.job.status}); re-attaching to it (--force-new launches a deliberate repeat)",
                    {"job_id": found.job.id},
                )
            )
            continue
        if found.run_id:
            pending_runs[job.config_key] = found.run_id
        if found.previous_failed is not None:
            step(
                LaunchStep(
                    "note",
                    f"an identical job {found.previous_failed.id} ended "
                    f"{found.previous_failed.status}; launching a new one",
                )
            )
    return existing, pending_runs


def screen_training_data(plan: LaunchPlan, adapter: Provider, step: Callable[[LaunchStep], None]) -> None:
    train = plan.dataset.train
    step(LaunchStep("moderation", f"screening {train.name} with {plan.provider}'s moderation endpoint"))
    flagged = moderation_screen(adapter, train)
    if flagged:
        raise moderation_error(flagged, train)
    step(LaunchStep("moderation", "no example flagged"))


def upload_files(
    plan: LaunchPlan,
    adapter: Provider,
    registry: Registry,
    settings: Settings,
    *,
    step: Callable[[LaunchStep], None],
    on_progress: Callable[[str, int, int], None] | None,
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
            adapter,
            registry,
            path,
            sha256=str(upload["sha256"]),
            dataset_sha256=plan.dataset.dataset_sha256,
            split=split,
            sleep=sleep,
            poll_s=max(0.01, settings.poll_interval_s / 5),
            on_progress=progress,
        )
        files[split] = result.file.id
        verb = "reusing" if result.reused else "uploaded"
        step(
            LaunchStep(
                "reuse" if result.reused else "upload",
                f"{split}: {verb} {result.file.id} ({path.name}, {result.file.bytes:,} bytes)",
                {"file_id": result.file.id, "split": split, "resumed_parts": result.resumed_parts},
            )
        )
    return files


def attach_if_launched_elsewhere(
    plan: LaunchPlan, job: PlannedJob, adapter: Provider, registry: Registry, step: Callable[[LaunchStep], None]
) -> JobInfo | None:
    """The job another launch just created for this configuration (looked up right before create), recorded
    here and announced; None when there is none and ours must be created."""
    other = launched_elsewhere(adapter, job.config_key)
    if other is None:
        return None
    registry.record_job(
        other,
        endpoint=plan.endpoint,
        run_id=other.metadata.get(RUN_KEY),
        sweep_id=plan.sweep_id,
        config_key=job.config_key,
        dataset_sha256=plan.dataset.dataset_sha256,
        dataset_path=str(plan.dataset.path),
    )
    step(
        LaunchStep(
            "attach",
            f"{job.config.describe()}: another launch has just created {other.id} ({other.status}); "
            "re-attaching to it instead of creating a second job",
            {"job_id": other.id},
        )
    )
    return other


def create_job(
    plan: LaunchPlan,
    job: PlannedJob,
    adapter: Provider,
    registry: Registry,
    *,
    settings: Settings,
    files: Mapping[str, str],
    run_id: str,
    record_run: bool,
    step: Callable[[LaunchStep], None],
    sleep: Callable[[float], None],
) -> JobInfo:
    ref = plan.dataset
    spec = job_spec(
        job.config,
        files["train"],
        files.get("validation") if job.config.use_validation else None,
        run_id=run_id,
        key=job.config_key,
        dataset_sha256=ref.dataset_sha256,
        sweep_id=plan.sweep_id,
        provider=plan.provider,
    )
    tokens, cost = job.preflight.billed_tokens, job.preflight.cost_usd
    if record_run:
        # Written before the request: a crash from here on leaves a run the next launch looks up.
        registry.record_run(
            run_id=run_id,
            provider=plan.provider,
            endpoint=plan.endpoint,
            config_key=job.config_key,
            spec=spec_record(spec),
            dataset_sha256=ref.dataset_sha256,
            dataset_path=str(ref.path),
            sweep_id=plan.sweep_id,
            estimated_tokens=tokens,
            estimated_cost_usd=cost,
        )

    def retried(attempt: int, error: ProviderError) -> None:
        step(
            LaunchStep(
                "retry",
                f"create attempt {attempt} ended without a clear answer ({error.message}); "
                "checking whether the job exists before trying again",
            )
        )

    info = create_idempotent(
        adapter, spec, run_id, base_backoff_s=settings.retry_backoff_s, sleep=sleep, on_retry=retried
    )
    registry.record_job(
        info,
        endpoint=plan.endpoint,
        run_id=run_id,
        sweep_id=plan.sweep_id,
        config_key=job.config_key,
        dataset_sha256=ref.dataset_sha256,
        dataset_path=str(ref.path),
        estimated_tokens=tokens,
        estimated_cost_usd=cost,
    )
    step(LaunchStep("create", f"{job.config.describe()}: created {info.id}", {"job_id": info.id}))
    return info


def spec_record(spec: JobSpec) -> dict[str, Any]:
    """The spec as plain data, for the registry's record of the run."""
    return {
        "model": spec.model,
        "training_file": spec.training_file,
        "validation_file": spec.validation_file,
        "method": spec.method,
        "hyperparameters": dict(spec.hyperparameters),
        "suffix": spec.suffix,
        "seed": spec.seed,
        "metadata": dict(spec.metadata),
        "wandb_project": spec.wandb_project,
    }
