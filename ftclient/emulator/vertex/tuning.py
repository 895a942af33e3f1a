"""``projects.locations.tuningJobs`` (create, get, list, cancel) and the job lifecycle on the emulator clock.

``JOB_STATE_PENDING`` (``PENDING_S``; then the dataset is read from the emulator's Cloud Storage and checked
by the dialect's own rules) -> ``JOB_STATE_RUNNING`` (``STEP_S`` per step; steps = examples x epochs / 8)
-> ``JOB_STATE_SUCCEEDED``: the tuned model is registered (``models/{id}@1``) and deployed to a new endpoint,
named in ``tunedModel``. A bad dataset or an injected failure ends ``JOB_STATE_FAILED`` with ``error``;
``:cancel`` goes through ``JOB_STATE_CANCELLING`` to ``JOB_STATE_CANCELLED``. Objects carry only fields of
the discovery document's ``GoogleCloudAiplatformV1TuningJob``.
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ftclient.emulator.http import Request, Response, Router, json_response
from ftclient.emulator.vertex import catalog, rules
from ftclient.emulator.vertex.errors import GoogleError, rfc3339

if TYPE_CHECKING:
    from ftclient.emulator.vertex.app import VertexApp

PENDING_S = 20.0
STEP_S = 2.0
CANCELLING_S = 5.0
BATCH = 8
TERMINAL = frozenset({"JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED"})
PARENT = "/v1/projects/{project}/locations/{location}"
_FILTER = re.compile(r'labels\.([\w-]+)\s*=\s*"?([^"\s]*)"?')


@dataclass
class Job:
    obj: dict[str, Any]
    phase_at: float
    steps: int = 0
    fail: dict[str, Any] | None = None
    examples: list[rules.Example] = field(default_factory=list)


class TuningJobs:
    def __init__(self, app: VertexApp) -> None:
        self.app = app
        self.jobs: dict[str, Job] = {}

    def register(self, router: Router) -> None:
        router.add("POST", f"{PARENT}/tuningJobs", self.create)
        router.add("GET", f"{PARENT}/tuningJobs", self.list)
        router.add("GET", f"{PARENT}/tuningJobs/{{job}}", self.get)
        router.add("POST", f"{PARENT}/tuningJobs/{{job}}:cancel", self.cancel)

    # -- routes ------------------------------------------------------------------------------------
    def create(self, request: Request) -> Response:
        body = request.json()
        parent = f"projects/{request.params['project']}/locations/{request.params['location']}"
        base = catalog.base_of(str(body.get("baseModel") or ""))
        if base is None:
            raise GoogleError(400, "INVALID_ARGUMENT",
                              f"Base model {body.get('baseModel')!r} is not supported for tuning. "
                              f"Supported: {', '.join(sorted(catalog.TUNABLE))}.")
        spec = body.get("supervisedTuningSpec")
        if not isinstance(spec, dict) or not str(spec.get("trainingDatasetUri", "")).startswith("gs://"):
            raise GoogleError(400, "INVALID_ARGUMENT",
                              "supervisedTuningSpec.trainingDatasetUri must be a gs:// URI of a JSONL file.")
        hyper = spec.get("hyperParameters") or {}
        if hyper.get("adapterSize") and hyper["adapterSize"] not in catalog.ADAPTER_SIZES:
            raise GoogleError(400, "INVALID_ARGUMENT", f"Unsupported adapterSize {hyper['adapterSize']!r}.")
        try:
            epochs = int(hyper.get("epochCount") or catalog.DEFAULT_EPOCHS)
        except (TypeError, ValueError):
            raise GoogleError(400, "INVALID_ARGUMENT", "epochCount must be an integer.") from None
        labels = body.get("labels") or {}
        if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
            raise GoogleError(400, "INVALID_ARGUMENT", "labels must map strings to strings.")
        now = self.app.now()
        job_id = str(self.app.next_id())
        obj: dict[str, Any] = {
            "name": f"{parent}/tuningJobs/{job_id}",
            "baseModel": base,
            "supervisedTuningSpec": {**spec, "hyperParameters": {**hyper, "epochCount": str(epochs)}},
            "state": "JOB_STATE_PENDING",
            "createTime": rfc3339(now),
            "updateTime": rfc3339(now),
        }
        for key in ("tunedModelDisplayName", "description"):
            if body.get(key):
                obj[key] = str(body[key])
        if labels:
            obj["labels"] = dict(labels)
        job = Job(obj, now, fail=request.context.get("fail_job"))
        with self.app.lock:
            self.jobs[obj["name"]] = job
        self.app.services.stats.bump("jobs_created")
        return json_response(obj)

    def _job(self, request: Request) -> Job:
        name = (f"projects/{request.params['project']}/locations/{request.params['location']}"
                f"/tuningJobs/{request.params['job']}")
        with self.app.lock:
            job = self.jobs.get(name)
            if job is None:
                raise GoogleError(404, "NOT_FOUND", f"The TuningJob does not exist: {name}")
            self.advance(job, self.app.now())
            return job

    def get(self, request: Request) -> Response:
        return json_response(self._job(request).obj)

    def list(self, request: Request) -> Response:
        parent = f"projects/{request.params['project']}/locations/{request.params['location']}/"
        wanted = dict(_FILTER.findall(request.arg("filter") or ""))
        try:
            size = max(1, min(100, int(request.arg("pageSize") or 100)))
            start = int(request.arg("pageToken") or 0)
        except ValueError:
            raise GoogleError(400, "INVALID_ARGUMENT", "pageSize and pageToken must be integers.") from None
        now = self.app.now()
        with self.app.lock:
            jobs = [j for name, j in self.jobs.items() if name.startswith(parent)]
            for job in jobs:
                self.advance(job, now)
            items = [j.obj for j in jobs if all((j.obj.get("labels") or {}).get(k) == v for k, v in wanted.items())]
        items.sort(key=lambda o: (o["createTime"], o["name"]), reverse=True)
        page: dict[str, Any] = {}
        if items[start: start + size]:
            page["tuningJobs"] = items[start: start + size]
        if start + size < len(items):
            page["nextPageToken"] = str(start + size)
        return json_response(page)

    def cancel(self, request: Request) -> Response:
        job = self._job(request)
        with self.app.lock:
            if job.obj["state"] in TERMINAL:
                raise GoogleError(400, "FAILED_PRECONDITION",
                                  f"Cannot cancel tuning job {job.obj['name']} in state {job.obj['state']}.")
            if job.obj["state"] != "JOB_STATE_CANCELLING":
                self._set(job, "JOB_STATE_CANCELLING", self.app.now())
        return json_response({})

    # -- lifecycle ---------------------------------------------------------------------------------
    def advance(self, job: Job, now: float) -> None:
        """Replay what should have happened to ``job`` up to ``now`` (the caller holds the lock)."""
        while job.obj["state"] not in TERMINAL:
            state = job.obj["state"]
            if state == "JOB_STATE_PENDING":
                at = job.phase_at + PENDING_S
                if now < at:
                    return
                self._start(job, at)
            elif state == "JOB_STATE_RUNNING":
                fail_step = (job.fail or {}).get("at_step")
                if job.fail is not None:
                    fail_step = int(fail_step or max(1, job.steps // 2))
                    at = job.phase_at + fail_step * STEP_S
                    if now < at:
                        return
                    message = str(job.fail.get("message") or "Tuning failed (fault injected by the emulator).")
                    self._fail(job, at, 13, message)
                    return
                at = job.phase_at + job.steps * STEP_S
                if now < at:
                    return
                self._succeed(job, at)
            elif state == "JOB_STATE_CANCELLING":
                at = job.phase_at + CANCELLING_S
                if now < at:
                    return
                self._set(job, "JOB_STATE_CANCELLED", at)
                job.obj["endTime"] = rfc3339(at)
            else:
                return

    def _start(self, job: Job, at: float) -> None:
        spec = job.obj["supervisedTuningSpec"]
        data = self.app.storage.read(spec["trainingDatasetUri"])
        if data is None:
            self._fail(job, at, 3, f"Failed to read the training dataset {spec['trainingDatasetUri']}.")
            return
        problem, examples, tokens = rules.check(data, job.obj["baseModel"], limit=catalog.MAX_TRAINING_EXAMPLES)
        if problem is None and spec.get("validationDatasetUri"):
            extra = self.app.storage.read(spec["validationDatasetUri"])
            problem = (f"Failed to read the validation dataset {spec['validationDatasetUri']}." if extra is None
                       else rules.check(extra, job.obj["baseModel"], limit=catalog.MAX_VALIDATION_EXAMPLES)[0])
        if problem is not None:
            self._fail(job, at, 3, f"Invalid dataset: {problem}")
            return
        epochs = int(spec["hyperParameters"]["epochCount"])
        job.examples = examples
        job.steps = max(1, math.ceil(len(examples) * epochs / BATCH))
        job.obj["tuningDataStats"] = {
            "supervisedTuningDataStats": {
                "tuningDatasetExampleCount": str(len(examples)),
                "totalBillableTokenCount": str(tokens * epochs),
                "tuningStepCount": str(job.steps),
            }
        }
        job.obj["startTime"] = rfc3339(at)
        self._set(job, "JOB_STATE_RUNNING", at)

    def _succeed(self, job: Job, at: float) -> None:
        model, endpoint = self.app.serving.publish(job, at)
        job.obj["tunedModel"] = {"model": model, "endpoint": endpoint}
        job.obj["endTime"] = rfc3339(at)
        self._set(job, "JOB_STATE_SUCCEEDED", at)

    def _fail(self, job: Job, at: float, code: int, message: str) -> None:
        job.obj["error"] = {"code": code, "message": message}
        job.obj["endTime"] = rfc3339(at)
        self._set(job, "JOB_STATE_FAILED", at)

    @staticmethod
    def _set(job: Job, state: str, at: float) -> None:
        job.obj["state"] = state
        job.obj["updateTime"] = rfc3339(at)
        job.phase_at = at

    def fail(self, job_id: str, params: dict[str, Any]) -> None:
        with self.app.lock:
            matches = [j for name, j in self.jobs.items() if name == job_id or name.endswith(f"/{job_id}")]
            if not matches:
                raise ValueError(f"no Vertex tuning job {job_id!r} to fail")
            matches[0].fail = {k: v for k, v in params.items() if k != "job_id"} or {"message": None}


def new_id() -> int:
    return uuid.uuid4().int % 10**18
