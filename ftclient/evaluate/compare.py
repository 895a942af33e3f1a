"""Tuned vs baseline on the same examples: per-metric differences with CIs, the verdict, fixed and broken.

Which test applies depends on the metric: McNemar's exact test for per-example correctness (its p-value is
reported next to a bootstrap CI of the accuracy difference, so the verdict still has an interval), a paired
bootstrap of per-example means for ROUGE and match rates, and a paired bootstrap over sacrebleu's sentence
statistics for corpus BLEU/chrF and of the recomputed macro-F1 for classification.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ftclient.evaluate import metrics as m
from ftclient.evaluate.significance import (
    DEFAULT_RESAMPLES,
    StatFn,
    mcnemar_exact,
    mean_stat,
    paired_bootstrap,
    verdict_sentence,
)
from ftclient.evaluate.types import Comparison, Example, ExampleDiff

LABELS = {
    "accuracy": "Accuracy",
    "macro_f1": "Macro-F1",
    "outside_label_rate": "Answers outside the label set",
    "rouge1": "ROUGE-1",
    "rouge2": "ROUGE-2",
    "rougeL": "ROUGE-L",
    "bleu": "BLEU",
    "chrf": "chrF",
    "json_valid": "Valid JSON",
    "field_exact_match": "Field exact match",
    "exact_match": "Exact match",
    "normalized_match": "Normalized match",
    "field_accuracy": "Field accuracy",
}
RATE_METRICS = {
    "accuracy",
    "macro_f1",
    "outside_label_rate",
    "json_valid",
    "field_exact_match",
    "exact_match",
    "normalized_match",
    "field_accuracy",
}
"""Metrics stored as shares (0-1) and compared in percentage points."""
MAX_DIFFS = 20


@dataclass
class Paired:
    task: str
    examples: Sequence[Example]
    baseline_answers: Sequence[str]
    tuned_answers: Sequence[str]
    baseline: m.TaskScores
    tuned: m.TaskScores
    labels: Sequence[str] = ()
    target_language: str | None = None


def _stat_functions(p: Paired) -> dict[str, StatFn]:
    """One resampling statistic per compared metric, in points."""
    refs = [e.reference for e in p.examples]
    stats: dict[str, StatFn] = {}
    if p.task == "classify":
        stats["accuracy"] = mean_stat(p.baseline.per_example["accuracy"], p.tuned.per_example["accuracy"], 100.0)
        labels = list(p.labels) or sorted(set(refs))

        def macro(idx: Sequence[int]) -> tuple[float, float]:
            r = [refs[i] for i in idx]
            return (
                100 * m.macro_f1_of(r, [p.baseline_answers[i] for i in idx], labels),
                100 * m.macro_f1_of(r, [p.tuned_answers[i] for i in idx], labels),
            )

        stats["macro_f1"] = macro
    elif p.task == "translate":
        tokenize = m.bleu_tokenizer_for(p.target_language, refs)
        for name, metric in m.text_metrics(tokenize).items():
            base_rows = m.sentence_stats(metric, refs, p.baseline_answers)
            tuned_rows = m.sentence_stats(metric, refs, p.tuned_answers)

            def corpus(
                idx: Sequence[int], metric: object = metric, b: list = base_rows, t: list = tuned_rows
            ) -> tuple[float, float]:
                return m.corpus_from_stats(metric, b, idx), m.corpus_from_stats(metric, t, idx)

            stats[name] = corpus
    else:
        for name, values in p.baseline.per_example.items():
            scale = 100.0 if name in RATE_METRICS else 1.0
            stats[name] = mean_stat(values, p.tuned.per_example[name], scale)
    return stats


def compare(p: Paired, *, resamples: int = DEFAULT_RESAMPLES, seed: int = 12345) -> tuple[list[Comparison], dict]:
    """Comparisons (primary metric first) and the McNemar counts (empty dict for tasks without correctness)."""
    n = len(p.examples)
    mcnemar: dict = {}
    if p.baseline.correct is not None and p.tuned.correct is not None:
        result = mcnemar_exact(p.baseline.correct, p.tuned.correct)
        mcnemar = {
            "fixed": result.fixed,
            "broken": result.broken,
            "p_value": result.p_value,
            "test": "McNemar exact (two-sided binomial on discordant pairs)",
        }
    comparisons: list[Comparison] = []
    primary = m.PRIMARY_METRIC[p.task]
    stat_fns = _stat_functions(p)
    order = [primary, *[k for k in stat_fns if k != primary]]
    for name in order:
        if name not in stat_fns:
            continue
        boot = paired_bootstrap(n, stat_fns[name], resamples=resamples, seed=seed)
        base_value, tuned_value = stat_fns[name](range(n))
        use_mcnemar = bool(mcnemar) and name == primary
        p_value = mcnemar["p_value"] if use_mcnemar else boot.p_value
        test = (
            "McNemar exact p-value; paired bootstrap CI"
            if use_mcnemar
            else f"paired bootstrap ({boot.resamples} resamples)"
        )
        label = LABELS.get(name, name)
        comparisons.append(
            Comparison(
                metric=name,
                label=label,
                baseline=base_value,
                tuned=tuned_value,
                difference=boot.difference,
                ci_low=boot.ci_low,
                ci_high=boot.ci_high,
                p_value=p_value,
                test=test,
                unit="points",
                sentence=verdict_sentence(label, boot.difference, boot.ci_low, boot.ci_high, p_value=p_value),
            )
        )
    return comparisons, mcnemar


def per_example_quality(p: Paired) -> tuple[list[float], list[float]]:
    """A per-example score for ranking diffs when the task has no exact correctness (ROUGE-L, sentence chrF)."""
    if p.task == "translate":
        refs = [e.reference for e in p.examples]
        metric = m.text_metrics(m.bleu_tokenizer_for(p.target_language, refs))["chrf"]
        base_rows = m.sentence_stats(metric, refs, p.baseline_answers)
        tuned_rows = m.sentence_stats(metric, refs, p.tuned_answers)
        return (
            [m.corpus_from_stats(metric, [row]) for row in base_rows],
            [m.corpus_from_stats(metric, [row]) for row in tuned_rows],
        )
    name = (
        m.PRIMARY_METRIC[p.task]
        if m.PRIMARY_METRIC[p.task] in p.baseline.per_example
        else next(iter(p.baseline.per_example))
    )
    return list(p.baseline.per_example[name]), list(p.tuned.per_example[name])


def prompt_text(example: Example) -> str:
    """The last user message: what a reader needs to recognise the example."""
    for message in reversed(example.messages):
        if message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else str(content)
    return ""


def diffs(p: Paired, limit: int = MAX_DIFFS) -> tuple[list[ExampleDiff], list[ExampleDiff]]:
    """What the tuning fixed and what it broke. With exact correctness: the discordant examples; otherwise
    the examples whose score moved most (by at least 10 points) in each direction."""

    def make(i: int, bs: float | None, ts: float | None) -> ExampleDiff:
        e = p.examples[i]
        return ExampleDiff(
            index=e.index,
            prompt=prompt_text(e),
            reference=e.reference,
            baseline_answer=p.baseline_answers[i],
            tuned_answer=p.tuned_answers[i],
            baseline_score=bs,
            tuned_score=ts,
        )

    if p.baseline.correct is not None and p.tuned.correct is not None:
        fixed = [
            make(i, 0.0, 1.0)
            for i, (b, t) in enumerate(zip(p.baseline.correct, p.tuned.correct, strict=True))
            if t and not b
        ]
        broken = [
            make(i, 1.0, 0.0)
            for i, (b, t) in enumerate(zip(p.baseline.correct, p.tuned.correct, strict=True))
            if b and not t
        ]
        return fixed[:limit], broken[:limit]
    base, tuned = per_example_quality(p)
    moved = sorted(range(len(base)), key=lambda i: tuned[i] - base[i])
    fixed = [make(i, base[i], tuned[i]) for i in reversed(moved) if tuned[i] - base[i] >= 10.0]
    broken = [make(i, base[i], tuned[i]) for i in moved if base[i] - tuned[i] >= 10.0]
    return fixed[:limit], broken[:limit]


def overall_verdict(comparisons: Sequence[Comparison], tuned_model: str, baseline_model: str) -> str:
    """One line: the primary metric's sentence, naming both models."""
    if not comparisons:
        return ""
    c = comparisons[0]
    if c.ci_low > 0:
        head = f"The tuned model {tuned_model} is better than {baseline_model}"
    elif c.ci_high < 0:
        head = f"The tuned model {tuned_model} is worse than {baseline_model}"
    else:
        head = f"No clear difference between {tuned_model} and {baseline_model}"
    return f"{head}. {c.sentence}."
