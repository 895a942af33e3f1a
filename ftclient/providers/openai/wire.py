"""OpenAI's wire format without the SDK: the requests ftclient sends (the create-job body and upload
requests, which ``launch --dry-run`` prints as they are), tolerant readers for jobs, events and files
(unknown statuses such as ``pausing`` pass through, and ``error: {}`` on a healthy job is ignored), and
how error responses read (message, eligibility refusals, what is worth retrying)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ftclient.providers.base import JOB_STATUSES, BatchInfo, JobEvent, JobInfo, JobSpec, ModelInfo, RemoteFile

NEW_JOBS_CUTOFF = "2027-01-06"
ELIGIBILITY_WORDS = ("eligib", "no longer available", "not available to your organization", "winding down")
ELIGIBILITY_HINT = (
    "OpenAI is winding fine-tuning down: organisations that never fine-tuned lost job creation on 2026-05-07, "
    "those without recent fine-tuned inference on 2026-07-02, and everyone loses it on "
    f"{NEW_JOBS_CUTOFF}. This refusal is final, so ftclient does not retry it; launch the same dataset on "
    "another provider (--provider together)"
)


def create_body(spec: JobSpec) -> dict[str, Any]:
    """The JSON body of ``POST /fine_tuning/jobs`` for ``spec`` (hyperparameters under ``method``, not the
    deprecated top-level field); ``launch --dry-run`` prints exactly this."""
    allowed = {
        "supervised": ("n_epochs", "batch_size", "learning_rate_multiplier"),
        "dpo": ("n_epochs", "batch_size", "learning_rate_multiplier", "beta"),
    }.get(spec.method, ())
    hyper = {k: spec.hyperparameters[k] for k in allowed if spec.hyperparameters.get(k) is not None}
    method: dict[str, Any] = {"type": spec.method}
    if hyper:
        method[spec.method] = {"hyperparameters": hyper}
    body: dict[str, Any] = {"model": spec.model, "training_file": spec.training_file, "method": method}
    if spec.validation_file:
        body["validation_file"] = spec.validation_file
    if spec.suffix:
        body["suffix"] = spec.suffix
    if spec.seed is not None:
        body["seed"] = spec.seed
    if spec.metadata:
        body["metadata"] = dict(spec.metadata)
    if spec.wandb_project:
        body["integrations"] = [{"type": "wandb", "wandb": {"project": spec.wandb_project}}]
    body.update(spec.extra)
    return body


# Keys of a fine_tuning.job that JobInfo has a field for (or deliberately reads through another key).
_JOB_KEYS = frozenset(
    {
        "id", "object", "status", "model", "created_at", "fine_tuned_model", "finished_at", "estimated_finish",
        "trained_tokens", "training_file", "validation_file", "method", "hyperparameters", "user_provided_suffix",
        "suffix", "seed", "metadata", "result_files", "error", "organization_id", "integrations",
    }
)  # fmt: skip


def job_info_from_dict(data: Mapping[str, Any], *, provider: str = "openai") -> JobInfo:
    """A ``fine_tuning.job`` object as ftclient's JobInfo.

    Live jobs differ from the spec (captured payloads, real-payloads/INDEX.md): status ``created`` (2023),
    no ``error`` key or ``error: {}`` on healthy jobs, no ``seed`` before 2024, ``hyperparameters`` null on
    failed jobs, keys the spec lacks (``user_provided_suffix``, ``usage_metrics``, ...). Unknown statuses
    read as ``unknown`` with the word kept in ``raw_status``; unknown keys are kept in ``extra``."""
    raw_status = str(data.get("status") or "unknown")
    status = raw_status if raw_status in JOB_STATUSES else "unknown"
    method = data.get("method") or {}
    method_type = str(method.get("type") or "supervised")
    hyper = dict(((method.get(method_type) or {}).get("hyperparameters")) or data.get("hyperparameters") or {})
    raw_error = data.get("error")
    error: Mapping[str, Any] = raw_error if isinstance(raw_error, dict) else {}
    failed = status == "failed"
    info = JobInfo(
        id=str(data["id"]),
        provider=provider,
        status=status,
        raw_status=raw_status,
        model=str(data.get("model") or ""),
        created_at=int(data.get("created_at") or 0),
        fine_tuned_model=data.get("fine_tuned_model"),
        finished_at=data.get("finished_at"),
        estimated_finish=data.get("estimated_finish"),
        trained_tokens=data.get("trained_tokens"),
        training_file=data.get("training_file"),
        validation_file=data.get("validation_file"),
        method=method_type,
        hyperparameters={k: v for k, v in hyper.items() if v is not None},
        suffix=data.get("user_provided_suffix") or data.get("suffix"),
        seed=data.get("seed"),
        metadata={str(k): str(v) for k, v in (data.get("metadata") or {}).items()},
        result_files=tuple(data.get("result_files") or ()),
        error_code=error.get("code") if failed else None,
        error_message=error.get("message") if failed else None,
        extra={k: v for k, v in data.items() if k not in _JOB_KEYS},
    )
    return info if failed or not info.error_code else replace(info, error_code=None)


def event_from_dict(data: Mapping[str, Any]) -> JobEvent:
    payload = data.get("data")
    return JobEvent(
        id=str(data["id"]),
        created_at=int(data.get("created_at") or 0),
        level=str(data.get("level") or "info"),
        message=str(data.get("message") or ""),
        type=str(data.get("type") or "message"),
        data=payload if isinstance(payload, dict) else {},
    )


def model_info_from_dict(data: Mapping[str, Any]) -> ModelInfo:
    """A ``Model`` object of ``GET /models``. ``shutdown_date`` is a date string or null in the official
    spec (``Model`` schema, read 2026-12); a number is read as Unix seconds, in case the API sends one."""
    model_id = str(data["id"])
    shutdown = shutdown_date_from_dict(data)
    tuned = model_id.startswith("ft:")
    return ModelInfo(
        id=model_id,
        created_at=int(data["created"]) if isinstance(data.get("created"), int) else None,
        owned_by=data.get("owned_by"),
        tuned=tuned,
        base_model=model_id.split(":")[1] if tuned and model_id.count(":") >= 1 else None,
        shutdown_date=shutdown.isoformat() if shutdown else None,
    )


def remote_file_from_dict(data: Mapping[str, Any]) -> RemoteFile:
    return RemoteFile(
        id=str(data["id"]),
        bytes=int(data.get("bytes") or 0),
        filename=str(data.get("filename") or ""),
        purpose=str(data.get("purpose") or ""),
        status=str(data.get("status") or "processed"),
        created_at=int(data.get("created_at") or 0),
        status_details=data.get("status_details"),
    )


def batch_info_from_dict(data: Mapping[str, Any]) -> BatchInfo:
    """A batch object; unset timestamps, file ids and ``request_counts`` may come as explicit nulls."""
    counts = data.get("request_counts") or {}
    errors = (data.get("errors") or {}).get("data") or [{}]
    first_error = errors[0] if isinstance(errors[0], dict) else {}
    return BatchInfo(
        id=str(data["id"]),
        status=str(data.get("status") or "unknown"),
        input_file=str(data.get("input_file_id") or ""),
        output_file=data.get("output_file_id") or None,
        error_file=data.get("error_file_id") or None,
        total=int(counts.get("total") or 0),
        completed=int(counts.get("completed") or 0),
        failed=int(counts.get("failed") or 0),
        error_code=first_error.get("code"),
        error_message=first_error.get("message"),
    )


def shutdown_date_from_dict(data: Mapping[str, Any]) -> dt.date | None:
    """A model object's ``shutdown_date``: "YYYY-MM-DD" or null in the spec (absent from older responses);
    a number is read as Unix seconds."""
    value = data.get("shutdown_date")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, tz=dt.UTC).date()
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def error_message(exc: Any) -> str:
    """The human message of an error response: OpenAI's ``error.message``, a problem document's title and
    validation messages, else the SDK's own text."""
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
        if body.get("title") or body.get("detail"):  # RFC 7807 problem documents (gateways, proxies)
            found = [str(v.get("message")) for v in body.get("validation") or [] if isinstance(v, dict)]
            return "; ".join([str(body.get("title") or body.get("detail")), *found[:3]])
    return exc.message or type(exc).__name__


def upload_requests(
    endpoint: str, filename: str, size: int, *, purpose: str, max_file_bytes: int, part_size: int
) -> list[dict[str, Any]]:
    """The requests that upload a file of ``size`` bytes: one ``POST /files``, or the multipart flow."""
    if size <= max_file_bytes:
        upload = {"filename": filename, "bytes": size, "content_type": "application/jsonl"}
        return [{"method": "POST", "url": f"{endpoint}/files", "multipart": {"purpose": purpose, "file": upload}}]
    parts = -(-size // part_size)
    return [
        {
            "method": "POST",
            "url": f"{endpoint}/uploads",
            "json": {"bytes": size, "filename": filename, "mime_type": "text/jsonl", "purpose": purpose},
        },
        {
            "method": "POST",
            "url": f"{endpoint}/uploads/{{upload_id}}/parts",
            "repeat": parts,
            "multipart": {"data": f"<{part_size} bytes per part, the last {size - (parts - 1) * part_size}>"},
        },
        {
            "method": "POST",
            "url": f"{endpoint}/uploads/{{upload_id}}/complete",
            "json": {"part_ids": [f"<{parts} part ids in order>"], "md5": "<md5 of the file>"},
        },
    ]
