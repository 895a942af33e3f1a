"""Fireworks' ``supervisedFineTuningJobs`` and ``dpoJobs``, and how a job moves on the emulated clock.

``JOB_STATE_PENDING`` -> ``VALIDATING`` (after ``PENDING_S``; the dataset is checked with the emulator's own
Fireworks rules, bad data ends ``FAILED`` with ``status.code`` INVALID_ARGUMENT) -> ``RUNNING`` (one step every
``STEP_S`` emulated seconds, ``jobProgress`` and a metrics-file line per step) -> ``WRITING_RESULTS`` ->
``COMPLETED``, with the tuned model ``accounts/<a>/models/<outputModel>`` created. ``:cancel`` ->
``CANCELLING`` -> ``CANCELLED``; ``:resume`` restarts a failed or cancelled job where it stopped. An
injected fault ends the job ``FAILED`` with ``status.code`` INTERNAL. The order of the states is inferred
from Fireworks' docs (they list the states, not their order).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import uuid
from typing import TYPE_CHECKING, Any

from ftclient.emulator.fireworks import catalog, rules
from ftclient.emulator.fireworks.rpc import RpcError, page
from ftclient.emulator.fireworks.state import FJob, rfc3339
from ftclient.emulator.http import Request, Response, Router, json_response

if TYPE_CHECKING:
    from ftclient.emulator.fireworks.app import FireworksApp

PENDING_S = 5.0
VALIDATING_S = 10.0
STEP_S = 3.0
WRITING_S = 10.0
CANCELLING_S = 2.0
TERMINAL = frozenset({"JOB_STATE_COMPLETED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED"})
KINDS = {
    "supervisedFineTuningJobs": ("supervised", "supervised_fine_tuning_job_id", "supervisedFineTuningJobId"),
    "dpoJobs": ("dpo", "dpo_job_id", "dpoJobId"),
}
ID_RULE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
V2_REJECTS = ("batchSize", "gradientAccumulationSteps", "jinjaTemplate")
"""Deprecated fields Training V2 refuses when set (docs.fireworks.ai/fine-tuning/fine-tuning-models)."""


class Jobs:
    def __init__(self, app: FireworksApp) -> None:
        self.app = app

    def register(self, router: Router) -> None:
        base = "/v1/accounts/{account_id}"
        router.add("POST", f"{base}/supervisedFineTuningJobs:estimateCost", self.estimate)
        # Verb routes before ``GET …/{id}``, which would also match ``x:getMetricsFileEndpoint``.
        router.add("GET", f"{base}/dpoJobs/{{dpo_job_id}}:getMetricsFileEndpoint", self.metrics_endpoint)
        for collection, (_, param, _) in KINDS.items():
            one = f"{base}/{collection}/{{{param}}}"
            router.add("POST", f"{one}:cancel", self.cancel)
            router.add("POST", f"{one}:resume", self.resume)
            router.add("POST", f"{base}/{collection}", self.create)
            router.add("GET", f"{base}/{collection}", self.list)
            router.add("GET", one, self.retrieve)
            router.add("DELETE", one, self.delete)
        router.add("GET", "/_storage/metrics/{account}/{collection}/{job}", self.metrics_file)

    # -- helpers ---------------------------------------------------------------------------------
    @staticmethod
    def _collection(request: Request) -> str:
        return "dpoJobs" if "/dpoJobs" in request.path else "supervisedFineTuningJobs"

    def _name(self, request: Request) -> str:
        collection = self._collection(request)
        ident = request.params[KINDS[collection][1]]
        return f"accounts/{request.params['account_id']}/{collection}/{ident}"

    def _job(self, name: str) -> FJob:
        with self.app.store.lock:
            job = self.app.store.jobs.get(name)
            if job is None:
                raise RpcError("NOT_FOUND", f"job {name} not found")
            self.advance(job, self.app.now())
            return job

    def _view(self, job: FJob, request: Request) -> dict[str, Any]:
        obj = dict(job.obj)
        if job.method == "supervised" and job.obj["state"] not in {"JOB_STATE_PENDING", "JOB_STATE_VALIDATING"}:
            _, account, collection, ident = job.obj["name"].split("/")
            obj["metricsFileSignedUrl"] = self.app.signed(request, f"/_storage/metrics/{account}/{collection}/{ident}")
        return obj

    def _dataset(self, name: Any, what: str) -> dict[str, Any]:
        found = self.app.store.datasets.get(str(name or ""))
        if found is None:
            raise RpcError("NOT_FOUND", f"{what} {name} not found")
        if found["state"] != "READY":
            raise RpcError("FAILED_PRECONDITION", f"{what} {name} is not READY (state {found['state']})")
        return found

    def _config(self, body: dict[str, Any], method: str) -> dict[str, Any]:
        config = dict(body.get("trainingConfig") or {}) if method == "dpo" else body
        base = config.get("baseModel")
        warm = config.get("warmStartFrom")
        if bool(base) == bool(warm):
            raise RpcError("INVALID_ARGUMENT", "exactly one of baseModel and warmStartFrom must be set")
        if base and base not in catalog.TUNABLE:
            raise RpcError("INVALID_ARGUMENT", f"base model {base} is not available for fine-tuning")
        if warm and warm not in self.app.store.models:
            raise RpcError("NOT_FOUND", f"model {warm} not found")
        for name in V2_REJECTS:
            if config.get(name):
                raise RpcError("INVALID_ARGUMENT", f"{name} is not supported by Training V2; leave it unset")
        epochs = config.get("epochs", catalog.DEFAULT_EPOCHS)
        if not isinstance(epochs, int) or epochs < 1:
            raise RpcError("INVALID_ARGUMENT", "epochs must be a positive integer")
        rank = config.get("loraRank", catalog.DEFAULT_LORA_RANK)
        if rank not in catalog.LORA_RANKS:
            raise RpcError("INVALID_ARGUMENT", "loraRank must be a power of 2 up to 32")
        rate = config.get("learningRate", catalog.DEFAULT_LEARNING_RATE)
        if not isinstance(rate, int | float) or not 0 < rate <= 1:
            raise RpcError("INVALID_ARGUMENT", "learningRate must be in (0, 1]")
        batch = config.get("batchSizeSamples", catalog.DEFAULT_BATCH_SAMPLES)
        if not isinstance(batch, int) or batch < 1:
            raise RpcError("INVALID_ARGUMENT", "batchSizeSamples must be a positive integer")
        model = str(base or self.app.store.models[str(warm)]["peftDetails"]["baseModel"])
        return {
            "baseModel": model,
            "epochs": epochs,
            "loraRank": rank,
            "learningRate": rate,
            "batchSizeSamples": batch,
            "maxContextLength": config.get("maxContextLength") or catalog.BASES[model][1],
            **({"warmStartFrom": warm} if warm else {}),
        }

    def _cost(self, dataset: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
        tokens = int(dataset.get("estimatedTokenCount") or 0) * int(config["epochs"])
        usd = tokens * catalog.training_usd_per_1m(config["baseModel"]) / 1_000_000
        nanos = round((usd - math.floor(usd)) * 1e9)
        return {"currencyCode": "USD", "units": str(math.floor(usd)), "nanos": nanos}

    # -- routes ----------------------------------------------------------------------------------
    def estimate(self, request: Request) -> Response:
        body = request.json()
        dataset = self._dataset(body.get("dataset"), "dataset")
        return json_response({"estimatedCost": self._cost(dataset, self._config(body, "supervised"))})

    def create(self, request: Request) -> Response:
        collection = self._collection(request)
        method, _, id_param = KINDS[collection]
        body = request.json()
        dataset = self._dataset(body.get("dataset"), "dataset")
        if body.get("evaluationDataset"):
            self._dataset(body["evaluationDataset"], "evaluation dataset")
        config = self._config(body, method)
        examples = int(dataset.get("exampleCount") or 0)
        if examples * int(config["epochs"]) > catalog.MAX_EXAMPLE_EPOCHS:
            raise RpcError("INVALID_ARGUMENT", "examples x epochs may be at most 3,000,000")
        ident = request.arg(id_param) or f"{uuid.uuid4().hex[:12]}"
        if not ID_RULE.match(ident):
            raise RpcError("INVALID_ARGUMENT", f"{id_param} must be 1-63 lowercase letters, digits or hyphens")
        account = request.params["account_id"]
        name = f"accounts/{account}/{collection}/{ident}"
        output = str((body.get("trainingConfig") or body).get("outputModel") or ident)
        now = self.app.now()
        obj: dict[str, Any] = {
            "name": name,
            "displayName": str(body.get("displayName") or ident),
            "createTime": rfc3339(now),
            "updateTime": rfc3339(now),
            "dataset": dataset["name"],
            "state": "JOB_STATE_PENDING",
            "status": {"code": "OK", "message": ""},
            "createdBy": "emulator@ftclient.invalid",
            "jobProgress": {"percent": 0, "epoch": 0},
        }
        training = {**config, "outputModel": f"accounts/{account}/models/{output}"}
        if method == "dpo":
            obj["trainingConfig"] = training
            obj["lossConfig"] = body.get("lossConfig") or {"method": "DPO"}
        else:
            obj.update(training)
            obj["estimatedCost"] = self._cost(dataset, config)
            if body.get("evaluationDataset"):
                obj["evaluationDataset"] = body["evaluationDataset"]
        job = FJob(obj=obj, method=method, phase_at=now)
        if request.context.get("fail_job"):
            job.fail = {k: v for k, v in request.context["fail_job"].items() if k != "job_id"}
        with self.app.store.lock:
            if name in self.app.store.jobs:
                raise RpcError("ALREADY_EXISTS", f"job {name} already exists")
            if training["outputModel"] in self.app.store.models:
                raise RpcError("ALREADY_EXISTS", f"model {training['outputModel']} already exists")
            self.app.store.jobs[name] = job
        self.app.services.stats.bump("jobs_created")
        self.app.changed()
        return json_response(self._view(job, request))

    def list(self, request: Request) -> Response:
        collection = self._collection(request)
        prefix = f"accounts/{request.params['account_id']}/{collection}/"
        now = self.app.now()
        with self.app.store.lock:
            items = []
            for name, job in self.app.store.jobs.items():
                if name.startswith(prefix):
                    self.advance(job, now)
                    items.append(self._view(job, request))
        items.sort(key=lambda o: o["createTime"], reverse=True)
        return json_response(page(items, request, collection))

    def retrieve(self, request: Request) -> Response:
        return json_response(self._view(self._job(self._name(request)), request))

    def delete(self, request: Request) -> Response:
        name = self._name(request)
        self._job(name)
        with self.app.store.lock:
            del self.app.store.jobs[name]
        self.app.changed()
        return json_response({})

    def cancel(self, request: Request) -> Response:
        job = self._job(self._name(request))
        with self.app.store.lock:
            if job.obj["state"] not in TERMINAL | {"JOB_STATE_CANCELLING"}:
                self._set(job, "JOB_STATE_CANCELLING", self.app.now())
        self.app.changed()
        return json_response({})

    def resume(self, request: Request) -> Response:
        job = self._job(self._name(request))
        with self.app.store.lock:
            if job.obj["state"] not in {"JOB_STATE_FAILED", "JOB_STATE_CANCELLED"} or not job.total_steps:
                raise RpcError("FAILED_PRECONDITION", f"job in state {job.obj['state']} cannot be resumed")
            now = self.app.now()
            job.fail = None
            job.obj["status"] = {"code": "OK", "message": ""}
            job.obj.pop("completedTime", None)
            self._set(job, "JOB_STATE_RUNNING", now - job.steps_done * STEP_S)
        self.app.changed()
        return json_response(self._view(job, request))

    def metrics_endpoint(self, request: Request) -> Response:
        job = self._job(self._name(request))
        _, account, collection, ident = job.obj["name"].split("/")
        return json_response(
            {"signedUrl": self.app.signed(request, f"/_storage/metrics/{account}/{collection}/{ident}")}
        )

    def metrics_file(self, request: Request) -> Response:
        self.app.check_signature(request)
        p = request.params
        job = self._job(f"accounts/{p['account']}/{p['collection']}/{p['job']}")
        body = "".join(json.dumps(point) + "\n" for point in job.metrics).encode()
        return Response(status=200, body=body, content_type="application/jsonl")

    # -- lifecycle -------------------------------------------------------------------------------
    def _set(self, job: FJob, state: str, at: float) -> None:
        job.obj["state"] = state
        job.obj["updateTime"] = rfc3339(at)
        job.phase_at = at
        if state in TERMINAL:
            job.obj["completedTime"] = rfc3339(at)

    def _fail(self, job: FJob, at: float, code: str, message: str) -> None:
        job.obj["status"] = {"code": code, "message": message}
        self._set(job, "JOB_STATE_FAILED", at)

    def advance(self, job: FJob, now: float) -> None:
        """Replay what should have happened to ``job`` up to ``now`` (caller holds the store lock)."""
        while job.obj["state"] not in TERMINAL:
            state = job.obj["state"]
            waits = {
                "JOB_STATE_PENDING": PENDING_S,
                "JOB_STATE_VALIDATING": VALIDATING_S,
                "JOB_STATE_WRITING_RESULTS": WRITING_S,
                "JOB_STATE_CANCELLING": CANCELLING_S,
            }
            if state == "JOB_STATE_RUNNING":
                if not self._run(job, now):
                    return
                continue
            at = job.phase_at + waits.get(state, math.inf)
            if now < at:
                return
            if state == "JOB_STATE_PENDING":
                self._set(job, "JOB_STATE_VALIDATING", at)
            elif state == "JOB_STATE_VALIDATING":
                problem = self._validate(job)
                if problem is None and job.fail and job.fail.get("phase") == "validating":
                    problem = str(
                        job.fail.get("message") or "The dataset was rejected (fault injected by the emulator)."
                    )
                if problem is not None:
                    self._fail(job, at, "INVALID_ARGUMENT", problem)
                    return
                self._set(job, "JOB_STATE_RUNNING", at)
            elif state == "JOB_STATE_WRITING_RESULTS":
                self._complete(job, at)
            elif state == "JOB_STATE_CANCELLING":
                self._set(job, "JOB_STATE_CANCELLED", at)

    def _validate(self, job: FJob) -> str | None:
        data = self.app.store.content(job.obj["dataset"])
        problem, examples = rules.check(data, job.method)
        if problem is not None:
            return problem
        if not examples:
            return "Invalid dataset: no example has an answer to learn from."
        config = job.obj.get("trainingConfig") or job.obj
        job.n_train = len(examples)
        job.epoch_steps = max(1, math.ceil(job.n_train / int(config["batchSizeSamples"])))
        job.total_steps = job.epoch_steps * int(config["epochs"])
        job.tokens_per_epoch = sum(rules.estimate_tokens(line) for line in data.decode("utf-8", "replace").splitlines())
        return None

    def _run(self, job: FJob, now: float) -> bool:
        """Steps due by ``now``; True once training is over (the job moved to WRITING_RESULTS)."""
        start = job.phase_at
        due = min(job.total_steps, int((now - start) // STEP_S))
        fail_at = int(job.fail.get("at_step") or max(1, job.total_steps // 2)) if job.fail else None
        for step in range(job.steps_done + 1, due + 1):
            at = start + step * STEP_S
            if fail_at is not None and step >= fail_at:
                job.steps_done = step - 1
                message = str((job.fail or {}).get("message") or "Training failed (fault injected by the emulator).")
                self._fail(job, at, "INTERNAL", message)
                return False
            progress = step / max(1, job.total_steps)
            digest = hashlib.sha256(f"{job.obj['name']}:{step}".encode()).digest()
            noise = int.from_bytes(digest[:4], "big") / 2**32 - 0.5
            job.metrics.append(
                {
                    "step": step,
                    "total_steps": job.total_steps,
                    "epoch": (step - 1) // job.epoch_steps,
                    "train/loss": round(0.2 + 1.7 * math.exp(-4 * progress) + 0.05 * noise, 5),
                    "time": rfc3339(at),
                }
            )
            job.steps_done = step
            job.obj["jobProgress"] = {"percent": int(100 * progress), "epoch": (step - 1) // job.epoch_steps}
        if job.steps_done < job.total_steps:
            return False
        self._set(job, "JOB_STATE_WRITING_RESULTS", start + job.total_steps * STEP_S)
        return True

    def _complete(self, job: FJob, at: float) -> None:
        config = job.obj.get("trainingConfig") or job.obj
        output = config["outputModel"]
        self.app.store.models[output] = {
            "name": output,
            "displayName": output.rsplit("/", 1)[-1],
            "createTime": rfc3339(at),
            "state": "READY",
            "kind": "HF_PEFT_ADDON",
            "peftDetails": {
                "baseModel": config["baseModel"],
                "r": config["loraRank"],
                "targetModules": ["q_proj", "k_proj", "v_proj", "o_proj"],
            },
            "fineTuningJob": job.obj["name"],
            "supportsServerless": False,
        }
        job.obj["jobProgress"] = {"percent": 100, "epoch": int(config["epochs"]) - 1}
        self._set(job, "JOB_STATE_COMPLETED", at)
