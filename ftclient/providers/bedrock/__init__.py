"""AWS Bedrock behind ftclient's provider protocol: Amazon Nova model customization, through boto3.

Configuration (environment): the usual AWS credential chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/
``AWS_SESSION_TOKEN``, ``AWS_PROFILE``, instance roles), ``AWS_REGION`` or ``AWS_DEFAULT_REGION`` (default
us-east-1), ``AWS_ENDPOINT_URL`` (boto3's own override: the emulator), ``FTCLIENT_BEDROCK_BUCKET`` (where the
training files and the jobs' output go) and ``FTCLIENT_BEDROCK_ROLE_ARN`` (the role Bedrock assumes to read
and write that bucket).

The data: jobs read ``bedrock-conversation-2024`` records, so ``launch`` converts the canonical chat JSONL
(``dataset_format``) and validates the converted file by Bedrock's rules before uploading it. Jobs: a job is
named ``ftc-<run id>`` and created with that name as its ``clientRequestToken``, so a create resent after a
lost answer returns the first job, and a crashed launch finds its job by name (``find_jobs``). Events are the
job's status plus the step-wise metrics Bedrock writes to the job's S3 output. Serving: ``serving.py``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ftclient.errors import InvalidRequestError, RemoteNotFoundError, UserInputError
from ftclient.providers.base import (
    Capabilities,
    ChatRequest,
    ChatResult,
    Checkpoint,
    JobEvent,
    JobInfo,
    JobSpec,
    ModelInfo,
    ModerationResult,
)
from ftclient.providers.bedrock import wire
from ftclient.providers.bedrock.serving import BedrockServing
from ftclient.providers.bedrock.storage import BedrockStorage

if TYPE_CHECKING:
    from ftclient.config import Settings

FORMAT = "bedrock-conversation-2024"
MAX_TAGGED_JOBS = 50
"""How many of ftclient's most recent jobs ``find_jobs`` reads the tags of (one request each)."""


