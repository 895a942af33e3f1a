"""Task metrics: what "better" means for classification, summarization, translation, extraction and chat.

Every scorer returns a :class:`TaskScores`: corpus-level values (what the report shows), per-example values
(what the paired significance tests resample) and a per-example notion of "correct" where the task has one
(what McNemar's test counts). Text metrics come from the field's libraries (rouge-score, sacrebleu) with the
tokenizer stated in ``signature`` so a number can always be reproduced; classification metrics are small
enough to compute here.
"""

from __future__ import annotations

import json
import re
import string
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

TASKS = ("classify", "summarize", "translate", "extract", "chat")
OUTSIDE_LABEL = "(outside labels)"
"""Confusion-matrix column for answers that are none of the dataset's labels."""

PRIMARY_METRIC = {
    "classify": "accuracy",
    "summarize": "rougeL",
    "translate": "chrf",
    # the share of the reference fields each answer gets right, averaged over examples: per example, so the
    # paired tests can judge it (as migrate judges extraction); the micro average is reported beside it
    "extract": "field_accuracy",
    "chat": "normalized_match",
}
CORRECTNESS_METRIC = {"classify": "accuracy", "extract": "exact_match", "chat": "normalized_match"}
"""The metric whose per-example values are each task's correctness (``TaskScores.correct`` as 0/1): the one
McNemar's exact test judges."""


@dataclass
class TaskScores:
    """The scores of one model's answers on one test set."""

    task: str
    corpus: dict[str, float]
    """Headline values, in points (0-100) for text metrics and shares (0-1) for rates."""
    per_example: dict[str, list[float]] = field(default_factory=dict)
    """Per-example values of metrics that are means over examples (bootstrap resamples these)."""
    correct: list[bool] | None = None
    """Per-example correctness for tasks with an exact notion of it (McNemar counts these)."""
    per_class: dict[str, dict[str, float]] = field(default_factory=dict)
    confusion: dict[str, Any] | None = None
    """``{"labels": [...], "columns": [... + OUTSIDE_LABEL], "matrix": [[int]]}`` (rows = reference)."""
    signature: dict[str, str] = field(default_factory=dict)
    """How each metric was computed: library, version, tokenizer."""


# --------------------------------------------------------------------------------------------- normalisation

_PUNCT = set(string.punctuation) | {"。", "，", "、", "！", "？", "：", "；", "「", "」", "『", "』", "（", "）"}


def normalize_text(text: str) -> str:
    """Unicode NFKC, case-folded, punctuation dropped, whitespace collapsed: how "the same answer" is judged."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(" " if (ch in _PUNCT or unicodedata.category(ch).startswith("P")) else ch for ch in text)
    return " ".join(text.split())


def match_label(answer: str, labels: Sequence[str]) -> str:
    """Map a model's answer to one of ``labels`` (exact, then normalized), else :data:`OUTSIDE_LABEL`."""
    stripped = answer.strip()
    if stripped in labels:
        return stripped
    wanted = normalize_text(stripped)
    for label in labels:
        if normalize_text(label) == wanted:
            return label
    return OUTSIDE_LABEL


# ------------------------------------------------------------------------------------------- classification


