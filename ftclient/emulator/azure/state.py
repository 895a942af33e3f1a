"""The Azure dialect's state on disk (``--state-dir``): ``state.json`` with the files' metadata, the jobs, the
deployments and the clock's high-water mark, beside the files' bytes (``files/<id>``, ``persist.FileBytes``),
so a restarted emulator keeps its resource: jobs go on from where their schedule is, fine-tunes answer again
(their learners are rebuilt from the training files), deployments keep billing from their creation."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftclient.emulator.azure.dataplane import AzureJob
from ftclient.emulator.azure.management import AzureDeployment
from ftclient.emulator.persist import atomic_write

if TYPE_CHECKING:
    from ftclient.emulator.azure.app import AzureApp

VERSION = 1
_JOB_FIELDS = ("obj", "created", "epochs", "fail", "events", "checkpoints", "tokens_per_epoch")


def state_path(app: AzureApp) -> Path | None:
    folder = app.data.bytes.state_dir
    return folder / "state.json" if folder is not None else None


def save(app: AzureApp, high_water: float) -> None:
    path = state_path(app)
    if path is None:
        return
    with app.lock:
        document = {
            "version": VERSION,
            "clock": high_water,
            "files": list(app.data.files.values()),
            "jobs": [{k: getattr(job, k) for k in _JOB_FIELDS} for job in app.data.jobs.values()],
            "deployments": {key: asdict(d) for key, d in app.management.deployments.items()},
        }
        atomic_write(path, json.dumps(document).encode())


def load(app: AzureApp) -> float:
    """Read the saved resource into ``app``; returns the saved clock (0 when there is nothing saved)."""
    path = state_path(app)
    if path is None or not path.exists():
        return 0.0
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    app.data.files = {f["id"]: f for f in document.get("files", [])}
    for raw in document.get("jobs", []):
        job = AzureJob(**raw)
        app.data.jobs[job.obj["id"]] = job
        if job.obj["status"] in {"running", "succeeded"}:
            app.data.learn(job)
        if job.obj["status"] == "succeeded" and job.obj.get("fine_tuned_model"):
            app.data.tuned[job.obj["fine_tuned_model"]] = job.obj["id"]
    app.management.deployments = {
        key: AzureDeployment(**raw) for key, raw in document.get("deployments", {}).items()
    }
    return float(document.get("clock", 0.0))
