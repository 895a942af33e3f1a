"""``report.md``: the prepared dataset described for a person (and for a pull request or a wiki)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ftclient.dataset.prepare import PrepareReport

MAX_LISTED = 200


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(report: PrepareReport) -> str:
    m = report.manifest
    lines = [
        f"# Dataset `{Path(m.source.path).name}` ({m.task})",
        "",
        f"- source: `{m.source.path}` ({m.source.format}, sha256 `{m.source.sha256[:16]}…`)",
        f"- target: {m.target.provider} `{m.target.model or 'no model given'}`, method {m.method}",
        f"- dataset sha256: `{m.dataset_sha256}`",
        "- columns: " + ", ".join(f"{role} = `{column}`" for role, column in m.columns.items()),
        f"- split: seed {m.split.seed}, ratios {'/'.join(f'{r:g}' for r in m.split.ratios)}"
        + (f", stratified by {m.split.stratified_by}" if m.split.stratified_by else ""),
        f"- rows read: {report.rows}; examples kept: {report.examples}; rows dropped: {len(report.dropped)}",
        "- leakage check: no input appears in two splits",
        "",
    ]
    if m.system_prompt:
        lines += ["System prompt:", "", "> " + m.system_prompt.replace("\n", "\n> "), ""]
    kind = "exact" if m.token_counts_exact else "estimated (the model's tokenizer is not shipped)"
    lines += [
        f"## Splits (tokens {kind})",
        "",
        "| split | examples | tokens | assistant tokens | median tokens | max tokens |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, info in m.files.items():
        stats = report.splits[name].tokens
        dist = stats.per_example if stats else None
        lines.append(
            f"| {name} | {info.examples:,} | {info.tokens:,} | {info.assistant_tokens:,} | "
            f"{dist.p50 if dist else '-'} | {dist.max if dist else '-'} |"
        )
    if m.labels:
        lines += ["", "## Labels", "", "| label | train | validation | test |", "|---|---:|---:|---:|"]
        for label in m.labels:
            counts = [report.splits[s].labels.get(label, 0) for s in ("train", "validation", "test")]
            lines.append(f"| {_cell(label)} | " + " | ".join(str(c) for c in counts) + " |")
    if m.languages:
        lines += ["", f"Languages: {m.languages.source} → {m.languages.target}"]
    lines += ["", "## Cost", ""]
    cost = report.cost
    if cost is None:
        lines.append("No offline price for this target.")
    else:
        money = f"${cost.usd:,.2f}" if cost.usd is not None else (cost.note or "not priced per token")
        lines.append(
            f"{money} for {cost.epochs} epochs × {cost.billed_tokens_per_epoch:,} tokens = "
            f"{cost.billed_tokens_total:,} billed tokens on {cost.model} "
            f"(prices as of {cost.price_as_of}, {cost.price_source}). Validation tokens are not billed."
        )
    if report.dropped:
        lines += [
            "",
            f"## Dropped rows ({len(report.dropped)})",
            "",
            "| line | reason | column | fix |",
            "|---:|---|---|---|",
        ]
        for problem in report.dropped[:MAX_LISTED]:
            reason, column, fix = _cell(problem.message), _cell(problem.path or ""), _cell(problem.hint)
            lines.append(f"| {problem.line or ''} | {reason} | {column} | {fix} |")
        if len(report.dropped) > MAX_LISTED:
            lines.append(f"| | … {len(report.dropped) - MAX_LISTED} more in manifest.json | | |")
    if report.warnings:
        lines += ["", f"## Warnings ({len(report.warnings)})", ""]
        for problem in report.warnings[:MAX_LISTED]:
            where = f"line {problem.line}: " if problem.line else ""
            fix = f" — {_cell(problem.hint)}" if problem.hint else ""
            lines.append(f"- {where}{_cell(problem.message)}{fix}")
    return "\n".join(lines) + "\n"
