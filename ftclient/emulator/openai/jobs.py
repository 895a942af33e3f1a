"""``/v1/fine_tuning/jobs``: create (with OpenAI's range checks), list, retrieve, cancel, pause, resume,
events and checkpoints."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ftclient.emulator.http import ApiError, Request, Response, Router, json_response, not_found, paginate
from ftclient.emulator.openai import lifecycle
from ftclient.emulator.openai.state import JobState

if TYPE_CHECKING:
    from ftclient.emulator.openai.app import OpenAIApp

METHODS = ("supervised", "dpo", "reinforcement")
# name -> (lowest, highest, lowest is exclusive)
HYPERPARAMETER_RANGES: dict[str, tuple[float, float, bool]] = {
    "n_epochs": (1, 50, False),
    "batch_size": (1, 256, False),
    "learning_rate_multiplier": (0, float("inf"), True),
    "beta": (0, 2, True),
}
MAX_SEED = 2_147_483_647


class Jobs:
    def __init__(self, app: OpenAIApp) -> None:
        self.app = app
        self.store = app.store

    def register(self, router: Router) -> None:
        router.add("POST", "/v1/fine_tuning/jobs", self.create)
        router.add("GET", "/v1/fine_tuning/jobs", self.list_all)
        router.add("GET", "/v1/fine_tuning/jobs/{fine_tuning_job_id}", self.retrieve)
        router.add("POST", "/v1/fine_tuning/jobs/{fine_tuning_job_id}/cancel", self.cancel)
        router.add("POST", "/v1/fine_tuning/jobs/{fine_tuning_job_id}/pause", self.pause)
        router.add("POST", "/v1/fine_tuning/jobs/{fine_tuning_job_id}/resume", self.resume)
        router.add("GET", "/v1/fine_tuning/jobs/{fine_tuning_job_id}/events", self.events)
        router.add("GET", "/v1/fine_tuning/jobs/{fine_tuning_job_id}/checkpoints", self.checkpoints)

    def get(self, job_id: str) -> JobState:
        with self.store.lock:
            job = self.store.jobs.get(job_id)
            if job is None:
                raise not_found("fine-tuning job", job_id, "fine_tuning_job_id")
            before = (job.obj["status"], len(job.events))
            lifecycle.advance(self.app, job, self.app.now())
            if (job.obj["status"], len(job.events)) != before:
                self.app.changed()
            return job

    # -- create ----------------------------------------------------------------------------------
    def create(self, request: Request) -> Response:
        body = request.json()
        model = body.get("model")
        training_file = body.get("training_file")
        if not model:
            raise ApiError(
                400, "Missing required parameter: 'model'.", param="model", code="missing_required_parameter"
            )
        if not training_file:
            raise ApiError(
                400,
                "Missing required parameter: 'training_file'.",
                param="training_file",
                code="missing_required_parameter",
            )
        base = self.app.fine_tunable_base(str(model))
        method_type, hyperparameters = _method(body)
        self.app.check_method(base, str(model), method_type)
        self._check_file(str(training_file), "training_file")
        validation_file = body.get("validation_file")
        if validation_file:
            self._check_file(str(validation_file), "validation_file")
        suffix = body.get("suffix")
        if suffix is not None and (not isinstance(suffix, str) or not 1 <= len(suffix) <= 64):
            raise ApiError(400, "Invalid 'suffix': string must be 1 to 64 characters long.", param="suffix")
        seed = body.get("seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED):
            raise ApiError(400, f"Invalid 'seed': integer must be between 0 and {MAX_SEED}.", param="seed")
        metadata = _metadata(body.get("metadata"))
        integrations = body.get("integrations") or []
        if integrations:
            raise ApiError(
                400,
                "The emulator has no Weights & Biases integration to send metrics to; "
                "create the job without 'integrations'.",
                param="integrations",
            )
        now = self.app.now()
        job_id = self.store.new_id("ftjob-")
        if seed is None:
            seed = self.app.services.rng.randint(0, MAX_SEED)
        method: dict[str, Any] = {"type": method_type, method_type: {"hyperparameters": dict(hyperparameters)}}
        obj: dict[str, Any] = {
            "id": job_id,
            "object": "fine_tuning.job",
            "created_at": int(now),
            # Live jobs of 2024-2025 carry "error": {} until they fail (real-payloads job-10), which the
            # spec's schema does not allow; the SDK reads it as an Error of Nones.
            "error": {},
            "fine_tuned_model": None,
            "finished_at": None,
            "hyperparameters": {
                "n_epochs": hyperparameters.get("n_epochs", "auto"),
                "batch_size": hyperparameters.get("batch_size", "auto"),
                "learning_rate_multiplier": hyperparameters.get("learning_rate_multiplier", "auto"),
            },
            "model": base if not str(model).startswith("ft:") else str(model),
            "organization_id": "org-ftclient-emulator",
            "result_files": [],
            "seed": seed,
            "status": "validating_files",
            "trained_tokens": None,
            "training_file": training_file,
            "validation_file": validation_file or None,
            "integrations": [],
            "metadata": metadata,
            "method": method,
            "estimated_finish": None,
            "user_provided_suffix": suffix,
            # Keys the spec does not list, sent by the live API since 2025 (real-payloads job-10).
            "usage_metrics": None,
            "shared_with_openai": False,
            "eval_id": None,
        }
        job = JobState(obj=obj, method=method_type, phase_at=now)
        if "fail_job" in request.context:
            job.fail = dict(request.context["fail_job"])
        with self.store.lock:
            self.store.jobs[job_id] = job
            lifecycle.add_event(self.app, job, now, f"Created fine-tuning job: {job_id}")
            lifecycle.add_event(self.app, job, now, f"Validating training file: {training_file}")
        self.app.services.stats.bump("jobs_created")
        self.app.changed()
        return json_response(obj)

    def _check_file(self, file_id: str, param: str) -> None:
        with self.store.lock:
            obj = self.store.files.get(file_id)
        if obj is None:
            raise ApiError(400, f"invalid {param}: {file_id} (no such file)", param=param, code=f"invalid_{param}")
        if obj["purpose"] != "fine-tune":
            raise ApiError(
                400,
                f"File {file_id} has purpose {obj['purpose']!r}; fine-tuning needs a file uploaded "
                "with purpose 'fine-tune'.",
                param=param,
                code=f"invalid_{param}",
            )

    # -- read ------------------------------------------------------------------------------------
    def list_all(self, request: Request) -> Response:
        wanted = _metadata_filter(request)
        with self.store.lock:
            jobs = [self.get(job_id).obj for job_id in self.store.jobs]
        if wanted == "null":
            jobs = [j for j in jobs if not j.get("metadata")]
        elif isinstance(wanted, dict):
            jobs = [j for j in jobs if all((j.get("metadata") or {}).get(k) == v for k, v in wanted.items())]
        jobs.sort(key=lambda j: (j["created_at"], j["id"]), reverse=True)
        return json_response(paginate(jobs, request, default_limit=20, max_limit=100, first_last=False))

    def retrieve(self, request: Request) -> Response:
        return json_response(self.get(request.params["fine_tuning_job_id"]).obj)

    def events(self, request: Request) -> Response:
        job = self.get(request.params["fine_tuning_job_id"])
        with self.store.lock:
            events = list(reversed(job.events))
        return json_response(paginate(events, request, default_limit=20, max_limit=1000, first_last=False))

    def checkpoints(self, request: Request) -> Response:
        job = self.get(request.params["fine_tuning_job_id"])
        with self.store.lock:
            checkpoints = list(reversed(job.checkpoints))
        return json_response(paginate(checkpoints, request, default_limit=10, max_limit=100))

    # -- control ---------------------------------------------------------------------------------
    def cancel(self, request: Request) -> Response:
        with self.store.lock:
            job = self.get(request.params["fine_tuning_job_id"])
            if job.obj["status"] in lifecycle.TERMINAL:
                raise ApiError(400, f"Job has already completed: {job.obj['id']} (status {job.obj['status']}).")
            now = self.app.now()
            job.obj.update(status="cancelled", finished_at=int(now), estimated_finish=None)
            lifecycle.add_event(self.app, job, now, "Fine-tuning job cancelled")
        self.app.changed()
        return json_response(job.obj)

    def pause(self, request: Request) -> Response:
        with self.store.lock:
            job = self.get(request.params["fine_tuning_job_id"])
            if job.obj["status"] != "running":
                raise ApiError(400, f"Only a running job can be paused; {job.obj['id']} is {job.obj['status']}.")
            now = self.app.now()
            job.obj["status"] = "pausing"
            job.paused_at = now
            lifecycle.add_event(self.app, job, now, "Pausing fine-tuning job")
        self.app.changed()
        return json_response(job.obj)

    def resume(self, request: Request) -> Response:
        with self.store.lock:
            job = self.get(request.params["fine_tuning_job_id"])
            if job.obj["status"] not in {"pausing", "paused"}:
                raise ApiError(400, f"Only a paused job can be resumed; {job.obj['id']} is {job.obj['status']}.")
            now = self.app.now()
            job.paused_total += now - (job.paused_at or now)
            job.paused_at = None
            job.obj["status"] = "running"
            job.obj["estimated_finish"] = int(
                job.phase_at + job.paused_total + job.total_steps * lifecycle.STEP_S + lifecycle.FINALIZE_S
            )
            lifecycle.add_event(self.app, job, now, "Fine-tuning job resumed")
        self.app.changed()
        return json_response(job.obj)


def _method(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    method = body.get("method") or {}
    if not isinstance(method, dict):
        raise ApiError(400, "Invalid 'method': expected an object.", param="method")
    method_type = method.get("type", "supervised")
    if method_type not in METHODS:
        raise ApiError(
            400, f"Invalid 'method.type': {method_type!r}; expected one of {', '.join(METHODS)}.", param="method.type"
        )
    hyperparameters = dict(((method.get(method_type) or {}).get("hyperparameters")) or {})
    legacy = body.get("hyperparameters")
    if legacy:
        if hyperparameters:
            raise ApiError(
                400,
                "Pass hyperparameters either at the top level (deprecated) or in 'method', not both.",
                param="hyperparameters",
            )
        hyperparameters = dict(legacy)
    for name, value in hyperparameters.items():
        if name not in HYPERPARAMETER_RANGES:
            if method_type == "supervised" or name not in {
                "reasoning_effort",
                "compute_multiplier",
                "eval_interval",
                "eval_samples",
            }:
                raise ApiError(400, f"Unknown hyperparameter {name!r}.", param=f"hyperparameters.{name}")
            continue
        if name == "beta" and method_type != "dpo":
            raise ApiError(400, "'beta' applies to the dpo method only.", param="hyperparameters.beta")
        if value == "auto":
            continue
        lo, hi, exclusive = HYPERPARAMETER_RANGES[name]
        integral = name in {"n_epochs", "batch_size"}
        kind_ok = isinstance(value, int) if integral else isinstance(value, int | float)
        if isinstance(value, bool) or not kind_ok or value > hi or value < lo or (exclusive and value == lo):
            bound = f"> {lo}" if exclusive else f">= {lo}"
            upper = "" if hi == float("inf") else f" and <= {hi:g}"
            raise ApiError(
                400,
                f"Invalid hyperparameter {name}={value!r}: expected 'auto' or a "
                f"{'integer' if integral else 'number'} {bound}{upper}.",
                param=f"hyperparameters.{name}",
                code="invalid_hyperparameter",
            )
    return str(method_type), hyperparameters


def _metadata(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ApiError(400, "Invalid 'metadata': expected an object of string keys and values.", param="metadata")
    if len(value) > 16:
        raise ApiError(400, f"Invalid 'metadata': at most 16 pairs, got {len(value)}.", param="metadata")
    for key, item in value.items():
        if len(key) > 64 or not isinstance(item, str) or len(item) > 512:
            raise ApiError(
                400,
                f"Invalid 'metadata' entry {key!r}: keys are at most 64 characters and values strings of at most 512.",
                param="metadata",
            )
    return dict(value)


def _metadata_filter(request: Request) -> dict[str, str] | str | None:
    if request.arg("metadata") == "null":
        return "null"
    wanted = {
        name[len("metadata[") : -1]: values[-1]
        for name, values in request.query.items()
        if name.startswith("metadata[") and name.endswith("]")
    }
    return wanted or None
