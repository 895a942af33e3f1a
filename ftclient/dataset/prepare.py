"""``prepare``: a table of examples -> a validated, deduplicated, split and costed dataset folder.

The input is read in passes, never held whole: (classify only) a pass collecting the label set, a pass that
maps, validates, dedupes and counts every row while keeping a few bytes per row, and a pass that writes the
split files. Every dropped row is reported with its line and the reason; the same input, options and seed
always give byte-identical split files.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from ftclient.dataset import presets
from ftclient.dataset.dedup import key64, normalize
from ftclient.dataset.manifest import Manifest
from ftclient.dataset.output import (
    FolderJob,
    SplitSummary,
    build_manifest,
    claim_folder,
    write_folder,
    write_outputs,
)
from ftclient.dataset.readers import RawRow, Table, open_table
from ftclient.dataset.rules import LineResult, RuleContext, rules_for
from ftclient.dataset.split import DROPPED, SPLIT_NAMES, assign, fit_minimums, minimums_for, parse_split
from ftclient.dataset.stats import CostEstimate, TokenStats, estimate_cost
from ftclient.dataset.validate import RECOMMENDED_EXAMPLES, rule_context
from ftclient.errors import DatasetError, Problem, UserInputError
from ftclient.tokens import BatchEncoder

MAX_WARNINGS_PER_CODE = 50
BATCH = 1024


class PrepareReport(BaseModel):
    """What ``prepare`` did: where the dataset went, what was kept and dropped, tokens and cost."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    out_dir: Path
    manifest: Manifest
    rows: int
    examples: int
    dropped: list[Problem]
    """Every row that did not make it into the dataset, with its line and reason."""
    warnings: list[Problem]
    splits: dict[str, SplitSummary]
    tokens: TokenStats | None
    cost: CostEstimate | None


class _Rows:
    """Per-row facts kept between passes: a few bytes per row, never the row itself."""

    def __init__(self) -> None:
        self.line = array("q")
        self.label = array("l")
        self.key = array("q")
        self.tokens = array("q")
        self.assistant = array("q")
        self.kept = bytearray()

    def add(self, line: int) -> int:
        self.line.append(line)
        self.label.append(-1)
        self.key.append(0)
        self.tokens.append(0)
        self.assistant.append(0)
        self.kept.append(0)
        return len(self.line) - 1


def _target(provider: str, model: str | None) -> str | None:
    from ftclient.config import DEFAULT_MODEL, resolve

    if model:
        return model
    configured = resolve({}).model
    if provider == "openai":
        return configured
    return None if configured == DEFAULT_MODEL else configured


def prepare(
    input: str | Path,
    *,
    task: str | None = None,
    provider: str = "openai",
    model: str | None = None,
    system: str | None = None,
    out: str | Path | None = None,
    seed: int = 42,
    split: str | Sequence[float] = (0.8, 0.1, 0.1),
    encoding: str | None = None,
    delimiter: str | None = None,
    source_lang: str | None = None,
    target_lang: str | None = None,
    data_dir: str | Path | None = None,
    force: bool = False,
    **column_flags: str | None,
) -> PrepareReport:
    """Turn ``input`` (CSV/TSV/JSONL/JSON/Parquet) into a dataset folder; see docs/data-formats.md.

    Column flags: text_col, label_col, input_col, output_col, source_col, target_col, prompt_col,
    chosen_col, rejected_col, messages_col. Raises UserInputError/DatasetError with what to fix.
    The input is never overwritten; files in ``out`` that ftclient did not write are replaced only with
    ``force=True``.
    """
    from ftclient.config import resolve

    ratios = parse_split(split)
    target_model = _target(provider, model)
    table = open_table(input, encoding=encoding, delimiter=delimiter)
    plan = presets.plan_task(
        task, table.columns, column_flags, system=system, source_lang=source_lang, target_lang=target_lang
    )
    labels = _collect_labels(table, plan) if plan.task == "classify" else []
    system_prompt = presets.default_system_prompt(plan, labels)
    fmt = "preference" if plan.method == "dpo" else "chat"
    ctx, counter, target_problems = rule_context(table.label, provider, target_model, plan.method, fmt)
    if ctx.completion_only:
        raise UserInputError(
            f"{target_model} trains on prompt/completion lines; prepare writes chat datasets",
            hint="target a chat model with --model (e.g. gpt-4.1-mini-2025-04-14)",
        )
    if target_problems:
        raise UserInputError(target_problems[0].message, hint=target_problems[0].hint)
    run = _Scan(table, plan, labels, system_prompt, ctx)
    run.warnings.extend(Problem("input-note", note, "", file=table.label, severity="warning") for note in table.notes)
    run.scan(counter.encoding)
    rows, dropped, warnings = run.rows, run.dropped, run.warnings

    members = [
        (i, labels[rows.label[i]] if rows.label[i] >= 0 else None) for i in range(len(rows.kept)) if rows.kept[i]
    ]
    assignment = assign(members, ratios, seed, stratify=plan.task == "classify", size=len(rows.kept))
    try:
        warnings.extend(fit_minimums(assignment, minimums_for(provider), label=table.label))
    except DatasetError as exc:
        if not dropped:
            raise
        raise DatasetError(
            f"{exc.message}, after dropping {len(dropped)} row(s)",
            hint=f"fix the dropped rows listed above, or {exc.hint}",
            path=table.label,
            problems=dropped,
        ) from None
    n_train = sum(1 for i, _ in members if assignment[i] == 0)
    check_leakage(rows.key, rows.line, assignment)
    warnings.extend(
        _split_warnings(table.label, plan, labels=labels, members=members, assignment=assignment, n_train=n_train)
    )

    settings = resolve({"data_dir": str(data_dir) if data_dir else None})
    out_dir = Path(out) if out else settings.data_dir / Path(table.label).stem
    claim_folder(out_dir, table.path, force=force)
    splits, file_infos = write_folder(
        FolderJob(
            out_dir=out_dir,
            table=table,
            plan=plan,
            system_prompt=system_prompt,
            assignment=assignment,
            tokens=rows.tokens,
            assistant=rows.assistant,
            labels=labels,
            label_of=rows.label,
            limit=ctx.max_tokens,
            encoding_name=counter.encoding_name,
            exact=counter.exact,
        )
    )
    billed = splits["train"].tokens.billed_per_epoch if splits["train"].tokens else 0
    cost = estimate_cost(provider, target_model, n_train, billed) if target_model else None
    manifest = build_manifest(
        table=table,
        plan=plan,
        labels=labels,
        system_prompt=system_prompt,
        provider=provider,
        model=target_model,
        seed=seed,
        ratios=ratios,
        splits=splits,
        files=file_infos,
        exact=counter.exact,
        warnings=warnings,
        dropped=dropped,
        cost=cost,
    )
    report = PrepareReport(
        out_dir=out_dir,
        manifest=manifest,
        rows=len(rows.kept),
        examples=len(members),
        dropped=dropped,
        warnings=warnings,
        splits=splits,
        tokens=splits["train"].tokens,
        cost=cost,
    )
    write_outputs(report, settings.data_dir)
    return report


