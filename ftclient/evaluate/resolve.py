"""From "evaluate this job" to concrete models, a test file and a task.

A job id is looked up in the local registry (which links it to the dataset it was trained on and that
dataset's manifest and test split); on a machine that never saw the launch, the provider is asked for the
job and ``--test FILE`` supplies the examples. A model name is traced back to its job when the registry
knows it. Checkpoints are evaluated by their own model name. The test file is the dataset folder's
``test.jsonl``: chat examples whose last assistant message is the reference answer.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftclient.dataset.manifest import file_sha256
from ftclient.errors import EvaluationError, JobFailedError, NotFoundLocallyError, UserInputError
from ftclient.evaluate.metrics import TASKS, detect_language, parse_json_object
from ftclient.evaluate.types import Example
from ftclient.providers.base import JobInfo, Provider

RUNNING = {"validating_files", "queued", "running", "pausing", "paused"}


@dataclass
class Target:
    """What to evaluate, resolved."""

    provider: str
    model: str
    """The model under test (the tuned model, a checkpoint of it, or any ``--model``)."""
    baseline: str | None
    test_path: Path
    task: str
    examples: list[Example]
    job_id: str | None = None
    dataset_sha256: str | None = None
    dataset_dir: Path | None = None
    labels: list[str] = field(default_factory=list)
    system_prompt: str | None = None
    target_language: str | None = None
    task_inferred: bool = False


def load_manifest(folder: Path) -> dict[str, Any]:
    """``manifest.json`` of a dataset folder as plain data ({} when there is none)."""
    path = folder / "manifest.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserInputError(
            f"{path}: cannot read the dataset manifest: {exc}",
            hint="run `ftclient prepare` again to rewrite the dataset folder",
        ) from exc
    return data if isinstance(data, dict) else {}


def read_test_file(path: Path, system_prompt: str | None = None) -> list[Example]:
    """Examples from a chat JSONL: the last assistant message is the reference, the messages before it the
    prompt. ``system_prompt`` is prepended where a line has no system message (the prompt of training)."""
    if not path.is_file():
        raise UserInputError(
            f"test file {path} does not exist",
            hint="pass --test FILE, or run `ftclient prepare` to create the dataset folder",
        )
    examples: list[Example] = []
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                messages = list(record["messages"])
            except (ValueError, KeyError, TypeError) as exc:
                raise UserInputError(
                    f"{path}:{line_no}:1: not a chat example ({exc})",
                    hint='each line must be {"messages": [..., {"role": "assistant", ...}]}',
                ) from exc
            last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=None)
            if last is None or not isinstance(messages[last].get("content"), str):
                raise UserInputError(
                    f"{path}:{line_no}:1: no assistant message to use as the reference answer",
                    hint="the last assistant message of each test example is its reference",
                )
            prompt = [dict(m) for m in messages[:last]]
            if system_prompt and not any(m.get("role") == "system" for m in prompt):
                prompt.insert(0, {"role": "system", "content": system_prompt})
            examples.append(Example(index=len(examples), messages=prompt, reference=messages[last]["content"]))
    if not examples:
        raise UserInputError(f"test file {path} has no examples", hint="prepare a dataset with a test split")
    return examples


def infer_task(examples: list[Example]) -> str:
    """A best guess when neither the manifest nor ``--task`` says: JSON references -> extract, few distinct
    short references -> classify, else chat."""
    refs = [e.reference for e in examples]
    try:
        if all(isinstance(parse_json_object(r), dict) for r in refs):
            return "extract"
    except ValueError:
        pass
    distinct = set(refs)
    if len(distinct) <= max(2, min(50, len(refs) // 3)) and all(len(r) <= 60 for r in distinct):
        return "classify"
    return "chat"


def dataset_facts(manifest: Mapping[str, Any]) -> tuple[str | None, list[str], str | None, str | None]:
    """(task, labels, system prompt, target language) from a manifest."""
    languages = manifest.get("languages") or {}
    target_language = languages.get("target") if isinstance(languages, Mapping) else None
    return (manifest.get("task"), list(manifest.get("labels") or []), manifest.get("system_prompt"), target_language)


def wait_for_job(
    provider: Provider,
    job_id: str,
    *,
    wait: bool,
    poll_s: float,
    sleep: Callable[[float], None],
    timeout_s: float | None = None,
) -> JobInfo:
    """The job, finished. Unfinished: wait for it (``wait``) or say how to."""
    info = provider.get_job(job_id)
    waited = 0.0
    while info.status in RUNNING:
        if not wait:
            raise EvaluationError(
                f"job {job_id} is {info.status}; there is no tuned model to evaluate yet",
                hint=f"run `ftclient jobs watch {job_id}` and evaluate when it has succeeded, or pass --wait",
            )
        if timeout_s is not None and waited >= timeout_s:
            from ftclient.errors import WaitTimeout

            raise WaitTimeout(f"job {job_id}", waited, hint=f"run `ftclient evaluate {job_id}` again later")
        sleep(poll_s)
        waited += poll_s
        info = provider.get_job(job_id)
    if info.status != "succeeded" or not info.fine_tuned_model:
        raise JobFailedError(
            job_id,
            info.status,
            detail=info.error_message,
            hint="only a succeeded job has a tuned model; `ftclient jobs events` shows why",
        )
    return info


def checkpoint_model(provider: Provider, job_id: str, step: int) -> str:
    checkpoints = provider.list_checkpoints(job_id)
    for cp in checkpoints:
        if cp.step == step:
            return cp.model
    steps = ", ".join(str(c.step) for c in sorted(checkpoints, key=lambda c: c.step)) or "none"
    raise UserInputError(f"job {job_id} has no checkpoint at step {step}", hint=f"checkpoints exist at steps: {steps}")


def training_curve(provider: Provider, job_id: str, info: JobInfo | None) -> list[dict[str, float]]:
    """Loss by step from the job's metrics events, else from its result file (CSV); [] if neither has any."""
    points: dict[int, dict[str, float]] = {}
    try:
        for event in provider.list_events(job_id):
            data = dict(event.data or {})
            if event.type == "metrics" and "step" in data:
                points[int(data["step"])] = _loss_point(data)
    except Exception:  # the curve is an illustration; a provider hiccup must not sink the evaluation
        points = {}
    if not points and info is not None:
        for file_id in info.result_files:
            try:
                text = provider.download_file(file_id).decode("utf-8")
            except Exception:
                continue
            for row in csv.DictReader(io.StringIO(text)):
                if row.get("step"):
                    points[int(float(row["step"]))] = _loss_point(row)
    return [points[s] for s in sorted(points) if "train_loss" in points[s]]


