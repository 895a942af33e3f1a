"""``ftclient evaluate JOB_ID``: the tuned model against its base model on the held-out test split."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ftclient.cli.common import get_output, inactive_timeout_option, json_option

if TYPE_CHECKING:
    from rich.console import Console

    from ftclient.cli.output import Output
    from ftclient.evaluate import EvaluationReport
    from ftclient.evaluate.runner import Progress
    from ftclient.providers.base import BatchInfo

TASK_CHOICES = ("classify", "summarize", "translate", "extract", "chat")


class ProgressLine:
    """A live progress bar on stderr: answers done, rate, ETA and running cost. Silent when stderr is not
    a terminal (CI logs) or in --json / --quiet mode; then one summary line is printed at the end."""

    def __init__(self, out: Output) -> None:
        self.out = out
        self._progress: Any = None
        self._task: Any = None
        self._last: Progress | None = None

    def __enter__(self) -> ProgressLine:
        if self.out.interactive:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(
                TextColumn("[bold]answers[/]"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[cost]}"),
                TextColumn("{task.fields[notes]}"),
                console=self.out.console,
                transient=False,
            )
            self._progress.start()
        return self

    def __call__(self, p: Progress) -> None:
        self._last = p
        if self._progress is None:
            return
        if self._task is None:
            self._task = self._progress.add_task("answers", total=p.total, rate="", cost="", notes="")
        elapsed = max(1e-6, time.monotonic() - p.started)
        fresh = p.done - p.cached
        notes = []
        if p.cached:
            notes.append(f"{p.cached} cached")
        if p.rate_limited:
            notes.append(f"{p.rate_limited}×429")
        if p.failed:
            notes.append(f"[red]{p.failed} failed[/]")
        self._progress.update(
            self._task,
            completed=p.done,
            rate=f"{fresh / elapsed:.1f}/s",
            cost=f"${p.cost_usd:.4f}",
            notes=", ".join(notes),
        )

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
        elif self._last is not None and not self.out.json_mode:
            p = self._last
            elapsed = max(1e-6, time.monotonic() - p.started)
            self.out.info(
                f"{p.done}/{p.total} answers ({p.cached} cached, {p.failed} failed) in {elapsed:.1f}s, "
                f"${p.cost_usd:.4f}"
            )


def _fmt_metric(name: str, value: float) -> str:
    from ftclient.evaluate.compare import RATE_METRICS

    return f"{100 * value:.1f}%" if name in RATE_METRICS else f"{value:.2f}"


def render_summary(report: EvaluationReport, console: Console) -> None:
    """The terminal summary: verdict, metrics per model, comparisons, cost/latency, where the reports are."""
    from rich.table import Table

    from ftclient.evaluate.compare import LABELS
    from ftclient.evaluate.significance import format_p

    if report.source_note:
        console.print(f"[dim]{report.source_note}[/]", highlight=False)
    names = list(report.models[0].metrics) if report.models else []
    table = Table(title=f"{report.task}: {report.examples} test examples", title_justify="left")
    # A narrow terminal (or a CI log's 80 columns) folds the model's name rather than cutting it short:
    # the name is what a user copies into the next command.
    table.add_column("model", overflow="fold", min_width=24)
    table.add_column("role", no_wrap=True)
    for name in names:
        table.add_column(LABELS.get(name, name), justify="right")
    table.add_column("cost", justify="right", no_wrap=True)
    table.add_column("p50 / p95", justify="right", no_wrap=True)
    for m in report.models:
        lat = (
            "batch" if report.batch else f"{1000 * (m.latency_p50_s or 0):.0f} / {1000 * (m.latency_p95_s or 0):.0f} ms"
        )
        table.add_row(
            m.model,
            m.role,
            *[_fmt_metric(n, m.metrics.get(n, 0.0)) for n in names],
            "unknown" if m.cost_usd is None else f"${m.cost_usd:.4f}",
            lat,
        )
    console.print(table)
    for c in report.comparisons:
        p = f", {format_p(c.p_value)}" if c.p_value is not None else ""
        console.print(
            f"  {c.label}: {c.difference:+.1f} points (95% CI {c.ci_low:+.1f} to {c.ci_high:+.1f}{p})", highlight=False
        )
    if report.mcnemar:
        console.print(
            f"  fixed by tuning: {report.mcnemar['fixed']}, broken: {report.mcnemar['broken']}", highlight=False
        )
    failed = sum(m.failed for m in report.models)
    if failed:
        console.print(f"[yellow]{failed} answers failed and count as wrong; see report.json[/]", highlight=False)
    if report.judge is not None:
        from ftclient.evaluate.report import judge_sentence

        console.print(f"  {judge_sentence(report.judge)}", highlight=False)
    if report.verdict:
        console.print(f"[bold]{report.verdict}[/]", highlight=False)
    if report.out_dir:
        console.print(f"report: {Path(report.out_dir) / 'report.html'} (also report.md, report.json)", highlight=False)


@click.command("evaluate")
@click.argument("job_ids", nargs=-1, metavar="[JOB_ID]...")
@click.option("--model", default=None, help="Evaluate this model instead of the job's tuned model.")
@click.option("--baseline", default=None, help="Compare with this model (default: the job's base model).")
@click.option("--no-baseline", is_flag=True, help="Evaluate the model alone, with no comparison.")
@click.option(
    "--test",
    "test_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Test file (chat JSONL; the last assistant message is the reference).",
)
@click.option(
    "--task",
    type=click.Choice(TASK_CHOICES),
    default=None,
    help="Task for the metrics (default: the dataset manifest's task).",
)
@click.option("--checkpoint", type=int, default=None, metavar="STEP", help="Evaluate the job's checkpoint at STEP.")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 1024),
    default=32,
    show_default=True,
    help="Requests in flight at most (the rate limits pace them further).",
)
@click.option("--no-cache", is_flag=True, help="Ask the provider again even for answers already cached.")
@click.option("--batch", is_flag=True, help="Use the provider's Batch API (half price, slower).")
@click.option("--judge", default=None, metavar="MODEL", help="Also compare answers with this LLM as a judge.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Report folder (default: <reports_dir>/<evaluation id>).",
)
@click.option("--limit", type=click.IntRange(1), default=None, help="Use only the first N test examples.")
@click.option("--provider", default=None, help="Provider (default: settings).")
@click.option("--wait", is_flag=True, help="If the job is still running, wait for it to finish.")
@click.option(
    "--keep-endpoint",
    is_flag=True,
    help="Leave the dedicated endpoint running afterwards (providers that deploy tuned models, e.g. Together).",
)
@click.option(
    "--hardware",
    default=None,
    help="Hardware for the dedicated endpoint (default: the cheapest); on Azure the deployment sku "
    "(default Developer where it serves the model, else Standard); on Bedrock on-demand or provisioned "
    "(default on-demand where the base allows it, else provisioned throughput).",
)
@inactive_timeout_option
@json_option
@click.pass_context
def evaluate(  # noqa: PLR0917 - click passes options positionally
    ctx: click.Context,
    job_ids: tuple[str, ...],
    model: str | None,
    baseline: str | None,
    no_baseline: bool,
    test_file: Path | None,
    task: str | None,
    checkpoint: int | None,
    concurrency: int,
    no_cache: bool,
    batch: bool,
    judge: str | None,
    out: Path | None,
    limit: int | None,
    provider: str | None,
    wait: bool,
    keep_endpoint: bool,
    hardware: str | None,
    inactive_timeout: int,
    json_mode: bool,
) -> None:
    """Score a tuned model against its base model on the held-out test split.

    Finds the tuned model, its dataset and test split through the local history (or use --test FILE),
    runs every test example on both models at the provider's rate limit, scores them with the task's
    metrics, tests whether the difference is real (McNemar / paired bootstrap, 95% CI), and writes
    report.json, report.md and a self-contained report.html. Answers are cached: an interrupted run
    resumes without paying twice.

    Where tuned models must be deployed first (Together), a dedicated endpoint is started for the
    evaluation and stopped afterwards, also on errors and Ctrl-C, unless --keep-endpoint. Several job ids
    (or a sweep id) give one comparison: every model on the same test split, costs side by side.

    \b
    Examples:
      ftclient evaluate ftjob-abc123
      ftclient evaluate ftjob-abc123 --checkpoint 200 --out reports/ckpt200
      ftclient evaluate --model ft:gpt-4.1-mini-2025-04-14:acme::x1 --test ftdata/tickets/test.jsonl
      ftclient evaluate ftjob-abc123 --baseline gpt-4.1-2025-04-14 --judge gpt-4.1-2025-04-14
      ftclient evaluate ftjob-abc123 --batch --json > eval.json
      ftclient evaluate ft-5e0c1d2a-... --keep-endpoint
      ftclient evaluate ftjob-abc123 ft-5e0c1d2a-...     # compare, one report
      ftclient evaluate sweep-3f2a9c1b7d4e
    """
    from ftclient.errors import UserInputError
    from ftclient.evaluate import evaluate as run_evaluation

    out_ = get_output(ctx, json_mode)
    if len(job_ids) > 1 or any(j.startswith("sweep-") for j in job_ids):
        from ftclient.cli.compare import compare_command

        compare_command(
            out_,
            job_ids,
            test=test_file,
            task=task,
            concurrency=concurrency,
            use_cache=not no_cache,
            out=out,
            limit=limit,
            wait=wait,
            keep_endpoint=keep_endpoint,
            hardware=hardware,
            inactive_timeout_min=inactive_timeout,
            progress=ProgressLine,
            render=render_summary,
        )
        return
    job_id = job_ids[0] if job_ids else None
    if not job_id and not model:
        raise UserInputError("give a JOB_ID or --model MODEL", hint="ftclient evaluate ftjob-abc123")
    if baseline and no_baseline:
        raise UserInputError("--baseline and --no-baseline contradict each other", hint="use one of them")
    # What an evaluation takes, however it runs (one job with its endpoint's lifecycle, or a model).
    common: dict[str, Any] = {
        "provider": provider,
        "baseline": baseline,
        "no_baseline": no_baseline,
        "test": test_file,
        "task": task,
        "checkpoint": checkpoint,
        "concurrency": concurrency,
        "use_cache": not no_cache,
        "judge": judge,
        "out": out,
        "limit": limit,
        "wait": wait,
    }
    if job_id and not model and not batch:
        from ftclient.cli.compare import evaluate_one

        evaluate_one(
            out_,
            job_id,
            keep_endpoint=keep_endpoint,
            hardware=hardware,
            inactive_timeout_min=inactive_timeout,
            progress=ProgressLine,
            render=render_summary,
            **common,
        )
        return
    seen: set[tuple[str, str, int]] = set()

    def batch_status(model_name: str, info: BatchInfo) -> None:
        key = (info.id, info.status, info.completed)
        if key not in seen:
            seen.add(key)
            out_.info(
                f"batch {info.id} ({model_name}): {info.status}, {info.completed}/{info.total} done"
                + (f", {info.failed} failed" if info.failed else "")
            )

    with ProgressLine(out_) as progress:
        report = run_evaluation(
            job_id, model=model, batch=batch, on_progress=progress, on_batch_status=batch_status, **common
        )
    out_.report(report.to_dict(), lambda console: render_summary(report, console))