def classification_stats(
    references: Sequence[str], predictions: Sequence[str], labels: Sequence[str]
) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class precision/recall/F1 and the confusion matrix over mapped answers.

    ``predictions`` must already be mapped (:func:`match_label`). Macro-F1 averages over ``labels`` (classes
    with no support and no predictions count as 0, like scikit-learn with ``zero_division=0``).
    """
    columns = [*labels, OUTSIDE_LABEL]
    col_index = {name: i for i, name in enumerate(columns)}
    matrix = [[0] * len(columns) for _ in labels]
    row_index = {name: i for i, name in enumerate(labels)}
    for ref, pred in zip(references, predictions, strict=True):
        if ref in row_index:
            matrix[row_index[ref]][col_index.get(pred, col_index[OUTSIDE_LABEL])] += 1
    n = len(references)
    correct = sum(1 for r, p in zip(references, predictions, strict=True) if r == p)
    per_class: dict[str, dict[str, float]] = {}
    for i, label in enumerate(labels):
        tp = matrix[i][i]
        support = sum(matrix[i])
        predicted = sum(1 for p in predictions if p == label)
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {"precision": precision, "recall": recall, "f1": f1, "support": float(support)}
    macro_f1 = sum(c["f1"] for c in per_class.values()) / len(labels) if labels else 0.0
    outside = sum(1 for p in predictions if p == OUTSIDE_LABEL)
    return {
        "accuracy": correct / n if n else 0.0,
        "macro_f1": macro_f1,
        "outside_label_rate": outside / n if n else 0.0,
        "per_class": per_class,
        "confusion": {"labels": list(labels), "columns": columns, "matrix": matrix},
    }


def score_classification(
    references: Sequence[str], answers: Sequence[str], labels: Sequence[str] | None = None
) -> TaskScores:
    label_list = list(labels) if labels else sorted(set(references))
    mapped = [match_label(a, label_list) for a in answers]
    stats = classification_stats(references, mapped, label_list)
    correct = [r == p for r, p in zip(references, mapped, strict=True)]
    return TaskScores(
        task="classify",
        corpus={k: stats[k] for k in ("accuracy", "macro_f1", "outside_label_rate")},
        per_example={"accuracy": [1.0 if c else 0.0 for c in correct]},
        correct=correct,
        per_class=stats["per_class"],
        confusion=stats["confusion"],
        signature={"matching": "exact, then NFKC + casefold + punctuation-insensitive"},
    )


def macro_f1_of(references: Sequence[str], answers: Sequence[str], labels: Sequence[str]) -> float:
    """Macro-F1 of raw answers (used by the bootstrap, which recomputes it on resampled examples)."""
    mapped = [match_label(a, labels) for a in answers]
    return float(classification_stats(references, mapped, labels)["macro_f1"])


# ---------------------------------------------------------------------------------------------- CJK helpers

_CJK_RANGES = (
    (0x3040, 0x30FF),  # hiragana, katakana
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xAC00, 0xD7AF),  # hangul syllables
    (0xF900, 0xFAFF),
    (0x20000, 0x2FA1F),
)


def is_cjk_char(ch: str) -> bool:
    code = ord(ch)
    return any(lo <= code <= hi for lo, hi in _CJK_RANGES)


def cjk_share(texts: Sequence[str]) -> float:
    """Share of non-space characters that are Chinese, Japanese or Korean script."""
    chars = [ch for t in texts for ch in t if not ch.isspace()]
    return sum(1 for ch in chars if is_cjk_char(ch)) / len(chars) if chars else 0.0


def detect_language(texts: Sequence[str]) -> str | None:
    """``"zh"``, ``"ja"``, ``"ko"`` when the texts are mostly CJK, else None (a space-delimited language)."""
    if cjk_share(texts) < 0.3:
        return None
    joined = "".join(texts)
    if re.search(r"[\u3040-\u30ff]", joined):
        return "ja"
    if re.search(r"[\uac00-\ud7af]", joined):
        return "ko"
    return "zh"


# -------------------------------------------------------------------------------------------------- ROUGE


class CharTokenizer:
    """rouge-score tokenizer for CJK: one token per character, whitespace and punctuation dropped.

    rouge-score's default tokenizer keeps only ``[a-z0-9]``, so Chinese text becomes no tokens at all and
    every ROUGE score is 0. Latin-script words inside CJK text stay whole words, lowercased.
    """

    def tokenize(self, text: str) -> list[str]:
        tokens: list[str] = []
        word: list[str] = []
        for ch in unicodedata.normalize("NFKC", text).lower():
            if ch.isspace() or unicodedata.category(ch).startswith("P") or is_cjk_char(ch):
                if word:
                    tokens.append("".join(word))
                    word = []
                if is_cjk_char(ch):
                    tokens.append(ch)
            else:
                word.append(ch)
        if word:
            tokens.append("".join(word))
        return tokens


ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


def rouge_scorer_for(references: Sequence[str]) -> tuple[Any, str]:
    """The rouge-score scorer to use for these references and a description of its tokenizer."""
    from rouge_score import rouge_scorer

    if detect_language(references) is not None:
        return rouge_scorer.RougeScorer(list(ROUGE_TYPES), tokenizer=CharTokenizer()), "character (CJK)"
    return rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True), "rouge-score default + Porter stemmer"


def score_summarization(references: Sequence[str], answers: Sequence[str]) -> TaskScores:
    """Mean per-example ROUGE F-measure. The tokenizer is chosen per example from its reference, so a
    corpus that mixes English and Chinese scores each example in its own script: with one tokenizer for
    the whole corpus, either the Chinese examples would lose every character or the English ones their
    stemming."""
    import importlib.metadata

    per_example: dict[str, list[float]] = {name: [] for name in ROUGE_TYPES}
    used: dict[str, int] = {}
    scorers: dict[bool, tuple[Any, str]] = {}
    for ref, ans in zip(references, answers, strict=True):
        cjk = detect_language([ref]) is not None
        if cjk not in scorers:
            scorers[cjk] = rouge_scorer_for([ref])
        scorer, tokenizer = scorers[cjk]
        used[tokenizer] = used.get(tokenizer, 0) + 1
        scores = scorer.score(ref, ans)
        for name in ROUGE_TYPES:
            per_example[name].append(100.0 * scores[name].fmeasure)
    n = len(references)
    corpus = {name: (sum(vals) / n if n else 0.0) for name, vals in per_example.items()}
    if len(used) > 1:
        tokenizer = "per example: " + ", ".join(f"{name} for {count}" for name, count in sorted(used.items()))
    else:
        tokenizer = next(iter(used), rouge_scorer_for([])[1])
    version = importlib.metadata.version("rouge-score")
    return TaskScores(
        task="summarize",
        corpus=corpus,
        per_example=per_example,
        signature={"rouge": f"rouge-score {version}, F-measure, mean over examples, tokenizer: {tokenizer}"},
    )


# ------------------------------------------------------------------------------------------ BLEU and chrF


def _mecab_available() -> bool:
    try:
        from sacrebleu.tokenizers.tokenizer_ja_mecab import TokenizerJaMecab

        TokenizerJaMecab()  # type: ignore[no-untyped-call]
    except Exception:  # sacrebleu raises RuntimeError/ImportError when MeCab or its dictionary is missing
        return False
    return True


_LANGUAGE_NAMES = {
    "chinese": "zh",
    "mandarin": "zh",
    "cantonese": "zh",
    "中文": "zh",
    "汉语": "zh",
    "漢語": "zh",
    "japanese": "ja",
    "日本語": "ja",
    "korean": "ko",
    "한국어": "ko",
}


def language_code(language: str | None) -> str | None:
    """``"Chinese"``, ``"zh-CN"`` or ``"zh_Hans"`` -> ``"zh"``; other names and codes lowercased as given."""
    if not language or not language.strip():
        return None
    text = language.strip().lower()
    if text in _LANGUAGE_NAMES:
        return _LANGUAGE_NAMES[text]
    first_word = text.split()[0].strip("()")
    if first_word in _LANGUAGE_NAMES:  # "Chinese (simplified)"
        return _LANGUAGE_NAMES[first_word]
    return text.split("-")[0].split("_")[0]


def bleu_tokenizer_for(target_language: str | None, references: Sequence[str]) -> str:
    """sacrebleu tokenizer for the target language: ``zh`` for Chinese, ``ja-mecab`` for Japanese when MeCab
    is installed (``char`` otherwise), ``char`` for Korean, ``13a`` (sacrebleu's default) for the rest.
    Without a stated language, the references' script decides."""
    lang = language_code(target_language) or detect_language(references)
    if lang == "zh":
        return "zh"
    if lang == "ja":
        return "ja-mecab" if _mecab_available() else "char"
    if lang == "ko":
        return "char"
    return "13a"


def text_metrics(tokenize: str) -> dict[str, Any]:
    """The sacrebleu metric objects used for translation, keyed by report name."""
    from sacrebleu.metrics.bleu import BLEU
    from sacrebleu.metrics.chrf import CHRF

    return {"bleu": BLEU(tokenize=tokenize), "chrf": CHRF()}


def sentence_stats(metric: Any, references: Sequence[str], answers: Sequence[str]) -> list[list[float]]:
    """Per-sentence sufficient statistics; summing any subset and scoring it gives that subset's corpus
    score. This is how sacrebleu's own paired bootstrap resamples, and it keeps the bootstrap fast."""
    stats: list[list[float]] = metric._extract_corpus_statistics(list(answers), [list(references)])
    return stats


def corpus_from_stats(metric: Any, stats: Sequence[Sequence[float]], indices: Sequence[int] | None = None) -> float:
    rows = stats if indices is None else [stats[i] for i in indices]
    if not rows:
        return 0.0
    totals = [sum(col) for col in zip(*rows, strict=True)]
    return float(metric._compute_score_from_stats(totals).score)


def score_translation(
    references: Sequence[str], answers: Sequence[str], target_language: str | None = None
) -> TaskScores:
    tokenize = bleu_tokenizer_for(target_language, references)
    metrics = text_metrics(tokenize)
    corpus: dict[str, float] = {}
    signature: dict[str, str] = {}
    for name, metric in metrics.items():
        corpus[name] = float(metric.corpus_score(list(answers), [list(references)]).score)
        signature[name] = str(metric.get_signature())
    return TaskScores(task="translate", corpus=corpus, signature=signature)


# -------------------------------------------------------------------------------------------- extraction


def parse_json_object(text: str) -> Any:
    """The JSON value in ``text`` (fenced ```json blocks accepted), or raises ValueError."""
    body = text.strip()
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", body, flags=re.DOTALL)
    if fenced:
        body = fenced.group(1)
    return json.loads(body)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out or {prefix: {}}
    return {prefix: value}


def score_extraction(references: Sequence[str], answers: Sequence[str]) -> TaskScores:
    """JSON validity and field-level exact match (nested objects flattened to dotted paths)."""
    valid: list[float] = []
    field_scores: list[float] = []
    all_fields: list[bool] = []
    matched_total = 0
    fields_total = 0
    for ref, ans in zip(references, answers, strict=True):
        try:
            expected = _flatten(parse_json_object(ref))
        except ValueError:
            expected = {"": ref.strip()}
        try:
            got = _flatten(parse_json_object(ans))
            valid.append(1.0)
        except ValueError:
            got = {}
            valid.append(0.0)
        matched = sum(1 for key, val in expected.items() if key in got and got[key] == val)
        matched_total += matched
        fields_total += len(expected)
        field_scores.append(matched / len(expected) if expected else 1.0)
        all_fields.append(matched == len(expected) and set(got) == set(expected))
    n = len(references)
    return TaskScores(
        task="extract",
        corpus={
            "field_accuracy": sum(field_scores) / n if n else 0.0,
            "json_valid": sum(valid) / n if n else 0.0,
            "field_exact_match": matched_total / fields_total if fields_total else 0.0,
            "exact_match": sum(all_fields) / n if n else 0.0,
        },
        per_example={
            "field_accuracy": field_scores,
            "json_valid": valid,
            "exact_match": [1.0 if ok else 0.0 for ok in all_fields],
        },
        correct=all_fields,
        signature={"fields": "dotted paths of the reference object; values compared with == after json.loads"},
    )


# -------------------------------------------------------------------------------------------------- chat


def score_chat(references: Sequence[str], answers: Sequence[str]) -> TaskScores:
    exact = [r.strip() == a.strip() for r, a in zip(references, answers, strict=True)]
    normalized = [normalize_text(r) == normalize_text(a) for r, a in zip(references, answers, strict=True)]
    n = len(references)
    return TaskScores(
        task="chat",
        corpus={"exact_match": sum(exact) / n if n else 0.0, "normalized_match": sum(normalized) / n if n else 0.0},
        per_example={"exact_match": [float(x) for x in exact], "normalized_match": [float(x) for x in normalized]},
        correct=normalized,
        signature={"normalized_match": "NFKC + casefold, punctuation dropped, whitespace collapsed"},
    )


Scorer = Callable[[Sequence[str], Sequence[str]], TaskScores]


def score(
    task: str,
    references: Sequence[str],
    answers: Sequence[str],
    *,
    labels: Sequence[str] | None = None,
    target_language: str | None = None,
) -> TaskScores:
    """Score ``answers`` against ``references`` with the task's metrics."""
    if task == "classify":
        return score_classification(references, answers, labels)
    if task == "summarize":
        return score_summarization(references, answers)
    if task == "translate":
        return score_translation(references, answers, target_language)
    if task == "extract":
        return score_extraction(references, answers)
    if task == "chat":
        return score_chat(references, answers)
    raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
