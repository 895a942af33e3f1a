"""How a fine-tuning job moves on the emulated clock.

``validating_files`` (the training file is checked with ftclient's own rules) -> ``queued`` ->
``running`` (one step every ``STEP_S`` emulated seconds, metrics events, a checkpoint per epoch) ->
``succeeded`` with a result file and a tuned model. A job never runs in the background: ``advance``
replays whatever should have happened up to now, with the timestamps it would have had.
"""

from __future__ import annotations

import base64
import hashlib
import math
from typing import TYPE_CHECKING, Any

from ftclient.emulator.openai import accounting
from ftclient.emulator.openai.state import JobState

if TYPE_CHECKING:
    from ftclient.emulator.openai.app import OpenAIApp

VALIDATE_S = 10.0
QUEUE_S = 20.0
STEP_S = 3.0
FINALIZE_S = 10.0
PAUSING_S = 5.0
MAX_METRIC_EVENTS = 200
KEPT_CHECKPOINTS = 3
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})


def add_event(
    app: OpenAIApp, job: JobState, at: float, message: str, *, level: str = "info", data: dict[str, Any] | None = None
) -> None:
    event: dict[str, Any] = {
        "id": app.store.new_id("ftevent-"),
        "object": "fine_tuning.job.event",
        "created_at": int(at),
        "level": level,
        "message": message,
        "type": "metrics" if data else "message",
        # As captured from the live API (real-payloads events-2/3/4): message events carry "data": {}, except
        # "Fine-tuning job started", which carried null, although the spec types data as an object.
        "data": data or (None if message == "Fine-tuning job started" else {}),
    }
    job.events.append(event)


