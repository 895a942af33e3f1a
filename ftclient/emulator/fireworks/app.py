"""The Fireworks provider app: wires datasets, jobs, deployments and chat to one state store, and holds what
they share: google.rpc-shaped errors, AIP list pages, signed storage URLs and the tuned models' memories.

Tuned models are named ``accounts/<account>/models/<job id>`` (the job's output model), and everything the
emulator says comes from the emulator: nothing here is a real model.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftclient.emulator.dialect import DialectApp, RouteGroup
from ftclient.emulator.fireworks import rules
from ftclient.emulator.fireworks.chat import Chat
from ftclient.emulator.fireworks.datasets import Datasets
from ftclient.emulator.fireworks.deployments import Deployments
from ftclient.emulator.fireworks.jobs import TERMINAL, Jobs
from ftclient.emulator.fireworks.state import FireworksStore, FJob
from ftclient.emulator.http import ApiError, Request
from ftclient.emulator.openai.learner import NearestNeighbour, prompt_text

if TYPE_CHECKING:
    from ftclient.emulator.server import Services

STORAGE_PREFIX = "/_storage/"
_SECRET = b"ftclient-emulator-fireworks-signing-key"


class FireworksApp(DialectApp[FireworksStore]):
    public_paths = (STORAGE_PREFIX,)
    """Signed URLs (uploads, downloads, metrics files) take no Fireworks credentials, like real ones."""

    def __init__(self, services: Services) -> None:
        state_dir = services.config.state_dir
        super().__init__(services, FireworksStore(Path(state_dir) if state_dir is not None else None))
        self.datasets = Datasets(self)
        self.jobs = Jobs(self)
        self.deployments = Deployments(self)
        self.chat = Chat(self)

    def route_groups(self) -> Sequence[RouteGroup]:
        return (self.datasets, self.jobs, self.deployments, self.chat)

    # -- signed URLs -----------------------------------------------------------------------------
    def signed(self, request: Request, path: str) -> str:
        host = request.header("host", "127.0.0.1")
        signature = hmac.new(_SECRET, path.encode(), hashlib.sha256).hexdigest()[:32]
        return f"http://{host}{path}?X-Goog-Signature={signature}"

    @staticmethod
    def check_signature(request: Request) -> None:
        expected = hmac.new(_SECRET, request.path.encode(), hashlib.sha256).hexdigest()[:32]
        if not hmac.compare_digest(request.arg("X-Goog-Signature") or "", expected):
            raise ApiError(403, "The request signature we calculated does not match the signature you provided.")

    # -- tuned models ----------------------------------------------------------------------------
    def learner(self, job: FJob) -> NearestNeighbour:
        def build() -> NearestNeighbour:
            _, examples = rules.check(self.store.content(job.obj["dataset"]), job.method)
            return NearestNeighbour([(prompt_text(m), a) for m, a in examples] or [("", "")])

        return self.cached_learner(job.obj["name"], build)

    def job_of_model(self, model: str) -> FJob | None:
        found = self.store.models.get(model)
        return self.store.jobs.get(str(found.get("fineTuningJob"))) if found else None

    # -- control ---------------------------------------------------------------------------------
    def fail_job(self, job_id: str, params: dict[str, Any]) -> None:
        with self.store.lock:
            matches = [j for name, j in self.store.jobs.items() if name == job_id or name.endswith(f"/{job_id}")]
            if not matches:
                raise ValueError(f"no Fireworks job {job_id!r} to fail")
            job = matches[0]
            job.fail = {k: v for k, v in params.items() if k != "job_id"}
            if job.obj["state"] == "JOB_STATE_RUNNING":
                job.fail.setdefault("at_step", job.steps_done + 1)
        self.changed()

    def stats(self) -> dict[str, Any]:
        now = self.now()
        with self.store.lock:
            states: dict[str, int] = {}
            for job in self.store.jobs.values():
                self.jobs.advance(job, now)
                states[job.obj["state"]] = states.get(job.obj["state"], 0) + 1
            bills = []
            for deployment in self.store.deployments.values():
                self.deployments.settle(deployment, now)
                bills.append(self.deployments.billing(deployment, now))
            return {
                "jobs": states,
                "jobs_finished": sum(1 for j in self.store.jobs.values() if j.obj["state"] in TERMINAL),
                "datasets": len(self.store.datasets),
                "tuned_models": sorted(self.store.models),
                "deployments": {
                    "running": sum(1 for b in bills if b["state"] not in {"DELETING", "DELETED"}),
                    "replicas_up": sum(b["replicas"] for b in bills),
                    "gpu_seconds": round(sum(b["gpu_seconds"] for b in bills), 3),
                    "cost_usd": round(sum(b["cost_usd"] for b in bills), 6),
                    "list": bills,
                },
            }
