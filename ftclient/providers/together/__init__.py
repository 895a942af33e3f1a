"""Together AI behind ftclient's provider protocol, over plain HTTP (``httpx2``, the openai SDK's client).

Credentials: ``TOGETHER_API_KEY``; ``TOGETHER_BASE_URL`` points the adapter elsewhere (the local emulator,
a proxy), exactly like Together's own SDK.

Never retried here: job creation (a resend after a lost response would start a second paid job;
``ftclient.launching.create`` finds the job by the run token in its suffix first), endpoint creation (a
second endpoint bills twice) and ``chat`` (the evaluation runner paces and retries).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ftclient.errors import InvalidRequestError, PermissionError_, RemoteNotFoundError
from ftclient.providers.base import (
    Capabilities,
    ChatRequest,
    ChatResult,
    Checkpoint,
    JobEvent,
    JobInfo,
    JobSpec,
    ModerationResult,
    RateLimitState,
)
from ftclient.providers.headers import rate_limit_state
from ftclient.providers.rest import post_chat
from ftclient.providers.retries import request_settings
from ftclient.providers.together import wire
from ftclient.providers.together.endpoints import TogetherEndpoints
from ftclient.providers.together.upload import MULTIPART_THRESHOLD, PART_SIZE, TogetherFiles

if TYPE_CHECKING:
    from ftclient.config import Settings

RUN_KEY = "ftclient_run"
"""The run id key ``ftclient.launching.create`` puts in a job spec's metadata."""
ESTIMATE_KEYS = ("estimated_total_price", "estimated_train_token_count")


