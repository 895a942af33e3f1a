"""Bedrock's shapes <-> ftclient's: job names and tokens, statuses, the create request, Converse messages and
the metrics files. Pure functions, no boto3 (the adapter module holds every SDK call)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ftclient.providers.base import ChatRequest, JobInfo, JobSpec

RUN_KEY = "ftclient_run"
JOB_PREFIX = "ftc-"
"""A job ftclient creates is named ``ftc-<run id hex>`` and carries the same string as its
``clientRequestToken``: a resent create returns the job the first one made (the API's idempotency), and a
create whose answer was lost is found again by that name (``find_jobs``)."""
KEY_PREFIX = "ftclient/"
"""Where in the bucket ftclient puts the files it uploads (named by content hash) and the jobs' output."""

STATUS_MAP = {"InProgress": "running", "Completed": "succeeded", "Failed": "failed", "Stopping": "cancelled",
              "Stopped": "cancelled"}
"""ModelCustomizationJobStatus (bedrock-service-2.json) -> ftclient; ``InProgress`` is refined by
``statusDetails`` (validation -> ``validating_files``, data processing -> ``queued``)."""
ENDPOINT_STATES = {"Creating": "STARTING", "Updating": "STARTING", "InService": "STARTED", "Active": "STARTED",
                   "Failed": "ERROR"}
"""ProvisionedModelStatus and CustomModelDeploymentStatus -> Endpoint.state."""

ON_DEMAND_BASES = frozenset({"amazon.nova-micro-v1:0", "amazon.nova-lite-v1:0", "amazon.nova-pro-v1:0"})
ON_DEMAND_REGIONS = frozenset({"us-east-1"})
"""Custom models of these bases can be deployed for on-demand inference in these regions (docs.aws.amazon.com/
bedrock/latest/userguide/deploy-custom-model-on-demand.html, read 2026-12-03); others need provisioned
throughput."""

TRAINING_METRICS = "training_artifacts/step_wise_training_metrics.csv"
VALIDATION_METRICS = "validation_artifacts/post_fine_tuning_validation/validation/validation_metrics.csv"
"""Under ``<output s3Uri>/model-customization-job-<job id>/``: Bedrock's metrics files (as the "analyze the
results" page of the Bedrock user guide describes them; remembered, not read from a stored copy)."""

HYPERPARAMETERS = {"n_epochs": "epochCount", "batch_size": "batchSize", "learning_rate": "learningRate",
                   "warmup_steps": "learningRateWarmupSteps"}
"""ftclient's names -> Nova's (docs.aws.amazon.com/bedrock/latest/userguide/cm-hp-nova-mm.html)."""
REFERENCE_LEARNING_RATE = 1e-5
"""What ``--lr-multiplier`` scales: Nova's default learningRate (cm-hp-nova-mm.html)."""

_UNSAFE = re.compile(r"[^a-zA-Z0-9-]+")


def job_name_for_run(run_id: str) -> str:
    """``run-<hex>`` -> ``ftc-<hex>``: a valid JobName, IdempotencyToken and CustomModelName at once."""
    tail = _UNSAFE.sub("-", run_id.removeprefix("run-")).strip("-")
    return f"{JOB_PREFIX}{tail}"[:63].rstrip("-")


def run_id_of(job_name: str) -> str | None:
    return f"run-{job_name[len(JOB_PREFIX):]}" if job_name.startswith(JOB_PREFIX) else None


def base_model(identifier: str) -> str:
    """The catalogue id behind a model id, its ``:128k`` variant, a foundation-model or custom-model ARN."""
    name = identifier
    if ":custom-model/" in name:
        name = name.split(":custom-model/", 1)[1].rsplit("/", 1)[0]
    name = name.rsplit("foundation-model/", 1)[-1]
    parts = name.split(":")
    return ":".join(parts[:2]) if len(parts) > 2 else name


def job_short_id(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def epoch(value: Any) -> int | None:
    if isinstance(value, dt.datetime):
        return int(value.timestamp())
    return None


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def split_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def create_request(spec: JobSpec, *, role_arn: str, bucket: str, name: str | None) -> dict[str, Any]:
    """CreateModelCustomizationJob's parameters for ``spec`` (file ids are ``s3://`` URIs)."""
    hyper: dict[str, str] = {}
    for ours, value in spec.hyperparameters.items():
        if value is None:
            continue
        if ours == "learning_rate_multiplier":
            hyper["learningRate"] = f"{float(value) * REFERENCE_LEARNING_RATE:.8g}"
        elif ours in HYPERPARAMETERS:
            hyper[HYPERPARAMETERS[ours]] = str(value)
    job_name = name or f"{JOB_PREFIX}unnamed"
    # CustomModelName is ([0-9a-zA-Z][_-]?){1,63}: letters and digits, never two separators in a row
    custom = job_name
    if spec.suffix:
        custom = re.sub(r"-{2,}", "-", f"{_UNSAFE.sub('-', spec.suffix)}-{job_name}").strip("-")
    request: dict[str, Any] = {
        "jobName": job_name,
        "customModelName": custom[:63].rstrip("-"),
        "roleArn": role_arn,
        "baseModelIdentifier": spec.model,
        "customizationType": "FINE_TUNING",
        "trainingDataConfig": {"s3Uri": spec.training_file},
        "outputDataConfig": {"s3Uri": s3_uri(bucket, f"{KEY_PREFIX}output/")},
        "hyperParameters": hyper,
        "jobTags": [{"key": k, "value": str(v)[:256]} for k, v in sorted(spec.metadata.items())],
    }
    if name:
        request["clientRequestToken"] = name
    if spec.validation_file:
        request["validationDataConfig"] = {"validators": [{"s3Uri": spec.validation_file}]}
    return request


def job_info(data: Mapping[str, Any]) -> JobInfo:
    """GetModelCustomizationJob's answer (or a list summary) as a JobInfo; the raw status is kept."""
    raw = str(data.get("status") or "InProgress")
    status = STATUS_MAP.get(raw, "unknown")
    details = data.get("statusDetails") or {}
    if raw == "InProgress":
        if (details.get("validationDetails") or {}).get("status") == "InProgress":
            status = "validating_files"
        elif (details.get("dataProcessingDetails") or {}).get("status") == "InProgress":
            status = "queued"
    name = str(data.get("jobName") or "")
    hyper_raw = data.get("hyperParameters") or {}
    hyper: dict[str, Any] = {}
    for ours, theirs in HYPERPARAMETERS.items():
        if theirs in hyper_raw:
            value = str(hyper_raw[theirs])
            hyper[ours] = float(value) if "." in value or "e" in value.lower() else int(value)
    metadata: dict[str, str] = {}
    if (run := run_id_of(name)) is not None:
        metadata[RUN_KEY] = run
    validators = (data.get("validationDataConfig") or {}).get("validators") or []
    failed = status == "failed"
    arn = str(data.get("jobArn") or "")
    extra = {k: data[k] for k in ("jobArn", "outputDataConfig", "trainingMetrics", "validationMetrics") if k in data}
    tuned = data.get("outputModelArn") or data.get("customModelArn")
    return JobInfo(
        id=name or arn,
        provider="bedrock",
        status=status,
        raw_status=raw,
        model=base_model(str(data.get("baseModelArn") or "")),
        created_at=epoch(data.get("creationTime")) or 0,
        fine_tuned_model=str(tuned) if tuned and status == "succeeded" else None,
        finished_at=epoch(data.get("endTime")),
        training_file=(data.get("trainingDataConfig") or {}).get("s3Uri"),
        validation_file=validators[0].get("s3Uri") if validators else None,
        hyperparameters=hyper,
        suffix=str(data.get("outputModelName") or data.get("customModelName") or "") or None,
        metadata=metadata,
        error_code=raw if failed else None,
        error_message=str(data.get("failureMessage") or "") or None if failed else None,
        extra=extra,
    )


def converse_request(request: ChatRequest) -> dict[str, Any]:
    """A chat request as Converse's parameters: system messages go to ``system``, the turns to ``messages``
    with ``{"text"}`` content blocks (Converse refuses empty text, so empty messages are left out)."""
    system: list[dict[str, str]] = []
    messages: list[dict[str, Any]] = []
    for message in request.messages:
        text = _text(message.get("content"))
        if not text:
            continue
        if message.get("role") in ("system", "developer"):
            system.append({"text": text})
        else:
            role = "assistant" if message.get("role") == "assistant" else "user"
            if messages and messages[-1]["role"] == role:  # Converse alternates turns: join what the chat split
                messages[-1]["content"].append({"text": text})
            else:
                messages.append({"role": role, "content": [{"text": text}]})
    params: dict[str, Any] = {"modelId": request.model, "messages": messages}
    if system:
        params["system"] = system
    config: dict[str, Any] = {"temperature": float(request.temperature)}
    if request.max_tokens is not None:
        config["maxTokens"] = int(request.max_tokens)
    params["inferenceConfig"] = config
    return params


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("text"))
    return ""


def converse_text(response: Mapping[str, Any]) -> str:
    blocks: Sequence[Mapping[str, Any]] = ((response.get("output") or {}).get("message") or {}).get("content") or []
    return "".join(str(b["text"]) for b in blocks if isinstance(b, Mapping) and "text" in b)


def metric_rows(text: str, column: str) -> list[tuple[int, float, float]]:
    """(step, epoch, value) of each row of a Bedrock metrics CSV whose ``column`` holds a number."""
    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        try:
            rows.append((int(row["step_number"]), float(row.get("epoch_number") or 0), float(row[column])))
        except (KeyError, TypeError, ValueError):
            continue
    return rows
