"""The registry's records: plain, frozen views of its rows (see ``ftclient.registry`` for the contract)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class DatasetRecord:
    dataset_sha256: str
    path: Path
    task: str | None
    method: str | None
    target_provider: str | None
    target_model: str | None
    train_examples: int | None
    validation_examples: int | None
    test_examples: int | None
    train_tokens: int | None
    estimated_cost_usd: float | None
    created_at: str | None
    recorded_at: float
    manifest: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class UploadRecord:
    provider: str
    endpoint: str
    file_id: str
    sha256: str
    filename: str
    bytes: int
    purpose: str
    status: str
    dataset_sha256: str | None
    split: str | None
    recorded_at: float


@dataclass(frozen=True)
class UploadSession:
    """A multipart upload in progress: ``parts`` maps part index -> provider part id."""

    upload_id: str
    provider: str
    endpoint: str
    sha256: str
    path: str
    bytes: int
    part_size: int
    expires_at: float | None
    state: str
    recorded_at: float
    parts: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    provider: str
    endpoint: str
    config_key: str
    dataset_sha256: str | None
    dataset_path: str | None
    sweep_id: str | None
    spec: Mapping[str, Any]
    estimated_tokens: int | None
    estimated_cost_usd: float | None
    job_id: str | None
    recorded_at: float


@dataclass(frozen=True)
class JobRecord:
    job_id: str
    provider: str
    dataset_sha256: str | None
    dataset_path: str | None
    base_model: str
    fine_tuned_model: str | None
    status: str
    method: str
    hyperparameters: Mapping[str, Any]
    run_id: str | None
    sweep_id: str | None
    estimated_cost_usd: float | None
    trained_tokens: int | None
    actual_cost_usd: float | None
    created_at: int
    endpoint: str = ""
    config_key: str | None = None
    suffix: str | None = None
    seed: int | None = None
    training_file: str | None = None
    validation_file: str | None = None
    estimated_tokens: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    last_event_id: str | None = None
    finished_at: int | None = None
    updated_at: float = 0.0


@dataclass(frozen=True)
class ModelRecord:
    model: str
    provider: str
    job_id: str | None
    base_model: str | None
    recorded_at: float


@dataclass(frozen=True)
class SweepRecord:
    sweep_id: str
    dataset_sha256: str | None
    configs: Sequence[Mapping[str, Any]]
    recorded_at: float


@dataclass(frozen=True)
class EvaluationRecord:
    eval_id: str
    job_id: str | None
    dataset_sha256: str | None
    models: Sequence[str]
    report_path: str | None
    summary: Mapping[str, Any]
    recorded_at: float


@dataclass(frozen=True)
class EndpointRecord:
    """A dedicated endpoint ftclient started; ``keep`` when the user asked to leave it running."""

    endpoint_id: str
    provider: str
    api_endpoint: str
    name: str | None
    model: str
    job_id: str | None
    hardware: str | None
    state: str
    cost_per_hour_usd: float | None
    inactive_timeout_min: int | None
    keep: bool
    created_at: float
    started_at: float | None
    stopped_at: float | None
    updated_at: float

    @property
    def running(self) -> bool:
        """Starting or serving (and billing), as far as ftclient last saw; a stopping one is on its way out."""
        return self.state in {"PENDING", "STARTING", "STARTED"}


def dataset_from_row(row: Mapping[str, Any]) -> DatasetRecord:
    values = dict(row)
    manifest = json.loads(values.pop("manifest_json"))
    values["path"] = Path(values["path"])
    return DatasetRecord(**values, manifest=manifest)


def run_from_row(row: Mapping[str, Any]) -> RunRecord:
    values = dict(row)
    values["spec"] = json.loads(values.pop("spec_json"))
    return RunRecord(**values)


def job_from_row(row: Mapping[str, Any]) -> JobRecord:
    values = dict(row)
    values["hyperparameters"] = json.loads(values.pop("hyperparameters_json") or "{}")
    return JobRecord(**values)


def sweep_from_row(row: Mapping[str, Any]) -> SweepRecord:
    values = dict(row)
    values["configs"] = json.loads(values.pop("configs_json"))
    return SweepRecord(**values)


def evaluation_from_row(row: Mapping[str, Any]) -> EvaluationRecord:
    values = dict(row)
    values["models"] = json.loads(values.pop("models_json"))
    values["summary"] = json.loads(values.pop("summary_json"))
    return EvaluationRecord(**values)


def endpoint_from_row(row: Mapping[str, Any]) -> EndpointRecord:
    values = dict(row)
    values["keep"] = bool(values["keep"])
    return EndpointRecord(**values)
