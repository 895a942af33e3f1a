"""``/inference/v1/chat/completions`` in Fireworks' dialect (OpenAI's request and response shape), answered by
the honest models.

A base model Fireworks serves serverless answers with the weak baseline. A tuned model answers only through a
READY deployment with its LoRA DEPLOYED (``model`` = ``accounts/<a>/models/<id>``, or ``…#<deployment>``), by
nearest neighbour over its training examples; each answer keeps the deployment from scaling to zero, and a
deployment scaled to zero answers 503 while a replica wakes. Anything else is 404 (Fireworks' "model not
found, inaccessible, and/or not deployed"). Errors here use OpenAI's ``{"error": {...}}`` shape.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from ftclient.emulator.fireworks import catalog, rules
from ftclient.emulator.http import ApiError, Request, Response, Router, chat_request, json_response
from ftclient.emulator.openai.learner import baseline_answer, content_text

if TYPE_CHECKING:
    from ftclient.emulator.fireworks.app import FireworksApp

DEFAULT_OUTPUT_ESTIMATE = 256


class Chat:
    def __init__(self, app: FireworksApp) -> None:
        self.app = app

    def register(self, router: Router) -> None:
        router.add("POST", "/inference/v1/chat/completions", self.create)

    def create(self, request: Request) -> Response:
        body, model, messages = chat_request(request)
        learner, pool = self._resolve(model)
        prompt_tokens = 3 + sum(
            4 + rules.estimate_tokens(content_text(m.get("content"))) for m in messages if isinstance(m, dict)
        )
        max_out = body.get("max_tokens")
        admission = self.app.services.limiter.admit(pool, prompt_tokens + int(max_out or DEFAULT_OUTPUT_ESTIMATE))
        if not admission.ok:
            raise ApiError(
                429, admission.message, type="rate_limit", code="rate_limit_exceeded", headers=admission.headers
            )
        if learner is not None:
            answer, similarity = learner.answer(messages)
            note = f"nearest-neighbour; similarity={similarity:.3f}"
        else:
            answer, note = baseline_answer(messages), "baseline"
        completion_tokens = rules.estimate_tokens(answer)
        finish = "stop"
        if isinstance(max_out, int) and 0 < max_out < completion_tokens:
            answer = answer[: max_out * 4]
            completion_tokens, finish = max_out, "length"
        stats = self.app.services.stats
        stats.bump("completions")
        stats.bump("prompt_tokens", prompt_tokens)
        stats.bump("completion_tokens", completion_tokens)
        response = json_response(
            {
                "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
                "object": "chat.completion",
                "created": int(self.app.now()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": answer},
                        "finish_reason": finish,
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
        )
        response.headers.update(admission.headers)
        response.headers["x-emulator-answer"] = note
        return response

    def _resolve(self, model: str) -> tuple[Any, str]:
        """(learner or None for the baseline, rate-limit pool)."""
        found = self.app.deployments.serving(model)
        if found is not None:
            deployment, addon = found
            with self.app.store.lock:
                wait = self.app.deployments.wake(deployment, self.app.now())
            if wait is not None:
                raise ApiError(
                    503,
                    f"Deployment {deployment.obj['name']} is scaling up from zero replicas; retry shortly.",
                    type="server_error",
                    code="scaling_up",
                    headers={"retry-after": str(max(1, round(wait / self.app.services.config.speed)))},
                )
            job = self.app.job_of_model(addon["model"])
            return (self.app.learner(job) if job is not None else None), deployment.obj["name"]
        tuned = model.partition("#")[0]
        if tuned in self.app.store.models:
            raise ApiError(
                404,
                f"Model not found, inaccessible, and/or not deployed: {model}. A tuned LoRA answers only from a "
                "deployment: create one with enableAddons and load the model on it (POST deployedModels).",
                param="model",
                code="NOT_FOUND",
            )
        if model in catalog.BASES:
            return None, model
        raise ApiError(
            404, f"Model not found, inaccessible, and/or not deployed: {model}", param="model", code="NOT_FOUND"
        )