def _noise(seed: int, step: int, salt: str) -> float:
    digest = hashlib.sha256(f"{seed}:{step}:{salt}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 - 0.5


def _unit(value: float) -> float:
    return min(1.0, max(0.0, value))


def step_metrics(job: JobState, step: int) -> dict[str, Any]:
    """Deterministic, plausible training curves: loss decays with progress, accuracy rises."""
    seed = int(job.obj.get("seed") or 0)
    progress = step / max(1, job.total_steps)
    train_loss = max(0.01, 0.12 + 1.9 * math.exp(-5 * progress) + 0.16 * _noise(seed, step, "train"))
    metrics: dict[str, Any] = {
        "step": step,
        "train_loss": round(train_loss, 5),
        "train_mean_token_accuracy": round(_unit(1.0 - train_loss / 2.4 + 0.04 * _noise(seed, step, "a")), 5),
        "total_steps": job.total_steps,
    }
    if job.obj.get("validation_file"):
        valid_loss = train_loss + 0.06 + 0.1 * abs(_noise(seed, step, "valid"))
        metrics["valid_loss"] = round(valid_loss, 5)
        metrics["valid_mean_token_accuracy"] = round(_unit(1.0 - valid_loss / 2.4), 5)
        if job.epoch_steps and step % job.epoch_steps == 0:
            metrics["full_valid_loss"] = round(valid_loss + 0.02, 5)
            metrics["full_valid_mean_token_accuracy"] = round(_unit(1.0 - (valid_loss + 0.02) / 2.4), 5)
    return metrics


def fail(app: OpenAIApp, job: JobState, at: float, error: dict[str, Any]) -> None:
    job.obj.update(status="failed", error=error, finished_at=int(at), estimated_finish=None)
    add_event(app, job, at, error["message"], level="error")
    add_event(app, job, at, "The job failed")


def start_running(app: OpenAIApp, job: JobState, at: float) -> None:
    job.obj["status"] = "running"
    job.phase_at = at
    job.obj["estimated_finish"] = int(at + job.total_steps * STEP_S + FINALIZE_S)
    add_event(app, job, at, "Fine-tuning job started")


def advance(app: OpenAIApp, job: JobState, now: float) -> None:
    """Bring ``job`` up to date with the emulated time ``now``."""
    obj = job.obj
    while obj["status"] not in TERMINAL:
        status = obj["status"]
        if status == "validating_files":
            at = job.phase_at + VALIDATE_S
            if now < at:
                return
            error = app.validate_job_files(job)
            if error is None and job.fail and job.fail.get("phase") == "validating":
                error = _fault_error(job.fail)
            if error is not None:
                fail(app, job, at, error)
                return
            obj["status"] = "queued"
            job.phase_at = at
            add_event(app, job, at, "Files validated, moving job to queued state")
        elif status == "queued":
            at = job.phase_at + QUEUE_S
            if now < at:
                return
            start_running(app, job, at)
        elif status == "running":
            _run_steps(app, job, now)
            return
        elif status == "pausing":
            at = (job.paused_at or now) + PAUSING_S
            if now < at:
                return
            obj["status"] = "paused"
            add_event(app, job, at, "Fine-tuning job paused")
        else:
            return


def _run_steps(app: OpenAIApp, job: JobState, now: float) -> None:
    start = job.phase_at + job.paused_total
    due = min(job.total_steps, int((now - start) // STEP_S))
    every = max(1, math.ceil(job.total_steps / MAX_METRIC_EVENTS))
    fail_at = None
    if job.fail:
        fail_at = int(job.fail.get("at_step") or max(1, job.total_steps // 2))
    for step in range(job.steps_done + 1, due + 1):
        at = start + step * STEP_S
        if fail_at is not None and step >= fail_at:
            job.steps_done = step
            fail(app, job, at, _fault_error(job.fail or {}))
            return
        metrics = step_metrics(job, step)
        job.metrics.append(metrics)
        epoch_end = job.epoch_steps > 0 and step % job.epoch_steps == 0
        if step % every == 0 or epoch_end or step == job.total_steps:
            add_event(app, job, at, _step_message(metrics), data=metrics)
        if epoch_end:
            _checkpoint(app, job, at, step, metrics)
    job.steps_done = max(job.steps_done, due)
    finish = start + job.total_steps * STEP_S + FINALIZE_S
    if job.steps_done >= job.total_steps and now >= finish:
        _succeed(app, job, finish)


def _step_message(metrics: dict[str, Any]) -> str:
    text = f"Step {metrics['step']}/{metrics['total_steps']}: training loss={metrics['train_loss']:.2f}"
    if "valid_loss" in metrics:
        text += f", validation loss={metrics['valid_loss']:.2f}"
    if "full_valid_loss" in metrics:
        text += f", full validation loss={metrics['full_valid_loss']:.2f}"
    return text


def _checkpoint(app: OpenAIApp, job: JobState, at: float, step: int, metrics: dict[str, Any]) -> None:
    model = app.planned_model_name(job)
    job.checkpoints.append(
        {
            "id": app.store.new_id("ftckpt_"),
            "object": "fine_tuning.job.checkpoint",
            "created_at": int(at),
            "fine_tuned_model_checkpoint": f"{model}:ckpt-step-{step}",
            "fine_tuning_job_id": job.obj["id"],
            "step_number": step,
            "metrics": {k: v for k, v in metrics.items() if k != "total_steps"},
        }
    )
    del job.checkpoints[:-KEPT_CHECKPOINTS]
    add_event(app, job, at, f"Checkpoint created at step {step}")


def result_csv(job: JobState) -> bytes:
    lines = ["step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy"]
    for m in job.metrics:
        valid = f"{m['valid_loss']},{m['valid_mean_token_accuracy']}" if "valid_loss" in m else ","
        lines.append(f"{m['step']},{m['train_loss']},{m['train_mean_token_accuracy']},{valid}")
    return ("\n".join(lines) + "\n").encode()


def _succeed(app: OpenAIApp, job: JobState, at: float) -> None:
    model = app.planned_model_name(job)
    # OpenAI serves the results CSV base64-encoded (users decode it with base64.b64decode).
    results = app.files.new_file(
        "step_metrics.csv", "fine-tune-results", base64.b64encode(result_csv(job)), processed=True
    )
    job.obj.update(
        status="succeeded",
        fine_tuned_model=model,
        finished_at=int(at),
        trained_tokens=accounting.trained_tokens(job.tokens_per_epoch, int(job.obj["hyperparameters"]["n_epochs"])),
        result_files=[results["id"]],
        estimated_finish=None,
    )
    add_event(app, job, at, f"New fine-tuned model created: {model}")
    add_event(app, job, at, "The job has successfully completed")
    app.register_tuned_model(job)


def _fault_error(params: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": str(params.get("code", "internal_error")),
        "message": str(
            params.get("message", "Fine-tuning job failed due to an internal error (fault injected by the emulator).")
        ),
        "param": params.get("param"),
    }
