"""Path-style S3: the objects customization jobs read their data from and write their metrics to.

The operations boto3 sends for uploads and reads (PutObject, HeadObject, GetObject, ListObjectsV2, and
multipart Create/UploadPart/Complete/Abort), answered in S3's REST-XML shapes (docs.aws.amazon.com/AmazonS3/
latest/API/). Any bucket name is accepted as existing (the emulator plays an account whose bucket was made
beforehand). ETags are the MD5 of the object, or for a multipart object the MD5 of its parts' MD5s with
``-<parts>``, as S3 computes them. Errors use S3's ``<Error><Code>`` document.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import re
import threading
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import unquote
from xml.sax.saxutils import escape

from ftclient.emulator.http import ApiError, Request, Response, Router

if TYPE_CHECKING:
    from ftclient.emulator.bedrock.app import BedrockApp

XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"
MIN_PART_BYTES = 5 * 1024**2
"""S3: every part but the last is at least 5 MiB (EntityTooSmall otherwise)."""


@dataclass
class S3Object:
    data: bytes
    etag: str
    modified: float
    content_type: str = "application/octet-stream"
    metadata: dict[str, str] = field(default_factory=dict)
    """The ``x-amz-meta-*`` headers it was stored with, returned on HEAD and GET."""


@dataclass
class MultipartUpload:
    bucket: str
    key: str
    parts: dict[int, bytes] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/octet-stream"


def _user_metadata(request: Request) -> dict[str, str]:
    return {k: v for k, v in request.headers.items() if k.startswith("x-amz-meta-")}


def s3_error(status: int, code: str, message: str) -> ApiError:
    return ApiError(status, message, type="s3", code=code)


def iso(when: float) -> str:
    return dt.datetime.fromtimestamp(when, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _xml(root: str, inner: str) -> Response:
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{XMLNS}">{inner}</{root}>'
    return Response(200, body.encode("utf-8"), "application/xml")


class S3:
    def __init__(self, app: BedrockApp) -> None:
        self.app = app
        self.buckets: dict[str, dict[str, S3Object]] = {}
        self.uploads: dict[str, MultipartUpload] = {}
        self.lock = threading.RLock()

    def register(self, router: Router) -> None:
        router.add("PUT", "/s3/{bucket}/{key}", self.put)
        router.add("HEAD", "/s3/{bucket}/{key}", self.head)
        router.add("GET", "/s3/{bucket}/{key}", self.get)
        router.add("POST", "/s3/{bucket}/{key}", self.post)
        router.add("DELETE", "/s3/{bucket}/{key}", self.delete)
        router.add("GET", "/s3/{bucket}", self.list)

    # -- the store, also used by the jobs --------------------------------------------------------
    def write(self, bucket: str, key: str, data: bytes, content_type: str = "application/octet-stream") -> S3Object:
        obj = S3Object(data, f'"{hashlib.md5(data).hexdigest()}"', self.app.now(), content_type)
        with self.lock:
            self.buckets.setdefault(bucket, {})[key] = obj
        return obj

    def read(self, uri: str) -> bytes | None:
        """The object at ``s3://bucket/key``, or None."""
        found = re.match(r"^s3://([^/]+)/(.+)$", uri)
        if not found:
            return None
        with self.lock:
            obj = self.buckets.get(found.group(1), {}).get(found.group(2))
        return obj.data if obj else None

    def _object(self, request: Request) -> S3Object:
        bucket, key = request.params["bucket"], unquote(request.params["key"])
        with self.lock:
            obj = self.buckets.get(bucket, {}).get(key)
        if obj is None:
            raise s3_error(404, "NoSuchKey", "The specified key does not exist.")
        return obj

    # -- operations ------------------------------------------------------------------------------
    def put(self, request: Request) -> Response:
        upload_id, part = request.arg("uploadId"), request.arg("partNumber")
        if upload_id is not None and part is not None:
            return self._upload_part(request, upload_id, int(part))
        bucket, key = request.params["bucket"], unquote(request.params["key"])
        obj = self.write(bucket, key, request.body, request.header("content-type") or "application/octet-stream")
        obj.metadata = _user_metadata(request)
        return Response(200, b"", "application/xml", {"etag": obj.etag})

    def _headers(self, obj: S3Object) -> dict[str, str]:
        return {
            **obj.metadata,
            "etag": obj.etag,
            "last-modified": email.utils.formatdate(obj.modified, usegmt=True),
            "accept-ranges": "bytes",
        }

    def head(self, request: Request) -> Response:
        try:
            obj = self._object(request)
        except ApiError as exc:  # a HEAD answer has no body: the status says it all
            return Response(exc.status, b"", "application/xml")
        return Response(200, b"", obj.content_type, {**self._headers(obj), "content-length": str(len(obj.data))})

    def get(self, request: Request) -> Response:
        obj = self._object(request)
        return Response(200, obj.data, obj.content_type, self._headers(obj))

    def list(self, request: Request) -> Response:
        if request.arg("list-type") != "2":
            raise s3_error(400, "InvalidArgument", "The emulator serves ListObjectsV2 only (list-type=2).")
        bucket, prefix = request.params["bucket"], request.arg("prefix") or ""
        limit = int(request.arg("max-keys") or 1000)
        after = request.arg("continuation-token") or request.arg("start-after") or ""
        with self.lock:
            keys = sorted(k for k in self.buckets.get(bucket, {}) if k.startswith(prefix) and k > after)
            objects = self.buckets.get(bucket, {})
            page, more = keys[:limit], len(keys) > limit
            contents = "".join(
                f"<Contents><Key>{escape(k)}</Key><LastModified>{iso(objects[k].modified)}</LastModified>"
                f"<ETag>{escape(objects[k].etag)}</ETag><Size>{len(objects[k].data)}</Size>"
                "<StorageClass>STANDARD</StorageClass></Contents>"
                for k in page
            )
        inner = (
            f"<Name>{escape(bucket)}</Name><Prefix>{escape(prefix)}</Prefix><KeyCount>{len(page)}</KeyCount>"
            f"<MaxKeys>{limit}</MaxKeys><IsTruncated>{'true' if more else 'false'}</IsTruncated>{contents}"
        )
        if more:
            inner += f"<NextContinuationToken>{escape(page[-1])}</NextContinuationToken>"
        return _xml("ListBucketResult", inner)

    def post(self, request: Request) -> Response:
        bucket, key = request.params["bucket"], unquote(request.params["key"])
        if "uploads" in request.query:
            upload_id = uuid.uuid4().hex
            with self.lock:
                self.uploads[upload_id] = MultipartUpload(
                    bucket, key, metadata=_user_metadata(request),
                    content_type=request.header("content-type") or "application/octet-stream",
                )
            inner = f"<Bucket>{escape(bucket)}</Bucket><Key>{escape(key)}</Key><UploadId>{upload_id}</UploadId>"
            return _xml("InitiateMultipartUploadResult", inner)
        completing = request.arg("uploadId")
        if completing is None:
            raise s3_error(400, "InvalidRequest", "POST on an object needs ?uploads or ?uploadId.")
        return self._complete(request, completing, bucket, key)

    def delete(self, request: Request) -> Response:
        upload_id = request.arg("uploadId")
        with self.lock:
            if upload_id is not None:
                if self.uploads.pop(upload_id, None) is None:
                    raise s3_error(404, "NoSuchUpload", "The specified upload does not exist.")
            else:
                self.buckets.get(request.params["bucket"], {}).pop(unquote(request.params["key"]), None)
        return Response(204, b"", "application/xml")

    def _upload(self, upload_id: str) -> MultipartUpload:
        found = self.uploads.get(upload_id)
        if found is None:
            raise s3_error(404, "NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, "
                           "or the upload may have been aborted or completed.")
        return found

    def _upload_part(self, request: Request, upload_id: str, number: int) -> Response:
        if not 1 <= number <= 10_000:
            raise s3_error(400, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive.")
        with self.lock:
            self._upload(upload_id).parts[number] = request.body
        return Response(200, b"", "application/xml", {"etag": f'"{hashlib.md5(request.body).hexdigest()}"'})

    def _complete(self, request: Request, upload_id: str, bucket: str, key: str) -> Response:
        listed = [int(n) for n in re.findall(r"<PartNumber>(\d+)</PartNumber>", request.body.decode("utf-8"))]
        with self.lock:
            upload = self._upload(upload_id)
            if not listed or listed != sorted(listed) or any(n not in upload.parts for n in listed):
                raise s3_error(400, "InvalidPart", "One or more of the specified parts could not be found, or the "
                               "list is not in ascending order.")
            if any(len(upload.parts[n]) < MIN_PART_BYTES for n in listed[:-1]):
                raise s3_error(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size.")
            data = b"".join(upload.parts[n] for n in listed)
            digest = hashlib.md5(b"".join(hashlib.md5(upload.parts[n]).digest() for n in listed)).hexdigest()
            obj = self.write(bucket, key, data, upload.content_type)
            obj.metadata = upload.metadata
            obj.etag = f'"{digest}-{len(listed)}"'
            del self.uploads[upload_id]
        inner = (
            f"<Location>/{escape(bucket)}/{escape(key)}</Location><Bucket>{escape(bucket)}</Bucket>"
            f"<Key>{escape(key)}</Key><ETag>{escape(obj.etag)}</ETag>"
        )
        return _xml("CompleteMultipartUploadResult", inner)

    def stats(self) -> dict[str, int]:
        with self.lock:
            return {
                "objects": sum(len(b) for b in self.buckets.values()),
                "bytes": sum(len(o.data) for b in self.buckets.values() for o in b.values()),
                "multipart_in_progress": len(self.uploads),
            }
