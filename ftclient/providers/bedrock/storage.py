"""Training files on S3: each named by its content (``ftclient/train-<sha256 prefix>.jsonl``) with its full
sha256 in the object's metadata, so an upload that already reached the bucket is found and reused rather
than sent again. Large files go up in parts through boto3's transfer manager (multipart above
``multipart_threshold``). A file id is the object's ``s3://bucket/key`` URI, which is what a job names."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ftclient.errors import RemoteNotFoundError
from ftclient.providers.base import ProgressCallback, RemoteFile
from ftclient.providers.bedrock import wire
from ftclient.providers.bedrock.client import BedrockClients

MULTIPART_THRESHOLD = 64 * 1024**2
SHA_KEY = "sha256"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


class BedrockStorage(BedrockClients):
    multipart_threshold = MULTIPART_THRESHOLD

    def _remote(self, bucket: str, key: str, head: dict[str, Any]) -> RemoteFile:
        return RemoteFile(
            id=wire.s3_uri(bucket, key),
            bytes=int(head.get("ContentLength") or 0),
            filename=key.rsplit("/", 1)[-1],
            purpose="fine-tune",
            status="processed",  # S3 has no processing step: the job validates its data when it starts
            created_at=wire.epoch(head.get("LastModified")) or 0,
            extra={"etag": head.get("ETag"), "sha256": (head.get("Metadata") or {}).get(SHA_KEY)},
        )

    def _head(self, bucket: str, key: str) -> dict[str, Any] | None:
        try:
            head: dict[str, Any] = self.call("s3", "head_object", f"looking for s3://{bucket}/{key}",
                                             Bucket=bucket, Key=key)
        except RemoteNotFoundError:
            return None
        return head

    def upload_named(self, path: Path, *, filename: str, purpose: str = "fine-tune",
                     on_progress: ProgressCallback | None = None) -> RemoteFile:
        bucket = self.need_bucket()
        key = f"{wire.KEY_PREFIX}{filename}"
        sha = file_sha256(path)
        size = path.stat().st_size
        found = self._head(bucket, key)
        if found is not None and int(found.get("ContentLength") or -1) == size and \
                (found.get("Metadata") or {}).get(SHA_KEY) == sha:
            return self._remote(bucket, key, found)
        from boto3.s3.transfer import TransferConfig

        done = 0

        def progress(sent: int) -> None:
            nonlocal done
            done += sent
            if on_progress is not None:
                on_progress(min(done, size), size)

        config = TransferConfig(multipart_threshold=self.multipart_threshold,
                                multipart_chunksize=max(5 * 1024**2, self.multipart_threshold // 4))
        self.retrying(
            f"uploading {path.name} to s3://{bucket}/{key}",
            lambda: self.client("s3").upload_file(
                str(path), bucket, key, ExtraArgs={"Metadata": {SHA_KEY: sha}, "ContentType": "application/jsonl"},
                Config=config, Callback=progress,
            ),
        )
        head = self._head(bucket, key)
        if head is None:
            raise RemoteNotFoundError(f"s3://{bucket}/{key} is not there after its upload", provider=self.name)
        return self._remote(bucket, key, head)

    def upload_file(self, path: Path, *, purpose: str = "fine-tune",
                    on_progress: ProgressCallback | None = None) -> RemoteFile:
        sha = file_sha256(path)
        return self.upload_named(path, filename=f"{path.stem}-{sha[:12]}{path.suffix}", purpose=purpose,
                                 on_progress=on_progress)

    def find_files(self, filename: str, *, purpose: str = "fine-tune") -> list[RemoteFile]:
        bucket = self.need_bucket()
        key = f"{wire.KEY_PREFIX}{filename}"
        head = self._head(bucket, key)
        return [] if head is None else [self._remote(bucket, key, head)]

    def get_file(self, file_id: str) -> RemoteFile:
        bucket, key = wire.split_uri(file_id)
        head = self._head(bucket, key)
        if head is None:
            raise RemoteNotFoundError(f"{file_id} does not exist", provider=self.name, status=404)
        return self._remote(bucket, key, head)

    def download_file(self, file_id: str) -> bytes:
        bucket, key = wire.split_uri(file_id)
        def read() -> bytes:
            body: bytes = self.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
            return body

        data: bytes = self.retrying(f"reading {file_id}", read)
        return data

    def read_text(self, uri: str) -> str | None:
        """An object's text, or None when it is not there (yet)."""
        try:
            return self.download_file(uri).decode("utf-8", "replace")
        except RemoteNotFoundError:
            return None

    def preview_upload(self, path: Path, *, purpose: str = "fine-tune",
                       filename: str | None = None) -> list[dict[str, Any]]:
        bucket = self.bucket or "<FTCLIENT_BEDROCK_BUCKET>"
        key = f"{wire.KEY_PREFIX}{filename or path.name}"
        size = path.stat().st_size
        operation = "PutObject" if size <= self.multipart_threshold else "CreateMultipartUpload + UploadPart"
        return [{"operation": f"s3:{operation}", "uri": wire.s3_uri(bucket, key), "bytes": size}]
