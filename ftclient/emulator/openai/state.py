"""The OpenAI emulator's state: files and their bytes, uploads, jobs, batches; optionally on disk.

Everything lives in memory behind one lock. With a state directory, every change rewrites
``state.json`` (small: metadata only) atomically and file contents go to ``files/<id>``, so a restarted
emulator keeps its files, jobs, tuned models and batches. Upload parts in flight are not persisted.
"""

from __future__ import annotations

import json
import random
import string
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ftclient.emulator.dialect import ScheduledJob
from ftclient.emulator.persist import FileBytes, atomic_write

_ALPHABET = string.ascii_letters + string.digits


@dataclass(kw_only=True)
class JobState(ScheduledJob):
    """A fine-tuning job, with OpenAI's pauses, events and checkpoints (``phase_at``: when the current phase,
    validating, queued or running, started)."""

    n_valid: int = 0
    paused_at: float | None = None
    paused_total: float = 0.0
    events: list[dict[str, Any]] = field(default_factory=list)
    checkpoints: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class BatchState:
    obj: dict[str, Any]
    phase_at: float = 0.0
    model: str = ""
    enqueued_tokens: int = 0
    """Prompt tokens this batch holds in its model's queue while it is in progress."""


class Store(FileBytes):
    def __init__(self, rng: random.Random, state_dir: Path | None) -> None:
        super().__init__(state_dir)
        self._rng = rng
        self.files: dict[str, dict[str, Any]] = {}
        self.uploads: dict[str, dict[str, Any]] = {}
        self.upload_parts: dict[str, dict[str, bytes]] = {}
        self.jobs: dict[str, JobState] = {}
        self.batches: dict[str, BatchState] = {}
        self.deleted_models: set[str] = set()
        self.clock_high_water = 0.0
        if state_dir is not None:
            self._load()

    def new_id(self, prefix: str, length: int = 24) -> str:
        with self.lock:
            return prefix + "".join(self._rng.choices(_ALPHABET, k=length))

    # -- persistence -----------------------------------------------------------------------------
    def save(self, now: float | None = None) -> None:
        if self.state_dir is None:
            return
        with self.lock:
            if now is not None:
                self.clock_high_water = max(self.clock_high_water, now)
            document = {
                "version": 1,
                "clock": self.clock_high_water,
                "files": list(self.files.values()),
                "uploads": list(self.uploads.values()),
                "jobs": [asdict(job) for job in self.jobs.values()],
                "batches": [asdict(batch) for batch in self.batches.values()],
                "deleted_models": sorted(self.deleted_models),
            }
            atomic_write(self.state_dir / "state.json", json.dumps(document, ensure_ascii=False).encode())

    def _load(self) -> None:
        assert self.state_dir is not None
        path = self.state_dir / "state.json"
        if not path.exists():
            return
        document = json.loads(path.read_text(encoding="utf-8"))
        self.clock_high_water = float(document.get("clock", 0.0))
        self.files = {f["id"]: f for f in document.get("files", [])}
        self.uploads = {u["id"]: u for u in document.get("uploads", [])}
        self.jobs = {j["obj"]["id"]: JobState(**j) for j in document.get("jobs", [])}
        self.batches = {b["obj"]["id"]: BatchState(**b) for b in document.get("batches", [])}
        self.deleted_models = set(document.get("deleted_models", []))
