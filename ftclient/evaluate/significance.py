"""Is the tuned model really better? Paired tests on the same test examples.

Both models answer the same examples, so the comparison is paired: McNemar's exact test on per-example
correctness (only the examples where the two disagree carry information), and a paired bootstrap — resample
example indices, recompute both models' metric on the same resample — for everything else, including corpus
metrics like BLEU and macro-F1 that are not means over examples. The verdict is stated in plain words with
the 95% confidence interval of the difference.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

DEFAULT_RESAMPLES = 2000
CONFIDENCE = 0.95


@dataclass(frozen=True)
class McNemar:
    """Counts of discordant pairs and the exact two-sided p-value."""

    fixed: int
    """Examples the baseline got wrong and the tuned model right."""
    broken: int
    """Examples the baseline got right and the tuned model wrong."""
    p_value: float


def mcnemar_exact(baseline_correct: Sequence[bool], tuned_correct: Sequence[bool]) -> McNemar:
    """McNemar's exact test: under "no difference" each discordant pair is a fair coin flip, so the p-value
    is the two-sided binomial tail of ``min(fixed, broken)`` in ``fixed + broken`` flips."""
    fixed = sum(1 for b, t in zip(baseline_correct, tuned_correct, strict=True) if t and not b)
    broken = sum(1 for b, t in zip(baseline_correct, tuned_correct, strict=True) if b and not t)
    n = fixed + broken
    if n == 0:
        return McNemar(fixed, broken, 1.0)
    k = min(fixed, broken)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return McNemar(fixed, broken, min(1.0, 2 * tail))


@dataclass(frozen=True)
class BootstrapResult:
    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    """Two-sided: twice the share of resamples on the far side of zero (bounded by 1/resamples)."""
    resamples: int


StatFn = Callable[[Any], tuple[Any, Any]]
"""Given a matrix of example indices (one resample per row), the (baseline, tuned) metric values of each row
as two 1-D arrays. Vectorised with numpy, so thousands of resamples of thousands of examples stay fast."""

_CHUNK_CELLS = 2_000_000
"""Index cells per chunk of resamples, to bound memory on large test sets."""


def paired_bootstrap(
    n: int, stat: StatFn, *, resamples: int = DEFAULT_RESAMPLES, seed: int = 12345, confidence: float = CONFIDENCE
) -> BootstrapResult:
    """Percentile bootstrap CI of ``tuned - baseline``, resampling examples with replacement (seeded)."""
    import numpy as np

    base_all, tuned_all = stat(np.arange(n, dtype=np.int64)[None, :])
    observed = float(tuned_all[0] - base_all[0])
    if n == 0 or resamples <= 0:
        return BootstrapResult(observed, observed, observed, 1.0, 0)
    rng = np.random.default_rng(seed)
    chunk = max(1, _CHUNK_CELLS // n)
    parts = []
    for start in range(0, resamples, chunk):
        idx = rng.integers(0, n, size=(min(chunk, resamples - start), n), dtype=np.int64)
        b, t = stat(idx)
        parts.append(np.asarray(t, dtype=float) - np.asarray(b, dtype=float))
    diffs = np.sort(np.concatenate(parts))
    alpha = (1 - confidence) / 2
    low = float(diffs[math.floor(alpha * (resamples - 1))])
    high = float(diffs[math.ceil((1 - alpha) * (resamples - 1))])
    below = float(np.mean(diffs <= 0))
    above = float(np.mean(diffs >= 0))
    p = min(1.0, max(2 * min(below, above), 1 / resamples))
    return BootstrapResult(observed, low, high, p, resamples)


def mean_stat(baseline: Sequence[float], tuned: Sequence[float], scale: float = 1.0) -> StatFn:
    """A :data:`StatFn` for metrics that are means of per-example values."""
    import numpy as np

    b = np.asarray(baseline, dtype=float)
    t = np.asarray(tuned, dtype=float)

    def stat(idx: Any) -> tuple[Any, Any]:
        if idx.shape[1] == 0:
            zeros = np.zeros(idx.shape[0])
            return zeros, zeros
        return scale * b[idx].mean(axis=1), scale * t[idx].mean(axis=1)

    return stat


def verdict_sentence(
    metric_label: str,
    difference: float,
    ci_low: float,
    ci_high: float,
    *,
    p_value: float | None = None,
    unit: str = "points",
) -> str:
    """``"better by 12.4 points, 95% CI 8.1–16.9"`` and its siblings; "better" only when the CI excludes 0."""
    ci = (
        f"95% CI {ci_low:+.1f} to {ci_high:+.1f}"
        if ci_low < 0 < ci_high or ci_high < 0
        else (f"95% CI {ci_low:.1f}–{ci_high:.1f}")
    )
    p = f", {format_p(p_value)}" if p_value is not None else ""
    if ci_low > 0:
        return f"{metric_label}: better by {difference:.1f} {unit}, {ci}{p}"
    if ci_high < 0:
        return f"{metric_label}: worse by {-difference:.1f} {unit}, {ci}{p}"
    return f"{metric_label}: no clear difference ({difference:+.1f} {unit}, {ci}{p})"


def format_p(p: float) -> str:
    """``p=0.013`` or ``p<0.001``."""
    return "p<0.001" if p < 0.001 else f"p={p:.3f}"
