"""Tuned vs baseline on the same examples: per-metric differences with CIs, the verdict, fixed and broken.

Which test applies depends on the metric: McNemar's exact test for per-example correctness, and a paired
permutation test for everything else (per-example means such as ROUGE and match rates, corpus BLEU/chrF
recomputed from sacrebleu's sentence statistics, and the recomputed macro-F1). Every metric also gets a
bootstrap interval of the difference; see :mod:`ftclient.evaluate.significance` for when they make a verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ftclient.evaluate import metrics as m
from ftclient.evaluate.significance import (
    BETTER,
    DEFAULT_RESAMPLES,
    TOO_FEW,
    WORSE,
    PairedMetric,
    decide,
    mcnemar_exact,
    mean_metric,
    paired_test,
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


def macro_f1_metric(
    refs: Sequence[str], baseline: Sequence[str], tuned: Sequence[str], labels: Sequence[str]
) -> PairedMetric:
    """Macro-F1 (points) of any selection of either model's answers, computed from label indices with numpy;
    it agrees with :func:`metrics.classification_stats` (classes without support or predictions count as 0)."""
    import numpy as np

    index = {label: i for i, label in enumerate(labels)}
    k = len(labels)
    n = len(refs)
    ref_idx = np.array([index.get(r, -1) for r in refs])

    def mapped(answers: Sequence[str]) -> Any:
        return np.array([index.get(m.match_label(a, labels), k) for a in answers])

    base_pred, tuned_pred = mapped(baseline), mapped(tuned)
    predictions = np.concatenate([base_pred, tuned_pred])
    references = np.concatenate([ref_idx, ref_idx])

    def rows(idx: Any) -> Any:
        count = idx.shape[0]
        r, pr = references[idx], predictions[idx]
        total = np.zeros(count)
        for c in range(k):
            tp = ((r == c) & (pr == c)).sum(axis=1)
            support, predicted = (r == c).sum(axis=1), (pr == c).sum(axis=1)
            # F1 = 2PR/(P+R) = 2TP/(support + predicted); a class neither present nor predicted scores 0
            # (then TP = 0, so any denominator of at least 1 gives that 0)
            total += 2 * tp / np.maximum(support + predicted, 1)
        return 100.0 * total / k if k else total

    return PairedMetric(n, rows, base_pred != tuned_pred)


def corpus_metric(
    metric: Any, base_rows: Sequence[Sequence[float]], tuned_rows: Sequence[Sequence[float]]
) -> PairedMetric:
    """A corpus metric (BLEU, chrF) of any selection of either model's answers: per-sentence sufficient
    statistics (sacrebleu's own) are summed over the selected examples and scored by sacrebleu."""
    import numpy as np

    table = np.array([*base_rows, *tuned_rows])

    def rows(idx: Any) -> Any:
        sums = table[idx].sum(axis=1)
        return np.array([float(metric._compute_score_from_stats(row.tolist()).score) for row in sums])

    differs = np.array([list(b) != list(t) for b, t in zip(base_rows, tuned_rows, strict=True)], dtype=bool)
    return PairedMetric(len(base_rows), rows, differs)


def _paired_metrics(p: Paired) -> dict[str, PairedMetric]:
    """One recomputable metric per compared metric, in points."""
    refs = [e.reference for e in p.examples]
    stats: dict[str, PairedMetric] = {}
    if p.task == "classify":
        stats["accuracy"] = mean_metric(p.baseline.per_example["accuracy"], p.tuned.per_example["accuracy"], 100.0)
        labels = list(p.labels) or sorted(set(refs))
        stats["macro_f1"] = macro_f1_metric(refs, p.baseline_answers, p.tuned_answers, labels)
    elif p.task == "translate":
        tokenize = m.bleu_tokenizer_for(p.target_language, refs)
        for name, metric in m.text_metrics(tokenize).items():
            stats[name] = corpus_metric(
                metric,
                m.sentence_stats(metric, refs, p.baseline_answers),
                m.sentence_stats(metric, refs, p.tuned_answers),
            )
    else:
        for name, values in p.baseline.per_example.items():
            scale = 100.0 if name in RATE_METRICS else 1.0
            stats[name] = mean_metric(values, p.tuned.per_example[name], scale)
    return stats


def compare(p: Paired, *, resamples: int = DEFAULT_RESAMPLES, seed: int = 12345) -> tuple[list[Comparison], dict]:
    """Comparisons (primary metric first) and the McNemar counts (empty dict for tasks without correctness).

    Each comparison carries its verdict: "better"/"worse" only when the exact test (McNemar for the metric
    that is the task's per-example correctness, ``metrics.CORRECTNESS_METRIC``; the paired permutation test
    otherwise) gives p<0.05 and the bootstrap interval excludes zero on the same side."""
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
    metrics = _paired_metrics(p)
    for name in sorted(metrics, key=lambda name: name != primary):  # the primary first, the rest as computed
        result_ = paired_test(metrics[name], resamples=resamples, seed=seed)
        use_mcnemar = bool(mcnemar) and name == m.CORRECTNESS_METRIC.get(p.task)
        p_value = mcnemar["p_value"] if use_mcnemar else result_.p_value
        differing = mcnemar["fixed"] + mcnemar["broken"] if use_mcnemar else result_.differing
        exactness = "exact" if result_.exact else f"{result_.resamples} random arrangements"
        test = (
            "McNemar exact p-value; BCa bootstrap CI"
            if use_mcnemar
            else f"paired permutation test ({exactness}); BCa bootstrap CI ({result_.resamples} resamples)"
        )
        verdict = decide(result_.difference, result_.ci_low, result_.ci_high, p_value, differing)
        label = LABELS.get(name, name)
        comparisons.append(
            Comparison(
                metric=name,
                label=label,
                baseline=result_.baseline,
                tuned=result_.tuned,
                difference=result_.difference,
                ci_low=result_.ci_low,
                ci_high=result_.ci_high,
                p_value=p_value,
                test=test,
                unit="points",
                sentence=verdict_sentence(
                    label,
                    result_.difference,
                    result_.ci_low,
                    result_.ci_high,
                    verdict=verdict,
                    p_value=p_value,
                    differing=differing,
                    n=n,
                ),
                verdict=verdict,
                differing=differing,
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
    """One line: the primary metric's verdict and sentence, naming both models."""
    if not comparisons:
        return ""
    c = comparisons[0]
    if c.verdict == BETTER:
        head = f"The tuned model {tuned_model} is better than {baseline_model}"
    elif c.verdict == WORSE:
        head = f"The tuned model {tuned_model} is worse than {baseline_model}"
    elif c.verdict == TOO_FEW:
        head = f"Too few test examples to tell whether {tuned_model} is better than {baseline_model}"
    else:
        head = f"No clear difference between {tuned_model} and {baseline_model}"
    return f"{head}. {c.sentence}."
