"""The registry's one SQLite connection and its transactions, so every table group reads and writes the
local history the same way: WAL mode, a busy timeout, short ``BEGIN IMMEDIATE`` writes and one lock.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

from ftclient.errors import RegistryError
from ftclient.registry.migrations import migrate

BUSY_TIMEOUT_MS = 15_000


class RegistryBase:
    """One connection per instance, shared by threads under a lock."""

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
    def open(cls, path: Path | str | None = None) -> Self:
        return cls(path)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
                # A Ctrl-C can land after COMMIT finished (or while it ran): then there is nothing to roll
                # back, and a failed ROLLBACK must not replace the interrupt with an internal error.
                if self._conn.in_transaction:
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
