"""Model customization jobs and the custom models they make, moving on the emulated clock.

``InProgress`` with ``statusDetails`` validation -> data processing -> training (one step every ``STEP_S``
emulated seconds), then ``Completed`` and the custom model ``Active``. The training data is read from S3
and checked by the dialect's own rules when validation ends; bad data fails the job with the line in
``failureMessage``. ``StopModelCustomizationJob`` -> ``Stopping`` -> ``Stopped``. A ``clientRequestToken``
seen before returns the job it created (the API's idempotency), whatever else the request says.

Metrics go where Bedrock writes them, under the job's output location: ``model-customization-job-<id>/
training_artifacts/step_wise_training_metrics.csv`` (``step_number,epoch_number,training_loss``) and
``validation_artifacts/post_fine_tuning_validation/validation/validation_metrics.csv``
(``step_number,epoch_number,validation_loss``). The paths and columns are as Bedrock's "analyze the results"
page describes them (docs.aws.amazon.com/bedrock/latest/userguide/model-customization-analyze.html), remembered,
not read from a stored copy: an assumption.
"""

from __future__ import annotations

import math
import random
import threading
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ftclient.emulator.bedrock import catalog, rules
from ftclient.emulator.bedrock.wire import aws_error, iso, page
from ftclient.emulator.http import Request, Response, Router, json_response
from ftclient.emulator.openai.learner import NearestNeighbour

if TYPE_CHECKING:
    from ftclient.emulator.bedrock.app import BedrockApp

VALIDATING_S = 30.0
PROCESSING_S = 30.0
STEP_S = 5.0
STOPPING_S = 10.0
EXAMPLES_PER_STEP = 8


@dataclass
class Job:
    ident: str
    request: dict[str, Any]
    created: float
    records: int = 0
    total_steps: int = 0
    examples: list[tuple[str, str]] = field(default_factory=list)
    validation: list[tuple[str, str]] = field(default_factory=list)
    status: str = "InProgress"
    phase: str = "validation"
    failure: str | None = None
    ended: float | None = None
    stop_at: float | None = None
    fail_at_step: int | None = None
    fail_message: str = "Internal error during training (injected by the emulator)."
    steps_written: int = -1
    model_arn: str | None = None

    @property
    def base(self) -> str:
        return catalog.base_of(str(self.request["baseModelIdentifier"])) or ""

    @property
    def arn(self) -> str:
        suffix = catalog.CUSTOMIZATION_SUFFIX.get(self.base, "")
        kind = "model-customization-job"
        return f"arn:aws:bedrock:{catalog.REGION}:{catalog.ACCOUNT}:{kind}/{self.base}{suffix}/{self.ident}"


def _ident() -> str:
    return uuid.uuid4().hex[:12]


def _hyperparameters(given: Any) -> dict[str, str]:
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise aws_error(400, "ValidationException", "hyperParameters must be a map of strings")
    unknown = sorted(set(given) - set(catalog.HYPERPARAMETERS))
    if unknown:
        raise aws_error(400, "ValidationException", f"Unsupported hyperparameter {unknown[0]!r} for this model. "
                        f"Supported: {', '.join(sorted(catalog.HYPERPARAMETERS))}")
    out: dict[str, str] = {}
    for name, (kind, low, high, default) in catalog.HYPERPARAMETERS.items():
        raw = given.get(name, default)
        try:
            value = kind(raw)
        except (TypeError, ValueError):
            raise aws_error(400, "ValidationException", f"Hyperparameter {name} must be a {kind.__name__}") from None
        if not low <= value <= high:
            raise aws_error(400, "ValidationException", f"Hyperparameter {name}={raw} is out of range [{low}, {high}]")
        out[name] = str(raw)
    return out


