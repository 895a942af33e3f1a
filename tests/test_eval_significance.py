"""Paired tests, intervals and verdicts, checked against references computed here, not by ftclient.

The references: closed-form binomial tails and scipy's ``binomtest`` for McNemar; brute-force enumeration of
every swap of the two models' answers (scored by sacrebleu directly for BLEU/chrF) for the permutation
test; a plain numpy percentile bootstrap for the intervals.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from sacrebleu.metrics import BLEU, CHRF
from scipy.stats import binomtest

from ftclient.evaluate import compare as cmp
from ftclient.evaluate import metrics as m
from ftclient.evaluate.significance import (
    MIN_DIFFERING,
    _batch,
    bootstrap_ci,
    decide,
    examples_needed,
    format_p,
    mcnemar_exact,
    mean_metric,
    min_differing,
    observed,
    paired_test,
    permutation_p,
    verdict_sentence,
)
from ftclient.evaluate.types import Comparison, Example


def _binom_two_sided(k: int, n: int) -> float:
    """Twice the smaller binomial tail of a fair coin, capped at 1."""
    tail = sum(math.comb(n, i) for i in range(min(k, n - k) + 1)) / 2**n
    return min(1.0, 2 * tail)


def _sign_flip_p(diffs: list[float]) -> float:
    """Exact two-sided paired permutation p-value by enumerating every sign assignment."""
    observed = abs(sum(diffs))
    count = 0
    for signs in itertools.product((1, -1), repeat=len(diffs)):
        if abs(sum(s * d for s, d in zip(signs, diffs, strict=True))) >= observed - 1e-12:
            count += 1
    return count / 2 ** len(diffs)


def _correct(fixed: int, broken: int, both: int, neither: int) -> tuple[list[bool], list[bool]]:
    base = [False] * fixed + [True] * broken + [True] * both + [False] * neither
    tuned = [True] * fixed + [False] * broken + [True] * both + [False] * neither
    return base, tuned


@pytest.mark.parametrize("fixed", range(13))
@pytest.mark.parametrize("broken", [0, 1, 2, 5, 12])
def test_mcnemar_is_the_exact_two_sided_binomial_test(fixed: int, broken: int) -> None:
    base, tuned = _correct(fixed, broken, 7, 3)
    result = mcnemar_exact(base, tuned)
    assert (result.fixed, result.broken) == (fixed, broken)
    if fixed + broken == 0:
        assert result.p_value == 1.0
        return
    assert result.p_value == pytest.approx(_binom_two_sided(fixed, fixed + broken), rel=1e-9)
    assert result.p_value == pytest.approx(binomtest(fixed, fixed + broken, 0.5).pvalue, rel=1e-9)
    assert 0 < result.p_value <= 1.0


def test_mcnemar_known_values() -> None:
    assert mcnemar_exact(*_correct(10, 0, 0, 0)).p_value == pytest.approx(2 / 1024)  # two-sided, not 1/1024
    assert mcnemar_exact(*_correct(3, 3, 10, 10)).p_value == 1.0  # never above 1 when fixed == broken
    assert mcnemar_exact(*_correct(4, 0, 4, 0)).p_value == pytest.approx(0.125)
    assert mcnemar_exact(*_correct(8, 2, 30, 10)).p_value == pytest.approx(2 * (1 + 10 + 45) / 1024)


@pytest.mark.parametrize(
    "diffs",
    [
        [1.0, 1.0, 1.0, 1.0],
        [1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        [0.5, -0.2, 0.9, 0.3, 0.7, 0.1, -0.4],
        [2.0, 1.0, 1.0, -1.0, 3.0, 0.5, 0.25, 1.5, -0.75],
        [0.1, -0.1, 0.2, -0.2, 0.3],
    ],
)
def test_permutation_p_is_exact_at_small_n(diffs: list[float]) -> None:
    rng = np.random.default_rng(len(diffs))
    base = rng.uniform(0, 1, len(diffs) + 3)
    tuned = base.copy()
    tuned[: len(diffs)] += diffs  # three examples where both score the same
    p, exact = permutation_p(mean_metric(base, tuned), resamples=2000, seed=1)
    assert exact
    assert p == pytest.approx(_sign_flip_p(diffs), abs=1e-9)


def test_permutation_p_with_many_examples_is_close_and_never_zero() -> None:
    rng = np.random.default_rng(3)
    base = rng.normal(0, 1, 200)
    tuned = base + rng.normal(0.02, 1, 200)
    p, exact = permutation_p(mean_metric(base, tuned), resamples=4000, seed=1)
    assert not exact
    # reference: sign flips drawn here with numpy
    d = tuned - base
    signs = np.random.default_rng(99).choice([-1.0, 1.0], size=(20000, len(d)))
    ref = np.mean(np.abs((signs * d).sum(axis=1)) >= abs(d.sum()))
    assert p == pytest.approx(ref, abs=0.03)
    far = base + 5.0
    p_far, _ = permutation_p(mean_metric(base, far), resamples=999, seed=1)
    assert p_far == pytest.approx(2 / 1000)  # the observed arrangement counts: never 0
    assert format_p(p_far) == "p=0.002"


def _numpy_percentile_ci(d: np.ndarray, resamples: int, confidence: float, seed: int) -> tuple[float, float]:
    idx = np.random.default_rng(seed).integers(0, len(d), size=(resamples, len(d)))
    means = d[idx].mean(axis=1)
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


@pytest.mark.parametrize("shift", [0.0, 0.3, -0.5])
def test_bootstrap_interval_matches_a_numpy_percentile_bootstrap(shift: float) -> None:
    rng = np.random.default_rng(11)
    base = rng.normal(50, 10, 300)
    tuned = base + rng.normal(shift, 1.0, 300)
    low, high = bootstrap_ci(mean_metric(base, tuned), resamples=4000, seed=5)
    ref95 = _numpy_percentile_ci(tuned - base, 20000, 0.95, seed=6)
    ref90 = _numpy_percentile_ci(tuned - base, 20000, 0.90, seed=6)
    se = float(np.std(tuned - base) / math.sqrt(300))
    assert low == pytest.approx(ref95[0], abs=0.12 * se)
    assert high == pytest.approx(ref95[1], abs=0.12 * se)
    # a 90% interval is 0.3 standard errors narrower on each side: it would not pass as this one
    assert abs(low - ref90[0]) > 0.2 * se and abs(high - ref90[1]) > 0.2 * se
    assert low < float(np.mean(tuned - base)) < high


def test_bootstrap_interval_is_seeded_and_collapses_for_identical_models() -> None:
    values = [1.0, 0.0, 1.0, 1.0, 0.0, 1.0]
    assert bootstrap_ci(mean_metric(values, values), resamples=300, seed=1) == (0.0, 0.0)
    rng = np.random.default_rng(2)
    base, tuned = rng.uniform(size=40), rng.uniform(size=40)
    metric = mean_metric(base, tuned)
    assert bootstrap_ci(metric, resamples=500, seed=7) == bootstrap_ci(metric, resamples=500, seed=7)
    assert bootstrap_ci(metric, resamples=500, seed=7) != bootstrap_ci(metric, resamples=500, seed=8)


def test_decide_needs_the_test_and_the_interval_to_agree() -> None:
    assert decide(5.0, 0.1, 10.0, 0.01, 20) == "better"
    assert decide(-5.0, -10.0, -0.1, 0.01, 20) == "worse"
    assert decide(5.0, 0.0, 10.0, 0.01, 20) == "no clear difference"  # an interval touching 0
    assert decide(-5.0, -10.0, 0.0, 0.01, 20) == "no clear difference"
    assert decide(5.0, 0.1, 10.0, 0.05, 20) == "no clear difference"  # p must be below 5%
    assert decide(5.0, 0.1, 10.0, 0.049, 20) == "better"
    assert decide(5.0, -1.0, 10.0, 0.001, 20) == "no clear difference"  # test and interval disagree
    assert decide(5.0, 0.1, 10.0, 0.2, 20) == "no clear difference"
    assert decide(5.0, 0.1, 10.0, None, 20) == "no clear difference"
    assert decide(-5.0, 0.1, 10.0, 0.01, 20) == "no clear difference"  # the difference and the interval disagree
    assert decide(5.0, -10.0, -0.1, 0.01, 20) == "no clear difference"
    assert decide(5.0, 0.1, 10.0, 0.01, MIN_DIFFERING - 1) == "too few"
    assert decide(5.0, 0.1, 10.0, 0.01, MIN_DIFFERING) == "better"
    assert decide(0.0, 0.0, 0.0, 1.0, 0) == "no clear difference"


def test_the_smallest_showable_difference() -> None:
    assert MIN_DIFFERING == 6
    assert _binom_two_sided(5, 5) > 0.05 >= _binom_two_sided(6, 6)
    assert examples_needed(4, 8) == 12
    assert examples_needed(3, 200) == 400
    assert examples_needed(10, 10) == MIN_DIFFERING
    assert examples_needed(0, 10) == MIN_DIFFERING


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (0.0, "p<0.001"),
        (0.0005, "p<0.001"),
        (0.000999, "p<0.001"),
        (0.001, "p=0.001"),
        (0.005, "p=0.005"),
        (0.0099, "p=0.0099"),
        (0.00999, "p=0.00999"),
        (0.0496, "p=0.0496"),
        (0.05, "p=0.050"),
        (0.125, "p=0.125"),
        (0.4, "p=0.400"),
        (1.0, "p=1.000"),
        (1.7, "p=1.000"),
        (float("nan"), "p=n/a"),
        (None, "p=n/a"),
    ],
)
def test_p_values_are_formatted_honestly(p: float | None, text: str) -> None:
    assert format_p(p) == text


def test_verdict_sentences() -> None:
    assert (
        verdict_sentence("Accuracy", 12.4, 8.1, 16.9, verdict="better", p_value=0.0004, differing=30, n=60)
        == "Accuracy: better by 12.4 points, 95% CI 8.1–16.9, p<0.001"
    )
    assert (
        verdict_sentence("chrF", -3.0, -5.5, -0.5, verdict="worse", p_value=0.01, differing=30, n=60)
        == "chrF: worse by 3.0 points, 95% CI -5.5 to -0.5, p=0.010"
    )
    assert verdict_sentence("BLEU", 1.0, -2.0, 4.0, verdict="no clear difference", p_value=0.4, differing=9, n=9) == (
        "BLEU: no clear difference (+1.0 points, 95% CI -2.0 to +4.0, p=0.400)"
    )
    few = verdict_sentence("Accuracy", 50.0, 12.5, 87.5, verdict="too few", p_value=0.125, differing=4, n=8)
    assert few.startswith("Accuracy: too few test examples to tell (+50.0 points")
    assert "differ on 4 of 8 examples" in few and "at least 6 differing" in few and "about 12 test examples" in few


def _classify(base_right: list[bool], tuned_right: list[bool]) -> cmp.Paired:
    refs = ["a" if i % 2 else "b" for i in range(len(base_right))]
    other = {"a": "b", "b": "a"}
    base = [r if ok else other[r] for r, ok in zip(refs, base_right, strict=True)]
    tuned = [r if ok else other[r] for r, ok in zip(refs, tuned_right, strict=True)]
    examples = [Example(i, [{"role": "user", "content": f"q{i}"}], r) for i, r in enumerate(refs)]
    labels = ["a", "b"]
    return cmp.Paired(
        "classify",
        examples,
        base,
        tuned,
        m.score("classify", refs, base, labels=labels),
        m.score("classify", refs, tuned, labels=labels),
        labels,
    )


def test_a_clearly_better_model_is_better_and_a_clearly_worse_one_worse() -> None:
    base, tuned = _correct(30, 2, 20, 8)
    comparisons, mcnemar = cmp.compare(_classify(base, tuned), resamples=500)
    first = comparisons[0]
    assert first.metric == "accuracy" and first.verdict == "better" and first.significant
    assert first.test == "McNemar exact p-value; BCa bootstrap CI"
    assert comparisons[1].test == "paired permutation test (500 random arrangements); BCa bootstrap CI (500 resamples)"
    assert (mcnemar["fixed"], mcnemar["broken"]) == (30, 2)
    assert first.p_value == pytest.approx(binomtest(30, 32, 0.5).pvalue)
    assert first.difference == pytest.approx(100 * 28 / 60)
    verdict = cmp.overall_verdict(comparisons, "ft:x", "base-x")
    assert verdict.startswith("The tuned model ft:x is better than base-x. Accuracy: better by 46.7 points, 95% CI")
    assert "p<0.001" in verdict

    comparisons, mcnemar = cmp.compare(_classify(tuned, base), resamples=500)
    first = comparisons[0]
    assert first.verdict == "worse" and first.difference < 0 and first.ci_high < 0
    verdict = cmp.overall_verdict(comparisons, "ft:x", "base-x")
    assert verdict.startswith("The tuned model ft:x is worse than base-x. Accuracy: worse by 46.7 points")
    assert "better" not in verdict


def test_identical_models_are_not_different() -> None:
    base, _ = _correct(10, 5, 20, 5)
    comparisons, mcnemar = cmp.compare(_classify(base, list(base)), resamples=300)
    assert (mcnemar["fixed"], mcnemar["broken"], mcnemar["p_value"]) == (0, 0, 1.0)
    for c in comparisons:
        assert (c.difference, c.ci_low, c.ci_high, c.p_value, c.verdict) == (0.0, 0.0, 0.0, 1.0, "no clear difference")
        assert not c.significant
        assert "p<0.001" not in c.sentence and "p=1.000" in c.sentence
    assert cmp.overall_verdict(comparisons, "t", "b").startswith("No clear difference between t and b. Accuracy:")


def test_eight_examples_with_mcnemar_p_0125_are_too_few() -> None:
    base, tuned = _correct(4, 0, 3, 1)
    comparisons, mcnemar = cmp.compare(_classify(base, tuned), resamples=500)
    assert mcnemar["p_value"] == pytest.approx(0.125)
    first = comparisons[0]
    assert first.verdict == "too few" and not first.significant
    verdict = cmp.overall_verdict(comparisons, "t", "b")
    assert verdict.startswith("Too few test examples to tell whether t is better than b. Accuracy: too few test")
    assert "p=0.125" in verdict and "about 12 test examples" in verdict
    assert "better by" not in verdict


def test_a_worse_model_just_over_the_threshold_and_a_mixed_one() -> None:
    base, tuned = _correct(1, 12, 30, 17)
    comparisons, _ = cmp.compare(_classify(base, tuned), resamples=800)
    assert comparisons[0].verdict == "worse"
    base, tuned = _correct(7, 5, 30, 18)
    comparisons, _ = cmp.compare(_classify(base, tuned), resamples=800)
    assert comparisons[0].verdict == "no clear difference"
    assert cmp.overall_verdict(comparisons, "t", "b").startswith("No clear difference between t and b.")


def _translation(refs: list[str], base: list[str], tuned: list[str]) -> cmp.Paired:
    examples = [Example(i, [{"role": "user", "content": "x"}], r) for i, r in enumerate(refs)]
    return cmp.Paired(
        "translate",
        examples,
        base,
        tuned,
        m.score("translate", refs, base, target_language="en"),
        m.score("translate", refs, tuned, target_language="en"),
        target_language="en",
    )


def _enumerated_corpus_p(metric: object, refs: list[str], base: list[str], tuned: list[str]) -> float:
    """Every way of swapping the two systems' sentences, scored by sacrebleu itself."""

    def score(hyps: list[str]) -> float:
        return float(metric.corpus_score(hyps, [refs]).score)  # type: ignore[attr-defined]

    observed = abs(score(tuned) - score(base))
    count = 0
    for swaps in itertools.product((False, True), repeat=len(refs)):
        a = [t if s else b for b, t, s in zip(base, tuned, swaps, strict=True)]
        b_ = [b if s else t for b, t, s in zip(base, tuned, swaps, strict=True)]
        if abs(score(b_) - score(a)) >= observed - 1e-9:
            count += 1
    return count / 2 ** len(refs)


