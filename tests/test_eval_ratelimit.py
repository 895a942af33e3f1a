"""The evaluation rate limiter, driven by a fake clock (no real waiting)."""

from __future__ import annotations

import asyncio

import pytest

from ftclient.evaluate.ratelimit import RateLimiter, TokenBucket
from ftclient.providers.base import RateLimitState


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def test_bucket_refills_at_the_paced_rate_and_caps_at_one_second() -> None:
    clock = FakeClock()
    bucket = TokenBucket(600, clock=clock, headroom=1.0)
    assert bucket.capacity == 10 and bucket.level == 10
    bucket.take(10)
    assert bucket.wait_time(1) == pytest.approx(0.1)
    clock.now += 5.0
    assert bucket.wait_time(10) == 0.0
    assert bucket.level == 10  # capped: a long idle period does not allow a burst above one second


def test_large_requests_wait_for_a_full_bucket_and_leave_a_debt() -> None:
    clock = FakeClock()
    bucket = TokenBucket(6000, clock=clock, headroom=1.0)  # capacity 100
    assert bucket.wait_time(250) == 0.0
    bucket.take(250)
    assert bucket.level == -150
    assert bucket.wait_time(250) == pytest.approx(250 / 100)


def test_limiter_paces_requests_to_the_limit() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rpm=600, tpm=None, clock=clock, sleep=clock.sleep, headroom=1.0)

    async def go() -> None:
        for _ in range(110):
            await limiter.acquire(0)
            limiter.release(0)

    asyncio.run(go())
    # 10 go at once (one second of burst), the other 100 at 10 per second
    assert clock.now - 1000.0 == pytest.approx(10.0, abs=0.05)


def test_token_limit_binds_when_requests_are_large() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rpm=10_000, tpm=60_000, clock=clock, sleep=clock.sleep, headroom=1.0)

    async def go() -> None:
        for _ in range(101):
            await limiter.acquire(100)  # 1000 tokens/s allowed -> 10 requests/s

    asyncio.run(go())
    assert clock.now - 1000.0 == pytest.approx(9.1, abs=0.05)


def test_limits_are_discovered_from_the_first_response() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep, headroom=1.0)
    order: list[str] = []

    async def first() -> None:
        await limiter.acquire(10)
        order.append("first sent")
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        order.append("first answered")
        limiter.release(
            10, RateLimitState(limit_requests=120, remaining_requests=0, limit_tokens=10**6, remaining_tokens=10**6)
        )

    async def second() -> None:
        await asyncio.sleep(0)
        await limiter.acquire(10)
        order.append("second sent")

    async def go() -> None:
        await asyncio.gather(first(), second())

    asyncio.run(go())
    assert order == ["first sent", "first answered", "second sent"]
    assert limiter.requests.per_minute == 120 and limiter.tokens.per_minute == 10**6
    # the provider said nothing was left: the second request waited for the bucket to refill
    assert clock.now > 1000.0


def test_remaining_below_our_estimate_corrects_the_bucket() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rpm=600, tpm=100_000, clock=clock, sleep=clock.sleep, headroom=1.0)
    limiter.observe(
        RateLimitState(limit_requests=600, remaining_requests=2, limit_tokens=100_000, remaining_tokens=100_000)
    )
    assert limiter.requests.level == 2
    assert limiter.stats.corrections == 1
    limiter.observe(RateLimitState(limit_requests=1200))
    assert limiter.requests.per_minute == 1200


def test_a_429_pauses_dispatch_for_retry_after() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rpm=600, tpm=None, clock=clock, sleep=clock.sleep)
    limiter.back_off(2.5)

    async def go() -> None:
        await limiter.acquire(1)

    asyncio.run(go())
    assert clock.now - 1000.0 >= 2.5
    assert limiter.stats.backoffs == 1


def test_unlimited_without_limits_or_discovery() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep, discover=False)

    async def go() -> None:
        for _ in range(1000):
            await limiter.acquire(10_000)

    asyncio.run(go())
    assert clock.now == 1000.0


def test_a_longer_provider_window_lets_the_burst_through_but_no_more() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rpm=600, tpm=None, clock=clock, sleep=clock.sleep, headroom=1.0)
    # the provider says 500 requests remain (a minute-long window): far more than our one-second bucket
    limiter.observe(RateLimitState(limit_requests=600, remaining_requests=500))
    assert limiter.stats.raises == 1 and limiter.requests.level == 500

    async def go() -> None:
        for _ in range(500):
            await limiter.acquire(0)

    asyncio.run(go())
    assert clock.now == 1000.0  # all 500 at once
    asyncio.run(go())
    # then back to the paced rate: the next 500 take about 500 / 10 seconds
    assert clock.now - 1000.0 == pytest.approx(50.0, abs=0.2)
