"""``/v1/batches``: a JSONL file of requests goes ``validating`` -> ``in_progress`` -> ``finalizing``
-> ``completed`` on the emulated clock, leaving an output file (successes) and an error file
(failed lines), joined to the input by ``custom_id``."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from ftclient.emulator.http import ApiError, Request, Response, Router, json_response, not_found, paginate
from ftclient.emulator.openai.state import BatchState

if TYPE_CHECKING:
    from ftclient.emulator.openai.app import OpenAIApp

ENDPOINTS = ("/v1/chat/completions", "/v1/moderations")
VALIDATING_S = 5.0
SECONDS_PER_REQUEST = 0.5
MIN_IN_PROGRESS_S = 10.0
FINALIZING_S = 5.0
CANCELLING_S = 10.0
# Batch guide: an input file holds "up to 50,000 requests" and "can be up to 200 MB in size".
MAX_REQUESTS = 50_000
MAX_INPUT_BYTES = 200 * 1024**2
"""Per input file: 50,000 requests and 200 MB (openai-python ``batch_create_params.py`` docstring, read
2026-12; an earlier guide said 100 MB)."""
QUEUED = frozenset({"in_progress", "finalizing"})
TERMINAL = frozenset({"failed", "completed", "expired", "cancelled"})
ORG = "org-ftclient-emulator"


def public(obj: dict[str, Any]) -> dict[str, Any]:
    """The batch as the live API shows it: every unset timestamp, ``errors``, ``output_file_id`` and
    ``error_file_id`` as an explicit null (real-payloads batch-1/2), which the spec's types do not allow."""
    return dict(obj)


