"""Is the tuned model really better? Paired tests on the same test examples, and a verdict only when they agree.

Both models answer the same examples, so every comparison is paired. Two questions are asked of each metric:

- Could a difference this large come from chance? An exact test answers it: McNemar's exact test
  (``scipy.stats.binomtest`` on the examples where exactly one model is right) for per-example correctness, and
  a paired permutation test (``scipy.stats.permutation_test``: swap the two models' answers on each example)
  for every other metric, including corpus metrics such as BLEU, chrF and macro-F1 that are recomputed from
  the swapped answers. The permutation test enumerates every arrangement when there are few examples, so its
  p-value is exact where it matters most; with many examples it samples arrangements and counts the observed
  one, so it never reports p=0.
- How large is the difference? A 95% BCa bootstrap interval (``scipy.stats.bootstrap``) over resampled
  examples.

"Better" or "worse" is said only when both agree: p below 5% and an interval that excludes zero on the same
side. Two-sided exact tests cannot reach p<0.05 with fewer than :data:`MIN_DIFFERING` examples on which the
models differ, so below that the verdict is "too few test examples to tell", with how many would be needed.

sacrebleu ships paired tests for BLEU/chrF too, but its approximate randomisation counts only strictly larger
differences and samples 10,000 arrangements even when there are 16, so 4 sentence pairs can get p≈0.0001;
the permutation test here scores the same sacrebleu sufficient statistics and is exact at small n.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DEFAULT_RESAMPLES = 2000
CONFIDENCE = 0.95
"""Of every interval: the verdict's two-sided 5% level."""
ALPHA = 0.05
"""Two-sided significance level of the verdict (the complement of the 95% interval)."""

BETTER, WORSE, NO_CLEAR_DIFFERENCE, TOO_FEW = "better", "worse", "no clear difference", "too few"


def min_differing(alpha: float = ALPHA) -> int:
    """The fewest examples on which the models must differ before an exact two-sided test can reach ``alpha``.

    With ``m`` differing examples the most extreme outcome (all in one direction) has two-sided p = 2 / 2**m."""
    m = 1
    while 2.0 / 2**m > alpha:
        m += 1
    return m


MIN_DIFFERING = min_differing()
"""6 at the 5% level: 2/2**5 = 0.0625, 2/2**6 = 0.03125."""


@dataclass(frozen=True)
class McNemar:
    """Counts of discordant pairs and the exact two-sided p-value."""

    fixed: int
    """Examples the baseline got wrong and the tuned model right."""
    broken: int
    """Examples the baseline got right and the tuned model wrong."""
    p_value: float


def mcnemar_exact(baseline_correct: Any, tuned_correct: Any) -> McNemar:
    """McNemar's exact test: under "no difference" each discordant pair is a fair coin flip, so the p-value
    is scipy's exact binomial test (two-sided, p=0.5: its defaults) of ``fixed`` in ``fixed + broken`` flips."""
    from scipy.stats import binomtest

    fixed = sum(1 for b, t in zip(baseline_correct, tuned_correct, strict=True) if t and not b)
    broken = sum(1 for b, t in zip(baseline_correct, tuned_correct, strict=True) if b and not t)
    if fixed + broken == 0:
        return McNemar(fixed, broken, 1.0)
    return McNemar(fixed, broken, float(binomtest(fixed, fixed + broken).pvalue))


RowStat = Callable[[Any], Any]
"""The metric of the rows named by each line of a 2-D index matrix, as a 1-D float array (one per line).

Rows ``0..n-1`` are the baseline's answers to examples ``0..n-1``, rows ``n..2n-1`` the tuned model's. An
index line ``[3, 0, 3]`` is "the baseline's answers to examples 3, 0 and 3"; the permutation test mixes
both models' rows in one line. Vectorised with numpy, so thousands of lines stay fast."""


@dataclass(frozen=True)
class PairedMetric:
    """A metric that can be recomputed on any selection of either model's answers."""

    n: int
    rows: RowStat
    differs: Any
    """Boolean per example: the two models' answers score differently (the only examples a paired test can
    use; swapping two answers that score the same changes nothing)."""

    @property
    def differing(self) -> int:
        return int(self.differs.sum())


@dataclass(frozen=True)
class PairedResult:
    baseline: float
    tuned: float
    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    """Two-sided, from the permutation test (exact when every arrangement was enumerated)."""
    exact: bool
    resamples: int
    differing: int


_CHUNK_CELLS = 2_000_000
"""Index cells per batch of resamples, to bound memory on large test sets."""


