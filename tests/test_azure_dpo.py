"""DPO on Azure: preference rows prepared for azure launch a job whose body carries OpenAI's ``method`` object
(``{"type": "dpo", "dpo": {"hyperparameters": {"beta": …}}}``, the v1 spec's ``CreateFineTuningJobRequest``;
the stable 2024-10-21 spec has no ``method``), and preference lines are accepted or refused as Azure's DPO page
describes them: ``input.messages`` and exactly two outputs, each of assistant/tool messages with at least one
assistant message."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread
from ftclient.providers.azure import AzureProvider
from ftclient.providers.base import JobSpec

BASE = "gpt-4.1-mini-2025-04-14"


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with run_in_thread(EmulatorConfig(provider="azure", speed=500.0, seed=31)) as running:
        monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", running.url)
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", "az-dpo")
        monkeypatch.setenv("OPENAI_API_VERSION", "2024-10-21")
        monkeypatch.setenv("FTCLIENT_POLL_INTERVAL_S", "0.02")
        yield running


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.stderr
    return result.json()


def preference(i: int, **change: Any) -> dict[str, Any]:
    line: dict[str, Any] = {
        "input": {"messages": [{"role": "user", "content": f"Greet customer {i}"}]},
        "preferred_output": [{"role": "assistant", "content": f"Hello customer {i}, how can I help?"}],
        "non_preferred_output": [{"role": "assistant", "content": "hi"}],
    }
    line.update(change)
    return {k: v for k, v in line.items() if v is not None}


def write(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def test_a_dpo_job_launches_with_the_method_body(emu: Emulator, run_cli: Any, tmp_path: Path) -> None:
    source = tmp_path / "prefs.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["prompt", "chosen", "rejected"])
        writer.writerows([f"Greet customer {i}", f"Hello customer {i}, how can I help?", "hi"] for i in range(60))
    folder = tmp_path / "ds"
    prepared = ok(
        run_cli("prepare", str(source), "--provider", "azure", "--model", BASE, "--out", str(folder), "--json")
    )
    assert prepared["manifest"]["method"] == "dpo"
    planned = ok(run_cli("launch", str(folder), "--provider", "azure", "--beta", "0.2", "--dry-run", "--json"))
    (create,) = [r for r in _requests(planned) if "/openai/fine_tuning/jobs?" in r["url"]]
    assert create["json"]["method"] == {"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.2}}}
    assert create["json"]["trainingType"] == "standard" and "hyperparameters" not in create["json"]
    job = ok(run_cli("launch", str(folder), "--provider", "azure", "--beta", "0.2", "--json"))["jobs"][0]
    assert job["status"] == "succeeded"
    shown = ok(run_cli("jobs", "show", job["id"], "--json"))
    assert shown["method"] == "dpo" and shown["hyperparameters"]["beta"] == 0.2


def _requests(planned: Any) -> list[dict[str, Any]]:
    """Every request object (a dict with ``method`` and ``url``) anywhere in the dry-run document."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("url"), str) and isinstance(node.get("method"), str):
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(planned)
    return found


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"non_preferred_output": None}, "non_preferred_output must be a non-empty list"),
        ({"preferred_output": [{"role": "user", "content": "x"}]}, "only assistant and tool messages"),
        ({"preferred_output": [{"role": "tool", "content": "x", "tool_call_id": "t"}]}, "at least one assistant"),
    ],
)
def test_the_emulator_fails_a_dpo_job_on_a_bad_preference_line(
    emu: Emulator, tmp_path: Path, change: dict[str, Any], reason: str
) -> None:
    lines = [preference(i) for i in range(12)]
    lines[4] = preference(4, **change)
    adapter = AzureProvider(api_key="k", azure_endpoint=emu.url, api_version="2024-10-21", max_retries=0)
    uploaded = adapter.upload_file(write(tmp_path / "train.jsonl", lines))
    job = adapter.create_job(JobSpec(model=BASE, training_file=uploaded.id, method="dpo"))
    emu.advance(1_000)
    failed = adapter.get_job(job.id)
    assert failed.status == "failed" and failed.error_code == "invalidTrainingFile"
    assert failed.error_message is not None and failed.error_message.startswith("line 5: ")
    assert reason in failed.error_message
    adapter.close()


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({}, None),
        ({"non_preferred_output": None}, "missing-key"),
        ({"preferred_output": [{"role": "user", "content": "x"}]}, "invalid-value"),
        ({"non_preferred_output": []}, "wrong-length"),
    ],
)
def test_azure_rules_for_preference_lines(
    run_cli: Any, tmp_path: Path, change: dict[str, Any], code: str | None
) -> None:
    lines = [preference(i) for i in range(12)]
    lines[4] = preference(4, **change)
    path = write(tmp_path / "prefs.jsonl", lines)
    result = run_cli("validate", str(path), "--provider", "azure", "--model", BASE, "--method", "dpo", "--json")
    report = result.json()
    errors = [(p["line"], p["code"]) for p in report["problems"] if p["severity"] == "error"]
    assert errors == ([] if code is None else [(5, code)])
    assert report["ok"] is (code is None)
    nine = write(tmp_path / "nine.jsonl", [preference(i) for i in range(9)])
    short = run_cli("validate", str(nine), "--provider", "azure", "--model", BASE, "--method", "dpo", "--json")
    assert short.exit_code == 1 and "at least 10" in short.stdout
