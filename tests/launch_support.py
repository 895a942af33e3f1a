"""Builders shared by the launch, jobs and runs tests: prepared dataset folders and an emulator-backed env."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ftclient.emulator import Emulator
    from ftclient.providers.together import TogetherProvider
    from ftclient.registry import Registry

LABELS = ("billing", "bug", "praise")


def _line(i: int, label: str) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "system", "content": "Classify the support ticket."},
            {"role": "user", "content": f"Ticket {i}: something about {label} number {i}"},
            {"role": "assistant", "content": label},
        ]
    }


def write_dataset(
    folder: Path,
    *,
    train: int = 24,
    validation: int = 6,
    test: int = 6,
    salt: str = "",
    method: str = "supervised",
    model: str = "gpt-4o-mini-2024-07-18",
    pad: int = 0,
) -> Path:
    """A prepared dataset folder as `ftclient prepare` writes it (manifest with per-file and dataset sha256)."""
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, Any] = {}
    for split, n, offset in (("train", train, 0), ("validation", validation, 1000), ("test", test, 2000)):
        rows = []
        for i in range(n):
            row = _line(offset + i, LABELS[i % len(LABELS)])
            if pad:
                row["messages"][1]["content"] += " " + " ".join(f"w{k}" for k in range(pad))
            if salt:
                row["messages"][1]["content"] += f" {salt}"
            rows.append(json.dumps(row))
        data = ("\n".join(rows) + "\n").encode() if rows else b""
        (folder / f"{split}.jsonl").write_bytes(data)
        files[split] = {"path": f"{split}.jsonl", "sha256": hashlib.sha256(data).hexdigest(), "examples": n}
    dataset_sha = hashlib.sha256("".join(files[s]["sha256"] for s in ("train", "validation", "test")).encode())
    manifest = {
        "ftclient_version": "test",
        "created_at": "2026-11-29T00:00:00Z",
        "task": "classify",
        "target": {"provider": "openai", "model": model},
        "method": method,
        "files": files,
        "dataset_sha256": dataset_sha.hexdigest(),
        "labels": list(LABELS),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return folder


CANARY_KEY = "sk-canary-7f3b9d2e41c8a6f0"
"""An API key that must never show up in anything ftclient writes or prints."""


@contextmanager
def emulator_env(monkeypatch: pytest.MonkeyPatch, **config: Any) -> Iterator[Emulator]:
    """A running emulator (fast clock) with the environment pointing ftclient at it."""
    from ftclient.emulator import EmulatorConfig, run_in_thread
    from ftclient.providers.openai import OpenAIProvider

    created: list[OpenAIProvider] = []
    original = OpenAIProvider.__init__

    def tracked(self: OpenAIProvider, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        created.append(self)

    monkeypatch.setattr(OpenAIProvider, "__init__", tracked)
    with run_in_thread(EmulatorConfig(**{"speed": 1000.0, **config})) as emu:
        monkeypatch.setenv("OPENAI_BASE_URL", emu.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", CANARY_KEY)
        monkeypatch.setenv("FTCLIENT_POLL_INTERVAL_S", "0.02")
        monkeypatch.setenv("FTCLIENT_RETRY_BACKOFF_S", "0.01")
        try:
            yield emu
        finally:
            for provider in created:  # every client the test made, closed before its sockets are collected
                provider.close()


def route_count(emu: Emulator, route: str, status: str | None = None) -> int:
    """How many requests the emulator answered on ``route`` (with ``status`` when given)."""
    by_route = emu.stats()["requests"]["by_route"].get(route, {})
    return int(by_route.get(status, 0)) if status else int(sum(by_route.values()))


class FakeTime:
    """An injectable monotonic clock and its sleep: sleeping moves the clock, and the emulator's clock with
    it when an emulator is given (its jobs and endpoints progress while ftclient waits)."""

    def __init__(self, emu: Emulator | None = None, *, start: float = 0.0) -> None:
        self.now = start
        self.emu = emu
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if self.emu is not None:
            self.emu.advance(seconds)


TOGETHER_BASE = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"


def together_job(provider: TogetherProvider, tmp_path: Path) -> str:
    """A Together fine-tuning job of the sample classification data, just created."""
    from ftclient.emulator.samples import classification_examples
    from ftclient.providers.base import JobSpec

    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(e) + "\n" for e in classification_examples()), encoding="utf-8")
    return provider.create_job(JobSpec(model=TOGETHER_BASE, training_file=provider.upload_file(data).id)).id


def tuned_together_job(
    emu: Emulator, provider: TogetherProvider, tmp_path: Path, registry: Registry | None = None
) -> str:
    """A succeeded Together job (the emulator's clock moved past its training), in ``registry`` if given."""
    job_id = together_job(provider, tmp_path)
    emu.advance(10_000)
    if registry is not None:
        registry.record_job(provider.get_job(job_id), endpoint=provider.endpoint)
    return job_id
