"""Together's ``/fine-tunes`` routes and how a job moves on the emulated clock.

``pending`` (the files are checked with the emulator's own reading of Together's rules, rules.py) ->
``queued`` -> ``running`` (one step every ``STEP_S`` emulated seconds, a metrics point per step, an
intermediate checkpoint per epoch)
-> ``compressing`` -> ``uploading`` -> ``completed`` with ``model_output_name`` set. ``cancel`` moves a
job to ``cancel_requested`` and shortly after to ``cancelled``; bad data ends in ``user_error``, an
injected fault in ``error``. Event types are UPPER-CASE as the live API sends them (real-payloads/together
job-1, job-2: ``JOB_PENDING``; the spec lists them lowercase); levels are the spec's; timestamps are ISO-8601.
Metrics points carry no timestamp (spec: flat numbers such as ``train/loss``, ``train/global_step``).
"""

from __future__ import annotations

import hashlib
import math
import uuid
from typing import TYPE_CHECKING, Any

from ftclient.emulator.http import ApiError, Request, Response, Router, json_response
from ftclient.emulator.together import catalog
from ftclient.emulator.together.state import TJob, iso

if TYPE_CHECKING:
    from ftclient.emulator.together.app import TogetherApp

PENDING_S = 5.0
QUEUE_S = 10.0
STEP_S = 3.0
COMPRESS_S = 10.0
UPLOAD_S = 10.0
CANCEL_S = 2.0
DEFAULT_BATCH = 8
TERMINAL = frozenset({"completed", "error", "user_error", "cancelled"})
SDK_EVENT_TYPES = {"model_compressing": "COMPRESSING_MODEL"}
"""Where together 1.6.0's ``FinetuneEventType`` spells a type otherwise than the spec's name in capitals."""
TRUNCATED_FIELDS = (
    "id",
    "status",
    "created_at",
    "updated_at",
    "started_at",
    "user_id",
    "owner_address",
    "total_price",
    "token_count",
    "events",
    "model",
    "model_output_name",
    "suffix",
    "training_file",
    "validation_file",
    "n_epochs",
    "n_checkpoints",
    "n_evals",
    "batch_size",
    "learning_rate",
    "warmup_ratio",
    "max_grad_norm",
    "weight_decay",
    "random_seed",
    "training_type",
    "training_method",
    "lr_scheduler",
    "wandb_project_name",
    "wandb_name",
)