def _loss_point(data: Mapping[str, Any]) -> dict[str, float]:
    point: dict[str, float] = {"step": float(data["step"])}
    for key in ("train_loss", "valid_loss", "full_valid_loss"):
        value = data.get(key)
        if value not in (None, ""):
            try:
                point[key] = float(value)
            except (TypeError, ValueError):
                continue
    if "valid_loss" not in point and "full_valid_loss" in point:
        point["valid_loss"] = point["full_valid_loss"]
    point.pop("full_valid_loss", None)
    return point


@dataclass
class Request:
    """What the caller asked for (the CLI flags)."""

    job_or_model: str | None
    model: str | None = None
    baseline: str | None = None
    no_baseline: bool = False
    test: Path | None = None
    task: str | None = None
    checkpoint: int | None = None
    provider: str = "openai"
    wait: bool = False


@dataclass
class _Found:
    """What the job id or model name led to."""

    job_id: str | None = None
    model: str | None = None
    base_model: str | None = None
    dataset_dir: Path | None = None
    dataset_sha256: str | None = None
    info: JobInfo | None = None


def _find_job(
    req: Request, registry: Any, provider: Provider | None, sleep: Callable[[float], None], poll_s: float
) -> _Found:
    found = _Found(model=req.model)
    name = req.job_or_model
    if not name:
        return found
    record = registry.get_job(name) if registry is not None else None
    if record is None and registry is not None and not name.startswith("ftjob-"):
        record = registry.find_job_by_model(name)
        if record is None:
            found.model = found.model or name  # a plain model name, evaluated on --test
    if record is not None:
        found.job_id, found.base_model = record.job_id, record.base_model
        found.dataset_sha256 = record.dataset_sha256
        found.dataset_dir = Path(record.dataset_path) if record.dataset_path else None
        if found.model is None and name != record.job_id:
            found.model = name  # the tuned model (or a checkpoint of it) was named directly
    elif name.startswith("ftjob-"):
        found.job_id = name
    if found.job_id is None:
        return found
    if provider is None:
        if record is None:
            raise NotFoundLocallyError("job", found.job_id, hint="check the id with `ftclient jobs list`")
        found.model = found.model or record.fine_tuned_model
        return found
    finished = record is not None and record.status == "succeeded" and bool(record.fine_tuned_model)
    if finished or (found.model is not None and req.checkpoint is None):
        found.info = _job_info_or_none(provider, found.job_id)
    else:
        found.info = wait_for_job(provider, found.job_id, wait=req.wait, poll_s=poll_s, sleep=sleep)
    if found.info is not None:
        found.base_model = found.base_model or found.info.model
        found.dataset_sha256 = found.dataset_sha256 or found.info.metadata.get("ftclient_dataset") or None
    tuned = (found.info.fine_tuned_model if found.info else None) or (record.fine_tuned_model if record else None)
    found.model = found.model or tuned
    if req.checkpoint is not None:
        found.model = checkpoint_model(provider, found.job_id, req.checkpoint)
    return found


