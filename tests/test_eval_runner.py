"""The runner's retry, cache and stop rules, with an in-process provider (no network, no real waiting)."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from ftclient.errors import AuthError, EvaluationError, InvalidRequestError, ProviderUnavailable, RateLimitError
from ftclient.evaluate.ratelimit import RateLimiter
from ftclient.evaluate.runner import Call, Runner, RunnerConfig, request_hash
from ftclient.providers.base import ChatRequest, ChatResult, RateLimitState
from ftclient.registry import Registry


class ScriptedProvider:
    """Answers ``answer-<n>``; ``script[n]`` lists exceptions to raise on the first attempts for example n."""

    def __init__(self, script: dict[int, list[Exception]] | None = None) -> None:
        self.script = {k: list(v) for k, v in (script or {}).items()}
        self.calls: Counter[int] = Counter()

    async def chat(self, request: ChatRequest) -> ChatResult:
        n = int(str(request.messages[-1]["content"]))
        self.calls[n] += 1
        await asyncio.sleep(0)
        if self.script.get(n):
            raise self.script[n].pop(0)
        return ChatResult(
            text=f"answer-{n}",
            model=request.model,
            prompt_tokens=3,
            completion_tokens=2,
            latency_s=0.01,
            rate_limits=RateLimitState(limit_requests=6000, remaining_requests=5000),
        )


def _calls(n: int, model: str = "m") -> list[Call]:
    return [
        Call(
            "tuned",
            i,
            ChatRequest(model=model, messages=[{"role": "user", "content": str(i)}], max_tokens=5),
            estimate=10,
        )
        for i in range(n)
    ]


class Sleeps:
    def __init__(self) -> None:
        self.seen: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seen.append(seconds)
        await asyncio.sleep(0)


def _runner(provider: ScriptedProvider, tmp_path: Path | None = None, **config: object) -> tuple[Runner, Sleeps]:
    sleeps = Sleeps()
    cache = Registry(tmp_path / "r.db") if tmp_path else None
    runner = Runner(
        provider,
        "openai",
        cache=cache,
        limiter=RateLimiter(sleep=sleeps, discover=False),
        config=RunnerConfig(**config),
        sleep=sleeps,
    )  # type: ignore[arg-type]
    return runner, sleeps


def test_transient_errors_are_retried_with_backoff_and_retry_after() -> None:
    unavailable = ProviderUnavailable("down", provider="openai", status=503)
    unavailable.retry_after_s = 7.0  # type: ignore[attr-defined]
    provider = ScriptedProvider({2: [ProviderUnavailable("boom", provider="openai", status=500), unavailable]})
    runner, sleeps = _runner(provider)
    answers = asyncio.run(runner.run(_calls(5)))
    assert [answers[("tuned", i)].text for i in range(5)] == [f"answer-{i}" for i in range(5)]
    assert answers[("tuned", 2)].attempts == 3 and provider.calls[2] == 3
    assert 0.375 <= sleeps.seen[0] <= 0.5 and sleeps.seen[1] == 7.0
    assert runner.progress.retried == 2 and runner.progress.failed == 0


def test_rate_limits_pause_everyone_and_do_not_use_up_attempts() -> None:
    limited = [RateLimitError("slow down", provider="openai", status=429) for _ in range(5)]
    for e in limited:
        e.retry_after_s = 0.25  # type: ignore[attr-defined]
    provider = ScriptedProvider({0: limited})
    runner, sleeps = _runner(provider, max_attempts=2)
    answers = asyncio.run(runner.run(_calls(3)))
    assert answers[("tuned", 0)].error is None and provider.calls[0] == 6
    assert runner.progress.rate_limited == 5 and runner.limiter.stats.backoffs == 5
    assert any(s == pytest.approx(0.25, abs=0.01) for s in sleeps.seen)


def test_refused_requests_fail_only_their_example() -> None:
    provider = ScriptedProvider({1: [InvalidRequestError("bad", provider="openai", status=400)]})
    runner, _ = _runner(provider)
    answers = asyncio.run(runner.run(_calls(3)))
    assert answers[("tuned", 1)].error is not None and "bad" in answers[("tuned", 1)].error
    assert provider.calls[1] == 1 and runner.progress.failed == 1
    assert answers[("tuned", 2)].text == "answer-2"


def test_server_errors_give_up_after_max_attempts() -> None:
    provider = ScriptedProvider({0: [ProviderUnavailable("x", provider="openai", status=502) for _ in range(9)]})
    runner, _ = _runner(provider, max_attempts=4)
    answers = asyncio.run(runner.run(_calls(1)))
    assert provider.calls[0] == 4 and "gave up after 4 attempts" in (answers[("tuned", 0)].error or "")


def test_bad_credentials_stop_the_run() -> None:
    provider = ScriptedProvider({0: [AuthError("no key", provider="openai", status=401)]})
    runner, _ = _runner(provider, concurrency=1)
    with pytest.raises(AuthError):
        asyncio.run(runner.run(_calls(4)))
    assert sum(provider.calls.values()) == 1


def test_a_daily_quota_stops_with_a_resume_hint() -> None:
    daily = RateLimitError("quota", provider="openai", status=429)
    daily.retry_after_s = 3600.0  # type: ignore[attr-defined]
    runner, _ = _runner(ScriptedProvider({0: [daily]}), concurrency=1)
    with pytest.raises(EvaluationError, match="3600s") as info:
        asyncio.run(runner.run(_calls(3)))
    assert "resume" in (info.value.hint or "")


def test_answers_are_cached_and_reused(tmp_path: Path) -> None:
    provider = ScriptedProvider()
    runner, _ = _runner(provider, tmp_path)
    first = asyncio.run(runner.run(_calls(4)))
    again, _ = _runner(provider, tmp_path)
    second = asyncio.run(again.run(_calls(4)))
    assert sum(provider.calls.values()) == 4
    assert all(a.cached for a in second.values()) and again.progress.cached == 4
    assert [second[k].text for k in sorted(second)] == [first[k].text for k in sorted(first)]
    other_model, _ = _runner(provider, tmp_path)
    asyncio.run(other_model.run(_calls(4, model="m2")))
    assert sum(provider.calls.values()) == 8  # the key includes the model
    no_cache, _ = _runner(provider, tmp_path, use_cache=False)
    asyncio.run(no_cache.run(_calls(4)))
    assert sum(provider.calls.values()) == 12


def test_request_hash_covers_what_changes_the_answer() -> None:
    base = ChatRequest(model="m", messages=[{"role": "user", "content": "hi"}], max_tokens=5)
    same = ChatRequest(model="m", messages=[{"content": "hi", "role": "user"}], max_tokens=5)
    assert request_hash(base) == request_hash(same)
    for other in (
        ChatRequest(model="m2", messages=base.messages, max_tokens=5),
        ChatRequest(model="m", messages=base.messages, max_tokens=6),
        ChatRequest(model="m", messages=base.messages, max_tokens=5, seed=1),
        ChatRequest(model="m", messages=base.messages, max_tokens=5, temperature=0.5),
    ):
        assert request_hash(other) != request_hash(base)


def test_stop_finishes_in_flight_requests_and_sends_nothing_new() -> None:
    provider = ScriptedProvider()
    runner, _ = _runner(provider, concurrency=2)
    seen: list[int] = []

    def on_progress(p: object) -> None:
        seen.append(runner.progress.done)
        if runner.progress.done >= 3:
            runner.stop()

    runner.on_progress = on_progress
    answers = asyncio.run(runner.run(_calls(20)))
    assert runner.stopped
    assert 3 <= len(answers) <= 4
    assert sum(provider.calls.values()) == len(answers)  # every request sent was answered and kept
