"""``/v1/files`` and ``/v1/uploads``: the uploaded bytes fine-tuning and batches read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ftclient.emulator.http import ApiError, Request, Response, Router, json_response, not_found, paginate
from ftclient.emulator.multipart import parse_multipart

if TYPE_CHECKING:
    from ftclient.emulator.openai.app import OpenAIApp

PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
OUTPUT_PURPOSES = ("assistants_output", "batch_output", "fine-tune-results")
MAX_FILE_BYTES = 512 * 1024**2
MAX_PART_BYTES = 64 * 1024**2
MAX_UPLOAD_BYTES = 8 * 1024**3
PROCESSING_S = 1.0
"""Emulated seconds a file stays ``uploaded`` before it is ``processed``."""
UPLOAD_TTL_S = 3600


class Files:
    def __init__(self, app: OpenAIApp) -> None:
        self.app = app
        self.store = app.store

    def register(self, router: Router) -> None:
        router.add("POST", "/v1/files", self.create)
        router.add("GET", "/v1/files", self.list_all)
        router.add("GET", "/v1/files/{file_id}", self.retrieve)
        router.add("DELETE", "/v1/files/{file_id}", self.delete)
        router.add("GET", "/v1/files/{file_id}/content", self.content)
        router.add("POST", "/v1/uploads", self.create_upload)
        router.add("POST", "/v1/uploads/{upload_id}/parts", self.add_part)
        router.add("POST", "/v1/uploads/{upload_id}/complete", self.complete_upload)
        router.add("POST", "/v1/uploads/{upload_id}/cancel", self.cancel_upload)

    # -- files -----------------------------------------------------------------------------------
    def new_file(
        self,
        filename: str,
        purpose: str,
        data: bytes,
        *,
        expires_after: dict[str, Any] | None = None,
        processed: bool = False,
    ) -> dict[str, Any]:
        now = int(self.app.now())
        file_id = self.store.new_id("file-")
        obj: dict[str, Any] = {
            "id": file_id,
            "object": "file",
            "bytes": len(data),
            "created_at": now,
            "filename": filename,
            "purpose": purpose,
            "status": "processed" if processed else "uploaded",
            # Deprecated but still sent, as null; expires_at null when the file does not expire (real-payloads
            # file-4), although the spec types both as non-nullable.
            "status_details": None,
            "expires_at": None,
        }
        if expires_after:
            obj["expires_at"] = now + int(expires_after["seconds"])
        elif purpose == "batch":
            obj["expires_at"] = now + 30 * 24 * 3600
        with self.store.lock:
            self.store.put_content(file_id, data)
            self.store.files[file_id] = obj
        self.app.changed()
        return obj

    def get(self, file_id: str, param: str | None = None) -> dict[str, Any]:
        with self.store.lock:
            obj = self.store.files.get(file_id)
            if obj is None:
                raise not_found("file", file_id, param)
            if obj["status"] == "uploaded" and self.app.now() >= obj["created_at"] + PROCESSING_S:
                obj["status"] = "processed"
            return obj

    def create(self, request: Request) -> Response:
        parts = parse_multipart(request.header("content-type"), request.body)
        if "file" not in parts:
            raise ApiError(400, "Missing required parameter: 'file'.", param="file", code="missing_required_parameter")
        purpose = parts["purpose"].data.decode() if "purpose" in parts else ""
        if not purpose:
            raise ApiError(
                400, "Missing required parameter: 'purpose'.", param="purpose", code="missing_required_parameter"
            )
        _check_purpose(purpose)
        upload = parts["file"]
        filename = upload.filename or "upload"
        if len(upload.data) > MAX_FILE_BYTES:
            raise ApiError(
                400,
                f"File is too large ({len(upload.data)} bytes); the limit for a single upload is "
                f"{MAX_FILE_BYTES} bytes. Use the Uploads API for larger files.",
                param="file",
            )
        _check_extension(filename, purpose)
        expires = _expires_after(
            parts["expires_after[seconds]"].data.decode() if "expires_after[seconds]" in parts else None
        )
        return json_response(self.new_file(filename, purpose, upload.data, expires_after=expires))

    def list_all(self, request: Request) -> Response:
        purpose = request.arg("purpose")
        order = request.arg("order", "desc")
        if order not in {"asc", "desc"}:
            raise ApiError(400, f"Invalid 'order': expected 'asc' or 'desc', got {order!r}.", param="order")
        with self.store.lock:
            items = [self.get(fid) for fid in self.store.files]
        if purpose:
            items = [item for item in items if item["purpose"] == purpose]
        items.sort(key=lambda f: (f["created_at"], f["id"]), reverse=order == "desc")
        return json_response(paginate(items, request, default_limit=10_000, empty_id=""))

    def retrieve(self, request: Request) -> Response:
        return json_response(self.get(request.params["file_id"]))

    def delete(self, request: Request) -> Response:
        file_id = request.params["file_id"]
        with self.store.lock:
            self.get(file_id)
            del self.store.files[file_id]
            self.store.drop_content(file_id)
        self.app.changed()
        return json_response({"id": file_id, "object": "file", "deleted": True})

    def content(self, request: Request) -> Response:
        obj = self.get(request.params["file_id"])
        data = self.store.content(obj["id"])
        # The API sends the file's bytes as they are; the spec's "application/json string" does not fit a JSONL
        # file (a JSON parser fails on its second line), so this follows the API, not the spec.
        return Response(body=data, content_type="application/octet-stream")

    # -- uploads ---------------------------------------------------------------------------------
    def create_upload(self, request: Request) -> Response:
        body = request.json()
        for name in ("bytes", "filename", "mime_type", "purpose"):
            if name not in body:
                raise ApiError(
                    400, f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter"
                )
        size = body["bytes"]
        if not isinstance(size, int) or size < 0 or size > MAX_UPLOAD_BYTES:
            raise ApiError(400, f"Invalid 'bytes': an Upload holds 0 to {MAX_UPLOAD_BYTES} bytes.", param="bytes")
        _check_purpose(str(body["purpose"]))
        _check_extension(str(body["filename"]), str(body["purpose"]))
        now = int(self.app.now())
        upload = {
            "id": self.store.new_id("upload_"),
            "object": "upload",
            "bytes": size,
            "created_at": now,
            "expires_at": now + UPLOAD_TTL_S,
            "filename": body["filename"],
            "purpose": body["purpose"],
            "status": "pending",
            "file": None,
        }
        with self.store.lock:
            self.store.uploads[upload["id"]] = upload
            self.store.upload_parts[upload["id"]] = {}
        self.app.changed()
        return json_response(upload)

    def _pending(self, upload_id: str) -> dict[str, Any]:
        upload = self.store.uploads.get(upload_id)
        if upload is None:
            raise not_found("upload", upload_id)
        if upload["status"] == "pending" and self.app.now() > upload["expires_at"]:
            upload["status"] = "expired"
        if upload["status"] != "pending":
            raise ApiError(400, f"Upload {upload_id} is {upload['status']}; only pending uploads accept this.")
        return upload

    def add_part(self, request: Request) -> Response:
        parts = parse_multipart(request.header("content-type"), request.body)
        if "data" not in parts:
            raise ApiError(400, "Missing required parameter: 'data'.", param="data", code="missing_required_parameter")
        data = parts["data"].data
        if len(data) > MAX_PART_BYTES:
            raise ApiError(
                400,
                f"Part is too large ({len(data)} bytes); each part may be at most 64 MB ({MAX_PART_BYTES} bytes).",
                param="data",
            )
        upload_id = request.params["upload_id"]
        with self.store.lock:
            self._pending(upload_id)
            part_id = self.store.new_id("part_")
            self.store.upload_parts.setdefault(upload_id, {})[part_id] = data
        return json_response(
            {"id": part_id, "object": "upload.part", "created_at": int(self.app.now()), "upload_id": upload_id}
        )

    def complete_upload(self, request: Request) -> Response:
        body = request.json()
        part_ids = body.get("part_ids")
        if not isinstance(part_ids, list):
            raise ApiError(
                400, "Missing required parameter: 'part_ids'.", param="part_ids", code="missing_required_parameter"
            )
        upload_id = request.params["upload_id"]
        with self.store.lock:
            upload = self._pending(upload_id)
            parts = self.store.upload_parts.get(upload_id, {})
            unknown = [p for p in part_ids if p not in parts]
            if unknown:
                raise ApiError(
                    400, f"Unknown part id(s) for upload {upload_id}: {', '.join(map(str, unknown))}.", param="part_ids"
                )
            data = b"".join(parts[p] for p in part_ids)
            if len(data) != upload["bytes"]:
                raise ApiError(
                    400,
                    f"The parts add up to {len(data)} bytes but the Upload was created for {upload['bytes']} bytes.",
                    param="part_ids",
                )
            if body.get("md5"):
                import hashlib

                if hashlib.md5(data).hexdigest() != body["md5"]:
                    raise ApiError(400, "The md5 checksum does not match the uploaded bytes.", param="md5")
            upload["file"] = self.new_file(upload["filename"], upload["purpose"], data)
            upload["status"] = "completed"
            self.store.upload_parts.pop(upload_id, None)
        self.app.changed()
        return json_response(upload)

    def cancel_upload(self, request: Request) -> Response:
        upload_id = request.params["upload_id"]
        with self.store.lock:
            upload = self._pending(upload_id)
            upload["status"] = "cancelled"
            self.store.upload_parts.pop(upload_id, None)
        self.app.changed()
        return json_response(upload)


def _check_purpose(purpose: str) -> None:
    if purpose not in PURPOSES:
        raise ApiError(
            400,
            f"Invalid value for 'purpose': {purpose!r}. Supported values are: {', '.join(repr(p) for p in PURPOSES)}.",
            param="purpose",
        )


def _check_extension(filename: str, purpose: str) -> None:
    if purpose in {"fine-tune", "batch"} and not filename.lower().endswith(".jsonl"):
        what = "Fine-Tuning" if purpose == "fine-tune" else "Batch"
        raise ApiError(400, f"Invalid file format for {what} API. Must be .jsonl", param="file")


def _expires_after(seconds: str | None) -> dict[str, Any] | None:
    if seconds is None:
        return None
    try:
        value = int(seconds)
    except ValueError:
        raise ApiError(400, "Invalid 'expires_after[seconds]': expected an integer.", param="expires_after") from None
    if not 3600 <= value <= 2_592_000:
        raise ApiError(
            400, "'expires_after[seconds]' must be between 3600 (1 hour) and 2592000 (30 days).", param="expires_after"
        )
    return {"anchor": "created_at", "seconds": value}
