"""The local history: what was prepared, uploaded, launched, trained and evaluated, and how it links.

Storage contract (SQLite at ``settings.registry_path``; schema in ``ftclient.migrations``):

- ``datasets``: one row per prepared dataset, keyed by ``dataset_sha256`` (the manifest's identity).
- ``uploads``: a file sent to a provider endpoint, keyed by (provider, endpoint, file id), found by the
  file's sha256 so the same bytes are never sent twice. ``upload_sessions``/``upload_parts`` remember a
  multipart upload's parts so an interrupted upload resumes while the provider keeps the session.
- ``runs``: the intent to create one job, written *before* the create request. Its ``run_id`` travels
  in the job's metadata, so after a crash or a lost response the job is found by it, never created twice.
  ``config_key`` identifies the configuration (dataset, model, method, hyperparameters, ...), so an
  identical relaunch finds its earlier job.
- ``jobs``, ``models`` (tuned model -> job), ``sweeps`` (several runs launched together), ``evaluations``.
- ``response_cache``: model answers for evaluations, keyed by (provider, model, request hash).

The database runs in WAL mode with a busy timeout: several ftclient processes (a launch and a
``jobs watch`` in another terminal) read and write it at once. No secret is ever stored here.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftclient.errors import RegistryError
from ftclient.migrations import migrate
from ftclient.records import (
    DatasetRecord,
    EndpointRecord,
    EvaluationRecord,
    JobRecord,
    ModelRecord,
    RunRecord,
    SweepRecord,
    UploadRecord,
    UploadSession,
    dataset_from_row,
    endpoint_from_row,
    evaluation_from_row,
    job_from_row,
    run_from_row,
    sweep_from_row,
)

if TYPE_CHECKING:
    from ftclient.dataset.manifest import Manifest
    from ftclient.providers.base import Endpoint, JobInfo

BUSY_TIMEOUT_MS = 15_000


def _manifest_dict(manifest: Any) -> dict[str, Any]:
    if hasattr(manifest, "model_dump"):
        data: dict[str, Any] = manifest.model_dump(mode="json")
        return data
    if isinstance(manifest, Mapping):
        return dict(manifest)
    raise TypeError(f"not a manifest: {type(manifest).__name__}")


def _get(data: Mapping[str, Any], *keys: str) -> Any:
    value: Any = data
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


class Registry:
    """The local history database. One connection per instance, shared by threads under a lock."""

    def __init__(self, path: Path | str | None = None) -> None:
        if path is None:
            from ftclient.config import resolve

            path = resolve().registry_path
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
            self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.execute("PRAGMA foreign_keys = ON")
            migrate(self._conn)
        except sqlite3.Error as exc:
            raise RegistryError(
                f"cannot open the registry at {self.path}: {exc}",
                hint="check that the directory is writable, or set FTCLIENT_HOME to another directory",
            ) from exc

    @classmethod
    def open(cls, path: Path | str | None = None) -> Registry:
        return cls(path)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction; ``BEGIN IMMEDIATE`` takes the lock up front so concurrent
        writers queue on the busy timeout instead of failing halfway."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise RegistryError(f"the registry at {self.path} is busy or unwritable: {exc}") from exc
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            try:
                cur = self._conn.execute(sql, params)
            except sqlite3.Error as exc:
                raise RegistryError(f"cannot read the registry at {self.path}: {exc}") from exc
            cols = [d[0] for d in cur.description]
            return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def _one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    # -- datasets -------------------------------------------------------------------------------

    def record_dataset(self, manifest: Manifest | Mapping[str, Any], path: Path | str) -> None:
        """Remember a prepared dataset folder; recording it again moves it to the front (latest)."""
        data = _manifest_dict(manifest)
        sha = data.get("dataset_sha256")
        if not sha:
            raise RegistryError("the manifest has no dataset_sha256", hint="prepare the dataset again")
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO datasets (dataset_sha256, path, task, method, target_provider,"
                " target_model, train_examples, validation_examples, test_examples, train_tokens,"
                " estimated_cost_usd, manifest_json, created_at, recorded_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    sha,
                    str(Path(path).resolve()),
                    data.get("task"),
                    data.get("method"),
                    _get(data, "target", "provider"),
                    _get(data, "target", "model"),
                    _get(data, "files", "train", "examples"),
                    _get(data, "files", "validation", "examples"),
                    _get(data, "files", "test", "examples"),
                    _get(data, "files", "train", "tokens"),
                    _estimated_cost(data),
                    json.dumps(data, sort_keys=True),
                    str(data.get("created_at")) if data.get("created_at") is not None else None,
                    time.time(),
                ),
            )

    def latest_dataset(self) -> tuple[Path, Manifest] | None:
        """The most recently prepared dataset whose folder still exists, with its manifest."""
        from ftclient.dataset.manifest import Manifest

        for row in self._rows("SELECT path FROM datasets ORDER BY recorded_at DESC"):
            folder = Path(row["path"])
            if (folder / "manifest.json").is_file():
                return folder, Manifest.load(folder)
        return None

    def get_dataset(self, dataset_sha256: str) -> DatasetRecord | None:
        row = self._one("SELECT * FROM datasets WHERE dataset_sha256 = ?", (dataset_sha256,))
        return dataset_from_row(row) if row else None

    def list_datasets(self) -> list[DatasetRecord]:
        return [dataset_from_row(r) for r in self._rows("SELECT * FROM datasets ORDER BY recorded_at DESC")]

    # -- uploads --------------------------------------------------------------------------------

    def record_upload(
        self,
        *,
        provider: str,
        file_id: str,
        sha256: str,
        filename: str,
        bytes: int,
        purpose: str = "fine-tune",
        status: str = "processed",
        endpoint: str = "",
        dataset_sha256: str | None = None,
        split: str | None = None,
    ) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO uploads (provider, endpoint, file_id, sha256, filename, bytes, purpose,"
                " status, dataset_sha256, split, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    provider,
                    endpoint,
                    file_id,
                    sha256,
                    filename,
                    bytes,
                    purpose,
                    status,
                    dataset_sha256,
                    split,
                    time.time(),
                ),
            )

    def find_upload(
        self, provider: str, sha256: str, *, endpoint: str | None = None, purpose: str = "fine-tune"
    ) -> UploadRecord | None:
        """The newest live upload of these bytes to this provider (and endpoint, when given)."""
        sql = "SELECT * FROM uploads WHERE provider = ? AND sha256 = ? AND purpose = ? AND status != 'deleted'"
        params: list[Any] = [provider, sha256, purpose]
        if endpoint is not None:
            sql += " AND endpoint = ?"
            params.append(endpoint)
        row = self._one(sql + " ORDER BY recorded_at DESC LIMIT 1", params)
        return UploadRecord(**row) if row else None

    def mark_upload_gone(self, provider: str, file_id: str, *, endpoint: str = "") -> None:
        """The provider no longer has this file: never offer it for reuse again."""
        with self._write() as conn:
            conn.execute(
                "UPDATE uploads SET status = 'deleted' WHERE provider = ? AND endpoint = ? AND file_id = ?",
                (provider, endpoint, file_id),
            )

    def list_uploads(self) -> list[UploadRecord]:
        return [UploadRecord(**r) for r in self._rows("SELECT * FROM uploads ORDER BY recorded_at DESC")]

    def start_upload_session(
        self,
        *,
        upload_id: str,
        provider: str,
        endpoint: str,
        sha256: str,
        path: str,
        bytes: int,
        part_size: int,
        expires_at: float | None,
    ) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO upload_sessions (upload_id, provider, endpoint, sha256, path, bytes, part_size,"
                " expires_at, state, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?)",
                (upload_id, provider, endpoint, sha256, path, bytes, part_size, expires_at, time.time()),
            )

    def record_upload_part(self, upload_id: str, part_index: int, part_id: str) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO upload_parts (upload_id, part_index, part_id) VALUES (?, ?, ?)",
                (upload_id, part_index, part_id),
            )

    def find_upload_session(
        self, provider: str, endpoint: str, sha256: str, *, now: float | None = None
    ) -> UploadSession | None:
        """An open multipart session for these bytes that has not expired yet (with its sent parts)."""
        now = time.time() if now is None else now
        row = self._one(
            "SELECT * FROM upload_sessions WHERE provider = ? AND endpoint = ? AND sha256 = ? AND state = 'open'"
            " AND (expires_at IS NULL OR expires_at > ?) ORDER BY recorded_at DESC LIMIT 1",
            (provider, endpoint, sha256, now),
        )
        if row is None:
            return None
        parts = {
            int(p["part_index"]): str(p["part_id"])
            for p in self._rows("SELECT part_index, part_id FROM upload_parts WHERE upload_id = ?", (row["upload_id"],))
        }
        return UploadSession(**row, parts=parts)

    def close_upload_session(self, upload_id: str, state: str) -> None:
        """``state``: ``completed``, ``cancelled`` or ``expired``."""
        with self._write() as conn:
            conn.execute("UPDATE upload_sessions SET state = ? WHERE upload_id = ?", (state, upload_id))

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

    # -- evaluations ----------------------------------------------------------------------------

    def record_evaluation(  # noqa: PLR0917 - positional by the published interface
        self,
        eval_id: str,
        job_id: str | None,
        dataset_sha256: str | None,
        models: Sequence[str],
        report_path: Path | str | None,
        summary: Mapping[str, Any],
    ) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO evaluations (eval_id, job_id, dataset_sha256, models_json, report_path,"
                " summary_json, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    eval_id,
                    job_id,
                    dataset_sha256,
                    json.dumps(list(models)),
                    str(report_path) if report_path is not None else None,
                    json.dumps(dict(summary), sort_keys=True, default=str),
                    time.time(),
                ),
            )

    def list_evaluations(self, *, job_id: str | None = None) -> list[EvaluationRecord]:
        sql, params = "SELECT * FROM evaluations", []
        if job_id is not None:
            sql += " WHERE job_id = ?"
            params.append(job_id)
        return [evaluation_from_row(r) for r in self._rows(sql + " ORDER BY recorded_at DESC", params)]

    # -- endpoints ------------------------------------------------------------------------------

    def record_endpoint(
        self,
        endpoint: Endpoint,
        *,
        provider: str,
        api_endpoint: str = "",
        job_id: str | None = None,
        keep: bool = False,
    ) -> None:
        """Remember an endpoint ftclient created (or refresh what is known about it)."""
        now = time.time()
        with self._write() as conn:
            conn.execute(
                "INSERT INTO endpoints (endpoint_id, provider, api_endpoint, name, model, job_id, hardware, state,"
                " cost_per_hour_usd, inactive_timeout_min, keep, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (endpoint_id) DO UPDATE SET state = excluded.state, name = COALESCE(excluded.name,"
                " endpoints.name), cost_per_hour_usd = COALESCE(excluded.cost_per_hour_usd,"
                " endpoints.cost_per_hour_usd), job_id = COALESCE(endpoints.job_id, excluded.job_id),"
                " updated_at = excluded.updated_at",
                (
                    endpoint.id,
                    provider,
                    api_endpoint,
                    endpoint.name,
                    endpoint.model,
                    job_id,
                    endpoint.hardware,
                    endpoint.state,
                    endpoint.cost_per_hour_usd,
                    endpoint.inactive_timeout_min,
                    int(keep),
                    float(endpoint.created_at or now),
                    now,
                ),
            )

    def update_endpoint(
        self,
        endpoint_id: str,
        *,
        state: str | None = None,
        keep: bool | None = None,
        started_at: float | None = None,
        stopped_at: float | None = None,
    ) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE endpoints SET state = COALESCE(?, state), keep = COALESCE(?, keep),"
                " started_at = COALESCE(started_at, ?), stopped_at = COALESCE(?, stopped_at), updated_at = ?"
                " WHERE endpoint_id = ?",
                (state, None if keep is None else int(keep), started_at, stopped_at, time.time(), endpoint_id),
            )

    def get_endpoint(self, endpoint_id: str) -> EndpointRecord | None:
        row = self._one("SELECT * FROM endpoints WHERE endpoint_id = ?", (endpoint_id,))
        return endpoint_from_row(row) if row else None

    def list_endpoints(self, *, provider: str | None = None, running_only: bool = False) -> list[EndpointRecord]:
        """Endpoints ftclient started, newest first (``running_only``: those last seen starting or started)."""
        sql, params = "SELECT * FROM endpoints WHERE 1 = 1", []
        if provider is not None:
            sql += " AND provider = ?"
            params.append(provider)
        if running_only:
            sql += " AND state IN ('PENDING', 'STARTING', 'STARTED')"
        return [endpoint_from_row(r) for r in self._rows(sql + " ORDER BY created_at DESC", params)]

    # -- response cache -------------------------------------------------------------------------

    def cache_get(self, provider: str, model: str, request_hash: str) -> dict[str, Any] | None:
        row = self._one(
            "SELECT response_json FROM response_cache WHERE provider = ? AND model = ? AND request_hash = ?",
            (provider, model, request_hash),
        )
        if row is None:
            return None
        value: dict[str, Any] = json.loads(row["response_json"])
        return value

    def cache_put(self, provider: str, model: str, request_hash: str, response: Mapping[str, Any]) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO response_cache (provider, model, request_hash, response_json, recorded_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (provider, model, request_hash, json.dumps(dict(response), sort_keys=True), time.time()),
            )


def _estimated_cost(data: Mapping[str, Any]) -> float | None:
    cost = data.get("cost")
    if isinstance(cost, Mapping):
        for key in ("estimated_usd", "training_usd", "total_usd", "usd"):
            if isinstance(cost.get(key), int | float):
                return float(cost[key])
    return None
