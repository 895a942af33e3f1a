"""Rich rendering of dataset reports (validate and prepare) on the terminal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from ftclient.dataset.stats import CostEstimate, TokenStats
    from ftclient.errors import Problem

MAX_SHOWN = 20


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def render_problems(console: Console, problems: Sequence[Problem], counts: dict[str, int], *, truncated: bool) -> None:
    """Errors first, then warnings, each with its location and fix; says how many more there are."""
    for severity, colour in (("error", "red"), ("warning", "yellow")):
        shown = [p for p in problems if p.severity == severity]
        total = sum(n for key, n in counts.items() if key.startswith(f"{severity}:"))
        if not total:
            continue
        console.print(f"[bold {colour}]{severity}s[/] ({total:,})")
        for problem in shown[:MAX_SHOWN]:
            console.print(f"  [bold]{_escape(problem.location)}[/]: {_escape(problem.message)}", highlight=False)
            if problem.hint:
                console.print(f"    [dim]fix:[/] {_escape(problem.hint)}", highlight=False)
        if total > min(len(shown), MAX_SHOWN):
            by_code = ", ".join(
                f"{key.split(':', 1)[1]} x{n:,}" for key, n in sorted(counts.items()) if key.startswith(severity)
            )
            more = " (all of them with --json)" if not truncated else ""
            console.print(f"  … {total - min(len(shown), MAX_SHOWN):,} more: {by_code}{more}")


def render_tokens(console: Console, tokens: TokenStats | None, cost: CostEstimate | None) -> None:
    from rich.table import Table

    if tokens is None:
        return
    kind = "exact" if tokens.exact else "estimate: the model's own tokenizer is not shipped"
    table = Table(title=f"tokens ({tokens.encoding}, {kind})", title_justify="left", show_edge=False)
    for column in ("", "total", "min", "p10", "median", "p90", "max", "mean"):
        table.add_column(column, justify="right" if column else "left")
    for name, dist, total in (
        ("per example", tokens.per_example, tokens.total),
        ("assistant (trained)", tokens.assistant_per_example, tokens.assistant),
    ):
        if dist is not None:
            table.add_row(
                name,
                f"{total:,}",
                f"{dist.min:,}",
                f"{dist.p10:,}",
                f"{dist.p50:,}",
                f"{dist.p90:,}",
                f"{dist.max:,}",
                f"{dist.mean:,.1f}",
            )
    console.print(table)
    render_cost(console, cost)


def render_cost(console: Console, cost: CostEstimate | None) -> None:
    if cost is None:
        console.print("[dim]cost: no offline price for this model[/]")
        return
    money = f"[bold]${cost.usd:,.2f}[/]" if cost.usd is not None else cost.note or "not priced per token"
    console.print(
        f"cost: {money} to train {cost.model}: {cost.epochs} epochs x {cost.billed_tokens_per_epoch:,} tokens "
        f"= {cost.billed_tokens_total:,} billed tokens"
        + (f" at ${cost.training_per_1m:.2f}/1M" if cost.training_per_1m is not None else "")
        + f" [dim](prices as of {cost.price_as_of}; {_escape(cost.price_source)})[/]",
        highlight=False,
    )


def render_validation(console: Console, report: Any) -> None:
    verdict = "[bold green]ok[/]" if report.ok else "[bold red]the provider would reject this file[/]"
    target = f"{report.provider} {report.model or ''}".strip()
    console.print(
        f"{_escape(report.path)}: {report.format or 'unknown format'}, {report.examples:,} examples, "
        f"checked for {_escape(target)} - {verdict}",
        highlight=False,
    )
    render_problems(console, report.problems, report.problem_counts, truncated=report.problems_truncated)
    render_tokens(console, report.tokens, report.cost)
