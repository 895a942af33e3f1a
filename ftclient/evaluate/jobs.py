"""Evaluating jobs across providers: deploy when the provider needs it, and compare several jobs in one report.

``evaluate_job(job_id)`` evaluates one job on its own provider. When that provider serves tuned models
only from a dedicated endpoint (Together), the model is deployed first and the endpoint is stopped
afterwards, whatever happens (an error, Ctrl-C), unless ``keep_endpoint``; the endpoint's price and billed
minutes go into the report.

``compare_jobs([job, job, ...])`` (or a sweep id) evaluates each job that way, every one against the same
test split, then writes one report: all tuned models and their bases in one table, and one row per job
with the primary metric and the money side by side (training, inference, endpoint). Each job's own
report, with per-example diffs and significance tests, is kept next to it.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftclient.errors import FtclientError, NotFoundLocallyError, UserInputError
from ftclient.evaluate.report import write_reports
from ftclient.evaluate.types import EvaluationReport, ModelResult

if TYPE_CHECKING:
    from ftclient.config import Settings
    from ftclient.deploy import Deployment
    from ftclient.providers.base import Endpoint, Provider
    from ftclient.registry import Registry


def provider_for_job(job_id: str, provider: str | None, settings: Settings, registry: Registry) -> str:
    record = registry.get_job(job_id)
    if record is not None:
        return record.provider
    if provider:
        return provider
    if job_id.startswith("ft-"):
        return "together"
    if job_id.startswith("ftc-"):
        return "fireworks"
    return settings.provider


def evaluate_job(
    job_id: str,
    *,
    provider: str | None = None,
    keep_endpoint: bool = False,
    hardware: str | None = None,
    inactive_timeout_min: int = 30,
    start_timeout_s: float = 30 * 60.0,
    settings: Settings | None = None,
    registry: Registry | None = None,
    provider_client: Provider | None = None,
    on_endpoint: Callable[[Endpoint], None] | None = None,
    on_quote: Callable[[str, float | None], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    wall: Callable[[], float] = time.time,
    **options: Any,
) -> EvaluationReport:
    """``ftclient.evaluate`` for one job, deploying its tuned model first when the provider needs that."""
    from ftclient.config import resolve
    from ftclient.deploy import deployed
    from ftclient.evaluate.api import evaluate
    from ftclient.providers import get_provider
    from ftclient.registry import Registry

    settings = settings or resolve()
    own = registry is None
    registry = registry or Registry(settings.registry_path)
    made: Provider | None = None
    try:
        name = provider_client.name if provider_client else provider_for_job(job_id, provider, settings, registry)
        client = provider_client or (made := get_provider(name, settings))
        common: dict[str, Any] = {
            "provider": name,
            "settings": settings,
            "registry": registry,
            "provider_client": client,
        }
        if not client.capabilities.needs_deployment or options.get("model"):
            return evaluate(job_id, **common, **options)
        direct = _serverless(client, job_id) if options.get("checkpoint") is None else None
        if direct is not None:
            return evaluate(job_id, model=direct, **common, **options)
        if options.get("checkpoint") is not None:
            raise UserInputError(
                f"{name} serves a checkpoint only from its own dedicated endpoint, which ftclient does not deploy",
                hint="evaluate the final model, or deploy the checkpoint in the provider's console and pass "
                "--model <endpoint name>",
            )
        with deployed(
            job_id,
            provider=client,
            registry=registry,
            keep=keep_endpoint,
            hardware=hardware,
            inactive_timeout_min=inactive_timeout_min,
            timeout_s=start_timeout_s,
            poll_s=settings.poll_interval_s,
            clock=clock,
            sleep=sleep,
            wall=wall,
            on_state=on_endpoint,
            on_quote=on_quote,
        ) as deployment:
            report = evaluate(job_id, model=deployment.serving_name, **common, **options)
        report.deployments = [_deployment_summary(deployment, registry, keep_endpoint, wall())]
        if report.out_dir:
            write_reports(report, Path(report.out_dir))
        return report
    finally:
        if made is not None:
            made.close()
        if own:
            registry.close()


def _serverless(client: Provider, job_id: str) -> str | None:
    """The name to ask for ``job_id``'s tuned model when the provider serves it without an endpoint."""
    from ftclient.providers.base import ServerlessServing

    if not isinstance(client, ServerlessServing) or not job_id.startswith("ft-"):
        return None
    return client.serverless_model(client.get_job(job_id))


def _deployment_summary(
    deployment: Deployment, registry: Registry, kept: bool, now: float | None = None
) -> dict[str, Any]:
    """The endpoint's price, billed minutes and cost, by the same rule as ``endpoints list`` (``endpoint_billing``)."""
    from ftclient.deploy import endpoint_billing

    summary = deployment.to_dict()
    record = registry.get_endpoint(deployment.endpoint.id)
    minutes, cost = endpoint_billing(record, now=now) if record is not None else (None, None)
    summary.update(
        billed_minutes=minutes,
        cost_usd=cost,
        final_state=("kept running (--keep-endpoint)" if kept else (record.state if record else "unknown")),
    )
    return summary


