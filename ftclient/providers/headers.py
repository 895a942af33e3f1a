"""Reading the HTTP headers providers use to say "slow down": retry-after and rate-limit state.

Pure functions over a header mapping, shared by every adapter that speaks OpenAI-style headers.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

from ftclient.providers.base import RateLimitState

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def _get(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    return value


def parse_duration(value: str | None) -> float | None:
    """``"6m0s"``, ``"12ms"``, ``"1.5s"`` or a bare number of seconds -> seconds (None if unreadable)."""
    if value is None:
        return None
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        pass
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def retry_after_seconds(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """``retry-after-ms`` (preferred), else ``retry-after`` as seconds or an HTTP date."""
    ms = _get(headers, "retry-after-ms")
    if ms is not None:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = _get(headers, "retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def rate_limit_state(headers: Mapping[str, str]) -> RateLimitState:
    """The ``x-ratelimit-*`` headers as numbers (reset durations in seconds)."""
    return RateLimitState(
        limit_requests=_int(_get(headers, "x-ratelimit-limit-requests")),
        remaining_requests=_int(_get(headers, "x-ratelimit-remaining-requests")),
        reset_requests_s=parse_duration(_get(headers, "x-ratelimit-reset-requests")),
        limit_tokens=_int(_get(headers, "x-ratelimit-limit-tokens")),
        remaining_tokens=_int(_get(headers, "x-ratelimit-remaining-tokens")),
        reset_tokens_s=parse_duration(_get(headers, "x-ratelimit-reset-tokens")),
    )


def wait_after_refusal(headers: Mapping[str, str], status: int) -> float | None:
    """How long to pause after a 429 or 5xx: ``retry-after`` when sent; for a 429 without it (the live API
    does not always send one), the reset time of the exhausted ``x-ratelimit-*`` bucket."""
    asked = retry_after_seconds(headers)
    if asked is not None or status != 429:
        return asked
    state = rate_limit_state(headers)
    buckets = [
        (state.remaining_requests, state.reset_requests_s),
        (state.remaining_tokens, state.reset_tokens_s),
    ]
    exhausted = [reset for remaining, reset in buckets if remaining == 0 and reset is not None]
    if exhausted:
        return max(exhausted)
    known = [reset for _, reset in buckets if reset is not None]
    return min(known) if known else None
