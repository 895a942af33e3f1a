"""The non-inferiority verdict checked against references computed here: numpy's own bootstrap and
percentiles, scipy's binomial test, sacrebleu and rouge-score called directly, and hand-worked cases."""

from __future__ import annotations

import numpy as np
import pytest

from ftclient.evaluate.significance import mean_metric
from ftclient.migration.noninferiority import _bootstrap_differences, agreement, default_margin, judge_replacement

REFS = ["a", "b"] * 100


def _flip(refs: list[str], at: set[int]) -> list[str]:
    return [("b" if r == "a" else "a") if i in at else r for i, r in enumerate(refs)]


def _reference_bootstrap(
    old: list[float], new: list[float], resamples: int, seed: int, scale: float = 100.0
) -> np.ndarray:
    """``new - old`` in points over resamples drawn with numpy directly, one draw for all of them."""
    o, w = np.asarray(old), np.asarray(new)
    idx = np.random.default_rng(seed).integers(0, len(o), size=(resamples, len(o)), dtype=np.int64)
    return np.asarray(scale * w[idx].mean(axis=1) - scale * o[idx].mean(axis=1))


def test_default_margins_per_task() -> None:
    tasks = ("classify", "summarize", "translate", "extract", "chat")
    assert [default_margin(t) for t in tasks] == [2.0, 2.0, 2.0, 3.0, 3.0]


def test_interval_p_value_and_mcnemar_match_numpy_and_scipy() -> None:
    from scipy.stats import binomtest

    old_answers = _flip(REFS, {3, 50})  # the old model is wrong on 2, the new one on 5 (2 shared)
    new_answers = _flip(REFS, {3, 50, 11, 12, 13})
    old_ok = [float(a == r) for a, r in zip(old_answers, REFS, strict=True)]
    new_ok = [float(a == r) for a, r in zip(new_answers, REFS, strict=True)]
    diffs = _reference_bootstrap(old_ok, new_ok, 400, 7)
    margin = -float(diffs[np.argmin(abs(diffs + 1.0))])  # one point, as the resamples compute it
    got = judge_replacement("classify", REFS, old_answers, new_answers, margin=margin, resamples=400, seed=7)
    low, high = np.percentile(diffs, [5, 95])
    assert got.old == pytest.approx(99.0) and got.new == pytest.approx(97.5)
    assert got.difference == pytest.approx(-1.5)
    assert got.ci_low == pytest.approx(low) and got.ci_high == pytest.approx(high)
    # differences exactly at -margin count towards p
    assert np.mean(diffs < -margin) < np.mean(diffs <= -margin) == pytest.approx(got.p_value)
    assert got.confidence == pytest.approx(0.9)
    assert got.margin == margin and got.examples == 200 and got.metric == "accuracy"
    assert got.reference == "ground truth"
    assert got.mcnemar_p == pytest.approx(binomtest(0, 3, 0.5).pvalue)  # 0 fixed, 3 broken
    assert got.test == "paired bootstrap (400 resamples), one-sided at 0.05; McNemar exact on discordant pairs"
    assert got.verdict == ("non-inferior" if low > -margin else "inferior" if high < -margin else "inconclusive")
    assert got.to_dict()["ci_low"] == got.ci_low and got.to_dict()["verdict"] == got.verdict


def test_the_sentence_and_the_floor_of_the_p_value_for_identical_models() -> None:
    got = judge_replacement("classify", REFS, REFS, REFS, resamples=250, reference_kind="old model's answers")
    # no resample loses anything, so p is the smallest a 250-resample bootstrap can state
    assert got.p_value == pytest.approx(1 / 250)
    assert got.sentence == (
        "non-inferior: accuracy 100.0 vs 100.0 (old model's answers), difference +0.0 points, "
        "90% CI +0.0 to +0.0, margin 2 points, one-sided p=0.004"
    )
    assert got.reference == "old model's answers"


def test_a_margin_of_zero_leaves_identical_models_inconclusive() -> None:
    """The CI [0, 0] neither lies above -0 nor below it: the boundaries are strict on both sides."""
    got = judge_replacement("classify", REFS, REFS, REFS, margin=0, resamples=50)
    assert got.margin == 0.0 and got.verdict == "inconclusive"


def test_ten_examples_are_enough_nine_are_not() -> None:
    from ftclient.evaluate.significance import DEFAULT_RESAMPLES

    refs = ["a", "b"] * 5
    full = judge_replacement("classify", refs, refs, refs)
    assert f"({DEFAULT_RESAMPLES} resamples)" in full.test and full.p_value == pytest.approx(1 / DEFAULT_RESAMPLES)
    assert judge_replacement("classify", refs, refs, refs, resamples=20).verdict == "non-inferior"
    assert judge_replacement("classify", refs[:9], refs[:9], refs[:9], resamples=20).verdict == "too few examples"


def test_without_resamples_the_interval_is_the_observed_difference() -> None:
    new_answers = _flip(REFS, {1, 2, 3, 4})
    got = judge_replacement("classify", REFS, REFS, new_answers, resamples=0)
    assert got.ci_low == got.ci_high == got.difference == pytest.approx(-2.0)
    assert got.p_value == 1.0 and got.test.startswith("paired bootstrap (0 resamples)")
    assert got.verdict == "inconclusive"
    one = judge_replacement("classify", REFS, REFS, new_answers, resamples=1)
    assert one.test.startswith("paired bootstrap (1 resamples)")


