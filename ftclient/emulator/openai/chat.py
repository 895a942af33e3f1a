"""``/v1/chat/completions`` answered by the honest models (``/v1/models`` is in ``models.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ftclient.emulator.http import ApiError, Request, Response, Router, json_response
from ftclient.emulator.openai import accounting
from ftclient.emulator.openai.learner import baseline_answer

if TYPE_CHECKING:
    from ftclient.emulator.openai.app import OpenAIApp

SYSTEM_FINGERPRINT = "fp_ftclient_emulator"
DEFAULT_OUTPUT_ESTIMATE = 256
"""Completion tokens charged against TPM at admission when the request sets no max_tokens."""


class Chat:
    def __init__(self, app: OpenAIApp) -> None:
        self.app = app

    def register(self, router: Router) -> None:
        router.add("POST", "/v1/chat/completions", self.create)

    def create(self, request: Request) -> Response:
        body = request.json()
        result, headers = self.complete(body, rate_limited=True)
        response = json_response(result)
        response.headers.update(headers)
        return response

    def complete(self, body: dict[str, Any], *, rate_limited: bool) -> tuple[dict[str, Any], dict[str, str]]:
        """The chat completion for ``body`` and the headers to send with it (batches call this too)."""
        model, messages, n, max_out = _check_request(body)
        kind, snapshot, learner = self.app.chat_model(model)
        prompt_tokens = accounting.chat_tokens(messages, snapshot, body.get("tools"))
        headers: dict[str, str] = {}
        if rate_limited:
            charge = prompt_tokens + n * (max_out or DEFAULT_OUTPUT_ESTIMATE)
            admission = self.app.services.limiter.admit(snapshot, charge)
            headers.update(admission.headers)
            if not admission.ok:
                raise ApiError(
                    429, admission.message, type=admission.kind, code="rate_limit_exceeded", headers=admission.headers
                )
        if learner is not None:
            answer, similarity = learner.answer(messages)
            headers["x-emulator-answer"] = f"nearest-neighbour; similarity={similarity:.3f}"
        else:
            answer = baseline_answer(messages)
            headers["x-emulator-answer"] = "baseline"
        answer, finish_reason = _stop(answer, body.get("stop"))
        encoding = accounting.encoding_for(snapshot)
        ids = encoding.encode(answer, disallowed_special=())
        if max_out is not None and len(ids) > max_out:
            ids = ids[:max_out]
            answer = encoding.decode(ids)
            finish_reason = "length"
        completion_tokens = len(ids)
        logprobs = None
        if body.get("logprobs"):
            logprobs = {"content": [_token_logprob(encoding.decode([i])) for i in ids], "refusal": None}
        choice = {
            "index": 0,
            "message": {"role": "assistant", "content": answer, "refusal": None, "annotations": []},
            "logprobs": logprobs,
            "finish_reason": finish_reason,
        }
        stats = self.app.services.stats
        stats.bump("completions")
        stats.bump("prompt_tokens", prompt_tokens)
        stats.bump("completion_tokens", completion_tokens * n)
        result = {
            "id": self.app.store.new_id("chatcmpl-", 29),
            "object": "chat.completion",
            "created": int(self.app.now()),
            "model": model if kind == "tuned" else snapshot,
            "choices": [dict(choice, index=i) for i in range(n)],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens * n,
                "total_tokens": prompt_tokens + completion_tokens * n,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {
                    "reasoning_tokens": 0,
                    "audio_tokens": 0,
                    "accepted_prediction_tokens": 0,
                    "rejected_prediction_tokens": 0,
                },
            },
            "service_tier": "default",
            "system_fingerprint": SYSTEM_FINGERPRINT,
        }
        return result, headers


def _check_request(body: dict[str, Any]) -> tuple[str, list[dict[str, Any]], int, int | None]:
    """(model, messages, n, max output tokens) after the checks OpenAI makes, or a 400."""
    model = body.get("model")
    messages = body.get("messages")
    if not model or not isinstance(model, str):
        raise ApiError(400, "Missing required parameter: 'model'.", param="model", code="missing_required_parameter")
    if not isinstance(messages, list) or not messages:
        raise ApiError(
            400,
            "Invalid 'messages': empty array. Expected an array with minimum length 1.",
            param="messages",
            code="empty_array",
        )
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in {
            "system",
            "developer",
            "user",
            "assistant",
            "tool",
            "function",
        }:
            raise ApiError(
                400,
                f"Invalid 'messages[{index}]': each message needs a role of system, developer, "
                "user, assistant or tool.",
                param=f"messages[{index}]",
            )
    if body.get("stream"):
        raise ApiError(400, "The emulator does not stream; send the request with stream=false.", param="stream")
    n = _int_param(body, "n", 1, 1, 128)
    _number_param(body, "temperature", 0.0, 2.0)
    _number_param(body, "top_p", 0.0, 1.0)
    max_out = body.get("max_completion_tokens") or body.get("max_tokens")
    if max_out is not None:
        name = "max_completion_tokens" if body.get("max_completion_tokens") else "max_tokens"
        max_out = _int_param(body, name, 1, 1, 1_000_000)
    top_logprobs = body.get("top_logprobs")
    if top_logprobs is not None:
        if not body.get("logprobs"):
            raise ApiError(400, "'top_logprobs' requires 'logprobs' to be true.", param="top_logprobs")
        _int_param(body, "top_logprobs", 0, 0, 20)
    return model, messages, n, max_out


def _int_param(body: dict[str, Any], name: str, default: int, lo: int, hi: int) -> int:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ApiError(
            400,
            f"Invalid '{name}': expected an integer between {lo} and {hi}, got {value!r}.",
            param=name,
            code="invalid_value",
        )
    return value


def _number_param(body: dict[str, Any], name: str, lo: float, hi: float) -> None:
    value = body.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise ApiError(
            400,
            f"Invalid '{name}': expected a number between {lo:g} and {hi:g}, got {value!r}.",
            param=name,
            code="invalid_value",
        )


def _stop(answer: str, stop: Any) -> tuple[str, str]:
    sequences = [stop] if isinstance(stop, str) else [s for s in (stop or []) if isinstance(s, str) and s]
    cut = min((answer.find(s) for s in sequences if s in answer), default=-1)
    return (answer[:cut], "stop") if cut >= 0 else (answer, "stop")


def _token_logprob(token: str) -> dict[str, Any]:
    # The emulator's models are certain of what they say: probability 1, logprob 0.
    return {"token": token, "logprob": 0.0, "bytes": list(token.encode("utf-8")), "top_logprobs": []}
