"""Fireworks' dataset routes: create the record (``POST …/datasets``, id chosen by the caller, 409 when taken),
then its bytes, by one multipart ``:upload`` (at most 150 MB) or by a signed URL from ``:getUploadEndpoint``
finished with ``:validateUpload``; get, list, delete and ``:getDownloadEndpoint``. A dataset is ``UPLOADING``
until its bytes arrive, then ``READY``; lines that are not JSON are refused at upload (400), the format rules
run when a job validates the dataset.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from ftclient.emulator.fireworks import catalog, rules
from ftclient.emulator.fireworks.rpc import RpcError, page
from ftclient.emulator.fireworks.state import rfc3339
from ftclient.emulator.http import Request, Response, Router, json_response
from ftclient.emulator.multipart import parse_multipart

if TYPE_CHECKING:
    from ftclient.emulator.fireworks.app import FireworksApp

BASE = "/v1/accounts/{account_id}/datasets"
ID_RULE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class Datasets:
    def __init__(self, app: FireworksApp) -> None:
        self.app = app

    def register(self, router: Router) -> None:
        # Verb routes first: ``{dataset_id}`` alone would also match ``x:upload``.
        router.add("POST", f"{BASE}/{{dataset_id}}:upload", self.upload)
        router.add("POST", f"{BASE}/{{dataset_id}}:getUploadEndpoint", self.upload_endpoint)
        router.add("POST", f"{BASE}/{{dataset_id}}:validateUpload", self.validate_upload)
        router.add("GET", f"{BASE}/{{dataset_id}}:getDownloadEndpoint", self.download_endpoint)
        router.add("PUT", "/_storage/datasets/{account}/{dataset}/{filename}", self.put_bytes)
        router.add("GET", "/_storage/datasets/{account}/{dataset}/{filename}", self.get_bytes)
        router.add("POST", BASE, self.create)
        router.add("GET", BASE, self.list)
        router.add("GET", f"{BASE}/{{dataset_id}}", self.retrieve)
        router.add("DELETE", f"{BASE}/{{dataset_id}}", self.delete)

    def name(self, request: Request, dataset_id: str | None = None) -> str:
        return f"accounts/{request.params['account_id']}/datasets/{dataset_id or request.params['dataset_id']}"

    def get(self, name: str) -> dict[str, Any]:
        with self.app.store.lock:
            found = self.app.store.datasets.get(name)
        if found is None:
            raise RpcError("NOT_FOUND", f"dataset {name} not found")
        return found

    def create(self, request: Request) -> Response:
        body = request.json()
        dataset_id = body.get("datasetId")
        if not isinstance(dataset_id, str) or not ID_RULE.match(dataset_id):
            raise RpcError("INVALID_ARGUMENT", "datasetId must be 1-63 lowercase letters, digits or hyphens.")
        spec = body.get("dataset")
        if not isinstance(spec, dict):
            raise RpcError("INVALID_ARGUMENT", "dataset is required.")
        name = self.name(request, dataset_id)
        now = self.app.now()
        obj = {
            "name": name,
            "displayName": str(spec.get("displayName") or dataset_id),
            "createTime": rfc3339(now),
            "updateTime": rfc3339(now),
            "state": "UPLOADING",
            "status": {"code": "OK", "message": ""},
            "exampleCount": str(spec.get("exampleCount") or "0"),
            "userUploaded": {},
            "format": spec.get("format") or "CHAT",
            "createdBy": "emulator@ftclient.invalid",
        }
        with self.app.store.lock:
            if name in self.app.store.datasets:
                raise RpcError("ALREADY_EXISTS", f"dataset {name} already exists")
            self.app.store.datasets[name] = obj
        self.app.changed()
        return json_response(obj)

    def _store(self, name: str, data: bytes) -> dict[str, Any]:
        obj = self.get(name)
        for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
            if line.strip():
                try:
                    json.loads(line)
                except ValueError:
                    raise RpcError("INVALID_ARGUMENT", f"line {number} of the file is not valid JSON") from None
        with self.app.store.lock:
            self.app.store.put_content(name, data)
            obj.update(
                state="READY",
                updateTime=rfc3339(self.app.now()),
                exampleCount=str(sum(1 for line in data.splitlines() if line.strip())),
                estimatedTokenCount=str(
                    sum(
                        rules.estimate_tokens(line.decode("utf-8", "replace"))
                        for line in data.splitlines()
                        if line.strip()
                    )
                ),
            )
        self.app.services.stats.bump("datasets_uploaded")
        self.app.changed()
        return obj

    def upload(self, request: Request) -> Response:
        parts = parse_multipart(request.header("content-type"), request.body)
        if "file" not in parts:
            raise RpcError("INVALID_ARGUMENT", "the multipart body needs a part named file")
        data = parts["file"].data
        if len(data) > catalog.UPLOAD_LIMIT_BYTES:
            raise RpcError("INVALID_ARGUMENT", "files over 150 MB must use getUploadEndpoint")
        name = self.name(request)
        obj = self._store(name, data)
        return json_response(
            {
                "id": request.params["dataset_id"],
                "object": "file",
                "bytes": len(data),
                "created_at": int(self.app.now()),
                "filename": parts["file"].filename or obj["displayName"],
                "purpose": "fine-tune",
            }
        )

    def upload_endpoint(self, request: Request) -> Response:
        name = self.name(request)
        self.get(name)
        sizes = request.json().get("filenameToSize")
        if not isinstance(sizes, dict) or not sizes:
            raise RpcError("INVALID_ARGUMENT", "filenameToSize is required")
        account, dataset = request.params["account_id"], request.params["dataset_id"]
        urls = {
            filename: self.app.signed(request, f"/_storage/datasets/{account}/{dataset}/{filename}")
            for filename in sizes
        }
        return json_response({"filenameToSignedUrls": urls})

    def put_bytes(self, request: Request) -> Response:
        self.app.check_signature(request)
        name = f"accounts/{request.params['account']}/datasets/{request.params['dataset']}"
        self.get(name)
        with self.app.store.lock:
            self.app.store.put_content(f"{name}#pending", request.body)
        return Response(status=200, body=b"", content_type="text/plain")

    def validate_upload(self, request: Request) -> Response:
        name = self.name(request)
        self.get(name)
        data = self.app.store.content(f"{name}#pending")
        if not data:
            raise RpcError("FAILED_PRECONDITION", f"nothing was uploaded to {name}'s upload URL")
        self._store(name, data)
        self.app.store.drop_content(f"{name}#pending")
        return json_response({})

    def download_endpoint(self, request: Request) -> Response:
        name = self.name(request)
        obj = self.get(name)
        account, dataset = request.params["account_id"], request.params["dataset_id"]
        filename = f"{dataset}.jsonl"
        url = self.app.signed(request, f"/_storage/datasets/{account}/{dataset}/{filename}")
        return json_response({"filenameToSignedUrls": {filename: url} if obj["state"] == "READY" else {}})

    def get_bytes(self, request: Request) -> Response:
        self.app.check_signature(request)
        name = f"accounts/{request.params['account']}/datasets/{request.params['dataset']}"
        self.get(name)
        return Response(status=200, body=self.app.store.content(name), content_type="application/octet-stream")

    def list(self, request: Request) -> Response:
        prefix = f"accounts/{request.params['account_id']}/datasets/"
        with self.app.store.lock:
            items = [d for name, d in self.app.store.datasets.items() if name.startswith(prefix)]
        return json_response(page(items, request, "datasets"))

    def retrieve(self, request: Request) -> Response:
        return json_response(self.get(self.name(request)))

    def delete(self, request: Request) -> Response:
        name = self.name(request)
        self.get(name)
        with self.app.store.lock:
            del self.app.store.datasets[name]
            self.app.store.drop_content(name)
        self.app.changed()
        return json_response({})
