"""Cloud Storage's JSON API, as much of it as google-cloud-storage uses to put a dataset in a bucket and read
it back: media, multipart and resumable uploads, object metadata, downloads and listings
(cloud.google.com/storage/docs/json_api/v1/objects). Buckets come into being on first upload: the emulator
stands in for a bucket the user already has. Objects carry the md5Hash and crc32c the SDK checks."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from ftclient.emulator.http import Request, Response, Router, json_response
from ftclient.emulator.vertex.errors import GoogleError, rfc3339

if TYPE_CHECKING:
    from ftclient.emulator.vertex.app import VertexApp

_CRC_TABLE: list[int] = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC_TABLE.append(_c)


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), the checksum Cloud Storage reports; pure Python, the emulator has no C helper."""
    crc = 0xFFFFFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


@dataclass
class Blob:
    meta: dict[str, Any]
    data: bytes


class Storage:
    def __init__(self, app: VertexApp) -> None:
        self.app = app
        self.objects: dict[tuple[str, str], Blob] = {}
        self.sessions: dict[str, dict[str, Any]] = {}
        self.lock = threading.RLock()
        self.generation = 1_700_000_000_000_000

    def register(self, router: Router) -> None:
        router.add("POST", "/upload/storage/v1/b/{bucket}/o", self.upload)
        router.add("PUT", "/upload/storage/v1/b/{bucket}/o", self.resume)
        router.add("GET", "/storage/v1/b/{bucket}/o", self.list)
        router.add("GET", "/storage/v1/b/{bucket}/o/{name}", self.get)
        router.add("GET", "/download/storage/v1/b/{bucket}/o/{name}", self.download)
        router.add("DELETE", "/storage/v1/b/{bucket}/o/{name}", self.delete)

    def read(self, uri: str) -> bytes | None:
        """The bytes behind ``gs://bucket/name``, or None."""
        if not uri.startswith("gs://"):
            return None
        bucket, _, name = uri[5:].partition("/")
        with self.lock:
            blob = self.objects.get((bucket, name))
        return blob.data if blob else None

    # -- uploads -----------------------------------------------------------------------------------
    def upload(self, request: Request) -> Response:
        bucket = request.params["bucket"]
        kind = request.arg("uploadType")
        if kind == "media":
            name = request.arg("name")
            if not name:
                raise GoogleError(400, "INVALID_ARGUMENT", "Required parameter: name")
            return self._store(request, bucket, {"name": name}, request.body)
        if kind == "multipart":
            meta, data = _related(request)
            return self._store(request, bucket, meta, data)
        if kind == "resumable":
            meta = json.loads(request.body or b"{}")
            if request.arg("name"):
                meta["name"] = request.arg("name")
            if not meta.get("name"):
                raise GoogleError(400, "INVALID_ARGUMENT", "Required parameter: name")
            upload_id = uuid.uuid4().hex
            self._precondition(request, bucket, str(meta["name"]))
            with self.lock:
                self.sessions[upload_id] = {"bucket": bucket, "meta": meta, "data": bytearray(),
                                            "if_generation_match": request.arg("ifGenerationMatch")}
            host = request.header("host", "127.0.0.1")
            location = f"http://{host}/upload/storage/v1/b/{bucket}/o?uploadType=resumable&upload_id={upload_id}"
            return Response(status=200, body=b"", headers={"location": location, "x-guploader-uploadid": upload_id})
        raise GoogleError(400, "INVALID_ARGUMENT", f"Invalid uploadType: {kind!r}")

    def resume(self, request: Request) -> Response:
        upload_id = request.arg("upload_id") or ""
        with self.lock:
            session = self.sessions.get(upload_id)
        if session is None:
            raise GoogleError(404, "NOT_FOUND", "No such upload session.")
        span = request.header("content-range")  # "bytes 0-99/200", "bytes 0-99/*" or "bytes */200"
        total: int | None = None
        if span.startswith("bytes "):
            offsets, _, size = span[6:].partition("/")
            total = int(size) if size.isdigit() else None
            if offsets != "*":
                start = int(offsets.split("-")[0])
                if start != len(session["data"]):
                    expected = len(session["data"])
                    raise GoogleError(400, "INVALID_ARGUMENT", f"Chunk starts at {start}, expected {expected}.")
        session["data"] += request.body
        if total is not None and len(session["data"]) >= total:
            with self.lock:
                self.sessions.pop(upload_id, None)
            return self._store(request, session["bucket"], session["meta"], bytes(session["data"]),
                               if_generation_match=session["if_generation_match"])
        headers = {"range": f"bytes=0-{len(session['data']) - 1}"} if session["data"] else {}
        return Response(status=308, body=b"", headers=headers)

    def _precondition(self, request: Request, bucket: str, name: str, wanted: str | None = None) -> None:
        """``ifGenerationMatch=0``: only if no live object has this name (412 otherwise)."""
        wanted = wanted if wanted is not None else request.arg("ifGenerationMatch")
        if wanted is None:
            return
        with self.lock:
            blob = self.objects.get((bucket, name))
        current = blob.meta["generation"] if blob else "0"
        if current != wanted:
            raise GoogleError(412, "conditionNotMet", "At least one of the pre-conditions you specified did not hold.")

    def _store(self, request: Request, bucket: str, meta: dict[str, Any], data: bytes,
               if_generation_match: str | None = None) -> Response:
        name = str(meta["name"])
        for field, value in (("md5Hash", _md5(data)), ("crc32c", _crc(data))):
            if meta.get(field) and meta[field] != value:
                raise GoogleError(400, "INVALID_ARGUMENT", f"Provided {field} {meta[field]!r} does not match the data.")
        now = rfc3339(self.app.now())
        host = request.header("host", "127.0.0.1")
        path = f"/b/{bucket}/o/{quote(name, safe='')}"
        content_type = meta.get("contentType") or request.header("content-type") or "application/octet-stream"
        with self.lock:  # the precondition and the write as one step: two racing creates cannot both win
            self._precondition(request, bucket, name, if_generation_match)
            self.generation += 1
            generation = str(self.generation)
            obj = {
                "kind": "storage#object",
                "id": f"{bucket}/{name}/{generation}",
                "selfLink": f"http://{host}/storage/v1{path}",
                "mediaLink": f"http://{host}/download/storage/v1{path}?generation={generation}&alt=media",
                "name": name,
                "bucket": bucket,
                "generation": generation,
                "metageneration": "1",
                "contentType": content_type,
                "storageClass": "STANDARD",
                "size": str(len(data)),
                "md5Hash": _md5(data),
                "crc32c": _crc(data),
                "etag": base64.b64encode(generation.encode()).decode(),
                "timeCreated": now,
                "updated": now,
                **({"metadata": meta["metadata"]} if meta.get("metadata") else {}),
            }
            self.objects[(bucket, name)] = Blob(obj, data)
        self.app.services.stats.bump("objects_uploaded")
        return json_response(obj)

    # -- reads -------------------------------------------------------------------------------------
    def _blob(self, request: Request) -> Blob:
        key = (request.params["bucket"], unquote(request.params["name"]))
        with self.lock:
            blob = self.objects.get(key)
        if blob is None:
            raise GoogleError(404, "NOT_FOUND", f"No such object: {key[0]}/{key[1]}")
        return blob

    def get(self, request: Request) -> Response:
        blob = self._blob(request)
        if request.arg("alt") == "media":
            return self._media(blob)
        return json_response(blob.meta)

    def download(self, request: Request) -> Response:
        return self._media(self._blob(request))

    @staticmethod
    def _media(blob: Blob) -> Response:
        checks = f"crc32c={blob.meta['crc32c']},md5={blob.meta['md5Hash']}"
        return Response(200, blob.data, str(blob.meta["contentType"]),
                        headers={"x-goog-hash": checks, "x-goog-generation": str(blob.meta["generation"])})

    def list(self, request: Request) -> Response:
        bucket, prefix = request.params["bucket"], request.arg("prefix") or ""
        with self.lock:
            items = [b.meta for (b_name, name), b in sorted(self.objects.items()) if b_name == bucket
                     and name.startswith(prefix)]
        return json_response({"kind": "storage#objects", "items": items} if items else {"kind": "storage#objects"})

    def delete(self, request: Request) -> Response:
        blob = self._blob(request)
        with self.lock:
            self.objects.pop((blob.meta["bucket"], blob.meta["name"]), None)
        return Response(status=204, body=b"")


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()  # Cloud Storage's own checksum, not a security use


def _crc(data: bytes) -> str:
    return base64.b64encode(crc32c(data).to_bytes(4, "big")).decode()


def _related(request: Request) -> tuple[dict[str, Any], bytes]:
    """The (metadata, media) of a ``multipart/related`` upload body."""
    content_type = request.header("content-type")
    marker = "boundary="
    if marker not in content_type:
        raise GoogleError(400, "INVALID_ARGUMENT", "A multipart upload needs a multipart/related boundary.")
    boundary = content_type.split(marker, 1)[1].split(";")[0].strip().strip("'\"")
    pieces = request.body.split(b"--" + boundary.encode())
    bodies = []
    for piece in pieces[1:]:
        if piece.startswith(b"--"):
            break
        _, _, body = piece.partition(b"\r\n\r\n")
        bodies.append(body.removesuffix(b"\r\n"))
    if len(bodies) != 2:
        raise GoogleError(400, "INVALID_ARGUMENT", "A multipart upload has a metadata part and a media part.")
    meta = json.loads(bodies[0])
    if not isinstance(meta, dict) or not meta.get("name"):
        raise GoogleError(400, "INVALID_ARGUMENT", "Required parameter: name")
    return meta, bodies[1]
