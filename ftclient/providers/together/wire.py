"""Together AI's JSON shapes <-> ftclient's dataclasses, with no HTTP: the ``POST /fine-tunes`` body (which
``launch --dry-run`` prints as is) and tolerant readers for jobs, events, checkpoints, files and endpoints.

Together differs from OpenAI in almost every detail: ISO-8601 timestamps, its own job statuses, flat
hyperparameters with an absolute learning rate, LoRA options, ``model_output_name`` for the tuned model,
PascalCase ``FileType``/``Processed`` on files, and event types spelt lowercase in its spec but uppercase
by its SDKs (compared case-insensitively here).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from ftclient.errors import UserInputError
from ftclient.providers.base import Checkpoint, Endpoint, JobEvent, JobInfo, JobSpec, RemoteFile

DEFAULT_LEARNING_RATE = 1e-5
"""Together's default absolute learning rate (together-openapi.yaml ``FinetuneRequest.learning_rate``,
2026-04-28); ftclient's ``learning_rate_multiplier`` scales it."""
DEFAULT_EPOCHS = 1
"""together-openapi.yaml ``FinetuneRequest.n_epochs`` default (2026-04-28); also together 1.6.0's default."""
DEFAULT_TRAIN_ON_INPUTS = "auto"
"""What together 1.6.0 (``create_finetune_request``) sends for SFT when the caller says nothing; the spec's
``TrainingMethodSFT.train_on_inputs`` defaults to it too."""
DEFAULT_LR_SCHEDULER: dict[str, Any] = {
    "lr_scheduler_type": "cosine",
    "lr_scheduler_args": {"min_lr_ratio": 0.0, "num_cycles": 0.5},
}
"""together 1.6.0 ``create_finetune_request``: ``lr_scheduler_type="cosine"``, ``min_lr_ratio=0.0``,
``scheduler_num_cycles=0.5`` (the spec says "none", which its own schema cannot express)."""
SERVERLESS_LORA_BASES = frozenset(
    {
        "meta-llama/Llama-4-Maverick-17B-128E-Instruct",
        "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference",
        "meta-llama/Meta-Llama-3.1-70B-Instruct-Reference",
        "Qwen/Qwen2.5-72B-Instruct",
        "Qwen/Qwen3-235B-A22B-Instruct-2507-tput",
    }
)
"""Bases whose LoRA adapters Together serves serverless, by the tuned model's name (docs.together.ai
/docs/adapter-upload "Supported base models" and /docs/lora-inference, read 2026). Any other tuned model
answers only from a dedicated endpoint (404 ``model_not_available`` otherwise)."""
MAX_SUFFIX_CHARS = 40
"""together 1.6.0 ``FinetuneRequest.suffix``: "up to 40 character suffix for output model name"."""

RUN_TOKEN_KEY = "ftclient_run_token"
"""Together jobs carry no metadata; a short token of the run id rides in the suffix instead."""