def _batch(n: int) -> int:
    return max(1, _CHUNK_CELLS // max(n, 1))


def _lines(metric: PairedMetric, ids: Any) -> Any:
    """``metric.rows`` over index lines of any leading shape (scipy passes 1-D and 2-D arrays)."""
    return metric.rows(ids.reshape(math.prod(ids.shape[:-1]), ids.shape[-1])).reshape(ids.shape[:-1])


def observed(metric: PairedMetric) -> tuple[float, float]:
    """Both models' metric on the whole test set."""
    import numpy as np

    ids = np.arange(metric.n)
    return float(_lines(metric, ids)), float(_lines(metric, ids + metric.n))


def bootstrap_ci(metric: PairedMetric, *, resamples: int, seed: int) -> tuple[float, float]:
    """95% BCa bootstrap interval of ``tuned - baseline``, resampling examples with replacement (seeded).

    Falls back to the percentile interval of the same resamples where BCa is undefined (every resample
    gives the same difference, e.g. identical models)."""
    import numpy as np
    from scipy.stats import bootstrap

    base, tuned = observed(metric)
    n = metric.n
    if n < 2 or resamples <= 0:
        return tuned - base, tuned - base

    def difference(ids: Any, axis: int = -1) -> Any:
        return _lines(metric, ids + n) - _lines(metric, ids)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # BCa's "degenerate data": handled below
        result = bootstrap(
            (np.arange(n),),
            difference,
            n_resamples=resamples,
            batch=_batch(n),
            confidence_level=CONFIDENCE,
            rng=np.random.default_rng(seed),
        )
    low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    if math.isnan(low) or math.isnan(high):
        tail = 50 * (1 - CONFIDENCE)
        low, high = (float(v) for v in np.percentile(result.bootstrap_distribution, [tail, 100 - tail]))
    return low, high


def permutation_p(metric: PairedMetric, *, resamples: int, seed: int) -> tuple[float, bool]:
    """Two-sided p-value of the paired permutation test, and whether it was exact (every arrangement tried).

    Only the examples where the models differ are swapped; the others stay in every arrangement."""
    import numpy as np
    from scipy.stats import permutation_test

    moving = np.flatnonzero(metric.differs)
    still = np.flatnonzero(~metric.differs)
    m = len(moving)
    if m < 2:  # one differing example: swapping it only flips the sign, so exactly p = 1
        return 1.0, True
    if resamples <= 0:
        return 1.0, False

    def with_still(ids: Any) -> Any:
        return np.concatenate([np.broadcast_to(still, (*ids.shape[:-1], len(still))), ids], axis=-1)

    def difference(x: Any, y: Any, axis: int = -1) -> Any:
        return _lines(metric, with_still(y)) - _lines(metric, with_still(x))

    result = permutation_test(
        (moving, moving + metric.n),
        difference,
        permutation_type="samples",
        n_resamples=resamples,
        batch=_batch(metric.n),
        rng=np.random.default_rng(seed),
    )
    return float(result.pvalue), 2**m <= resamples


def paired_test(metric: PairedMetric, *, resamples: int, seed: int) -> PairedResult:
    """Observed values, the bootstrap interval of the difference and the permutation p-value."""
    base, tuned = observed(metric)
    low, high = bootstrap_ci(metric, resamples=resamples, seed=seed)
    p, exact = permutation_p(metric, resamples=resamples, seed=seed)
    return PairedResult(base, tuned, tuned - base, low, high, p, exact, resamples, metric.differing)


def mean_metric(baseline: Any, tuned: Any, scale: float = 1.0) -> PairedMetric:
    """A :class:`PairedMetric` for metrics that are means of per-example values."""
    import numpy as np

    b = np.asarray(baseline, dtype=float)
    t = np.asarray(tuned, dtype=float)
    table = np.concatenate([b, t])

    def rows(idx: Any) -> Any:
        if idx.shape[-1] == 0:
            return np.zeros(idx.shape[0])
        return scale * table[idx].mean(axis=-1)

    return PairedMetric(len(b), rows, b != t)


def decide(difference: float, ci_low: float, ci_high: float, p_value: float | None, differing: int) -> str:
    """The verdict word: better/worse only when the exact test and the interval agree."""
    if differing < MIN_DIFFERING:
        return TOO_FEW if differing > 0 else NO_CLEAR_DIFFERENCE
    if p_value is None or not p_value < ALPHA:
        return NO_CLEAR_DIFFERENCE
    if difference > 0 and ci_low > 0:
        return BETTER
    if difference < 0 and ci_high < 0:
        return WORSE
    return NO_CLEAR_DIFFERENCE


def examples_needed(differing: int, n: int) -> int:
    """About how many test examples give :data:`MIN_DIFFERING` differing ones at the rate seen here."""
    if differing <= 0:
        return MIN_DIFFERING
    return max(MIN_DIFFERING, math.ceil(MIN_DIFFERING * n / differing))


def verdict_sentence(
    metric_label: str,
    difference: float,
    ci_low: float,
    ci_high: float,
    *,
    verdict: str,
    p_value: float | None,
    differing: int,
    n: int,
    unit: str = "points",
) -> str:
    """``"better by 12.4 points, 95% CI 8.1–16.9, p<0.001"`` and its siblings, for the given verdict."""
    ci = (
        f"95% CI {ci_low:.1f}–{ci_high:.1f}"
        if ci_low >= 0 and ci_high >= 0
        else f"95% CI {ci_low:+.1f} to {ci_high:+.1f}"
    )
    p = f", {format_p(p_value)}" if p_value is not None else ""
    if verdict == BETTER:
        return f"{metric_label}: better by {difference:.1f} {unit}, {ci}{p}"
    if verdict == WORSE:
        return f"{metric_label}: worse by {-difference:.1f} {unit}, {ci}{p}"
    if verdict == TOO_FEW:
        return (
            f"{metric_label}: too few test examples to tell ({difference:+.1f} {unit}, {ci}{p}; the models differ "
            f"on {differing} of {n} examples, and an exact test needs at least {MIN_DIFFERING} differing ones: "
            f"about {examples_needed(differing, n)} test examples at this rate)"
        )
    return f"{metric_label}: no clear difference ({difference:+.1f} {unit}, {ci}{p})"


def format_p(p: float | None) -> str:
    """``p=0.013``, ``p=0.0496`` or ``p<0.001``: never above 1, and never rounded across 0.05 or 0.01."""
    if p is None or math.isnan(p):
        return "p=n/a"
    p = min(max(p, 0.0), 1.0)
    if p < 0.001:
        return "p<0.001"
    for digits in (3, 4, 5):
        text = f"{p:.{digits}f}"
        if all((float(text) < level) == (p < level) for level in (0.05, 0.01)):
            break
    return f"p={text}"