def test_the_bootstrap_in_chunks_equals_one_draw() -> None:
    n = 40_000  # 2,000,000 // n = 50 resamples per chunk: 50 + 50 + 20
    rng = np.random.default_rng(1)
    old = (rng.random(n) < 0.5).astype(float)
    new = (rng.random(n) < 0.5).astype(float)
    got = _bootstrap_differences(mean_metric(old, new, 100.0), 120, 3)
    assert got.shape == (120,)
    np.testing.assert_allclose(got, _reference_bootstrap(list(old), list(new), 120, 3))
    assert _bootstrap_differences(mean_metric([], []), 10, 3).shape == (0,)


def test_given_labels_decide_what_counts_as_correct() -> None:
    refs = ["a", "b"] * 5
    answers = [r.upper() for r in refs]  # right, once mapped to the references' labels
    assert judge_replacement("classify", refs, refs, answers, resamples=10).new == pytest.approx(100.0)
    # labels that leave out "a": an "A" no longer maps to a reference label
    only_b = judge_replacement("classify", refs, refs, answers, labels=["b"], resamples=10)
    assert only_b.new == pytest.approx(50.0)
    assert judge_replacement("classify", refs, answers, refs, labels=["b"], resamples=10).old == pytest.approx(50.0)
    assert agreement("classify", refs, answers) == pytest.approx(100.0)
    assert agreement("classify", refs, answers, labels=["b"]) == pytest.approx(50.0)


def test_summaries_are_judged_by_rouge_l_in_points_and_without_mcnemar() -> None:
    from rouge_score import rouge_scorer

    words = ["the", "cat", "number", "sat", "quietly", "on", "the", "old", "red", "mat", "today"]
    refs = [" ".join(words) + f" {i}" for i in range(12)]
    old = [" ".join(words[: 4 + i % 7]) + f" {i}" for i in range(12)]
    new = [" ".join(words[i % 5 :]) + f" {i}" for i in range(12)]
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    old_points = [100 * scorer.score(r, a)["rougeL"].fmeasure for r, a in zip(refs, old, strict=True)]
    new_points = [100 * scorer.score(r, a)["rougeL"].fmeasure for r, a in zip(refs, new, strict=True)]
    expect_old, expect_new = np.mean(old_points), np.mean(new_points)
    got = judge_replacement("summarize", refs, old, new, resamples=50)  # the default seed, 12345
    assert got.metric == "rougeL" and got.margin == 2.0
    assert got.old == pytest.approx(expect_old) and got.new == pytest.approx(expect_new)
    # per-example ROUGE-L takes many values, so the 5th and 95th percentiles pin the interval's level
    diffs = _reference_bootstrap(old_points, new_points, 50, 12345, scale=1.0)
    assert [got.ci_low, got.ci_high] == pytest.approx(list(np.percentile(diffs, [5, 95])))
    assert [got.ci_low, got.ci_high] != pytest.approx(list(np.percentile(diffs, [5.05, 94.95])), abs=1e-3)
    assert got.mcnemar_p is None and got.test == "paired bootstrap (50 resamples), one-sided at 0.05"
    assert got.sentence.startswith(f"{got.verdict}: rougeL {expect_new:.1f} vs {expect_old:.1f} (ground truth)")


def test_translations_are_judged_by_corpus_chrf() -> None:
    from sacrebleu.metrics.chrf import CHRF

    refs = [f"the weather is fine on day {i}" for i in range(10)]
    old = [f"the weather is good on day {i}" for i in range(10)]
    new = [f"weather fine day {i}" for i in range(10)]
    got = judge_replacement("translate", refs, old, new, target_language="English", resamples=30)
    assert got.metric == "chrf" and got.margin == 2.0 and got.mcnemar_p is None
    assert got.old == pytest.approx(CHRF().corpus_score(old, [refs]).score)
    assert got.new == pytest.approx(CHRF().corpus_score(new, [refs]).score)
    assert got.ci_high < -2.0 and got.verdict == "inferior"  # every resample loses far more than the margin
    assert agreement("translate", old, old) == pytest.approx(100.0)
    assert agreement("translate", old, new) == pytest.approx(CHRF().corpus_score(new, [old]).score)


def test_extraction_is_judged_by_field_accuracy_in_points() -> None:
    refs = ['{"name": "Ann", "age": 30}'] * 10
    old = ['{"name": "Ann", "age": 31}'] * 10  # one field of two right: 50 points
    new = ['{"name": "Ann", "age": 30}'] * 5 + ['{"name": "Bob"}'] * 5  # 100 and 0: 50 points
    got = judge_replacement("extract", refs, old, new, resamples=40)
    assert got.metric == "field_accuracy" and got.margin == 3.0
    assert got.old == pytest.approx(50.0) and got.new == pytest.approx(50.0)
    assert got.mcnemar_p == pytest.approx(0.0625)  # 5 fixed whole records, none broken: 2 * 0.5**5
    assert "field accuracy 50.0 vs 50.0" in got.sentence


def test_chat_is_judged_by_normalized_match_and_agreement_is_a_share() -> None:
    refs = [f"Answer {i}." for i in range(10)]
    new = [f"answer {i}" for i in range(8)] + ["no", "idea"]
    got = judge_replacement("chat", refs, refs, new, resamples=40)
    assert got.metric == "normalized_match" and got.margin == 3.0
    assert got.old == pytest.approx(100.0) and got.new == pytest.approx(80.0)
    assert got.difference == pytest.approx(-20.0)
    assert agreement("chat", refs, new) == pytest.approx(80.0)