def jobs_of(job_ids_or_sweep: Sequence[str], registry: Registry) -> list[str]:
    """Job ids, with any sweep id expanded to its jobs (in launch order)."""
    jobs: list[str] = []
    for ident in job_ids_or_sweep:
        if ident.startswith("sweep-"):
            sweep = registry.get_sweep(ident)
            if sweep is None:
                raise NotFoundLocallyError("sweep", ident, hint="`ftclient runs` lists known sweeps")
            found = [str(c["job_id"]) for c in sweep.configs if c.get("job_id")]
            found += [j.job_id for j in reversed(registry.list_jobs(sweep_id=ident))]
            if not found:
                raise UserInputError(f"sweep {ident} has no jobs yet", hint="launch it first: ftclient launch ...")
            jobs.extend(found)
        else:
            jobs.append(ident)
    return list(dict.fromkeys(jobs))


def _same_test_split(jobs: Sequence[str], registry: Registry, test: Path | None) -> None:
    if test is not None:
        return
    datasets = {}
    for job_id in jobs:
        record = registry.get_job(job_id)
        if record is None:
            raise NotFoundLocallyError(
                "job", job_id, hint="compare jobs launched from this machine, or pass --test FILE for all of them"
            )
        datasets[job_id] = record.dataset_sha256
    if len(set(datasets.values())) > 1:
        listing = ", ".join(f"{j}: {(d or 'unknown')[:12]}" for j, d in datasets.items())
        raise UserInputError(
            f"these jobs were trained on different datasets ({listing}), so they have different test splits",
            hint="compare jobs of one prepared dataset, or pass --test FILE to score all of them on one file",
        )


def compare_jobs(
    job_ids_or_sweep: Sequence[str],
    *,
    out: str | Path | None = None,
    test: str | Path | None = None,
    settings: Settings | None = None,
    registry: Registry | None = None,
    clients: dict[str, Provider] | None = None,
    on_job: Callable[[str, int, int], None] | None = None,
    **options: Any,
) -> EvaluationReport:
    """Evaluate each job (deploying where needed) on the same test split and write one comparison report."""
    from ftclient.config import resolve
    from ftclient.providers import get_provider
    from ftclient.registry import Registry

    settings = settings or resolve()
    given = dict(clients or {})
    clients = dict(given)
    own = registry is None
    registry = registry or Registry(settings.registry_path)
    try:
        jobs = jobs_of(job_ids_or_sweep, registry)
        if len(jobs) < 2:
            raise UserInputError("a comparison needs at least two jobs", hint="ftclient evaluate JOB_A JOB_B")
        test_path = Path(test) if test is not None else None
        _same_test_split(jobs, registry, test_path)
        created = datetime.now(UTC).replace(microsecond=0)
        digest = hashlib.sha256("|".join([*jobs, created.isoformat()]).encode()).hexdigest()[:6]
        eval_id = f"cmp-{created.strftime('%Y%m%d-%H%M%S')}-{digest}"
        out_dir = Path(out) if out is not None else settings.reports_dir / eval_id
        reports: list[EvaluationReport] = []
        for n, job_id in enumerate(jobs, start=1):
            if on_job is not None:
                on_job(job_id, n, len(jobs))
            name = provider_for_job(job_id, None, settings, registry)
            if name not in clients:
                clients[name] = get_provider(name, settings)
            client = clients[name]
            reports.append(
                evaluate_job(
                    job_id,
                    provider=name,
                    settings=settings,
                    registry=registry,
                    provider_client=client,
                    out=out_dir / job_id,
                    test=test_path,
                    **options,
                )
            )
        combined = combine(reports, eval_id=eval_id, created=created, registry=registry, clients=clients)
        write_reports(combined, out_dir)
        registry.record_evaluation(
            combined.eval_id,
            None,
            combined.dataset_sha256,
            [m.model for m in combined.models],
            combined.report_paths["json"],
            {
                "comparison": True,
                "jobs": jobs,
                "primary_metric": combined.primary_metric,
                "verdict": combined.verdict,
                "runs": combined.runs,
            },
        )
        return combined
    finally:
        for name, made in clients.items():
            if name not in given:
                made.close()
        if own:
            registry.close()


