"""Numbered, transactional schema migrations for the registry database.

Each migration is a function registered under a number; it runs inside ``BEGIN IMMEDIATE`` together
with the row that records it in ``_ftclient_migrations``, so a migration is either fully applied or not
at all, and two ftclient processes opening a fresh database at once cannot both apply it (the second
waits on the write lock, then sees the row and skips). Never edit a released migration: add the next
number instead.

Migration bodies use ``conn.execute`` statement by statement, never ``executescript`` (which commits
on its own and would break the transaction).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from ftclient.errors import RegistryError


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    apply: Callable[[sqlite3.Connection], None]


MIGRATIONS: list[Migration] = []


def migration(number: int) -> Callable[[Callable[[sqlite3.Connection], None]], Callable[[sqlite3.Connection], None]]:
    """Register ``func`` as migration ``number`` (numbers must be new and increasing)."""

    def register(func: Callable[[sqlite3.Connection], None]) -> Callable[[sqlite3.Connection], None]:
        if MIGRATIONS and number <= MIGRATIONS[-1].number:
            raise ValueError(f"migration {number} must come after {MIGRATIONS[-1].number}")
        MIGRATIONS.append(Migration(number, func.__name__, func))
        return func

    return register


def _run(conn: sqlite3.Connection, sql: str) -> None:
    for statement in sql.split(";"):
        if statement.strip():
            conn.execute(statement)


def applied(conn: sqlite3.Connection) -> list[int]:
    rows = conn.execute("SELECT number FROM _ftclient_migrations ORDER BY number").fetchall()
    return [int(r[0]) for r in rows]


def migrate(conn: sqlite3.Connection) -> list[int]:
    """Apply every pending migration; returns the numbers applied now. ``conn`` must be in autocommit
    mode (``isolation_level=None``) so the explicit transactions here are the only ones."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS _ftclient_migrations ("
        " number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
    )
    done = set(applied(conn))
    newest_known = MIGRATIONS[-1].number if MIGRATIONS else 0
    if done and max(done) > newest_known:
        raise RegistryError(
            f"the registry was written by a newer ftclient (schema {max(done)}, this one knows {newest_known})",
            hint="upgrade ftclient (pip install -U ftclient), or point FTCLIENT_HOME at another directory",
        )
    now_applied: list[int] = []
    for mig in MIGRATIONS:
        if mig.number in done:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("SELECT 1 FROM _ftclient_migrations WHERE number = ?", (mig.number,)).fetchone():
                conn.execute("COMMIT")
                continue
            mig.apply(conn)
            conn.execute(
                "INSERT INTO _ftclient_migrations (number, name, applied_at) VALUES (?, ?, ?)",
                (mig.number, mig.name, time.time()),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        now_applied.append(mig.number)
    return now_applied


@migration(1)
def m001_initial(conn: sqlite3.Connection) -> None:
    """Datasets -> uploads -> runs/jobs -> models -> evaluations, plus the evaluation response cache."""
    _run(
        conn,
        """
        CREATE TABLE datasets (
            dataset_sha256 TEXT PRIMARY KEY,
            path TEXT NOT NULL,
            task TEXT,
            method TEXT,
            target_provider TEXT,
            target_model TEXT,
            train_examples INTEGER,
            validation_examples INTEGER,
            test_examples INTEGER,
            train_tokens INTEGER,
            estimated_cost_usd REAL,
            manifest_json TEXT NOT NULL,
            created_at TEXT,
            recorded_at REAL NOT NULL
        );
        CREATE INDEX datasets_recorded ON datasets (recorded_at);

        CREATE TABLE uploads (
            provider TEXT NOT NULL,
            endpoint TEXT NOT NULL,
            file_id TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            filename TEXT NOT NULL,
            bytes INTEGER NOT NULL,
            purpose TEXT NOT NULL,
            status TEXT NOT NULL,
            dataset_sha256 TEXT,
            split TEXT,
            recorded_at REAL NOT NULL,
            PRIMARY KEY (provider, endpoint, file_id)
        );
        CREATE INDEX uploads_sha ON uploads (provider, sha256);

        CREATE TABLE upload_sessions (
            upload_id TEXT PRIMARY KEY,
            provider TEXT NOT NULL,
            endpoint TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            path TEXT NOT NULL,
            bytes INTEGER NOT NULL,
            part_size INTEGER NOT NULL,
            expires_at REAL,
            state TEXT NOT NULL,
            recorded_at REAL NOT NULL
        );
        CREATE INDEX upload_sessions_sha ON upload_sessions (provider, endpoint, sha256, state);

        CREATE TABLE upload_parts (
            upload_id TEXT NOT NULL REFERENCES upload_sessions (upload_id) ON DELETE CASCADE,
            part_index INTEGER NOT NULL,
            part_id TEXT NOT NULL,
            PRIMARY KEY (upload_id, part_index)
        );

        CREATE TABLE sweeps (
            sweep_id TEXT PRIMARY KEY,
            dataset_sha256 TEXT,
            configs_json TEXT NOT NULL,
            recorded_at REAL NOT NULL
        );

        CREATE TABLE runs (
            run_id TEXT PRIMARY KEY,
            provider TEXT NOT NULL,
            endpoint TEXT NOT NULL,
            config_key TEXT NOT NULL,
            dataset_sha256 TEXT,
            dataset_path TEXT,
            sweep_id TEXT,
            spec_json TEXT NOT NULL,
            estimated_tokens INTEGER,
            estimated_cost_usd REAL,
            job_id TEXT,
            recorded_at REAL NOT NULL
        );
        CREATE INDEX runs_config ON runs (provider, endpoint, config_key);

        CREATE TABLE jobs (
            job_id TEXT PRIMARY KEY,
            provider TEXT NOT NULL,
            endpoint TEXT NOT NULL DEFAULT '',
            run_id TEXT,
            sweep_id TEXT,
            config_key TEXT,
            dataset_sha256 TEXT,
            dataset_path TEXT,
            base_model TEXT NOT NULL,
            fine_tuned_model TEXT,
            status TEXT NOT NULL,
            method TEXT NOT NULL,
            hyperparameters_json TEXT NOT NULL DEFAULT '{}',
            suffix TEXT,
            seed INTEGER,
            training_file TEXT,
            validation_file TEXT,
            estimated_tokens INTEGER,
            estimated_cost_usd REAL,
            trained_tokens INTEGER,
            actual_cost_usd REAL,
            error_code TEXT,
            error_message TEXT,
            last_event_id TEXT,
            created_at INTEGER NOT NULL,
            finished_at INTEGER,
            updated_at REAL NOT NULL
        );
        CREATE INDEX jobs_created ON jobs (created_at);
        CREATE INDEX jobs_dataset ON jobs (dataset_sha256);
        CREATE INDEX jobs_sweep ON jobs (sweep_id);

        CREATE TABLE models (
            model TEXT PRIMARY KEY,
            provider TEXT NOT NULL,
            job_id TEXT,
            base_model TEXT,
            recorded_at REAL NOT NULL
        );

        CREATE TABLE evaluations (
            eval_id TEXT PRIMARY KEY,
            job_id TEXT,
            dataset_sha256 TEXT,
            models_json TEXT NOT NULL,
            report_path TEXT,
            summary_json TEXT NOT NULL,
            recorded_at REAL NOT NULL
        );
        CREATE INDEX evaluations_job ON evaluations (job_id);

        CREATE TABLE response_cache (
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            request_hash TEXT NOT NULL,
            response_json TEXT NOT NULL,
            recorded_at REAL NOT NULL,
            PRIMARY KEY (provider, model, request_hash)
        ) WITHOUT ROWID
        """,
    )


@migration(2)
def m002_endpoints(conn: sqlite3.Connection) -> None:
    """Dedicated endpoints ftclient started (providers that deploy tuned models), so running ones, which
    bill by the minute, can be listed and stopped later, from any process."""
    _run(
        conn,
        """
        CREATE TABLE endpoints (
            endpoint_id TEXT PRIMARY KEY,
            provider TEXT NOT NULL,
            api_endpoint TEXT NOT NULL DEFAULT '',
            name TEXT,
            model TEXT NOT NULL,
            job_id TEXT,
            hardware TEXT,
            state TEXT NOT NULL,
            cost_per_hour_usd REAL,
            inactive_timeout_min INTEGER,
            keep INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL,
            started_at REAL,
            stopped_at REAL,
            updated_at REAL NOT NULL
        );
        CREATE INDEX endpoints_state ON endpoints (state)
        """,
    )