class Jobs:
    def __init__(self, app: BedrockApp) -> None:
        self.app = app
        self.jobs: dict[str, Job] = {}
        self.models: dict[str, dict[str, Any]] = {}
        """custom model ARN -> its description (GetCustomModel's shape, plus the job's id)."""
        self.lock = threading.RLock()

    def register(self, router: Router) -> None:
        router.add("POST", "/bedrock/model-customization-jobs", self.create)
        router.add("GET", "/bedrock/model-customization-jobs", self.list)
        router.add("GET", "/bedrock/model-customization-jobs/{job}", self.retrieve)
        router.add("POST", "/bedrock/model-customization-jobs/{job}/stop", self.stop)
        router.add("GET", "/bedrock/custom-models", self.list_models)
        router.add("GET", "/bedrock/custom-models/{model}", self.get_model)
        router.add("GET", "/bedrock/foundation-models", self.foundation_models)
        router.add("POST", "/bedrock/listTagsForResource", self.list_tags)

    # -- helpers ---------------------------------------------------------------------------------
    def find(self, identifier: str) -> Job:
        ident = unquote(identifier)
        with self.lock:
            for job in self.jobs.values():
                if ident in (job.arn, job.ident, job.request["jobName"]):
                    self.advance(job)
                    return job
        raise aws_error(404, "ResourceNotFoundException", f"Could not find the model customization job {ident}")

    def model(self, identifier: str) -> dict[str, Any] | None:
        ident = unquote(identifier)
        with self.lock:
            for job in list(self.jobs.values()):
                self.advance(job)
            for arn, model in self.models.items():
                if ident in (arn, model["modelName"]):
                    return model
        return None

    def learner(self, model_arn: str) -> NearestNeighbour | None:
        """The custom model's nearest-neighbour learner over its job's training examples."""
        with self.lock:
            job = next((j for j in self.jobs.values() if j.model_arn == model_arn), None)
        if job is None:
            return None
        return self.app.cached_learner(model_arn, lambda: NearestNeighbour(job.examples or [("", "")]))

    # -- the clock -------------------------------------------------------------------------------
    def advance(self, job: Job) -> None:
        now = self.app.now()
        if job.status in ("Completed", "Failed", "Stopped"):
            return
        if job.status == "Stopping":
            if job.stop_at is not None and now >= job.stop_at + STOPPING_S:
                job.status, job.ended = "Stopped", job.stop_at + STOPPING_S
            return
        start_training = job.created + VALIDATING_S + PROCESSING_S
        if job.phase == "validation" and now >= job.created + VALIDATING_S:
            self._validate(job)
            if job.status == "Failed":
                return
            job.phase = "processing"
        if job.phase == "processing" and now >= start_training:
            job.phase = "training"
        if job.phase == "training":
            done = min(job.total_steps, int((now - start_training) // STEP_S))
            if job.fail_at_step is not None and done >= job.fail_at_step:
                self._write_metrics(job, job.fail_at_step)
                job.status, job.failure = "Failed", job.fail_message
                job.ended = start_training + job.fail_at_step * STEP_S
                return
            self._write_metrics(job, done)
            if done >= job.total_steps:
                job.status, job.phase = "Completed", "done"
                job.ended = start_training + job.total_steps * STEP_S
                self._make_model(job)

    def _validate(self, job: Job) -> None:
        training = self.app.s3.read(str(job.request["trainingDataConfig"]["s3Uri"]))
        try:
            if training is None:
                raise rules.DataError(f"the training data {job.request['trainingDataConfig']['s3Uri']} is not there")
            records = rules.check_file(training, training=True)
            validation: list[tuple[str, list[dict[str, str]]]] = []
            for validator in (job.request.get("validationDataConfig") or {}).get("validators") or []:
                data = self.app.s3.read(str(validator.get("s3Uri")))
                if data is None:
                    raise rules.DataError(f"the validation data {validator.get('s3Uri')} is not there")
                validation += rules.check_file(data, training=False)
        except rules.DataError as exc:
            job.status, job.failure, job.ended = "Failed", f"Data validation failed: {exc}", job.created + VALIDATING_S
            return
        job.records = len(records)
        job.examples = [pair for record in records for pair in _pairs(record)]
        job.validation = [pair for record in validation for pair in _pairs(record)]
        epochs = int(job.request["hyperParameters"]["epochCount"])
        job.total_steps = epochs * max(1, math.ceil(len(records) / EXAMPLES_PER_STEP))

    def _loss(self, job: Job, step: int, *, validation: bool) -> float:
        """A falling loss curve, noisy but repeatable per job; validation sits a little above training."""
        noise = random.Random(f"{job.ident}:{step}:{validation}").uniform(-0.05, 0.05)
        level = 0.35 + 2.2 * math.exp(-3.0 * step / max(1, job.total_steps))
        return round(level + noise + (0.08 if validation else 0.0), 6)

    def _write_metrics(self, job: Job, done: int) -> None:
        if done <= job.steps_written:
            return
        job.steps_written = done
        steps_per_epoch = max(1, job.total_steps // int(job.request["hyperParameters"]["epochCount"]))
        bucket, prefix = self._output_root(job)
        lines = ["step_number,epoch_number,training_loss"]
        lines += [
            f"{s},{(s - 1) // steps_per_epoch},{self._loss(job, s, validation=False)}" for s in range(1, done + 1)
        ]
        self.app.s3.write(bucket, f"{prefix}training_artifacts/step_wise_training_metrics.csv",
                          ("\n".join(lines) + "\n").encode(), "text/csv")
        if job.validation:
            ends = [s for s in range(1, done + 1) if s % steps_per_epoch == 0]
            rows = ["step_number,epoch_number,validation_loss"]
            rows += [f"{s},{(s - 1) // steps_per_epoch},{self._loss(job, s, validation=True)}" for s in ends]
            self.app.s3.write(
                bucket,
                f"{prefix}validation_artifacts/post_fine_tuning_validation/validation/validation_metrics.csv",
                ("\n".join(rows) + "\n").encode(),
                "text/csv",
            )

    def _output_root(self, job: Job) -> tuple[str, str]:
        """(bucket, key prefix ``<prefix>/model-customization-job-<id>/``) under the job's output location."""
        bucket, _, prefix = str(job.request["outputDataConfig"]["s3Uri"]).removeprefix("s3://").partition("/")
        prefix = prefix.strip("/")
        return bucket, (f"{prefix}/" if prefix else "") + f"model-customization-job-{job.ident}/"

    def _make_model(self, job: Job) -> None:
        suffix = catalog.CUSTOMIZATION_SUFFIX.get(job.base, "")
        arn = f"arn:aws:bedrock:{catalog.REGION}:{catalog.ACCOUNT}:custom-model/{job.base}{suffix}/{_ident()}"
        job.model_arn = arn
        self.models[arn] = {
            "modelArn": arn,
            "modelName": job.request["customModelName"],
            "jobName": job.request["jobName"],
            "jobArn": job.arn,
            "baseModelArn": catalog.foundation_arn(job.base),
            "customizationType": job.request.get("customizationType", "FINE_TUNING"),
            "hyperParameters": job.request["hyperParameters"],
            "trainingDataConfig": job.request["trainingDataConfig"],
            "outputDataConfig": job.request["outputDataConfig"],
            "trainingMetrics": {"trainingLoss": self._loss(job, job.total_steps, validation=False)},
            "creationTime": iso(job.ended or self.app.now()),
            "modelStatus": "Active",
        }
        if job.request.get("validationDataConfig"):
            self.models[arn]["validationDataConfig"] = job.request["validationDataConfig"]

    # -- views -----------------------------------------------------------------------------------
    def view(self, job: Job) -> dict[str, Any]:
        request = job.request
        created = iso(job.created)
        out: dict[str, Any] = {
            "jobArn": job.arn,
            "jobName": request["jobName"],
            "outputModelName": request["customModelName"],
            "roleArn": request["roleArn"],
            "status": job.status,
            "statusDetails": self._details(job),
            "creationTime": created,
            "lastModifiedTime": iso(job.ended or self.app.now()),
            "baseModelArn": catalog.foundation_arn(job.base),
            "hyperParameters": request["hyperParameters"],
            "trainingDataConfig": request["trainingDataConfig"],
            "validationDataConfig": request.get("validationDataConfig") or {"validators": []},
            "outputDataConfig": request["outputDataConfig"],
            "customizationType": request.get("customizationType", "FINE_TUNING"),
        }
        if request.get("clientRequestToken"):
            out["clientRequestToken"] = request["clientRequestToken"]
        if job.failure:
            out["failureMessage"] = job.failure
        if job.ended is not None:
            out["endTime"] = iso(job.ended)
        if job.model_arn:
            out["outputModelArn"] = job.model_arn
            out["trainingMetrics"] = self.models[job.model_arn]["trainingMetrics"]
            if job.validation:
                out["validationMetrics"] = [{"validationLoss": self._loss(job, job.total_steps, validation=True)}]
        return out

    def _details(self, job: Job) -> dict[str, Any]:
        order = ["validation", "processing", "training"]
        current = order.index(job.phase) if job.phase in order else len(order)
        states = []
        for index in range(len(order)):
            if job.status == "Failed" and index == current:
                states.append("Failed")
            elif job.status in ("Stopping", "Stopped") and index >= current:
                states.append(job.status if index == current else "NotStarted")
            elif index < current:
                states.append("Completed")
            elif index == current:
                states.append("InProgress")
            else:
                states.append("NotStarted")
        stamp = iso(job.created)
        names = ("validationDetails", "dataProcessingDetails", "trainingDetails")
        return {name: {"status": state, "creationTime": stamp, "lastModifiedTime": stamp}
                for name, state in zip(names, states, strict=True)}

    def summary(self, job: Job) -> dict[str, Any]:
        full = self.view(job)
        keys = ("jobArn", "baseModelArn", "jobName", "status", "statusDetails", "lastModifiedTime", "creationTime",
                "endTime", "customizationType")
        out = {k: full[k] for k in keys if k in full}
        out["customModelName"] = job.request["customModelName"]
        if job.model_arn:
            out["customModelArn"] = job.model_arn
        return out

    # -- operations ------------------------------------------------------------------------------
    def create(self, request: Request) -> Response:
        body = request.json()
        token = body.get("clientRequestToken")
        with self.lock:
            if token:
                for job in self.jobs.values():
                    if job.request.get("clientRequestToken") == token:
                        return json_response({"jobArn": job.arn}, status=201)
            for key in ("jobName", "customModelName", "roleArn", "baseModelIdentifier", "trainingDataConfig",
                        "outputDataConfig"):
                if not body.get(key):
                    raise aws_error(400, "ValidationException", f"{key} is required")
            if not str(body["roleArn"]).startswith("arn:aws:iam::"):
                raise aws_error(400, "ValidationException",
                                "roleArn must be an IAM role ARN (arn:aws:iam::<account>:role/...)")
            base = catalog.base_of(str(body["baseModelIdentifier"]))
            if base is None:
                raise aws_error(404, "ResourceNotFoundException",
                                f"The base model {body['baseModelIdentifier']} cannot be customized in this emulator; "
                                f"tunable: {', '.join(sorted(catalog.FOUNDATION))}")
            if body.get("customizationType", "FINE_TUNING") != "FINE_TUNING":
                raise aws_error(400, "ValidationException", "The emulator runs FINE_TUNING jobs only")
            if any(j.request["jobName"] == body["jobName"] for j in self.jobs.values()):
                raise aws_error(409, "ConflictException", f"A job named {body['jobName']} already exists")
            body["hyperParameters"] = _hyperparameters(body.get("hyperParameters"))
            if self.app.s3.read(str(body["trainingDataConfig"].get("s3Uri"))) is None:
                raise aws_error(400, "ValidationException",
                                f"Could not read the training data at {body['trainingDataConfig'].get('s3Uri')}: "
                                "check the S3 URI and that the role can read it")
            job = Job(_ident(), body, self.app.now())
            fail = request.context.get("fail_job")
            if fail is not None:
                job.fail_at_step = int(fail.get("at_step", 1))
                job.fail_message = str(fail.get("message") or job.fail_message)
            self.jobs[job.ident] = job
        self.app.services.stats.bump("jobs_created")
        return json_response({"jobArn": job.arn}, status=201)

    def retrieve(self, request: Request) -> Response:
        with self.lock:
            return json_response(self.view(self.find(request.params["job"])))

    def list(self, request: Request) -> Response:
        name = request.arg("nameContains") or ""
        status = request.arg("statusEquals")
        with self.lock:
            found = []
            newest_first = request.arg("sortOrder") != "Ascending"
            for job in sorted(self.jobs.values(), key=lambda j: j.created, reverse=newest_first):
                self.advance(job)
                if name in job.request["jobName"] and (status is None or job.status == status):
                    found.append(self.summary(job))
        items, token = page(found, request)
        out: dict[str, Any] = {"modelCustomizationJobSummaries": items}
        if token:
            out["nextToken"] = token
        return json_response(out)

    def stop(self, request: Request) -> Response:
        with self.lock:
            job = self.find(request.params["job"])
            if job.status != "InProgress":
                raise aws_error(409, "ConflictException",
                                f"The job is {job.status}; only an InProgress job can be stopped")
            job.status, job.stop_at = "Stopping", self.app.now()
        return json_response({})

    def get_model(self, request: Request) -> Response:
        found = self.model(request.params["model"])
        if found is None:
            raise aws_error(404, "ResourceNotFoundException",
                            f"Could not find the custom model {unquote(request.params['model'])}")
        return json_response(found)

    def list_models(self, request: Request) -> Response:
        self.model("")  # advance every job first
        with self.lock:
            summaries = [
                {
                    "modelArn": arn,
                    "modelName": m["modelName"],
                    "creationTime": m["creationTime"],
                    "baseModelArn": m["baseModelArn"],
                    "baseModelName": catalog.FOUNDATION[catalog.base_of(m["baseModelArn"]) or ""][0],
                    "customizationType": m["customizationType"],
                    "ownerAccountId": catalog.ACCOUNT,
                    "modelStatus": m["modelStatus"],
                }
                for arn, m in sorted(self.models.items(), key=lambda kv: kv[1]["creationTime"], reverse=True)
            ]
        items, token = page(summaries, request)
        out: dict[str, Any] = {"modelSummaries": items}
        if token:
            out["nextToken"] = token
        return json_response(out)

    def foundation_models(self, request: Request) -> Response:
        return json_response({"modelSummaries": [
            {
                "modelArn": catalog.foundation_arn(model),
                "modelId": model,
                "modelName": name,
                "providerName": provider,
                "inputModalities": ["TEXT"],
                "outputModalities": ["TEXT"],
                "customizationsSupported": ["FINE_TUNING"],
                "inferenceTypesSupported": ["ON_DEMAND", "PROVISIONED"],
            }
            for model, (name, provider, _, _, _) in sorted(catalog.FOUNDATION.items())
        ]})

    def list_tags(self, request: Request) -> Response:
        """The ``jobTags`` a job was created with (other resources: none)."""
        arn = str(request.json().get("resourceARN") or "")
        with self.lock:
            for job in self.jobs.values():
                if job.arn == arn:
                    return json_response({"tags": list(job.request.get("jobTags") or [])})
        raise aws_error(404, "ResourceNotFoundException", f"Could not find the resource {arn}")

    def fail(self, ident: str, params: dict[str, Any]) -> None:
        with self.lock:
            job = self.find(ident)
            job.fail_at_step = int(params.get("at_step", 1))
            job.fail_message = str(params.get("message") or job.fail_message)

    def stats(self) -> dict[str, Any]:
        with self.lock:
            statuses: dict[str, int] = {}
            for job in self.jobs.values():
                self.advance(job)
                statuses[job.status] = statuses.get(job.status, 0) + 1
            return {"jobs": statuses, "custom_models": sorted(self.models)}


def _pairs(record: tuple[str, list[dict[str, str]]]) -> list[tuple[str, str]]:
    """(prompt, answer) per assistant turn of a record: what the nearest-neighbour model remembers."""
    system, turns = record
    pairs = []
    context = [system] if system else []
    for turn in turns:
        if turn["role"] == "assistant":
            pairs.append(("\n".join(context), turn["text"]))
        context.append(turn["text"])
    return pairs