def _collect_labels(table: Table, plan: presets.TaskPlan) -> list[str]:
    column = plan.columns["label"]
    text_column = plan.columns["text"]
    found: set[str] = set()
    for row in table.rows():
        if row.values is not None:
            label = presets.clean_label(row.values.get(column))
            if label and presets.clean_text(row.values.get(text_column)):
                found.add(label)
    return sorted(found)


class _Scan:
    """The main pass: map, validate and dedupe every row; count tokens in batches; drop over-long rows."""

    def __init__(
        self,
        table: Table,
        plan: presets.TaskPlan,
        labels: list[str],
        system_prompt: str | None,
        ctx: RuleContext,
    ) -> None:
        self.table, self.plan, self.system_prompt, self.ctx = table, plan, system_prompt, ctx
        self.rules = rules_for(ctx.provider)
        self.label_index = {label: i for i, label in enumerate(labels)}
        self.rows = _Rows()
        self.dropped: list[Problem] = []
        self.warnings: list[Problem] = []
        self.warning_counts: Counter[str] = Counter()
        self.columns_of = presets.output_column_paths(plan, bool(system_prompt))
        self.seen: dict[int, tuple[int, int, int]] = {}  # normalized input -> (line, exact key, normalized output)

    def scan(self, encoding: Any) -> None:
        encoder = BatchEncoder(encoding)
        batch: list[tuple[int, LineResult]] = []
        try:
            for raw in self.table.rows():
                index = self.rows.add(raw.line)
                kept = self._row(raw, index)
                if kept is not None:
                    batch.append((index, kept))
                    if len(batch) >= BATCH:
                        self._count(batch, encoder)
            self._count(batch, encoder)
        finally:
            encoder.close()
        self.dropped.sort(key=lambda p: p.line or 0)

    def _row(self, raw: RawRow, index: int) -> LineResult | None:
        ctx, plan = self.ctx, self.plan
        if raw.problem is not None or raw.values is None:
            if raw.problem is not None:
                self.dropped.append(raw.problem)
            return None
        try:
            fields = presets.row_fields(plan, raw.values)
        except presets.RowError as exc:
            self.dropped.append(Problem(exc.code, exc.message, exc.hint, file=ctx.file, line=raw.line, path=exc.column))
            return None
        result = self.rules.check(presets.build_example(plan, fields, self.system_prompt), raw.line, ctx)
        errors = [p for p in result.problems if p.severity == "error"]
        if errors:
            first = errors[0]
            self.dropped.append(
                Problem(
                    first.code,
                    first.message,
                    first.hint,
                    file=ctx.file,
                    line=raw.line,
                    path=self.columns_of.get(first.path or "", first.path),
                )
            )
            return None
        prompt, answer = presets.input_and_output(plan, fields)
        in_key, out_key = key64(normalize(prompt)), key64(normalize(answer))
        exact_key = key64(prompt + "\x1f" + answer)
        previous = self.seen.get(in_key)
        if previous is not None:
            self.dropped.append(_duplicate(ctx.file, raw.line, previous, exact_key, out_key))
            return None
        self.seen[in_key] = (raw.line, exact_key, out_key)
        for problem in result.problems:
            self.warning_counts[problem.code] += 1
            if self.warning_counts[problem.code] <= MAX_WARNINGS_PER_CODE:
                self.warnings.append(problem)
        rows = self.rows
        rows.key[index] = in_key
        if plan.task == "classify":
            rows.label[index] = self.label_index[fields["label"]]
        rows.kept[index] = 1
        return result

    def _count(self, batch: list[tuple[int, LineResult]], encoder: BatchEncoder) -> None:
        if not batch:
            return
        ctx, rows = self.ctx, self.rows
        texts = [t for _, result in batch for _, pieces in result.sequences for t in pieces]
        texts += [t for _, result in batch for t in result.assistant]
        lengths = encoder.lengths(texts)
        for index, result in batch:
            tokens = max(overhead + sum(lengths[t] for t in pieces) for overhead, pieces in result.sequences)
            rows.tokens[index] = tokens
            rows.assistant[index] = sum(lengths[t] for t in result.assistant)
            if ctx.max_tokens and tokens > ctx.max_tokens:
                rows.kept[index] = 0
                self.dropped.append(
                    Problem(
                        "too-many-tokens",
                        f"{tokens:,} tokens; {ctx.model} takes at most {ctx.max_tokens:,} per example",
                        "shorten the text or split it",
                        file=ctx.file,
                        line=rows.line[index],
                    )
                )
        batch.clear()


