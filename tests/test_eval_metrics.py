"""Task metrics agree with the libraries called directly, and with hand-computed classification values."""

from __future__ import annotations

import json

import pytest
import sacrebleu
from rouge_score import rouge_scorer

from ftclient.evaluate import metrics as m

EN_REFS = [
    "The company reported record profits in the third quarter.",
    "Heavy rain caused flooding across the northern region.",
    "The new library opens to the public next Monday.",
    "Scientists discovered a new species of frog in the rainforest.",
]
EN_HYPS = [
    "The company posted record profits this quarter.",
    "Flooding hit the northern region after heavy rains.",
    "A new library will open next week.",
    "A new frog species was found by scientists.",
]
ZH_REFS = [
    "今天天气很好，我们去公园散步。",
    "公司第三季度利润创新高。",
    "新图书馆下周一对公众开放。",
    "科学家在雨林中发现了一种新青蛙。",
]
ZH_HYPS = [
    "今天天气不错，我们去公园走走。",
    "公司本季度利润创纪录。",
    "新的图书馆下周开放。",
    "科学家发现了新的青蛙物种。",
]


def test_classification_values_by_hand() -> None:
    refs = ["billing", "bug", "billing", "other", "bug", "billing"]
    answers = ["billing", "Bug.", "bug", "other", "refund please", "BILLING"]
    scores = m.score("classify", refs, answers, labels=["billing", "bug", "other"])
    # mapped: billing, bug, bug, other, (outside), billing -> 4 of 6 right
    assert scores.corpus["accuracy"] == pytest.approx(4 / 6)
    assert scores.corpus["outside_label_rate"] == pytest.approx(1 / 6)
    billing, bug, other = (scores.per_class[k] for k in ("billing", "bug", "other"))
    assert (billing["precision"], billing["recall"]) == (1.0, pytest.approx(2 / 3))
    assert (bug["precision"], bug["recall"]) == (0.5, 0.5)
    assert other["f1"] == 1.0
    f1_billing = 2 * 1.0 * (2 / 3) / (1 + 2 / 3)
    assert scores.corpus["macro_f1"] == pytest.approx((f1_billing + 0.5 + 1.0) / 3)
    assert scores.confusion == {
        "labels": ["billing", "bug", "other"],
        "columns": ["billing", "bug", "other", m.OUTSIDE_LABEL],
        "matrix": [[2, 1, 0, 0], [0, 1, 0, 1], [0, 0, 1, 0]],
    }
    assert scores.correct == [True, True, False, True, False, True]


def test_rouge_english_equals_rouge_score_directly() -> None:
    ours = m.score("summarize", EN_REFS, EN_HYPS)
    direct = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    for name in ("rouge1", "rouge2", "rougeL"):
        expected = [100 * direct.score(r, h)[name].fmeasure for r, h in zip(EN_REFS, EN_HYPS, strict=True)]
        assert ours.per_example[name] == pytest.approx(expected)
        assert ours.corpus[name] == pytest.approx(sum(expected) / len(expected))
    assert 0 < ours.corpus["rouge1"] < 100


class _Chars:
    """A character tokenizer written independently of ftclient's, for the cross-check."""

    def tokenize(self, text: str) -> list[str]:
        return [c for c in text if not c.isspace() and c not in "，。、！？"]


def test_rouge_chinese_equals_rouge_score_with_a_character_tokenizer() -> None:
    ours = m.score("summarize", ZH_REFS, ZH_HYPS)
    direct = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], tokenizer=_Chars())
    for name in ("rouge1", "rouge2", "rougeL"):
        expected = [100 * direct.score(r, h)[name].fmeasure for r, h in zip(ZH_REFS, ZH_HYPS, strict=True)]
        assert ours.per_example[name] == pytest.approx(expected)
    assert ours.corpus["rouge1"] > 30
    # why the tokenizer matters: rouge-score's default tokenizer drops every Chinese character
    default = rouge_scorer.RougeScorer(["rouge1"])
    assert default.score(ZH_REFS[0], ZH_REFS[0])["rouge1"].fmeasure == 0.0
    assert "character" in ours.signature["rouge"]


