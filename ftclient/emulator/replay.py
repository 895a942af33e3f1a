"""A strict replay server: serves a recorded cassette's responses, in order, on loopback.

Each incoming request must be the next one in the cassette: same method and path, same query
parameters, and the same body where the cassette recorded one. Bodies are compared by meaning, not
bytes: JSON as parsed values (key order and spacing do not matter), multipart forms by their field
names, file names and a SHA-256 of each field's content (the boundary changes on every request), URL-
encoded forms as parsed fields, anything else by its SHA-256. A recorded string holding ``REDACTED``
(the recorder's placeholder for a secret) matches any text in its place. A request whose cassette entry
has ``"body": null`` (documentation examples, where nothing was ever sent) is matched without its body.

Anything else is answered with a 400 naming what was expected and where the body differs, and
remembered: leaving the ``with`` block raises ``ReplayError`` listing every unexpected request and every
interaction that was never asked for, so a test cannot pass by swallowing the error.

A recorded ``location`` header that points at another origin (a signed upload URL) is served pointing
at the replay server, path and query unchanged, so the client's follow-up request comes here too.

    with ReplayServer("fixtures/spec-examples/openai-finetune-flow.json") as replay:
        client = openai.OpenAI(base_url=replay.base_url, api_key="sk-test")
        ...
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

from ftclient.emulator.http import ApiError
from ftclient.emulator.multipart import parse_multipart


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


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def _same_text(recorded: str, sent: str) -> bool:
    if "REDACTED" not in recorded:
        return recorded == sent
    pattern = ".+?".join(re.escape(piece) for piece in recorded.split("REDACTED"))
    return re.fullmatch(pattern, sent, re.DOTALL) is not None


def json_difference(recorded: Any, sent: Any, where: str = "$") -> str | None:
    """The first place where ``sent`` differs from ``recorded``, said plainly; None when they agree."""
    if isinstance(recorded, dict) and isinstance(sent, dict):
        missing = [key for key in recorded if key not in sent]
        if missing:
            return f"{where}: field {missing[0]!r} was recorded but not sent"
        extra = [key for key in sent if key not in recorded]
        if extra:
            return f"{where}: field {extra[0]!r} was sent but not recorded (value {_short(sent[extra[0]])})"
        for key, value in recorded.items():
            found = json_difference(value, sent[key], f"{where}.{key}")
            if found:
                return found
        return None
    if isinstance(recorded, list) and isinstance(sent, list):
        if len(recorded) != len(sent):
            return f"{where}: {len(recorded)} item(s) recorded, {len(sent)} sent"
        for index, (left, right) in enumerate(zip(recorded, sent, strict=True)):
            found = json_difference(left, right, f"{where}[{index}]")
            if found:
                return found
        return None
    if isinstance(recorded, str) and isinstance(sent, str) and _same_text(recorded, sent):
        return None
    if type(recorded) is type(sent) and recorded == sent:
        return None
    if isinstance(recorded, int | float) and isinstance(sent, int | float) and not isinstance(sent, bool) \
            and not isinstance(recorded, bool) and recorded == sent:
        return None
    return f"{where}: recorded {_short(recorded)}, sent {_short(sent)}"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def body_difference(recorded: dict[str, Any] | None, content_type: str, body: bytes) -> str | None:
    """Where a request body differs from the recorded one (see the module docstring); None if it agrees."""
    if recorded is None:
        return None
    if not recorded:
        return f"no body was recorded, {len(body)} bytes were sent" if body else None
    if "json" in recorded:
        try:
            sent = json.loads(body)
        except ValueError:
            return f"a JSON body was recorded, the body sent is not JSON ({len(body)} bytes)"
        return json_difference(recorded["json"], sent)
    if "multipart" in recorded:
        return _multipart_difference(recorded["multipart"], content_type, body)
    if "form" in recorded:
        sent_form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        return json_difference(recorded["form"], sent_form, "form")
    if "sha256" in recorded:
        if _sha256(body) == recorded["sha256"]:
            return None
        return (f"the body's SHA-256 differs: recorded {recorded['sha256'][:12]}... ({recorded.get('bytes', '?')} "
                f"bytes), sent {_sha256(body)[:12]}... ({len(body)} bytes)")
    expected = _body_bytes(recorded)
    if "text" in recorded and _same_text(str(recorded["text"]), body.decode("utf-8", "replace")):
        return None
    return None if expected == body else f"the body differs: recorded {len(expected)} bytes, sent {len(body)}"


def _multipart_difference(recorded: list[dict[str, Any]], content_type: str, body: bytes) -> str | None:
    try:
        parts = parse_multipart(content_type, body)
    except ApiError as exc:
        return f"a multipart form was recorded, the body sent is not one ({exc.message})"
    recorded_names = [field["name"] for field in recorded]
    if sorted(recorded_names) != sorted(parts):
        return f"multipart fields recorded {sorted(recorded_names)}, sent {sorted(parts)}"
    for field in recorded:
        part = parts[field["name"]]
        if field.get("filename") != part.filename:
            return (f"multipart field {field['name']!r}: file name recorded {field.get('filename')!r}, "
                    f"sent {part.filename!r}")
        if field["sha256"] != _sha256(part.data):
            return (f"multipart field {field['name']!r}: content SHA-256 recorded {field['sha256'][:12]}... "
                    f"({field.get('bytes', '?')} bytes), sent {_sha256(part.data)[:12]}... ({len(part.data)} bytes)")
    return None


class ReplayServer:
    def __init__(self, cassette: str | Path | dict[str, Any], *, host: str = "127.0.0.1", port: int = 0,
                 match_query: bool = True) -> None:
        self.name = str(cassette) if not isinstance(cassette, dict) else "<cassette>"
        document = load_cassette(cassette)
        self.interactions: list[dict[str, Any]] = list(document["interactions"])
        self.rerecord = str(document.get("rerecord") or "")
        """How the cassette is made again, said when the traffic no longer matches it."""
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
            again = f"\nIf the change is intended, record the cassette again: {self.rerecord}" if self.rerecord else ""
            raise ReplayError(f"replay of {self.name} failed:\n- " + "\n- ".join(problems) + again)

    def answer(self, method: str, target: str, content_type: str = "", body: bytes = b"") -> tuple[
            int, dict[str, str], bytes]:
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
            difference = body_difference(expected.get("body"), content_type, body)
            if difference:
                message = (f"request body of {got} differs from interaction #{self.position + 1} of "
                           f"{len(self.interactions)}: {difference}")
                return self._refuse(message)
            self.position += 1
        response = recorded["response"]
        headers = dict(response.get("headers") or {})
        if "location" in headers:
            headers["location"] = self._here(headers["location"])
        return int(response["status"]), headers, _body_bytes(response.get("body") or {})

    def _here(self, location: str) -> str:
        """A recorded absolute URL with this server's origin (the client is to come back here)."""
        parts = urlsplit(location)
        if not parts.scheme:
            return location
        here = urlsplit(self.url)
        return urlunsplit((here.scheme, here.netloc, parts.path, parts.query, parts.fragment))

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
        sent = self._read_body()
        status, headers, body = self.replay.answer(self.command, self.path, self.headers.get("content-type", ""), sent)
        self.send_response(status)
        headers.setdefault("content-type", "application/json")
        for name, value in headers.items():
            if name.lower() not in {"content-length", "transfer-encoding", "content-encoding"}:
                self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _serve
