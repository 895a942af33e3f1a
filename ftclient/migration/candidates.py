"""The replacement candidates of a migration: launched as one sweep (within a budget), then each judged.

Launch reuses the cross-provider sweep (``ftclient.launching.cross``): one job per ``provider:model``,
idempotent, so a rerun re-attaches to the jobs it created. Each succeeded job is evaluated on the held-out
inputs alone (``evaluate_job``: deployed first where the provider needs an endpoint, which is stopped
afterwards), and its answers are set against the ground truth and the old model's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftclient.errors import UserInputError
from ftclient.migration.noninferiority import agreement, judge_replacement

if TYPE_CHECKING:
    from ftclient.config import Settings
    from ftclient.evaluate.types import EvaluationReport, Example
    from ftclient.launching.plan import LaunchPlan, PlannedJob
    from ftclient.migration.migrate import TrainingData
    from ftclient.providers.base import Provider
    from ftclient.registry import Registry


@dataclass
class Launched:
    jobs: list[dict[str, Any]]
    sweep_id: str | None
    estimate_usd: float | None
    estimates: dict[str, float | None]


def launch_targets(
    folder: Path,
    pairs: Sequence[tuple[str, list[str]]],
    *,
    budget: float | None,
    epochs: int | None,
    settings: Settings,
    registry: Registry,
    say: Callable[[str], None],
    client_for: Callable[[str], Provider],
    timeout_s: float | None = None,
) -> Launched:
    """Plan (refusing over ``budget``), launch and follow every target job to its end."""
    from ftclient import pricing
    from ftclient.jobs import wait_all
    from ftclient.launching.cross import launch_across, plan_across

    targets = [f"{name}:{model}" for name, models in pairs for model in models]
    options: dict[str, Any] = {"settings": settings, "registry": registry}
    if epochs is not None:
        options["epochs"] = epochs
    plans = plan_across(folder, provider=None, model=targets, **options)
    estimates: dict[str, float | None] = {}
    for plan in plans:
        for planned in plan.jobs:
            if planned.existing_job_id is not None:
                continue  # launched by an earlier run: re-attached, not paid again
            cost = planned.preflight.cost_usd
            if cost is None:
                cost = _provider_estimate(plan, planned, client_for(plan.provider), registry)
            estimates[f"{plan.provider}:{planned.config.model}"] = cost
    known = [c for c in estimates.values() if c is not None]
    total = round(sum(known), 4) if len(known) == len(estimates) else None
    if budget is not None:
        if total is None:
            unknown = [k for k, v in estimates.items() if v is None]
            raise UserInputError(
                f"cannot hold the migration to a budget of ${budget:,.2f}: no training estimate for "
                f"{', '.join(unknown)}",
                hint="drop --budget, or leave out the targets without an estimate",
            )
        if total > budget:
            listing = ", ".join(f"{k} ${v:,.2f}" for k, v in estimates.items() if v is not None)
            raise UserInputError(
                f"the estimated training cost ${total:,.2f} ({listing}) exceeds --budget ${budget:,.2f}; "
                "nothing was launched",
                hint="raise --budget, drop a target, or train fewer epochs (--epochs)",
            )
    say(
        f"launching {len(targets)} target(s); estimated training cost "
        + (f"${total:,.2f}" if total is not None else "unknown")
    )
    cross = launch_across(folder, provider=None, model=targets, **options)
    by_provider: dict[str, list[Any]] = {}
    for launched_job in cross.jobs:
        by_provider.setdefault(launched_job.provider_name, []).append(launched_job)
    final = {}
    for group in by_provider.values():  # one follower per provider: it polls one API
        final.update(wait_all(group, timeout=timeout_s, poll_interval=settings.poll_interval_s))
    jobs = []
    for job in cross.jobs:
        info = final[job.id]
        jobs.append(
            {
                "provider": info.provider,
                "base_model": info.model,
                "target_shutdown_date": pricing.shutdown_date(info.provider, info.model),
                "job_id": job.id,
                "status": info.status,
                "fine_tuned_model": info.fine_tuned_model,
                "error": info.error_message,
            }
        )
        say(f"job {job.id} ({info.provider}:{info.model}): {info.status}")
    return Launched(jobs, cross.sweep_id, total, estimates)


def _provider_estimate(plan: LaunchPlan, job: PlannedJob, client: Provider, registry: Registry) -> float | None:
    """The provider's own training estimate where ftclient has no offline price (Together's estimate-price
    endpoint needs the uploaded training file: it is uploaded now, and the launch reuses it)."""
    from ftclient.errors import FtclientError
    from ftclient.launching.upload import ensure_uploaded
    from ftclient.providers.base import JobSpec

    estimate = getattr(client, "estimate_price", None)
    if estimate is None:
        return None
    ref = plan.dataset
    try:
        uploaded = ensure_uploaded(
            client, registry, ref.train, sha256=ref.train_sha256, dataset_sha256=ref.dataset_sha256, split="train"
        )
        epochs = job.config.hyperparameters.get("n_epochs")
        spec = JobSpec(
            model=job.config.model,
            training_file=uploaded.file.id,
            hyperparameters={"n_epochs": epochs} if epochs else {},
        )
        price = estimate(spec).get("estimated_total_price")
    except FtclientError:
        return None
    return float(price) if price is not None else None


def evaluate_candidates(
    jobs: Sequence[dict[str, Any]],
    examples: Sequence[Example],
    olds: Sequence[str | None],
    *,
    train: TrainingData,
    test_file: Path,
    out_dir: Path,
    margin: float | None,
    settings: Settings,
    registry: Registry,
    client_for: Callable[[str], Provider],
    say: Callable[[str], None],
    resamples: int = 2000,
) -> list[dict[str, Any]]:
    """One row per job: quality, agreement, the non-inferiority verdict, costs and latency."""
    from ftclient.evaluate.jobs import evaluate_job

    keep = [i for i, old in enumerate(olds) if old is not None]
    truth = _reference_kind(train) == "ground truth"
    refs = [examples[i].reference if truth else str(olds[i]) for i in keep]
    old_sub = [str(olds[i]) for i in keep]
    rows = []
    for job in jobs:
        row = dict(job)
        if job["status"] != "succeeded":
            row["verdict"] = f"not evaluated: the job ended {job['status']}"
            rows.append(row)
            continue
        say(f"evaluating {job['fine_tuned_model']} on {len(examples)} held-out inputs")
        report = evaluate_job(
            job["job_id"],
            provider=job["provider"],
            settings=settings,
            registry=registry,
            provider_client=client_for(job["provider"]),
            test=test_file,
            no_baseline=True,
            task=train.task,
            out=out_dir / "candidates" / job["job_id"],
            resamples=min(resamples, 500),
            handle_signals=False,
        )
        answers = report.answers.get("model") or report.answers.get("tuned") or []
        new_sub = [answers[i] for i in keep]
        verdict = judge_replacement(
            train.task,
            refs,
            old_sub,
            new_sub,
            margin=margin,
            reference_kind="ground truth" if truth else "old model's answers",
            labels=train.labels,
            target_language=train.target_language,
            resamples=resamples,
        )
        row.update(
            noninferiority=verdict.to_dict(),
            verdict=verdict.verdict,
            quality=verdict.new,
            old_quality=verdict.old,
            agreement=agreement(
                train.task, old_sub, new_sub, labels=train.labels, target_language=train.target_language
            ),
            evaluation=str(out_dir / "candidates" / job["job_id"] / "report.json"),
            disagreements=_disagreements([examples[i] for i in keep], refs, old_sub, new_sub),
            **_money_and_speed(report, job, registry, client_for),
        )
        rows.append(row)
    return rows


MAX_DISAGREEMENTS = 10


def _disagreements(
    examples: Sequence[Example], refs: Sequence[str], old: Sequence[str], new: Sequence[str]
) -> list[dict[str, Any]]:
    """Held-out inputs where the replacement says something else than the old model (first few), the ones
    where the change matters to the reference first: what a reviewer reads before signing off."""
    from ftclient.evaluate.compare import prompt_text
    from ftclient.evaluate.metrics import normalize_text

    rows = []
    for example, ref, before, after in zip(examples, refs, old, new, strict=True):
        if normalize_text(before) == normalize_text(after):
            continue
        matters = (normalize_text(before) == normalize_text(ref)) != (normalize_text(after) == normalize_text(ref))
        rows.append(
            {
                "index": example.index,
                "input": prompt_text(example),
                "reference": ref,
                "old_answer": before,
                "new_answer": after,
                "changes_correctness": matters,
            }
        )
    rows.sort(key=lambda r: not r["changes_correctness"])
    return rows[:MAX_DISAGREEMENTS]


def _reference_kind(train: TrainingData) -> str:
    from ftclient.evaluate.resolve import load_manifest

    if not train.distilled:
        return "ground truth"
    held = (load_manifest(train.folder).get("distilled_from") or {}).get("held_out_reference")
    return "ground truth" if held == "ground truth" else "old model's answers"


def _money_and_speed(
    report: EvaluationReport, job: dict[str, Any], registry: Registry, client_for: Callable[[str], Provider]
) -> dict[str, Any]:
    from ftclient.evaluate.jobs import _training_cost

    result = report.models[0]
    record = registry.get_job(job["job_id"])
    training, training_note = _training_cost(record, job["provider"], {job["provider"]: client_for(job["provider"])})
    endpoint_cost = (
        round(sum(float(d.get("cost_usd") or 0.0) for d in report.deployments), 4) if report.deployments else None
    )
    per_1k, per_1k_note = None, ""
    n = max(1, result.examples - result.failed)
    if result.cost_usd is not None:
        per_1k = round(result.cost_usd / n * 1000, 4)
        per_1k_note = f"per-token prices: {result.cost_note}"
    else:
        hourly = next((d.get("cost_per_hour_usd") for d in report.deployments if d.get("cost_per_hour_usd")), None)
        if hourly and result.latency_p50_s:
            per_1k = round(float(hourly) * result.latency_p50_s / 3600 * 1000, 4)
            per_1k_note = (
                f"dedicated endpoint at ${float(hourly):,.2f}/h, one request at a time at the measured median "
                "latency (concurrent requests cost less each)"
            )
        else:
            per_1k_note = "no per-token or endpoint price known"
    return {
        "served_as": result.model,
        "training_cost_usd": training,
        "training_cost_note": training_note,
        "cost_per_1k_requests_usd": per_1k,
        "cost_per_1k_note": per_1k_note,
        "latency_p50_s": result.latency_p50_s,
        "latency_p95_s": result.latency_p95_s,
        "endpoint_cost_usd": endpoint_cost,
        "failed_answers": result.failed,
        "deployments": report.deployments,
    }
