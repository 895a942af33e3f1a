"""Together's files API, whose uploads take two different multi-request flows depending on size; they follow
Together's SDK so that what ftclient sends is what Together's own clients send.

Files up to ``multipart_threshold_bytes`` (5 GiB) go through the redirect flow (``POST /files`` -> 302 with a
signed URL and the file id, ``PUT`` the bytes there, then ``POST /files/{id}/preprocess``); larger ones
through ``/files/multipart/initiate|complete|abort``.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx2

from ftclient.errors import FtclientError, InvalidRequestError, ProviderError, ProviderUnavailable
from ftclient.providers.base import Capabilities, ProgressCallback, RemoteFile
from ftclient.providers.together import wire
from ftclient.providers.together.http import TogetherHTTP, request_id

MULTIPART_THRESHOLD = 5 * 1024**3
PART_SIZE = 250 * 1024**2
MAX_PARTS = 250
MIN_PART_SIZE = 5 * 1024**2


class TogetherFiles(TogetherHTTP):
    """Uploading, finding, reading and downloading files."""

    capabilities: Capabilities
    multipart_threshold_bytes: int
    part_size_bytes: int

    def upload_file(
        self, path: Path, *, purpose: str = "fine-tune", on_progress: ProgressCallback | None = None
    ) -> RemoteFile:
        return self.upload_named(path, filename=path.name, purpose=purpose, on_progress=on_progress)

    def upload_named(
        self, path: Path, *, filename: str, purpose: str = "fine-tune", on_progress: ProgressCallback | None = None
    ) -> RemoteFile:
        """Upload ``path`` under ``filename`` (ftclient names uploads after their content, see ``find_files``)."""
        size = path.stat().st_size
        if size > self.capabilities.max_upload_bytes:
            raise InvalidRequestError(
                f"{path} is {size / 1024**3:.1f} GiB; Together takes files up to 100 GB",
                provider=self.name,
                hint="split the dataset or drop examples",
            )
        if size > self.multipart_threshold_bytes:
            return self._upload_in_parts(path, filename, purpose, on_progress)
        return self._upload_redirect(path, filename, purpose, on_progress)

    def find_files(self, filename: str, *, purpose: str = "fine-tune") -> list[RemoteFile]:
        """Files with exactly this name and purpose, newest first (Together lists every file at once)."""
        data = self._json("listing files", "GET", "/files").get("data") or []
        found = [
            wire.remote_file_from_dict(item)
            for item in data
            if item.get("filename") == filename and item.get("purpose") == purpose
        ]
        return sorted(found, key=lambda f: f.created_at, reverse=True)

    def _upload_redirect(
        self, path: Path, filename: str, purpose: str, on_progress: ProgressCallback | None
    ) -> RemoteFile:
        form = {"purpose": purpose, "file_name": filename, "file_type": _file_type(path)}
        what = f"uploading {path.name}"
        answer = self._send(what, "POST", "/files", data=form)
        location = answer.headers.get("location")
        file_id = answer.headers.get("x-together-file-id")
        if answer.status_code != 302 or not location or not file_id:
            raise ProviderUnavailable(
                f"{what}: expected a redirect to a signed upload URL, got HTTP {answer.status_code}",
                provider=self.name,
                status=answer.status_code,
                request_id=request_id(answer),
                hint="run the same command again",
            )
        data = path.read_bytes()  # bytes: a retried PUT sends the same body again
        self._put(what, location, data, {})
        if on_progress:
            on_progress(len(data), len(data))
        obj = self._json(f"finishing the upload of {path.name}", "POST", f"/files/{file_id}/preprocess")
        return wire.remote_file_from_dict(obj)

    def _put(self, what: str, url: str, data: bytes, headers: Mapping[str, str]) -> httpx2.Response:
        """A PUT to a signed URL: no Together credentials go there."""

        def once() -> httpx2.Response:
            try:
                response = self._client().put(url, content=data, headers=dict(headers))
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

        return self._retrying(once)

    def _upload_in_parts(
        self, path: Path, filename: str, purpose: str, on_progress: ProgressCallback | None
    ) -> RemoteFile:
        size = path.stat().st_size
        part_size = max(MIN_PART_SIZE if self.part_size_bytes >= MIN_PART_SIZE else 1, self.part_size_bytes)
        parts = max(1, math.ceil(size / part_size))
        if parts > MAX_PARTS:
            parts = MAX_PARTS
            part_size = math.ceil(size / parts)
        session = self._json(
            f"starting the upload of {path.name}",
            "POST",
            "/files/multipart/initiate",
            json={
                "file_name": filename,
                "file_size": size,
                "num_parts": parts,
                "purpose": purpose,
                "file_type": _file_type(path),
            },
        )
        upload_id, file_id = str(session["upload_id"]), str(session["file_id"])
        targets = {int(p["PartNumber"]): p for p in session.get("parts") or []}
        done: list[dict[str, Any]] = []
        sent = 0
        try:
            with path.open("rb") as fh:
                for number in range(1, parts + 1):
                    chunk = fh.read(part_size)
                    target = targets.get(number)
                    if target is None:
                        raise ProviderUnavailable(
                            f"the upload session of {path.name} has no URL for part {number}",
                            provider=self.name,
                            hint="run the same command again",
                        )
                    answer = self._put(
                        f"sending part {number}/{parts} of {path.name}",
                        str(target["URL"]),
                        chunk,
                        target.get("Headers") or {},
                    )
                    done.append({"part_number": number, "etag": answer.headers.get("etag", "").strip('"')})
                    sent += len(chunk)
                    if on_progress:
                        on_progress(sent, size)
            obj = self._json(
                f"completing the upload of {path.name}",
                "POST",
                "/files/multipart/complete",
                json={"upload_id": upload_id, "file_id": file_id, "parts": done},
            )
        except (FtclientError, KeyboardInterrupt):
            self._abort_upload(upload_id, file_id)
            raise
        return wire.remote_file_from_dict(obj.get("file", obj) if isinstance(obj, dict) else obj)

    def _abort_upload(self, upload_id: str, file_id: str) -> None:
        # The session expires on its own anyway; the original error is what matters.
        with contextlib.suppress(ProviderError):
            self._send(
                f"aborting upload {upload_id}",
                "POST",
                "/files/multipart/abort",
                retry=False,
                json={"upload_id": upload_id, "file_id": file_id},
            )

    def get_file(self, file_id: str) -> RemoteFile:
        return wire.remote_file_from_dict(self._json(f"reading file {file_id}", "GET", f"/files/{file_id}"))

    def download_file(self, file_id: str) -> bytes:
        return self._send(f"downloading file {file_id}", "GET", f"/files/{file_id}/content").content

    def preview_upload(
        self, path: Path, *, purpose: str = "fine-tune", filename: str | None = None
    ) -> list[dict[str, Any]]:
        size = path.stat().st_size
        if size <= self.multipart_threshold_bytes:
            form = {"purpose": purpose, "file_name": filename or path.name, "file_type": _file_type(path)}
            return [
                {"method": "POST", "url": f"{self.endpoint}/files", "form": form, "expect": "302 + signed URL"},
                {"method": "PUT", "url": "<signed URL from Location>", "bytes": size},
                {"method": "POST", "url": f"{self.endpoint}/files/<file id>/preprocess"},
            ]
        parts = min(MAX_PARTS, math.ceil(size / self.part_size_bytes))
        return [
            {"method": "POST", "url": f"{self.endpoint}/files/multipart/initiate", "json": {"num_parts": parts}},
            {"method": "PUT", "url": "<signed part URL>", "repeat": parts},
            {"method": "POST", "url": f"{self.endpoint}/files/multipart/complete"},
        ]


def _file_type(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    return suffix if suffix in {"jsonl", "parquet", "csv"} else "jsonl"
