"""The Vertex provider app: Cloud Storage, tuning jobs and serving on one state, behind one lock.

Nothing the emulator says comes from a real model. State lives in memory only (``state_dir`` is not kept for
this dialect).
"""

from __future__ import annotations

import itertools
import threading
from typing import TYPE_CHECKING, Any

from ftclient.emulator.http import Request, Router
from ftclient.emulator.vertex.serving import Serving
from ftclient.emulator.vertex.storage import Storage
from ftclient.emulator.vertex.tuning import TERMINAL, TuningJobs

if TYPE_CHECKING:
    from ftclient.emulator.server import Services


class VertexApp:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.lock = threading.RLock()
        self._ids = itertools.count(int(services.rng.random() * 10**9) * 1000 + 1_000_000_000_000)
        self.storage = Storage(self)
        self.tuning = TuningJobs(self)
        self.serving = Serving(self)

    def register(self, router: Router) -> None:
        for group in (self.storage, self.tuning, self.serving):
            group.register(router)

    def authenticate(self, request: Request) -> None:
        """No Google credentials are needed against the emulator: any token, or none, is accepted."""

    def now(self) -> float:
        return self.services.clock.now()

    def next_id(self) -> int:
        with self.lock:
            return next(self._ids)

    def settle(self) -> None:
        """Bring every job up to the clock, so endpoints of jobs that just succeeded exist."""
        now = self.now()
        with self.lock:
            for job in self.tuning.jobs.values():
                self.tuning.advance(job, now)
            self.serving.settle(now)

    def fail_job(self, job_id: str, params: dict[str, Any]) -> None:
        self.tuning.fail(job_id, params)

    def save(self) -> None:
        """Nothing to save: this dialect keeps its state in memory."""

    def stats(self) -> dict[str, Any]:
        self.settle()
        with self.lock:
            states: dict[str, int] = {}
            for job in self.tuning.jobs.values():
                states[job.obj["state"]] = states.get(job.obj["state"], 0) + 1
            endpoints = [
                {"name": name, "deployed_models": len(e.get("deployedModels") or []),
                 "tokens_served": self.serving.tokens.get(name, 0)}
                for name, e in sorted(self.serving.endpoints.items())
            ]
            return {
                "jobs": states,
                "jobs_finished": sum(1 for j in self.tuning.jobs.values() if j.obj["state"] in TERMINAL),
                "objects": len(self.storage.objects),
                "tuned_models": sorted(self.serving.models),
                "endpoints": {
                    "list": endpoints,
                    "serving": sum(1 for e in endpoints if e["deployed_models"]),
                    "billing": "per token served (no hourly charge is modelled)",
                },
            }
