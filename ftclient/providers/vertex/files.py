"""Datasets in Cloud Storage, through google-cloud-storage: ``gs://<FTCLIENT_VERTEX_BUCKET>/ftclient/<name>``.

Files are named after their content (``upload_file``: ``<stem>-<sha256 prefix>.jsonl``; ``upload_named``: the
name ftclient gives), and an object already there with the same size and MD5 is reused instead of sent again.
Uploads send ``ifGenerationMatch=0``, so a resent upload can never replace an object: a 412 means an earlier
try arrived, and the object is read back and compared. google-cloud-storage uploads small files in one
multipart request and large ones resumably, and checks the CRC32C the service reports.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

from ftclient.errors import ProviderError, RemoteNotFoundError, UserInputError
from ftclient.providers.base import ProgressCallback, RemoteFile
from ftclient.providers.vertex import sdk

PREFIX = "ftclient/"


class VertexFiles:
    bucket_name: str | None
    timeout_s: float
    storage_endpoint: str
    _storage: Any

    def _retry(self, what: str, fn: Any) -> Any:
        raise NotImplementedError

    def _bucket(self) -> Any:
        if not self.bucket_name:
            raise UserInputError(
                "no Cloud Storage bucket for the training files: FTCLIENT_VERTEX_BUCKET is not set",
                hint="export FTCLIENT_VERTEX_BUCKET=<a bucket in the same project, ideally the same region>",
            )
        return self._storage.bucket(self.bucket_name)

    def uri(self, name: str) -> str:
        return f"gs://{self.bucket_name}/{name}"

    def _object_name(self, file_id: str) -> str:
        prefix = f"gs://{self.bucket_name}/"
        if file_id.startswith("gs://") and not file_id.startswith(prefix):
            raise UserInputError(f"{file_id} is not in the bucket {self.bucket_name}",
                                 hint="set FTCLIENT_VERTEX_BUCKET to the bucket the file is in")
        return file_id[len(prefix):] if file_id.startswith(prefix) else file_id

    def _file(self, blob: Any, purpose: str = "fine-tune") -> RemoteFile:
        created = blob.time_created
        return RemoteFile(
            id=self.uri(blob.name),
            bytes=int(blob.size or 0),
            filename=blob.name.rsplit("/", 1)[-1],
            purpose=purpose,
            status="processed",
            created_at=int(created.timestamp()) if created else 0,
            extra={"md5Hash": blob.md5_hash, "crc32c": blob.crc32c},
        )

    def _stat(self, name: str) -> Any | None:
        bucket = self._bucket()
        return self._retry(f"looking for {self.uri(name)}",
                           lambda: bucket.get_blob(name, timeout=self.timeout_s, retry=None))

    def upload_file(self, path: Path, *, purpose: str = "fine-tune",
                    on_progress: ProgressCallback | None = None) -> RemoteFile:
        digest = _digest(path, hashlib.sha256()).hexdigest()
        return self.upload_named(path, filename=f"{path.stem}-{digest[:16]}.jsonl", purpose=purpose,
                                 on_progress=on_progress)

    def upload_named(self, path: Path, *, filename: str, purpose: str = "fine-tune",
                     on_progress: ProgressCallback | None = None) -> RemoteFile:
        size = path.stat().st_size
        # Cloud Storage's own checksum (md5Hash), compared to find the same content again; not a security use
        md5 = base64.b64encode(_digest(path, hashlib.md5()).digest()).decode()
        name = PREFIX + filename
        existing = self._stat(name)
        if existing is not None and _same(existing, size, md5):
            if on_progress:
                on_progress(size, size)
            return self._file(existing, purpose)
        if existing is not None:
            raise UserInputError(
                f"{self.uri(name)} exists with other content ({existing.size} bytes)",
                hint="ftclient names files by their content; delete the stray object or pick another bucket",
            )
        blob = self._bucket().blob(name)
        try:
            sdk.call(f"uploading {path.name} to {self.uri(name)}",
                     lambda: blob.upload_from_filename(str(path), content_type="application/jsonl",
                                                       if_generation_match=0, timeout=self.timeout_s, retry=None),
                     endpoint=self.storage_endpoint)
        except ProviderError as exc:
            if exc.status != 412:  # 412: an earlier try of this upload arrived; read it back below
                raise
        if on_progress:
            on_progress(size, size)
        stored = self._stat(name)
        if stored is None or not _same(stored, size, md5):
            raise ProviderError(f"{self.uri(name)} did not arrive intact", provider="vertex",
                                hint="run the same command again; the upload is resent")
        return self._file(stored, purpose)

    def find_files(self, filename: str, *, purpose: str = "fine-tune") -> list[RemoteFile]:
        found = self._stat(PREFIX + filename)
        return [self._file(found, purpose)] if found is not None else []

    def get_file(self, file_id: str) -> RemoteFile:
        found = self._stat(self._object_name(file_id))
        if found is None:
            raise RemoteNotFoundError(f"{file_id} does not exist", provider="vertex", status=404,
                                      hint="check FTCLIENT_VERTEX_BUCKET and the file's name")
        return self._file(found)

    def download_file(self, file_id: str) -> bytes:
        blob = self._bucket().blob(self._object_name(file_id))
        data: bytes = self._retry(f"downloading {file_id}",
                                  lambda: blob.download_as_bytes(timeout=self.timeout_s, retry=None))
        return data

    def preview_upload(self, path: Path, *, purpose: str = "fine-tune",
                       filename: str | None = None) -> list[dict[str, Any]]:
        name = PREFIX + (filename or path.name)
        bucket = self.bucket_name or "<FTCLIENT_VERTEX_BUCKET>"
        url = f"{self.storage_endpoint}/upload/storage/v1/b/{bucket}/o?uploadType=multipart&ifGenerationMatch=0"
        return [{"method": "POST", "url": url, "object": name, "bytes": path.stat().st_size}]


def _same(blob: Any, size: int, md5: str) -> bool:
    """Size and MD5 agree (composite objects carry no MD5: then the size alone)."""
    return int(blob.size if blob.size is not None else -1) == size and blob.md5_hash in (None, md5)


def _digest(path: Path, hasher: Any) -> Any:
    """``hasher`` fed with the file in 1 MiB pieces: a 1 GB training file is never held in memory."""
    with path.open("rb") as handle:
        for piece in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(piece)
    return hasher
