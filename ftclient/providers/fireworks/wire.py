"""Fireworks' JSON shapes <-> ftclient's dataclasses, with no HTTP.

Fireworks resources are Google-AIP style (``accounts/{a}/supervisedFineTuningJobs/{id}``), camelCase, with
RFC 3339 times, int64 values as strings and money as ``{currencyCode, units, nanos}``; jobs go through
``JOB_STATE_*`` states. Source for every field: the Gateway REST API spec 4.259.0
(``fireworks-openapi.yaml``, a third-party mirror of docs.fireworks.ai, retrieved 2026-12-03).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from typing import Any

from ftclient.providers.base import Endpoint, JobInfo, JobSpec, RemoteFile

RUN_KEY = "ftclient_run"
JOB_PREFIX = "ftc-"
"""Jobs ftclient creates get the id ``ftc-<run id hex>``: the run token is the job id itself, so a retried
create (or a relaunch after a crash) asks for that id before sending anything again."""

# Source: gatewayJobState (spec 4.259.0); the order CREATING/PENDING -> VALIDATING -> RUNNING ->
# WRITING_RESULTS -> COMPLETED is inferred (research/providers.md 2.7).
STATE_MAP = {
    "JOB_STATE_CREATING": "queued",
    "JOB_STATE_PENDING": "queued",
    "JOB_STATE_RE_QUEUEING": "queued",
    "JOB_STATE_IDLE": "queued",
    "JOB_STATE_CREATING_INPUT_DATASET": "validating_files",
    "JOB_STATE_VALIDATING": "validating_files",
    "JOB_STATE_RUNNING": "running",
    "JOB_STATE_WRITING_RESULTS": "running",
    "JOB_STATE_PAUSED": "paused",
    "JOB_STATE_COMPLETED": "succeeded",
    "JOB_STATE_EARLY_STOPPED": "succeeded",
    "JOB_STATE_FAILED": "failed",
    "JOB_STATE_EXPIRED": "failed",
    "JOB_STATE_CANCELLING": "cancelled",
    "JOB_STATE_CANCELLED": "cancelled",
}

# Deployment state (gatewayDeploymentState) and the LoRA addon's (gatewayDeployedModelState) -> Endpoint.state.
DEPLOYMENT_STATES = {
    "CREATING": "STARTING",
    "UPDATING": "STARTING",
    "READY": "STARTED",
    "DELETING": "STOPPING",
    "DELETED": "STOPPED",
    "FAILED": "ERROR",
}
ADDON_STATES = {"DEPLOYING": "STARTING", "UPDATING": "STARTING", "DEPLOYED": "STARTED", "UNDEPLOYING": "STOPPING"}

REFERENCE_LEARNING_RATE = 1e-4
"""What ``--lr-multiplier`` scales: Fireworks' own default depends on the model and is not published, so
ftclient uses 1e-4, the rate third-party clients send (research/providers.md 2.6, "minimal body")."""

_ID_UNSAFE = re.compile(r"[^a-z0-9-]+")


def rfc3339_to_epoch(value: Any) -> int | None:
    if not value:
        return None
    try:
        when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return int(when.replace(tzinfo=when.tzinfo or dt.UTC).timestamp())


def money_usd(money: Any) -> float | None:
    """``{"currencyCode": "USD", "units": "3", "nanos": 500000000}`` -> 3.5 (None when absent)."""
    if not isinstance(money, Mapping) or ("units" not in money and "nanos" not in money):
        return None
    return int(money.get("units") or 0) + int(money.get("nanos") or 0) / 1e9


def short_id(name: str) -> str:
    """The last segment of a resource name (``accounts/a/datasets/x`` -> ``x``)."""
    return name.rstrip("/").rsplit("/", 1)[-1]


def resource_id(text: str, *, limit: int = 63) -> str:
    """A Fireworks resource id from free text: lowercase letters, digits and hyphens, at most ``limit`` long.
    (The exact id rule is not published; this is the AIP-122 one that every id in the docs follows.)"""
    cleaned = _ID_UNSAFE.sub("-", text.lower()).strip("-") or "x"
    return cleaned[:limit].rstrip("-")


def dataset_id_for(filename: str) -> str:
    """The dataset id for a content-named upload (``train-3f2a….jsonl`` -> ``train-3f2a…``): the same content
    always lands on the same dataset, which is how a re-sent upload finds the first."""
    stem = filename.rsplit(".", 1)[0]
    return resource_id(stem)


def job_id_for_run(run_id: str) -> str:
    core = "".join(ch for ch in run_id.removeprefix("run-").lower() if ch.isalnum())
    return f"{JOB_PREFIX}{core[:40]}"


def run_id_of(job_id: str) -> str | None:
    return f"run-{job_id.removeprefix(JOB_PREFIX)}" if job_id.startswith(JOB_PREFIX) else None


def deployment_id_for(model: str, nonce: str) -> str:
    digest = hashlib.sha256(model.encode()).hexdigest()[:6]
    return resource_id(f"ftc-{short_id(model).removeprefix(JOB_PREFIX)[:24]}-{digest}-{nonce}")


def _training_fields(spec: JobSpec) -> dict[str, Any]:
    """ftclient's hyperparameter names -> Fireworks' training fields (absent = Fireworks' default)."""
    hyper = {k: v for k, v in spec.hyperparameters.items() if v is not None and v != "auto"}
    fields: dict[str, Any] = {"baseModel": spec.model}
    for ours, theirs in (
        ("n_epochs", "epochs"),
        ("learning_rate", "learningRate"),
        ("lora_rank", "loraRank"),
        ("lora_r", "loraRank"),
        ("batch_size", "batchSizeSamples"),
        ("max_context_length", "maxContextLength"),
        ("warmup_steps", "learningRateWarmupSteps"),
        ("weight_decay", "optimizerWeightDecay"),
    ):
        if ours in hyper:
            fields[theirs] = hyper[ours]
    if "learning_rate" not in hyper and "learning_rate_multiplier" in hyper:
        fields["learningRate"] = REFERENCE_LEARNING_RATE * float(hyper["learning_rate_multiplier"])
    return fields


def create_body(spec: JobSpec, *, account: str, job_id: str | None) -> dict[str, Any]:
    """The body of ``POST …/supervisedFineTuningJobs`` (flat job object) or ``POST …/dpoJobs`` (``trainingConfig``
    + ``lossConfig``). The output model gets the job's id, so the tuned model is ``accounts/<a>/models/<job id>``."""
    dataset = (
        spec.training_file
        if spec.training_file.startswith("accounts/")
        else (f"accounts/{account}/datasets/{spec.training_file}")
    )
    fields = _training_fields(spec)
    if job_id:
        fields["outputModel"] = job_id
    display = (spec.suffix or "ftclient")[:60]
    if spec.method == "dpo":
        body: dict[str, Any] = {"dataset": dataset, "displayName": display, "trainingConfig": fields}
        beta = spec.hyperparameters.get("beta")
        body["lossConfig"] = {"method": "DPO", **({"dpo": {"beta": beta}} if beta is not None else {})}
    else:
        body = {"dataset": dataset, "displayName": display, **fields}
        if spec.validation_file:
            body["evaluationDataset"] = (
                spec.validation_file
                if spec.validation_file.startswith("accounts/")
                else f"accounts/{account}/datasets/{spec.validation_file}"
            )
    if spec.wandb_project:
        body["wandbConfig"] = {"enabled": True, "project": spec.wandb_project}
    body.update(spec.extra)
    return body


def job_info_from_dict(data: Mapping[str, Any], *, account: str, method: str) -> JobInfo:
    """A Fireworks SFT or DPO job as ftclient's JobInfo; the raw ``JOB_STATE_*`` is kept."""
    raw = str(data.get("state") or "JOB_STATE_UNSPECIFIED")
    status = STATE_MAP.get(raw, "unknown")
    job_id = short_id(str(data.get("name") or ""))
    config: Mapping[str, Any] = data.get("trainingConfig") or data
    hyper: dict[str, Any] = {}
    for theirs, ours in (
        ("epochs", "n_epochs"),
        ("learningRate", "learning_rate"),
        ("loraRank", "lora_rank"),
        ("batchSizeSamples", "batch_size"),
        ("maxContextLength", "max_context_length"),
    ):
        if config.get(theirs) is not None:
            hyper[ours] = config[theirs]
    beta = ((data.get("lossConfig") or {}).get("dpo") or {}).get("beta")
    if beta is not None:
        hyper["beta"] = beta
    output = str(config.get("outputModel") or job_id)
    tuned = output if output.startswith("accounts/") else f"accounts/{account}/models/{output}"
    metadata: dict[str, str] = {}
    if (run := run_id_of(job_id)) is not None:
        metadata[RUN_KEY] = run
    estimate = money_usd(data.get("estimatedCost"))
    if estimate is not None:
        metadata["estimated_total_price"] = f"{estimate:.4f}"
    progress = data.get("jobProgress") or {}
    if progress.get("percent") is not None:
        metadata["progress_percent"] = str(progress["percent"])
    failure = data.get("status") or {}
    failed = status == "failed"
    finished = rfc3339_to_epoch(data.get("completedTime")) or rfc3339_to_epoch(data.get("updateTime"))
    return JobInfo(
        id=job_id,
        provider="fireworks",
        status=status,
        raw_status=raw,
        model=str(config.get("baseModel") or config.get("warmStartFrom") or ""),
        created_at=rfc3339_to_epoch(data.get("createTime")) or 0,
        fine_tuned_model=tuned if status == "succeeded" else None,
        finished_at=finished if status in {"succeeded", "failed", "cancelled"} else None,
        training_file=data.get("dataset"),
        validation_file=data.get("evaluationDataset") or None,
        method=method,
        hyperparameters=hyper,
        suffix=data.get("displayName") or None,
        metadata=metadata,
        error_code=str(failure.get("code") or raw) if failed else None,
        error_message=str(failure.get("message") or "") or None if failed else None,
    )


def remote_file_from_dataset(data: Mapping[str, Any], *, size: int = 0) -> RemoteFile:
    """A dataset as a RemoteFile (id = its resource name). READY is ``processed``; a non-OK status is an error."""
    state = str(data.get("state") or "")
    status_obj = data.get("status") or {}
    code = str(status_obj.get("code") or "OK")
    if code not in {"OK", "0"}:
        status = "error"
    elif state == "READY":
        status = "processed"
    else:
        status = "uploaded"
    return RemoteFile(
        id=str(data.get("name") or ""),
        bytes=size,
        filename=str(data.get("displayName") or short_id(str(data.get("name") or ""))),
        purpose="fine-tune",
        status=status,
        created_at=rfc3339_to_epoch(data.get("createTime")) or 0,
        status_details=str(status_obj.get("message") or "") or None,
    )


def window_minutes(value: Any) -> int | None:
    """``"1800s"`` (a protobuf Duration) -> 30."""
    text = str(value or "").strip()
    if not text.endswith("s"):
        return None
    try:
        return round(float(text[:-1]) / 60)
    except ValueError:
        return None


def endpoint_from(
    deployment: Mapping[str, Any], addon: Mapping[str, Any] | None, *, hourly_usd: float | None
) -> Endpoint:
    """A deployment and the tuned LoRA loaded on it, as one Endpoint: ``STARTED`` once the deployment is
    READY *and* the addon DEPLOYED; the serving name is the tuned model's (the addon is its default target)."""
    raw = str(deployment.get("state") or "CREATING")
    state = DEPLOYMENT_STATES.get(raw, "PENDING")
    if state == "STARTED":
        state = ADDON_STATES.get(str((addon or {}).get("state") or ""), "STARTING")
    annotations = deployment.get("annotations") or {}
    model = str((addon or {}).get("model") or annotations.get("ftclient-model") or deployment.get("baseModel") or "")
    count = int(deployment.get("acceleratorCount") or 1)
    policy = deployment.get("autoscalingPolicy") or {}
    return Endpoint(
        id=short_id(str(deployment.get("name") or "")),
        model=model,
        state=state,
        hardware=deployment.get("acceleratorType"),
        cost_per_hour_usd=None if hourly_usd is None else round(hourly_usd * count, 4),
        created_at=rfc3339_to_epoch(deployment.get("createTime")),
        inactive_timeout_min=window_minutes(policy.get("scaleToZeroWindow")),
        name=model or None,
        display_name=deployment.get("displayName"),
    )
