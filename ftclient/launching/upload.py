"""Getting a file onto the provider exactly once.

- A file whose sha256 was uploaded to this provider endpoint before, and which the provider still has,
  is reused (the registry remembers uploads by content hash).
- Small files go up in one request; large ones (over ``capabilities.max_file_bytes``) through the
  multipart API: 64 MB parts sent in parallel by a few workers, each reading its own part from disk when
  it starts (memory stays at ``workers x part_size``), verified by md5 on completion. Every part id is
  written to the registry as soon as the part is accepted, so an interrupted upload resumes with the
  missing parts while the provider's session lives.
- Then wait until the provider has processed the file (one tenacity loop, always with a stop).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_exponential

from ftclient.errors import DatasetError, InvalidRequestError, RemoteNotFoundError, WaitTimeout
from ftclient.providers.base import MultipartUploadProvider, NamedFileProvider, RemoteFile, UploadSessionInfo
from ftclient.providers.credentials import endpoint_identity

if TYPE_CHECKING:
    from ftclient.providers.base import Provider
    from ftclient.registry import Registry

PART_SIZE = 64 * 1024**2
UPLOAD_WORKERS = 4
PROCESSING_TIMEOUT_S = 1800.0
READY = frozenset({"processed"})
FINISHED = frozenset({"processed", "error", "deleted"})

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Uploaded:
    file: RemoteFile
    reused: bool
    resumed_parts: int = 0
    sent_parts: int = 0


def _endpoint(provider: Provider) -> str:
    return endpoint_identity(provider)


def ensure_uploaded(
    provider: Provider,
    registry: Registry,
    path: Path,
    *,
    sha256: str,
    purpose: str = "fine-tune",
    dataset_sha256: str | None = None,
    split: str | None = None,
    simple_limit: int | None = None,
    part_size: int = PART_SIZE,
    workers: int = UPLOAD_WORKERS,
    on_progress: Progress | None = None,
    processing_timeout_s: float = PROCESSING_TIMEOUT_S,
    poll_s: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> Uploaded:
    """The provider's file for ``path`` (reused or sent now), processed and ready for a job."""
    endpoint = _endpoint(provider)
    known = registry.find_upload(provider.name, sha256, endpoint=endpoint, purpose=purpose)
    if known is not None:
        try:
            remote = provider.get_file(known.file_id)
        except RemoteNotFoundError:
            registry.mark_upload_gone(provider.name, known.file_id, endpoint=endpoint)
        else:
            if remote.status != "error":
                return Uploaded(
                    wait_processed(provider, remote, timeout_s=processing_timeout_s, poll_s=poll_s, sleep=sleep),
                    reused=True,
                )
            registry.mark_upload_gone(provider.name, known.file_id, endpoint=endpoint)
    size = path.stat().st_size
    name = content_name(path, sha256)
    limit = provider.capabilities.max_file_bytes if simple_limit is None else simple_limit
    resumed = sent = 0
    earlier = _sent_before_a_crash(provider, name, size, purpose)
    if earlier is not None:
        remote, reused = earlier, True
    elif size > limit and isinstance(provider, MultipartUploadProvider):
        remote, resumed, sent = _multipart(
            provider,
            provider,
            registry,
            path,
            name=name,
            sha256=sha256,
            size=size,
            purpose=purpose,
            part_size=part_size,
            workers=workers,
            on_progress=on_progress,
            clock=clock,
        )
        reused = False
    else:
        if isinstance(provider, NamedFileProvider):
            remote = provider.upload_named(path, filename=name, purpose=purpose, on_progress=on_progress)
        else:
            remote = provider.upload_file(path, purpose=purpose, on_progress=on_progress)
        reused = False
    registry.record_upload(
        provider=provider.name,
        endpoint=endpoint,
        file_id=remote.id,
        sha256=sha256,
        filename=remote.filename or path.name,
        bytes=size,
        purpose=purpose,
        status=remote.status,
        dataset_sha256=dataset_sha256,
        split=split,
    )
    ready = wait_processed(provider, remote, timeout_s=processing_timeout_s, poll_s=poll_s, sleep=sleep)
    return Uploaded(ready, reused=reused, resumed_parts=resumed, sent_parts=sent)


def content_name(path: Path, sha256: str) -> str:
    """The name a file is uploaded under: its own name plus a prefix of its sha256 (``train-3f2a….jsonl``),
    so the provider's file list says which content each file holds."""
    return f"{path.stem}-{sha256[:12]}{path.suffix}"


def _sent_before_a_crash(provider: Provider, name: str, size: int, purpose: str) -> RemoteFile | None:
    """A file with this content name that reached the provider although ftclient never recorded it
    (killed while the response was on its way)."""
    if not isinstance(provider, NamedFileProvider):
        return None
    for remote in provider.find_files(name, purpose=purpose):
        if remote.bytes == size and remote.status != "error":
            return remote
    return None


