"""Every response body captured from the live OpenAI API (``../shared/real-payloads/openai``) goes through the
OpenAI adapter, over loopback HTTP, into ftclient's own types without an error.

The bodies differ from the spec in ways the adapter must survive (see INDEX.md there): status ``created``,
no ``error`` key or ``error: {}``, no ``seed``, ``data: null`` on events, ``expires_at: null`` on files,
explicit nulls all over batches, ``hyperparameters`` with only ``n_epochs``, keys the spec lacks. Skips
when the shared folder is absent (set FTCLIENT_SHARED_DIR to point at it elsewhere).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from conftest import SHARED

from ftclient.errors import ProviderError, RateLimitError, RemoteNotFoundError
from ftclient.providers.base import BatchInfo, Checkpoint, JobEvent, JobInfo, RemoteFile
from ftclient.providers.openai import OpenAIProvider
from ftclient.providers.openai.wire import ModelInfo

PAYLOADS = SHARED / "real-payloads" / "openai"
FILES = sorted(PAYLOADS.glob("*.json")) if PAYLOADS.is_dir() else []
pytestmark = pytest.mark.skipif(not FILES, reason="../shared/real-payloads is not present")


class _Canned(BaseHTTPRequestHandler):
    """Answers every request with the one captured response."""

    status: ClassVar[int] = 200
    body: ClassVar[Any] = {}

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = self.body
        if "after=" in self.path and isinstance(body, dict) and body.get("has_more"):
            body = {"object": "list", "data": [], "has_more": False}  # the captured page was the last one kept
        data = json.dumps(body).encode()
        self.send_response(self.status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Canned)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _read(adapter: OpenAIProvider, endpoint: str, body: Any) -> Any:
    """Call the adapter method that reads ``endpoint``."""
    path = endpoint.split(" ", 2)[1].split("?", 1)[0]
    if path.endswith("/events"):
        return adapter.list_events("ftjob-x")
    if path.endswith("/checkpoints"):
        return adapter.list_checkpoints("ftjob-x")
    if path.startswith("/v1/fine_tuning/jobs") and endpoint.startswith("GET") and path == "/v1/fine_tuning/jobs":
        return adapter.list_jobs()
    if path.startswith("/v1/fine_tuning/jobs"):
        return adapter.get_job("ftjob-x")
    if path.startswith("/v1/batches"):
        return adapter.get_batch("batch_x")
    if path.startswith("/v1/models"):
        return adapter.list_models()
    if endpoint.startswith("DELETE /v1/files"):
        return adapter.delete_file("file-x")
    if path == "/v1/files" and endpoint.startswith("GET"):
        return adapter.find_files(str(body["data"][0]["filename"]), purpose="fine-tune")
    if path.startswith(("/v1/files", "/v1/fine-tunes")):
        return adapter.get_file("file-x")
    if path.startswith("/v1/chat/completions"):
        return adapter.get_job("ftjob-x")  # any read shows how the error envelope translates
    raise AssertionError(f"no adapter call for {endpoint}")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_the_adapter_reads_every_captured_payload(server: str, path: Path) -> None:
    captured = json.loads(path.read_text(encoding="utf-8"))
    body = captured["body"]
    if "one element of data[]" in captured["endpoint"]:
        body = {"object": "list", "data": [body], "has_more": False}
    _Canned.status, _Canned.body = int(captured["status_code"]), body
    adapter = OpenAIProvider(api_key="sk-test-payloads", base_url=server, max_retries=0)
    try:
        if captured["status_code"] >= 400:
            with pytest.raises(ProviderError) as info:
                _read(adapter, captured["endpoint"], body)
            assert body["error"]["message"][:40] in info.value.message
            if captured["status_code"] == 429:
                assert isinstance(info.value, RateLimitError) and info.value.code == body["error"]["code"]
            if captured["status_code"] == 404:
                assert isinstance(info.value, RemoteNotFoundError)
            return
        result = _read(adapter, captured["endpoint"], body)
    finally:
        adapter.close()
    _check(result, body)


def _check(result: Any, body: Any) -> None:
    """The typed result says what the body said."""
    if isinstance(result, JobInfo):
        assert result.id == body["id"] and result.raw_status == body["status"]
        assert result.status == (body["status"] if body["status"] != "created" else "unknown")
        assert (result.error_code is not None) == (body["status"] == "failed")
        for key in ("usage_metrics", "shared_with_openai", "eval_id"):
            if key in body:
                assert key in result.extra
    elif isinstance(result, BatchInfo):
        assert result.id == body["id"] and result.status == body["status"]
        assert result.output_file is None and result.total == body["request_counts"]["total"]
    elif isinstance(result, RemoteFile):
        assert result.id == body["id"] and result.status == body["status"]
    elif isinstance(result, bool):
        assert result is body["deleted"]
    elif isinstance(result, list):
        assert len(result) == len(body["data"]) or (result and isinstance(result[0], RemoteFile))
        for item in result:
            assert isinstance(item, JobInfo | JobEvent | Checkpoint | RemoteFile | ModelInfo)
        if result and isinstance(result[0], JobEvent):
            assert {e.id for e in result} == {e["id"] for e in body["data"]}
            assert all(isinstance(e.data, dict) for e in result)  # data: null reads as {}
        if result and isinstance(result[0], ModelInfo):
            tuned = [m for m in result if m.id.startswith("ft:")]
            assert tuned and all(m.shutdown_date is None for m in result)
    else:
        raise AssertionError(f"unexpected result {result!r}")
