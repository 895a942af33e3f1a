"""The data plane (``/openai/...?api-version=``): files, fine-tuning jobs with their events and checkpoints,
cancel, and chat completions that answer only through a deployment of the model.

Jobs move ``pending`` (files being checked) -> ``running`` (one emulated minute per epoch) -> ``succeeded``,
or ``failed`` with the reason, or ``cancelled``; the tuned model is ``<base>.ft-<32 hex>`` and checkpoints
``ftchkpt-<32 hex>``, as Azure names them (``how-to/fine-tuning-deploy.md``)."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftclient.emulator.azure import catalog, rules
from ftclient.emulator.http import ApiError, Request, Response, Router, json_response, paginate
from ftclient.emulator.multipart import parse_multipart
from ftclient.emulator.openai.learner import NearestNeighbour, baseline_answer, content_text, prompt_text
from ftclient.emulator.persist import FileBytes

if TYPE_CHECKING:
    from ftclient.emulator.azure.app import AzureApp

PENDING_S = 30.0
EPOCH_S = 60.0
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})


@dataclass
class AzureJob:
    obj: dict[str, Any]
    created: float
    epochs: int = 1
    fail: dict[str, Any] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    learner: NearestNeighbour | None = None
    tokens_per_epoch: int = 0


def shown(obj: dict[str, Any]) -> dict[str, Any]:
    """A job as Azure's stable spec shows it: keys without a value are left out, not null (the 2024-10-21
    ``FineTuningJob`` declares ``fine_tuned_model``, ``finished_at``... as plain strings and integers)."""
    return {k: v for k, v in obj.items() if v is not None}


def _hex(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:32]


class DataPlane:
    def __init__(self, app: AzureApp) -> None:
        self.app = app
        self.files: dict[str, dict[str, Any]] = {}
        state_dir = app.services.config.state_dir
        self.bytes = FileBytes(Path(state_dir) if state_dir is not None else None)
        self.jobs: dict[str, AzureJob] = {}
        self.tuned: dict[str, str] = {}
        """Tuned model or checkpoint name -> job id."""

    def register(self, router: Router) -> None:
        router.add("POST", "/openai/files", self.upload)
        router.add("GET", "/openai/files", self.list_files)
        router.add("GET", "/openai/files/{file_id}", self.get_file)
        router.add("DELETE", "/openai/files/{file_id}", self.delete_file)
        router.add("GET", "/openai/files/{file_id}/content", self.file_content)
        router.add("POST", "/openai/fine_tuning/jobs", self.create_job)
        router.add("GET", "/openai/fine_tuning/jobs", self.list_jobs)
        router.add("GET", "/openai/fine_tuning/jobs/{job_id}", self.get_job)
        router.add("POST", "/openai/fine_tuning/jobs/{job_id}/cancel", self.cancel_job)
        router.add("GET", "/openai/fine_tuning/jobs/{job_id}/events", self.events)
        router.add("GET", "/openai/fine_tuning/jobs/{job_id}/checkpoints", self.list_checkpoints)
        router.add("POST", "/openai/deployments/{deployment}/chat/completions", self.chat)

    # -- files -----------------------------------------------------------------------------------
    def upload(self, request: Request) -> Response:
        parts = parse_multipart(request.header("content-type"), request.body)
        if "file" not in parts:
            raise ApiError(400, "Missing required parameter: 'file'.", param="file")
        purpose = parts["purpose"].data.decode() if "purpose" in parts else ""
        if purpose != "fine-tune":
            raise ApiError(400, f"Invalid value for purpose: {purpose!r}; this resource takes 'fine-tune'.")
        data = parts["file"].data
        if len(data) >= catalog.MAX_FILE_BYTES:
            raise ApiError(400, "The file is too large: files must be smaller than 512 MB.", param="file")
        file_id = f"file-{uuid.uuid4().hex}"
        now = int(self.app.now())
        obj = {
            "id": file_id,
            "object": "file",
            "bytes": len(data),
            "created_at": now,
            "filename": parts["file"].filename or "upload.jsonl",
            "purpose": purpose,
            "status": "processed",
        }
        with self.app.lock:
            self.files[file_id] = obj
            self.bytes.put_content(file_id, data)
        self.app.changed()
        return json_response(obj, status=201)

    def _file(self, file_id: str) -> dict[str, Any]:
        found = self.files.get(file_id)
        if found is None:
            raise ApiError(404, f"File with id '{file_id}' not found.", code="fileNotFound")
        return found

    def list_files(self, request: Request) -> Response:
        return json_response({"object": "list", "data": list(self.files.values())})

    def get_file(self, request: Request) -> Response:
        return json_response(self._file(request.params["file_id"]))

    def delete_file(self, request: Request) -> Response:
        file_id = request.params["file_id"]
        self._file(file_id)
        with self.app.lock:
            self.files.pop(file_id, None)
            self.bytes.drop_content(file_id)
        self.app.changed()
        return json_response({"object": "file", "id": file_id, "deleted": True})

    def file_content(self, request: Request) -> Response:
        self._file(request.params["file_id"])
        return Response(body=self.bytes.content(request.params["file_id"]), content_type="application/octet-stream")

    # -- jobs ------------------------------------------------------------------------------------
    def create_job(self, request: Request) -> Response:
        body = request.json()
        model, training_file = body.get("model"), body.get("training_file")
        if not model or not training_file:
            raise ApiError(400, "'model' and 'training_file' are required.", code="invalidPayload")
        base = catalog.base_of(str(model))
        if base is None or (".ft-" in str(model) and str(model) not in self.tuned):
            raise ApiError(
                400, f"The specified base model '{model}' does not support fine-tuning.", code="invalidPayload"
            )
        if self.app.now() >= catalog.epoch_of(catalog.RETIREMENTS[base].fine_tune):
            raise ApiError(
                400,
                f"The base model '{base}' is retired for fine-tuning since {catalog.RETIREMENTS[base].fine_tune}.",
                code="invalidPayload",
            )
        training_type = str(body.get("trainingType") or "standard").lower()
        if training_type not in catalog.TRAINING_TYPES:
            raise ApiError(
                400, f"Unknown trainingType {training_type!r}; use one of {', '.join(catalog.TRAINING_TYPES)}."
            )
        if training_type == "globalstandard" and not catalog.MODELS[base].global_training:
            raise ApiError(400, f"Global training is not offered for {model}.", code="invalidPayload")
        for param in ("training_file", "validation_file"):
            if body.get(param):
                self._file(str(body[param]))
        suffix = body.get("suffix")
        if suffix is not None and (not isinstance(suffix, str) or len(suffix) > 40):
            raise ApiError(400, "The suffix can contain up to 40 characters.", param="suffix")
        method = body.get("method") or {"type": "supervised", "supervised": {"hyperparameters": {}}}
        kind = str(method.get("type") or "supervised")
        hyper = dict((method.get(kind) or {}).get("hyperparameters") or body.get("hyperparameters") or {})
        epochs = hyper.get("n_epochs", "auto")
        hyper["n_epochs"] = 1 if epochs == "auto" else int(epochs)
        now = self.app.now()
        job_id = f"ftjob-{uuid.uuid4().hex}"
        obj = {
            "id": job_id,
            "object": "fine_tuning.job",
            "created_at": int(now),
            "finished_at": None,
            "model": model,
            "fine_tuned_model": None,
            "training_file": training_file,
            "validation_file": body.get("validation_file"),
            "hyperparameters": hyper,
            "method": {"type": kind, kind: {"hyperparameters": hyper}},
            "suffix": suffix,
            "seed": body.get("seed"),
            "metadata": body.get("metadata") or {},
            "trainingType": training_type,
            "status": "pending",
            "result_files": [],
            "trained_tokens": None,
            "error": None,
        }
        job = AzureJob(obj, now, epochs=hyper["n_epochs"])
        self.app.services.stats.bump("jobs_created")
        if request.context.get("fail_job"):
            job.fail = dict(request.context["fail_job"])
        self._event(job, now, "Job enqueued. Waiting for jobs ahead to complete.")
        with self.app.lock:
            self.jobs[job_id] = job
        self.app.changed()
        return json_response(shown(obj), status=201)

    def _event(self, job: AzureJob, at: float, message: str, level: str = "info") -> None:
        job.events.append(
            {
                "object": "fine_tuning.job.event",
                "id": f"ftevent-{uuid.uuid4().hex}",
                "created_at": int(at),
                "level": level,
                "message": message,
                "type": "message",
            }
        )

    def advance(self, job: AzureJob) -> None:
        """Replay the job's schedule up to the emulated now."""
        now = self.app.now()
        obj = job.obj
        if obj["status"] in TERMINAL:
            return
        start_running = job.created + PENDING_S
        if obj["status"] == "pending" and now >= start_running:
            problem = self.learn(job)
            if problem is not None:
                self._finish(job, start_running, "failed", {"code": "invalidTrainingFile", "message": problem})
                return
            obj["status"] = "running"
            self._event(job, start_running, "Training started.")
        if obj["status"] == "running":
            fail_at = start_running + EPOCH_S * float((job.fail or {}).get("at_epoch", job.epochs) - 0.5)
            if job.fail is not None and now >= fail_at:
                message = str(job.fail.get("message") or "The training run failed due to an internal error.")
                self._finish(
                    job, fail_at, "failed", {"code": str(job.fail.get("code") or "internalError"), "message": message}
                )
                return
            for epoch in range(len(job.checkpoints) + 1, job.epochs + 1):
                at = start_running + EPOCH_S * epoch
                if now < at:
                    break
                self._checkpoint(job, epoch, at)
            if len(job.checkpoints) >= job.epochs:
                self._finish(job, start_running + EPOCH_S * job.epochs, "succeeded", None)

    def learn(self, job: AzureJob) -> str | None:
        """Check the job's training file; when it passes, build what the tuned model answers from (also what a
        restarted emulator does for the jobs it reloads). Returns the problem, or None."""
        data = self.bytes.content(job.obj["training_file"])
        problem, examples = rules.check(data, job.obj["method"]["type"])
        if problem is None:
            job.learner = NearestNeighbour([(prompt_text(m), a) for m, a in examples])
            job.tokens_per_epoch = sum(len(prompt_text(m)) // 4 + len(a) // 4 + 4 for m, a in examples)
        return problem

    def _checkpoint(self, job: AzureJob, epoch: int, at: float) -> None:
        loss = round(1.0 / (epoch + 1), 4)
        # Training metrics arrive as events of type "metrics" with the step's figures in ``data``, as on
        # OpenAI's API (azure-openai-dataplane.json, EventType: message | metrics;
        # FineTuningJobEvent.data). The emulator reports one step per epoch.
        job.events.append(
            {
                "object": "fine_tuning.job.event",
                "id": f"ftevent-{uuid.uuid4().hex}",
                "created_at": int(at),
                "level": "info",
                "message": f"Step {epoch}/{job.epochs}: training loss={loss}",
                "type": "metrics",
                "data": {"step": epoch, "total_steps": job.epochs, "train_loss": loss},
            }
        )
        name = f"{job.obj['model'].split('.ft-')[0]}.ft-{_hex(job.obj['id'])}:ckpt-step-{epoch}"
        job.checkpoints.append(
            {
                "object": "fine_tuning.job.checkpoint",
                "id": f"ftchkpt-{_hex(job.obj['id'] + str(epoch))}",
                "created_at": int(at),
                "fine_tuned_model_checkpoint": name,
                "step_number": epoch,
                "metrics": {"step": epoch, "train_loss": round(1.0 / (epoch + 1), 4)},
                "fine_tuning_job_id": job.obj["id"],
            }
        )
        self._event(job, at, f"Completed epoch {epoch} of {job.epochs}.")

    def _finish(self, job: AzureJob, at: float, status: str, error: dict[str, Any] | None) -> None:
        obj = job.obj
        obj["status"], obj["finished_at"], obj["error"] = status, int(at), error
        if status == "succeeded":
            obj["fine_tuned_model"] = f"{obj['model'].split('.ft-')[0]}.ft-{_hex(obj['id'])}"
            obj["trained_tokens"] = job.tokens_per_epoch * job.epochs
            self.tuned[obj["fine_tuned_model"]] = obj["id"]
            self._event(job, at, "Training succeeded.")
        elif status == "failed":
            self._event(job, at, f"Training failed: {(error or {}).get('message')}", level="error")
        else:
            self._event(job, at, "Job cancelled.")

    def job(self, job_id: str) -> AzureJob:
        with self.app.lock:
            found = self.jobs.get(job_id)
            if found is None:
                raise ApiError(404, f"The specified fine-tuning job '{job_id}' was not found.", code="notFound")
            self.advance(found)
            return found

    def list_jobs(self, request: Request) -> Response:
        with self.app.lock:
            for job in self.jobs.values():
                self.advance(job)
            items = [shown(j.obj) for j in sorted(self.jobs.values(), key=lambda j: -j.created)]
        return json_response(paginate(items, request, default_limit=20, first_last=False))

    def get_job(self, request: Request) -> Response:
        return json_response(shown(self.job(request.params["job_id"]).obj))

    def cancel_job(self, request: Request) -> Response:
        job = self.job(request.params["job_id"])
        with self.app.lock:
            if job.obj["status"] in TERMINAL:
                status = job.obj["status"]
                raise ApiError(400, f"The job is {status} and cannot be cancelled.", code="jobNotCancellable")
            self._finish(job, self.app.now(), "cancelled", None)
        self.app.changed()
        return json_response(shown(job.obj))

    def events(self, request: Request) -> Response:
        job = self.job(request.params["job_id"])
        return json_response(paginate(job.events[::-1], request, default_limit=20, first_last=False))

    def list_checkpoints(self, request: Request) -> Response:
        job = self.job(request.params["job_id"])
        return json_response(paginate(job.checkpoints[::-1], request, default_limit=10))

    # -- inference -------------------------------------------------------------------------------
    def chat(self, request: Request) -> Response:
        name = request.params["deployment"]
        body = request.json()
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise ApiError(400, "messages must be a non-empty list.", param="messages")
        model = self.app.management.serving(name)
        prompt_tokens = 3 + sum(len(content_text(m.get("content"))) // 4 + 4 for m in messages if isinstance(m, dict))
        max_out = body.get("max_tokens")
        # Azure's quota is per deployment (tokens and requests per minute): one pool per deployment name.
        admission = self.app.services.limiter.admit(name, prompt_tokens + int(max_out or 256))
        if not admission.ok:
            raise ApiError(429, admission.message, type="error", code="429", headers=admission.headers)
        job_id = self.tuned.get(model)
        learner = self.jobs[job_id].learner if job_id else None
        answer = learner.answer(messages)[0] if learner is not None else baseline_answer(messages)
        completion_tokens = max(1, len(answer) // 4)
        self.app.services.stats.bump("completions")
        return json_response(
            {
                "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
                "object": "chat.completion",
                "created": int(self.app.now()),
                "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
        )
