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
        f"cost: {money} to train {cost.model}: {_count(cost.epochs, 'epoch')} x "
        f"{cost.billed_tokens_per_epoch:,} tokens = {cost.billed_tokens_total:,} billed tokens"
        + (f" at ${cost.training_per_1m:.2f}/1M" if cost.training_per_1m is not None else "")
        + f" [dim](prices as of {cost.price_as_of}; {_escape(cost.price_source)})[/]",
        highlight=False,
    )


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def render_validation(console: Console, report: Any) -> None:
    verdict = "[bold green]ok[/]" if report.ok else "[bold red]the provider would reject this file[/]"
    target = f"{report.provider} {report.model or ''}".strip()
    console.print(
        f"{_escape(report.path)}: {report.format or 'unknown format'}, {_count(report.examples, 'example')}, "
        f"checked for {_escape(target)} - {verdict}",
        highlight=False,
    )
    render_problems(console, report.problems, report.problem_counts, truncated=report.problems_truncated)
    render_tokens(console, report.tokens, report.cost)


def render_prepare(console: Console, report: Any) -> None:
    from rich.table import Table

    m = report.manifest
    console.print(
        f"[bold]{_escape(m.source.path)}[/]: {m.task}, {report.rows:,} rows -> {report.examples:,} examples "
        f"for {m.target.provider} {_escape(m.target.model or '(no model)')}"
        + (f" [dim](read as {m.source.encoding})[/]" if m.source.encoding not in (None, "utf-8") else ""),
        highlight=False,
    )
    kind = "exact" if m.token_counts_exact else "estimated"
    table = Table(title=f"splits (seed {m.split.seed}; tokens {kind})", title_justify="left", show_edge=False)
    for column in ("split", "examples", "tokens", "assistant", "median", "max"):
        table.add_column(column, justify="left" if column == "split" else "right")
    for name, info in m.files.items():
        stats = report.splits[name].tokens
        dist = stats.per_example if stats else None
        table.add_row(
            name,
            f"{info.examples:,}",
            f"{info.tokens:,}",
            f"{info.assistant_tokens:,}",
            f"{dist.p50:,}" if dist else "-",
            f"{dist.max:,}" if dist else "-",
        )
    console.print(table)
    if m.labels:
        labels = Table(title="labels", title_justify="left", show_edge=False)
        for column in ("label", "train", "validation", "test"):
            labels.add_column(column, justify="left" if column == "label" else "right")
        for label in m.labels:
            labels.add_row(_escape(label), *(str(report.splits[s].labels.get(label, 0)) for s in m.files))
        console.print(labels)
    if m.languages:
        console.print(f"languages: {m.languages.source} -> {m.languages.target}")
    if report.dropped:
        console.print(f"[bold yellow]dropped rows[/] ({len(report.dropped):,})")
        for problem in report.dropped[:MAX_SHOWN]:
            column = f" [dim]({_escape(problem.path)})[/]" if problem.path else ""
            console.print(
                f"  line {problem.line}{column}: {_escape(problem.message)} [dim]- {_escape(problem.hint)}[/]",
                highlight=False,
            )
        if len(report.dropped) > MAX_SHOWN:
            console.print(f"  … {len(report.dropped) - MAX_SHOWN:,} more in report.md and manifest.json")
    if report.warnings:
        console.print(f"[bold yellow]warnings[/] ({len(report.warnings):,})")
        for problem in report.warnings[:10]:
            where = f"line {problem.line}: " if problem.line else ""
            console.print(f"  {where}{_escape(problem.message)}", highlight=False)
    render_cost(console, report.cost)
    console.print(f"[green]wrote[/] {_escape(str(report.out_dir))}/  [dim]next: ftclient launch[/]", highlight=False)
