"""The OpenAI cookbook's "API request parallel processor" approach, written afresh for the throughput benchmark.

What it does (as the cookbook script does it): two leaky buckets, requests and tokens per minute, both starting
full with a whole minute of capacity and refilled continuously; a request is dispatched when both buckets hold
enough (1 request, and its estimated tokens: prompt tokens counted per message plus ``n * max_tokens``); no cap
on requests in flight (an HTTP pool of 100 connections); a failed request goes to a retry queue that is served
before new requests, with at most 5 attempts and no backoff; a response whose error message mentions "rate
limit" freezes all new dispatch for 15 seconds; the main loop polls every millisecond. It reads neither the
HTTP status nor ``retry-after`` nor the ``x-ratelimit-*`` headers.

Only the transport differs: httpx2 instead of aiohttp (the cookbook script also refuses ``http://`` URLs).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx2

SECONDS_TO_PAUSE_AFTER_RATE_LIMIT_ERROR = 15.0
SECONDS_TO_SLEEP_EACH_LOOP = 0.001
MAX_ATTEMPTS = 5


@dataclass
class Item:
    index: int
    body: dict[str, Any]
    estimate: int
    attempts_left: int = MAX_ATTEMPTS
    errors: list[str] = field(default_factory=list)


@dataclass
class CookbookResult:
    done_times: list[float] = field(default_factory=list)
    succeeded: int = 0
    failed: int = 0
    rate_limit_errors: int = 0
    other_errors: int = 0
    stopped_early: bool = False


def estimate_tokens(body: dict[str, Any], encode: Any) -> int:
    """The cookbook's chat estimate: 4 per message, every key and value encoded (-1 for ``name``), 2 to
    prime the reply, plus ``n * max_tokens`` (15 when absent)."""
    total = 0
    for message in body["messages"]:
        total += 4
        for key, value in message.items():
            total += len(encode(str(value)))
            if key == "name":
                total -= 1
    total += 2
    return total + body.get("n", 1) * body.get("max_tokens", 15)


async def run(
    url: str, api_key: str, bodies: Sequence[dict[str, Any]], *, rpm: float, tpm: float, encode: Any, budget_s: float
) -> CookbookResult:
    """Process ``bodies`` like the cookbook script; give up (``stopped_early``) after ``budget_s`` seconds."""
    result = CookbookResult()
    items = [Item(i, dict(b), estimate_tokens(b, encode)) for i, b in enumerate(bodies)]
    pending = iter(items)
    retries: asyncio.Queue[Item] = asyncio.Queue()
    request_capacity, token_capacity = rpm, tpm
    last_update = time.time()
    last_rate_limit_error = 0.0
    in_progress = 0
    finished_input = False
    next_item: Item | None = None
    started = time.monotonic()
    limits = httpx2.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx2.AsyncClient(limits=limits, timeout=60.0) as client:

        async def call(item: Item) -> None:
            nonlocal in_progress, last_rate_limit_error
            error: str | None = None
            try:
                response = await client.post(url, json=item.body, headers={"Authorization": f"Bearer {api_key}"})
                data = response.json()
                if "error" in data:
                    error = str(data["error"].get("message", ""))
                    if "rate limit" in error.lower():
                        last_rate_limit_error = time.time()
                        result.rate_limit_errors += 1
                    else:
                        result.other_errors += 1
            except Exception as exc:  # the cookbook counts every other failure the same way
                error = repr(exc)
                result.other_errors += 1
            if error is not None:
                item.errors.append(error)
                if item.attempts_left:
                    retries.put_nowait(item)
                    return
                result.failed += 1
            else:
                result.succeeded += 1
                result.done_times.append(time.monotonic())
            in_progress -= 1

        tasks: set[asyncio.Task[None]] = set()
        while True:
            if time.monotonic() - started > budget_s:
                result.stopped_early = True
                break
            if next_item is None:
                if not retries.empty():
                    next_item = retries.get_nowait()
                elif not finished_input:
                    next_item = next(pending, None)
                    if next_item is None:
                        finished_input = True
                    else:
                        in_progress += 1
            now = time.time()
            elapsed = now - last_update
            request_capacity = min(request_capacity + rpm * elapsed / 60.0, rpm)
            token_capacity = min(token_capacity + tpm * elapsed / 60.0, tpm)
            last_update = now
            if next_item is not None and request_capacity >= 1 and token_capacity >= next_item.estimate:
                request_capacity -= 1
                token_capacity -= next_item.estimate
                next_item.attempts_left -= 1
                task = asyncio.create_task(call(next_item))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                next_item = None
            if in_progress == 0 and finished_input:
                break
            await asyncio.sleep(SECONDS_TO_SLEEP_EACH_LOOP)
            since_error = time.time() - last_rate_limit_error
            if since_error < SECONDS_TO_PAUSE_AFTER_RATE_LIMIT_ERROR:
                await asyncio.sleep(SECONDS_TO_PAUSE_AFTER_RATE_LIMIT_ERROR - since_error)
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return result