class FineTunes:
    def __init__(self, app: TogetherApp) -> None:
        self.app = app

    def register(self, router: Router) -> None:
        router.add("POST", "/v1/fine-tunes/estimate-price", self.estimate_price)
        router.add("GET", "/v1/fine-tunes/models/supported", self.supported)
        router.add("GET", "/v1/fine-tunes/models/limits", self.limits)
        router.add("POST", "/v1/fine-tunes", self.create)
        router.add("GET", "/v1/fine-tunes", self.list)
        router.add("GET", "/v1/fine-tunes/{id}", self.retrieve)
        router.add("DELETE", "/v1/fine-tunes/{id}", self.delete)
        router.add("POST", "/v1/fine-tunes/{id}/cancel", self.cancel)
        router.add("GET", "/v1/fine-tunes/{id}/events", self.events)
        router.add("GET", "/v1/fine-tunes/{id}/checkpoints", self.checkpoints)
        router.add("GET", "/v1/fine-tunes/{id}/metrics", self.metrics)

    # -- models ----------------------------------------------------------------------------------
    def supported(self, request: Request) -> Response:
        return json_response({"models": sorted(catalog.FINE_TUNABLE)})

    def limits(self, request: Request) -> Response:
        name = request.arg("model_name") or ""
        found = catalog.limits(name)
        if found is None:
            return json_response({"message": f"Model {name!r} is not available for fine-tuning."}, status=404)
        return json_response(found)

    # -- price -----------------------------------------------------------------------------------
    def estimate_price(self, request: Request) -> Response:
        body = request.json()
        training_file = body.get("training_file")
        if not training_file:
            raise ApiError(400, "training_file is required.", param="training_file")
        self.app.files.get(str(training_file))
        model = str(body.get("model") or "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference")
        epochs = int(body.get("n_epochs") or catalog.DEFAULT_EPOCHS)
        n_evals = int(body.get("n_evals") or 0)
        full = str((body.get("training_type") or {}).get("type", "Lora")).lower() == "full"
        dpo = (body.get("training_method") or {}).get("method") == "dpo"
        # The pricing docs: (n_epochs x training tokens) + (n_evals x validation tokens).
        train_tokens = self.app.count_file_tokens(str(training_file)) * epochs
        eval_tokens = 0
        if body.get("validation_file") and n_evals:
            eval_tokens = self.app.count_file_tokens(str(body["validation_file"])) * n_evals
        price = (train_tokens + eval_tokens) * catalog.training_price_per_1m(model, full=full, dpo=dpo) / 1_000_000
        return json_response(
            {
                "estimated_total_price": round(max(price, 0.0), 6),
                "allowed_to_proceed": price <= self.app.credit_limit_usd,
                "user_limit": self.app.credit_limit_usd,
                "estimated_train_token_count": train_tokens,
                "estimated_eval_token_count": eval_tokens,
            }
        )

    # -- jobs ------------------------------------------------------------------------------------
    def create(self, request: Request) -> Response:
        body = request.json()
        for name in ("training_file", "model"):
            if not body.get(name):
                raise ApiError(400, f"{name} is required.", param=name)
        model = str(body["model"])
        limits = catalog.limits(model)
        if limits is None:
            raise ApiError(400, f"Model {model} is not supported for fine-tuning.", param="model")
        for name in ("training_file", "validation_file"):
            if body.get(name):
                self.app.files.get(str(body[name]))
        epochs = body.get("n_epochs", catalog.DEFAULT_EPOCHS)
        if not isinstance(epochs, int) or not 1 <= epochs <= limits["max_num_epochs"]:
            raise ApiError(400, f"n_epochs must be between 1 and {limits['max_num_epochs']}.", param="n_epochs")
        lr = body.get("learning_rate", catalog.DEFAULT_LEARNING_RATE)
        if not isinstance(lr, int | float) or not limits["min_learning_rate"] <= lr <= limits["max_learning_rate"]:
            raise ApiError(400, "learning_rate is outside the model's range.", param="learning_rate")
        suffix = body.get("suffix")
        if suffix is not None and (not isinstance(suffix, str) or len(suffix) > catalog.MAX_SUFFIX_CHARS):
            raise ApiError(
                400, f"suffix must be a string of at most {catalog.MAX_SUFFIX_CHARS} characters.", param="suffix"
            )
        training_type = dict(body.get("training_type") or {"type": "Lora"})
        section = limits["lora_training"] if training_type.get("type", "Lora") == "Lora" else limits["full_training"]
        if training_type.get("type", "Lora") == "Lora":
            training_type.setdefault("lora_r", section["max_rank"])
            training_type.setdefault("lora_alpha", 2 * training_type["lora_r"])
            training_type.setdefault("lora_dropout", 0.0)
            training_type.setdefault("lora_trainable_modules", "all-linear")
        method = dict(body.get("training_method") or {"method": "sft", "train_on_inputs": "auto"})
        if method.get("method") == "dpo" and not catalog.supports_dpo(model):
            raise ApiError(400, f"Model {model} does not support DPO.", param="training_method")
        batch = body.get("batch_size", "max")
        if batch == "max":
            batch = max_batch(section, self.app.count_examples(str(body["training_file"])))
        if not isinstance(batch, int) or not section["min_batch_size"] <= batch <= section["max_batch_size"]:
            raise ApiError(
                400,
                f"batch_size must be 'max' or between {section['min_batch_size']} and {section['max_batch_size']}.",
                param="batch_size",
            )
        now = self.app.now()
        job_id = f"ft-{uuid.uuid4()}"
        obj: dict[str, Any] = {
            "id": job_id,
            "status": "pending",
            "created_at": iso(now),
            "updated_at": iso(now),
            "user_id": "user_ftclient_emulator",
            "owner_address": "emulator@ftclient.invalid",
            "total_price": 0,
            "token_count": 0,
            "events": [],
            "model": model,
            "model_output_name": None,
            "suffix": suffix,
            "training_file": body["training_file"],
            "validation_file": body.get("validation_file") or "",
            "n_epochs": epochs,
            "n_checkpoints": int(body.get("n_checkpoints") or 1),
            "n_evals": int(body.get("n_evals") or 0),
            "batch_size": batch,
            "learning_rate": lr,
            "warmup_ratio": body.get("warmup_ratio", 0.0),
            "max_grad_norm": body.get("max_grad_norm", 1.0),
            "weight_decay": body.get("weight_decay", 0.0),
            "random_seed": body.get("random_seed"),
            "training_type": training_type,
            "training_method": method,
            # Linear by default: the spec's oneOf over the two argument shapes cannot tell cosine's apart.
            "lr_scheduler": body.get("lr_scheduler")
            or {"lr_scheduler_type": "linear", "lr_scheduler_args": {"min_lr_ratio": 0.0}},
            "wandb_project_name": body.get("wandb_project_name"),
            "wandb_name": body.get("wandb_name"),
            "train_on_inputs": method.get("train_on_inputs", "auto"),
        }
        job = TJob(obj=obj, created=now, phase_at=now, method="dpo" if method.get("method") == "dpo" else "supervised")
        fault = request.context.get("fail_job")
        if fault:
            job.fail = {k: v for k, v in fault.items() if k != "job_id"}
        _event(job, now, "job_pending", "Fine tune request created")
        with self.app.store.lock:
            self.app.store.jobs[job_id] = job
        self.app.services.stats.bump("jobs_created")
        self.app.changed()
        return json_response(_truncated(obj))

    def _job(self, job_id: str) -> TJob:
        with self.app.store.lock:
            job = self.app.store.jobs.get(job_id)
            if job is None:
                raise ApiError(404, f"Fine-tune job not found: {job_id}", param="id")
            self.advance(job, self.app.now())
            return job

    def list(self, request: Request) -> Response:
        with self.app.store.lock:
            jobs = list(self.app.store.jobs.values())
            for job in jobs:
                self.advance(job, self.app.now())
            return json_response({"data": [_truncated(j.obj) for j in jobs]})

    def retrieve(self, request: Request) -> Response:
        job = self._job(request.params["id"])
        full = dict(job.obj)
        full.update(
            trainingfile_numlines=job.n_train,
            trainingfile_size=len(self.app.store.content(job.obj["training_file"])),
            total_steps=job.total_steps,
            steps_completed=job.steps_done,
            epochs_completed=job.steps_done // job.epoch_steps if job.epoch_steps else 0,
            job_id=job.obj["id"],
        )
        return json_response({k: v for k, v in full.items() if v is not None})

    def delete(self, request: Request) -> Response:
        job = self._job(request.params["id"])
        with self.app.store.lock:
            del self.app.store.jobs[job.obj["id"]]
        self.app.changed()
        return json_response({"message": f"Fine-tune job {job.obj['id']} deleted"})

    def cancel(self, request: Request) -> Response:
        job = self._job(request.params["id"])
        with self.app.store.lock:
            if job.obj["status"] not in TERMINAL and job.obj["status"] != "cancel_requested":
                now = self.app.now()
                job.obj["status"] = "cancel_requested"
                job.obj["updated_at"] = iso(now)
                job.phase_at = now
                _event(job, now, "cancel_requested", "Cancel requested by the user")
        self.app.changed()
        return json_response(_truncated(job.obj))

    def events(self, request: Request) -> Response:
        return json_response({"data": list(self._job(request.params["id"]).obj["events"])})

    def checkpoints(self, request: Request) -> Response:
        job = self._job(request.params["id"])
        return json_response({"data": list(reversed(job.checkpoints))})

    def metrics(self, request: Request) -> Response:
        """Points in step order, cut by the optional JSON body's ``global_step_from``/``global_step_to``."""
        job = self._job(request.params["id"])
        query = request.json() if request.body else {}
        low, high = query.get("global_step_from"), query.get("global_step_to")
        points = [
            point
            for point in job.metrics
            if (not isinstance(low, int) or point["train/global_step"] >= low)
            and (not isinstance(high, int) or point["train/global_step"] <= high)
        ]
        return json_response({"metrics": points})

    # -- lifecycle -------------------------------------------------------------------------------
    def advance(self, job: TJob, now: float) -> None:
        """Replay whatever should have happened to ``job`` up to ``now`` (caller holds the store lock)."""
        obj = job.obj
        while obj["status"] not in TERMINAL:
            status = obj["status"]
            if status == "cancel_requested":
                at = job.phase_at + CANCEL_S
                if now < at:
                    return
                self._set(job, "cancelled", at)
                _event(job, at, "job_stopped", "Job was cancelled")
            elif status == "pending":
                at = job.phase_at + PENDING_S
                if now < at:
                    return
                problem = self.app.check_training_data(job)
                if problem is None and job.fail and job.fail.get("phase") == "validating":
                    problem = str(job.fail.get("message") or "The training data was rejected (injected fault).")
                if problem is not None:
                    self._set(job, "user_error", at)
                    _event(job, at, "job_error", problem, level="error")
                    return
                self._set(job, "queued", at)
                _event(job, at, "training_data_download_complete", "Training data downloaded and checked")
            elif status == "queued":
                at = job.phase_at + QUEUE_S
                if now < at:
                    return
                self._set(job, "running", at)
                obj["started_at"] = iso(at)
                _event(job, at, "job_start", "Job started")
                _event(job, at, "training_start", "Training started", total_steps=job.total_steps)
            elif status == "running":
                if not self._run_steps(job, now):
                    return
            elif status == "compressing":
                at = job.phase_at + COMPRESS_S
                if now < at:
                    return
                self._set(job, "uploading", at)
                _event(job, at, "model_compression_complete", "Model compressed")
                _event(job, at, "model_uploading", "Uploading the model")
            elif status == "uploading":
                at = job.phase_at + UPLOAD_S
                if now < at:
                    return
                self._complete(job, at)
            else:
                return

    def _set(self, job: TJob, status: str, at: float) -> None:
        job.obj["status"] = status
        job.obj["updated_at"] = iso(at)
        job.phase_at = at

    def _run_steps(self, job: TJob, now: float) -> bool:
        """Steps due by ``now``; True when training finished (the job moved on to compressing)."""
        start = job.phase_at
        due = min(job.total_steps, int((now - start) // STEP_S))
        fail_at = int(job.fail.get("at_step") or max(1, job.total_steps // 2)) if job.fail else None
        for step in range(job.steps_done + 1, due + 1):
            at = start + step * STEP_S
            if fail_at is not None and step >= fail_at:
                job.steps_done = step
                self._set(job, "error", at)
                message = str((job.fail or {}).get("message") or "Training failed (fault injected by the emulator).")
                _event(job, at, "job_error", message, level="error", step=step)
                return False
            progress = step / max(1, job.total_steps)
            loss = round(0.15 + 1.8 * math.exp(-4.5 * progress) + 0.05 * _noise(job.obj["id"], step), 5)
            job.metrics.append(
                {
                    "train/loss": loss,
                    "train/learning_rate": job.obj["learning_rate"] * (1 - progress),
                    "train/global_step": step,
                }
            )
            if job.epoch_steps and step % job.epoch_steps == 0 and step < job.total_steps:
                epoch = step // job.epoch_steps
                _event(job, at, "epoch_complete", f"Epoch {epoch} completed", step=step)
                path = f"s3://ftclient-emulator/{job.obj['id']}/checkpoint-{step}"
                job.checkpoints.append(
                    {"step": step, "created_at": iso(at), "path": path, "checkpoint_type": "Intermediate"}
                )
                _event(job, at, "checkpoint_save", f"Checkpoint saved at step {step}", step=step, checkpoint_path=path)
        job.steps_done = max(job.steps_done, due)
        if job.steps_done < job.total_steps:
            return False
        at = start + job.total_steps * STEP_S
        _event(job, at, "training_complete", "Training completed", step=job.total_steps)
        self._set(job, "compressing", at)
        _event(job, at, "model_compressing", "Compressing the model")
        return True

    def _complete(self, job: TJob, at: float) -> None:
        base = job.obj["model"].rsplit("/", 1)[-1]
        short = hashlib.sha256(job.obj["id"].encode()).hexdigest()[:8]
        suffix = job.obj.get("suffix")
        name = f"{self.app.account}/{base}-{suffix}-{short}" if suffix else f"{self.app.account}/{base}-{short}"
        epochs = int(job.obj["n_epochs"])
        tokens = job.tokens_per_epoch * epochs
        full = str(job.obj["training_type"].get("type")).lower() == "full"
        evals = int(job.obj.get("n_evals") or 0)
        validation = job.obj.get("validation_file")
        eval_tokens = self.app.count_file_tokens(validation) * evals if validation and evals else 0
        rate = catalog.training_price_per_1m(job.obj["model"], full=full, dpo=job.method == "dpo")
        price = (tokens + eval_tokens) * rate / 1_000_000
        # total_price is an integer in 1e-9 USD on the live API (real-payloads/together/job-3: 21368624400).
        job.obj.update(model_output_name=name, token_count=tokens, total_price=round(price * 1e9))
        job.checkpoints.append(
            {"step": job.total_steps, "created_at": iso(at), "path": f"s3://{name}", "checkpoint_type": "Final"}
        )
        _event(job, at, "model_upload_complete", f"Model uploaded: {name}", model_path=f"s3://{name}")
        self._set(job, "completed", at)
        _event(job, at, "job_complete", f"Job finished; the model is {name}", token_count=tokens)
        self.app.register_tuned(job)


def max_batch(section: dict[str, Any], examples: int) -> int:
    """What ``"max"`` resolves to: the largest power of two up to a quarter of the examples, within the limits."""
    fitting = 2 ** max(0, int(math.log2(max(1, examples // 4))))
    return int(max(section["min_batch_size"], min(section["max_batch_size"], fitting)))


def plan_steps(job: TJob, n_train: int) -> None:
    batch = job.obj.get("batch_size")
    size = batch if isinstance(batch, int) and batch > 0 else DEFAULT_BATCH
    job.n_train = n_train
    job.epoch_steps = max(1, math.ceil(n_train / size))
    job.total_steps = job.epoch_steps * int(job.obj["n_epochs"])


def _truncated(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: obj.get(k) for k in TRUNCATED_FIELDS if obj.get(k) is not None}


def _event(job: TJob, at: float, kind: str, message: str, *, level: str = "info", **extra: Any) -> None:
    event: dict[str, Any] = {
        "object": "fine-tune-event",
        "created_at": iso(at),
        "level": level,
        "message": message,
        "type": SDK_EVENT_TYPES.get(kind, kind.upper()),
        "param_count": 0,
        "token_count": int(extra.get("token_count", 0)),
        "total_steps": int(extra.get("total_steps", job.total_steps)),
        "wandb_url": "",
        "step": int(extra.get("step", job.steps_done)),
        "checkpoint_path": str(extra.get("checkpoint_path", "")),
        "model_path": str(extra.get("model_path", "")),
        "training_offset": 0,
        "hash": hashlib.sha256(f"{job.obj['id']}:{len(job.obj['events'])}".encode()).hexdigest()[:16],
    }
    job.obj["events"].append(event)


def _noise(seed: str, step: int) -> float:
    digest = hashlib.sha256(f"{seed}:{step}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 - 0.5