STATUS_MAP = {
    "pending": "validating_files",
    "queued": "queued",
    "running": "running",
    "compressing": "running",
    "uploading": "running",
    # Not terminal: the job still runs (and bills) until Together moves it to ``cancelled``.
    "cancel_requested": "running",
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


RUN_TOKEN_CHARS = len(run_token("run-" + "0" * 20))


def suffix_room() -> int:
    """How many characters of a user's suffix fit beside the run token within Together's 40."""
    return MAX_SUFFIX_CHARS - RUN_TOKEN_CHARS - 1


def check_suffix(suffix: str | None, *, with_token: bool) -> None:
    """Refuse a suffix that, with the run token ftclient appends, exceeds Together's 40 characters."""
    room = suffix_room() if with_token else MAX_SUFFIX_CHARS
    if suffix and len(suffix) > room:
        raise UserInputError(
            f"--suffix {suffix!r} has {len(suffix)} characters; Together takes at most {MAX_SUFFIX_CHARS}, and "
            f"ftclient adds a {RUN_TOKEN_CHARS + 1}-character run token to find the job again, so {room} remain",
            hint=f"shorten the suffix to {room} characters or fewer, e.g. --suffix {suffix[:room]!r}",
        )


def check_limits(body: Mapping[str, Any], limits: Mapping[str, Any], *, method: str) -> None:
    """Refuse a ``POST /fine-tunes`` body outside the model's limits (``FineTuneModelLimits``), as Together's
    SDK does before it sends: epochs, evaluations, learning rate, batch size, LoRA rank and mode."""
    model = str(body.get("model"))
    lora = str((body.get("training_type") or {}).get("type", "Lora")).lower() == "lora"
    section = limits.get("lora_training" if lora else "full_training")
    if not isinstance(section, Mapping):
        mode = "LoRA" if lora else "full"
        raise UserInputError(
            f"{model} cannot be fine-tuned with {mode} training on Together (its limits have no {mode} section)",
            hint="train the other way (lora on or off), or pick another model",
        )
    checks: list[tuple[str, str, Any, Any, Any]] = [
        ("--epochs", "n_epochs", body.get("n_epochs", DEFAULT_EPOCHS), 1, limits.get("max_num_epochs")),
        ("n_evals", "n_evals", body.get("n_evals", 0), 0, limits.get("max_num_evals")),
        (
            "--lr-multiplier",
            "learning_rate",
            body.get("learning_rate", DEFAULT_LEARNING_RATE),
            limits.get("min_learning_rate"),
            limits.get("max_learning_rate"),
        ),
    ]
    batch = body.get("batch_size", "max")
    if batch != "max":
        top = section.get("max_batch_size_dpo") if method == "dpo" else None
        checks.append(
            ("--batch-size", "batch_size", batch, section.get("min_batch_size"), top or section.get("max_batch_size"))
        )
    rank = (body.get("training_type") or {}).get("lora_r")
    if lora and isinstance(rank, int):
        checks.append(("lora_r", "lora_r", rank, 1, section.get("max_rank")))
    for flag, field, value, low, high in checks:
        if not isinstance(value, int | float):
            continue
        if (isinstance(low, int | float) and value < low) or (isinstance(high, int | float) and value > high):
            raise UserInputError(
                f"{field} {value:g} is outside {model}'s limits on Together ({_bound(low)} to {_bound(high)}, "
                "from GET /fine-tunes/models/limits)",
                hint=f"pick {flag} within those limits, or leave it out for Together's default",
            )


def create_body(spec: JobSpec, *, wandb_key: str | None = None) -> dict[str, Any]:
    """The JSON body of ``POST /fine-tunes`` for ``spec``.

    Hyperparameters: ``n_epochs``, ``batch_size`` (int or ``"max"``), ``learning_rate`` (absolute) or
    ``learning_rate_multiplier`` (times Together's default 1e-5), ``warmup_ratio``, ``n_checkpoints``,
    ``n_evals``, ``max_grad_norm``, ``weight_decay``, ``train_on_inputs`` (bool or ``"auto"``, the default
    Together's SDK sends), ``lr_scheduler`` (default: the SDK's cosine schedule), ``lora`` (default True;
    False means full training), ``lora_r``, ``lora_alpha``, ``lora_dropout``, ``lora_trainable_modules``,
    ``beta`` (DPO). The W&B key, when given, is sent and never logged.
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
        method = {"method": "sft", "train_on_inputs": hyper.get("train_on_inputs", DEFAULT_TRAIN_ON_INPUTS)}
    body["training_method"] = method
    body["lr_scheduler"] = hyper.get("lr_scheduler") or DEFAULT_LR_SCHEDULER
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


def _bound(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) else "any"


_JOB_KEYS = frozenset(
    {
        "id", "status", "training_method", "n_epochs", "batch_size", "learning_rate", "warmup_ratio",
        "n_checkpoints", "n_evals", "training_type", "suffix", "events", "updated_at", "model", "created_at",
        "model_output_name", "output_name", "token_count", "training_file", "validation_file", "random_seed",
    }
)  # fmt: skip


def _kept(data: Mapping[str, Any], known: frozenset[str]) -> dict[str, Any]:
    """The fields ftclient has no name for, minus credentials: the 2024 create response echoes the caller's
    W&B key in clear (real-payloads/together/job-2, ``wandb_key``), and a key must never be kept."""
    return {k: v for k, v in data.items() if k not in known and not _secret(k)}


def _secret(name: str) -> bool:
    lowered = name.lower()
    return lowered.endswith(("_key", "apikey", "api_token", "_secret")) or lowered in {"token", "password"}


def _seed(value: Any) -> int | None:
    """``random_seed`` arrives as 42, ``""`` or the string ``"null"`` (real-payloads/together job-2, job-3)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def job_info_from_dict(data: Mapping[str, Any], *, provider: str = "together") -> JobInfo:
    """A Together job (truncated or full) as ftclient's JobInfo; unknown statuses become ``unknown`` (the
    word itself stays in ``raw_status``) and every field ftclient has no name for stays in ``extra``
    (``total_price`` in 1e-9 USD, ``started_at`` null on finished jobs, ``Suffix``, ``job_stats`` ...)."""
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
    suffix = data.get("suffix", data.get("Suffix"))
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
        # model_output_name on the wire; output_name is together 1.x's attribute name for it (job-3)
        fine_tuned_model=(data.get("model_output_name") or data.get("output_name") or None)
        if status == "succeeded"
        else None,
        finished_at=updated if status in {"succeeded", "failed", "cancelled"} else None,
        estimated_finish=None,
        trained_tokens=_whole(data.get("token_count")) if status == "succeeded" else None,
        training_file=data.get("training_file") or None,
        validation_file=data.get("validation_file") or None,
        method=method,
        hyperparameters=hyper,
        suffix=suffix,
        seed=_seed(data.get("random_seed")),
        metadata=metadata,
        error_code=raw if failed else None,
        error_message=message,
        extra=_kept(data, _JOB_KEYS),
    )