class TogetherProvider(TogetherFiles, TogetherEndpoints):
    """Together's files, fine-tunes, endpoints and chat APIs."""

    capabilities = Capabilities(
        methods=frozenset({"supervised", "dpo"}),
        pause_resume=False,
        checkpoints=True,
        batch=False,
        needs_deployment=True,
        job_metadata=True,  # a run token in the suffix, see find_jobs
        moderation=False,
        max_file_bytes=MULTIPART_THRESHOLD,
        # together 1.6.0 constants.MAX_FILE_SIZE_GB = 50.1 (GiB): the SDK refuses larger uploads (the 2026
        # data-preparation docs say 100 GB; ftclient keeps to what the SDK sends).
        max_upload_bytes=int(50.1 * 1024**3),
    )

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        max_retries: int = 4,
        timeout_s: float = 120.0,
        retry_backoff_s: float = 0.5,
        multipart_threshold_bytes: int = MULTIPART_THRESHOLD,
        part_size_bytes: int = PART_SIZE,
        wandb_key: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            max_retries=max_retries,
            timeout_s=timeout_s,
            retry_backoff_s=retry_backoff_s,
            sleep=sleep,
        )
        self.multipart_threshold_bytes = multipart_threshold_bytes
        self.part_size_bytes = part_size_bytes
        self._wandb_key = wandb_key
        self._hourly = {}
        self._limits: dict[str, dict[str, Any]] = {}
        self._over_estimate_ok = False

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> TogetherProvider:
        """Credentials from the environment (as Together's SDK reads them); retries/timeout from settings."""
        env = os.environ
        return cls(
            api_key=env.get("TOGETHER_API_KEY") or None,
            base_url=env.get("TOGETHER_BASE_URL") or None,
            **request_settings(settings),
            wandb_key=env.get("WANDB_API_KEY") or None,
        )

    # -- jobs ------------------------------------------------------------------------------------

    def preview_create(self, spec: JobSpec) -> dict[str, Any]:
        body = wire.create_body(_with_token(spec), wandb_key="<WANDB_API_KEY>" if self._wandb_key else None)
        return {"method": "POST", "url": f"{self.endpoint}/fine-tunes", "json": body}

    def estimate_price(self, spec: JobSpec) -> dict[str, Any]:
        """Together's own estimate for ``spec`` (needs the uploaded training file id)."""
        body: dict[str, Any] = {"training_file": spec.training_file, "model": spec.model}
        if spec.validation_file:
            body["validation_file"] = spec.validation_file
        full = wire.create_body(self._with_lora_rank(spec))
        body["n_epochs"] = full.get("n_epochs", wire.DEFAULT_EPOCHS)
        # Evaluation tokens are priced too: the estimate must know how many evaluations will run.
        body["n_evals"] = full.get("n_evals", 0)
        body["training_method"] = full["training_method"]
        body["training_type"] = full["training_type"]
        result: dict[str, Any] = self._json(
            f"estimating the price of a job on {spec.model}", "POST", "/fine-tunes/estimate-price", json=body
        )
        return result

    def _with_lora_rank(self, spec: JobSpec) -> JobSpec:
        """LoRA jobs name their rank and alpha (the spec requires both); like Together's SDK, the default rank is
        the model's largest (from its limits) and alpha twice the rank."""
        hyper = dict(spec.hyperparameters)
        if not hyper.get("lora", True) or ("lora_r" in hyper and "lora_alpha" in hyper):
            return spec
        if "lora_r" not in hyper:
            hyper["lora_r"] = int(self.model_limits(spec.model)["lora_training"]["max_rank"])
        hyper.setdefault("lora_alpha", 2 * int(hyper["lora_r"]))
        return replace(spec, hyperparameters=hyper)

    def model_limits(self, model: str) -> dict[str, Any]:
        """``GET /fine-tunes/models/limits``: epochs, batch sizes, learning rates, LoRA ranks (404: not tunable).
        Read once per model and adapter."""
        if model not in self._limits:
            self._limits[model] = self._json(
                f"reading the fine-tuning limits of {model}",
                "GET",
                "/fine-tunes/models/limits",
                params={"model_name": model},
            )
        return self._limits[model]

    def check_spec(self, spec: JobSpec, *, online: bool) -> None:
        """Together's rules for ``spec``: the suffix (with the run token) within 40 characters, offline; the
        hyperparameters within the model's published limits, online (``GET /fine-tunes/models/limits``)."""
        wire.check_suffix(spec.suffix, with_token=bool(spec.metadata.get(RUN_KEY)))
        if online:
            wire.check_limits(wire.create_body(spec), self.model_limits(spec.model), method=spec.method)

    def proceed_over_estimate(self) -> None:
        """Create jobs even when Together's estimate says the account may not proceed (``launch --yes``)."""
        self._over_estimate_ok = True

    def create_job(self, spec: JobSpec) -> JobInfo:
        """Ask for Together's price estimate, refuse when it says the account may not proceed, then create
        the job with one request (never resent here, see the module docstring)."""
        spec = self._with_lora_rank(_with_token(spec))
        estimate = self.estimate_price(spec)
        if estimate.get("allowed_to_proceed") is False and not self._over_estimate_ok:
            # Together's SDK only prints a warning here ("It will likely get cancelled due to insufficient
            # funds"); ftclient stops, says why, and lets `launch --yes` go ahead anyway.
            price = estimate.get("estimated_total_price")
            limit = estimate.get("user_limit")
            raise PermissionError_(
                f"Together estimates this job at ${price}, above what the account can pay (credit limit ${limit}); "
                "it says the job may not proceed and would likely be cancelled for insufficient funds",
                provider=self.name,
                code="not_allowed_to_proceed",
                hint="add credits on together.ai, train fewer epochs or a smaller model, "
                "or launch again with --yes to create the job anyway",
            )
        body = wire.create_body(spec, wandb_key=self._wandb_key)
        obj = self._json(f"creating a fine-tuning job on {spec.model}", "POST", "/fine-tunes", retry=False, json=body)
        info = self._job(obj)
        # Together's own estimate travels with the new job's description, so `launch` shows it.
        shown = {k: str(estimate[k]) for k in ESTIMATE_KEYS if estimate.get(k) is not None}
        return replace(info, metadata={**info.metadata, **shown})

    def find_jobs(self, metadata: Mapping[str, str]) -> list[JobInfo]:
        """Jobs whose suffix carries the run token of ``metadata["ftclient_run"]``; Together keeps no other
        metadata, so any other key cannot be matched and nothing is returned for it."""
        if set(metadata) != {RUN_KEY}:
            return []
        token = wire.run_token(metadata[RUN_KEY])
        return [job for job in self.list_jobs(limit=1000) if job.metadata.get(wire.RUN_TOKEN_KEY) == token]

    def get_job(self, job_id: str) -> JobInfo:
        return self._job(self._json(f"reading job {job_id}", "GET", f"/fine-tunes/{job_id}"))

    def list_jobs(self, limit: int = 20) -> list[JobInfo]:
        data = self._json("listing jobs", "GET", "/fine-tunes").get("data") or []
        jobs = [self._job(item) for item in data]
        jobs.sort(key=lambda j: j.created_at, reverse=True)
        return jobs[:limit]

    def list_events(self, job_id: str, after: str | None = None) -> list[JobEvent]:
        """The job's event log and its training metrics (as ``metrics`` events), ordered by training step,
        after the entry ``after`` (see ``wire.log_cursor``). Together sends the whole event log every time;
        metrics are asked for from the first step not yet seen (``global_step_from``), as the spec allows."""
        raw = self._json(f"reading events of job {job_id}", "GET", f"/fine-tunes/{job_id}/events").get("data") or []
        _, last_step = wire.log_cursor(after)
        query = {"global_step_from": last_step + 1} if last_step >= 0 else None
        try:
            points = (
                self._json(f"reading metrics of job {job_id}", "GET", f"/fine-tunes/{job_id}/metrics", json=query).get(
                    "metrics"
                )
                or []
            )
        except RemoteNotFoundError:
            points = []
        return wire.merge_log(job_id, list(raw), list(points), after=after)

    def list_checkpoints(self, job_id: str) -> list[Checkpoint]:
        info = self.get_job(job_id)
        raw = self._json(f"reading checkpoints of job {job_id}", "GET", f"/fine-tunes/{job_id}/checkpoints")
        checkpoints = [
            wire.checkpoint_from_dict(c, job_id=job_id, final_model=info.fine_tuned_model)
            for c in raw.get("data") or []
        ]
        return sorted(checkpoints, key=lambda c: c.step)

    def cancel_job(self, job_id: str) -> JobInfo:
        return self._job(self._json(f"cancelling job {job_id}", "POST", f"/fine-tunes/{job_id}/cancel"))

    def pause_job(self, job_id: str) -> JobInfo:
        raise InvalidRequestError(
            "Together cannot pause a fine-tuning job", provider=self.name, hint="cancel it, or let it finish"
        )

    def resume_job(self, job_id: str) -> JobInfo:
        raise InvalidRequestError(
            "Together cannot resume a fine-tuning job",
            provider=self.name,
            hint="launch again with from_checkpoint in the job's extra settings",
        )

    def serverless_model(self, job: JobInfo) -> str | None:
        """A succeeded LoRA job on a base Together serves LoRA adapters for answers serverless, by its output
        name; every other tuned model needs a dedicated endpoint."""
        lora = bool(job.hyperparameters.get("lora", True))
        if job.status == "succeeded" and job.fine_tuned_model and lora and job.model in wire.SERVERLESS_LORA_BASES:
            return job.fine_tuned_model
        return None

    def _job(self, data: Mapping[str, Any]) -> JobInfo:
        return wire.job_info_from_dict(data, provider=self.name)

    # -- inference -------------------------------------------------------------------------------

    async def chat(self, request: ChatRequest) -> ChatResult:
        return await post_chat(self, f"{self.endpoint}/chat/completions", request, together_rate_limits)

    def moderate(self, texts: Sequence[str]) -> list[ModerationResult]:
        raise InvalidRequestError(
            "Together has no moderation endpoint ftclient can screen training data with",
            provider=self.name,
            hint="launch without --moderate",
        )


