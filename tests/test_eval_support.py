"""Shared helpers for the evaluation tests (no tests here): dataset folders, emulator jobs."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from conftest import FIXTURES

if TYPE_CHECKING:
    from ftclient.emulator import Emulator

TICKETS_CSV = FIXTURES / "eval" / "tickets.csv"
TICKET_LABELS = ["billing", "technical", "account", "shipping"]
TICKET_SYSTEM = (
    "Classify the customer support ticket. Answer with exactly one label: billing, technical, account, shipping."
)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ticket_rows() -> list[tuple[str, str]]:
    with TICKETS_CSV.open(encoding="utf-8") as fh:
        return [(r["text"], r["category"]) for r in csv.DictReader(fh)]


def write_dataset(
    folder: Path,
    pairs: Sequence[tuple[str, str]],
    *,
    task: str,
    system: str | None,
    labels: Sequence[str] = (),
    model: str = "gpt-4.1-mini-2025-04-14",
    test_share: float = 0.25,
    languages: dict[str, str] | None = None,
    seed: int = 1,
) -> Path:
    """A dataset folder in the layout ``ftclient prepare`` writes (train/validation/test + manifest)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = list(pairs)
    random.Random(seed).shuffle(rows)
    n_test = max(1, int(len(rows) * test_share))
    n_val = max(10, len(rows) // 20)  # the provider wants at least 10 validation examples
    splits = {"test": rows[:n_test], "validation": rows[n_test : n_test + n_val], "train": rows[n_test + n_val :]}
    files: dict[str, Any] = {}
    for split, items in splits.items():
        path = folder / f"{split}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for prompt, answer in items:
                messages = ([{"role": "system", "content": system}] if system else []) + [
                    {"role": "user", "content": prompt},
                    {"role": "assistant", "content": answer},
                ]
                fh.write(json.dumps({"messages": messages}, ensure_ascii=False) + "\n")
        files[split] = {"path": path.name, "sha256": _sha(path), "examples": len(items)}
    manifest = {
        "task": task,
        "system_prompt": system,
        "labels": list(labels),
        "languages": languages,
        "target": {"provider": "openai", "model": model},
        "method": "supervised",
        "files": files,
        "dataset_sha256": hashlib.sha256(
            "".join(files[s]["sha256"] for s in ("train", "validation", "test")).encode()
        ).hexdigest(),
        "split": {"seed": seed, "sizes": {k: len(v) for k, v in splits.items()}},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return folder


@contextmanager
def openai_emulator(monkeypatch: pytest.MonkeyPatch, *, seed: int) -> Iterator[Emulator]:
    """A fast OpenAI emulator (no latency) with the environment pointing ftclient at it."""
    from ftclient.emulator import EmulatorConfig, run_in_thread

    with run_in_thread(EmulatorConfig(speed=100_000.0, latency_ms=0, seed=seed)) as emu:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
        monkeypatch.setenv("OPENAI_BASE_URL", emu.base_url)
        yield emu


def launch_and_wait(dataset: Path) -> str:
    """Launch a job on the emulator (OPENAI_BASE_URL must point at it) and return its id once succeeded."""
    import ftclient
    from ftclient.jobs import Job

    job = ftclient.launch(dataset)
    assert isinstance(job, Job)
    info = job.wait(poll_interval=0.05, max_interval=0.1, timeout=60)
    assert info.status == "succeeded", info
    return job.id


def interrupt_evaluation(emu: Emulator, *args: str, running: Callable[[], bool]) -> tuple[int, str, str]:
    """Run ``ftclient evaluate ARGS`` in a real process, send it SIGINT once the emulator has answered two of its
    questions (``running`` must then hold: the model is deployed), and return (exit code, stdout, stderr)."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    command = [sys.executable, "-m", "ftclient", "evaluate", *args]
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        deadline = time.monotonic() + 30
        while emu.stats()["completions"] < 2:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the evaluation never started answering"
            time.sleep(0.02)
        assert running()
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    return process.returncode, stdout, stderr