def _whole(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


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


def metrics_event(
    point: Mapping[str, Any], *, event_id: str, created_at: int, total_steps: int | None
) -> JobEvent | None:
    """One point of ``GET /fine-tunes/{id}/metrics`` as a ``metrics`` event (None without a step).

    The points carry no time of their own (spec and Together's TypeScript SDK: flat numbers such as
    ``train/loss`` and ``train/global_step``), so ``created_at`` is that of the event before it in the log."""
    step = point.get("train/global_step", point.get("global_step"))
    if not isinstance(step, int | float) or isinstance(step, bool):
        return None
    data: dict[str, Any] = {"step": int(step)}
    if total_steps:
        data["total_steps"] = total_steps
    for src, dst in (("train/loss", "train_loss"), ("eval/loss", "valid_loss"), ("train/learning_rate", "lr")):
        if isinstance(point.get(src), int | float):
            data[dst] = float(point[src])
    return JobEvent(
        id=event_id,
        created_at=created_at,
        level="info",
        message=f"Step {int(step)}" + (f"/{total_steps}" if total_steps else ""),
        type="metrics",
        data=data,
    )


_CURSOR_RE = re.compile(r":e(-?\d+):s(-?\d+)$")


def log_cursor(after: str | None) -> tuple[int, int]:
    """(last event index, last metrics step) delivered up to the event id ``after``; (-1, -1) for none.

    Every id ftclient gives a Together log entry names both positions (``<job>:e<index>:s<step>``): the
    event log only grows at its end and the metrics only by higher steps, so the two numbers say exactly
    what is new, whichever of the two streams the next entries come from."""
    found = _CURSOR_RE.search(after or "")
    return (int(found.group(1)), int(found.group(2))) if found else (-1, -1)


def merge_log(job_id: str, raw_events: list[Any], points: list[Any], *, after: str | None = None) -> list[JobEvent]:
    """The job's events and metrics after ``after``, one stream, by training step: metrics at step N come
    before the events logged at step N; an event without a step keeps the step of the event before it."""
    last_event, last_step = log_cursor(after)
    total = max((int(e.get("total_steps") or 0) for e in raw_events if isinstance(e, Mapping)), default=0) or None
    entries: list[tuple[tuple[int, int, int], Any]] = []
    carried = 0
    since = 0
    for index, raw in enumerate(raw_events):
        if not isinstance(raw, Mapping):
            continue
        step = raw.get("step")
        if isinstance(step, int) and not isinstance(step, bool) and step > carried:
            carried = step
        if index > last_event:
            entries.append(((carried, 1, index), raw))
        else:
            since = iso_to_epoch(raw.get("created_at")) or since
    steps: dict[int, Mapping[str, Any]] = {}
    for point in points:
        step = point.get("train/global_step", point.get("global_step")) if isinstance(point, Mapping) else None
        if isinstance(step, int | float) and not isinstance(step, bool) and int(step) > last_step:
            steps[int(step)] = point
    entries.extend(((step, 0, 0), point) for step, point in steps.items())
    entries.sort(key=lambda entry: entry[0])
    out: list[JobEvent] = []
    for (step, kind, index), payload in entries:
        if kind:
            last_event = index
            event = event_from_dict(payload, event_id=f"{job_id}:e{last_event}:s{last_step}")
            since = event.created_at or since
        else:
            last_step = step
            found = metrics_event(
                payload, event_id=f"{job_id}:e{last_event}:s{last_step}", created_at=since, total_steps=total
            )
            if found is None:
                continue
            event = found
        out.append(event)
    return out


def checkpoint_from_dict(data: Mapping[str, Any], *, job_id: str, final_model: str | None) -> Checkpoint:
    """Intermediate checkpoints are addressed as ``<job id>:<step>``; the final one by the output model."""
    step = int(data.get("step") or 0)
    kind = str(data.get("checkpoint_type") or "")
    model = f"{job_id}:{step}" if "intermediate" in kind.lower() or not final_model else final_model
    return Checkpoint(
        id=f"{job_id}:{step}", created_at=iso_to_epoch(data.get("created_at")) or 0, model=model, step=step
    )


_FILE_KEYS = frozenset({"id", "bytes", "filename", "purpose", "Processed", "processed", "created_at"})


def remote_file_from_dict(data: Mapping[str, Any]) -> RemoteFile:
    """A file object; ``LineCount``/``FileType``/``project_id`` and the rest stay in ``extra``."""
    processed = data.get("Processed", data.get("processed"))
    return RemoteFile(
        id=str(data["id"]),
        bytes=int(data.get("bytes") or 0),
        filename=str(data.get("filename") or ""),
        purpose=str(data.get("purpose") or ""),
        status="processed" if processed is not False else "uploaded",
        created_at=iso_to_epoch(data.get("created_at")) or 0,
        extra=_kept(data, _FILE_KEYS),
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
