"""The OpenAI adapter's files: one-request uploads, the multipart Uploads API for large files, and finding
a file again by its name (which carries the content hash) after a lost response.

Mixed into OpenAIProvider (and so AzureProvider), whose client, retry layer and capabilities these use.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import openai

from ftclient.errors import ProviderUnavailable
from ftclient.providers.base import Capabilities, ProgressCallback, RemoteFile, UploadSessionInfo
from ftclient.providers.openai.wire import remote_file_from_dict, upload_requests

T = TypeVar("T")

PART_SIZE = 64 * 1024**2


class FilesAndUploads:
    name: str
    endpoint: str
    capabilities: Capabilities

    def _client(self) -> openai.OpenAI:
        raise NotImplementedError

    def _call(self, what: str, fn: Callable[[], T], *, retry: bool = True) -> T:
        raise NotImplementedError

    def upload_file(
        self, path: Path, *, purpose: str = "fine-tune", on_progress: ProgressCallback | None = None
    ) -> RemoteFile:
        """Send a file in one request (files up to ``capabilities.max_file_bytes``); larger files go
        through ``start_upload``/``upload_part``/``complete_upload`` in parts, in order."""
        return self.upload_named(path, filename=path.name, purpose=purpose, on_progress=on_progress)

    def upload_named(
        self, path: Path, *, filename: str, purpose: str = "fine-tune", on_progress: ProgressCallback | None = None
    ) -> RemoteFile:
        size = path.stat().st_size
        if size > self.capabilities.max_file_bytes:
            return self._upload_in_parts(path, filename, purpose, on_progress)
        data = path.read_bytes()  # bytes: a retry sends the same body again
        sent = 0

        def send() -> RemoteFile:
            # A retry after a lost response first looks for the file the first try may have created
            # (same name, which carries the content hash, and same size): OpenAI keeps both otherwise.
            nonlocal sent
            if sent:
                earlier = [f for f in self._named(filename, purpose) if f.bytes == size and f.status != "error"]
                if earlier:
                    return earlier[0]
            sent += 1
            created = self._client().files.create(
                file=(filename, data, "application/jsonl"),
                purpose=purpose,  # type: ignore[arg-type]
            )
            return remote_file_from_dict(created.to_dict())

        remote = self._call(f"uploading {path.name}", send)
        if on_progress:
            on_progress(size, size)
        return remote

    def find_files(self, filename: str, *, purpose: str = "fine-tune") -> list[RemoteFile]:
        return self._call(f"looking for {filename} on {self.name}", lambda: self._named(filename, purpose))

    def _named(self, filename: str, purpose: str) -> list[RemoteFile]:
        """Files called ``filename``, newest first (one request; the caller translates errors)."""
        found = self._client().files.list(purpose=purpose, order="desc")
        return [remote_file_from_dict(f.to_dict()) for f in found.data if f.filename == filename]

    def _upload_in_parts(
        self, path: Path, filename: str, purpose: str, on_progress: ProgressCallback | None
    ) -> RemoteFile:
        size = path.stat().st_size
        session = self.start_upload(filename=filename, bytes=size, purpose=purpose)
        digest, part_ids, done = hashlib.md5(usedforsecurity=False), [], 0
        with path.open("rb") as fh:
            while chunk := fh.read(PART_SIZE):
                digest.update(chunk)
                part_ids.append(self.upload_part(session.id, chunk))
                done += len(chunk)
                if on_progress:
                    on_progress(done, size)
        return self.complete_upload(session.id, part_ids, md5=digest.hexdigest())

    def get_file(self, file_id: str) -> RemoteFile:
        obj = self._call(f"reading file {file_id}", lambda: self._client().files.retrieve(file_id))
        return remote_file_from_dict(obj.to_dict())

    def delete_file(self, file_id: str) -> bool:
        """Delete an uploaded file; True when the provider says it is gone."""
        done = self._call(f"deleting file {file_id}", lambda: self._client().files.delete(file_id).to_dict())
        return bool(done.get("deleted"))

    def download_file(self, file_id: str) -> bytes:
        return self._call(f"downloading file {file_id}", lambda: self._client().files.content(file_id).read())

    def start_upload(
        self, *, filename: str, bytes: int, purpose: str = "fine-tune", mime_type: str = "text/jsonl"
    ) -> UploadSessionInfo:
        up = self._call(
            f"starting the upload of {filename}",
            lambda: self._client().uploads.create(
                bytes=bytes,
                filename=filename,
                mime_type=mime_type,
                purpose=purpose,  # type: ignore[arg-type]
            ),
        )
        return UploadSessionInfo(
            id=up.id,
            bytes=up.bytes,
            part_size=PART_SIZE,
            expires_at=up.expires_at,
            status=up.status,
            created_at=up.created_at,
        )

    def upload_part(self, upload_id: str, data: bytes) -> str:
        part = self._call(
            f"sending a part of upload {upload_id}", lambda: self._client().uploads.parts.create(upload_id, data=data)
        )
        return part.id

    def complete_upload(self, upload_id: str, part_ids: Sequence[str], *, md5: str | None = None) -> RemoteFile:
        up = self._call(
            f"completing upload {upload_id}",
            lambda: self._client().uploads.complete(upload_id, part_ids=list(part_ids), md5=md5 or openai.omit),
        )
        if up.status != "completed" or up.file is None:
            raise ProviderUnavailable(
                f"upload {upload_id} ended {up.status!r} without a file",
                provider=self.name,
                hint="run the same command again; the upload starts over",
            )
        return remote_file_from_dict(up.file.to_dict())

    def cancel_upload(self, upload_id: str) -> None:
        self._call(f"cancelling upload {upload_id}", lambda: self._client().uploads.cancel(upload_id))

    def preview_upload(
        self, path: Path, *, purpose: str = "fine-tune", filename: str | None = None
    ) -> list[dict[str, Any]]:
        return upload_requests(
            self.endpoint,
            filename or path.name,
            path.stat().st_size,
            purpose=purpose,
            max_file_bytes=self.capabilities.max_file_bytes,
            part_size=PART_SIZE,
        )