class Batches:
    def __init__(self, app: OpenAIApp) -> None:
        self.app = app
        self.store = app.store

    def register(self, router: Router) -> None:
        router.add("POST", "/v1/batches", self.create)
        router.add("GET", "/v1/batches", self.list_all)
        router.add("GET", "/v1/batches/{batch_id}", self.retrieve)
        router.add("POST", "/v1/batches/{batch_id}/cancel", self.cancel)

    def create(self, request: Request) -> Response:
        body = request.json()
        for name in ("input_file_id", "endpoint", "completion_window"):
            if not body.get(name):
                raise ApiError(
                    400, f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter"
                )
        if body["endpoint"] not in ENDPOINTS:
            raise ApiError(
                400,
                f"The emulator runs batches for {', '.join(ENDPOINTS)}; not {body['endpoint']!r}.",
                param="endpoint",
            )
        if body["completion_window"] != "24h":
            raise ApiError(400, "Invalid 'completion_window': only '24h' is supported.", param="completion_window")
        file_obj = self.app.files.get(str(body["input_file_id"]), "input_file_id")
        if file_obj["purpose"] != "batch":
            raise ApiError(
                400,
                f"File {file_obj['id']} has purpose {file_obj['purpose']!r}; a batch input file needs purpose 'batch'.",
                param="input_file_id",
            )
        if int(file_obj["bytes"]) > MAX_INPUT_BYTES:
            raise ApiError(
                400,
                f"File {file_obj['id']} is {file_obj['bytes']} bytes; a batch input file may be at most 200 MB "
                f"({MAX_INPUT_BYTES} bytes).",
                param="input_file_id",
                code="invalid_request",
            )
        now = int(self.app.now())
        obj: dict[str, Any] = {
            "id": self.store.new_id("batch_"),
            "object": "batch",
            "endpoint": body["endpoint"],
            "errors": None,
            "input_file_id": file_obj["id"],
            "completion_window": "24h",
            "status": "validating",
            "output_file_id": None,
            "error_file_id": None,
            "created_at": now,
            "in_progress_at": None,
            "expires_at": now + 24 * 3600,
            "finalizing_at": None,
            "completed_at": None,
            "failed_at": None,
            "expired_at": None,
            "cancelling_at": None,
            "cancelled_at": None,
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "metadata": body.get("metadata"),
        }
        batch = BatchState(obj=obj, phase_at=now)
        with self.store.lock:
            self.store.batches[obj["id"]] = batch
        self.app.changed()
        return json_response(public(obj))

    def get(self, batch_id: str) -> BatchState:
        with self.store.lock:
            batch = self.store.batches.get(batch_id)
            if batch is None:
                raise not_found("batch", batch_id, "batch_id")
            before = batch.obj["status"]
            self._advance(batch, self.app.now())
            if batch.obj["status"] != before:
                self.app.changed()
            return batch

    def list_all(self, request: Request) -> Response:
        with self.store.lock:
            items = [public(self.get(batch_id).obj) for batch_id in self.store.batches]
        items.sort(key=lambda b: (b["created_at"], b["id"]), reverse=True)
        return json_response(paginate(items, request, default_limit=20, max_limit=100, empty_id=""))

    def retrieve(self, request: Request) -> Response:
        return json_response(public(self.get(request.params["batch_id"]).obj))

    def cancel(self, request: Request) -> Response:
        with self.store.lock:
            batch = self.get(request.params["batch_id"])
            if batch.obj["status"] in TERMINAL or batch.obj["status"] == "cancelling":
                raise ApiError(409, f"Cannot cancel a batch that is {batch.obj['status']}.")
            now = self.app.now()
            batch.obj.update(status="cancelling", cancelling_at=int(now))
            batch.phase_at = now
        self.app.changed()
        return json_response(public(batch.obj))

    # -- lifecycle -------------------------------------------------------------------------------
    def _advance(self, batch: BatchState, now: float) -> None:
        obj = batch.obj
        while obj["status"] not in TERMINAL:
            status = obj["status"]
            if status == "validating":
                at = batch.phase_at + VALIDATING_S
                if now < at:
                    return
                lines, errors = self._read_input(obj)
                if errors:
                    obj.update(status="failed", failed_at=int(at), errors={"object": "list", "data": errors})
                    return
                refusal = self._enqueue(batch, lines, now)
                if refusal is not None:
                    obj.update(status="failed", failed_at=int(at), errors={"object": "list", "data": [refusal]})
                    return
                obj.update(status="in_progress", in_progress_at=int(at))
                obj["request_counts"]["total"] = len(lines)
                batch.phase_at = at
            elif status == "in_progress":
                at = batch.phase_at + max(MIN_IN_PROGRESS_S, obj["request_counts"]["total"] * SECONDS_PER_REQUEST)
                if now < at:
                    return
                obj.update(status="finalizing", finalizing_at=int(at))
                batch.phase_at = at
            elif status == "finalizing":
                at = batch.phase_at + FINALIZING_S
                if now < at:
                    return
                self._run(obj)
                obj.update(status="completed", completed_at=int(at))
            elif status == "cancelling":
                at = batch.phase_at + CANCELLING_S
                if now < at:
                    return
                obj.update(status="cancelled", cancelled_at=int(at))

    def _enqueue(self, batch: BatchState, lines: list[dict[str, Any]], now: float) -> dict[str, Any] | None:
        """Admit the batch to its model's queue, or the error of a batch over the enqueued-token limit.

        OpenAI limits the prompt tokens a model may have waiting in batches (per organisation and model,
        shown in the account's limits; research/evaluation.md A2). The emulator's limit is
        ``EmulatorConfig.batch_queue_tokens`` (None: no limit). Other batches are brought up to date
        first, so tokens of batches that have finished by now are free again."""
        from ftclient.emulator.openai import accounting, catalog

        encoding = accounting.encoding(catalog.O200K)
        body = lines[0].get("body") if lines else None
        batch.model = str(body.get("model") or "") if isinstance(body, dict) else ""
        batch.enqueued_tokens = sum(
            len(encoding.encode(str(m.get("content") or ""), disallowed_special=()))
            for line in lines
            if isinstance(line.get("body"), dict)
            for m in line["body"].get("messages") or []
            if isinstance(m, dict)
        )
        limit = self.app.services.config.batch_queue_tokens
        if limit is None:
            return None
        queued = 0
        for other in self.store.batches.values():
            if other is batch or other.model != batch.model or other.obj["status"] not in QUEUED:
                continue
            self._advance(other, now)  # in_progress/finalizing only: no recursion into validation
            if other.obj["status"] in QUEUED:
                queued += other.enqueued_tokens
        if queued + batch.enqueued_tokens <= limit:
            return None
        self.app.services.stats.bump("batches_over_token_limit")
        return _line_error(
            "token_limit_exceeded",
            f"Enqueued token limit reached for {batch.model} in organization {ORG}. Limit: {limit:,} enqueued "
            "tokens. Please try again once some in_progress batches have been completed.",
            None,
        )

    def _read_input(self, obj: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        data = self.store.content(obj["input_file_id"])
        lines: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        seen: set[str] = set()
        for number, raw in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
            except ValueError:
                errors.append(_line_error("invalid_json_line", f"Line {number} is not valid JSON.", number))
                continue
            if not isinstance(line, dict) or not isinstance(line.get("custom_id"), str):
                errors.append(_line_error("missing_required_parameter", "Missing 'custom_id'.", number, "custom_id"))
                continue
            if line["custom_id"] in seen:
                errors.append(
                    _line_error(
                        "duplicate_custom_id",
                        f"The custom_id {line['custom_id']!r} appears more than once.",
                        number,
                        "custom_id",
                    )
                )
            seen.add(line["custom_id"])
            if line.get("url") != obj["endpoint"]:
                errors.append(
                    _line_error(
                        "mismatched_endpoint",
                        f"Line {number} has url {line.get('url')!r}, but the batch endpoint is {obj['endpoint']!r}.",
                        number,
                        "url",
                    )
                )
            if line.get("method") != "POST":
                errors.append(_line_error("invalid_method", f"Line {number}: method must be 'POST'.", number, "method"))
            if not isinstance(line.get("body"), dict):
                errors.append(_line_error("missing_required_parameter", "Missing 'body'.", number, "body"))
            lines.append(line)
        if not lines and not errors:
            errors.append(_line_error("empty_file", "The input file has no requests.", None))
        if len(lines) > MAX_REQUESTS:
            errors.append(_line_error("too_many_requests", f"A batch holds at most {MAX_REQUESTS} requests.", None))
        return lines, errors

    def _run(self, obj: dict[str, Any]) -> None:
        lines, _ = self._read_input(obj)
        output: list[str] = []
        failed: list[str] = []
        for line in lines:
            request_id = f"req_{uuid.uuid4().hex}"
            try:
                if obj["endpoint"] == "/v1/chat/completions":
                    body, _ = self.app.chat.complete(line["body"], rate_limited=False)
                else:
                    body = self.app.moderations.moderate(line["body"])
                status = 200
            except ApiError as exc:
                body, status = exc.body(), exc.status
            record = {
                "id": self.store.new_id("batch_req_"),
                "custom_id": line["custom_id"],
                "response": {"status_code": status, "request_id": request_id, "body": body},
                "error": None,
            }
            (output if status == 200 else failed).append(json.dumps(record, ensure_ascii=False))
        counts = obj["request_counts"]
        counts.update(completed=len(output), failed=len(failed))
        if output:
            obj["output_file_id"] = self.app.files.new_file(
                f"{obj['id']}_output.jsonl", "batch_output", ("\n".join(output) + "\n").encode(), processed=True
            )["id"]
        if failed:
            obj["error_file_id"] = self.app.files.new_file(
                f"{obj['id']}_error.jsonl", "batch_output", ("\n".join(failed) + "\n").encode(), processed=True
            )["id"]


def _line_error(code: str, message: str, line: int | None, param: str | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "param": param, "line": line}
