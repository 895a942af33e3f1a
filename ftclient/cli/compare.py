"""The parts of ``ftclient evaluate`` that go beyond one model on one provider: evaluating a job whose
provider must deploy it first (the endpoint is started and stopped around the evaluation), and comparing
several jobs (or a sweep) in one report."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import closing
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from ftclient.cli.output import Output
    from ftclient.evaluate import EvaluationReport
    from ftclient.providers.base import Endpoint


def _interrupted(what: str) -> Exception:
    from ftclient.errors import Interrupted

    return Interrupted(
        f"{what} interrupted; any endpoint it started was stopped",
        hint="answers received so far are cached: run the same command again to resume without paying twice",
    )


def _endpoint_printer(out: Output) -> Callable[[Endpoint], None]:
    def on_state(endpoint: Endpoint) -> None:
        price = f", ${endpoint.cost_per_hour_usd:.2f}/hour" if endpoint.cost_per_hour_usd is not None else ""
        out.info(f"endpoint {endpoint.name or endpoint.id}: {endpoint.state}{price}")

    return on_state


def _quote_printer(out: Output) -> Callable[[str, float | None], None]:
    def on_quote(sku: str, hourly: float | None) -> None:
        price = "unknown" if hourly is None else f"${hourly:.2f}"
        out.info(f"deploying on {sku}: {price}/hour hosting, billed until it is deleted")

    return on_quote


def _evaluated(output: Output, what: str, progress: Callable[[Output], Any], run: Callable[..., Any], **kw: Any) -> Any:
    """``run(**kw, on_progress=..., on_endpoint=..., on_quote=...)`` under the progress display; Ctrl-C becomes
    Interrupted (the endpoint, if any, has been stopped by then)."""
    try:
        with progress(output) as on_progress:
            return run(
                on_progress=on_progress, on_endpoint=_endpoint_printer(output), on_quote=_quote_printer(output), **kw
            )
    except KeyboardInterrupt:
        raise _interrupted(what) from None


def _deployment_lines(report: EvaluationReport, console: Console) -> None:
    for d in report.deployments:
        cost = "unknown" if d.get("cost_usd") is None else f"${d['cost_usd']:.4f}"
        console.print(
            f"endpoint {d.get('name')}: {d.get('billed_minutes')} billed minute(s), {cost}; {d.get('final_state')}",
            highlight=False,
        )


def evaluate_one(
    output: Output,
    job_id: str,
    *,
    provider: str | None,
    keep_endpoint: bool,
    hardware: str | None,
    inactive_timeout_min: int,
    progress: Callable[[Output], Any],
    render: Callable[[EvaluationReport, Console], None],
    **options: Any,
) -> None:
    from ftclient.cli.endpoints import warn_running
    from ftclient.config import resolve
    from ftclient.evaluate.jobs import evaluate_job, provider_for_job
    from ftclient.providers import get_provider
    from ftclient.registry import Registry

    settings = resolve({"provider": provider} if provider else {})
    registry = Registry(settings.registry_path)
    with registry, closing(get_provider(provider_for_job(job_id, provider, settings, registry), settings)) as client:
        report = _evaluated(
            output,
            "evaluation",
            progress,
            evaluate_job,
            job_id=job_id,
            provider_client=client,
            settings=settings,
            registry=registry,
            keep_endpoint=keep_endpoint,
            hardware=hardware,
            inactive_timeout_min=inactive_timeout_min,
            **options,
        )

        def show(console: Console) -> None:
            render(report, console)
            _deployment_lines(report, console)

        output.report(report.to_dict(), show)
        if client.capabilities.needs_deployment:
            warn_running(output, registry, client)


def render_comparison(report: EvaluationReport, console: Console) -> None:
    from rich.table import Table

    from ftclient.evaluate.report import runs_table

    if report.source_note:
        console.print(f"[dim]{report.source_note}[/]", highlight=False)
    head, rows = runs_table(report)
    table = Table(
        title=f"{report.task}: {report.examples} test examples, {len(report.runs)} jobs", title_justify="left"
    )
    for column in head:
        table.add_column(column, justify="right" if head.index(column) >= 5 else "left", overflow="fold")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    for note in dict.fromkeys(str(r["cost_note"]) for r in report.runs if r.get("cost_note")):
        console.print(f"[dim]{note}[/]", highlight=False)
    _deployment_lines(report, console)
    if report.verdict:
        console.print(f"[bold]{report.verdict}[/]", highlight=False)
    if report.out_dir:
        console.print(f"report: {report.out_dir}/report.html (also report.md, report.json)", highlight=False)


def compare_command(
    output: Output,
    job_ids: Sequence[str],
    *,
    keep_endpoint: bool,
    hardware: str | None,
    inactive_timeout_min: int,
    progress: Callable[[Output], Any],
    render: Callable[[EvaluationReport, Console], None],
    **options: Any,
) -> None:
    from ftclient.cli.endpoints import warn_running
    from ftclient.config import resolve
    from ftclient.evaluate.jobs import compare_jobs
    from ftclient.registry import Registry

    settings = resolve()

    def on_job(job_id: str, n: int, total: int) -> None:
        output.info(f"[{n}/{total}] evaluating {job_id}")

    with Registry(settings.registry_path) as registry:
        report = _evaluated(
            output,
            "comparison",
            progress,
            compare_jobs,
            job_ids_or_sweep=job_ids,
            settings=settings,
            registry=registry,
            on_job=on_job,
            keep_endpoint=keep_endpoint,
            hardware=hardware,
            inactive_timeout_min=inactive_timeout_min,
            **options,
        )
        output.report(report.to_dict(), lambda console: render_comparison(report, console))
        warn_running(output, registry, None)