class BedrockProvider(BedrockStorage, BedrockServing):
    """Customization jobs, custom models, their serving and Converse, on S3-hosted data."""

    capabilities = Capabilities(
        methods=frozenset({"supervised"}),
        pause_resume=False,
        checkpoints=False,
        batch=False,
        needs_deployment=True,  # a custom model answers only through a deployment or provisioned throughput
        job_metadata=True,  # the run id is the job's name and idempotency token, see find_jobs
        moderation=False,
        max_file_bytes=5 * 1024**3,  # one PutObject; boto3's transfer manager goes multipart well before
        max_upload_bytes=5 * 1024**4,
        model_listing=True,
    )

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> BedrockProvider:
        return cls(**cls.env_options(settings))

    # -- what launch asks first ------------------------------------------------------------------
    def dataset_format(self, model: str, method: str) -> str | None:
        """Nova trains on ``bedrock-conversation-2024`` (Nova user guide, fine-tune-prepare-data-understanding)."""
        return FORMAT

    def check_spec(self, spec: JobSpec, *, online: bool) -> None:
        if spec.method != "supervised":
            raise UserInputError(
                f"Bedrock customizes Nova with supervised fine-tuning here, not {spec.method!r}",
                hint="launch with --method supervised",
            )
        if not online:
            self.need_bucket()
            self.need_role()
            from ftclient.pricing import model_limits

            model_limits("bedrock", spec.model)  # unknown base models are refused before any upload

    def preview_create(self, spec: JobSpec) -> dict[str, Any]:
        run = str(spec.metadata.get(wire.RUN_KEY, ""))
        name = "ftc-<run id>" if run.startswith("<") else wire.job_name_for_run(run) if run else None
        params = wire.create_request(spec, role_arn=self.role_arn or "<FTCLIENT_BEDROCK_ROLE_ARN>",
                                     bucket=self.bucket or "<FTCLIENT_BEDROCK_BUCKET>", name=name)
        return {"operation": "bedrock:CreateModelCustomizationJob", "url": f"{self.endpoint}/model-customization-jobs",
                "params": params}

    # -- jobs ------------------------------------------------------------------------------------
    def create_job(self, spec: JobSpec) -> JobInfo:
        run = spec.metadata.get(wire.RUN_KEY)
        name = wire.job_name_for_run(run) if run else None
        params = wire.create_request(spec, role_arn=self.need_role(), bucket=self.need_bucket(), name=name)
        answer = self.call("bedrock", "create_model_customization_job", f"creating a job on {spec.model}",
                           retry=False, **params)  # the launch's find-before-retry loop is the retry layer
        return self.get_job(str(answer["jobArn"]))

    def find_jobs(self, metadata: Mapping[str, str]) -> list[JobInfo]:
        """Jobs carrying every pair of ``metadata``: the run id by the job's name (one read); other keys (the
        configuration a launch from another machine looks for) by the ``jobTags`` of ftclient's recent jobs,
        newest first."""
        if set(metadata) == {wire.RUN_KEY}:
            name = wire.job_name_for_run(metadata[wire.RUN_KEY])
            try:
                return [self.get_job(name)]
            except RemoteNotFoundError:
                return []
        answer = self.call("bedrock", "list_model_customization_jobs", "listing ftclient's jobs",
                           nameContains=wire.JOB_PREFIX, maxResults=MAX_TAGGED_JOBS, sortBy="CreationTime",
                           sortOrder="Descending")
        found = []
        for summary in answer.get("modelCustomizationJobSummaries") or []:
            tags = self.call("bedrock", "list_tags_for_resource", "reading a job's tags",
                             resourceARN=summary["jobArn"]).get("tags") or []
            held = {str(t.get("key")): str(t.get("value")) for t in tags}
            if all(held.get(k) == v for k, v in metadata.items()):
                info = wire.job_info(summary)
                found.append(replace(info, metadata={**held, **info.metadata}))
        return found

    def get_job(self, job_id: str) -> JobInfo:
        data = self.call("bedrock", "get_model_customization_job", f"reading job {job_id}", jobIdentifier=job_id)
        return wire.job_info(data)

    def list_jobs(self, limit: int = 20) -> list[JobInfo]:
        answer = self.call("bedrock", "list_model_customization_jobs", "listing jobs",
                           maxResults=max(1, min(limit, 1000)), sortBy="CreationTime", sortOrder="Descending")
        return [wire.job_info(s) for s in answer.get("modelCustomizationJobSummaries") or []][:limit]

    def list_events(self, job_id: str, after: str | None = None) -> list[JobEvent]:
        """The job's state, and a ``metrics`` event per step of the loss files in its S3 output."""
        info = self.get_job(job_id)
        events = self._metric_events(info)
        steps = max((int(e.data["step"]) for e in events), default=0)
        message = info.raw_status + (f": {info.error_message}" if info.error_message else "")
        level = "error" if info.status == "failed" else "info"
        when = info.finished_at or info.created_at
        events.append(JobEvent(id=f"{info.id}:state:{info.raw_status}:{steps}", created_at=when, level=level,
                               message=message))
        ids = [e.id for e in events]
        if after in ids:
            return events[ids.index(after) + 1:]
        seen = int(after.rsplit(":", 1)[-1]) if after and after.rsplit(":", 1)[-1].isdigit() else None
        if seen is None:
            return events
        return [e for e in events if e.type != "metrics" or int(e.data["step"]) > seen]

    def _metric_events(self, info: JobInfo) -> list[JobEvent]:
        output = (info.extra.get("outputDataConfig") or {}).get("s3Uri")
        arn = str(info.extra.get("jobArn") or "")
        if not output or not arn:
            return []
        root = f"{str(output).rstrip('/')}/model-customization-job-{wire.job_short_id(arn)}/"
        training = self.read_text(root + wire.TRAINING_METRICS) or ""
        validation = self.read_text(root + wire.VALIDATION_METRICS) or ""
        valid = {step: value for step, _, value in wire.metric_rows(validation, "validation_loss")}
        rows = wire.metric_rows(training, "training_loss")
        total = int(info.hyperparameters.get("n_epochs", 0) or 0)
        events = []
        for step, epoch_number, loss in rows:
            data: dict[str, Any] = {"step": step, "train_loss": loss, "epoch": epoch_number}
            if step in valid:
                data["valid_loss"] = valid[step]
            if total:
                data["epochs"] = total
            events.append(JobEvent(id=f"{info.id}:step:{step}", created_at=info.created_at, level="info",
                                   message=f"Step {step}", type="metrics", data=data))
        return events

    def list_checkpoints(self, job_id: str) -> list[Checkpoint]:
        return []

    def cancel_job(self, job_id: str) -> JobInfo:
        """StopModelCustomizationJob; a job already stopping or ended is left as it is (no error)."""
        try:
            self.call("bedrock", "stop_model_customization_job", f"stopping job {job_id}", jobIdentifier=job_id)
        except InvalidRequestError as exc:
            current = self.get_job(job_id)
            if exc.code != "ConflictException" or not (current.terminal or current.raw_status == "Stopping"):
                raise
            return current
        return self.get_job(job_id)

    def pause_job(self, job_id: str) -> JobInfo:
        raise InvalidRequestError("Bedrock cannot pause a customization job", provider=self.name,
                                  hint="stop it with `ftclient jobs cancel`, or let it finish")

    def resume_job(self, job_id: str) -> JobInfo:
        raise InvalidRequestError("Bedrock cannot resume a customization job", provider=self.name,
                                  hint="launch the dataset again")

    # -- models ----------------------------------------------------------------------------------
    def list_models(self) -> list[ModelInfo]:
        found = self.call("bedrock", "list_foundation_models", "listing foundation models",
                          byCustomizationType="FINE_TUNING").get("modelSummaries") or []
        bases = [ModelInfo(id=str(m["modelId"]), owned_by=m.get("providerName")) for m in found]
        custom = self.call("bedrock", "list_custom_models", "listing custom models",
                           maxResults=100).get("modelSummaries") or []
        tuned = [ModelInfo(id=str(m["modelArn"]), created_at=wire.epoch(m.get("creationTime")), owned_by="you",
                           tuned=True, base_model=wire.base_model(str(m.get("baseModelArn") or "")))
                 for m in custom]
        return [*bases, *tuned]

    # -- inference -------------------------------------------------------------------------------
    async def chat(self, request: ChatRequest) -> ChatResult:
        """One Converse call (sent once: the evaluation runner paces and retries). A custom model answers
        through the ARN of its deployment or provisioned throughput (``Endpoint.name``)."""
        params = wire.converse_request(request)
        started = time.perf_counter()
        answer = await asyncio.to_thread(
            lambda: self.call("bedrock-runtime", "converse", f"asking {request.model}", retry=False, **params)
        )
        usage = answer.get("usage") or {}
        meta = answer.get("ResponseMetadata") or {}
        return ChatResult(
            text=wire.converse_text(answer),
            model=request.model,
            prompt_tokens=int(usage.get("inputTokens") or 0),
            completion_tokens=int(usage.get("outputTokens") or 0),
            latency_s=time.perf_counter() - started,
            request_id=meta.get("RequestId"),
            finish_reason={"end_turn": "stop", "max_tokens": "length"}.get(str(answer.get("stopReason")),
                                                                           answer.get("stopReason")),
        )

    def moderate(self, texts: Sequence[str]) -> list[ModerationResult]:
        raise InvalidRequestError("Bedrock has no moderation endpoint ftclient can screen training data with",
                                  provider=self.name, hint="launch without --moderate")