def resolve(
    req: Request, *, registry: Any, provider: Provider | None, sleep: Callable[[float], None], poll_s: float = 5.0
) -> tuple[Target, JobInfo | None]:
    """The resolved :class:`Target` and, for a job, its provider record (for the training curve)."""
    if req.task is not None and req.task not in TASKS:
        raise UserInputError(f"unknown task {req.task!r}", hint=f"use one of: {', '.join(TASKS)}")
    found = _find_job(req, registry, provider, sleep, poll_s)
    if found.model is None:
        raise UserInputError(
            "nothing to evaluate", hint="give a job id, a model name, or --model MODEL with --test FILE"
        )
    if req.test is not None:
        test_path = req.test
        manifest = load_manifest(test_path.parent)
    elif found.dataset_dir is not None:
        test_path = found.dataset_dir / "test.jsonl"
        manifest = load_manifest(found.dataset_dir)
        check_test_split(found.job_id, found.dataset_sha256, test_path, manifest, registry)
    else:
        raise UserInputError(
            f"no test split known for {req.job_or_model or found.model}",
            hint="pass --test FILE (a chat JSONL whose last assistant message is the reference answer)",
        )
    task, labels, system_prompt, target_language = dataset_facts(manifest)
    examples = read_test_file(test_path, system_prompt)
    inferred = False
    if req.task:
        task = req.task
    elif task not in TASKS:
        task, inferred = infer_task(examples), True
    assert task is not None
    if task == "translate" and not target_language:
        target_language = detect_language([e.reference for e in examples])
    baseline = None
    if not req.no_baseline:
        baseline = req.baseline or found.base_model or (manifest.get("target") or {}).get("model")
        if baseline == found.model:
            baseline = None
    return Target(
        provider=req.provider,
        model=found.model,
        baseline=baseline,
        test_path=test_path,
        task=task,
        examples=examples,
        job_id=found.job_id,
        dataset_sha256=found.dataset_sha256 or manifest.get("dataset_sha256"),
        dataset_dir=found.dataset_dir,
        labels=labels,
        system_prompt=system_prompt,
        target_language=target_language,
        task_inferred=inferred,
    ), found.info


def check_test_split(
    job_id: str | None, job_dataset: str | None, test_path: Path, manifest: Mapping[str, Any], registry: Any
) -> None:
    """Refuse a dataset folder whose test split is no longer the one the job was launched with.

    Re-preparing the folder after the launch (another input, seed or split) would evaluate the tuned model
    on examples it may have trained on, under the old dataset's name. The job's own split is known by the
    sha256 recorded when it was prepared (the registry's copy of its manifest, or the folder's manifest if
    it is still the same dataset); the file on disk must still have it.
    """
    if not job_dataset:
        return
    recorded = registry.get_dataset(job_dataset) if registry is not None else None
    then: Mapping[str, Any] = recorded.manifest if recorded is not None and recorded.manifest else {}
    if not then and manifest.get("dataset_sha256") == job_dataset:
        then = manifest
    expected = ((then.get("files") or {}).get("test") or {}).get("sha256")
    actual = file_sha256(test_path) if test_path.is_file() else None
    if actual is not None and actual == expected:
        return
    now_sha = str(manifest.get("dataset_sha256") or "unknown")
    changes = [f"job {job_id} was trained on dataset {job_dataset[:16]}"]
    if now_sha != job_dataset:
        prepared = f", prepared {manifest['created_at']}" if manifest.get("created_at") else ""
        changes.append(f"the folder now holds dataset {now_sha[:16]}{prepared}")
    elif expected is not None:
        changes.append("test.jsonl was changed after it was prepared")
    then_sizes = (then.get("split") or {}).get("sizes") or {}
    now_sizes = (manifest.get("split") or {}).get("sizes") or {}
    if then_sizes and now_sizes and then_sizes != now_sizes:
        changes.append(f"split sizes then {_sizes(then_sizes)}, now {_sizes(now_sizes)}")
    if expected is None:
        changes.append("the job's test split is not recorded, so it cannot be checked")
    raise EvaluationError(
        f"{test_path} is not the test split job {job_id} was launched with: " + "; ".join(changes),
        hint="its examples may have been in the job's training data. Prepare the original input again "
        "(same options and seed) into another folder and pass --test FOLDER/test.jsonl, or pass --test "
        f"{test_path} to evaluate on it anyway",
    )


def _sizes(sizes: Mapping[str, Any]) -> str:
    return "/".join(str(sizes.get(name, 0)) for name in ("train", "validation", "test"))


def _job_info_or_none(provider: Provider, job_id: str) -> JobInfo | None:
    try:
        return provider.get_job(job_id)
    except Exception:  # the registry already has what evaluation needs; the provider copy is a bonus
        return None
