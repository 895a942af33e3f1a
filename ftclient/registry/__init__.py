"""The local history: what was prepared, uploaded, launched, trained and evaluated, and how it links.

Storage contract (SQLite at ``settings.registry_path``; schema in ``ftclient.registry.migrations``):

- ``datasets``: one row per prepared dataset, keyed by ``dataset_sha256`` (the manifest's identity).
- ``uploads``: a file sent to a provider endpoint, keyed by (provider, endpoint, file id), found by the
  file's sha256 so the same bytes are never sent twice. ``upload_sessions``/``upload_parts`` remember a
  multipart upload's parts so an interrupted upload resumes while the provider keeps the session.
- ``runs``: the intent to create one job, written *before* the create request. Its ``run_id`` travels
  in the job's metadata, so after a crash or a lost response the job is found by it, never created twice.
  ``config_key`` identifies the configuration (dataset, model, method, hyperparameters, ...), so an
  identical relaunch finds its earlier job.
- ``jobs``, ``models`` (tuned model -> job), ``sweeps`` (several runs launched together), ``evaluations``.
- ``endpoints``: dedicated endpoints ftclient started to serve tuned models, so running ones are not forgotten.
- ``response_cache``: model answers for evaluations, keyed by (provider, model, request hash).

The database runs in WAL mode with a busy timeout: several ftclient processes (a launch and a
``jobs watch`` in another terminal) read and write it at once. No secret is ever stored here.

``Registry`` is the one entry point. Runs, sweeps, jobs and models are here; datasets and uploads in
``ftclient.registry.files``; evaluations, endpoints and the response cache in ``ftclient.registry.serving``;
the connection and its transactions in ``ftclient.registry.base``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ftclient.registry.base import BUSY_TIMEOUT_MS
from ftclient.registry.files import RegistryFiles
from ftclient.registry.records import (
    JobRecord,
    ModelRecord,
    RunRecord,
    SweepRecord,
    job_from_row,
    run_from_row,
    sweep_from_row,
)
from ftclient.registry.serving import RegistryServing

if TYPE_CHECKING:
    from ftclient.providers.base import JobInfo

__all__ = ["BUSY_TIMEOUT_MS", "Registry"]


class Registry(RegistryFiles, RegistryServing):
    """The local history database. One connection per instance, shared by threads under a lock."""

    # -- runs, sweeps, jobs ---------------------------------------------------------------------

    def record_sweep(self, sweep_id: str, dataset_sha256: str | None, configs: Sequence[Mapping[str, Any]]) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO sweeps (sweep_id, dataset_sha256, configs_json, recorded_at)"
                " VALUES (?, ?, ?, ?)",
                (sweep_id, dataset_sha256, json.dumps(list(configs), sort_keys=True), time.time()),
            )

    def get_sweep(self, sweep_id: str) -> SweepRecord | None:
        row = self._one("SELECT * FROM sweeps WHERE sweep_id = ?", (sweep_id,))
        return sweep_from_row(row) if row else None

    def list_sweeps(self) -> list[SweepRecord]:
        return [sweep_from_row(r) for r in self._rows("SELECT * FROM sweeps ORDER BY recorded_at DESC")]

    def record_run(
        self,
        *,
        run_id: str,
        provider: str,
        endpoint: str,
        config_key: str,
        spec: Mapping[str, Any],
        dataset_sha256: str | None = None,
        dataset_path: str | None = None,
        sweep_id: str | None = None,
        estimated_tokens: int | None = None,
        estimated_cost_usd: float | None = None,
    ) -> None:
        """Write the intent to create a job *before* sending the create request."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO runs (run_id, provider, endpoint, config_key, dataset_sha256, dataset_path, sweep_id,"
                " spec_json, estimated_tokens, estimated_cost_usd, job_id, recorded_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
                (
                    run_id,
                    provider,
                    endpoint,
                    config_key,
                    dataset_sha256,
                    dataset_path,
                    sweep_id,
                    json.dumps(dict(spec), sort_keys=True),
                    estimated_tokens,
                    estimated_cost_usd,
                    time.time(),
                ),
            )

    def get_run(self, run_id: str) -> RunRecord | None:
        row = self._one("SELECT * FROM runs WHERE run_id = ?", (run_id,))
        return run_from_row(row) if row else None

    def find_runs(self, provider: str, endpoint: str, config_key: str) -> list[RunRecord]:
        """Every run of this configuration on this endpoint, newest first."""
        rows = self._rows(
            "SELECT * FROM runs WHERE provider = ? AND endpoint = ? AND config_key = ? ORDER BY recorded_at DESC",
            (provider, endpoint, config_key),
        )
        return [run_from_row(r) for r in rows]

    def record_job(
        self,
        info: JobInfo,
        *,
        endpoint: str = "",
        run_id: str | None = None,
        sweep_id: str | None = None,
        config_key: str | None = None,
        dataset_sha256: str | None = None,
        dataset_path: str | None = None,
        estimated_tokens: int | None = None,
        estimated_cost_usd: float | None = None,
    ) -> None:
        """Remember a job (idempotent: recording it again refreshes it and keeps the links already known)."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO jobs (job_id, provider, endpoint, run_id, sweep_id, config_key, dataset_sha256,"
                " dataset_path, base_model, status, method, hyperparameters_json, suffix, seed, training_file,"
                " validation_file, estimated_tokens, estimated_cost_usd, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (job_id) DO UPDATE SET"
                " run_id = COALESCE(jobs.run_id, excluded.run_id),"
                " sweep_id = COALESCE(jobs.sweep_id, excluded.sweep_id),"
                " config_key = COALESCE(jobs.config_key, excluded.config_key),"
                " dataset_sha256 = COALESCE(jobs.dataset_sha256, excluded.dataset_sha256),"
                " dataset_path = COALESCE(jobs.dataset_path, excluded.dataset_path),"
                " estimated_tokens = COALESCE(jobs.estimated_tokens, excluded.estimated_tokens),"
                " estimated_cost_usd = COALESCE(jobs.estimated_cost_usd, excluded.estimated_cost_usd)",
                (
                    info.id,
                    info.provider,
                    endpoint,
                    run_id,
                    sweep_id,
                    config_key,
                    dataset_sha256,
                    dataset_path,
                    info.model,
                    info.status,
                    info.method,
                    json.dumps(dict(info.hyperparameters), sort_keys=True),
                    info.suffix,
                    info.seed,
                    info.training_file,
                    info.validation_file,
                    estimated_tokens,
                    estimated_cost_usd,
                    info.created_at,
                    time.time(),
                ),
            )
            if run_id:
                conn.execute("UPDATE runs SET job_id = ? WHERE run_id = ?", (info.id, run_id))
        self.update_job(info)

    def update_job(
        self, info: JobInfo, *, actual_cost_usd: float | None = None, last_event_id: str | None = None
    ) -> None:
        """Refresh a known job from the provider's latest view (status, tuned model, tokens, error)."""
        with self._write() as conn:
            conn.execute(
                "UPDATE jobs SET status = ?, fine_tuned_model = COALESCE(?, fine_tuned_model),"
                " trained_tokens = COALESCE(?, trained_tokens), finished_at = COALESCE(?, finished_at),"
                " hyperparameters_json = ?, error_code = ?, error_message = ?,"
                " actual_cost_usd = COALESCE(?, actual_cost_usd), last_event_id = COALESCE(?, last_event_id),"
                " updated_at = ? WHERE job_id = ?",
                (
                    info.status,
                    info.fine_tuned_model,
                    info.trained_tokens,
                    info.finished_at,
                    json.dumps(dict(info.hyperparameters), sort_keys=True),
                    info.error_code,
                    info.error_message,
                    actual_cost_usd,
                    last_event_id,
                    time.time(),
                    info.id,
                ),
            )
            if info.fine_tuned_model:
                conn.execute(
                    "INSERT OR IGNORE INTO models (model, provider, job_id, base_model, recorded_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (info.fine_tuned_model, info.provider, info.id, info.model, time.time()),
                )

    def set_last_event(self, job_id: str, event_id: str) -> None:
        with self._write() as conn:
            conn.execute("UPDATE jobs SET last_event_id = ? WHERE job_id = ?", (event_id, job_id))

    def get_job(self, job_id: str) -> JobRecord | None:
        row = self._one("SELECT * FROM jobs WHERE job_id = ?", (job_id,))
        return job_from_row(row) if row else None

    def list_jobs(
        self,
        *,
        provider: str | None = None,
        sweep_id: str | None = None,
        dataset_sha256: str | None = None,
        limit: int | None = None,
    ) -> list[JobRecord]:
        """Jobs newest first, optionally only those of a provider, sweep or dataset."""
        sql, params = "SELECT * FROM jobs WHERE 1 = 1", []
        for column, value in (("provider", provider), ("sweep_id", sweep_id), ("dataset_sha256", dataset_sha256)):
            if value is not None:
                sql += f" AND {column} = ?"
                params.append(value)
        sql += " ORDER BY created_at DESC, updated_at DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [job_from_row(r) for r in self._rows(sql, params)]

    def find_job_by_model(self, model: str) -> JobRecord | None:
        """The job that produced a tuned model (checkpoint names resolve to their job too)."""
        row = self._one("SELECT job_id FROM models WHERE model = ?", (model.split(":ckpt-step-", maxsplit=1)[0],))
        return self.get_job(row["job_id"]) if row and row["job_id"] else None

    def list_models(self) -> list[ModelRecord]:
        return [ModelRecord(**r) for r in self._rows("SELECT * FROM models ORDER BY recorded_at DESC")]
