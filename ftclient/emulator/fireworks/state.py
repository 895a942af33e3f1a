"""The Fireworks emulator's state: datasets and their bytes, jobs, tuned models, deployments and the LoRA addons
loaded on them, in memory behind one lock; optionally saved to ``state_dir`` so a restart keeps them. Every
resource is keyed by its full name (``accounts/<a>/<collection>/<id>``), so accounts stay apart."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ftclient.emulator.dialect import ScheduledJob
from ftclient.emulator.persist import FileBytes, atomic_write


def rfc3339(at: float) -> str:
    """Fireworks' timestamps: RFC 3339 in UTC, e.g. ``2026-12-03T10:00:00.123Z``."""
    return dt.datetime.fromtimestamp(at, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(kw_only=True)
class FJob(ScheduledJob):
    """An SFT or DPO job (``method``: ``supervised`` or ``dpo``)."""


@dataclass
class FDeployment:
    """A deployment: the API object, its replica schedule and its GPU-seconds."""

    obj: dict[str, Any]
    state_at: float
    hourly_usd: float
    replica_since: float | None = None
    """When the running replica came up (None: scaled to zero or not up yet)."""
    waking_at: float | None = None
    """When a replica asked for by a request to a scaled-to-zero deployment will be up."""
    last_request: float | None = None
    gpu_seconds: float = 0.0
    history: list[tuple[str, float]] = field(default_factory=list)


class FireworksStore(FileBytes):
    def __init__(self, state_dir: Path | None) -> None:
        super().__init__(state_dir)
        self.datasets: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, FJob] = {}
        self.models: dict[str, dict[str, Any]] = {}
        self.deployments: dict[str, FDeployment] = {}
        self.addons: dict[str, dict[str, Any]] = {}
        self.clock_high_water = 0.0
        if state_dir is not None:
            self._load()

    # File bytes are kept under a flat key: resource names hold slashes, which ``state_dir/files/`` cannot.
    def put_content(self, file_id: str, data: bytes) -> None:
        super().put_content(_flat(file_id), data)

    def content(self, file_id: str) -> bytes:
        return super().content(_flat(file_id))

    def drop_content(self, file_id: str) -> None:
        super().drop_content(_flat(file_id))

    def save(self, now: float) -> None:
        if self.state_dir is None:
            return
        with self.lock:
            self.clock_high_water = max(self.clock_high_water, now)
            document = {
                "version": 1,
                "clock": self.clock_high_water,
                "datasets": list(self.datasets.values()),
                "jobs": [asdict(job) for job in self.jobs.values()],
                "models": list(self.models.values()),
                "deployments": [asdict(d) for d in self.deployments.values()],
                "addons": list(self.addons.values()),
            }
            atomic_write(self.state_dir / "state.json", json.dumps(document).encode())

    def _load(self) -> None:
        assert self.state_dir is not None
        path = self.state_dir / "state.json"
        if not path.exists():
            return
        document = json.loads(path.read_text(encoding="utf-8"))
        self.clock_high_water = float(document.get("clock", 0.0))
        self.datasets = {d["name"]: d for d in document.get("datasets", [])}
        self.jobs = {j["obj"]["name"]: FJob(**j) for j in document.get("jobs", [])}
        self.models = {m["name"]: m for m in document.get("models", [])}
        for raw in document.get("deployments", []):
            raw["history"] = [tuple(h) for h in raw.get("history", [])]
            self.deployments[raw["obj"]["name"]] = FDeployment(**raw)
        self.addons = {a["name"]: a for a in document.get("addons", [])}


def _flat(name: str) -> str:
    return name.replace("/", "~").replace("#", "~~")
