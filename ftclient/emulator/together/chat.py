"""``/v1/chat/completions`` and ``/v1/models`` in Together's dialect, answered by the honest models.

A base model that Together serves serverless answers with the weak baseline. A tuned model answers only
through a dedicated endpoint that is ``STARTED`` (``model`` = the endpoint's ``name``), by nearest
neighbour over its training examples; every answer keeps the endpoint from idling out. Asking for a tuned
model directly, or for a stopped endpoint, fails like Together does. Token counts use the o200k_base
stand-in (the emulator has no open-weight tokenizer either).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from ftclient.emulator.http import ApiError, Request, Response, Router, chat_request, json_response
from ftclient.emulator.openai.learner import baseline_answer
from ftclient.emulator.together import catalog

if TYPE_CHECKING:
    from ftclient.emulator.together.app import TogetherApp

DEFAULT_OUTPUT_ESTIMATE = 256
MODEL_CREATED = 1_700_000_000


class Chat:
    def __init__(self, app: TogetherApp) -> None:
        self.app = app

    def register(self, router: Router) -> None:
        router.add("POST", "/v1/chat/completions", self.create)
        router.add("GET", "/v1/models", self.models)

    def create(self, request: Request) -> Response:
        from ftclient import tokens

        body, model, messages = chat_request(request)
        learner, pool, served = self._resolve(model)
        prompt_tokens = 3 + sum(
            4 + tokens.estimate_text(str(m.get("content") or "")) for m in messages if isinstance(m, dict)
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
        completion_tokens = tokens.estimate_text(answer)
        finish = "stop"
        if isinstance(max_out, int) and max_out > 0 and completion_tokens > max_out:
            encoding = tokens.get_encoding(tokens.O200K)
            answer = encoding.decode(encoding.encode_ordinary(answer)[:max_out])
            completion_tokens, finish = max_out, "length"
        stats = self.app.services.stats
        stats.bump("completions")
        stats.bump("prompt_tokens", prompt_tokens)
        stats.bump("completion_tokens", completion_tokens)
        result = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(self.app.now()),
            "model": served,
            "prompt": [],
            "choices": [
                {
                    "index": 0,
                    "seed": int(body.get("seed") or 0),
                    "finish_reason": finish,
                    "message": {"role": "assistant", "content": answer, "tool_calls": []},
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        response = json_response(result)
        response.headers.update(admission.headers)
        response.headers["x-emulator-answer"] = note
        return response

    def _resolve(self, model: str) -> tuple[Any, str, str]:
        """(learner or None for the baseline, rate-limit pool, model name to report)."""
        endpoint = self.app.endpoints.serving(model)
        if endpoint is not None:
            state = endpoint.obj["state"]
            if state != "STARTED":
                raise ApiError(
                    400,
                    f"Unable to access model {model}: its dedicated endpoint is {state}. Start it (PATCH "
                    f"/endpoints/{endpoint.obj['id']} with state STARTED) and wait until it is STARTED.",
                    param="model",
                    code="model_not_available",
                )
            with self.app.store.lock:
                endpoint.last_request = self.app.now()
            job = self.app.tuned_job(endpoint.obj["model"])
            learner = self.app.learner(job) if job is not None else None
            return learner, endpoint.obj["name"], endpoint.obj["name"]
        if self.app.tuned_job(model) is not None:
            raise ApiError(
                400,
                f"Unable to access non-serverless model {model}. Create and start a new dedicated endpoint for "
                "the model (POST /endpoints), then send requests to the endpoint's name.",
                param="model",
                code="model_not_available",
            )
        if model in catalog.SERVERLESS:
            return None, model, model
        raise ApiError(404, f"Unable to access model {model}: no such model.", param="model", code="model_not_found")

    def models(self, request: Request) -> Response:
        data: list[dict[str, Any]] = []
        for name, (input_price, output_price) in sorted(catalog.SERVERLESS.items()):
            data.append(
                {
                    "id": name,
                    "object": "model",
                    "created": MODEL_CREATED,
                    "type": "chat",
                    "display_name": name.rsplit("/", 1)[-1],
                    "organization": name.split("/", 1)[0],
                    "pricing": {"input": input_price, "output": output_price, "hourly": 0, "base": 0, "finetune": 0},
                }
            )
        for name in self.app.tuned_names():
            data.append({"id": name, "object": "model", "created": MODEL_CREATED, "type": "chat"})
        return json_response(data)
