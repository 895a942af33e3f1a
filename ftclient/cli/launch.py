"""``ftclient launch [DATASET]``: preflight, upload, create the job(s), follow them live."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ftclient.cli.common import get_output, json_option, split_list

if TYPE_CHECKING:
    from rich.console import Console

    from ftclient.cli.output import Output
    from ftclient.jobs import Job, LaunchPlan, LaunchStep


def _numbers(value: str | None, kind: type, flag: str) -> Any:
    """``"2,3"`` -> ``[2, 3]``; one value -> that value; none -> None."""
    items = split_list(value)
    if not items:
        return None
    try:
        parsed = [kind(item) for item in items]
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a comma-separated list of {kind.__name__} values", param_hint=flag
        ) from None
    if any(not math.isfinite(item) for item in parsed):
        raise click.BadParameter(f"{value!r}: every value must be a finite number (not nan or inf)", param_hint=flag)
    return parsed if len(parsed) > 1 else parsed[0]


def _money(value: float | None) -> str:
    return "unknown" if value is None else f"${value:,.2f}"


def _render_plan(plan: LaunchPlan, console: Console) -> None:
    import json

    console.print(
        f"[bold]dry run[/]: nothing is sent. Dataset {plan.dataset.path} "
        f"({plan.dataset.dataset_sha256[:12]}), provider {plan.provider} at {plan.endpoint}",
        highlight=False,
    )
    for upload in plan.uploads:
        if upload["reuse_file_id"]:
            console.print(
                f"{upload['split']}: reuse {upload['reuse_file_id']} if the provider still has it", highlight=False
            )
        for request in upload["requests"]:
            console.print(f"{upload['split']}: {json.dumps(request)}", highlight=False, markup=False)
    for job in plan.jobs:
        check = job.preflight
        head = f"{job.config.describe()}: {check.examples} examples, {check.tokens_per_epoch:,} tokens/epoch x "
        head += f"{check.epochs} epochs{' (auto)' if check.epochs_chosen_by_provider else ''} = "
        head += f"{check.billed_tokens:,} billed tokens, {_money(check.cost_usd)}"
        if check.price_as_of:
            head += f" (prices as of {check.price_as_of})"
        console.print(head, highlight=False)
        if job.existing_job_id:
            console.print(f"  already launched as {job.existing_job_id}: would re-attach, not create", highlight=False)
        else:
            console.print(f"  {json.dumps(job.request)}", highlight=False, markup=False)
    console.print(f"estimated total: {_money(plan.total_cost_usd)}", highlight=False)
    for note in plan.notes:
        console.print(f"note: {note}", highlight=False)


def _step_printer(out: Output) -> Any:
    def on_step(step: LaunchStep) -> None:
        if step.kind == "note":
            out.warn(step.message) if "not eligible" not in step.message else out.info(f"note: {step.message}")
        else:
            out.info(step.message)

    return on_step


def _settings(row: dict[str, Any]) -> str:
    hyper = ", ".join(f"{k}={v}" for k, v in sorted((row.get("hyperparameters") or {}).items()))
    return f"{row.get('model', '')}{', ' + hyper if hyper else ''}"


def _job_row(job: Job) -> dict[str, Any]:
    from ftclient.cli.jobs import job_dict

    data: dict[str, Any] = job_dict(job.info) if job.info else {"id": job.id}
    data.update(reused=job.reused, run_id=job.run_id, sweep_id=job.sweep_id)
    return data


@click.command()
@click.argument("dataset", required=False, type=click.Path(path_type=Path))
@click.option(
    "--provider",
    default=None,
    help="Provider (default: the dataset's target, else settings); a comma-separated list launches on each.",
)
@click.option("--model", default=None, help="Base model; a comma-separated list launches a sweep.")
@click.option(
    "--method",
    type=click.Choice(["supervised", "dpo"]),
    default=None,
    help="Training method (default: what the dataset was prepared for).",
)
@click.option("--epochs", default=None, help="Epochs, 1-50 (list for a sweep, e.g. 2,3). Default: auto.")
@click.option("--batch-size", default=None, help="Batch size, 1-256 (list for a sweep). Default: auto.")
@click.option("--lr-multiplier", default=None, help="Learning-rate multiplier, > 0 (list for a sweep).")
@click.option("--beta", default=None, help="DPO beta, 0 < beta <= 2 (list for a sweep).")
@click.option("--suffix", default=None, help="In the tuned model's name: up to 64 characters (30 on Together).")
@click.option("--seed", type=int, default=None, help="Training seed (0-2147483647).")
@click.option("--no-validation", is_flag=True, help="Do not send validation.jsonl.")
@click.option("--wandb-project", default=None, help="Report metrics to this Weights & Biases project.")
@click.option("--moderate", is_flag=True, help="Screen the training data with the moderation endpoint first.")
@click.option("--detach", is_flag=True, help="Return as soon as the job exists; print its id.")
@click.option("--dry-run", is_flag=True, help="Print the exact requests and the cost; send nothing.")
@click.option("--force-new", is_flag=True, help="Create a new job even if an identical one exists.")
@click.option(
    "--yes", is_flag=True, help="Create the job even when the provider's own price estimate advises against it."
)
@click.option("--timeout", type=float, default=None, help="Stop following after this many seconds (exit 4).")
@click.option("--poll-interval", type=float, default=None, help="Shortest pause between polls, in seconds.")
@json_option
@click.pass_context
def launch(  # noqa: PLR0917 - click passes options positionally
    ctx: click.Context,
    dataset: Path | None,
    provider: str | None,
    model: str | None,
    method: str | None,
    epochs: str | None,
    batch_size: str | None,
    lr_multiplier: str | None,
    beta: str | None,
    suffix: str | None,
    seed: int | None,
    no_validation: bool,
    wandb_project: str | None,
    moderate: bool,
    detach: bool,
    dry_run: bool,
    force_new: bool,
    yes: bool,
    timeout: float | None,
    poll_interval: float | None,
    json_mode: bool,
) -> None:
    """Upload a prepared dataset, create the fine-tuning job and follow it live.

    DATASET is a folder written by `ftclient prepare` (default: the latest one). Files already uploaded
    are reused; launching the same configuration again re-attaches to its job. Ctrl-C stops following
    (the job keeps running). Exit codes: 0 succeeded, 3 failed or cancelled, 4 timed out, 130 interrupted.

    \b
    Examples:
      ftclient launch                                  # the latest prepared dataset
      ftclient launch ftdata/tickets --model gpt-4.1-mini-2025-04-14 --epochs 3
      ftclient launch --dry-run                        # requests and cost, nothing sent
      ftclient launch --epochs 2,3 --model gpt-4o-mini-2024-07-18,gpt-4.1-mini-2025-04-14   # a sweep of 4
      JOB=$(ftclient -q launch --detach)
      ftclient launch --provider openai,together --model gpt-4.1-mini-2025-04-14,Qwen/Qwen3-8B
      ftclient launch --model openai:gpt-4o-mini-2024-07-18,together:openai/gpt-oss-20b
    """
    from ftclient.config import resolve
    from ftclient.errors import Interrupted
    from ftclient.jobs import launch as launch_jobs
    from ftclient.jobs import plan_launch

    out = get_output(ctx, json_mode)
    settings = resolve({"provider": provider})
    options: dict[str, Any] = {
        "provider": provider,
        "model": split_list(model) if model and "," in model else model,
        "method": method,
        "epochs": _numbers(epochs, int, "--epochs"),
        "batch_size": _numbers(batch_size, int, "--batch-size"),
        "lr_multiplier": _numbers(lr_multiplier, float, "--lr-multiplier"),
        "beta": _numbers(beta, float, "--beta"),
        "suffix": suffix,
        "seed": seed,
        "validation": not no_validation,
        "wandb_project": wandb_project,
        "force_new": force_new,
        "settings": settings,
    }
    from ftclient.launching.cross import is_cross

    if is_cross(provider, model):
        from ftclient.cli.launch_across import launch_across_cli

        launch_across_cli(
            out,
            dataset,
            provider=provider,
            model=model,
            options={**options, "settings": resolve()},
            moderate=moderate,
            yes=yes,
            detach=detach,
            dry_run=dry_run,
            timeout=timeout,
            poll_interval=poll_interval,
            on_step=_step_printer(out),
        )
        return
    if dry_run:
        plan = plan_launch(dataset, **options)
        out.result({"dry_run": True, **plan.to_dict()}, lambda console: _render_plan(plan, console))
        return

    def upload_progress(split: str, done: int, total: int) -> None:
        if done == total or out.verbose:
            out.detail(f"{split}: {done:,}/{total:,} bytes sent")

    try:
        launched = launch_jobs(
            dataset,
            moderate=moderate,
            yes=yes,
            on_step=_step_printer(out),
            on_upload_progress=upload_progress,
            **options,
        )
    except KeyboardInterrupt:
        raise Interrupted(
            "interrupted before the job was followed",
            hint="run the same `ftclient launch` again: uploaded files are reused, parts already sent are not "
            "sent again, and a job created in the meantime is found instead of created twice",
        ) from None
    jobs = launched if isinstance(launched, list) else [launched]
    ctx.call_on_close(jobs[0].close)  # the handles of one launch share one provider client
    if jobs[0].sweep_id:
        out.info(f"sweep {jobs[0].sweep_id}: {len(jobs)} jobs")
    if not detach:
        out.info(f"following {', '.join(j.id for j in jobs)} (Ctrl-C detaches; the job keeps running)")
        from ftclient.cli.jobs import follow

        follow(jobs, out, timeout=timeout, poll_interval=poll_interval)
    rows = [_job_row(j) for j in jobs]

    def render(console: Console) -> None:
        for row in rows:
            # In a sweep, each job's line names its model and settings: the ids alone do not say which is which.
            what = f" ({_settings(row)})" if len(rows) > 1 else ""
            if row.get("fine_tuned_model"):
                console.print(
                    f"{row['id']}{what}: [bold green]{row['status']}[/] -> {row['fine_tuned_model']}", highlight=False
                )
                console.print(f"next: ftclient evaluate {row['id']}", highlight=False)
            else:
                console.print(
                    f"{row['id']}{what}: {row.get('status')}; follow it with `ftclient jobs watch {row['id']}`",
                    highlight=False,
                )
        if len(rows) > 1 and jobs[0].sweep_id:
            console.print(f"compare them: ftclient evaluate {jobs[0].sweep_id}", highlight=False)

    out.report({"jobs": rows, "sweep_id": jobs[0].sweep_id}, render)
    if detach:
        for job in jobs:
            out.line(job.id)