def _duplicate(label: str, line: int, previous: tuple[int, int, int], exact_key: int, out_key: int) -> Problem:
    first_line, first_exact, first_out = previous
    if exact_key == first_exact:
        code, message = "duplicate", f"exact duplicate of line {first_line}"
    elif out_key == first_out:
        code, message = "near-duplicate", f"duplicate of line {first_line} up to case, spacing and punctuation"
    else:
        code, message = "conflicting-duplicate", f"same input as line {first_line} with a different answer"
    return Problem(
        code,
        message,
        f"kept line {first_line}; delete one of the two if that is wrong",
        file=label,
        line=line,
        related_lines=(first_line,),
    )


def check_leakage(keys: Sequence[int], lines: Sequence[int], assignment: bytearray) -> None:
    """Prove no input (normalized) is in two splits; raises DatasetError naming the lines if one is."""
    owner: dict[int, tuple[int, int]] = {}
    for index, split_index in enumerate(assignment):
        if split_index == DROPPED:
            continue
        first = owner.setdefault(keys[index], (split_index, lines[index]))
        if first[0] != split_index:
            raise DatasetError(
                f"line {lines[index]} ({SPLIT_NAMES[split_index]}) has the same input as line {first[1]} "
                f"({SPLIT_NAMES[first[0]]}): the splits leak",
                hint="this is a bug in ftclient's split; please report it with the input file",
            )


def _split_warnings(
    label: str,
    plan: presets.TaskPlan,
    *,
    labels: list[str],
    members: list[tuple[int, str | None]],
    assignment: bytearray,
    n_train: int,
) -> list[Problem]:
    out: list[Problem] = []
    if n_train < RECOMMENDED_EXAMPLES:
        out.append(
            Problem(
                "few-examples",
                f"{n_train} training examples; gains usually show from 50-100",
                "add examples if you can",
                file=label,
                severity="warning",
            )
        )
    if plan.task != "classify" or not labels:
        return out
    per_label = Counter(lab for _, lab in members)
    for name in labels:
        present = {SPLIT_NAMES[assignment[i]] for i, lab in members if lab == name}
        missing = [s for s in SPLIT_NAMES if s not in present]
        if missing and per_label[name]:
            out.append(
                Problem(
                    "label-missing-from-split",
                    f"label {name!r} has {per_label[name]} example(s): none in {', '.join(missing)}",
                    "add examples of this label",
                    file=label,
                    severity="warning",
                )
            )
    counts = [per_label[name] for name in labels if per_label[name]]
    if counts and max(counts) > 10 * min(counts):
        rare = min(labels, key=lambda n: per_label[n] or 10**9)
        out.append(
            Problem(
                "label-imbalance",
                f"labels are imbalanced: {max(counts)} vs {min(counts)} examples ({rare!r} is rarest)",
                "add examples of the rare labels, or expect the model to under-predict them",
                file=label,
                severity="warning",
            )
        )
    return out


__all__ = ["PrepareReport", "prepare"]
