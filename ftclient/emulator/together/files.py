"""Together's file routes: the redirect upload its SDKs use (``POST /files`` -> 302 to a signed URL ->
``PUT`` -> ``POST /files/{id}/preprocess``), the spec's one-shot ``POST /files/upload`` (multipart form),
the large-file multipart session (``/files/multipart/initiate|complete|abort`` with signed part URLs),
and listing, reading, downloading and deleting files.

Signed URLs live under ``/v1/_storage/`` and, like real signed URLs, take no Together credentials.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from ftclient.emulator.http import ApiError, Request, Response, Router, json_response
from ftclient.emulator.multipart import parse_multipart

if TYPE_CHECKING:
    from ftclient.emulator.together.app import TogetherApp

STORAGE_PREFIX = "/v1/_storage/"
PURPOSES = {"fine-tune", "eval", "eval-sample", "eval-output", "eval-summary", "batch-generated", "batch-api"}
FILE_TYPES = {"jsonl", "parquet", "csv"}
_SECRET = b"ftclient-emulator-signing-key"


class Files:
    def __init__(self, app: TogetherApp) -> None:
        self.app = app

    def register(self, router: Router) -> None:
        router.add("POST", "/v1/files", self.announce)
        router.add("PUT", "/v1/_storage/{file_id}", self.put_bytes)
        router.add("POST", "/v1/files/{id}/preprocess", self.preprocess)
        router.add("POST", "/v1/files/upload", self.upload)
        router.add("POST", "/v1/files/multipart/initiate", self.initiate)
        router.add("PUT", "/v1/_storage/{upload_id}/parts/{number}", self.put_part)
        router.add("POST", "/v1/files/multipart/complete", self.complete)
        router.add("POST", "/v1/files/multipart/abort", self.abort)
        router.add("GET", "/v1/files", self.list)
        router.add("GET", "/v1/files/{id}", self.retrieve)
        router.add("DELETE", "/v1/files/{id}", self.delete)
        router.add("GET", "/v1/files/{id}/content", self.content)

    # -- objects ---------------------------------------------------------------------------------
    def file_object(self, file_id: str, name: str, purpose: str, file_type: str, size: int) -> dict[str, Any]:
        return {
            "id": file_id,
            "object": "file",
            "created_at": int(self.app.now()),
            "filename": name,
            "bytes": size,
            "purpose": purpose,
            "FileType": file_type,
            "Processed": False,
        }

    def _signed(self, request: Request, path: str) -> str:
        host = request.header("host", "127.0.0.1")
        signature = hmac.new(_SECRET, path.encode(), hashlib.sha256).hexdigest()[:32]
        return f"http://{host}{path}?X-Emulator-Signature={signature}"

    @staticmethod
    def _check_signature(request: Request) -> None:
        expected = hmac.new(_SECRET, request.path.encode(), hashlib.sha256).hexdigest()[:32]
        if not hmac.compare_digest(request.arg("X-Emulator-Signature") or "", expected):
            raise ApiError(403, "The request signature we calculated does not match the signature you provided.")

    @staticmethod
    def _fields(purpose: Any, file_name: Any, file_type: Any) -> tuple[str, str, str]:
        if purpose not in PURPOSES:
            raise ApiError(400, f"Invalid purpose {purpose!r}; expected one of {', '.join(sorted(PURPOSES))}.")
        if not file_name:
            raise ApiError(400, "Missing required field: file_name.")
        kind = file_type or "jsonl"
        if kind not in FILE_TYPES:
            raise ApiError(400, f"Invalid file_type {kind!r}; expected jsonl, parquet or csv.")
        if purpose == "fine-tune" and kind == "csv":
            raise ApiError(400, "CSV files can only be uploaded for evaluations; use jsonl or parquet to fine-tune.")
        return str(purpose), str(file_name), str(kind)

    # -- the redirect flow -----------------------------------------------------------------------
    def announce(self, request: Request) -> Response:
        form = {k: v[-1] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        purpose, name, kind = self._fields(form.get("purpose"), form.get("file_name"), form.get("file_type"))
        store = self.app.store
        file_id = store.file_id()
        with store.lock:
            store.pending[file_id] = self.file_object(file_id, name, purpose, kind, 0)
        response = Response(status=302, body=b"", content_type="text/plain")
        response.headers["location"] = self._signed(request, f"{STORAGE_PREFIX}{file_id}")
        response.headers["x-together-file-id"] = file_id
        return response

    def put_bytes(self, request: Request) -> Response:
        self._check_signature(request)
        file_id = request.params["file_id"]
        store = self.app.store
        with store.lock:
            pending = store.pending.get(file_id)
            if pending is None:
                raise ApiError(404, "The specified upload does not exist or has expired.")
            pending["bytes"] = len(request.body)
            store.put_content(file_id, request.body)
        response = Response(status=200, body=b"", content_type="text/plain")
        response.headers["etag"] = f'"{hashlib.md5(request.body, usedforsecurity=False).hexdigest()}"'
        return response

    def preprocess(self, request: Request) -> Response:
        file_id = request.params["id"]
        store = self.app.store
        with store.lock:
            obj = store.pending.pop(file_id, None) or store.files.get(file_id)
            if obj is None:
                raise _no_file(file_id)
            if file_id not in store.contents and not store.content(file_id):
                store.pending[file_id] = obj
                raise ApiError(400, f"File {file_id} has no content yet: PUT the bytes to the upload URL first.")
            obj["Processed"] = True
            store.files[file_id] = obj
        self.app.changed()
        return json_response(obj)

    # -- the spec's one-shot upload --------------------------------------------------------------
    def upload(self, request: Request) -> Response:
        parts = parse_multipart(request.header("content-type"), request.body)
        if "file" not in parts:
            raise ApiError(400, "Missing required field: file.")

        def text(name: str) -> str | None:
            part = parts.get(name)
            return part.data.decode("utf-8", "replace") if part else None

        purpose, name, kind = self._fields(text("purpose"), text("file_name"), text("file_type"))
        return json_response(self.store_file(name, purpose, kind, parts["file"].data))

    def store_file(self, name: str, purpose: str, kind: str, data: bytes) -> dict[str, Any]:
        store = self.app.store
        file_id = store.file_id()
        obj = self.file_object(file_id, name, purpose, kind, len(data))
        obj["Processed"] = True
        with store.lock:
            store.put_content(file_id, data)
            store.files[file_id] = obj
        self.app.changed()
        return obj

    # -- large files -----------------------------------------------------------------------------
    def initiate(self, request: Request) -> Response:
        body = request.json()
        purpose, name, kind = self._fields(body.get("purpose"), body.get("file_name"), body.get("file_type"))
        parts = body.get("num_parts")
        if not isinstance(parts, int) or not 1 <= parts <= 250:
            raise ApiError(400, "num_parts must be an integer between 1 and 250.", param="num_parts")
        store = self.app.store
        upload_id = f"upload-{store.file_id()[5:]}"
        file_id = store.file_id()
        with store.lock:
            store.sessions[upload_id] = {
                "file_id": file_id,
                "object": self.file_object(file_id, name, purpose, kind, int(body.get("file_size") or 0)),
                "num_parts": parts,
            }
            store.parts[upload_id] = {}
        urls = [
            {
                "PartNumber": n,
                "URL": self._signed(request, f"{STORAGE_PREFIX}{upload_id}/parts/{n}"),
                "Headers": {"Content-Type": "application/octet-stream"},
            }
            for n in range(1, parts + 1)
        ]
        return json_response({"upload_id": upload_id, "file_id": file_id, "parts": urls})

    def put_part(self, request: Request) -> Response:
        self._check_signature(request)
        upload_id, number = request.params["upload_id"], int(request.params["number"])
        store = self.app.store
        with store.lock:
            if upload_id not in store.sessions:
                raise ApiError(404, "The specified upload does not exist.")
            store.parts[upload_id][number] = request.body
        response = Response(status=200, body=b"", content_type="text/plain")
        response.headers["etag"] = f'"{hashlib.md5(request.body, usedforsecurity=False).hexdigest()}"'
        return response

    def complete(self, request: Request) -> Response:
        body = request.json()
        upload_id = str(body.get("upload_id") or "")
        store = self.app.store
        with store.lock:
            session = store.sessions.get(upload_id)
            if session is None or session["file_id"] != body.get("file_id"):
                raise ApiError(404, f"No such upload: {upload_id}")
            received = store.parts[upload_id]
            listed = body.get("parts") or []
            numbers = [int(p.get("part_number", 0)) for p in listed if isinstance(p, dict)]
            if sorted(numbers) != list(range(1, session["num_parts"] + 1)) or set(numbers) - set(received):
                raise ApiError(400, f"Upload {upload_id} is incomplete: send every part, then complete it.")
            for part in listed:
                data = received[int(part["part_number"])]
                if str(part.get("etag", "")).strip('"') != hashlib.md5(data, usedforsecurity=False).hexdigest():
                    raise ApiError(400, f"ETag mismatch for part {part['part_number']} of upload {upload_id}.")
            data = b"".join(received[n] for n in sorted(numbers))
            obj = session["object"]
            obj.update(bytes=len(data), Processed=True)
            store.put_content(obj["id"], data)
            store.files[obj["id"]] = obj
            del store.sessions[upload_id], store.parts[upload_id]
        self.app.changed()
        return json_response({"file": obj})

    def abort(self, request: Request) -> Response:
        body = request.json()
        store = self.app.store
        with store.lock:
            store.sessions.pop(str(body.get("upload_id")), None)
            store.parts.pop(str(body.get("upload_id")), None)
        return json_response({"upload_id": body.get("upload_id"), "aborted": True})

    # -- reading ---------------------------------------------------------------------------------
    def list(self, request: Request) -> Response:
        with self.app.store.lock:
            return json_response({"data": list(self.app.store.files.values())})

    def get(self, file_id: str) -> dict[str, Any]:
        with self.app.store.lock:
            obj = self.app.store.files.get(file_id)
        if obj is None:
            raise _no_file(file_id)
        return obj

    def retrieve(self, request: Request) -> Response:
        return json_response(self.get(request.params["id"]))

    def delete(self, request: Request) -> Response:
        file_id = request.params["id"]
        store = self.app.store
        with store.lock:
            if store.files.pop(file_id, None) is None:
                raise _no_file(file_id)
            store.drop_content(file_id)
        self.app.changed()
        return json_response({"id": file_id, "deleted": True})

    def content(self, request: Request) -> Response:
        file_id = request.params["id"]
        self.get(file_id)
        return Response(status=200, body=self.app.store.content(file_id), content_type="application/octet-stream")


def _no_file(file_id: str) -> ApiError:
    return ApiError(404, f"File not found: {file_id}", type="invalid_request_error", param="id")
