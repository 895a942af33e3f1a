"""OpenAI-style RPM/TPM limits: two token buckets per model pool, and the ``x-ratelimit-*`` headers.

Buckets refill continuously at ``limit / 60`` per second and hold ``limit * burst_s / 60``: with the
default ``burst_s = 1`` a 600 RPM limit admits 10 requests in any second (OpenAI enforces limits over
short windows, not per whole minute). A request is charged at admission: one request, and its prompt
tokens plus the completion tokens it asks for, as OpenAI estimates. A rejected request is not charged.

Only a request above the per-minute limit itself is "too large" (a 429 without ``retry-after``: waiting
cannot help; OpenAI words it "Request too large ... Limit L, Requested N"). One that fits the minute but
not the burst window (``--tpm 4000``: 66 tokens per second; a 108-token request) is admitted once the
bucket is full and leaves it in debt, so the minute's average still holds.
Fine-tuned models share their base model's pool, as on OpenAI.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


def format_duration(seconds: float) -> str:
    """Seconds -> OpenAI's reset strings: ``"0s"``, ``"12ms"``, ``"1.5s"``, ``"6m0s"``, ``"1h2m3s"``."""
    if seconds <= 0:
        return "0s"
    if seconds < 1:
        return f"{math.ceil(seconds * 1000)}ms"
    if seconds < 60:
        text = f"{seconds:.3f}".rstrip("0").rstrip(".")
        return f"{text}s"
    whole = math.ceil(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes}m{secs}s" if hours else f"{minutes}m{secs}s"


class Bucket:
    def __init__(self, limit: int, burst_s: float, now: float) -> None:
        self.limit = limit
        self.rate = limit / 60.0
        self.capacity = max(1.0, limit * burst_s / 60.0)
        self.level = self.capacity
        self.stamp = now

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_for(self, amount: float) -> float:
        return max(0.0, (amount - self.level) / self.rate)

    def reset_in(self) -> float:
        return (self.capacity - self.level) / self.rate


@dataclass
class Admission:
    ok: bool
    headers: dict[str, str]
    kind: str = ""
    """"requests" or "tokens" when refused."""
    retry_after_s: float = 0.0
    message: str = ""


class RateLimiter:
    def __init__(
        self,
        rpm: int | None,
        tpm: int | None,
        burst_s: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rpm = rpm
        self.tpm = tpm
        self.burst_s = burst_s
        self._monotonic = monotonic
        self._pools: dict[str, tuple[Bucket | None, Bucket | None]] = {}
        self._lock = threading.Lock()
        self.rejected = {"requests": 0, "tokens": 0}

    @property
    def enabled(self) -> bool:
        return self.rpm is not None or self.tpm is not None

    def _pool(self, pool: str, now: float) -> tuple[Bucket | None, Bucket | None]:
        if pool not in self._pools:
            self._pools[pool] = (
                Bucket(self.rpm, self.burst_s, now) if self.rpm else None,
                Bucket(self.tpm, self.burst_s, now) if self.tpm else None,
            )
        return self._pools[pool]

    def admit(self, pool: str, tokens: int) -> Admission:
        """Charge one request and ``tokens`` tokens to ``pool``, or say why not and for how long."""
        if not self.enabled:
            return Admission(True, {})
        with self._lock:
            now = self._monotonic()
            requests, token_bucket = self._pool(pool, now)
            for bucket in (requests, token_bucket):
                if bucket:
                    bucket.refill(now)
            refusal: Admission | None = None
            if requests and requests.level < 1:
                wait = requests.wait_for(1)
                refusal = Admission(
                    False, {}, "requests", wait, _message(pool, "requests per min (RPM)", requests, 1, wait)
                )
            elif token_bucket and tokens > token_bucket.limit:
                refusal = Admission(
                    False,
                    {},
                    "tokens",
                    0.0,
                    (
                        f"Request too large for {pool} in organization org-ftclient-emulator on tokens per min "
                        f"(TPM): Limit {token_bucket.limit}, Requested {tokens}. The input or output tokens must "
                        "be reduced in order to run successfully."
                    ),
                )
            elif token_bucket and token_bucket.level < min(tokens, token_bucket.capacity):
                # A request larger than the burst window but within the per-minute limit waits for a full
                # bucket, then goes through and leaves the bucket in debt: refusing it until the bucket
                # holds more than it ever can would refuse it forever.
                wait = token_bucket.wait_for(min(tokens, token_bucket.capacity))
                refusal = Admission(
                    False, {}, "tokens", wait, _message(pool, "tokens per min (TPM)", token_bucket, tokens, wait)
                )
            if refusal is None:
                if requests:
                    requests.level -= 1
                if token_bucket:
                    token_bucket.level -= tokens
            else:
                self.rejected[refusal.kind] += 1
            headers = self._headers(requests, token_bucket)
        if refusal is not None:
            refusal.headers = headers
            if refusal.retry_after_s > 0:
                refusal.headers["retry-after"] = str(max(1, math.ceil(refusal.retry_after_s)))
                refusal.headers["retry-after-ms"] = str(max(1, math.ceil(refusal.retry_after_s * 1000)))
            return refusal
        return Admission(True, headers)

    @staticmethod
    def _headers(requests: Bucket | None, tokens: Bucket | None) -> dict[str, str]:
        headers: dict[str, str] = {}
        for name, bucket in (("requests", requests), ("tokens", tokens)):
            if bucket is None:
                continue
            headers[f"x-ratelimit-limit-{name}"] = str(bucket.limit)
            headers[f"x-ratelimit-remaining-{name}"] = str(max(0, math.floor(bucket.level)))
            headers[f"x-ratelimit-reset-{name}"] = format_duration(bucket.reset_in())
        return headers

    def state(self) -> dict[str, Any]:
        with self._lock:
            now = self._monotonic()
            pools: dict[str, Any] = {}
            for name, (requests, tokens) in self._pools.items():
                entry: dict[str, Any] = {}
                for kind, bucket in (("requests", requests), ("tokens", tokens)):
                    if bucket:
                        bucket.refill(now)
                        entry[f"{kind}_remaining"] = math.floor(bucket.level)
                        entry[f"{kind}_reset_s"] = round(bucket.reset_in(), 3)
                pools[name] = entry
            return {
                "rpm": self.rpm,
                "tpm": self.tpm,
                "burst_s": self.burst_s,
                "pools": pools,
                "rejected": dict(self.rejected),
            }


def _message(pool: str, what: str, bucket: Bucket, requested: int, wait: float) -> str:
    used = max(0, math.ceil(bucket.capacity - bucket.level))
    return (
        f"Rate limit reached for {pool} in organization org-ftclient-emulator on {what}: Limit {bucket.limit}, "
        f"Used {used}, Requested {requested}. Please try again in {format_duration(wait)}. "
        "Visit https://platform.openai.com/account/rate-limits to learn more."
    )
