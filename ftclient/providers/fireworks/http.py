"""Every Fireworks request goes through this one place for credentials, the account, retries and error
mapping (the machinery is ``ftclient.providers.rest``; this module says what is Fireworks').

Fireworks' control plane ("Gateway REST API") is account-scoped: ``{base}/v1/accounts/{account}/...``; its
OpenAI-compatible inference lives under ``{base}/inference/v1``. ``FIREWORKS_BASE_URL`` replaces ``{base}``
(the emulator, a proxy), as in Fireworks' own SDK (fireworks-ai 1.2.3, ``_client.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx2

from ftclient._version import __version__
from ftclient.errors import AuthError, InvalidRequestError, ProviderError
from ftclient.providers.rest import RestHTTP, request_id
from ftclient.providers.retries import Hints

__all__ = ["DEFAULT_BASE_URL", "FireworksHTTP", "is_conflict", "request_id"]

DEFAULT_BASE_URL = "https://api.fireworks.ai"
HINTS = Hints(
    auth="check FIREWORKS_API_KEY (a key from fireworks.ai/account/api-keys)",
    permission="this key's account may not do this (FIREWORKS_ACCOUNT_ID, plan, spend limit)",
    unavailable="Fireworks is having trouble; run the same command again later",
)
# google.rpc codes as numbers (the control plane's error ``code``) -> their names, for ftclient's error codes.
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


class FireworksHTTP(RestHTTP):
    """Authenticated calls to one Fireworks account, with its errors turned into ftclient's."""

    name = "fireworks"
    hints = HINTS
    base_url_var = "FIREWORKS_BASE_URL"

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
        super().__init__(
            api_key=api_key, max_retries=max_retries, timeout_s=timeout_s, retry_backoff_s=retry_backoff_s, sleep=sleep
        )
        self._account_id = account_id
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/").removesuffix("/v1")
        self.endpoint = f"{self.base_url}/v1/accounts/{account_id or '<FIREWORKS_ACCOUNT_ID>'}"
        """The account's API root: registry records (uploads, jobs) are kept apart per account."""
        self.inference_url = f"{self.base_url}/inference/v1"

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

    def _headers(self) -> dict[str, str]:
        if not self._api_key:
            raise AuthError(
                "no Fireworks API key: FIREWORKS_API_KEY is not set",
                provider=self.name,
                hint="export FIREWORKS_API_KEY=... (ftclient reads it from the environment and never stores it)",
            )
        return {"Authorization": f"Bearer {self._api_key}", "User-Agent": f"ftclient/{__version__}"}

    def _url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base_url}/v1/accounts/{self.account}{path}"

    def error_body(self, response: httpx2.Response) -> tuple[str | None, str]:
        """google.rpc ``{"code": 3, "message": ...}`` (the control plane), else OpenAI's shape (inference)."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("code"), int) and "message" in body:
            number = int(body["code"])
            return RPC_CODES.get(number, str(number)), str(body["message"])
        return super().error_body(response)


def is_conflict(error: ProviderError) -> bool:
    """409 ALREADY_EXISTS: a resource with the id ftclient chose is there already (an earlier try got through)."""
    return error.status == 409 or error.code == "ALREADY_EXISTS"
