"""Record real provider traffic into a cassette, with every secret taken out.

When ``FTCLIENT_RECORD=<cassette path>`` is set, the provider adapters wrap their HTTP transport in a
``RecordingTransport``: each request and its response are appended to the cassette (a JSON file), which
the strict replay server (``ftclient.emulator.replay``) can later serve to tests that have no network.

What is kept is decided by allowlists, not blocklists: only the headers named below survive, and every
string in URLs and bodies goes through ``Scrubber``, which replaces the key, organisation and project
ids the client actually sent (and any other ``sk-``/``org-``/``proj_``/``Bearer``-looking token, and the
values of fields named like ``api_key`` or ``secret``) with fixed placeholders. Request ids become
``req_recorded_N``, the organisation's name in a tuned model's name (``ft:<base>:<organisation>:…``)
becomes ``REDACTED``, and the signature, credential and token parameters of signed URLs (a ``location``
redirect to storage, the upload that follows it) become ``REDACTED``.

Request bodies are stored so that the replay server can tell whether a later run sends the same thing:
JSON as (scrubbed) JSON; multipart forms as their fields, each with its file name, size and a SHA-256 of
its content (the boundary is random); URL-encoded forms as fields; anything else as text or base64 with
its SHA-256. A hash of the content is kept, never the secrets in it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx2

from ftclient._version import __version__

RECORD_ENV = "FTCLIENT_RECORD"
CASSETTE_FORMAT = "ftclient-cassette/1"

REQUEST_HEADERS = frozenset({"content-type", "accept", "openai-beta", "x-stainless-retry-count"})
RESPONSE_HEADERS = frozenset({
    "content-type",
    "location",
    "x-together-file-id",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "x-tokenlimit-limit",
    "x-tokenlimit-remaining",
    "openai-version",
    "openai-processing-ms",
    "retry-after",
    "retry-after-ms",
    "x-request-id",
    "x-ratelimit-limit-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-requests",
    "x-ratelimit-reset-tokens",
})
# Environment variables whose values are credentials or account ids wherever they appear.
SECRET_ENV = (
    "OPENAI_API_KEY", "OPENAI_ADMIN_KEY", "OPENAI_ORG_ID", "OPENAI_ORGANIZATION", "OPENAI_PROJECT_ID",
    "AZURE_OPENAI_API_KEY", "TOGETHER_API_KEY", "WANDB_API_KEY", "FIREWORKS_API_KEY", "FIREWORKS_ACCOUNT_ID",
)
# Request headers whose values are credentials or account ids (never stored; their values are scrubbed
# from everything else that is stored).
SECRET_HEADERS = ("authorization", "api-key", "openai-organization", "openai-project", "x-api-key")
_PATTERNS = (
    (re.compile(r"Bearer\s+[A-Za-z0-9._~+/=\-]+"), "Bearer REDACTED"),
    (re.compile(r"\bsk-[A-Za-z0-9_\-]{6,}"), "sk-REDACTED"),
    (re.compile(r"\borg-[A-Za-z0-9]{6,}"), "org-REDACTED"),
    (re.compile(r"\bproj_[A-Za-z0-9]{6,}"), "proj_REDACTED"),
    (re.compile(r"\btgp_v1_[A-Za-z0-9_\-]{6,}"), "tgp_v1_REDACTED"),
    (re.compile(r"\bfw_[A-Za-z0-9]{6,}"), "fw_REDACTED"),
    (re.compile(r"\beyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+"), "JWT-REDACTED"),
    # OpenAI's tuned model names carry the organisation's name: ft:<base>:<organisation>:<suffix>:<id>
    (re.compile(r"\b(ft:[A-Za-z0-9._\-]+:)[A-Za-z0-9_\-]+(?=:)"), r"\1REDACTED"),
)
# Query parameters of signed URLs (S3, GCS, the emulator's storage) that carry a signature or credential.
_SIGNED_PARAM = re.compile(r"(signature|credential|token|^sig$|key)", re.IGNORECASE)
_SECRET_FIELD = re.compile(r"(api[_-]?key|secret|password|token|authorization|credential)", re.IGNORECASE)
_SAFE_TOKEN_FIELDS = frozenset({
    "prompt_tokens", "completion_tokens", "total_tokens", "trained_tokens", "max_tokens", "max_completion_tokens",
    "cached_tokens", "reasoning_tokens", "audio_tokens", "accepted_prediction_tokens", "rejected_prediction_tokens",
    "input_tokens", "output_tokens", "top_logprobs", "token", "tokens", "ftclient_token",
    "estimatedTokenCount", "inputTokens", "outputTokens", "cachedInputTokenCount", "nextPageToken",
})


class Scrubber:
    """Replaces known secrets and anything shaped like a credential or account id."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = {s for s in secrets if s and len(s) >= 4}
        self._lock = threading.Lock()

    def learn(self, *values: str) -> None:
        with self._lock:
            self._secrets.update(v for v in values if v and len(v) >= 4)

    def text(self, value: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            value = value.replace(secret, "REDACTED")
        for pattern, placeholder in _PATTERNS:
            value = pattern.sub(placeholder, value)
        return value

    def query(self, query: str) -> str:
        """A query string with signature-like parameters replaced, the rest scrubbed as text."""
        if not query:
            return ""
        pairs = parse_qsl(query, keep_blank_values=True)
        return self.text(urlencode([(k, "REDACTED" if _SIGNED_PARAM.search(k) else v) for k, v in pairs]))

    def url(self, url: str) -> str:
        parts = urlsplit(url)
        return self.text(urlunsplit((parts.scheme, parts.netloc, parts.path, self.query(parts.query), "")))

    def data(self, value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: self.data(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.data(v, key) for v in value]
        if isinstance(value, str):
            if key and key not in _SAFE_TOKEN_FIELDS and _SECRET_FIELD.search(key):
                return "REDACTED"
            return self.text(value)
        return value


def _secrets_from_env() -> list[str]:
    return [os.environ[name] for name in SECRET_ENV if os.environ.get(name)]


class Cassette:
    """A cassette file being written: one interaction appended (and the file rewritten) per exchange.

    Transports recording into the same file share one ``Cassette`` (``Cassette.shared``): an adapter's
    sync and async clients each have a transport, and two writers of one file would overwrite each
    other's interactions and number request ids twice.
    """

    _open: ClassVar[dict[Path, Cassette]] = {}
    _open_lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def shared(cls, path: str | os.PathLike[str], secrets: Iterable[str] = ()) -> Cassette:
        """The cassette being written to ``path`` in this process (made on first use), knowing ``secrets``."""
        key = Path(path).resolve()
        with cls._open_lock:
            cassette = cls._open.get(key)
            if cassette is None or not cassette.path.exists():  # a new file, or one removed since
                cassette = cls._open[key] = cls(path)
        cassette.scrubber.learn(*_secrets_from_env(), *secrets)
        return cassette

    def __init__(self, path: str | os.PathLike[str], scrubber: Scrubber | None = None) -> None:
        self.path = Path(path)
        self.scrubber = scrubber or Scrubber(_secrets_from_env())
        self._lock = threading.Lock()
        self._interactions: list[dict[str, Any]] = []
        self._request_ids: dict[str, str] = {}
        if self.path.exists():
            existing = json.loads(self.path.read_text(encoding="utf-8"))
            self._interactions = list(existing.get("interactions", []))

    def record(self, request: httpx2.Request, status: int, headers: httpx2.Headers, body: bytes) -> None:
        for name in SECRET_HEADERS:
            value = request.headers.get(name)
            if value:
                self.scrubber.learn(value, value.removeprefix("Bearer ").strip())
        interaction = {
            "request": {
                "method": request.method,
                "path": self.scrubber.text(request.url.path),
                "query": self.scrubber.query(request.url.query.decode("ascii", "replace")),
                "headers": self._headers(request.headers, REQUEST_HEADERS),
                "body": self._request_body(request.content, request.headers.get("content-type", "")),
            },
            "response": {
                "status": status,
                "headers": self._headers(headers, RESPONSE_HEADERS),
                "body": self._body(body, headers.get("content-type", "")),
            },
        }
        with self._lock:
            self._interactions.append(interaction)
            self._write()

    def _headers(self, headers: httpx2.Headers, allowed: frozenset[str]) -> dict[str, str]:
        kept: dict[str, str] = {}
        for name, value in headers.items():
            lower = name.lower()
            if lower not in allowed:
                continue
            shown = value
            if lower == "x-request-id":
                shown = self._request_ids.setdefault(value, f"req_recorded_{len(self._request_ids) + 1}")
            kept[lower] = self.scrubber.url(shown) if lower == "location" else self.scrubber.text(shown)
        return kept

    def _request_body(self, content: bytes, content_type: str) -> dict[str, Any]:
        kind = content_type.split(";", maxsplit=1)[0].strip().lower()
        if content and kind == "multipart/form-data":
            fields = _multipart_fields(content, content_type)
            if fields is not None:
                return {"multipart": [self._field(*field) for field in fields]}
        if content and kind == "application/x-www-form-urlencoded":
            form: dict[str, list[str]] = {}
            for name, value in parse_qsl(content.decode("utf-8", "replace"), keep_blank_values=True):
                form.setdefault(name, []).append(value)
            return {"form": self.scrubber.data(form)}
        stored = self._body(content, content_type)
        if stored and "json" not in stored:
            stored.update(sha256=hashlib.sha256(content).hexdigest(), bytes=len(content))
        return stored

    def _field(self, name: str, filename: str | None, data: bytes) -> dict[str, Any]:
        field: dict[str, Any] = {"name": name}
        if filename is not None:
            field["filename"] = self.scrubber.text(filename)
        field.update(bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
        with contextlib.suppress(UnicodeDecodeError):
            field["text"] = self.scrubber.text(data.decode("utf-8"))
        return field

    def _body(self, content: bytes, content_type: str) -> dict[str, Any]:
        if not content:
            return {}
        if "json" in content_type:
            try:
                return {"json": self.scrubber.data(json.loads(content))}
            except ValueError:
                pass
        try:
            return {"text": self.scrubber.text(content.decode("utf-8"))}
        except UnicodeDecodeError:
            return {"base64": base64.b64encode(content).decode("ascii")}

    def _write(self) -> None:
        document = {
            "format": CASSETTE_FORMAT,
            "recorded_with": f"ftclient {__version__}",
            "recorded_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "interactions": self._interactions,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        tmp.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)


def _multipart_fields(content: bytes, content_type: str) -> list[tuple[str, str | None, bytes]] | None:
    """(name, file name, content) of each part of a multipart/form-data body; None if it is not one."""
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n"
                                                  + content)
    if not message.is_multipart():
        return None
    fields: list[tuple[str, str | None, bytes]] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            return None
        fields.append((name, part.get_filename(), payload))
    return fields


_DROPPED_ON_REBUILD = ("content-encoding", "content-length", "transfer-encoding")


def _rebuilt(response: httpx2.Response, body: bytes, request: httpx2.Request) -> httpx2.Response:
    """The response again, with its (already decoded) body in memory for the caller to read."""
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _DROPPED_ON_REBUILD]
    return httpx2.Response(response.status_code, headers=headers, content=body, request=request,
                           extensions=response.extensions)


class RecordingTransport(httpx2.BaseTransport):
    """Wraps a transport; every exchange through it is appended to ``cassette_path``."""

    def __init__(self, inner: httpx2.BaseTransport, cassette_path: str | os.PathLike[str],
                 *, secrets: Iterable[str] = ()) -> None:
        self._inner = inner
        self.cassette = Cassette.shared(cassette_path, secrets)

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        request.read()
        response = self._inner.handle_request(request)
        try:
            body = response.read()
        finally:
            response.close()
        self.cassette.record(request, response.status_code, response.headers, body)
        return _rebuilt(response, body, request)

    def close(self) -> None:
        self._inner.close()


class AsyncRecordingTransport(httpx2.AsyncBaseTransport):
    """The asyncio twin of ``RecordingTransport``."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, cassette_path: str | os.PathLike[str],
                 *, secrets: Iterable[str] = ()) -> None:
        self._inner = inner
        self.cassette = Cassette.shared(cassette_path, secrets)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        await request.aread()
        response = await self._inner.handle_async_request(request)
        try:
            body = await response.aread()
        finally:
            await response.aclose()
        self.cassette.record(request, response.status_code, response.headers, body)
        return _rebuilt(response, body, request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def cassette_path_from_env(environ: Mapping[str, str] | None = None) -> Path | None:
    value = (environ if environ is not None else os.environ).get(RECORD_ENV, "").strip()
    return Path(value) if value else None


def recording_transport(inner: httpx2.BaseTransport | None = None) -> RecordingTransport | None:
    """A recording transport when ``FTCLIENT_RECORD`` is set, else None (use the default transport)."""
    path = cassette_path_from_env()
    if path is None:
        return None
    return RecordingTransport(inner or httpx2.HTTPTransport(), path)


def async_recording_transport(inner: httpx2.AsyncBaseTransport | None = None) -> AsyncRecordingTransport | None:
    path = cassette_path_from_env()
    if path is None:
        return None
    return AsyncRecordingTransport(inner or httpx2.AsyncHTTPTransport(), path)