def test_rouge_on_a_mixed_corpus_scores_each_example_in_its_own_script() -> None:
    refs, hyps = [*EN_REFS, *ZH_REFS], [*EN_HYPS, *ZH_HYPS]
    ours = m.score("summarize", refs, hyps)
    english = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    chinese = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], tokenizer=_Chars())
    for name in ("rouge1", "rouge2", "rougeL"):
        expected = [100 * english.score(r, h)[name].fmeasure for r, h in zip(EN_REFS, EN_HYPS, strict=True)]
        expected += [100 * chinese.score(r, h)[name].fmeasure for r, h in zip(ZH_REFS, ZH_HYPS, strict=True)]
        assert ours.per_example[name] == pytest.approx(expected)
    assert "per example" in ours.signature["rouge"]


def test_bleu_and_chrf_english_equal_sacrebleu_directly() -> None:
    ours = m.score("translate", EN_REFS, EN_HYPS, target_language="en")
    assert ours.corpus["bleu"] == pytest.approx(sacrebleu.corpus_bleu(EN_HYPS, [EN_REFS]).score)
    assert ours.corpus["chrf"] == pytest.approx(sacrebleu.corpus_chrf(EN_HYPS, [EN_REFS]).score)
    assert "tok:13a" in ours.signature["bleu"]


def test_bleu_and_chrf_chinese_use_the_zh_tokenizer() -> None:
    ours = m.score("translate", ZH_REFS, ZH_HYPS, target_language="zh")
    expected = sacrebleu.corpus_bleu(ZH_HYPS, [ZH_REFS], tokenize="zh").score
    assert ours.corpus["bleu"] == pytest.approx(expected)
    assert ours.corpus["bleu"] != pytest.approx(sacrebleu.corpus_bleu(ZH_HYPS, [ZH_REFS], tokenize="13a").score)
    assert ours.corpus["chrf"] == pytest.approx(sacrebleu.corpus_chrf(ZH_HYPS, [ZH_REFS]).score)
    assert "tok:zh" in ours.signature["bleu"]
    # the language is detected from the references when the manifest does not say
    assert m.score("translate", ZH_REFS, ZH_HYPS).corpus["bleu"] == pytest.approx(expected)


def test_japanese_tokenizer_is_mecab_or_character() -> None:
    tok = m.bleu_tokenizer_for("ja", ["今日は天気がいいです"])
    assert tok in {"ja-mecab", "char"}
    assert tok == ("ja-mecab" if m._mecab_available() else "char")


def test_sentence_statistics_reproduce_corpus_scores() -> None:
    for name, metric in m.text_metrics("zh").items():
        rows = m.sentence_stats(metric, ZH_REFS, ZH_HYPS)
        assert m.corpus_from_stats(metric, rows) == pytest.approx(metric.corpus_score(ZH_HYPS, [ZH_REFS]).score), name


def test_extraction_validity_and_field_match() -> None:
    refs = [json.dumps({"name": "Ann", "city": "Oslo"}), json.dumps({"name": "Bo", "age": 3})]
    answers = ['```json\n{"name": "Ann", "city": "Bergen"}\n```', "not json"]
    scores = m.score("extract", refs, answers)
    assert scores.corpus["json_valid"] == 0.5
    assert scores.corpus["field_exact_match"] == pytest.approx(1 / 4)
    assert scores.per_example["field_accuracy"] == [0.5, 0.0]
    assert scores.correct == [False, False]
    perfect = m.score("extract", refs, refs)
    assert perfect.corpus == {"field_accuracy": 1.0, "json_valid": 1.0, "field_exact_match": 1.0, "exact_match": 1.0}
    assert scores.corpus["field_accuracy"] == pytest.approx(0.25) and scores.per_example["exact_match"] == [0.0, 0.0]



def test_chat_exact_and_normalized_match() -> None:
    scores = m.score("chat", ["Paris.", "42", "Café au lait"], ["paris", "42", "café  au lait!"])
    assert scores.corpus["exact_match"] == pytest.approx(1 / 3)
    assert scores.corpus["normalized_match"] == 1.0


def test_unknown_task_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown task"):
        m.score("poetry", ["a"], ["b"])


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("Chinese", "zh"),
        ("zh-CN", "zh"),
        ("zh_Hans", "zh"),
        ("中文", "zh"),
        ("Chinese (simplified)", "zh"),
        ("English", "13a"),
        ("en", "13a"),
        ("Korean", "char"),
        (None, "zh"),
    ],
)
def test_target_language_names_and_codes_pick_the_tokenizer(language: str | None, expected: str) -> None:
    assert m.bleu_tokenizer_for(language, ZH_REFS) == expected