def test_four_translation_pairs_cannot_be_significant() -> None:
    refs = ["the cat sat on the mat", "a dog barked loudly", "it rained all day", "we ate fresh bread"]
    base = ["cat mat", "dog", "rain", "bread"]
    tuned = ["the cat sat on the mat", "a dog barked loudly", "it rained all day", "we ate fresh bread"]
    comparisons, mcnemar = cmp.compare(_translation(refs, base, tuned), resamples=2000)
    assert mcnemar == {}
    by_name = {c.metric: c for c in comparisons}
    assert comparisons[0].metric == "chrf"
    for name, metric in (("chrf", CHRF()), ("bleu", BLEU(tokenize="13a"))):
        c = by_name[name]
        assert c.p_value == pytest.approx(_enumerated_corpus_p(metric, refs, base, tuned), abs=1e-9)
        assert c.p_value >= 0.125
        assert c.verdict == "too few"
        assert c.test == "paired permutation test (exact); BCa bootstrap CI (2000 resamples)"
        assert "p<0.001" not in c.sentence
    assert cmp.overall_verdict(comparisons, "t", "b").startswith("Too few test examples to tell")


def test_translation_with_enough_pairs_scores_sacrebleu_corpus_metrics() -> None:
    refs = ["the cat sat on the mat", "a dog barked loudly", "it rained all day", "we ate fresh bread"] * 5
    base = ["cat mat", "dog", "rain", "bread"] * 5
    tuned = ["the cat sat on a mat", "a dog barked", "it rained all day", "we ate bread"] * 5
    p = _translation(refs, base, tuned)
    comparisons, _ = cmp.compare(p, resamples=500)
    by_name = {c.metric: c for c in comparisons}
    assert by_name["bleu"].tuned == pytest.approx(BLEU().corpus_score(tuned, [refs]).score)
    assert by_name["chrf"].baseline == pytest.approx(CHRF().corpus_score(base, [refs]).score)
    assert by_name["chrf"].verdict == "better" and by_name["chrf"].ci_low > 0
    assert by_name["chrf"].differing == 20
    assert by_name["chrf"].p_value < 0.01
    fixed, broken = cmp.diffs(p)
    assert fixed and not broken


