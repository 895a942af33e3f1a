"""Evaluation that can be trusted: the job's own test split, failures never hidden, the dataset's files kept."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_eval_support import TICKETS_CSV, launch_and_wait, openai_emulator

import ftclient
from ftclient.dataset.prepare import prepare
from ftclient.errors import EvaluationError
from ftclient.evaluate.runner import RunnerConfig

CHAT = "POST /v1/chat/completions"
ONE_TRY = RunnerConfig(backoff_base_s=0.001, backoff_max_s=0.002, max_attempts=1)


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with openai_emulator(monkeypatch, seed=7) as emu:
        yield emu


def _prepare(folder: Path, seed: int) -> Path:
    report = prepare(
        TICKETS_CSV,
        task="classify",
        text_col="text",
        label_col="category",
        model="gpt-4.1-mini-2025-04-14",
        out=folder,
        seed=seed,
    )
    return report.out_dir


@pytest.fixture
def prepared_job(emulator: Any, tmp_path: Path) -> tuple[str, Path]:
    folder = _prepare(tmp_path / "tickets", seed=1)
    return launch_and_wait(folder), folder


def test_a_dataset_folder_prepared_again_after_the_launch_is_refused(
    prepared_job: tuple[str, Path], run_cli: Any, tmp_path: Path
) -> None:
    job_id, folder = prepared_job
    launched = ftclient.dataset.manifest.Manifest.load(folder).dataset_sha256
    _prepare(folder, seed=2)  # another split of the same rows: test examples the job trained on
    now = ftclient.dataset.manifest.Manifest.load(folder).dataset_sha256
    assert now != launched
    with pytest.raises(EvaluationError) as caught:
        ftclient.evaluate(job_id, out=tmp_path / "r", handle_signals=False)
    message = caught.value.message
    assert f"job {job_id} was trained on dataset {launched[:16]}" in message
    assert f"the folder now holds dataset {now[:16]}" in message
    assert "--test" in (caught.value.hint or "")
    assert not (tmp_path / "r").exists()
    result = run_cli("evaluate", job_id, "--out", str(tmp_path / "r"))
    assert result.exit_code == 1 and "is not the test split" in result.stderr
    # the split that was launched, prepared again elsewhere, is accepted and named by the job's dataset hash
    original = _prepare(tmp_path / "again", seed=1)
    report = ftclient.evaluate(
        job_id, test=original / "test.jsonl", out=tmp_path / "ok", handle_signals=False, resamples=200
    )
    assert report.dataset_sha256 == launched


def test_a_hand_edited_test_split_is_refused(prepared_job: tuple[str, Path], tmp_path: Path) -> None:
    job_id, folder = prepared_job
    with (folder / "test.jsonl").open("a", encoding="utf-8") as handle:
        handle.write('{"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "billing"}]}\n')
    with pytest.raises(EvaluationError, match=r"test\.jsonl was changed after it was prepared"):
        ftclient.evaluate(job_id, out=tmp_path / "r", handle_signals=False)


def test_an_evaluation_in_which_every_request_failed_is_an_error(
    emulator: Any, prepared_job: tuple[str, Path], run_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id, _ = prepared_job
    emulator.inject(CHAT, "status_500", probability=1.0)
    with pytest.raises(EvaluationError, match=r"every request to ft:.* failed \(\d+ of \d+\)"):
        ftclient.evaluate(job_id, out=tmp_path / "r", handle_signals=False, runner_config=ONE_TRY)
    assert not (tmp_path / "r").exists()
    monkeypatch.setattr("ftclient.evaluate.api.RunnerConfig", functools.partial(RunnerConfig, backoff_max_s=0.002))
    result = run_cli("evaluate", job_id, "--out", str(tmp_path / "cli"), "--limit", "3")
    assert result.exit_code == 1, result.stderr
    assert "every request to" in result.stderr and "no clear difference" not in result.stderr + result.stdout


def test_failed_answers_are_in_the_verdict_and_the_report(
    emulator: Any, prepared_job: tuple[str, Path], tmp_path: Path
) -> None:
    job_id, _ = prepared_job
    emulator.inject(CHAT, "status_500", times=3)
    report = ftclient.evaluate(job_id, out=tmp_path / "r", handle_signals=False, runner_config=ONE_TRY, resamples=200)
    total = 2 * report.examples
    assert report.verdict.endswith(f"(3 of {total} answers failed and were scored as wrong)")
    assert len(report.failures) == 3 and all(f["error"] for f in report.failures)
    markdown = (tmp_path / "r" / "report.md").read_text(encoding="utf-8")
    assert f"3 of {total} answers failed" in markdown and "## Failed answers (3, each scored as wrong)" in markdown
    assert "Failed answers (3" in (tmp_path / "r" / "report.html").read_text(encoding="utf-8")


def test_evaluate_into_the_dataset_folder_keeps_its_report(
    prepared_job: tuple[str, Path], run_cli: Any, emulator: Any
) -> None:
    job_id, folder = prepared_job
    before = (folder / "report.md").read_bytes()
    completions = emulator.stats()["completions"]
    result = run_cli("evaluate", job_id, "--out", str(folder))
    assert result.exit_code == 1
    assert "report.md, which ftclient did not write" in result.stderr
    assert (folder / "report.md").read_bytes() == before
    assert emulator.stats()["completions"] == completions  # refused before anything was paid for
