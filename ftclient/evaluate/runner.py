"""The evaluation runner: every test example through every model, at the rate limit, paying once.

- Bounded concurrency (a fixed pool of workers) and proactive pacing through :class:`RateLimiter`.
- Deterministic requests, so that a response can be cached and reused: temperature 0, a fixed seed, the
  system prompt the model was trained with. Every answer is stored in the registry's response cache under
  (provider, model, request hash) the moment it arrives; a rerun — after Ctrl-C, a crash or a change in the
  report — asks the provider only for what is missing.
- One retry layer. 429: wait as long as the provider says (the limiter pauses every worker) and try again.
  5xx and dropped connections: exponential backoff with jitter, honouring ``retry-after``, up to
  ``max_attempts``. A refused request (400/404) fails that example only; bad credentials stop the run.
- ``stop()`` ends the run gracefully: nothing new is sent, requests in flight are awaited and cached.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ftclient.errors import (
    AuthError,
    EvaluationError,
    PermissionError_,
    ProviderError,
    QuotaExhaustedError,
    RateLimitError,
    RemoteNotFoundError,
)
from ftclient.evaluate.ratelimit import RateLimiter, Sleep
from ftclient.evaluate.types import Answer
from ftclient.providers.base import ChatRequest, ChatResult, RateLimitState


class ChatProvider(Protocol):
    async def chat(self, request: ChatRequest) -> ChatResult: ...


class ResponseCache(Protocol):
    """What the runner needs of ``ftclient.registry.Registry``."""

    def cache_get(self, provider: str, model: str, request_hash: str) -> dict[str, Any] | None: ...
    def cache_put(self, provider: str, model: str, request_hash: str, response: Mapping[str, Any]) -> None: ...


def request_hash(request: ChatRequest) -> str:
    """Identity of a request for the response cache: everything that can change the answer."""
    body = {
        "model": request.model,
        "messages": [dict(m) for m in request.messages],
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "seed": request.seed,
        "tools": [dict(t) for t in request.tools] if request.tools else None,
    }
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Call:
    """One request to make: example ``index`` for the model in ``role``."""

    role: str
    index: int
    request: ChatRequest
    estimate: int
    """Tokens the provider will count against TPM at admission (prompt + max_tokens)."""

    @property
    def key(self) -> tuple[str, int]:
        return self.role, self.index


@dataclass
class RunnerConfig:
    concurrency: int = 32
    max_attempts: int = 8
    """Attempts per example for server errors and dropped connections (429s are not counted)."""
    max_rate_limited: int = 50
    """429s per example before giving up on it (a guard against a provider that never admits it)."""
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    max_retry_after_s: float = 600.0
    """A 429 asking for a longer wait (a daily quota) stops the run; cached answers are kept for a rerun."""
    use_cache: bool = True


@dataclass
class Progress:
    total: int
    done: int = 0
    cached: int = 0
    failed: int = 0
    requests: int = 0
    rate_limited: int = 0
    retried: int = 0
    cost_usd: float = 0.0
    started: float = field(default_factory=time.monotonic)


ProgressCallback = Callable[[Progress], None]
CostFn = Callable[[str, int, int], float | None]


def answer_from_cache(index: int, data: Mapping[str, Any]) -> Answer:
    return Answer(
        index=index,
        text=str(data.get("text", "")),
        prompt_tokens=int(data.get("prompt_tokens", 0)),
        completion_tokens=int(data.get("completion_tokens", 0)),
        latency_s=float(data.get("latency_s", 0.0)),
        cached=True,
        model=str(data.get("model") or ""),
    )


def cache_record(result: ChatResult) -> dict[str, Any]:
    return {
        "text": result.text,
        "model": result.model,
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "latency_s": result.latency_s,
        "finish_reason": result.finish_reason,
        "request_id": result.request_id,
    }


class Runner:
    """Runs :class:`Call` s against one provider; ``await runner.run(calls)`` -> answers by (role, index)."""

    def __init__(
        self,
        provider: ChatProvider,
        provider_name: str,
        *,
        cache: ResponseCache | None = None,
        limiter: RateLimiter | None = None,
        config: RunnerConfig | None = None,
        on_progress: ProgressCallback | None = None,
        cost: CostFn | None = None,
        sleep: Sleep = asyncio.sleep,
        seed: int = 0,
    ) -> None:
        self.provider = provider
        self.provider_name = provider_name
        self.cache = cache
        self.config = config or RunnerConfig()
        self.limiter = limiter or RateLimiter(sleep=sleep)
        self.on_progress = on_progress
        self.cost = cost
        self.sleep = sleep
        self._rng = random.Random(seed)
        self._stopping = False
        self._fatal: BaseException | None = None
        self.progress = Progress(total=0)
        self.stopped = False

    def stop(self) -> None:
        """Send nothing new; let requests in flight finish (and be cached)."""
        self._stopping = True

    @property
    def stopping(self) -> bool:
        return self._stopping

    def _report(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.progress)

    def _cached(self, call: Call) -> Answer | None:
        if self.cache is None or not self.config.use_cache:
            return None
        data = self.cache.cache_get(self.provider_name, call.request.model, request_hash(call.request))
        return answer_from_cache(call.index, data) if data is not None else None

    async def run(self, calls: Sequence[Call]) -> dict[tuple[str, int], Answer]:
        """Answers for every call that was not stopped; raises the first fatal provider error."""
        self.progress = Progress(total=len(calls))
        answers: dict[tuple[str, int], Answer] = {}
        queue: asyncio.Queue[Call] = asyncio.Queue()
        for call in calls:
            hit = self._cached(call)
            if hit is not None:
                answers[call.key] = hit
                self.progress.done += 1
                self.progress.cached += 1
                self._add_cost(call.request.model, hit)
            else:
                queue.put_nowait(call)
        self._report()
        workers = [
            asyncio.create_task(self._worker(queue, answers))
            for _ in range(min(self.config.concurrency, queue.qsize()))
        ]
        try:
            await asyncio.gather(*workers)
        except BaseException:
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise
        if self._fatal is not None:
            raise self._fatal
        self.stopped = self._stopping and len(answers) < len(calls)
        return answers

    def _add_cost(self, model: str, answer: Answer) -> None:
        if self.cost is not None:
            self.progress.cost_usd += self.cost(model, answer.prompt_tokens, answer.completion_tokens) or 0.0

    async def _worker(self, queue: asyncio.Queue[Call], answers: dict[tuple[str, int], Answer]) -> None:
        while not self._stopping:
            try:
                call = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            answer = await self._attempt_until_done(call)
            if answer is None:
                continue  # stopped before it was answered
            answers[call.key] = answer
            self.progress.done += 1
            if answer.error is not None:
                self.progress.failed += 1
            self._add_cost(call.request.model, answer)
            self._report()

    def _backoff(self, attempt: int, retry_after_s: float | None) -> float:
        if retry_after_s is not None and retry_after_s > 0:
            return min(retry_after_s, self.config.backoff_max_s)
        delay = min(self.config.backoff_max_s, self.config.backoff_base_s * 2.0 ** (attempt - 1))
        return float(delay * (0.75 + 0.25 * self._rng.random()))

    async def _attempt_until_done(self, call: Call) -> Answer | None:
        attempts = 0
        rate_limited = 0
        last_error = ""
        while True:
            if self._stopping:
                return None
            await self.limiter.acquire(call.estimate)
            if self.stopping:
                self.limiter.release(call.estimate)
                return None
            attempts += 1
            self.progress.requests += 1
            try:
                result = await self.provider.chat(call.request)
            except RateLimitError as exc:
                self.limiter.release(call.estimate, getattr(exc, "rate_limits", None))
                retry_after = getattr(exc, "retry_after_s", None)
                self.progress.rate_limited += 1
                if "too large" in exc.message.lower():
                    return self._failed(call, attempts, f"request larger than the token limit: {exc.message}")
                if retry_after is not None and retry_after > self.config.max_retry_after_s:
                    self._fatal = EvaluationError(
                        f"{self.provider_name} asks to wait {retry_after:.0f}s before the next request "
                        "(a daily quota?)",
                        hint="answers so far are cached; run the same command later to resume",
                    )
                    self._stopping = True
                    return None
                rate_limited += 1
                if rate_limited >= self.config.max_rate_limited:
                    return self._failed(call, attempts, f"rate limited {rate_limited} times: {exc.message}")
                self.limiter.back_off(retry_after)
                attempts -= 1
                continue
            except (AuthError, PermissionError_, RemoteNotFoundError, QuotaExhaustedError) as exc:
                # Nothing a retry or the next example changes: stop the whole run with the provider's word.
                self.limiter.release(call.estimate)
                self._fatal = exc
                self._stopping = True
                return None
            except ProviderError as exc:
                self.limiter.release(call.estimate)
                last_error = exc.message
                if exc.status is not None and 400 <= exc.status < 500 and exc.status not in (408, 409):
                    return self._failed(call, attempts, exc.message)
                if attempts >= self.config.max_attempts:
                    return self._failed(call, attempts, f"gave up after {attempts} attempts: {last_error}")
                self.progress.retried += 1
                await self.sleep(self._backoff(attempts, getattr(exc, "retry_after_s", None)))
                continue
            self.limiter.release(call.estimate, result.rate_limits if _has_limits(result.rate_limits) else None)
            if self.cache is not None:
                self.cache.cache_put(
                    self.provider_name, call.request.model, request_hash(call.request), cache_record(result)
                )
            return Answer(
                index=call.index,
                text=result.text,
                prompt_tokens=result.prompt_tokens,
                completion_tokens=result.completion_tokens,
                latency_s=result.latency_s,
                attempts=attempts,
                model=result.model,
            )

    @staticmethod
    def _failed(call: Call, attempts: int, message: str) -> Answer:
        return Answer(index=call.index, text="", attempts=attempts, error=message)


def _has_limits(state: RateLimitState) -> bool:
    return any(
        v is not None
        for v in (state.limit_requests, state.limit_tokens, state.remaining_requests, state.remaining_tokens)
    )
