"""McNemar's exact test, the paired bootstrap and the verdict sentences."""

from __future__ import annotations

import math

import pytest

from ftclient.evaluate import compare as cmp
from ftclient.evaluate import metrics as m
from ftclient.evaluate.significance import mcnemar_exact, mean_stat, paired_bootstrap, verdict_sentence
from ftclient.evaluate.types import Example


def _binom_two_sided(k: int, n: int) -> float:
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n)


def test_mcnemar_counts_only_discordant_pairs() -> None:
    base = [False] * 8 + [True] * 2 + [True] * 30 + [False] * 10
    tuned = [True] * 8 + [False] * 2 + [True] * 30 + [False] * 10
    result = mcnemar_exact(base, tuned)
    assert (result.fixed, result.broken) == (8, 2)
    assert result.p_value == pytest.approx(2 * (1 + 10 + 45) / 1024)
    assert result.p_value == pytest.approx(_binom_two_sided(2, 10))
    assert mcnemar_exact([True, False], [True, False]).p_value == 1.0
    assert mcnemar_exact([False] * 10, [True] * 10).p_value == pytest.approx(2 / 1024)


def test_paired_bootstrap_is_seeded_and_brackets_the_difference() -> None:
    base = [0.0, 1.0] * 50
    tuned = [1.0] * 80 + [0.0] * 20
    stat = mean_stat(base, tuned, 100.0)
    a = paired_bootstrap(100, stat, resamples=500, seed=7)
    b = paired_bootstrap(100, stat, resamples=500, seed=7)
    assert a == b
    assert a.difference == pytest.approx(30.0)
    assert a.ci_low < 30.0 < a.ci_high
    assert a.ci_low > 0
    assert a.p_value <= 1 / 500 * 2


def test_identical_models_are_not_called_different() -> None:
    values = [1.0, 0.0, 1.0, 1.0]
    result = paired_bootstrap(4, mean_stat(values, values), resamples=200)
    assert result.difference == 0.0 and result.ci_low == 0.0 and result.ci_high == 0.0
    assert "no clear difference" in verdict_sentence("Accuracy", 0.0, 0.0, 0.0)


def test_verdict_sentences() -> None:
    assert verdict_sentence("Accuracy", 12.4, 8.1, 16.9) == "Accuracy: better by 12.4 points, 95% CI 8.1–16.9"
    assert verdict_sentence("chrF", -3.0, -5.5, -0.5, p_value=0.01).startswith("chrF: worse by 3.0 points")
    assert "no clear difference (+1.0 points, 95% CI -2.0 to +4.0, p=0.400)" in verdict_sentence(
        "BLEU", 1.0, -2.0, 4.0, p_value=0.4
    )


def test_compare_classification_uses_mcnemar_and_lists_fixed_and_broken() -> None:
    labels = ["a", "b"]
    refs = ["a", "b"] * 20
    base = ["b", "b"] * 20  # right on every "b" only
    tuned = list(refs)
    tuned[1] = "a"  # one broken
    examples = [Example(i, [{"role": "user", "content": f"q{i}"}], r) for i, r in enumerate(refs)]
    p = cmp.Paired(
        "classify",
        examples,
        base,
        tuned,
        m.score("classify", refs, base, labels=labels),
        m.score("classify", refs, tuned, labels=labels),
        labels,
    )
    comparisons, mcnemar = cmp.compare(p, resamples=300)
    assert comparisons[0].metric == "accuracy"
    assert (mcnemar["fixed"], mcnemar["broken"]) == (20, 1)
    assert comparisons[0].p_value == pytest.approx(
        mcnemar_exact(
            [x == y for x, y in zip(refs, base, strict=True)], [x == y for x, y in zip(refs, tuned, strict=True)]
        ).p_value
    )
    assert comparisons[0].difference == pytest.approx(47.5)
    assert comparisons[0].significant
    assert {c.metric for c in comparisons} == {"accuracy", "macro_f1"}
    macro = comparisons[1]
    assert macro.tuned == pytest.approx(100 * p.tuned.corpus["macro_f1"])
    assert macro.baseline == pytest.approx(100 * p.baseline.corpus["macro_f1"])
    fixed, broken = cmp.diffs(p)
    assert len(fixed) == 20 and [d.index for d in broken] == [1]
    assert broken[0].prompt == "q1" and broken[0].tuned_answer == "a"
    verdict = cmp.overall_verdict(comparisons, "ft:x", "base-x")
    assert verdict.startswith("The tuned model ft:x is better than base-x. Accuracy: better by 47.5 points, 95% CI")


def test_compare_translation_bootstraps_corpus_scores() -> None:
    refs = ["the cat sat on the mat", "a dog barked loudly", "it rained all day", "we ate fresh bread"] * 5
    base = ["cat mat", "dog", "rain", "bread"] * 5
    tuned = ["the cat sat on a mat", "a dog barked", "it rained all day", "we ate bread"] * 5
    examples = [Example(i, [{"role": "user", "content": "x"}], r) for i, r in enumerate(refs)]
    p = cmp.Paired(
        "translate",
        examples,
        base,
        tuned,
        m.score("translate", refs, base, target_language="en"),
        m.score("translate", refs, tuned, target_language="en"),
        target_language="en",
    )
    comparisons, mcnemar = cmp.compare(p, resamples=200)
    assert mcnemar == {}
    by_name = {c.metric: c for c in comparisons}
    assert comparisons[0].metric == "chrf"
    assert by_name["bleu"].tuned == pytest.approx(p.tuned.corpus["bleu"])
    assert by_name["chrf"].baseline == pytest.approx(p.baseline.corpus["chrf"])
    assert by_name["chrf"].ci_low > 0
    fixed, broken = cmp.diffs(p)
    assert fixed and not broken
