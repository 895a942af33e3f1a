"""RPM/TPM enforcement: 429s with OpenAI's headers, and the stats that show them."""

from __future__ import annotations

import math
import re
import time
from concurrent.futures import ThreadPoolExecutor

import httpx2
import openai
import pytest

from ftclient.emulator import EmulatorConfig, run_in_thread
from ftclient.emulator.ratelimit import RateLimiter, format_duration

HEADERS = {"Authorization": "Bearer sk-test"}
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello there. How are you?"}],
        "max_tokens": 5}
DURATION = re.compile(r"^(\d+ms|\d+(\.\d+)?s|\d+m\d+s|\d+h\d+m\d+s)$")


def test_burst_of_100_at_600_rpm_gets_429s_with_headers_and_stats() -> None:
    with run_in_thread(EmulatorConfig(rpm=600)) as emu:
        with httpx2.Client(base_url=emu.base_url, headers=HEADERS, timeout=10) as client:

            def send(_: int) -> httpx2.Response:
                return client.post("/chat/completions", json=BODY)

            began = time.monotonic()
            with ThreadPoolExecutor(max_workers=8) as pool:
                responses = list(pool.map(send, range(100)))
            elapsed = time.monotonic() - began
        statuses = [r.status_code for r in responses]
        ok, limited = statuses.count(200), statuses.count(429)
        assert ok + limited == 100
        # 600 RPM admits 10 at once, then one more per 100 ms of the burst
        assert 10 <= ok <= 10 + math.ceil(elapsed * 10) + 1, (ok, elapsed)
        assert limited >= 100 - (11 + math.ceil(elapsed * 10))
        refused = next(r for r in responses if r.status_code == 429)
        error = refused.json()["error"]
        assert error["code"] == "rate_limit_exceeded" and error["type"] == "requests"
        assert "Limit 600" in error["message"] and "Please try again in" in error["message"]
        assert int(refused.headers["retry-after"]) >= 1
        assert 0 < int(refused.headers["retry-after-ms"]) <= 200
        assert refused.headers["x-ratelimit-limit-requests"] == "600"
        assert refused.headers["x-ratelimit-remaining-requests"] == "0"
        assert DURATION.match(refused.headers["x-ratelimit-reset-requests"])
        accepted = next(r for r in responses if r.status_code == 200)
        assert accepted.headers["x-ratelimit-limit-requests"] == "600"
        assert int(accepted.headers["x-ratelimit-remaining-requests"]) < 10
        stats = emu.stats()
        route = stats["requests"]["by_route"]["POST /v1/chat/completions"]
        assert route == {"200": ok, "429": limited}
        assert stats["rate_limits"]["rejected"]["requests"] == limited
        assert stats["rate_limits"]["rpm"] == 600
        assert "gpt-4o-mini-2024-07-18" in stats["rate_limits"]["pools"]


def test_token_limit_and_too_large_requests() -> None:
    with run_in_thread(EmulatorConfig(tpm=6000)) as emu:  # 100 tokens per second
        client = openai.OpenAI(base_url=emu.base_url, api_key="sk-test", max_retries=0)
        raw = client.chat.completions.with_raw_response.create(**BODY)  # type: ignore[call-overload]
        assert raw.headers["x-ratelimit-limit-tokens"] == "6000"
        remaining = int(raw.headers["x-ratelimit-remaining-tokens"])
        usage = raw.parse().usage
        assert remaining == 100 - usage.prompt_tokens - 5  # charged: prompt + max_tokens
        with pytest.raises(openai.RateLimitError) as caught:
            client.chat.completions.create(**{**BODY, "max_tokens": 95})  # type: ignore[call-overload]
        assert caught.value.body["type"] == "tokens"  # type: ignore[index]
        with pytest.raises(openai.RateLimitError, match="Request too large"):
            client.chat.completions.create(**{**BODY, "max_tokens": 7000})  # type: ignore[call-overload]


def test_fine_tuned_models_share_their_base_models_pool() -> None:
    clock = [0.0]
    limiter = RateLimiter(rpm=60, tpm=None, burst_s=2.0, monotonic=lambda: clock[0])
    assert limiter.admit("gpt-4o-mini-2024-07-18", 1).ok
    assert limiter.admit("gpt-4o-mini-2024-07-18", 1).ok
    refused = limiter.admit("gpt-4o-mini-2024-07-18", 1)
    assert not refused.ok and refused.retry_after_s == pytest.approx(1.0)
    assert limiter.admit("gpt-4.1-mini-2025-04-14", 1).ok  # another model, another pool
    clock[0] += 1.0
    assert limiter.admit("gpt-4o-mini-2024-07-18", 1).ok


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (0.0121, "13ms"), (0.5, "500ms"), (1.5, "1.5s"), (6.0, "6s"), (360, "6m0s"), (3723, "1h2m3s")],
)
def test_reset_durations_read_like_openais(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
