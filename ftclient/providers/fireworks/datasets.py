"""Fireworks datasets: a dataset record first, then its bytes.

Files up to 150 MB go up in one multipart ``POST …/datasets/{id}:upload``; larger ones to a signed URL from
``:getUploadEndpoint`` (a plain PUT, no Fireworks credentials), finished by ``:validateUpload``. Sources:
the Gateway REST API spec 4.259.0 (those three operations); the 150 MB limit and the signed-URL headers from
Fireworks' Python SDK (fireworks-ai 1.2.3 ``datasets.upload`` docstring, ``examples/sftj_workflow.py``).

Each ftclient upload is named after its content (``train-<sha256 prefix>.jsonl``) and its dataset id is that
name, so the same content always lands on the same dataset: a re-sent create gets 409 ALREADY_EXISTS and the
dataset already there is used (finished first if its bytes never arrived).
"""

from __future__ import annotations

import hashlib
from functools import partial
from pathlib import Path
from typing import Any

import httpx2

from ftclient.errors import InvalidRequestError, ProviderError, ProviderUnavailable, RemoteNotFoundError
from ftclient.providers.base import Capabilities, ProgressCallback, RemoteFile
from ftclient.providers.fireworks import wire
from ftclient.providers.fireworks.http import FireworksHTTP, is_conflict

SIMPLE_UPLOAD_LIMIT = 150 * 1024**2
"""``:upload`` takes files up to 150 MB (fireworks-ai 1.2.3, ``datasets.upload``: "file sizes up to 150Mb")."""


