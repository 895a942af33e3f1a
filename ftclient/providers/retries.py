"""What every adapter does the same way: the one retry layer, and HTTP failures as ftclient errors.

Each call path has exactly one retry layer, and this is it for the adapters' own requests (the SDK's
retries are switched off). Job creation and chat are never retried here: creation has its own
find-before-retry loop (``ftclient.launching.create``), chat has the evaluation runner.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from ftclient.errors import (
    AuthError,
    InvalidRequestError,
    PermissionError_,
    ProviderError,
    ProviderUnavailable,
    QuotaExhaustedError,
    RateLimitError,
    RemoteNotFoundError,
)
from ftclient.providers.credentials import without_userinfo

if TYPE_CHECKING:
    from ftclient.config import Settings

T = TypeVar("T")

# 429s that no wait cures: the account is out of credit or over a billing/spend limit. OpenAI's error codes
# guide: "429 - You exceeded your current quota, please check your plan and billing details"
# (code insufficient_quota); billing_hard_limit_reached is the same refusal from the hard-limit setting.
QUOTA_CODES = frozenset({"insufficient_quota", "billing_hard_limit_reached", "billing_not_active"})
QUOTA_WORDS = ("exceeded your current quota", "billing hard limit", "spend limit", "spending limit")
QUOTA_HINT = (
    "the account is out of credit or over a spend limit: check billing (plan, credit balance, payment method) "
    "or raise the limit in the provider's console, then run the same command again; ftclient does not retry this"
)

_VERSIONED_PATH = re.compile(r"/v\d+(beta\d*|alpha\d*)?(/|$)")

MAX_BACKOFF_S = 8.0
MAX_RETRY_AFTER_S = 120.0
"""A server asking for a longer pause than this gets the error back instead of a long silent wait."""


def request_settings(settings: Settings | None) -> dict[str, Any]:
    """The retry and timeout arguments every adapter takes, from ``settings`` (the defaults without any)."""
    if settings is None:
        return {"max_retries": 4, "timeout_s": 120.0, "retry_backoff_s": 0.5}
    return {
        "max_retries": settings.max_retries,
        "timeout_s": settings.request_timeout_s,
        "retry_backoff_s": settings.retry_backoff_s,
    }


def is_transient(error: BaseException) -> bool:
    """Worth another try: 5xx, timeouts, dropped connections, 429s other than an exhausted daily quota
    (and not when the server asks for a pause longer than ``MAX_RETRY_AFTER_S``)."""
    if isinstance(error, RateLimitError) and error.code == "daily_rate_limit_exceeded":
        return False
    if not isinstance(error, RateLimitError | ProviderUnavailable):
        return False
    return error.retry_after_s is None or error.retry_after_s <= MAX_RETRY_AFTER_S


@dataclass(frozen=True)
class RetryLayer:
    """Retry transient provider errors ``max_retries`` times, pausing as the server asks (``retry-after``)
    or else exponentially from ``backoff_s``; ``sleep`` is injectable so tests never wait."""

    max_retries: int
    backoff_s: float
    sleep: Callable[[float], None]

    def pause(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        asked = getattr(error, "retry_after_s", None)
        if isinstance(asked, int | float) and asked >= 0:
            return float(asked)
        return float(min(self.backoff_s * 2.0 ** (state.attempt_number - 1), MAX_BACKOFF_S))

    def run(self, call: Callable[[], T]) -> T:
        if self.max_retries == 0:
            return call()
        retrying = Retrying(
            stop=stop_after_attempt(self.max_retries + 1),
            wait=self.pause,
            retry=retry_if_exception(is_transient),
            sleep=self.sleep,
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                return call()
        raise AssertionError("unreachable: tenacity re-raises the last error")


@dataclass(frozen=True)
class Hints:
    """What to do next, per kind of failure, in the words of one provider."""

    auth: str
    permission: str
    unavailable: str


def status_error(
    message: str,
    *,
    provider: str,
    status: int,
    code: str | None,
    request_id: str | None,
    retry_after_s: float | None,
    hints: Hints,
    endpoint: str | None = None,
    base_url_var: str | None = None,
) -> ProviderError:
    """The ftclient error for an HTTP error answer (``message`` already scrubbed of secrets).

    ``endpoint`` and ``base_url_var`` let a 404 say what is most likely wrong when the base URL has no
    version in its path: every request then misses the API (``/fine_tuning/jobs`` instead of
    ``/v1/fine_tuning/jobs``), and "check the id" would send the user in a circle.
    """
    common: dict[str, Any] = {"provider": provider, "status": status, "code": code, "request_id": request_id}
    if status == 401:
        return AuthError(message, hint=hints.auth, **common)
    if status == 403:
        return PermissionError_(message, hint=hints.permission, **common)
    if status == 404:
        hint = "check the id; `ftclient jobs list` shows known jobs"
        if endpoint and not _VERSIONED_PATH.search(urlsplit(endpoint).path):
            shown = without_userinfo(endpoint)
            hint = (
                f"the base URL {shown} probably lacks /v1 (the API lives under it): "
                f"set {base_url_var or 'the base URL'}={shown}/v1 and run the command again"
            )
        return RemoteNotFoundError(message, hint=hint, **common)
    if status == 429 and is_quota_refusal(code, message):
        return QuotaExhaustedError(message, hint=QUOTA_HINT, **common)
    if status == 429 or code == "rate_limit":
        return RateLimitError(
            message,
            retry_after_s=retry_after_s,
            hint="wait a moment and run the same command again; it resumes where it stopped",
            **common,
        )
    if status >= 500:
        return ProviderUnavailable(message, retry_after_s=retry_after_s, hint=hints.unavailable, **common)
    return InvalidRequestError(message, hint="fix the request as the message says", **common)


def is_quota_refusal(code: str | None, message: str) -> bool:
    """A 429 that means "out of money", not "too fast" (by its code, or its words when the code is absent)."""
    lowered = message.lower()
    return (code or "") in QUOTA_CODES or any(word in lowered for word in QUOTA_WORDS)


def unreachable(
    what: str, endpoint: str, *, provider: str, timeout_s: float, timed_out: bool, cause: str, base_url_var: str
) -> ProviderUnavailable:
    """A request that got no answer: a timeout, or no connection at all."""
    endpoint = without_userinfo(endpoint)
    if timed_out:
        return ProviderUnavailable(
            f"{what}: {endpoint} did not answer within {timeout_s:.0f}s",
            provider=provider,
            code="timeout",
            hint="try again; raise FTCLIENT_REQUEST_TIMEOUT_S if it keeps happening",
        )
    return ProviderUnavailable(
        f"{what}: cannot reach {endpoint} ({cause})",
        provider=provider,
        code="connection",
        hint=f"check the network and {base_url_var}, then run the same command again",
    )


def scrub(text: str, secret: str | None) -> str:
    """``text`` without ``secret`` (an API key echoed back in an error body never reaches the user)."""
    if secret and len(secret) >= 4:
        return text.replace(secret, "[redacted]")
    return text
