"""Proactive rate limiting: pace requests to the provider's limits instead of hammering and backing off.

Two token buckets — requests per minute and tokens per minute — refill continuously at a little under the
limit. Each request is charged before it is sent: one request and its token estimate (prompt tokens plus
``max_tokens``, which is how OpenAI counts a request against TPM at admission). The buckets hold about one
second of quota, so a burst never exceeds what a provider enforcing limits per second would accept.

The limits need not be configured. Until the first response arrives only one request is in flight; its
``x-ratelimit-*`` headers (``ChatResult.rate_limits``) then give the limits and what remains, and every
later response corrects the estimate downward if the provider saw more use than we counted (another client
on the same key, say). When a provider enforces its limits over a longer window and reports more remaining
quota than one second's worth, that burst is used too, never more than it says remains. A 429 pauses all
dispatch for the ``retry-after`` the provider asked for — never a fixed long freeze — and empties the
buckets, since the provider has just said we were ahead of it.

The clock and sleep are injectable, so tests run the pacing logic without real waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ftclient.providers.base import RateLimitState

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

DEFAULT_HEADROOM = 0.98
"""Pace at this share of the provider's limit: close to it, with room for clock skew between the two ends."""
DEFAULT_BURST_S = 1.0
"""Bucket capacity in seconds of quota."""


class TokenBucket:
    """A continuously refilling bucket. ``level`` may go negative: a request larger than the capacity is
    admitted when the bucket is full and leaves a debt that later requests wait out."""

    def __init__(
        self,
        per_minute: float | None,
        *,
        clock: Clock,
        headroom: float = DEFAULT_HEADROOM,
        burst_s: float = DEFAULT_BURST_S,
    ) -> None:
        self.clock = clock
        self.headroom = headroom
        self.burst_s = burst_s
        self.per_minute: float | None = None
        self.rate = 0.0
        self.capacity = 0.0
        self.level = 0.0
        self._last = clock()
        if per_minute:
            self.set_limit(per_minute, fill=True)

    @property
    def limited(self) -> bool:
        return self.per_minute is not None

    def set_limit(self, per_minute: float, *, fill: bool = False) -> None:
        """Adopt a (new) per-minute limit; ``fill`` starts with a full bucket."""
        self._refill()
        self.per_minute = float(per_minute)
        self.rate = self.per_minute * self.headroom / 60.0
        self.capacity = max(1.0, self.rate * self.burst_s)
        self.level = self.capacity if fill else min(self.level, self.capacity)

    def _refill(self) -> None:
        now = self.clock()
        if self.limited and now > self._last and self.level < self.capacity:
            self.level = min(self.capacity, self.level + (now - self._last) * self.rate)
        self._last = max(self._last, now)

    def wait_time(self, amount: float) -> float:
        """Seconds until ``amount`` may be taken (0 if now). Amounts above capacity wait for a full bucket."""
        if not self.limited:
            return 0.0
        self._refill()
        need = min(amount, self.capacity)
        if self.level >= need - 1e-6:  # float refill after an exact wait can land a hair short
            return 0.0
        return (need - self.level) / self.rate

    def take(self, amount: float) -> None:
        if self.limited:
            self._refill()
            self.level -= amount

    def give_back(self, amount: float) -> None:
        if self.limited:
            self._refill()
            self.level = min(self.capacity, self.level + amount)

    def at_least(self, level: float) -> None:
        """Raise the level to ``level``: the provider reported more quota than one second's worth (it enforces
        its limits over a longer window), so that burst may be used. Refill resumes once below capacity."""
        if self.limited:
            self._refill()
            self.level = max(self.level, level)

    def at_most(self, level: float) -> None:
        """Lower the level to ``level`` if it is higher (the provider has seen more use than we counted)."""
        if self.limited:
            self._refill()
            self.level = min(self.level, level)


@dataclass
class LimiterStats:
    waited_s: float = 0.0
    backoffs: int = 0
    corrections: int = 0
    raises: int = 0