def test_macro_f1_on_the_whole_set_matches_the_metric_and_is_tested() -> None:
    base, tuned = _correct(25, 3, 20, 12)
    p = _classify(base, tuned)
    comparisons, _ = cmp.compare(p, resamples=400)
    macro = comparisons[1]
    assert macro.metric == "macro_f1"
    assert macro.tuned == pytest.approx(100 * p.tuned.corpus["macro_f1"])
    assert macro.baseline == pytest.approx(100 * p.baseline.corpus["macro_f1"])
    assert macro.differing == 28
    assert macro.verdict == "better" and macro.p_value is not None and macro.p_value < 0.01
    fixed, broken = cmp.diffs(p)
    assert len(fixed) == 20 and len(broken) == 3  # the first 20 listed
    assert broken[0].prompt == "q25"


def test_significant_falls_back_to_the_interval_for_old_reports() -> None:
    old = Comparison("accuracy", "Accuracy", 50, 60, 10, 2, 18, 0.2, "t", "points", "s")
    assert old.significant
    new = Comparison("accuracy", "Accuracy", 50, 60, 10, 2, 18, 0.2, "t", "points", "s", verdict="too few")
    assert not new.significant


def test_min_differing_at_other_levels() -> None:
    assert min_differing(0.05) == 6
    assert min_differing(0.01) == 8  # 2/2**7 = 0.0156, 2/2**8 = 0.0078
    assert min_differing(0.5) == 2  # 2/2**2 = 0.5 is reachable
    assert min_differing(1.0) == 1


