"""Prepared datasets and the files sent to providers, remembered by content so the same bytes are never
uploaded twice and an interrupted multipart upload resumes where it stopped.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftclient.errors import RegistryError
from ftclient.registry.base import RegistryBase
from ftclient.registry.records import DatasetRecord, UploadRecord, UploadSession, dataset_from_row

if TYPE_CHECKING:
    from ftclient.dataset.manifest import Manifest


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


class RegistryFiles(RegistryBase):
    """The ``datasets``, ``uploads``, ``upload_sessions`` and ``upload_parts`` tables."""

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


def _estimated_cost(data: Mapping[str, Any]) -> float | None:
    cost = data.get("cost")
    if isinstance(cost, Mapping):
        for key in ("estimated_usd", "training_usd", "total_usd", "usd"):
            if isinstance(cost.get(key), int | float):
                return float(cost[key])
    return None
