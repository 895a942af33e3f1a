"""bedrock-runtime's Converse, answered by the honest models.

``modelId`` may be a foundation model (the weak baseline answers), a provisioned model ARN that is
``InService`` or a custom model deployment ARN that is ``Active`` (the custom model answers by nearest
neighbour over its training examples). A custom model ARN on its own is refused, as Bedrock refuses it: a
custom model answers only through provisioned throughput or a deployment. Requests are charged to the rate
limiter per model (``ThrottlingException`` when over).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ftclient.emulator.bedrock import catalog, rules
from ftclient.emulator.bedrock.wire import aws_error
from ftclient.emulator.http import Request, Response, Router, json_response
from ftclient.emulator.openai.learner import NearestNeighbour, baseline_answer

if TYPE_CHECKING:
    from ftclient.emulator.bedrock.app import BedrockApp

DEFAULT_OUTPUT_ESTIMATE = 256


def _text(blocks: Any, where: str) -> str:
    if not isinstance(blocks, list):
        raise aws_error(400, "ValidationException", f"{where} must be a list of content blocks")
    texts = [b["text"] for b in blocks if isinstance(b, dict) and isinstance(b.get("text"), str)]
    if len(texts) != len(blocks):
        raise aws_error(400, "ValidationException", f"{where}: the emulator answers text content blocks only")
    return "\n".join(texts)


class Runtime:
    def __init__(self, app: BedrockApp) -> None:
        self.app = app

    def register(self, router: Router) -> None:
        router.add("POST", "/bedrock/model/{model}/converse", self.converse)

    def _resolve(self, model_id: str) -> tuple[NearestNeighbour | None, str]:
        """(the custom model's learner, or None for a foundation model's baseline; the rate-limit pool)."""
        now = self.app.now()
        provisioned = self.app.serving.serving_provisioned(model_id)
        if provisioned is not None:
            if provisioned.status(now) != "InService":
                raise aws_error(400, "ValidationException", f"The provisioned model {model_id} is not InService yet")
            return self.app.jobs.learner(provisioned.model_arn), provisioned.arn
        deployment = self.app.serving.serving_deployment(model_id)
        if deployment is not None:
            if deployment.status(now) != "Active":
                raise aws_error(400, "ValidationException", f"The deployment {model_id} is not Active yet")
            return self.app.jobs.learner(deployment.model_arn), deployment.arn
        if self.app.jobs.model(model_id) is not None:
            raise aws_error(400, "ValidationException",
                            "Invocation of a custom model with on-demand throughput isn't supported. Use provisioned "
                            "throughput or a custom model deployment and call it by its ARN.")
        base = catalog.base_of(model_id)
        if base is None:
            raise aws_error(404, "ResourceNotFoundException", f"The model {model_id} does not exist in this emulator")
        return None, base

    def converse(self, request: Request) -> Response:
        started = time.perf_counter()
        model_id = unquote(request.params["model"])
        body = request.json()
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise aws_error(400, "ValidationException", "messages must hold at least one message")
        chat: list[dict[str, str]] = []
        if body.get("system"):
            chat.append({"role": "system", "content": _text(body["system"], "system")})
        for index, message in enumerate(messages):
            role = message.get("role") if isinstance(message, dict) else None
            if role not in ("user", "assistant"):
                raise aws_error(400, "ValidationException", f"messages.{index}.role must be user or assistant")
            chat.append({"role": role, "content": _text(message.get("content"), f"messages.{index}.content")})
        if chat[-1]["role"] != "user":
            raise aws_error(400, "ValidationException", "A conversation must end with a user message.")
        learner, pool = self._resolve(model_id)
        config = body.get("inferenceConfig") or {}
        max_out = config.get("maxTokens")
        input_tokens = sum(rules.estimate_tokens(m["content"]) for m in chat)
        admission = self.app.services.limiter.admit(pool, input_tokens + int(max_out or DEFAULT_OUTPUT_ESTIMATE))
        if not admission.ok:
            retry = str(max(1, round(admission.retry_after_s)))
            raise aws_error(429, "ThrottlingException", "Too many requests, please wait before trying again.",
                            headers={**admission.headers, "retry-after": retry})
        if learner is not None:
            answer, similarity = learner.answer(chat)
            note = f"nearest-neighbour; similarity={similarity:.3f}"
        else:
            answer, note = baseline_answer(chat), "baseline"
        output_tokens, stop = rules.estimate_tokens(answer), "end_turn"
        if isinstance(max_out, int) and 0 < max_out < output_tokens:
            answer, output_tokens, stop = answer[: max_out * 4], max_out, "max_tokens"
        stats = self.app.services.stats
        stats.bump("completions")
        stats.bump("prompt_tokens", input_tokens)
        stats.bump("completion_tokens", output_tokens)
        response = json_response(
            {
                "output": {"message": {"role": "assistant", "content": [{"text": answer}]}},
                "stopReason": stop,
                "usage": {"inputTokens": input_tokens, "outputTokens": output_tokens,
                          "totalTokens": input_tokens + output_tokens},
                "metrics": {"latencyMs": max(1, int((time.perf_counter() - started) * 1000))},
            }
        )
        response.headers.update(admission.headers)
        response.headers["x-emulator-answer"] = note
        return response
