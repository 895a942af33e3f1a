"""Together AI's JSON shapes <-> ftclient's dataclasses, with no HTTP: the ``POST /fine-tunes`` body (which
``launch --dry-run`` prints as is) and tolerant readers for jobs, events, checkpoints, files and endpoints.

Together differs from OpenAI in almost every detail: ISO-8601 timestamps, its own job statuses, flat
hyperparameters with an absolute learning rate, LoRA options, ``model_output_name`` for the tuned model,
PascalCase ``FileType``/``Processed`` on files, and event types spelt lowercase in its spec but uppercase
by its SDKs (compared case-insensitively here).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from ftclient.providers.base import Checkpoint, Endpoint, JobEvent, JobInfo, JobSpec, RemoteFile

DEFAULT_LEARNING_RATE = 1e-5
"""Together's default absolute learning rate; ftclient's ``learning_rate_multiplier`` scales it."""

RUN_TOKEN_KEY = "ftclient_run_token"
"""Together jobs carry no metadata; a short token of the run id rides in the suffix instead."""

STATUS_MAP = {
    "pending": "validating_files",
    "queued": "queued",
    "running": "running",
    "compressing": "running",
    "uploading": "running",
    "cancel_requested": "cancelled",
    "cancelled": "cancelled",
    "error": "failed",
    "user_error": "failed",
    "completed": "succeeded",
}

_LEVELS = {"info": "info", "warning": "warn", "warn": "warn", "error": "error"}

# ftclient hyperparameter name -> Together's top-level field (passed through unchanged).
_FLAT = {
    "n_epochs": "n_epochs",
    "batch_size": "batch_size",
    "learning_rate": "learning_rate",
    "n_checkpoints": "n_checkpoints",
    "n_evals": "n_evals",
    "warmup_ratio": "warmup_ratio",
    "max_grad_norm": "max_grad_norm",
    "weight_decay": "weight_decay",
    "packing": "packing",
    "max_seq_length": "max_seq_length",
}


def iso_to_epoch(value: Any) -> int | None:
    """``2024-05-17T17:35:45.123Z`` (or an int already) -> unix seconds; None when absent or unreadable."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return int(value)
    text = str(value).strip().replace("Z", "+00:00")
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return int(when.timestamp())


def run_token(run_id: str) -> str:
    """The short, suffix-safe token of a run id (``run-1a2b3c4d...`` -> ``r1a2b3c4d``)."""
    core = run_id.removeprefix("run-")
    return "r" + "".join(ch for ch in core if ch.isalnum())[:8]


def suffix_with_token(suffix: str | None, token: str | None) -> str | None:
    if not token:
        return suffix
    return f"{suffix}-{token}" if suffix else token