def combine(
    reports: Sequence[EvaluationReport],
    *,
    eval_id: str,
    created: datetime,
    registry: Registry,
    clients: dict[str, Provider],
) -> EvaluationReport:
    """One report from several single-job reports that share a test split."""
    first = reports[0]
    metric = first.primary_metric
    models: list[ModelResult] = []
    seen: set[tuple[str, str]] = set()
    runs: list[dict[str, Any]] = []
    for report in reports:
        tuned, base = report.model("tuned") or report.model("model"), report.model("baseline")
        for result, role in ((tuned, "tuned"), (base, "base")):
            if result is None or (report.provider, result.model) in seen:
                continue
            seen.add((report.provider, result.model))
            models.append(replace(result, role=f"{role} · {report.provider}"))
        runs.append(_run_row(report, tuned, base, registry, clients))
    verdict = best_sentence(runs, metric)
    return EvaluationReport(
        eval_id=eval_id,
        created_at=created.isoformat(),
        task=first.task,
        provider=" + ".join(dict.fromkeys(r.provider for r in reports)),
        test_file=first.test_file,
        examples=first.examples,
        models=models,
        verdict=verdict,
        primary_metric=metric,
        dataset_sha256=first.dataset_sha256,
        labels=first.labels,
        target_language=first.target_language,
        signature=first.signature,
        request_settings=first.request_settings,
        source_note=next((r.source_note for r in reports if r.source_note), ""),
        deployments=[d for r in reports for d in r.deployments],
        runs=runs,
    )


def best_sentence(runs: Sequence[dict[str, Any]], metric: str) -> str:
    """Which tuned model scored best on ``metric``, naming every job that shares the best score (a tie)."""
    scored = [r for r in runs if r.get("tuned_metric") is not None]
    if not scored:
        return ""
    label = metric.replace("_", " ")
    top = max(round(float(r["tuned_metric"]), 9) for r in scored)
    best = [r for r in scored if round(float(r["tuned_metric"]), 9) == top]

    def name(run: dict[str, Any]) -> str:
        return f"{run['tuned_model']} ({run['provider']}, job {run['job_id']})"

    if len(best) == 1:
        return f"Best tuned model on {label}: {name(best[0])}"
    return f"Tie for the best tuned model on {label}, {len(best)} jobs with the same score: " + "; ".join(
        name(r) for r in best
    )


def _run_row(
    report: EvaluationReport,
    tuned: ModelResult | None,
    base: ModelResult | None,
    registry: Registry,
    clients: dict[str, Provider],
) -> dict[str, Any]:
    metric = report.primary_metric
    record = registry.get_job(report.job_id) if report.job_id else None
    training, note = _training_cost(record, report.provider, clients)
    inference = [m.cost_usd for m in (tuned, base) if m is not None]
    inference_cost = None if any(c is None for c in inference) else round(sum(c for c in inference if c), 6)
    endpoint_cost = sum(float(d.get("cost_usd") or 0.0) for d in report.deployments) if report.deployments else None
    parts = [training, inference_cost, endpoint_cost]
    known = [p for p in parts if p is not None]
    total = round(sum(known), 4) if known and training is not None and inference_cost is not None else None
    comparison = report.comparisons[0] if report.comparisons else None
    unknown_inference = [m.model for m in (tuned, base) if m is not None and m.cost_usd is None]
    if unknown_inference:
        note = "; ".join(filter(None, [note, f"no per-token price known for {', '.join(unknown_inference)}"]))
    return {
        "job_id": report.job_id,
        "provider": report.provider,
        "tuned_model": (record.fine_tuned_model if record and record.fine_tuned_model else None)
        or (tuned.model if tuned else ""),
        "served_as": tuned.model if tuned else None,
        "base_model": base.model if base else None,
        "hyperparameters": dict(record.hyperparameters) if record else {},
        "tuned_metric": tuned.metrics.get(metric) if tuned else None,
        "base_metric": base.metrics.get(metric) if base else None,
        "difference": comparison.difference if comparison else None,
        "ci": [comparison.ci_low, comparison.ci_high] if comparison else None,
        "verdict": report.verdict,
        "training_cost_usd": training,
        "inference_cost_usd": inference_cost,
        "endpoint_cost_usd": endpoint_cost,
        "total_cost_usd": total,
        "cost_note": note,
        "report": str(report.report_paths.get("md", "")) or None,
    }


def _training_cost(record: Any, provider: str, clients: dict[str, Provider]) -> tuple[float | None, str]:
    """What training cost: the registry's figure (actual, else estimated), else the provider's own estimate."""
    if record is None:
        return None, "training cost unknown (job not in the local history)"
    if record.actual_cost_usd is not None:
        return float(record.actual_cost_usd), ""
    if record.estimated_cost_usd is not None:
        return float(record.estimated_cost_usd), f"{record.job_id}: training cost is ftclient's estimate"
    client = clients.get(provider)
    estimate = getattr(client, "estimate_price", None)
    if estimate is None or not record.training_file:
        return None, f"{record.job_id}: no training price known"
    from ftclient.providers.base import JobSpec

    epochs = (record.hyperparameters or {}).get("n_epochs")
    spec = JobSpec(
        model=record.base_model,
        training_file=record.training_file,
        method=record.method,
        hyperparameters={"n_epochs": epochs} if epochs else {},
    )
    try:
        price = estimate(spec).get("estimated_total_price")
    except FtclientError:
        return None, f"{record.job_id}: the provider's price estimate was unavailable"
    if price is None:
        return None, f"{record.job_id}: no training price known"
    return float(price), f"{record.job_id}: training cost is {provider}'s own estimate (estimate-price endpoint)"
