"""Is the replacement at least as good as the model it replaces? A non-inferiority test, paired.

Both models answer the same held-out inputs, so the question is about the paired difference
``new - old`` in the task's primary metric (points). The replacement is *non-inferior* when the lower end
of the 90% two-sided CI of that difference (a one-sided 95% bound) lies above ``-margin``: whatever its
true difference, it loses less than the margin. It is *inferior* when the upper end lies below ``-margin``,
and the test is *inconclusive* otherwise (usually too few examples for the margin chosen). The CI is a
paired percentile bootstrap over the same recomputable metrics the evaluation uses
(``ftclient.evaluate.significance.PairedMetric``); the one-sided p-value is the bootstrap share of
differences at or below ``-margin``. For classification, McNemar's exact test
on the discordant pairs is reported beside it (the paired test of "any difference at all").

When no ground truth exists, the old model's own answers are the reference: the old model then scores
100 by definition and the test becomes "does the replacement agree with the old model to within the
margin" — the report says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ftclient.evaluate import metrics as m
from ftclient.evaluate.significance import DEFAULT_RESAMPLES, PairedMetric, mcnemar_exact, mean_metric, observed

ONE_SIDED_ALPHA = 0.05
CONFIDENCE = 1 - 2 * ONE_SIDED_ALPHA
METRIC = {
    "classify": "accuracy",
    "summarize": "rougeL",
    "translate": "chrf",
    "extract": "field_accuracy",
    "chat": "normalized_match",
}
"""The metric each task is judged by: the evaluation's primary metric, except extraction, whose per-example
field accuracy (the mean of which is close to field exact match) is what a paired test can resample."""
RATES = frozenset({"accuracy", "field_accuracy", "normalized_match"})
DEFAULT_MARGINS = {
    "accuracy": 2.0,
    "rougeL": 2.0,
    "chrf": 2.0,
    "field_accuracy": 3.0,
    "normalized_match": 3.0,
}
"""Points a replacement may lose before it counts as worse: two points of accuracy, ROUGE-L or chrF
(about the run-to-run spread of these metrics on a few hundred examples), three of the match rates of
extraction and chat (coarser, per-example all-or-nothing scores)."""
MIN_EXAMPLES = 10


@dataclass(frozen=True)
class NonInferiority:
    metric: str
    reference: str
    """``ground truth`` or ``old model's answers``."""
    old: float
    new: float
    difference: float
    ci_low: float
    ci_high: float
    confidence: float
    margin: float
    p_value: float
    """One-sided: the bootstrap share of differences at or below ``-margin``."""
    verdict: str
    """``non-inferior``, ``inferior``, ``inconclusive`` or ``too few examples``."""
    sentence: str
    examples: int
    mcnemar_p: float | None = None
    test: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def default_margin(task: str) -> float:
    return DEFAULT_MARGINS[METRIC[task]]


def _stat(
    task: str,
    *,
    refs: Sequence[str],
    old: Sequence[str],
    new: Sequence[str],
    target_language: str | None,
    old_scores: m.TaskScores,
    new_scores: m.TaskScores,
) -> PairedMetric:
    metric = METRIC[task]
    if task == "translate":
        from ftclient.evaluate.compare import corpus_metric

        scorer = m.text_metrics(m.bleu_tokenizer_for(target_language, refs))[metric]
        return corpus_metric(scorer, m.sentence_stats(scorer, refs, old), m.sentence_stats(scorer, refs, new))
    scale = 100.0 if metric in RATES else 1.0
    return mean_metric(old_scores.per_example[metric], new_scores.per_example[metric], scale)


def judge_replacement(
    task: str,
    references: Sequence[str],
    old_answers: Sequence[str],
    new_answers: Sequence[str],
    *,
    margin: float | None = None,
    reference_kind: str = "ground truth",
    labels: Sequence[str] = (),
    target_language: str | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 12345,
) -> NonInferiority:
    """The verdict on ``new`` replacing ``old`` for ``task``, scored against ``references``."""
    import numpy as np

    margin = default_margin(task) if margin is None else float(margin)
    metric = METRIC[task]
    kwargs: dict[str, Any] = {"labels": list(labels) or None, "target_language": target_language}
    old_scores = m.score(task, references, old_answers, **kwargs)
    new_scores = m.score(task, references, new_answers, **kwargs)
    stat = _stat(
        task,
        refs=references,
        old=old_answers,
        new=new_answers,
        target_language=target_language,
        old_scores=old_scores,
        new_scores=new_scores,
    )
    n = len(references)
    old_value, new_value = observed(stat)
    diffs = _bootstrap_differences(stat, resamples, seed)
    tail = 100 * ONE_SIDED_ALPHA
    difference = new_value - old_value
    if len(diffs):
        ci_low, ci_high = (float(v) for v in np.percentile(diffs, [tail, 100 - tail]))
        p_value = float(max(np.mean(diffs <= -margin), 1.0 / len(diffs)))
    else:
        ci_low = ci_high = difference
        p_value = 1.0
    mcnemar = None
    if old_scores.correct is not None and new_scores.correct is not None:
        mcnemar = mcnemar_exact(old_scores.correct, new_scores.correct).p_value
    if n < MIN_EXAMPLES:
        verdict = "too few examples"
    elif ci_low > -margin:
        verdict = "non-inferior"
    elif ci_high < -margin:
        verdict = "inferior"
    else:
        verdict = "inconclusive"
    label = metric.replace("_", " ")
    sentence = (
        f"{verdict}: {label} {new_value:.1f} vs {old_value:.1f} ({reference_kind}), difference "
        f"{difference:+.1f} points, {CONFIDENCE:.0%} CI {ci_low:+.1f} to {ci_high:+.1f}, "
        f"margin {margin:g} points, one-sided p={p_value:.3f}"
    )
    return NonInferiority(
        metric=metric,
        reference=reference_kind,
        old=old_value,
        new=new_value,
        difference=difference,
        ci_low=ci_low,
        ci_high=ci_high,
        confidence=CONFIDENCE,
        margin=margin,
        p_value=p_value,
        verdict=verdict,
        sentence=sentence,
        examples=n,
        mcnemar_p=mcnemar,
        test=f"paired bootstrap ({len(diffs)} resamples), one-sided at {ONE_SIDED_ALPHA:g}"
        + ("; McNemar exact on discordant pairs" if mcnemar is not None else ""),
    )


def _bootstrap_differences(stat: PairedMetric, resamples: int, seed: int) -> Any:
    """``new - old`` on ``resamples`` resamplings of the examples with replacement (seeded), in chunks that
    bound memory on large held-out sets."""
    import numpy as np

    n = stat.n
    if n == 0 or resamples <= 0:
        return np.zeros(0)
    rng = np.random.default_rng(seed)
    chunk = max(1, 2_000_000 // n)
    out = []
    for start in range(0, resamples, chunk):
        idx = rng.integers(0, n, size=(min(chunk, resamples - start), n), dtype=np.int64)
        out.append(stat.rows(idx + n) - stat.rows(idx))
    return np.concatenate(out)


def agreement(
    task: str,
    old_answers: Sequence[str],
    new_answers: Sequence[str],
    *,
    labels: Sequence[str] = (),
    target_language: str | None = None,
) -> float:
    """How closely the replacement says what the old model said, by the task's primary metric (points)."""

    refs = list(old_answers)
    scores = m.score(task, refs, new_answers, labels=list(labels) or None, target_language=target_language)
    stat = _stat(
        task,
        refs=refs,
        old=refs,
        new=new_answers,
        target_language=target_language,
        old_scores=scores,
        new_scores=scores,
    )
    return observed(stat)[1]
