"""What the plain-HTTP adapters (Together, Fireworks) share: the clients, the one retry layer of a call path,
and HTTP failures turned into ftclient errors with the API key scrubbed.

A subclass names its provider (``name``, ``hints``, ``base_url_var``), says where a path goes (``_url``) and
how to authenticate (``_headers``), and may read its own error bodies (``error_body``).
"""

from __future__ import annotations

import contextlib
import importlib
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx2

from ftclient.errors import ProviderError, ProviderUnavailable
from ftclient.providers.base import ChatRequest, ChatResult, RateLimitState
from ftclient.providers.credentials import without_userinfo
from ftclient.providers.headers import retry_after_seconds
from ftclient.providers.retries import Hints, RetryLayer, scrub, status_error, unreachable

REQUEST_ID_HEADERS = ("x-request-id", "x-together-request-id", "fireworks-request-id", "cf-ray")


class RestHTTP:
    """Authenticated calls with one retry layer: ``_send`` retries 5xx, 429 and dropped connections up to
    ``max_retries`` times, pausing as ``retry-after``/``retry-after-ms`` say (else ``retry_backoff_s``
    doubling up to 8 s); calls that must not be resent pass ``retry=False``. The key never reaches a
    message: every error text is scrubbed of it."""

    name = "provider"
    hints = Hints(auth="check the API key", permission="this key may not do this", unavailable="try again later")
    base_url_var = "the base URL"
    endpoint: str

    def __init__(
        self,
        *,
        api_key: str | None,
        max_retries: int,
        timeout_s: float,
        retry_backoff_s: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._api_key = api_key
        self.max_retries = max(0, max_retries)
        self.timeout_s = timeout_s
        self.retry_backoff_s = max(0.0, retry_backoff_s)
        self._sleep = sleep
        self._sync: httpx2.Client | None = None
        self._async: httpx2.AsyncClient | None = None

    # -- what a subclass decides -----------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        raise NotImplementedError

    def _url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.endpoint}{path}"

    def error_body(self, response: httpx2.Response) -> tuple[str | None, str]:
        """(code, message) of an error answer: OpenAI's ``{"error": {"message", "type", "code"}}`` or a bare
        ``{"message": ...}``."""
        try:
            body = response.json()
        except ValueError:
            text = response.text.strip()
            return None, text[:300] or response.reason_phrase or f"HTTP {response.status_code}"
        if isinstance(body, dict):
            inner = body.get("error", body)
            if isinstance(inner, dict):
                code = inner.get("code") or inner.get("type")
                return (str(code) if code else None), str(inner.get("message") or body)
            if isinstance(inner, str):
                return None, inner
        return None, str(body)[:300]

    # -- clients ---------------------------------------------------------------------------------

    def _client(self) -> httpx2.Client:
        if self._sync is None:
            self._sync = httpx2.Client(
                timeout=self.timeout_s, follow_redirects=False, transport=_transport("recording_transport")
            )
        return self._sync

    def _aclient(self) -> httpx2.AsyncClient:
        if self._async is None:
            self._async = httpx2.AsyncClient(
                timeout=self.timeout_s, follow_redirects=False, transport=_transport("async_recording_transport")
            )
        return self._async

    def close(self) -> None:
        if self._sync is not None:
            self._sync.close()
            self._sync = None

    def __del__(self) -> None:
        # Handles that are simply dropped (a Job, a one-off command) still give their sockets back.
        with contextlib.suppress(Exception):
            self.close()

    async def aclose(self) -> None:
        if self._async is not None:
            await self._async.aclose()
            self._async = None

    # -- requests --------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        return scrub(text, self._api_key)

    def _send_once(self, what: str, method: str, path: str, **kwargs: Any) -> httpx2.Response:
        url = self._url(path)
        headers = {**self._headers(), **kwargs.pop("headers", {})}
        try:
            response = self._client().request(method, url, headers=headers, **kwargs)
        except httpx2.TransportError as exc:  # timeouts are transport errors too
            raise unreachable(
                what,
                self.endpoint,
                provider=self.name,
                timeout_s=self.timeout_s,
                timed_out=isinstance(exc, httpx2.TimeoutException),
                cause=type(exc).__name__,
                base_url_var=self.base_url_var,
            ) from exc
        if response.status_code >= 400:
            raise self._status_error(response, what)
        return response

    def _send(self, what: str, method: str, path: str, *, retry: bool = True, **kwargs: Any) -> httpx2.Response:
        if not retry:
            return self._send_once(what, method, path, **kwargs)
        return self._retrying(lambda: self._send_once(what, method, path, **kwargs))

    def _retrying(self, call: Callable[[], httpx2.Response]) -> httpx2.Response:
        """The one retry layer: ``call`` again on transient errors, at most ``max_retries`` more times."""
        return RetryLayer(self.max_retries, self.retry_backoff_s, self._sleep).run(call)

    def _json(self, what: str, method: str, path: str, *, retry: bool = True, **kwargs: Any) -> Any:
        response = self._send(what, method, path, retry=retry, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise ProviderUnavailable(
                f"{what}: the answer was not JSON (HTTP {response.status_code})",
                provider=self.name,
                status=response.status_code,
                request_id=request_id(response),
                hint="the provider or a proxy in between answered oddly; run the same command again",
            ) from exc

    def _status_error(self, response: httpx2.Response, what: str) -> ProviderError:
        code, detail = self.error_body(response)
        return status_error(
            f"{what}: {self._scrub(detail)} (HTTP {response.status_code})",
            provider=self.name,
            status=response.status_code,
            code=code,
            request_id=request_id(response) or _body_request_id(response),
            retry_after_s=retry_after_seconds(response.headers),
            hints=self.hints,
            endpoint=self.endpoint,
            base_url_var=self.base_url_var,
        )


def request_id(response: httpx2.Response) -> str | None:
    for name in REQUEST_ID_HEADERS:
        value = response.headers.get(name)
        if value:
            return value
    return None


def _body_request_id(response: httpx2.Response) -> str | None:
    """Together's live error envelope names the request beside ``error``: ``{"id": "...", "error": {...}}``
    (real-payloads/together/error-*)."""
    try:
        body = response.json()
    except ValueError:
        return None
    found = body.get("id") if isinstance(body, dict) else None
    return str(found) if isinstance(found, str) and found else None


def _transport(factory: str) -> Any:
    """ftclient's recording transport when ``FTCLIENT_RECORD`` is set and the recorder is installed."""
    try:
        module = importlib.import_module("ftclient.providers.recording")
    except ImportError:
        return None
    make = getattr(module, factory, None)
    return make() if make is not None else None


async def post_chat(
    client: RestHTTP, url: str, request: ChatRequest, rate_limits: Callable[[Mapping[str, str]], RateLimitState]
) -> ChatResult:
    """One OpenAI-shaped chat completion from ``url``, with no retries of its own (the evaluation runner is
    the retry layer for chat)."""
    what = f"asking {request.model}"
    started = time.perf_counter()
    try:
        response = await client._aclient().post(url, json=request.body(), headers=client._headers())
    except httpx2.TimeoutException as exc:
        raise ProviderUnavailable(
            f"{what}: no answer within {client.timeout_s:.0f}s", provider=client.name, code="timeout"
        ) from exc
    except httpx2.TransportError as exc:
        raise ProviderUnavailable(
            f"{what}: cannot reach {without_userinfo(client.endpoint)} ({type(exc).__name__})",
            provider=client.name,
            code="connection",
        ) from exc
    latency = time.perf_counter() - started
    if response.status_code >= 400:
        raise client._status_error(response, what)
    data = response.json()
    choices = data.get("choices") or []
    choice = choices[0] if choices else {}
    usage = data.get("usage") or {}
    return ChatResult(
        text=str((choice.get("message") or {}).get("content") or ""),
        model=str(data.get("model") or request.model),
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        latency_s=latency,
        request_id=request_id(response),
        finish_reason=choice.get("finish_reason"),
        rate_limits=rate_limits(response.headers),
    )
