"""The Together emulator's state: files and their bytes, upload sessions, fine-tune jobs and dedicated
endpoints, in memory behind one lock; optionally saved to ``state_dir`` (``state.json`` plus file bytes)
so a restarted emulator keeps them."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ftclient.emulator.dialect import ScheduledJob
from ftclient.emulator.persist import FileBytes, atomic_write


def iso(at: float) -> str:
    """Together's timestamps: ISO-8601 in UTC with milliseconds, e.g. ``2026-05-17T17:35:45.123Z``."""
    return dt.datetime.fromtimestamp(at, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(kw_only=True)
class TJob(ScheduledJob):
    """A fine-tune job, with its creation time and the checkpoints Together lists."""

    created: float
    checkpoints: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class TEndpoint:
    """A dedicated endpoint: the API object, the time of its current state, billing and idle tracking."""

    obj: dict[str, Any]
    state_at: float
    cents_per_minute: float
    last_request: float | None = None
    billed_s: float = 0.0
    billed_from: float | None = None
    deleted: bool = False
    history: list[tuple[str, float]] = field(default_factory=list)
    fails: bool = False
    """Its hardware is never provisioned: ``PENDING`` ends in ``ERROR`` (the ``fail_endpoint`` fault)."""


class TogetherStore(FileBytes):
    def __init__(self, state_dir: Path | None) -> None:
        super().__init__(state_dir)
        self.files: dict[str, dict[str, Any]] = {}
        self.pending: dict[str, dict[str, Any]] = {}
        """Files announced by ``POST /files`` whose bytes have not been PUT yet."""
        self.sessions: dict[str, dict[str, Any]] = {}
        self.parts: dict[str, dict[int, bytes]] = {}
        self.jobs: dict[str, TJob] = {}
        self.endpoints: dict[str, TEndpoint] = {}
        self.clock_high_water = 0.0
        if state_dir is not None:
            self._load()

    @staticmethod
    def file_id() -> str:
        return f"file-{uuid.uuid4()}"

    def save(self, now: float) -> None:
        if self.state_dir is None:
            return
        with self.lock:
            self.clock_high_water = max(self.clock_high_water, now)
            document = {
                "version": 1,
                "clock": self.clock_high_water,
                "files": list(self.files.values()),
                "jobs": [asdict(job) for job in self.jobs.values()],
                "endpoints": [asdict(ep) for ep in self.endpoints.values()],
            }
            atomic_write(self.state_dir / "state.json", json.dumps(document).encode())

    def _load(self) -> None:
        assert self.state_dir is not None
        path = self.state_dir / "state.json"
        if not path.exists():
            return
        document = json.loads(path.read_text(encoding="utf-8"))
        self.clock_high_water = float(document.get("clock", 0.0))
        self.files = {f["id"]: f for f in document.get("files", [])}
        self.jobs = {j["obj"]["id"]: TJob(**j) for j in document.get("jobs", [])}
        for raw in document.get("endpoints", []):
            raw["history"] = [tuple(h) for h in raw.get("history", [])]
            self.endpoints[raw["obj"]["id"]] = TEndpoint(**raw)