def test_mcnemar_needs_answers_for_the_same_examples() -> None:
    with pytest.raises(ValueError):
        mcnemar_exact([True], [True, False])
    with pytest.raises(ValueError):
        mcnemar_exact([True, False], [True])


def test_mean_metric_rows() -> None:
    metric = mean_metric([1.0, 0.0, 1.0], [1.0, 1.0, 0.0], scale=100.0)
    assert metric.n == 3 and metric.differing == 2
    assert list(metric.differs) == [False, True, True]
    lines = np.array([[0, 1, 2], [3, 4, 5], [1, 4, 4], [0, 0, 0]])
    assert list(metric.rows(lines)) == pytest.approx([200 / 3, 200 / 3, 100 * 2 / 3, 100.0])
    assert list(metric.rows(np.zeros((2, 0), dtype=int))) == [0.0, 0.0]
    assert observed(metric) == pytest.approx((200 / 3, 200 / 3))
    assert observed(mean_metric([], [])) == (0.0, 0.0)


def test_small_and_switched_off_intervals() -> None:
    metric = mean_metric([3.0, 5.0], [3.0, 15.0])  # differences 0 and 10
    low, high = bootstrap_ci(metric, resamples=400, seed=1)
    assert (low, high) != (5.0, 5.0) and low < 5.0 < high  # two examples still get an interval
    assert bootstrap_ci(metric, resamples=0, seed=1) == (5.0, 5.0)
    assert bootstrap_ci(mean_metric([2.0], [7.0]), resamples=100, seed=1) == (5.0, 5.0)