def together_rate_limits(headers: Mapping[str, str]) -> RateLimitState:
    """OpenAI-style ``x-ratelimit-*-requests/-tokens`` when sent; otherwise Together's own
    ``x-ratelimit-limit``/``-remaining``/``-reset`` (requests) and ``x-tokenlimit-*`` (tokens)."""
    state = rate_limit_state(headers)
    if state.limit_requests is not None or state.limit_tokens is not None:
        return state

    def num(name: str) -> float | None:
        value = headers.get(name)
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None

    def whole(name: str) -> int | None:
        value = num(name)
        return None if value is None else int(value)

    return RateLimitState(
        limit_requests=whole("x-ratelimit-limit"),
        remaining_requests=whole("x-ratelimit-remaining"),
        reset_requests_s=num("x-ratelimit-reset"),
        limit_tokens=whole("x-tokenlimit-limit"),
        remaining_tokens=whole("x-tokenlimit-remaining"),
        reset_tokens_s=None,
    )


def _with_token(spec: JobSpec) -> JobSpec:
    """Put the run token (from ``ftclient_run`` metadata) where ``create_body`` puts it into the suffix."""
    run_id = spec.metadata.get(RUN_KEY)
    if not run_id or wire.RUN_TOKEN_KEY in spec.metadata:
        return spec
    token = "<run token>" if run_id.startswith("<") else wire.run_token(run_id)
    return replace(spec, metadata={**spec.metadata, wire.RUN_TOKEN_KEY: token})
