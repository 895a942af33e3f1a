"""Every Together request goes through this one place for credentials, retries and error mapping, so the
API key is scrubbed and transient failures are retried the same way whichever part of the API is called
(the machinery is ``ftclient.providers.rest``; this module says what is Together's).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ftclient._version import __version__
from ftclient.errors import AuthError
from ftclient.providers.credentials import checked_api_key
from ftclient.providers.rest import RestHTTP, request_id
from ftclient.providers.retries import Hints

__all__ = ["DEFAULT_BASE_URL", "HINTS", "TogetherHTTP", "request_id"]

DEFAULT_BASE_URL = "https://api.together.ai/v1"
HINTS = Hints(
    auth="check TOGETHER_API_KEY (a key from api.together.ai/settings)",
    permission="this key's account may not do this (credits, plan)",
    unavailable="Together is having trouble; run the same command again later",
)


class TogetherHTTP(RestHTTP):
    """Authenticated calls to Together's API, with its errors turned into ftclient's.

    The key is sent as a bearer token, never stored, logged or echoed, and scrubbed from every error
    message whatever the server put there.
    """

    name = "together"
    hints = HINTS
    base_url_var = "TOGETHER_BASE_URL"

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
        super().__init__(
            api_key=api_key, max_retries=max_retries, timeout_s=timeout_s, retry_backoff_s=retry_backoff_s, sleep=sleep
        )
        self.endpoint = (base_url or DEFAULT_BASE_URL).rstrip("/")

    @property
    def is_official(self) -> bool:
        return self.endpoint in {DEFAULT_BASE_URL, "https://api.together.xyz/v1"}

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