def test_permutation_p_edge_cases() -> None:
    assert permutation_p(mean_metric([0.0, 1.0, 2.0], [0.0, 5.0, 2.0]), resamples=100, seed=1) == (1.0, True)
    same = mean_metric([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert permutation_p(same, resamples=100, seed=1) == (1.0, True)
    four = mean_metric([0.0] * 4, [1.0] * 4)
    assert permutation_p(four, resamples=16, seed=1) == (pytest.approx(0.125), True)  # 2**4 arrangements
    assert permutation_p(four, resamples=15, seed=1)[1] is False
    assert permutation_p(four, resamples=0, seed=1) == (1.0, False)  # no test asked for: no evidence


def test_permutation_p_keeps_the_examples_that_do_not_differ() -> None:
    """A corpus metric depends on every sentence; the ones both models translate alike stay in each arrangement."""
    refs = ["the cat sat on the mat", "a dog barked loudly", "it rained all day", "we ate fresh bread"] * 2
    refs += ["good morning to you", "see you tomorrow"]
    base = ["cat mat", "dog", "rain", "bread", "the cat sat", "a dog", "it rained", "we ate"]
    tuned = ["the cat sat on a mat", "a dog barked", "it rained all day", "we ate bread"] * 2
    base += ["good morning", "see you"]
    tuned += ["good morning", "see you"]
    comparisons, _ = cmp.compare(_translation(refs, base, tuned), resamples=2000)
    by_name = {c.metric: c for c in comparisons}
    assert by_name["bleu"].differing == 8
    reference = _enumerated_corpus_p(BLEU(tokenize="13a"), refs, base, tuned)
    assert by_name["bleu"].p_value == pytest.approx(reference, abs=1e-9)


def test_seeded_results_repeat() -> None:
    rng = np.random.default_rng(4)
    metric = mean_metric(rng.normal(size=80), rng.normal(0.1, 1, size=80))
    first = paired_test(metric, resamples=300, seed=3)
    assert first == paired_test(metric, resamples=300, seed=3)
    assert not first.exact and first.resamples == 300 and first.differing == 80
    others = [paired_test(metric, resamples=300, seed=seed) for seed in (4, 5, 6)]
    assert len({r.p_value for r in [first, *others]}) > 1  # the seed drives the permutations
    assert len({r.ci_low for r in [first, *others]}) > 1  # and the resamples


def test_decide_edges() -> None:
    assert decide(5.0, 0.1, 10.0, 0.01, 1) == "too few"
    assert decide(0.0, 0.1, 1.0, 0.01, 20) == "no clear difference"
    assert decide(0.5, 0.1, 1.0, 0.01, 20) == "better"
    assert decide(0.0, -1.0, -0.1, 0.01, 20) == "no clear difference"
    assert decide(-0.5, -1.0, -0.1, 0.01, 20) == "worse"
    assert examples_needed(1, 10) == 60


def test_sentence_intervals_and_missing_p() -> None:
    assert verdict_sentence("A", 2.0, 0.0, 5.0, verdict="no clear difference", p_value=None, differing=9, n=9) == (
        "A: no clear difference (+2.0 points, 95% CI 0.0–5.0)"
    )
    assert verdict_sentence("A", 0.0, 0.0, 0.0, verdict="no clear difference", p_value=1.0, differing=0, n=9) == (
        "A: no clear difference (+0.0 points, 95% CI 0.0–0.0, p=1.000)"
    )
    assert verdict_sentence("A", 0.5, 0.5, 1.0, verdict="better", p_value=0.02, differing=9, n=9) == (
        "A: better by 0.5 points, 95% CI 0.5–1.0, p=0.020"
    )
    assert verdict_sentence("A", -0.5, -1.0, -0.5, verdict="worse", p_value=0.02, differing=9, n=9) == (
        "A: worse by 0.5 points, 95% CI -1.0 to -0.5, p=0.020"
    )
    assert verdict_sentence("A", -0.5, -1.0, 0.0, verdict="no clear difference", p_value=0.2, differing=9, n=9) == (
        "A: no clear difference (-0.5 points, 95% CI -1.0 to +0.0, p=0.200)"
    )


def test_batches_bound_memory() -> None:
    assert _batch(1000) == 2000
    assert _batch(10**6) == 2
    assert _batch(3 * 10**6) == 1
    assert _batch(0) == 2_000_000


def test_fixed_and_broken_examples_carry_both_answers() -> None:
    base, tuned = _correct(3, 2, 4, 1)
    p = _classify(base, tuned)
    fixed, broken = cmp.diffs(p)
    assert [d.index for d in fixed] == [0, 1, 2] and [d.index for d in broken] == [3, 4]
    first = fixed[0]
    assert (first.prompt, first.reference) == ("q0", "b")
    assert (first.baseline_answer, first.tuned_answer) == ("a", "b")
    assert (first.baseline_score, first.tuned_score) == (0.0, 1.0)
    assert (broken[0].baseline_score, broken[0].tuned_score) == (1.0, 0.0)
    assert (broken[0].baseline_answer, broken[0].tuned_answer) == ("a", "b")
    fixed, broken = cmp.diffs(p, limit=1)
    assert len(fixed) == 1 and len(broken) == 1
    fixed, broken = cmp.diffs(p, limit=None)
    assert len(fixed) == 3


def test_diffs_without_correctness_rank_by_score() -> None:
    refs = ["the cat sat on the mat", "a dog barked loudly", "it rained all day"]
    base = ["the cat sat on the mat", "dog", "it rained all day long"]
    tuned = ["cat", "a dog barked loudly", "it rained all day long"]
    p = _translation(refs, base, tuned)
    base_q, tuned_q = cmp.per_example_quality(p)
    chrf = CHRF()
    assert base_q == pytest.approx([chrf.sentence_score(h, [r]).score for h, r in zip(base, refs, strict=True)])
    assert tuned_q == pytest.approx([chrf.sentence_score(h, [r]).score for h, r in zip(tuned, refs, strict=True)])
    fixed, broken = cmp.diffs(p)
    assert [d.index for d in fixed] == [1] and [d.index for d in broken] == [0]
    assert fixed[0].baseline_score == pytest.approx(base_q[1]) and fixed[0].tuned_score == pytest.approx(tuned_q[1])
    examples = [Example(i, [{"role": "user", "content": "x"}], r) for i, r in enumerate(["a b", "c d"])]
    summary = cmp.Paired(
        "summarize",
        examples,
        ["a b", "x"],
        ["a", "c d"],
        m.score("summarize", ["a b", "c d"], ["a b", "x"]),
        m.score("summarize", ["a b", "c d"], ["a", "c d"]),
    )
    base_q, tuned_q = cmp.per_example_quality(summary)
    primary = m.PRIMARY_METRIC["summarize"]
    assert base_q == list(summary.baseline.per_example[primary])
    assert tuned_q == list(summary.tuned.per_example[primary])


def test_prompt_text_is_the_last_user_message() -> None:
    def ex(messages: list[dict[str, object]]) -> Example:
        return Example(0, messages, "r")

    assert (
        cmp.prompt_text(
            ex(
                [
                    {"role": "user", "content": "first"},
                    {"role": "assistant", "content": "a"},
                    {"role": "user", "content": "last"},
                ]
            )
        )
        == "last"
    )
    assert cmp.prompt_text(ex([{"role": "user", "content": [{"type": "text", "text": "hi"}]}])) == (
        "[{'type': 'text', 'text': 'hi'}]"
    )
    assert cmp.prompt_text(ex([{"role": "system", "content": "s"}])) == ""


def test_sentences_translated_alike_still_count_in_the_corpus_score() -> None:
    refs = ["the cat sat on the mat", "a dog barked loudly", "it rained all day", "we ate fresh bread"]
    refs += ["the sun rose over the quiet hills this morning", "she reads a long novel every single week"]
    base = ["cat mat", "dog", "it rained all day", "bread", refs[4], refs[5]]
    tuned = ["the cat sat on a mat", "a dog barked", "rain", "we ate bread", refs[4], refs[5]]
    comparisons, _ = cmp.compare(_translation(refs, base, tuned), resamples=2000)
    bleu = next(c for c in comparisons if c.metric == "bleu")
    assert bleu.differing == 4
    assert bleu.p_value == pytest.approx(_enumerated_corpus_p(BLEU(tokenize="13a"), refs, base, tuned), abs=1e-9)
    assert bleu.p_value == pytest.approx(0.625)


def test_the_seed_alone_decides_the_random_arrangements() -> None:
    rng = np.random.default_rng(8)
    metric = mean_metric(rng.normal(size=60), rng.normal(0.2, 1, size=60))
    for seed in (1, 2, 3):
        runs = {permutation_p(metric, resamples=200, seed=seed) for _ in range(3)}
        assert len(runs) == 1


def _macro_f1(refs: list[str], answers: list[str], labels: list[str]) -> float:
    """Macro-F1 in points written out per class, the textbook way."""
    total = 0.0
    for c in labels:
        tp = sum(1 for r, a in zip(refs, answers, strict=True) if r == c and a == c)
        predicted = sum(1 for a in answers if a == c)
        support = sum(1 for r in refs if r == c)
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        total += 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return 100 * total / len(labels)


def test_macro_f1_of_every_resample_matches_a_direct_computation() -> None:
    rng = np.random.default_rng(12)
    labels = ["a", "b", "c"]
    refs = list(rng.choice(["a", "b", "c", "d"], size=30))  # "d" is not a label: it counts for no class
    base = list(rng.choice(["a", "b", "c", "zzz"], size=30))  # "zzz" matches no label
    tuned = list(rng.choice(["a", "b", "c"], size=30))
    metric = cmp.macro_f1_metric(refs, base, tuned, labels)
    lines = rng.integers(0, 60, size=(25, 30))
    values = metric.rows(lines)
    answers = base + tuned
    for line, value in zip(lines, values, strict=True):
        picked_refs = [refs[i % 30] for i in line]
        picked = [answers[i] for i in line]
        assert value == pytest.approx(_macro_f1(picked_refs, picked, labels))
    assert list(metric.rows(np.zeros((1, 0), dtype=int))) == [0.0]


@pytest.mark.parametrize(
    "line",
    [
        [0, 1],  # baseline only: classes b and c neither present nor predicted (0/0 precision and recall)
        [4, 5, 6, 7],  # tuned: c present but never predicted, b predicted once wrongly
        [1, 2, 3],  # baseline answers that match no label: nothing predicted for any class
        [6, 6, 7, 7],  # b predicted, no b in the references: precision 0/2, recall 0/0
    ],
)
def test_macro_f1_counts_classes_without_support_or_predictions_as_zero(line: list[int]) -> None:
    labels = ["a", "b", "c"]
    refs = ["a", "a", "b", "c"]
    base = ["a", "zzz", "zzz", "zzz"]
    tuned = ["a", "a", "b", "b"]
    metric = cmp.macro_f1_metric(refs, base, tuned, labels)
    answers = base + tuned
    (value,) = metric.rows(np.array([line]))
    expected = _macro_f1([refs[i % 4] for i in line], [answers[i] for i in line], labels)
    assert value == pytest.approx(expected)


def test_labels_default_to_the_references_and_rates_are_in_points() -> None:
    base, tuned = _correct(10, 2, 8, 4)
    p = _classify(base, tuned)
    p.labels = ()
    comparisons, _ = cmp.compare(p, resamples=200)
    macro = next(c for c in comparisons if c.metric == "macro_f1")
    assert macro.tuned == pytest.approx(100 * p.tuned.corpus["macro_f1"])
    refs = ['{"a": 1}', '{"a": 2}', '{"a": 3}']
    examples = [Example(i, [{"role": "user", "content": "x"}], r) for i, r in enumerate(refs)]
    answers_b, answers_t = ['{"a": 1}', "oops", "nope"], ['{"a": 1}', '{"a": 2}', '{"a": 9}']
    extract = cmp.Paired(
        "extract",
        examples,
        answers_b,
        answers_t,
        m.score("extract", refs, answers_b),
        m.score("extract", refs, answers_t),
    )
    comparisons, _ = cmp.compare(extract, resamples=200)
    valid = next(c for c in comparisons if c.metric == "json_valid")
    assert (valid.baseline, valid.tuned) == (pytest.approx(100 / 3), pytest.approx(100.0))


def test_chinese_bleu_uses_the_chinese_tokenizer() -> None:
    refs = ["今天天气很好", "我们明天去公园", "他喜欢读书", "这本书很有意思"]
    base = ["今天天气好", "明天去公园", "他读书", "书很有意思"]
    tuned = ["今天天气很好", "我们明天去公园", "他喜欢读书", "这本书有意思"]
    examples = [Example(i, [{"role": "user", "content": "x"}], r) for i, r in enumerate(refs)]
    p = cmp.Paired(
        "translate",
        examples,
        base,
        tuned,
        m.score("translate", refs, base, target_language="zh"),
        m.score("translate", refs, tuned, target_language="zh"),
        target_language="zh",
    )
    comparisons, _ = cmp.compare(p, resamples=100)
    bleu = next(c for c in comparisons if c.metric == "bleu")
    assert bleu.tuned == pytest.approx(BLEU(tokenize="zh").corpus_score(tuned, [refs]).score)
    assert bleu.baseline == pytest.approx(BLEU(tokenize="zh").corpus_score(base, [refs]).score)


def test_broken_examples_carry_their_scores_and_an_empty_comparison_has_no_verdict() -> None:
    refs = ["the cat sat on the mat", "a dog barked loudly", "it rained all day"]
    base = ["the cat sat on the mat", "dog", "it rained all day long"]
    tuned = ["cat", "a dog barked loudly", "it rained all day long"]
    p = _translation(refs, base, tuned)
    base_q, tuned_q = cmp.per_example_quality(p)
    _, broken = cmp.diffs(p)
    assert (broken[0].baseline_score, broken[0].tuned_score) == (pytest.approx(base_q[0]), pytest.approx(tuned_q[0]))
    assert cmp.overall_verdict([], "t", "b") == ""


def test_two_differing_examples_have_their_exact_p() -> None:
    assert permutation_p(mean_metric([0.0, 0.0], [1.0, 1.0]), resamples=100, seed=1) == (0.5, True)
    assert permutation_p(mean_metric([0.0, 0.0], [1.0, -1.0]), resamples=100, seed=1) == (1.0, True)


def test_the_resample_count_is_used() -> None:
    rng = np.random.default_rng(6)
    metric = mean_metric(rng.normal(size=50), rng.normal(size=50))
    assert bootstrap_ci(metric, resamples=50, seed=1) != bootstrap_ci(metric, resamples=60, seed=1)


def test_comparison_records_are_complete_and_repeatable() -> None:
    base, tuned = _correct(12, 2, 10, 6)
    p = _classify(base, tuned)
    comparisons, mcnemar = cmp.compare(p, resamples=300, seed=9)
    assert mcnemar == {
        "fixed": 12,
        "broken": 2,
        "p_value": pytest.approx(binomtest(12, 14).pvalue),
        "test": "McNemar exact (two-sided binomial on discordant pairs)",
    }
    assert [(c.label, c.unit) for c in comparisons] == [("Accuracy", "points"), ("Macro-F1", "points")]
    assert comparisons[0].differing == 14
    again, _ = cmp.compare(p, resamples=300, seed=9)
    assert again == comparisons


def test_diffs_without_correctness_list_moves_of_ten_points_or_more_largest_first() -> None:
    base = [80.0, 0.0, 10.0, 30.0, 60.0, 95.0]
    tuned = [90.0, 9.99, 40.0, 20.0, 50.01, 65.0]  # +10, +9.99, +30, -10, -9.99, -30
    examples = [Example(i, [{"role": "user", "content": f"q{i}"}], f"r{i}") for i in range(6)]
    p = cmp.Paired(
        "summarize",
        examples,
        [f"b{i}" for i in range(6)],
        [f"t{i}" for i in range(6)],
        m.TaskScores("summarize", {}, {"rougeL": base}),
        m.TaskScores("summarize", {}, {"rougeL": tuned}),
    )
    fixed, broken = cmp.diffs(p)
    assert [d.index for d in fixed] == [2, 0] and [d.index for d in broken] == [5, 3]
    assert [(d.baseline_score, d.tuned_score) for d in fixed] == [(10.0, 40.0), (80.0, 90.0)]
    assert [(d.baseline_answer, d.tuned_answer, d.prompt) for d in broken] == [("b5", "t5", "q5"), ("b3", "t3", "q3")]
    fixed, broken = cmp.diffs(p, limit=1)
    assert [d.index for d in fixed] == [2] and [d.index for d in broken] == [5]


def test_rouge_is_compared_in_its_own_points_and_listed_by_rouge_l() -> None:
    """ROUGE is stored in points already (no x100), and summaries are ranked by ROUGE-L, the primary metric,
    even when another ROUGE comes first in the per-example scores."""
    base = {"rouge1": [90.0, 10.0, 50.0], "rougeL": [20.0, 60.0, 50.0]}
    tuned = {"rouge1": [10.0, 90.0, 50.0], "rougeL": [70.0, 20.0, 50.0]}
    examples = [Example(i, [{"role": "user", "content": f"q{i}"}], f"r{i}") for i in range(3)]
    p = cmp.Paired(
        "summarize",
        examples,
        ["b0", "b1", "b2"],
        ["t0", "t1", "t2"],
        m.TaskScores("summarize", {}, base),
        m.TaskScores("summarize", {}, tuned),
    )
    comparisons, mcnemar = cmp.compare(p, resamples=200)
    by_name = {c.metric: c for c in comparisons}
    assert mcnemar == {} and comparisons[0].metric == "rougeL"
    assert (by_name["rougeL"].baseline, by_name["rougeL"].tuned) == (pytest.approx(130 / 3), pytest.approx(140 / 3))
    assert by_name["rouge1"].difference == pytest.approx(0.0)
    fixed, broken = cmp.diffs(p)
    assert [d.index for d in fixed] == [0] and [d.index for d in broken] == [1]


def test_bleu_tokenizes_for_the_stated_language_and_else_for_the_references_script() -> None:
    refs = ["今天天气很好", "我们明天去公园", "他喜欢读书", "这本书很有意思"]
    base = ["今天天气好", "明天去公园", "他读书", "书很有意思"]
    tuned = ["今天天气很好", "我们明天去公园", "他喜欢读书", "这本书有意思"]
    examples = [Example(i, [{"role": "user", "content": "x"}], r) for i, r in enumerate(refs)]
    for language, tokenize in (("en", "13a"), (None, "zh")):
        p = cmp.Paired(
            "translate",
            examples,
            base,
            tuned,
            m.score("translate", refs, base, target_language=language),
            m.score("translate", refs, tuned, target_language=language),
            target_language=language,
        )
        comparisons, _ = cmp.compare(p, resamples=50)
        bleu = next(c for c in comparisons if c.metric == "bleu")
        assert bleu.baseline == pytest.approx(BLEU(tokenize=tokenize).corpus_score(base, [refs]).score)


def test_macro_f1_without_labels_is_zero_and_the_default_seed_is_12345() -> None:
    empty = cmp.macro_f1_metric([], [], [], [])
    assert empty.rows(np.zeros((3, 0), dtype=int)).tolist() == [0.0, 0.0, 0.0]
    p = _classify(*_correct(9, 3, 10, 8))
    assert cmp.compare(p, resamples=300) == cmp.compare(p, resamples=300, seed=12345)
    assert cmp.compare(p, resamples=300) != cmp.compare(p, resamples=300, seed=12346)


def test_an_extraction_model_that_fixes_every_field_is_judged_on_its_fields() -> None:
    """Extraction's verdict rests on field accuracy (per example, so the paired tests can judge it): a tuned
    model getting every field right where the base wrote valid but wrong JSON is better, not "no clear
    difference" on JSON validity, which both models have."""
    refs = [json.dumps({"id": i, "city": f"c{i}", "ok": True}) for i in range(12)]
    base = [json.dumps({"id": i, "city": "?", "ok": False}) for i in range(12)]
    examples = [Example(i, [{"role": "user", "content": f"q{i}"}], r) for i, r in enumerate(refs)]
    paired = cmp.Paired("extract", examples, base, refs, m.score("extract", refs, base), m.score("extract", refs, refs))
    comparisons, _ = cmp.compare(paired, resamples=500)
    first = comparisons[0]
    assert first.metric == "field_accuracy" and first.verdict == cmp.BETTER
    assert first.difference == pytest.approx(200 / 3) and first.p_value < 0.05
    assert first.test.startswith("paired permutation test")  # a share per example, not a 0/1 correctness
    whole = next(c for c in comparisons if c.metric == "exact_match")
    assert whole.test.startswith("McNemar") and whole.differing == 12  # every record fixed: McNemar's counts
    assert cmp.overall_verdict(comparisons, "tuned", "base").startswith("The tuned model tuned is better than base")
    valid = next(c for c in comparisons if c.metric == "json_valid")
    assert valid.difference == 0 and valid.verdict != cmp.BETTER
