"""``/v1/chat/completions`` and ``/v1/models`` in Together's dialect, answered by the honest models.

A base model that Together serves serverless answers with the weak baseline. A tuned model answers by
nearest neighbour over its training examples: serverless, by its output name, when it is a LoRA adapter
on a base the catalogue lists as serving LoRA serverless (docs.together.ai/docs/adapter-upload); otherwise
only through a dedicated endpoint that is ``STARTED`` (``model`` = the endpoint's ``name``), and every
answer keeps the endpoint from idling out. Asking for any other tuned model directly answers 404
``model_not_available`` with the live API's wording (real-payloads/together/error-404-1). Token counts are
the emulator's own estimate (tokens.py).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from ftclient.emulator.http import ApiError, Request, Response, Router, chat_request, json_response
from ftclient.emulator.openai.learner import baseline_answer
from ftclient.emulator.together import catalog, tokens

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
        body, model, messages = chat_request(request)
        learner, pool, served = self._resolve(model)
        prompt_tokens = tokens.message_tokens(messages)
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
        completion_tokens = tokens.text_tokens(answer)
        finish = "stop"
        if isinstance(max_out, int) and max_out > 0 and completion_tokens > max_out:
            answer = tokens.truncate(answer, max_out)
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
        job = self.app.tuned_job(model)
        if job is not None:
            lora = str((job.obj.get("training_type") or {}).get("type", "Lora")).lower() == "lora"
            if lora and catalog.serverless_lora(job.obj["model"]):
                return self.app.learner(job), model, model
            raise ApiError(
                404,
                f"Unable to access model {model}. Please visit https://api.together.ai/models to view the list "
                "of supported models.",
                type="invalid_request_error",
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