def create_body(spec: JobSpec, *, wandb_key: str | None = None) -> dict[str, Any]:
    """The JSON body of ``POST /fine-tunes`` for ``spec``.

    Hyperparameters: ``n_epochs``, ``batch_size`` (int or ``"max"``), ``learning_rate`` (absolute) or
    ``learning_rate_multiplier`` (times Together's default 1e-5), ``warmup_ratio``, ``n_checkpoints``,
    ``n_evals``, ``max_grad_norm``, ``weight_decay``, ``train_on_inputs`` (bool; default False: learn the
    answers only, which is what Together's ``"auto"`` does for conversation data, and the spec's schema only
    admits booleans),
    ``lora`` (default True; False means full training), ``lora_r``, ``lora_alpha``, ``lora_dropout``,
    ``lora_trainable_modules``, ``beta`` (DPO). The W&B key, when given, is sent and never logged.
    """
    hyper = {k: v for k, v in spec.hyperparameters.items() if v is not None}
    body: dict[str, Any] = {"model": spec.model, "training_file": spec.training_file}
    if spec.validation_file:
        body["validation_file"] = spec.validation_file
        body.setdefault("n_evals", 1)
    for name, field in _FLAT.items():
        if name in hyper:
            body[field] = hyper[name]
    if "learning_rate" not in hyper and "learning_rate_multiplier" in hyper:
        body["learning_rate"] = DEFAULT_LEARNING_RATE * float(hyper["learning_rate_multiplier"])
    if spec.method == "dpo":
        method: dict[str, Any] = {"method": "dpo"}
        if "beta" in hyper:
            method["dpo_beta"] = hyper["beta"]
    else:
        method = {"method": "sft", "train_on_inputs": bool(hyper.get("train_on_inputs", False))}
    body["training_method"] = method
    if hyper.get("lora", True):
        lora: dict[str, Any] = {
            "type": "Lora",
            "lora_r": hyper.get("lora_r", "<the model's max LoRA rank>"),
            "lora_alpha": hyper.get(
                "lora_alpha", 2 * hyper["lora_r"] if isinstance(hyper.get("lora_r"), int) else "<2 x lora_r>"
            ),
        }
        for key in ("lora_dropout", "lora_trainable_modules"):
            if key in hyper:
                lora[key] = hyper[key]
        body["training_type"] = lora
    else:
        body["training_type"] = {"type": "Full"}
    token = spec.metadata.get(RUN_TOKEN_KEY)
    suffix = suffix_with_token(spec.suffix, token)
    if suffix:
        body["suffix"] = suffix
    if spec.seed is not None:
        body["random_seed"] = spec.seed
    if spec.wandb_project:
        body["wandb_project_name"] = spec.wandb_project
        if wandb_key:
            body["wandb_key"] = wandb_key
    body.update(spec.extra)
    return body


def job_info_from_dict(data: Mapping[str, Any], *, provider: str = "together") -> JobInfo:
    """A Together job (truncated or full) as ftclient's JobInfo; unknown statuses become ``unknown``."""
    raw = str(data.get("status") or "unknown").lower()
    status = STATUS_MAP.get(raw, "unknown")
    method_obj = data.get("training_method") or {}
    method = "dpo" if isinstance(method_obj, Mapping) and method_obj.get("method") == "dpo" else "supervised"
    hyper: dict[str, Any] = {}
    for key in ("n_epochs", "batch_size", "learning_rate", "warmup_ratio", "n_checkpoints", "n_evals"):
        if data.get(key) is not None:
            hyper[key] = data[key]
    training_type = data.get("training_type") or {}
    if isinstance(training_type, Mapping) and training_type.get("type"):
        hyper["lora"] = str(training_type["type"]).lower() == "lora"
        for key in ("lora_r", "lora_alpha", "lora_dropout"):
            if training_type.get(key) is not None:
                hyper[key] = training_type[key]
    if isinstance(method_obj, Mapping) and method_obj.get("dpo_beta") is not None:
        hyper["beta"] = method_obj["dpo_beta"]
    suffix = data.get("suffix")
    metadata: dict[str, str] = {}
    if isinstance(suffix, str) and suffix:
        tail = suffix.rsplit("-", 1)[-1]
        if tail.startswith("r") and len(tail) == 9:
            metadata[RUN_TOKEN_KEY] = tail
    failed = status == "failed"
    message = None
    if failed:
        events = data.get("events") or []
        errors = [e for e in events if isinstance(e, Mapping) and str(e.get("level", "")).lower() == "error"]
        message = str(errors[-1].get("message")) if errors else None
    updated = iso_to_epoch(data.get("updated_at"))
    return JobInfo(
        id=str(data["id"]),
        provider=provider,
        status=status,
        raw_status=raw,
        model=str(data.get("model") or ""),
        created_at=iso_to_epoch(data.get("created_at")) or 0,
        fine_tuned_model=(data.get("model_output_name") or None) if status == "succeeded" else None,
        finished_at=updated if status in {"succeeded", "failed", "cancelled"} else None,
        estimated_finish=None,
        trained_tokens=data.get("token_count") if status == "succeeded" else None,
        training_file=data.get("training_file"),
        validation_file=data.get("validation_file") or None,
        method=method,
        hyperparameters=hyper,
        suffix=suffix,
        seed=data.get("random_seed"),
        metadata=metadata,
        error_code=raw if failed else None,
        error_message=message,
    )


