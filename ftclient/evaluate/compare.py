"""Tuned vs baseline on the same examples: per-metric differences with CIs, the verdict, fixed and broken.

Which test applies depends on the metric: McNemar's exact test for per-example correctness (its p-value is
reported next to a bootstrap CI of the accuracy difference, so the verdict still has an interval), a paired
bootstrap of per-example means for ROUGE and match rates, and a paired bootstrap over sacrebleu's sentence
statistics for corpus BLEU/chrF and of the recomputed macro-F1 for classification.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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


def macro_f1_stat(refs: Sequence[str], baseline: Sequence[str], tuned: Sequence[str], labels: Sequence[str]) -> StatFn:
    """Macro-F1 (points) of both models on each resample, computed from label indices with numpy; it agrees
    with :func:`metrics.classification_stats` (classes without support or predictions count as 0)."""
    import numpy as np

    index = {label: i for i, label in enumerate(labels)}
    k = len(labels)
    ref_idx = np.array([index.get(r, -1) for r in refs], dtype=np.int64)

    def mapped(answers: Sequence[str]) -> Any:
        return np.array([index.get(m.match_label(a, labels), k) for a in answers], dtype=np.int64)

    base_pred, tuned_pred = mapped(baseline), mapped(tuned)

    def f1(pred: Any, idx: Any) -> Any:
        rows = idx.shape[0]
        r, pr = ref_idx[idx], pred[idx]
        total = np.zeros(rows)
        for c in range(k):
            tp = ((r == c) & (pr == c)).sum(axis=1)
            support, predicted = (r == c).sum(axis=1), (pr == c).sum(axis=1)
            precision = np.divide(tp, predicted, out=np.zeros(rows), where=predicted > 0)
            recall = np.divide(tp, support, out=np.zeros(rows), where=support > 0)
            both = precision + recall
            total += np.divide(2 * precision * recall, both, out=np.zeros(rows), where=both > 0)
        return 100.0 * total / k if k else total

    return lambda idx: (f1(base_pred, idx), f1(tuned_pred, idx))


def corpus_stat(metric: Any, base_rows: Sequence[Sequence[float]], tuned_rows: Sequence[Sequence[float]]) -> StatFn:
    """A corpus metric (BLEU, chrF) of both models on each resample: per-sentence statistics are summed over
    the resampled examples and scored, the way sacrebleu's own paired bootstrap does it."""
    import numpy as np

    def sums(rows: Sequence[Sequence[float]], idx: Any) -> Any:
        matrix = np.asarray(rows, dtype=np.int64)
        return np.stack([matrix[:, j][idx].sum(axis=1) for j in range(matrix.shape[1])], axis=1)

    def scores(rows: Sequence[Sequence[float]], idx: Any) -> Any:
        return np.array([float(metric._compute_score_from_stats(row.tolist()).score) for row in sums(rows, idx)])

    return lambda idx: (scores(base_rows, idx), scores(tuned_rows, idx))


def _stat_functions(p: Paired) -> dict[str, StatFn]:
    """One resampling statistic per compared metric, in points."""
    refs = [e.reference for e in p.examples]
    stats: dict[str, StatFn] = {}
    if p.task == "classify":
        stats["accuracy"] = mean_stat(p.baseline.per_example["accuracy"], p.tuned.per_example["accuracy"], 100.0)
        labels = list(p.labels) or sorted(set(refs))
        stats["macro_f1"] = macro_f1_stat(refs, p.baseline_answers, p.tuned_answers, labels)
    elif p.task == "translate":
        tokenize = m.bleu_tokenizer_for(p.target_language, refs)
        for name, metric in m.text_metrics(tokenize).items():
            stats[name] = corpus_stat(
                metric,
                m.sentence_stats(metric, refs, p.baseline_answers),
                m.sentence_stats(metric, refs, p.tuned_answers),
            )
    else:
        for name, values in p.baseline.per_example.items():
            scale = 100.0 if name in RATE_METRICS else 1.0
            stats[name] = mean_stat(values, p.tuned.per_example[name], scale)
    return stats


def compare(p: Paired, *, resamples: int = DEFAULT_RESAMPLES, seed: int = 12345) -> tuple[list[Comparison], dict]:
    """Comparisons (primary metric first) and the McNemar counts (empty dict for tasks without correctness)."""
    import numpy as np

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
        base_values, tuned_values = stat_fns[name](np.arange(n, dtype=np.int64)[None, :])
        base_value, tuned_value = float(base_values[0]), float(tuned_values[0])
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


def diffs(p: Paired, limit: int | None = MAX_DIFFS) -> tuple[list[ExampleDiff], list[ExampleDiff]]:
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
