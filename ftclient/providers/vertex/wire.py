"""Vertex objects <-> ftclient's types: tuning-job states, labels carrying ftclient's metadata, chat messages
as ``contents``, endpoints.

States (``JobState`` in the aiplatform v1 discovery document) map to ftclient's words; the raw
``JOB_STATE_*`` is kept in ``raw_status``. Labels are how a job is found again (``tuningJobs.list`` filters
on them), and Vertex copies them to the Model and Endpoint the job generates. The discovery document,
``TuningJob.labels``: labels "organize TuningJob and generated resources such as Model and Endpoint. Label
keys and values can be no longer than 64 characters ..., can only contain lowercase letters, numeric
characters, underscores and dashes". So values are folded to that alphabet, and the full metadata is also
kept as JSON in the job's ``description``.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ftclient.providers.base import Endpoint, JobInfo
from ftclient.tokens import content_text

STATUSES = {
    "JOB_STATE_QUEUED": "queued",
    "JOB_STATE_PENDING": "queued",
    "JOB_STATE_RUNNING": "running",
    "JOB_STATE_UPDATING": "running",
    "JOB_STATE_CANCELLING": "running",
    "JOB_STATE_PAUSED": "paused",
    "JOB_STATE_SUCCEEDED": "succeeded",
    "JOB_STATE_PARTIALLY_SUCCEEDED": "succeeded",
    "JOB_STATE_FAILED": "failed",
    "JOB_STATE_EXPIRED": "failed",
    "JOB_STATE_CANCELLED": "cancelled",
}
DESCRIPTION_PREFIX = "ftclient "
_LABEL_BAD = re.compile(r"[^a-z0-9_-]")


def label(value: str) -> str:
    return _LABEL_BAD.sub("-", value.lower())[:64]


def labels_of(metadata: Mapping[str, str]) -> dict[str, str]:
    return {label(k): label(v) for k, v in metadata.items()}


def description_of(metadata: Mapping[str, str]) -> str:
    return DESCRIPTION_PREFIX + json.dumps(dict(metadata), sort_keys=True)


def short_id(name: str) -> str:
    return name.rstrip("/").rsplit("/", 1)[-1]


def _epoch(value: Any) -> int | None:
    if value is None:
        return None
    stamp = getattr(value, "timestamp", None)
    return int(stamp()) if callable(stamp) else None


def _state(job: Any) -> str:
    state = getattr(job, "state", None)
    return str(getattr(state, "value", state) or "JOB_STATE_UNSPECIFIED")


def job_info(job: Any) -> JobInfo:
    """A google-genai ``TuningJob`` as a JobInfo."""
    raw = _state(job)
    status = STATUSES.get(raw, "unknown")
    spec = job.supervised_tuning_spec
    hyper = spec.hyper_parameters if spec is not None else None
    hyperparameters: dict[str, Any] = {}
    if hyper is not None:
        for ours, theirs in (("n_epochs", "epoch_count"), ("learning_rate_multiplier", "learning_rate_multiplier"),
                             ("adapter_size", "adapter_size")):
            value = getattr(hyper, theirs, None)
            if value is not None:
                hyperparameters[ours] = getattr(value, "value", value)
    metadata = dict(job.labels or {})
    description = job.description or ""
    if description.startswith(DESCRIPTION_PREFIX):
        with contextlib.suppress(ValueError):
            metadata.update(json.loads(description[len(DESCRIPTION_PREFIX):]))
    tuned = job.tuned_model
    stats = job.tuning_data_stats.supervised_tuning_data_stats if job.tuning_data_stats else None
    extra: dict[str, Any] = {"name": job.name}
    if tuned is not None and tuned.endpoint:
        extra["endpoint"] = tuned.endpoint
    if stats is not None:
        extra["tuning_data_stats"] = {
            k: v for k, v in (("examples", stats.tuning_dataset_example_count),
                              ("billable_tokens", stats.total_billable_token_count),
                              ("steps", stats.tuning_step_count)) if v is not None
        }
    error = job.error
    return JobInfo(
        id=short_id(job.name or ""),
        provider="vertex",
        status=status,
        raw_status=raw,
        model=short_id(job.base_model or ""),
        created_at=_epoch(job.create_time) or 0,
        fine_tuned_model=tuned.model if status == "succeeded" and tuned is not None else None,
        finished_at=_epoch(job.end_time) if status in {"succeeded", "failed", "cancelled"} else None,
        trained_tokens=int(stats.total_billable_token_count) if stats and stats.total_billable_token_count else None,
        training_file=spec.training_dataset_uri if spec is not None else None,
        validation_file=(spec.validation_dataset_uri or None) if spec is not None else None,
        hyperparameters=hyperparameters,
        suffix=job.tuned_model_display_name or None,
        metadata=metadata,
        error_code=str(error.code) if error is not None and error.code is not None else (raw if status == "failed"
                                                                                        else None),
        error_message=(error.message or None) if error is not None else None,
        extra=extra,
    )


def contents_of(messages: Sequence[Mapping[str, Any]]) -> tuple[str | None, list[dict[str, Any]]]:
    """(system instruction, contents) of chat messages: system text joined, user -> user, assistant -> model,
    repeated roles merged into one turn (Vertex wants them alternating)."""
    system: list[str] = []
    contents: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        text = content_text(message.get("content"))
        if role in {"system", "developer"}:
            system.append(text)
            continue
        gemini = "model" if role == "assistant" else "user"
        if contents and contents[-1]["role"] == gemini:
            contents[-1]["parts"].append({"text": text})
        else:
            contents.append({"role": gemini, "parts": [{"text": text}]})
    return ("\n\n".join(system) or None), contents


def endpoint_of(data: Mapping[str, Any], model: str | None = None) -> Endpoint:
    """An aiplatform ``Endpoint`` as ftclient's: STARTED while ``model`` (any, when None) is deployed on it,
    STARTING before, STOPPED once nothing is deployed. Vertex bills tuned Gemini endpoints per token, not
    per hour (an assumption, see docs/providers.md), so there is no hourly price."""
    deployed = [d for d in data.get("deployedModels") or [] if isinstance(d, dict)]
    serving = [d for d in deployed if model is None or str(d.get("model", "")).split("@")[0] == model.split("@")[0]]
    name = str(data.get("name") or "")
    return Endpoint(
        id=short_id(name),
        model=str(serving[0].get("model")) if serving else (model or ""),
        state="STARTED" if serving else ("STARTING" if model is not None and not deployed else "STOPPED"),
        name=name,
        display_name=data.get("displayName"),
        created_at=None,
        hardware="managed by Vertex AI",  # a tuned Gemini endpoint takes no machine type
        inactive_timeout_min=0,  # Vertex never stops an idle endpoint: ftclient's teardown is what ends it
    )
