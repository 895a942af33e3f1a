"""``ftclient jobs``: list, show, watch, events, checkpoints, cancel, pause, resume.

Also home of the live follow view that ``ftclient launch`` shares: a progress bar per job over its steps,
ETA, train/validation loss, and new events as lines above the bars (plain lines when stderr is not a
terminal).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

import click

from ftclient.cli.common import get_output, json_option

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

    from ftclient.cli.output import Output
    from ftclient.jobs import Job
    from ftclient.launching.follow import JobProgress
    from ftclient.providers.base import JobEvent, JobInfo

METRIC_LINES = 10
"""Without a terminal, print about this many loss lines per job (not one per step)."""


def _time(ts: int | None) -> str:
    if not ts:
        return "-"
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "ETA -"
    seconds = int(seconds)
    return f"ETA {seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _loss(progress: JobProgress) -> str:
    parts = []
    if progress.train_loss is not None:
        parts.append(f"train {progress.train_loss:.3f}")
    if progress.valid_loss is not None:
        parts.append(f"valid {progress.valid_loss:.3f}")
    if progress.full_valid_loss is not None:
        parts.append(f"full valid {progress.full_valid_loss:.3f}")
    return "loss " + ", ".join(parts) if parts else ""


class FollowView:
    """Shows jobs being followed. A context manager: the live bars stop cleanly on exit (and Ctrl-C)."""

    def __init__(self, out: Output, job_ids: Sequence[str]) -> None:
        self.out = out
        self.job_ids = list(job_ids)
        self.progress: Progress | None = None
        self.tasks: dict[str, TaskID] = {}
        self.status: dict[str, str] = {}
        self.metric_every: dict[str, int] = {}
        self.last_metric_step: dict[str, int] = {}

    def __enter__(self) -> FollowView:
        if self.out.interactive:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[eta]}"),
                TextColumn("{task.fields[loss]}"),
                console=self.out.console,
                transient=False,
            )
            self.progress.start()
            for job_id in self.job_ids:
                self.tasks[job_id] = self.progress.add_task(job_id, total=None, eta="", loss="")
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.progress is not None:
            self.progress.stop()

    def _say(self, text: str) -> None:
        if self.out.quiet or self.out.json_mode:
            return
        console: Console = self.progress.console if self.progress else self.out.console
        console.print(text, highlight=False, markup=False)

    def on_event(self, job_id: str, event: JobEvent) -> None:
        label = job_id if len(self.job_ids) > 1 else ""
        prefix = f"{_time(event.created_at)} {label + ' ' if label else ''}"
        if event.type == "metrics" or "step" in (event.data or {}):
            step = event.data.get("step")
            total = event.data.get("total_steps")
            if self.progress is not None or not isinstance(step, int):
                return
            every = self.metric_every.setdefault(job_id, max(1, int(total or 1) // METRIC_LINES))
            if step - self.last_metric_step.get(job_id, 0) < every and step != total:
                return
            self.last_metric_step[job_id] = step
        level = "" if event.level == "info" else f"{event.level}: "
        self._say(f"{prefix}{level}{event.message}")

    def on_update(self, progress: JobProgress) -> None:
        if self.progress is not None:
            self.progress.update(
                self.tasks[progress.job_id],
                description=f"{progress.job_id} {progress.status}",
                total=progress.total_steps,
                completed=progress.step or 0,
                eta=_eta(progress.eta_s) if progress.status == "running" else "",
                loss=_loss(progress),
            )
        elif self.status.get(progress.job_id) != progress.status:
            extra = f" ({_loss(progress)})" if _loss(progress) and progress.status != "running" else ""
            self._say(f"{progress.job_id}: {progress.status}{extra}")
        self.status[progress.job_id] = progress.status


def follow(
    jobs: Sequence[Job], out: Output, *, timeout: float | None, poll_interval: float | None
) -> dict[str, JobInfo]:
    """Follow ``jobs`` live until they end. Ctrl-C detaches (the jobs keep running) and says how to
    re-attach; a failed or cancelled job raises JobFailedError (exit 3)."""
    from ftclient.errors import Interrupted, JobCancelledError, JobFailedError
    from ftclient.jobs import wait_all

    with FollowView(out, [j.id for j in jobs]) as view:
        try:
            final = wait_all(
                jobs, on_event=view.on_event, on_update=view.on_update, timeout=timeout, poll_interval=poll_interval
            )
        except KeyboardInterrupt:
            watch = " ".join(f"`ftclient jobs watch {j.id}`" for j in jobs)
            plural = len(jobs) > 1
            raise Interrupted(
                f"stopped following {', '.join(j.id for j in jobs)}; the job{'s keep' if plural else ' keeps'} "
                "running on the provider",
                hint=f"re-attach with {watch}",
            ) from None
    bad = [info for info in final.values() if info.status != "succeeded"]
    if bad:
        first = bad[0]
        others = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        if all(info.status == "cancelled" for info in bad):
            raise JobCancelledError(
                first.id,
                first.status,
                detail=("it was cancelled" + others),
                hint="nothing to fix: run `ftclient launch --force-new` to train again",
            )
        raise JobFailedError(
            first.id,
            first.status,
            detail=(first.error_message or "") + others or None,
            hint=f"see `ftclient jobs events {first.id}`; fix the cause and launch again",
        )
    return final


def job_dict(info: JobInfo) -> dict[str, Any]:
    from ftclient.cli.output import to_jsonable

    data: dict[str, Any] = to_jsonable(info)
    data["result_files"] = list(info.result_files)
    return data


def _render_job(info: JobInfo, console: Console) -> None:
    rows = [
        ("job", info.id),
        ("status", info.status if info.status == info.raw_status else f"{info.status} ({info.raw_status})"),
        ("base model", info.model),
        ("tuned model", info.fine_tuned_model or "-"),
        ("method", info.method),
        ("hyperparameters", ", ".join(f"{k}={v}" for k, v in sorted(info.hyperparameters.items())) or "auto"),
        ("created", _time(info.created_at)),
        ("finished", _time(info.finished_at)),
        ("trained tokens", f"{info.trained_tokens:,}" if info.trained_tokens is not None else "-"),
        ("training file", info.training_file or "-"),
        ("validation file", info.validation_file or "-"),
    ]
    if info.error_message:
        rows.append(("error", f"{info.error_code}: {info.error_message}"))
    for key, value in rows:
        console.print(f"[bold]{key:>16}[/]  {value}", highlight=False)


def _job(ctx: click.Context, job_id: str, provider: str | None) -> Job:
    from ftclient.jobs import Job

    job = Job.attach(job_id, provider=provider)
    ctx.call_on_close(job.close)
    return job


provider_option = click.option(
    "--provider", default=None, help="Provider of the job (default: as recorded, else openai)."
)


@click.group()
def jobs() -> None:
    """List, show, watch, cancel, pause or resume fine-tuning jobs.

    \b
    Examples:
      ftclient jobs list
      ftclient jobs watch ftjob-abc123        # re-attach to a running job
      ftclient jobs events ftjob-abc123 --json
      ftclient jobs cancel ftjob-abc123
    """


@jobs.command("list")
@click.option("--limit", type=int, default=20, show_default=True, help="How many jobs to list.")
@click.option("--local", is_flag=True, help="Only the local history (no request to the provider).")
@provider_option
@json_option
@click.pass_context
def list_(ctx: click.Context, limit: int, local: bool, provider: str | None, json_mode: bool) -> None:
    """List recent jobs: the provider's view, marked with what ftclient knows locally.

    \b
    Examples:
      ftclient jobs list --limit 5
      ftclient jobs list --local --json
    """
    from ftclient.config import resolve
    from ftclient.providers import get_provider
    from ftclient.registry import Registry

    out = get_output(ctx, json_mode)
    settings = resolve({"provider": provider})
    registry = Registry(settings.registry_path)
    rows: list[dict[str, Any]] = []
    if local:
        for record in registry.list_jobs(limit=limit):
            rows.append(
                {
                    "id": record.job_id,
                    "provider": record.provider,
                    "status": record.status,
                    "model": record.base_model,
                    "fine_tuned_model": record.fine_tuned_model,
                    "created_at": record.created_at,
                    "local": True,
                    "sweep_id": record.sweep_id,
                }
            )
    else:
        adapter = get_provider(settings.provider, settings)
        ctx.call_on_close(adapter.close)
        for info in adapter.list_jobs(limit=limit):
            known = registry.get_job(info.id)
            rows.append(
                {
                    "id": info.id,
                    "provider": info.provider,
                    "status": info.status,
                    "model": info.model,
                    "fine_tuned_model": info.fine_tuned_model,
                    "created_at": info.created_at,
                    "local": known is not None,
                    "sweep_id": known.sweep_id if known else None,
                }
            )

    def render(console: Console) -> None:
        if not rows:
            console.print("no jobs yet: `ftclient launch` creates one")
        for row in rows:
            mark = "" if row["local"] else "  (not launched from here)"
            console.print(
                f"{row['id']}  {row['status']:<16} {_time(row['created_at'])}  {row['model']}"
                f"{'  -> ' + row['fine_tuned_model'] if row['fine_tuned_model'] else ''}{mark}",
                highlight=False,
            )

    out.result({"jobs": rows}, render)



def _losses(data: Mapping[str, Any]) -> str:
    """A metrics event's losses after its message, which says only the step on most providers."""
    parts = [f"{label} {data[key]:.4f}" for key, label in (("train_loss", "train loss"), ("valid_loss", "valid loss"))
             if isinstance(data.get(key), int | float)]
    return f" ({', '.join(parts)})" if parts else ""