def wait_processed(
    provider: Provider,
    remote: RemoteFile,
    *,
    timeout_s: float = PROCESSING_TIMEOUT_S,
    poll_s: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> RemoteFile:
    """Poll until the provider has checked the file; a file it rejected becomes a DatasetError."""
    current = remote
    if current.status not in FINISHED:
        retrying = Retrying(
            stop=stop_after_delay(timeout_s),
            wait=wait_exponential(multiplier=poll_s, max=max(poll_s, 30.0)),
            retry=retry_if_result(lambda f: f.status not in FINISHED),
            sleep=sleep,
        )
        try:
            current = retrying(provider.get_file, remote.id)
        except RetryError as exc:
            raise WaitTimeout(
                f"the provider to process file {remote.id}",
                timeout_s,
                hint="run the same command again; the file is reused once processed",
            ) from exc
    if current.status != "processed":
        raise DatasetError(
            f"{provider.name} rejected file {remote.id} ({remote.filename}): "
            f"{current.status_details or current.status}",
            hint="run `ftclient validate` on the file, fix what it reports, and launch again",
        )
    return current


def _multipart(
    provider: Provider,
    parts_api: MultipartUploadProvider,
    registry: Registry,
    path: Path,
    *,
    name: str,
    sha256: str,
    size: int,
    purpose: str,
    part_size: int,
    workers: int,
    on_progress: Progress | None,
    clock: Callable[[], float],
) -> tuple[RemoteFile, int, int]:
    provider_name, endpoint = provider.name, _endpoint(provider)
    for attempt in range(2):
        session = registry.find_upload_session(provider_name, endpoint, sha256, now=clock())
        if session is None or session.part_size != part_size or session.bytes != size:
            info = parts_api.start_upload(filename=name, bytes=size, purpose=purpose)
            registry.start_upload_session(
                upload_id=info.id,
                provider=provider_name,
                endpoint=endpoint,
                sha256=sha256,
                path=str(path),
                bytes=size,
                part_size=part_size,
                expires_at=_local_expiry(info, clock()),
            )
            upload_id, done_parts = info.id, {}
        else:
            upload_id, done_parts = session.upload_id, dict(session.parts)
        n_parts = max(1, -(-size // part_size))
        missing = [i for i in range(n_parts) if i not in done_parts]
        try:
            sent = _send_parts(
                parts_api,
                registry,
                path,
                upload_id,
                missing,
                part_size=part_size,
                size=size,
                workers=workers,
                already=len(done_parts),
                n_parts=n_parts,
                on_progress=on_progress,
            )
            done_parts.update(sent)
            remote = parts_api.complete_upload(upload_id, [done_parts[i] for i in range(n_parts)], md5=_md5(path))
        except (RemoteNotFoundError, InvalidRequestError):
            # The session expired or was cancelled on the provider's side: start a new one, once.
            registry.close_upload_session(upload_id, "expired")
            if attempt:
                raise
            continue
        registry.close_upload_session(upload_id, "completed")
        return remote, n_parts - len(missing), len(missing)
    raise AssertionError("unreachable")


def _send_parts(
    provider: MultipartUploadProvider,
    registry: Registry,
    path: Path,
    upload_id: str,
    indexes: list[int],
    *,
    part_size: int,
    size: int,
    workers: int,
    already: int,
    n_parts: int,
    on_progress: Progress | None,
) -> dict[int, str]:
    """Send the given parts in parallel; each worker reads only its own part, when it starts."""
    done = {"bytes": min(size, already * part_size)}
    sent: dict[int, str] = {}

    def send(index: int) -> tuple[int, str]:
        with path.open("rb") as fh:
            fh.seek(index * part_size)
            data = fh.read(part_size)
        part_id = provider.upload_part(upload_id, data)
        registry.record_upload_part(upload_id, index, part_id)
        done["bytes"] += len(data)
        if on_progress:
            on_progress(min(done["bytes"], size), size)
        return index, part_id

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="ftclient-upload") as pool:
        for index, part_id in pool.map(send, indexes):
            sent[index] = part_id
    return sent


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _local_expiry(info: UploadSessionInfo, now: float) -> float | None:
    """When the session ends on this machine's clock: the provider's stated lifetime (``expires_at`` minus
    ``created_at``, one hour on OpenAI) counted from now, so a skewed local clock neither keeps a dead session
    nor drops a live one. Without ``created_at`` the provider's ``expires_at`` is taken as it is."""
    if not info.expires_at:
        return None
    if info.created_at:
        return now + max(0.0, float(info.expires_at) - float(info.created_at))
    return float(info.expires_at)
