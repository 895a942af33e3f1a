"""The one retry layer: what is retried, how often, how long it pauses, and what each HTTP failure becomes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

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
from ftclient.providers.retries import (
    MAX_BACKOFF_S,
    MAX_RETRY_AFTER_S,
    QUOTA_HINT,
    Hints,
    RetryLayer,
    is_transient,
    request_settings,
    scrub,
    status_error,
    unreachable,
)

HINTS = Hints(auth="set OPENAI_API_KEY", permission="ask the org owner for fine-tuning access", unavailable="later")


def _rate_limited(retry_after: float | None = None, code: str | None = None) -> RateLimitError:
    return RateLimitError("slow down", provider="openai", status=429, code=code, retry_after_s=retry_after)


def _down(retry_after: float | None = None) -> ProviderUnavailable:
    return ProviderUnavailable("down", provider="openai", status=503, retry_after_s=retry_after)


def _failing(errors: list[BaseException], result: str = "ok") -> tuple[Callable[[], str], list[int]]:
    """A call that raises each of ``errors`` in turn, then returns ``result``; counts its calls."""
    calls: list[int] = []

    def call() -> str:
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return result

    return call, calls


def _layer(max_retries: int, backoff_s: float = 0.5) -> tuple[RetryLayer, list[float]]:
    slept: list[float] = []
    return RetryLayer(max_retries=max_retries, backoff_s=backoff_s, sleep=slept.append), slept


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (_rate_limited(), True),
        (_rate_limited(code="rate_limit_exceeded"), True),
        (_rate_limited(code="daily_rate_limit_exceeded"), False),  # an exhausted daily quota waits a day
        (_rate_limited(retry_after=MAX_RETRY_AFTER_S), True),
        (_rate_limited(retry_after=MAX_RETRY_AFTER_S + 1), False),  # an hour of silent waiting is worse
        (_rate_limited(retry_after=0), True),
        (_down(), True),
        (_down(retry_after=3600), False),
        (InvalidRequestError("bad", provider="openai", status=400), False),
        (InvalidRequestError("bad", provider="openai", status=422), False),
        (AuthError("no", provider="openai", status=401), False),
        (PermissionError_("no", provider="openai", status=403), False),
        (RemoteNotFoundError("gone", provider="openai", status=404), False),
        (ProviderError("other", provider="openai", status=418), False),
        (ValueError("a bug"), False),
    ],
)
def test_what_is_worth_another_try(error: BaseException, transient: bool) -> None:
    assert is_transient(error) is transient


def test_no_retries_means_one_call() -> None:
    layer, slept = _layer(0)
    call, calls = _failing([_down()])
    with pytest.raises(ProviderUnavailable):
        layer.run(call)
    assert len(calls) == 1 and slept == []


def test_max_retries_one_means_one_retry() -> None:
    layer, slept = _layer(1)
    call, calls = _failing([_down()])
    assert layer.run(call) == "ok"
    assert len(calls) == 2 and slept == [0.5]
    call, calls = _failing([_down(), _down()])
    with pytest.raises(ProviderUnavailable):
        layer.run(call)
    assert len(calls) == 2


def test_every_retry_is_used_then_the_last_error_comes_back() -> None:
    layer, slept = _layer(3, backoff_s=1.0)
    last = _down()
    call, calls = _failing([_down(), _down(), _down(), last])
    with pytest.raises(ProviderUnavailable) as info:
        layer.run(call)
    assert info.value is last
    assert len(calls) == 4
    assert slept == [1.0, 2.0, 4.0]


def test_backoff_doubles_up_to_its_cap() -> None:
    layer, slept = _layer(5, backoff_s=3.0)
    call, calls = _failing([_down()] * 5)
    assert layer.run(call) == "ok"
    assert len(calls) == 6
    assert slept == [3.0, 6.0, MAX_BACKOFF_S, MAX_BACKOFF_S, MAX_BACKOFF_S]
    assert MAX_BACKOFF_S == 8.0


@pytest.mark.parametrize(
    "error",
    [
        InvalidRequestError("bad", provider="openai", status=400),
        AuthError("no", provider="openai", status=401),
        _rate_limited(code="daily_rate_limit_exceeded"),
        _rate_limited(retry_after=3600),
    ],
)
def test_errors_that_are_not_transient_are_never_retried(error: ProviderError) -> None:
    layer, slept = _layer(5)
    call, calls = _failing([error])
    with pytest.raises(type(error)):
        layer.run(call)
    assert len(calls) == 1 and slept == []


def test_retry_after_is_honoured_even_when_zero() -> None:
    layer, slept = _layer(3, backoff_s=2.0)
    call, _ = _failing(
        [_rate_limited(retry_after=0), _rate_limited(retry_after=7.5), _down(retry_after=MAX_RETRY_AFTER_S)]
    )
    assert layer.run(call) == "ok"
    assert slept == [0.0, 7.5, MAX_RETRY_AFTER_S]
    assert MAX_RETRY_AFTER_S == 120.0


def test_a_success_returns_at_once() -> None:
    layer, slept = _layer(3)
    call, calls = _failing([], result="value")
    assert layer.run(call) == "value"
    assert len(calls) == 1 and slept == []


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (401, None, AuthError),
        (403, None, PermissionError_),
        (404, None, RemoteNotFoundError),
        (429, None, RateLimitError),
        (400, "rate_limit", RateLimitError),
        (500, None, ProviderUnavailable),
        (503, None, ProviderUnavailable),
        (400, None, InvalidRequestError),
        (422, "invalid", InvalidRequestError),
        (409, None, InvalidRequestError),
    ],
)
def test_status_errors(status: int, code: str | None, kind: type[ProviderError]) -> None:
    error = status_error(
        "the message", provider="openai", status=status, code=code, request_id="req_1", retry_after_s=2.0, hints=HINTS
    )
    assert type(error) is kind
    assert (error.message, error.provider, error.status, error.code, error.request_id) == (
        "the message",
        "openai",
        status,
        code,
        "req_1",
    )
    assert error.hint
    if kind in (RateLimitError, ProviderUnavailable):
        assert error.retry_after_s == 2.0
    else:
        assert error.retry_after_s is None


def test_each_kind_keeps_its_own_hint() -> None:
    def hint(status: int) -> str | None:
        return status_error(
            "m", provider="openai", status=status, code=None, request_id=None, retry_after_s=None, hints=HINTS
        ).hint

    assert hint(401) == HINTS.auth
    assert hint(403) == HINTS.permission
    assert hint(503) == HINTS.unavailable
    assert hint(404) == "check the id; `ftclient jobs list` shows known jobs"
    assert hint(429) == "wait a moment and run the same command again; it resumes where it stopped"
    assert hint(400) == "fix the request as the message says"


def _not_found(endpoint: str | None, base_url_var: str | None = "OPENAI_BASE_URL") -> str | None:
    return status_error(
        "m",
        provider="openai",
        status=404,
        code=None,
        request_id=None,
        retry_after_s=None,
        hints=HINTS,
        endpoint=endpoint,
        base_url_var=base_url_var,
    ).hint


def test_a_404_from_a_base_url_without_a_version_says_so_without_the_password() -> None:
    assert _not_found("https://alice:s3cret@proxy.example/openai") == (
        "the base URL https://***@proxy.example/openai probably lacks /v1 (the API lives under it): "
        "set OPENAI_BASE_URL=https://***@proxy.example/openai/v1 and run the command again"
    )
    assert _not_found("http://127.0.0.1:8000", None) == (
        "the base URL http://127.0.0.1:8000 probably lacks /v1 (the API lives under it): "
        "set the base URL=http://127.0.0.1:8000/v1 and run the command again"
    )
    for versioned in ("https://api.openai.com/v1", "https://host/v1beta1/projects/p", "https://host/v2/"):
        assert _not_found(versioned) == "check the id; `ftclient jobs list` shows known jobs"


@pytest.mark.parametrize("code", ["insufficient_quota", "billing_hard_limit_reached", "billing_not_active"])
def test_a_429_whose_code_says_the_quota_is_spent_is_not_a_rate_limit(code: str) -> None:
    error = status_error(
        "Request refused.", provider="openai", status=429, code=code, request_id=None, retry_after_s=1.0, hints=HINTS
    )
    assert type(error) is QuotaExhaustedError and not is_transient(error)
    assert (error.message, error.code, error.hint) == ("Request refused.", code, QUOTA_HINT)


def test_adapters_built_without_settings_use_the_configuration_defaults() -> None:
    from ftclient.config import resolve

    assert request_settings(None) == request_settings(resolve())  # conftest's hermetic env: no overrides
    assert request_settings(None) == {"max_retries": 4, "timeout_s": 120.0, "retry_backoff_s": 0.5}


def test_unreachable() -> None:
    slow = unreachable(
        "listing jobs",
        "https://api.example/v1",
        provider="openai",
        timeout_s=30,
        timed_out=True,
        cause="read timeout",
        base_url_var="OPENAI_BASE_URL",
    )
    assert slow.message == "listing jobs: https://api.example/v1 did not answer within 30s"
    assert slow.code == "timeout" and slow.provider == "openai"
    assert slow.hint == "try again; raise FTCLIENT_REQUEST_TIMEOUT_S if it keeps happening"
    assert is_transient(slow)
    gone = unreachable(
        "listing jobs",
        "https://api.example/v1",
        provider="together",
        timeout_s=30,
        timed_out=False,
        cause="connection refused",
        base_url_var="TOGETHER_BASE_URL",
    )
    assert gone.message == "listing jobs: cannot reach https://api.example/v1 (connection refused)"
    assert gone.code == "connection" and gone.provider == "together"
    assert gone.hint == "check the network and TOGETHER_BASE_URL, then run the same command again"


def test_scrub() -> None:
    assert scrub("key sk-abcd1234 was wrong", "sk-abcd1234") == "key [redacted] was wrong"
    assert scrub("a b c", "abc") == "a b c"  # a three-character "secret" would blank ordinary text
    assert scrub("abcd abcd", "abcd") == "[redacted] [redacted]"
    assert scrub("nothing", None) == "nothing"
    assert scrub("nothing", "") == "nothing"