def event_from_dict(data: Mapping[str, Any], *, event_id: str) -> JobEvent:
    """A ``fine-tune-event``; the step counters ride along in ``data`` for progress displays."""
    level = _LEVELS.get(str(data.get("level") or "info").lower().removeprefix("legacy_").lstrip("i"), "info")
    kind = str(data.get("type") or "message").lower()
    payload: dict[str, Any] = {"together_type": kind}
    for key in ("step", "total_steps", "token_count", "checkpoint_path", "model_path"):
        value = data.get(key)
        if value not in (None, "", 0) or (key == "step" and kind == "checkpoint_save"):
            payload[key] = value
    return JobEvent(
        id=event_id,
        created_at=iso_to_epoch(data.get("created_at")) or 0,
        level=level,
        message=str(data.get("message") or kind),
        type="message",
        data=payload,
    )


def metrics_event(point: Mapping[str, Any], *, job_id: str, total_steps: int | None) -> JobEvent | None:
    """One point of ``GET /fine-tunes/{id}/metrics`` as a ``metrics`` event (None without a step)."""
    step = point.get("train/global_step", point.get("global_step"))
    if step is None:
        return None
    data: dict[str, Any] = {"step": int(step)}
    if total_steps:
        data["total_steps"] = total_steps
    for src, dst in (("train/loss", "train_loss"), ("eval/loss", "valid_loss"), ("train/learning_rate", "lr")):
        if point.get(src) is not None:
            data[dst] = float(point[src])
    when = iso_to_epoch(point.get("logged_at")) or 0
    return JobEvent(
        id=f"{job_id}:step:{int(step)}",
        created_at=when,
        level="info",
        message=f"Step {int(step)}" + (f"/{total_steps}" if total_steps else ""),
        type="metrics",
        data=data,
    )


def checkpoint_from_dict(data: Mapping[str, Any], *, job_id: str, final_model: str | None) -> Checkpoint:
    """Intermediate checkpoints are addressed as ``<job id>:<step>``; the final one by the output model."""
    step = int(data.get("step") or 0)
    kind = str(data.get("checkpoint_type") or "")
    model = f"{job_id}:{step}" if "intermediate" in kind.lower() or not final_model else final_model
    return Checkpoint(
        id=f"{job_id}:{step}", created_at=iso_to_epoch(data.get("created_at")) or 0, model=model, step=step
    )


def remote_file_from_dict(data: Mapping[str, Any]) -> RemoteFile:
    processed = data.get("Processed", data.get("processed"))
    return RemoteFile(
        id=str(data["id"]),
        bytes=int(data.get("bytes") or 0),
        filename=str(data.get("filename") or ""),
        purpose=str(data.get("purpose") or ""),
        status="processed" if processed is not False else "uploaded",
        created_at=iso_to_epoch(data.get("created_at")) or 0,
    )


def endpoint_from_dict(data: Mapping[str, Any], *, cost_per_hour_usd: float | None = None) -> Endpoint:
    timeout = data.get("inactive_timeout")
    return Endpoint(
        id=str(data["id"]),
        model=str(data.get("model") or ""),
        state=str(data.get("state") or "PENDING").upper(),
        hardware=data.get("hardware"),
        cost_per_hour_usd=cost_per_hour_usd,
        created_at=iso_to_epoch(data.get("created_at")),
        inactive_timeout_min=int(timeout) if isinstance(timeout, int) else None,
        name=str(data.get("name") or "") or None,
        display_name=data.get("display_name"),
    )


def hourly_usd(hardware: Mapping[str, Any]) -> float | None:
    """``pricing.cents_per_minute`` of a hardware entry as dollars per hour."""
    pricing = hardware.get("pricing") or {}
    cents = pricing.get("cents_per_minute") if isinstance(pricing, Mapping) else None
    return None if cents is None else round(float(cents) * 60 / 100, 4)
