"""``validate``: check a fine-tuning JSONL against a provider's rules, streaming, with exact token counts.

The file is read line by line in batches; each batch's texts are tokenized together (repeated texts once,
the rest on a thread pool), so memory stays flat whatever the file size and large files go fast. Every
problem is reported with its line (and column or JSON path), what is wrong and how to fix it; errors (the
provider would reject the file) are kept apart from warnings.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from ftclient.dataset.dedup import DuplicateLog
from ftclient.dataset.jsonl import iter_jsonl, open_checked
from ftclient.dataset.rule_base import detect_format
from ftclient.dataset.rules import FORMAT_METHOD, RuleContext, RuleSet, rules_for
from ftclient.dataset.scan import scan_file
from ftclient.dataset.stats import CostEstimate, TokenStats, estimate_cost
from ftclient.errors import DatasetError, Problem, UnknownModelError
from ftclient.pricing import model_limits
from ftclient.tokens import TokenCounter

MIN_EXAMPLES = RuleSet.min_examples  # OpenAI's; each rule set holds its provider's own
RECOMMENDED_EXAMPLES = 50
MAX_FILE_BYTES = 512 * 1024 * 1024
"""Largest file the Files API takes in one request (larger files go through the Uploads API)."""
MAX_UPLOAD_BYTES = 8 * 1024**3
DEFAULT_MODELS = {
    "chat": "gpt-4.1-mini-2025-04-14",
    "preference": "gpt-4.1-mini-2025-04-14",
    "completion": "babbage-002",
}


class ValidationReport(BaseModel):
    """The outcome of validating one file. ``ok`` is False exactly when the provider would reject it."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    path: str
    provider: str
    model: str | None
    method: str | None
    format: str | None
    ok: bool
    examples: int
    lines: int
    bytes: int
    problems: list[Problem]
    problem_counts: dict[str, int]
    """Every problem counted by code, including those beyond the stored ones."""
    problems_truncated: bool
    tokens: TokenStats | None
    cost: CostEstimate | None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def error_count(self) -> int:
        return sum(n for code, n in self.problem_counts.items() if code.startswith("error:"))

    @property
    def warning_count(self) -> int:
        return sum(n for code, n in self.problem_counts.items() if code.startswith("warning:"))


def _first_format(path: Path, rules: RuleSet) -> str | None:
    for _, value, _, _ in _head(path, 200):
        if isinstance(value, dict):
            fmt = detect_format(value)
            if fmt in rules.formats:
                return fmt
    return None


def _head(path: Path, n: int) -> Iterable[tuple[int, Any, Problem | None, int]]:
    for item in iter_jsonl(path, str(path)):
        yield item
        if item[0] >= n:
            return


def rule_context(
    label: str, provider: str, model: str | None, method: str | None, fmt: str | None
) -> tuple[RuleContext, TokenCounter, list[Problem]]:
    problems: list[Problem] = []
    chosen = model or (DEFAULT_MODELS.get(fmt or "chat") if provider == "openai" else None)
    counter = TokenCounter(chosen, provider)
    limit: int | None = None
    vision = provider != "openai"
    completion_only = False
    if chosen:
        try:
            limits = model_limits(provider, chosen)
        except UnknownModelError:
            if provider == "openai":
                raise
        else:
            limit = limits.max_tokens_per_example
            vision = limits.vision or provider != "openai"
            completion_only = limits.methods == frozenset({"completion"})
            wanted = method or FORMAT_METHOD.get(fmt or "chat", "supervised")
            if provider == "openai" and wanted not in limits.methods and not completion_only:
                problems.append(
                    Problem(
                        "method-not-supported",
                        f"{limits.model} cannot be fine-tuned with method {wanted!r} "
                        f"(it supports {', '.join(sorted(limits.methods))})",
                        "pick another model with --model",
                        file=label,
                    )
                )
    ctx = RuleContext(
        file=label,
        provider=provider,
        model=chosen or "(no model given)",
        method=method,
        encoding_name=counter.encoding_name,
        vision=vision,
        max_tokens=limit,
        completion_only=completion_only,
    )
    return ctx, counter, problems