class RateLimiter:
    """Request and token buckets plus the discovery and back-off rules; shared by all runner workers."""

    def __init__(
        self,
        rpm: float | None = None,
        tpm: float | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        headroom: float = DEFAULT_HEADROOM,
        burst_s: float = DEFAULT_BURST_S,
        discover: bool = True,
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self.requests = TokenBucket(rpm, clock=clock, headroom=headroom, burst_s=burst_s)
        self.tokens = TokenBucket(tpm, clock=clock, headroom=headroom, burst_s=burst_s)
        self.blocked_until = 0.0
        self.in_flight = 0
        self.in_flight_tokens = 0.0
        self.stats = LimiterStats()
        self._lock: asyncio.Lock | None = None
        self._discovering = discover and not (rpm or tpm)
        self._discovered: asyncio.Event | None = None

    def _primitives(self) -> tuple[asyncio.Lock, asyncio.Event]:
        # Created lazily so the limiter can be built outside the event loop that uses it.
        if self._lock is None or self._discovered is None:
            self._lock = asyncio.Lock()
            self._discovered = asyncio.Event()
            if not self._discovering:
                self._discovered.set()
        return self._lock, self._discovered

    def delay(self, tokens: float) -> float:
        """Seconds until a request charged ``tokens`` may go (0 = now)."""
        now = self.clock()
        return max(self.blocked_until - now, self.requests.wait_time(1), self.tokens.wait_time(tokens), 0.0)

    async def acquire(self, tokens: float) -> None:
        """Wait until a request of ``tokens`` fits the limits, then charge it. FIFO across callers."""
        lock, discovered = self._primitives()
        async with lock:
            while self._discovering and self.in_flight > 0 and not discovered.is_set():
                await discovered.wait()
            while (wait := self.delay(tokens)) > 0:
                self.stats.waited_s += wait
                await self.sleep(wait)
            self.requests.take(1)
            self.tokens.take(tokens)
            self.in_flight += 1
            self.in_flight_tokens += tokens

    def release(self, tokens: float, state: RateLimitState | None = None) -> None:
        """A request finished (any outcome); ``state`` is what its response headers said, if anything."""
        self.in_flight = max(0, self.in_flight - 1)
        self.in_flight_tokens = max(0.0, self.in_flight_tokens - tokens)
        if state is not None:
            self.observe(state)
        elif self._discovering:
            self._end_discovery()

    def observe(self, state: RateLimitState) -> None:
        """Adopt the limits a response reported and correct the buckets downward if the provider's
        remaining quota is below ours after allowing for requests still in flight."""
        first = self._discovering
        for bucket, limit, remaining, pending in (
            (self.requests, state.limit_requests, state.remaining_requests, float(self.in_flight)),
            (self.tokens, state.limit_tokens, state.remaining_tokens, self.in_flight_tokens),
        ):
            if limit and (bucket.per_minute is None or abs(bucket.per_minute - limit) > 1e-9):
                bucket.set_limit(limit, fill=first or not bucket.limited)
            if remaining is not None and bucket.limited:
                provider_level = remaining * bucket.headroom - pending
                if provider_level < bucket.level - 1e-9:
                    self.stats.corrections += 1
                    bucket.at_most(provider_level)
                elif provider_level > max(bucket.level, bucket.capacity):
                    self.stats.raises += 1
                    bucket.at_least(provider_level)
        if first:
            self._end_discovery()

    def _end_discovery(self) -> None:
        self._discovering = False
        if self._discovered is not None:
            self._discovered.set()

    def back_off(self, retry_after_s: float | None, *, fallback_s: float = 1.0) -> None:
        """The provider answered 429: stop all dispatch for as long as it asked and empty the buckets."""
        self.stats.backoffs += 1
        wait = retry_after_s if retry_after_s and retry_after_s > 0 else fallback_s
        self.blocked_until = max(self.blocked_until, self.clock() + wait)
        self.requests.at_most(0.0)
        self.tokens.at_most(0.0)