@jobs.command()
@click.argument("job_id")
@provider_option
@json_option
@click.pass_context
def show(ctx: click.Context, job_id: str, provider: str | None, json_mode: bool) -> None:
    """Show one job's state, model names, hyperparameters and error.

    \b
    Examples:
      ftclient jobs show ftjob-abc123
      ftclient jobs show ftjob-abc123 --json | jq .fine_tuned_model
    """
    out = get_output(ctx, json_mode)
    job = _job(ctx, job_id, provider)
    assert job.info is not None
    info = job.info
    out.result(job_dict(info), lambda console: _render_job(info, console))


@jobs.command()
@click.argument("job_id")
@click.option("--timeout", type=float, default=None, help="Give up after this many seconds (exit 4).")
@click.option("--poll-interval", type=float, default=None, help="Shortest pause between polls, in seconds.")
@provider_option
@json_option
@click.pass_context
def watch(  # noqa: PLR0917 - click passes options positionally
    ctx: click.Context,
    job_id: str,
    timeout: float | None,
    poll_interval: float | None,
    provider: str | None,
    json_mode: bool,
) -> None:
    """Follow a job live until it ends (re-attach after Ctrl-C, from another terminal or machine).

    Exit codes: 0 succeeded, 3 failed or cancelled, 4 timed out, 130 interrupted.

    \b
    Examples:
      ftclient jobs watch ftjob-abc123
      ftclient jobs watch ftjob-abc123 --timeout 3600
    """
    out = get_output(ctx, json_mode)
    job = _job(ctx, job_id, provider)
    out.info(f"following {job_id} (Ctrl-C detaches; the job keeps running)")
    final = follow([job], out, timeout=timeout, poll_interval=poll_interval)
    info = final[job_id]
    out.result(job_dict(info), lambda console: console.print(f"tuned model: {info.fine_tuned_model}", highlight=False))


