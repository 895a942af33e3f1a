"""A strict replay server: serves a recorded cassette's responses, in order, on loopback.

Each incoming request must be the next one in the cassette (same method and path, same query
parameters). Anything else is answered with a 400 naming what was expected, and remembered: leaving the
``with`` block raises ``ReplayError`` listing every unexpected request and every interaction that was
never asked for, so a test cannot pass by swallowing the error.

    with ReplayServer("fixtures/cassettes/openai-finetune-flow.json") as replay:
        client = openai.OpenAI(base_url=replay.base_url, api_key="sk-test")
        ...
"""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit


class ReplayError(AssertionError):
    """The traffic did not match the cassette."""


def load_cassette(source: str | Path | dict[str, Any]) -> dict[str, Any]:
    if isinstance(source, dict):
        return source
    document = json.loads(Path(source).read_text(encoding="utf-8"))
    if not isinstance(document, dict) or not isinstance(document.get("interactions"), list):
        raise ValueError(f"{source} is not a cassette (no 'interactions' list)")
    return document


def _describe(request: dict[str, Any]) -> str:
    query = f"?{request['query']}" if request.get("query") else ""
    return f"{request['method']} {request['path']}{query}"


def _body_bytes(body: dict[str, Any]) -> bytes:
    if "json" in body:
        return json.dumps(body["json"], ensure_ascii=False).encode("utf-8")
    if "text" in body:
        return str(body["text"]).encode("utf-8")
    if "base64" in body:
        return base64.b64decode(body["base64"])
    return b""


class ReplayServer:
    def __init__(self, cassette: str | Path | dict[str, Any], *, host: str = "127.0.0.1", port: int = 0,
                 match_query: bool = True) -> None:
        self.name = str(cassette) if not isinstance(cassette, dict) else "<cassette>"
        self.interactions: list[dict[str, Any]] = list(load_cassette(cassette)["interactions"])
        self.match_query = match_query
        self.position = 0
        self.problems: list[str] = []
        self._lock = threading.Lock()
        handler = type("ReplayHandler", (_ReplayHandler,), {"replay": self})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self.url = f"http://{host}:{self._server.server_address[1]}"
        self.base_url = f"{self.url}/v1"
        self._thread: threading.Thread | None = None

    def __enter__(self) -> ReplayServer:
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()
        if kind is None:
            self.verify()

    def close(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def verify(self) -> None:
        """Raise ReplayError if a request was unexpected or a recorded interaction was never used."""
        problems = list(self.problems)
        unused = self.interactions[self.position:]
        if unused:
            listed = "; ".join(f"#{self.position + i + 1} {_describe(x['request'])}" for i, x in enumerate(unused))
            problems.append(f"{len(unused)} recorded interaction(s) never requested: {listed}")
        if problems:
            raise ReplayError(f"replay of {self.name} failed:\n- " + "\n- ".join(problems))

    def answer(self, method: str, target: str) -> tuple[int, dict[str, str], bytes]:
        """The recorded response for this request, or a 400 saying what was expected instead."""
        parts = urlsplit(target)
        with self._lock:
            got = f"{method} {target}"
            if self.position >= len(self.interactions):
                last = _describe(self.interactions[-1]["request"]) if self.interactions else "nothing"
                message = (f"unexpected request {got}: all {len(self.interactions)} recorded interaction(s) were "
                           f"already served (the last was {last}); expected no more requests")
                return self._refuse(message)
            recorded = self.interactions[self.position]
            expected = recorded["request"]
            same = expected["method"] == method and expected["path"] == parts.path
            if same and self.match_query:
                same = parse_qs(expected.get("query") or "") == parse_qs(parts.query)
            if not same:
                message = (f"unexpected request {got}: expected interaction #{self.position + 1} of "
                           f"{len(self.interactions)}, {_describe(expected)}")
                return self._refuse(message)
            self.position += 1
        response = recorded["response"]
        return int(response["status"]), dict(response.get("headers") or {}), _body_bytes(response.get("body") or {})

    def _refuse(self, message: str) -> tuple[int, dict[str, str], bytes]:
        self.problems.append(message)
        body = {"error": {"message": f"ftclient replay: {message}", "type": "replay_mismatch", "param": None,
                          "code": "replay_mismatch"}}
        return 400, {"content-type": "application/json"}, json.dumps(body).encode("utf-8")


class _ReplayHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave in separate writes; no 40 ms delayed-ACK stall
    server_version = "ftclient-replay"
    sys_version = ""
    replay: ReplayServer

    def log_message(self, format: str, *args: Any) -> None:  # what was served is in ReplayServer.position
        return

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        self._read_body()
        status, headers, body = self.replay.answer(self.command, self.path)
        self.send_response(status)
        headers.setdefault("content-type", "application/json")
        for name, value in headers.items():
            if name.lower() not in {"content-length", "transfer-encoding", "content-encoding"}:
                self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _serve
