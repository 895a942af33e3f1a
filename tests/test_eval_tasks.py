"""Datasets prepared by ``ftclient prepare`` from the bundled samples, tuned on the emulator, evaluated: the
report's ROUGE, BLEU and chrF equal what rouge-score and sacrebleu give on the same answers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sacrebleu
from conftest import EXAMPLES
from rouge_score import rouge_scorer
from test_eval_support import launch_and_wait

from ftclient.emulator import EmulatorConfig, run_in_thread


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    with run_in_thread(EmulatorConfig(speed=100_000.0, seed=11)) as emu:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
        monkeypatch.setenv("OPENAI_BASE_URL", emu.base_url)
        yield emu


class _Chars:
    """A character tokenizer for Chinese, written independently of ftclient's, for the cross-check."""

    def tokenize(self, text: str) -> list[str]:
        # one token per Chinese character; digits and Latin letters in between stay whole words
        return re.findall(r"[\u4e00-\u9fff]|[^\s\u4e00-\u9fff，。、！？；：（）【】.,!?;:()%-]+", text.lower())


def _has_chinese(text: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in text)


def _prepare_and_evaluate(run_cli, tmp_path: Path, name: str, *args: str) -> dict:
    folder = tmp_path / name
    prepared = run_cli("prepare", *args, "--out", str(folder), "--json")
    assert prepared.exit_code == 0, prepared.stderr
    job_id = launch_and_wait(folder)
    result = run_cli("evaluate", job_id, "--out", str(tmp_path / f"{name}-report"), "--json")
    assert result.exit_code == 0, result.stderr
    report = result.json()
    assert report["test_file"] == str(folder / "test.jsonl")
    assert len(report["references"]) == report["examples"] > 10
    return report


def test_classification_from_prepare_tuned_beats_base(run_cli, emulator, tmp_path: Path) -> None:
    report = _prepare_and_evaluate(run_cli, tmp_path, "tickets", str(EXAMPLES / "support_tickets.csv"))
    assert report["task"] == "classify" and report["labels"]
    first = report["comparisons"][0]
    assert first["metric"] == "accuracy" and first["ci_low"] > 0
    assert report["verdict"].startswith("The tuned model") and "better by" in report["verdict"]
    assert "95% CI" in report["verdict"]


def test_summarization_rouge_equals_rouge_score(run_cli, emulator, tmp_path: Path) -> None:
    report = _prepare_and_evaluate(
        run_cli, tmp_path, "news", str(EXAMPLES / "summarize_news.jsonl"), "--task", "summarize"
    )
    assert report["task"] == "summarize"
    english = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    chinese = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], tokenizer=_Chars())
    refs = report["references"]
    assert any(_has_chinese(r) for r in refs) and not all(_has_chinese(r) for r in refs)

    def direct_score(ref: str, answer: str, name: str) -> float:
        scorer = chinese if _has_chinese(ref) else english
        return 100 * scorer.score(ref, answer)[name].fmeasure

    for model in report["models"]:
        answers = report["answers"][model["role"]]
        for name in ("rouge1", "rouge2", "rougeL"):
            direct = [direct_score(r, a, name) for r, a in zip(refs, answers, strict=True)]
            assert model["metrics"][name] == pytest.approx(sum(direct) / len(direct))
    tuned, base = report["models"]
    assert tuned["metrics"]["rougeL"] > base["metrics"]["rougeL"]
    assert report["comparisons"][0]["metric"] == "rougeL" and report["comparisons"][0]["ci_low"] > 0


TRANSLATIONS = {
    "en-zh": ((), "zh"),
    "zh-en": (("--source-col", "zh", "--target-col", "en"), "13a"),
}


@pytest.mark.parametrize("direction", sorted(TRANSLATIONS))
def test_translation_bleu_and_chrf_equal_sacrebleu(run_cli, emulator, tmp_path: Path, direction: str) -> None:
    flags, tokenize = TRANSLATIONS[direction]
    report = _prepare_and_evaluate(
        run_cli, tmp_path, direction, str(EXAMPLES / "translate_en_zh.csv"), "--task", "translate", *flags
    )
    assert report["task"] == "translate"
    assert f"tok:{tokenize}" in report["signature"]["bleu"]
    refs = report["references"]
    for model in report["models"]:
        answers = report["answers"][model["role"]]
        assert model["metrics"]["bleu"] == pytest.approx(
            sacrebleu.corpus_bleu(answers, [refs], tokenize=tokenize).score
        )
        assert model["metrics"]["chrf"] == pytest.approx(sacrebleu.corpus_chrf(answers, [refs]).score)
    assert {c["metric"] for c in report["comparisons"]} == {"bleu", "chrf"}
