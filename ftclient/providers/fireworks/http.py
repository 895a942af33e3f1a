"""Every Fireworks request goes through this one place for credentials, the account, retries and error
mapping, so the API key is scrubbed and transient failures are retried the same way in every part of the API.

Fireworks' control plane ("Gateway REST API") is account-scoped: ``{base}/v1/accounts/{account}/...``; its
OpenAI-compatible inference lives under ``{base}/inference/v1``. ``FIREWORKS_BASE_URL`` replaces ``{base}``
(the emulator, a proxy), as in Fireworks' own SDK (fireworks-ai 1.2.3, ``_client.py``).
"""

from __future__ import annotations

import contextlib
import importlib
import time
from collections.abc import Callable
from typing import Any

import httpx2

from ftclient._version import __version__
from ftclient.errors import AuthError, InvalidRequestError, ProviderError, ProviderUnavailable
from ftclient.providers.headers import retry_after_seconds
from ftclient.providers.retries import Hints, RetryLayer, scrub, status_error, unreachable

DEFAULT_BASE_URL = "https://api.fireworks.ai"
HINTS = Hints(
    auth="check FIREWORKS_API_KEY (a key from fireworks.ai/account/api-keys)",
    permission="this key's account may not do this (FIREWORKS_ACCOUNT_ID, plan, spend limit)",
    unavailable="Fireworks is having trouble; run the same command again later",
)
# google.rpc codes as numbers (the error body's ``code``) -> their names, for messages and error codes.
RPC_CODES = {
    3: "INVALID_ARGUMENT",
    5: "NOT_FOUND",
    6: "ALREADY_EXISTS",
    7: "PERMISSION_DENIED",
    8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION",
    10: "ABORTED",
    13: "INTERNAL",
    14: "UNAVAILABLE",
    16: "UNAUTHENTICATED",
}


class FireworksHTTP:
    """Authenticated calls to one Fireworks account, with its errors turned into ftclient's.

    The key is sent as a bearer token, never stored, logged or echoed, and scrubbed from every error
    message. ``_send`` is the one retry layer for ordinary calls (5xx, 429, dropped connections, up to
    ``max_retries`` times, pausing as ``retry-after`` says); calls that must not be resent pass ``retry=False``.
    """

    name = "fireworks"

    def __init__(
        self,
        *,
        api_key: str | None,
        account_id: str | None,
        base_url: str | None,
        max_retries: int,
        timeout_s: float,
        retry_backoff_s: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._api_key = api_key
        self._account_id = account_id
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/").removesuffix("/v1")
        self.endpoint = f"{self.base_url}/v1/accounts/{account_id or '<FIREWORKS_ACCOUNT_ID>'}"
        """The account's API root: registry records (uploads, jobs) are kept apart per account."""
        self.inference_url = f"{self.base_url}/inference/v1"
        self.max_retries = max(0, max_retries)
        self.timeout_s = timeout_s
        self.retry_backoff_s = max(0.0, retry_backoff_s)
        self._sleep = sleep
        self._sync: httpx2.Client | None = None
        self._async: httpx2.AsyncClient | None = None

    @property
    def account(self) -> str:
        if not self._account_id:
            raise InvalidRequestError(
                "no Fireworks account: FIREWORKS_ACCOUNT_ID is not set",
                provider=self.name,
                hint="export FIREWORKS_ACCOUNT_ID=<your account id> (shown by `firectl whoami` and in the console)",
            )
        return self._account_id

    def resource(self, collection: str, ident: str) -> str:
        """``accounts/<account>/<collection>/<id>``; a full resource name is returned as it is."""
        return ident if ident.startswith("accounts/") else f"accounts/{self.account}/{collection}/{ident}"

    # -- clients ---------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        if not self._api_key:
            raise AuthError(
                "no Fireworks API key: FIREWORKS_API_KEY is not set",
                provider=self.name,
                hint="export FIREWORKS_API_KEY=... (ftclient reads it from the environment and never stores it)",
            )
        return {"Authorization": f"Bearer {self._api_key}", "User-Agent": f"ftclient/{__version__}"}

    def _client(self) -> httpx2.Client:
        if self._sync is None:
            self._sync = httpx2.Client(timeout=self.timeout_s, transport=_transport("recording_transport"))
        return self._sync

    def _aclient(self) -> httpx2.AsyncClient:
        if self._async is None:
            self._async = httpx2.AsyncClient(timeout=self.timeout_s, transport=_transport("async_recording_transport"))
        return self._async

    def close(self) -> None:
        if self._sync is not None:
            self._sync.close()
            self._sync = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    async def aclose(self) -> None:
        if self._async is not None:
            await self._async.aclose()
            self._async = None

    # -- requests --------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        if path.startswith("http"):
            return path
        return f"{self.base_url}/v1/accounts/{self.account}{path}"

    def _send_once(self, what: str, method: str, path: str, **kwargs: Any) -> httpx2.Response:
        url = self._url(path)
        headers = {**self._headers(), **kwargs.pop("headers", {})}
        try:
            response = self._client().request(method, url, headers=headers, **kwargs)
        except httpx2.TransportError as exc:
            raise unreachable(
                what,
                self.base_url,
                provider=self.name,
                timeout_s=self.timeout_s,
                timed_out=isinstance(exc, httpx2.TimeoutException),
                cause=type(exc).__name__,
                base_url_var="FIREWORKS_BASE_URL",
            ) from exc
        if response.status_code >= 400:
            raise self._status_error(response, what)
        return response

    def _send(self, what: str, method: str, path: str, *, retry: bool = True, **kwargs: Any) -> httpx2.Response:
        if not retry:
            return self._send_once(what, method, path, **kwargs)
        return self._retrying(lambda: self._send_once(what, method, path, **kwargs))

    def _retrying(self, call: Callable[[], httpx2.Response]) -> httpx2.Response:
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
        code, detail = error_body(response)
        return status_error(
            f"{what}: {scrub(detail, self._api_key)} (HTTP {response.status_code})",
            provider=self.name,
            status=response.status_code,
            code=code,
            request_id=request_id(response),
            retry_after_s=retry_after_seconds(response.headers),
            hints=HINTS,
        )


def is_conflict(error: ProviderError) -> bool:
    """409 ALREADY_EXISTS: a resource with the id ftclient chose is there already (an earlier try got through)."""
    return error.status == 409 or error.code == "ALREADY_EXISTS"


def request_id(response: httpx2.Response) -> str | None:
    for name in ("x-request-id", "fireworks-request-id", "cf-ray"):
        value = response.headers.get(name)
        if value:
            return value
    return None


def error_body(response: httpx2.Response) -> tuple[str | None, str]:
    """(code, message) from google.rpc ``{"code": 3, "message": ...}`` (the control plane) or OpenAI's
    ``{"error": {"message", "code"}}`` (inference)."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return None, text[:300] or response.reason_phrase or f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return None, str(body)[:300]
    inner = body.get("error", body)
    if isinstance(inner, str):
        return None, inner
    if not isinstance(inner, dict):
        return None, str(body)[:300]
    code = inner.get("code") if inner.get("code") is not None else inner.get("type")
    if isinstance(code, int):
        code = RPC_CODES.get(code, str(code))
    return (str(code) if code else None), str(inner.get("message") or body)


def _transport(factory: str) -> Any:
    """ftclient's recording transport when ``FTCLIENT_RECORD`` is set and the recorder is installed."""
    try:
        module = importlib.import_module("ftclient.providers.recording")
    except ImportError:
        return None
    make = getattr(module, factory, None)
    return make() if make is not None else None