@jobs.command()
@click.argument("job_id")
@click.option("--after", default=None, help="Only events after this event id.")
@provider_option
@json_option
@click.pass_context
def events(ctx: click.Context, job_id: str, after: str | None, provider: str | None, json_mode: bool) -> None:
    """Print a job's events, oldest first.

    \b
    Examples:
      ftclient jobs events ftjob-abc123
      ftclient jobs events ftjob-abc123 --after ftevent-xyz --json
    """
    from ftclient.cli.output import to_jsonable

    out = get_output(ctx, json_mode)
    found = _job(ctx, job_id, provider).events(after=after)

    def render(console: Console) -> None:
        for event in found:
            console.print(
                f"{_time(event.created_at)} {event.level:<5} {event.message}{_losses(event.data)}",
                highlight=False,
                markup=False,
            )

    out.result({"job_id": job_id, "events": to_jsonable(found)}, render)


@jobs.command()
@click.argument("job_id")
@provider_option
@json_option
@click.pass_context
def checkpoints(ctx: click.Context, job_id: str, provider: str | None, json_mode: bool) -> None:
    """List a job's checkpoints (each is a usable model, like the final one).

    \b
    Examples:
      ftclient jobs checkpoints ftjob-abc123
      ftclient jobs checkpoints ftjob-abc123 --json | jq -r '.checkpoints[0].model'
    """
    from ftclient.cli.output import to_jsonable

    out = get_output(ctx, json_mode)
    found = _job(ctx, job_id, provider).checkpoints()

    def render(console: Console) -> None:
        if not found:
            console.print("no checkpoints (yet)")
        for ckpt in found:
            metrics = ", ".join(f"{k}={v:.3f}" for k, v in sorted(ckpt.metrics.items()))
            console.print(f"step {ckpt.step:>6}  {ckpt.model}  {metrics}", highlight=False)

    out.result({"job_id": job_id, "checkpoints": to_jsonable(found)}, render)


def _lifecycle(ctx: click.Context, job_id: str, provider: str | None, json_mode: bool, action: str) -> None:
    out = get_output(ctx, json_mode)
    job = _job(ctx, job_id, provider)
    before = job.info.status if job.info else None
    info: JobInfo = getattr(job, action)()
    already = action == "cancel" and before in {"cancelled", "succeeded", "failed"}
    note = ""
    if already:
        ended = "it already was; nothing to do" if before == "cancelled" else "it had already ended; nothing to cancel"
        note = f" ({ended})"
    data = {**job_dict(info), "already": already}
    out.result(data, lambda console: console.print(f"{job_id}: {info.status}{note}", highlight=False))


@jobs.command()
@click.argument("job_id")
@provider_option
@json_option
@click.pass_context
def cancel(ctx: click.Context, job_id: str, provider: str | None, json_mode: bool) -> None:
    """Cancel a job (training stops; trained tokens so far may be billed).

    \b
    Examples:
      ftclient jobs cancel ftjob-abc123
    """
    _lifecycle(ctx, job_id, provider, json_mode, "cancel")


@jobs.command()
@click.argument("job_id")
@provider_option
@json_option
@click.pass_context
def pause(ctx: click.Context, job_id: str, provider: str | None, json_mode: bool) -> None:
    """Pause a running job (resume it later with `ftclient jobs resume`).

    \b
    Examples:
      ftclient jobs pause ftjob-abc123
    """
    _lifecycle(ctx, job_id, provider, json_mode, "pause")


@jobs.command()
@click.argument("job_id")
@provider_option
@json_option
@click.pass_context
def resume(ctx: click.Context, job_id: str, provider: str | None, json_mode: bool) -> None:
    """Resume a paused job.

    \b
    Examples:
      ftclient jobs resume ftjob-abc123
    """
    _lifecycle(ctx, job_id, provider, json_mode, "resume")