class FireworksDatasets(FireworksHTTP):
    """Creating, uploading, finding and reading datasets."""

    capabilities: Capabilities
    simple_upload_limit: int

    def upload_file(
        self, path: Path, *, purpose: str = "fine-tune", on_progress: ProgressCallback | None = None
    ) -> RemoteFile:
        """Upload under a content name (``<stem>-<sha256 prefix><suffix>``): a dataset id only ever holds one
        content, so two different files called ``train.jsonl`` never share a dataset."""
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(1024 * 1024):
                digest.update(chunk)
        filename = f"{path.stem}-{digest.hexdigest()[:12]}{path.suffix}"
        return self.upload_named(path, filename=filename, purpose=purpose, on_progress=on_progress)

    def upload_named(
        self, path: Path, *, filename: str, purpose: str = "fine-tune", on_progress: ProgressCallback | None = None
    ) -> RemoteFile:
        """The dataset ``dataset_id_for(filename)`` holding ``path``: created and filled now, or found (a file
        of the same content sent before, perhaps by a run that crashed half-way)."""
        size = path.stat().st_size
        if size > self.capabilities.max_upload_bytes:
            raise InvalidRequestError(
                f"{path} is {size / 1024**3:.1f} GiB, more than ftclient sends to Fireworks in one dataset",
                provider=self.name,
                hint="split the dataset",
            )
        dataset_id = wire.dataset_id_for(filename)
        existing = self._create_dataset(dataset_id, filename, _count_lines(path))
        if existing is not None and existing.get("state") == "READY":
            return wire.remote_file_from_dataset(existing, size=size)
        what = f"uploading {path.name}"
        if size <= self.simple_upload_limit:
            data = path.read_bytes()
            self._json(
                what,
                "POST",
                f"/datasets/{dataset_id}:upload",
                files={"file": (filename, data, "application/jsonl")},
            )
        else:
            self._upload_signed(what, dataset_id, filename, path, size)
        if on_progress:
            on_progress(size, size)
        return wire.remote_file_from_dataset(self._dataset(dataset_id), size=size)

    def _create_dataset(self, dataset_id: str, filename: str, examples: int) -> dict[str, Any] | None:
        """Create the dataset record; None when created now, the existing record when it was there already."""
        body = {
            "datasetId": dataset_id,
            "dataset": {
                "displayName": filename[:63],
                "exampleCount": str(examples),  # "needs to be provided by the client" (Fireworks' docs)
                "userUploaded": {},
                "format": "CHAT",
            },
        }
        try:
            self._json(f"creating dataset {dataset_id}", "POST", "/datasets", json=body)
        except ProviderError as exc:
            if not is_conflict(exc):
                raise
            return self._dataset(dataset_id)
        return None

    def _upload_signed(self, what: str, dataset_id: str, filename: str, path: Path, size: int) -> None:
        answer = self._json(
            f"asking where to upload {path.name}",
            "POST",
            f"/datasets/{dataset_id}:getUploadEndpoint",
            json={"filenameToSize": {filename: str(size)}},
        )
        url = (answer.get("filenameToSignedUrls") or {}).get(filename)
        if not url:
            raise ProviderUnavailable(
                f"{what}: Fireworks gave no upload URL for {filename}",
                provider=self.name,
                hint="run the same command again",
            )
        headers = {"Content-Type": "application/octet-stream", "x-goog-content-length-range": f"{size},{size}"}

        def put() -> httpx2.Response:
            with path.open("rb") as handle:
                try:
                    response = self._client().put(url, content=handle.read(), headers=headers)
                except httpx2.TransportError as exc:
                    raise ProviderUnavailable(
                        f"{what}: the upload connection failed ({type(exc).__name__})",
                        provider=self.name,
                        code="connection",
                        hint="run the same command again",
                    ) from exc
            if response.status_code >= 400:
                raise self._status_error(response, what)
            return response

        self._retrying(put)
        self._json(f"finishing the upload of {path.name}", "POST", f"/datasets/{dataset_id}:validateUpload", json={})

    def _dataset(self, dataset_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._json(
            f"reading dataset {dataset_id}", "GET", f"/datasets/{wire.short_id(dataset_id)}"
        )
        return result

    def find_files(self, filename: str, *, purpose: str = "fine-tune") -> list[RemoteFile]:
        """The dataset named after ``filename``, when it exists and holds its data (sizes are not published,
        so ``bytes`` is 0 and the core's size check leaves it to ``upload_named``, which reuses it)."""
        try:
            found = self._dataset(wire.dataset_id_for(filename))
        except RemoteNotFoundError:
            return []
        return [wire.remote_file_from_dataset(found)]

    def get_file(self, file_id: str) -> RemoteFile:
        return wire.remote_file_from_dataset(self._dataset(file_id))

    def download_file(self, file_id: str) -> bytes:
        """The dataset's bytes through ``:getDownloadEndpoint`` (signed URLs, one per file)."""
        answer = self._json(
            f"asking where to download {file_id}", "GET", f"/datasets/{wire.short_id(file_id)}:getDownloadEndpoint"
        )
        urls = list((answer.get("filenameToSignedUrls") or {}).values())
        parts: list[bytes] = []
        for url in urls:
            parts.append(self._retrying(partial(self._client().get, str(url))).content)
        return b"".join(parts)

    def preview_upload(
        self, path: Path, *, purpose: str = "fine-tune", filename: str | None = None
    ) -> list[dict[str, Any]]:
        name = filename or path.name
        dataset_id = wire.dataset_id_for(name)
        size = path.stat().st_size
        create = {"method": "POST", "url": f"{self.endpoint}/datasets", "json": {"datasetId": dataset_id}}
        if size <= self.simple_upload_limit:
            return [create, {"method": "POST", "url": f"{self.endpoint}/datasets/{dataset_id}:upload", "bytes": size}]
        return [
            create,
            {"method": "POST", "url": f"{self.endpoint}/datasets/{dataset_id}:getUploadEndpoint"},
            {"method": "PUT", "url": "<signed URL>", "bytes": size},
            {"method": "POST", "url": f"{self.endpoint}/datasets/{dataset_id}:validateUpload"},
        ]


def _count_lines(path: Path) -> int:
    """Examples in a JSONL file (non-blank lines), without holding it in memory."""
    count = 0
    with path.open("rb") as handle:
        for line in handle:
            if line.strip():
                count += 1
    return count