def validate(
    path: str | Path, *, provider: str = "openai", model: str | None = None, method: str | None = None
) -> ValidationReport:
    """Check ``path`` (a fine-tuning JSONL) for ``provider`` and ``model``; never raises for bad content.

    Raises DatasetError only when the file cannot be read at all (missing, a directory, unreadable).
    """
    file = Path(path)
    open_checked(file).close()
    label = str(path)
    rules = rules_for(provider)
    fmt = _first_format(file, rules)
    ctx, counter, file_problems = rule_context(label, provider, model, method, fmt)
    state = scan_file(file, rules, ctx, fmt, exact_counts=counter.exact)
    collector, tally = state.collector, state.tally
    collector.extend(file_problems)
    collector.extend(
        _file_problems(
            label,
            examples=state.examples,
            size=state.size,
            n_missing_system=state.n_missing_system,
            missing_system=state.missing_system,
            fmt=fmt,
            provider=provider,
            rules=rules,
        )
    )
    collector.extend(_duplicate_problems(label, state.exact, state.near))
    collector.problems.sort(key=lambda p: (p.line or 0, p.severity != "error"))
    stats = tally.stats() if tally.examples else None
    cost = estimate_cost(provider, ctx.model, tally.examples, tally.billed) if stats and model_or(ctx) else None
    return ValidationReport(
        path=label,
        provider=provider,
        model=None if ctx.model.startswith("(") else ctx.model,
        method=method or (FORMAT_METHOD.get(fmt) if fmt else None),
        format=fmt,
        ok=not collector.has_errors,
        examples=state.examples,
        lines=state.lines,
        bytes=state.size,
        problems=collector.problems,
        problem_counts=dict(collector.counts),
        problems_truncated=collector.truncated,
        tokens=stats,
        cost=cost,
    )


def model_or(ctx: RuleContext) -> bool:
    return not ctx.model.startswith("(")


def _file_problems(
    label: str,
    *,
    examples: int,
    size: int,
    n_missing_system: int,
    missing_system: list[int],
    fmt: str | None,
    provider: str,
    rules: RuleSet,
) -> list[Problem]:
    out: list[Problem] = []
    if examples < rules.min_examples:
        out.append(
            Problem(
                "too-few-examples",
                f"{examples} example(s); at least {rules.min_examples} are required",
                "add examples (50-100 good ones are a sensible start)",
                file=label,
            )
        )
    elif rules.max_examples is not None and examples > rules.max_examples:
        out.append(
            Problem(
                "too-many-examples",
                f"{examples:,} examples; {provider} takes at most {rules.max_examples:,}",
                "sample the dataset down, or split it across jobs",
                file=label,
            )
        )
    elif examples < RECOMMENDED_EXAMPLES:
        out.append(
            Problem(
                "few-examples",
                f"only {examples} examples; gains usually show from 50-100",
                "add examples if you can",
                file=label,
                severity="warning",
            )
        )
    if size > rules.max_file_bytes:
        out.append(
            Problem(
                "file-too-large",
                f"{size:,} bytes; {provider} takes files of at most {rules.max_file_bytes / 1024**3:.1f} GiB",
                "split the file",
                file=label,
            )
        )
    elif size > MAX_FILE_BYTES and provider == "openai":
        out.append(
            Problem(
                "large-file",
                f"{size / 1024**2:,.0f} MB is above the 512 MB single-request upload limit",
                "ftclient launch uploads it in parts (Uploads API); other tools may fail",
                file=label,
                severity="warning",
            )
        )
    if n_missing_system and fmt == "chat":
        out.append(
            Problem(
                "no-system-message",
                f"{n_missing_system} of {examples} examples have no system message",
                "use the same system prompt in training and at inference (ftclient prepare --system)",
                file=label,
                line=missing_system[0],
                severity="warning",
                related_lines=tuple(missing_system[1:]),
            )
        )
    tabular = label.lower().endswith((".csv", ".tsv", ".json", ".parquet", ".xlsx"))
    if fmt is None and tabular:
        out.append(
            Problem(
                "not-jsonl",
                "this is not a fine-tuning JSONL file (no line is a training example)",
                f"convert it first: ftclient prepare {label}",
                file=label,
            )
        )
    elif not label.endswith(".jsonl"):
        out.append(
            Problem(
                "file-extension",
                "fine-tuning uploads must be named *.jsonl",
                "rename the file to end in .jsonl",
                file=label,
                severity="warning",
            )
        )
    return out


def _duplicate_problems(label: str, exact: DuplicateLog, near: DuplicateLog) -> list[Problem]:
    out: list[Problem] = []
    exact_lines = set()
    for line, first in exact.repeats():
        exact_lines.add(line)
        out.append(
            Problem(
                "duplicate-example",
                f"same example as line {first}",
                "drop the repeat: duplicates weigh an example twice",
                file=label,
                line=line,
                severity="warning",
                related_lines=(first,),
            )
        )
    for line, first in near.repeats():
        if line in exact_lines:
            continue
        out.append(
            Problem(
                "near-duplicate",
                f"same text as line {first} up to letter case",
                "drop one of the two unless both are meant",
                file=label,
                line=line,
                severity="warning",
                related_lines=(first,),
            )
        )
    return out


def ensure_valid(report: ValidationReport) -> None:
    """Raise DatasetError listing the report's errors when the provider would reject the file."""
    if not report.ok:
        raise DatasetError(
            f"{report.path}: {report.error_count} problem(s) the provider would reject",
            hint="fix the lines listed above, then run ftclient validate again",
            path=report.path,
            problems=report.errors,
        )
