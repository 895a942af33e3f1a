"""``ftclient evaluate`` end to end against the emulator over loopback HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_eval_support import TICKET_LABELS, TICKET_SYSTEM, launch_and_wait, openai_emulator, ticket_rows, write_dataset


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    with openai_emulator(monkeypatch, seed=3) as emu:
        yield emu


@pytest.fixture
def ticket_job(emulator: object, tmp_path: Path) -> tuple[str, Path]:
    dataset = write_dataset(
        tmp_path / "tickets", ticket_rows(), task="classify", system=TICKET_SYSTEM, labels=TICKET_LABELS
    )
    return launch_and_wait(dataset), dataset


def test_tuned_model_beats_base_with_a_confidence_interval(run_cli, ticket_job, tmp_path: Path) -> None:
    job_id, dataset = ticket_job
    out = tmp_path / "report"
    result = run_cli("evaluate", job_id, "--out", str(out), "--json")
    assert result.exit_code == 0, result.stderr
    report = result.json()
    assert report["job_id"] == job_id and report["task"] == "classify"
    tuned, base = report["models"]
    assert tuned["role"] == "tuned" and tuned["model"].startswith("ft:gpt-4.1-mini-2025-04-14:ftclient-emulator")
    assert base["role"] == "baseline" and base["model"] == "gpt-4.1-mini-2025-04-14"
    assert tuned["metrics"]["accuracy"] > base["metrics"]["accuracy"]
    accuracy = report["comparisons"][0]
    assert accuracy["metric"] == "accuracy" and accuracy["ci_low"] > 0
    assert "better by" in report["verdict"] and "95% CI" in report["verdict"]
    assert report["mcnemar"]["fixed"] > report["mcnemar"]["broken"]
    assert tuned["failed"] == 0 and base["failed"] == 0
    assert tuned["cost_usd"] > 0 and tuned["latency_p50_s"] is not None
    assert "emulator" in report["source_note"]
    assert report["training_curve"] and "train_loss" in report["training_curve"][0]
    assert report["examples"] == len((dataset / "test.jsonl").read_text().splitlines())
    for name in ("report.json", "report.md", "report.html"):
        assert (out / name).is_file()
    assert json.loads((out / "report.json").read_text())["eval_id"] == report["eval_id"]
    assert "better by" in (out / "report.md").read_text()

    runs = run_cli("runs", "--json")
    assert runs.exit_code == 0, runs.stderr
    assert report["eval_id"] in runs.stdout


def test_second_run_is_answered_from_the_cache(run_cli, ticket_job, emulator, tmp_path: Path) -> None:
    job_id, _ = ticket_job
    first = run_cli("evaluate", job_id, "--out", str(tmp_path / "a"), "--limit", "20", "--json")
    completions = emulator.stats()["completions"]
    second = run_cli("evaluate", job_id, "--out", str(tmp_path / "b"), "--limit", "20", "--json")
    assert first.exit_code == 0 and second.exit_code == 0, second.stderr
    assert emulator.stats()["completions"] == completions  # nothing asked twice
    assert all(m["cached"] == m["examples"] for m in second.json()["models"])
    assert [m["metrics"] for m in second.json()["models"]] == [m["metrics"] for m in first.json()["models"]]
    forced = run_cli(
        "evaluate", job_id, "--out", str(tmp_path / "c"), "--limit", "20", "--no-cache", "--no-baseline", "--json"
    )
    assert forced.exit_code == 0, forced.stderr
    assert emulator.stats()["completions"] == completions + forced.json()["examples"]
    assert [m["role"] for m in forced.json()["models"]] == ["model"]


def test_any_model_on_any_test_file(run_cli, emulator, tmp_path: Path) -> None:
    dataset = write_dataset(
        tmp_path / "ds", ticket_rows()[:40], task="classify", system=TICKET_SYSTEM, labels=TICKET_LABELS
    )
    test_copy = tmp_path / "elsewhere" / "test.jsonl"
    test_copy.parent.mkdir()
    test_copy.write_bytes((dataset / "test.jsonl").read_bytes())
    result = run_cli(
        "evaluate",
        "--model",
        "gpt-4.1-mini-2025-04-14",
        "--test",
        str(test_copy),
        "--task",
        "classify",
        "--out",
        str(tmp_path / "r"),
        "--limit",
        "5",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    report = result.json()
    assert report["examples"] == 5 and [m["model"] for m in report["models"]] == ["gpt-4.1-mini-2025-04-14"]
    assert report["comparisons"] == [] and report["verdict"] == ""


def test_clear_errors(run_cli, emulator, tmp_path: Path) -> None:
    nothing = run_cli("evaluate")
    assert nothing.exit_code == 1 and "JOB_ID" in nothing.stderr
    unknown = run_cli("evaluate", "ftjob-doesnotexist", "--json")
    assert unknown.exit_code == 1
    no_test = run_cli("evaluate", "--model", "gpt-4.1-mini-2025-04-14")
    assert no_test.exit_code == 1 and "--test" in no_test.stderr
    missing = run_cli("evaluate", "--model", "gpt-4.1-mini-2025-04-14", "--test", str(tmp_path / "nope.jsonl"))
    assert missing.exit_code == 1 and "does not exist" in missing.stderr


def test_help_has_examples(run_cli) -> None:
    result = run_cli("evaluate", "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.stdout and "--checkpoint" in result.stdout


def test_checkpoint_and_judge(run_cli, ticket_job, emulator, tmp_path: Path) -> None:
    job_id, _ = ticket_job
    from ftclient.providers.openai import OpenAIProvider

    checkpoints = OpenAIProvider.from_settings().list_checkpoints(job_id)
    step = checkpoints[0].step
    result = run_cli(
        "evaluate",
        job_id,
        "--checkpoint",
        str(step),
        "--limit",
        "12",
        "--judge",
        "gpt-4.1-mini-2025-04-14",
        "--out",
        str(tmp_path / "ck"),
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    report = result.json()
    assert report["models"][0]["model"] == checkpoints[0].model and ":ckpt-step-" in checkpoints[0].model
    judge = report["judge"]
    assert judge["model"] == "gpt-4.1-mini-2025-04-14" and "Answer A" in judge["prompt_template"]
    assert judge["tuned_wins"] + judge["baseline_wins"] + judge["ties"] + judge["invalid"] == 12
    bad = run_cli("evaluate", job_id, "--checkpoint", "999999")
    assert bad.exit_code == 1 and "no checkpoint at step 999999" in bad.stderr
