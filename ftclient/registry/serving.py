"""What happens to tuned models after training: evaluations, the model answers they cache so a rerun asks
the provider for nothing, and the dedicated endpoints ftclient started to serve them (so none is left
running and billing unnoticed).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftclient.registry.base import RegistryBase
from ftclient.registry.records import EndpointRecord, EvaluationRecord, endpoint_from_row, evaluation_from_row

if TYPE_CHECKING:
    from ftclient.providers.base import Endpoint


class RegistryServing(RegistryBase):
    """The ``evaluations``, ``endpoints`` and ``response_cache`` tables."""

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
                " started_at = COALESCE(started_at, ?), stopped_at = COALESCE(stopped_at, ?), updated_at = ?"
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

    def cache_put_many(self, items: Sequence[tuple[str, str, str, Mapping[str, Any]]]) -> None:
        """Many ``(provider, model, request_hash, response)`` in one transaction (a batch's answers)."""
        now = time.time()
        with self._write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO response_cache (provider, model, request_hash, response_json, recorded_at)"
                " VALUES (?, ?, ?, ?, ?)",
                [(p, m, h, json.dumps(dict(r), sort_keys=True), now) for p, m, h, r in items],
            )
