"""``ftclient runs``: the local history, dataset by dataset, with what links to what."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ftclient.cli.common import get_output, json_option

if TYPE_CHECKING:
    from rich.console import Console

    from ftclient.registry import Registry


def _money(value: float | None) -> str:
    return "-" if value is None else f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


def history(registry: Registry, *, limit: int | None = None) -> dict[str, Any]:
    """Datasets with their uploads, jobs (with tuned models and costs) and evaluations; plus jobs and
    evaluations whose dataset this machine never saw."""
    from ftclient.cli.output import to_jsonable

    datasets = registry.list_datasets()[:limit] if limit else registry.list_datasets()
    uploads = registry.list_uploads()
    jobs = registry.list_jobs()
    evaluations = registry.list_evaluations()
    known = {d.dataset_sha256 for d in datasets}
    job_dataset = {j.job_id: j.dataset_sha256 for j in jobs}

    def dataset_of(ev: Any) -> str | None:
        """An evaluation belongs to its dataset, or else to its job's."""
        return ev.dataset_sha256 or (job_dataset.get(ev.job_id) if ev.job_id else None)

    def job_row(job: Any) -> dict[str, Any]:
        return {
            "job_id": job.job_id,
            "provider": job.provider,
            "status": job.status,
            "base_model": job.base_model,
            "fine_tuned_model": job.fine_tuned_model,
            "method": job.method,
            "hyperparameters": dict(job.hyperparameters),
            "sweep_id": job.sweep_id,
            "run_id": job.run_id,
            "training_file": job.training_file,
            "validation_file": job.validation_file,
            "estimated_tokens": job.estimated_tokens,
            "estimated_cost_usd": job.estimated_cost_usd,
            "trained_tokens": job.trained_tokens,
            "actual_cost_usd": job.actual_cost_usd,
            "created_at": job.created_at,
            "evaluations": [e.eval_id for e in evaluations if e.job_id == job.job_id],
        }

    def eval_row(ev: Any) -> dict[str, Any]:
        return {
            "eval_id": ev.eval_id,
            "job_id": ev.job_id,
            "dataset_sha256": ev.dataset_sha256,
            "models": list(ev.models),
            "report_path": ev.report_path,
            "summary": dict(ev.summary),
        }

    rows = []
    for ds in datasets:
        rows.append(
            {
                "dataset_sha256": ds.dataset_sha256,
                "path": str(ds.path),
                "task": ds.task,
                "method": ds.method,
                "target_model": ds.target_model,
                "train_examples": ds.train_examples,
                "estimated_cost_usd": ds.estimated_cost_usd,
                "created_at": ds.created_at,
                "uploads": [to_jsonable(u) for u in uploads if u.dataset_sha256 == ds.dataset_sha256],
                "jobs": [job_row(j) for j in jobs if j.dataset_sha256 == ds.dataset_sha256],
                "evaluations": [eval_row(e) for e in evaluations if dataset_of(e) == ds.dataset_sha256],
            }
        )
    return {
        "datasets": rows,
        "other_jobs": [job_row(j) for j in jobs if j.dataset_sha256 not in known],
        "other_evaluations": [eval_row(e) for e in evaluations if dataset_of(e) not in known],
        "models": [to_jsonable(m) for m in registry.list_models()],
        "sweeps": [
            {"sweep_id": s.sweep_id, "dataset_sha256": s.dataset_sha256, "jobs": len(s.configs)}
            for s in registry.list_sweeps()
        ],
    }


def _render_job(job: dict[str, Any], console: Console, indent: str) -> None:
    hyper = ", ".join(f"{k}={v}" for k, v in sorted(job["hyperparameters"].items()))
    console.print(
        f"{indent}job {job['job_id']} [{job['status']}] {job['base_model']}"
        f"{' (' + hyper + ')' if hyper else ''}{'  sweep ' + job['sweep_id'] if job['sweep_id'] else ''}",
        highlight=False,
        markup=False,
    )
    tokens = f"{job['trained_tokens']:,}" if job["trained_tokens"] is not None else "-"
    est_tokens = f"{job['estimated_tokens']:,}" if job["estimated_tokens"] is not None else "-"
    console.print(
        f"{indent}  cost: estimated {_money(job['estimated_cost_usd'])} ({est_tokens} tokens), "
        f"actual {_money(job['actual_cost_usd'])} ({tokens} trained tokens)",
        highlight=False,
    )
    if job["fine_tuned_model"]:
        console.print(f"{indent}  model {job['fine_tuned_model']}", highlight=False, markup=False)
    for eval_id in job["evaluations"]:
        console.print(f"{indent}  evaluation {eval_id}", highlight=False, markup=False)


def _render(data: dict[str, Any], console: Console) -> None:
    if not data["datasets"] and not data["other_jobs"] and not data["other_evaluations"]:
        console.print("nothing yet: `ftclient prepare INPUT` starts the history")
        return
    for ds in data["datasets"]:
        console.print(
            f"[bold]dataset {ds['dataset_sha256'][:12]}[/] {ds['path']}  {ds['task'] or ''} "
            f"{ds['train_examples'] or '?'} training examples, target {ds['target_model'] or '-'}",
            highlight=False,
        )
        for upload in ds["uploads"]:
            console.print(
                f"  upload {upload['file_id']} ({upload['split'] or '?'}, {upload['bytes']:,} bytes, "
                f"{upload['provider']}){' gone' if upload['status'] == 'deleted' else ''}",
                highlight=False,
            )
        for job in ds["jobs"]:
            _render_job(job, console, "  ")
        for ev in ds["evaluations"]:
            if not ev["job_id"]:
                console.print(f"  evaluation {ev['eval_id']}: {', '.join(ev['models'])}", highlight=False)
    if data["other_jobs"]:
        console.print("[bold]jobs of datasets not prepared here[/]")
        for job in data["other_jobs"]:
            _render_job(job, console, "  ")
    if data["other_evaluations"]:
        console.print("[bold]evaluations of datasets not prepared here[/]")
        for ev in data["other_evaluations"]:
            console.print(
                f"  evaluation {ev['eval_id']} (job {ev['job_id'] or '-'}): {', '.join(ev['models'])}", highlight=False
            )


@click.command()
@click.option("--limit", type=int, default=None, help="Only the most recent N datasets.")
@json_option
@click.pass_context
def runs(ctx: click.Context, limit: int | None, json_mode: bool) -> None:
    """The local history: datasets, uploads, jobs, tuned models, evaluations and how they link.

    Each job shows the cost estimated at launch beside the tokens it actually trained on and their cost.

    \b
    Examples:
      ftclient runs
      ftclient runs --json | jq '.datasets[0].jobs'
    """
    from ftclient.config import resolve
    from ftclient.registry import Registry

    out = get_output(ctx, json_mode)
    registry = Registry(resolve().registry_path)
    data = history(registry, limit=limit)
    out.result(data, lambda console: _render(data, console))
