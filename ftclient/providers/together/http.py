"""Every Together request goes through this one place for credentials, retries and error mapping, so the
API key is scrubbed and transient failures are retried the same way whichever part of the API is called.
"""

from __future__ import annotations

import contextlib
import importlib
import time
from collections.abc import Callable
from typing import Any

import httpx2

from ftclient._version import __version__
from ftclient.errors import AuthError, ProviderError, ProviderUnavailable
from ftclient.providers.credentials import checked_api_key
from ftclient.providers.headers import retry_after_seconds
from ftclient.providers.retries import Hints, RetryLayer, scrub, status_error, unreachable

DEFAULT_BASE_URL = "https://api.together.ai/v1"
HINTS = Hints(
    auth="check TOGETHER_API_KEY (a key from api.together.ai/settings)",
    permission="this key's account may not do this (credits, plan)",
    unavailable="Together is having trouble; run the same command again later",
)


class TogetherHTTP:
    """Authenticated calls to Together's API, with its errors turned into ftclient's.

    The key is sent as a bearer token, never stored, logged or echoed, and scrubbed from every error
    message whatever the server put there.

    Retries: ``_send`` is the one retry layer for ordinary calls: 5xx, 429 and dropped connections are tried
    again up to ``max_retries`` times, pausing as ``retry-after-ms``/``retry-after`` say (else
    ``retry_backoff_s`` doubling up to 8 s). Calls that must not be resent pass ``retry=False``.
    """

    name = "together"

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None,
        max_retries: int,
        timeout_s: float,
        retry_backoff_s: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._api_key = api_key
        self.endpoint = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.max_retries = max(0, max_retries)
        self.timeout_s = timeout_s
        self.retry_backoff_s = max(0.0, retry_backoff_s)
        self._sleep = sleep
        self._sync: httpx2.Client | None = None
        self._async: httpx2.AsyncClient | None = None

    @property
    def is_official(self) -> bool:
        return self.endpoint in {DEFAULT_BASE_URL, "https://api.together.xyz/v1"}

    # -- clients ---------------------------------------------------------------------------------

    def _key(self) -> str:
        if not self._api_key:
            raise AuthError(
                "no Together API key: TOGETHER_API_KEY is not set",
                provider=self.name,
                hint="export TOGETHER_API_KEY=... (ftclient reads it from the environment and never stores it)",
            )
        return checked_api_key(self._api_key, "TOGETHER_API_KEY", provider=self.name)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._key()}", "User-Agent": f"ftclient/{__version__}"}

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

    # -- errors and the retry layer --------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        return scrub(text, self._api_key)

    def _send_once(self, what: str, method: str, path: str, **kwargs: Any) -> httpx2.Response:
        url = path if path.startswith("http") else f"{self.endpoint}{path}"
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
                base_url_var="TOGETHER_BASE_URL",
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
        code, detail = _error_body(response)
        return status_error(
            f"{what}: {self._scrub(detail)} (HTTP {response.status_code})",
            provider=self.name,
            status=response.status_code,
            code=code,
            request_id=request_id(response) or _body_request_id(response),
            retry_after_s=retry_after_seconds(response.headers),
            hints=HINTS,
            endpoint=self.endpoint,
            base_url_var="TOGETHER_BASE_URL",
        )


def request_id(response: httpx2.Response) -> str | None:
    for name in ("x-request-id", "x-together-request-id", "cf-ray"):
        value = response.headers.get(name)
        if value:
            return value
    return None


def _body_request_id(response: httpx2.Response) -> str | None:
    """The live API's error envelope names the request beside ``error``: ``{"id": "...", "error": {...}}``
    (real-payloads/together/error-*)."""
    try:
        body = response.json()
    except ValueError:
        return None
    found = body.get("id") if isinstance(body, dict) else None
    return str(found) if isinstance(found, str) and found else None


def _error_body(response: httpx2.Response) -> tuple[str | None, str]:
    """(code, message) from ``{"error": {"message", "type", "code"}}`` or ``{"message": ...}``."""
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


def _transport(factory: str) -> Any:
    """ftclient's recording transport when ``FTCLIENT_RECORD`` is set and the recorder is installed."""
    try:
        module = importlib.import_module("ftclient.providers.recording")
    except ImportError:
        return None
    make = getattr(module, factory, None)
    return make() if make is not None else None
