"""The OpenAI provider app: wires the route groups to one state store and the shared services."""

from __future__ import annotations

import datetime as dt
import hashlib
import string
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftclient.emulator.dialect import DialectApp, RouteGroup
from ftclient.emulator.http import ApiError
from ftclient.emulator.openai import accounting, catalog, lifecycle, training
from ftclient.emulator.openai.batches import Batches
from ftclient.emulator.openai.chat import Chat
from ftclient.emulator.openai.filerules import FileRejection
from ftclient.emulator.openai.files import Files
from ftclient.emulator.openai.jobs import Jobs
from ftclient.emulator.openai.learner import NearestNeighbour
from ftclient.emulator.openai.models import Models, model_not_found, shutdown_date
from ftclient.emulator.openai.moderations import Moderations
from ftclient.emulator.openai.state import JobState, Store

if TYPE_CHECKING:
    from ftclient.emulator.server import Services

ORG_SLUG = "ftclient-emulator"
_ALNUM = string.ascii_letters + string.digits


class OpenAIApp(DialectApp[Store]):
    def __init__(self, services: Services) -> None:
        state_dir = services.config.state_dir
        super().__init__(services, Store(services.rng, Path(state_dir) if state_dir is not None else None))
        self.files = Files(self)
        self.jobs = Jobs(self)
        self.chat = Chat(self)
        self.moderations = Moderations(self)
        self.batches = Batches(self)
        self.models = Models(self)
        self._tuned: dict[str, str] = {}
        for job in self.store.jobs.values():
            if job.obj["status"] == "succeeded":
                self.register_tuned_model(job)
        _preload_encodings()

    def route_groups(self) -> Sequence[RouteGroup]:
        return (self.files, self.jobs, self.chat, self.moderations, self.batches, self.models)

    # -- models ----------------------------------------------------------------------------------
    def fine_tunable_base(self, model: str) -> str:
        """The base snapshot a job on ``model`` trains, or a 400 like OpenAI's."""
        unavailable = ApiError(
            400,
            f"Model {model} is not available for fine-tuning or does not exist.",
            param="model",
            code="model_not_available",
        )
        if model.startswith("ft:") and self._tuned_job(model) is None:
            raise unavailable
        snapshot = catalog.snapshot_of(model)
        if snapshot is None:
            raise unavailable
        today = self.today()
        if today >= catalog.JOB_CREATION_ENDS:
            raise ApiError(
                403,
                "Fine-tuning is no longer available to your organization: job creation ended on "
                f"{catalog.JOB_CREATION_ENDS.isoformat()} for all organizations.",
                param="model",
                code="fine_tuning_unavailable",
            )
        if catalog.is_shut_down(snapshot, today):
            end = catalog.MODELS[snapshot].shutdown_date
            raise ApiError(
                400,
                f"Model {model} was shut down on {end} and is not available for fine-tuning.",
                param="model",
                code="model_not_available",
            )
        return snapshot

    def today(self) -> dt.date:
        return dt.datetime.fromtimestamp(self.now(), dt.UTC).date()

    def check_method(self, base: str, model: str, method: str) -> None:
        if method == "reinforcement":
            raise ApiError(
                400,
                "The emulator does not run reinforcement fine-tuning (it needs graders); use 'supervised' or 'dpo'.",
                param="method.type",
                code="invalid_method",
            )
        methods = catalog.MODELS[base].methods
        if method not in methods:
            raise ApiError(
                400,
                f"Model {model} does not support the {method} method (it supports {', '.join(sorted(methods))}).",
                param="method.type",
                code="invalid_method",
            )

    def planned_model_name(self, job: JobState) -> str:
        digest = hashlib.sha256(job.obj["id"].encode()).digest()
        short = "".join(_ALNUM[b % len(_ALNUM)] for b in digest[:8])
        suffix = job.obj.get("user_provided_suffix") or ""
        base = job.obj["model"]
        if base.startswith("ft:"):
            base = base.split(":")[1]
        return f"ft:{base}:{ORG_SLUG}:{suffix}:{short}"

    def register_tuned_model(self, job: JobState) -> None:
        model = job.obj.get("fine_tuned_model")
        if not model or model in self.store.deleted_models:
            return
        self._tuned[model] = job.obj["id"]
        for checkpoint in job.checkpoints:
            self._tuned[checkpoint["fine_tuned_model_checkpoint"]] = job.obj["id"]

    def _tuned_job(self, model: str) -> JobState | None:
        job_id = self._tuned.get(model)
        return self.store.jobs.get(job_id) if job_id else None

    def tuned_model_objects(self) -> list[dict[str, Any]]:
        with self.store.lock:
            jobs = [j for j in self.store.jobs.values() if j.obj.get("fine_tuned_model") in self._tuned]
            return [
                {
                    "id": j.obj["fine_tuned_model"],
                    "object": "model",
                    "created": j.obj["finished_at"],
                    "owned_by": ORG_SLUG,
                    "shutdown_date": shutdown_date(j.obj["fine_tuned_model"]),
                }
                for j in jobs
            ]

    def delete_tuned_model(self, model: str) -> bool:
        with self.store.lock:
            job = self._tuned_job(model)
            if job is None:
                return False
            names = [n for n, job_id in self._tuned.items() if job_id == job.obj["id"] and n.startswith(model)]
            for name in names:
                self._tuned.pop(name, None)
                self.store.deleted_models.add(name)
        self.changed()
        return True

    def chat_model(self, model: str) -> tuple[str, str, NearestNeighbour | None]:
        """("tuned" | "base", base snapshot for tokens and rate limits, learner or None)."""
        snapshot = catalog.snapshot_of(model)
        job = None
        if model.startswith("ft:"):
            with self.store.lock:
                job = self._tuned_job(model)
        if snapshot is None or (model.startswith("ft:") and job is None):
            raise model_not_found(model)
        self.models.ensure_serving(model)
        return ("tuned", snapshot, self._learner(job)) if job is not None else ("base", snapshot, None)

    def _learner(self, job: JobState) -> NearestNeighbour:
        return self.cached_learner(
            job.obj["id"],
            lambda: training.build_learner(
                training.parse_examples(self.store.content(job.obj["training_file"]), job.method)
            ),
        )

    # -- jobs ------------------------------------------------------------------------------------
    def validate_job_files(self, job: JobState) -> dict[str, Any] | None:
        """Check the job's files as ``validating_files`` does; None if fine, else the job's error."""
        base = catalog.snapshot_of(job.obj["model"]) or job.obj["model"]
        checked: list[tuple[str, str]] = [("training_file", job.obj["training_file"])]
        if job.obj.get("validation_file"):
            checked.append(("validation_file", job.obj["validation_file"]))
        counts: dict[str, int] = {}
        for param, file_id in checked:
            if file_id not in self.store.files:
                return _file_error(param, f"The file {file_id} was deleted before the job could read it.")
            data = self.store.content(file_id)
            try:
                records = training.checked_records(data, job.method, training=param == "training_file")
            except FileRejection as exc:
                return _file_error(param, exc.message, exc.code)
            if param == "training_file":
                job.tokens_per_epoch = training.tokens_per_epoch(records, job.method, base)
                self.keep_learner(
                    job.obj["id"], training.build_learner(training.learner_examples(records, job.method))
                )
            counts[param] = len(records)
        job.n_train = counts["training_file"]
        job.n_valid = counts.get("validation_file", 0)
        method = job.obj["method"]
        resolved = training.resolve_hyperparameters(method[job.method]["hyperparameters"], job.n_train)
        method[job.method]["hyperparameters"] = resolved
        job.obj["hyperparameters"] = {k: resolved[k] for k in ("n_epochs", "batch_size", "learning_rate_multiplier")}
        job.epoch_steps = -(-job.n_train // int(resolved["batch_size"]))
        job.total_steps = job.epoch_steps * int(resolved["n_epochs"])
        return None

    def fail_job(self, job_id: str, params: dict[str, Any]) -> None:
        with self.store.lock:
            job = self.store.jobs.get(job_id)
            if job is None:
                raise ValueError(f"no fine-tuning job {job_id!r} to fail")
            job.fail = {k: v for k, v in params.items() if k != "job_id"}
            if job.obj["status"] == "running":
                job.fail.setdefault("at_step", job.steps_done + 1)
        self.changed()

    def stats(self) -> dict[str, Any]:
        with self.store.lock:
            statuses: dict[str, int] = {}
            for job in self.store.jobs.values():
                lifecycle.advance(self, job, self.now())
                statuses[job.obj["status"]] = statuses.get(job.obj["status"], 0) + 1
            return {
                "jobs": statuses,
                "files": len(self.store.files),
                "batches": len(self.store.batches),
                "tuned_models": sorted(n for n in self._tuned if ":ckpt-step-" not in n),
            }


def _preload_encodings() -> None:
    """Load the tokenizers before the first request: concurrent first requests would each load them."""
    accounting.encoding(catalog.O200K)
    threading.Thread(target=accounting.encoding, args=(catalog.CL100K,), daemon=True).start()


def _file_error(param: str, detail: str, code: str | None = None) -> dict[str, Any]:
    what = "training" if param == "training_file" else "validation"
    return {
        "code": code if code == "invalid_n_examples" else f"invalid_{param}",
        "message": f"The job failed due to an invalid {what} file. {detail}",
        "param": param,
    }
