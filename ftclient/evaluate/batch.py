"""``--batch``: the same evaluation through the provider's Batch API, at half the price.

One batch per model (the Batch API wants one model per input file). Each line's ``custom_id`` is
``role:index:hash8``, and results are joined on it — output files are not in input order. Answers already
in the response cache are not sent again, and every batch answer is cached, so a batch evaluation and an
online one share their answers. Lines in the error file, and lines missing from both files, become failed
examples with the provider's message.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

from ftclient.errors import EvaluationError, UserInputError, WaitTimeout
from ftclient.evaluate.runner import Call, ResponseCache, answer_from_cache, request_hash
from ftclient.evaluate.types import Answer
from ftclient.providers.base import BatchInfo, BatchProvider, Provider

BATCH_ENDPOINT = "/v1/chat/completions"
TERMINAL = {"completed", "failed", "expired", "cancelled"}
MAX_LINES = 50_000
BATCH_DISCOUNT = 0.5


def custom_id(call: Call) -> str:
    return f"{call.role}:{call.index}:{request_hash(call.request)[:8]}"


def batch_line(call: Call) -> dict[str, Any]:
    req = call.request
    body: dict[str, Any] = {
        "model": req.model,
        "messages": [dict(m) for m in req.messages],
        "temperature": req.temperature,
    }
    if req.max_tokens is not None:
        body["max_tokens"] = req.max_tokens
    if req.seed is not None:
        body["seed"] = req.seed
    return {"custom_id": custom_id(call), "method": "POST", "url": BATCH_ENDPOINT, "body": body}


def build_jsonl(calls: Sequence[Call], path: Path) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for call in calls:
            fh.write(json.dumps(batch_line(call), ensure_ascii=False) + "\n")
    return path


def parse_results(text: str) -> dict[str, dict[str, Any]]:
    """Output or error file lines by ``custom_id``."""
    out: dict[str, dict[str, Any]] = {}
    for line in text.splitlines():
        if line.strip():
            record = json.loads(line)
            out[str(record.get("custom_id"))] = record
    return out


def answer_from_line(index: int, record: dict[str, Any] | None) -> tuple[Answer, dict[str, Any] | None]:
    """The answer a result line holds and, when it succeeded, what to cache."""
    if record is None:
        return Answer(index=index, text="", attempts=1, error="missing from the batch output and error files"), None
    response = record.get("response") or {}
    body = response.get("body") or {}
    error = record.get("error") or body.get("error")
    if response.get("status_code") != 200 or error:
        message = (error or {}).get("message") if isinstance(error, dict) else str(error)
        return Answer(
            index=index, text="", attempts=1, error=f"HTTP {response.get('status_code')}: {message or 'no message'}"
        ), None
    choice = (body.get("choices") or [{}])[0]
    usage = body.get("usage") or {}
    text = (choice.get("message") or {}).get("content") or ""
    cached = {
        "text": text,
        "model": body.get("model"),
        "prompt_tokens": int(usage.get("prompt_tokens", 0)),
        "completion_tokens": int(usage.get("completion_tokens", 0)),
        "latency_s": 0.0,
        "finish_reason": choice.get("finish_reason"),
        "request_id": response.get("request_id"),
    }
    return Answer(
        index=index,
        text=text,
        prompt_tokens=cached["prompt_tokens"],
        completion_tokens=cached["completion_tokens"],
        attempts=1,
        model=str(body.get("model") or ""),
    ), cached


class BatchRunner:
    """Submit, poll and collect one batch per model. ``sleep`` and ``clock`` are injectable for tests."""

    def __init__(
        self,
        provider: Provider,
        provider_name: str,
        *,
        cache: ResponseCache | None = None,
        use_cache: bool = True,
        poll_s: float = 10.0,
        timeout_s: float = 24 * 3600.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        on_status: Callable[[str, BatchInfo], None] | None = None,
    ) -> None:
        if not provider.capabilities.batch or not isinstance(provider, BatchProvider):
            raise UserInputError(
                f"{provider_name} has no batch inference API", hint="run the evaluation without --batch"
            )
        self.provider = provider
        self.batches = cast(BatchProvider, provider)
        self.provider_name = provider_name
        self.cache = cache
        self.use_cache = use_cache
        self.poll_s = poll_s
        self.timeout_s = timeout_s
        self.sleep = sleep
        self.clock = clock
        self.on_status = on_status
        self.batch_ids: list[str] = []

    def run(self, calls: Sequence[Call]) -> dict[tuple[str, int], Answer]:
        answers: dict[tuple[str, int], Answer] = {}
        pending: dict[str, list[Call]] = {}
        for call in calls:
            hit = None
            if self.cache is not None and self.use_cache:
                hit = self.cache.cache_get(self.provider_name, call.request.model, request_hash(call.request))
            if hit is not None:
                answers[call.key] = answer_from_cache(call.index, hit)
            else:
                pending.setdefault(call.request.model, []).append(call)
        for model, model_calls in pending.items():
            for start in range(0, len(model_calls), MAX_LINES):
                answers.update(self._one_batch(model, model_calls[start : start + MAX_LINES]))
        return answers

    def _one_batch(self, model: str, calls: Sequence[Call]) -> dict[tuple[str, int], Answer]:
        with tempfile.TemporaryDirectory(prefix="ftclient-batch-") as tmp:
            path = build_jsonl(calls, Path(tmp) / "batch_input.jsonl")
            uploaded = self.provider.upload_file(path, purpose="batch")
        info = self.batches.create_batch(
            uploaded.id, endpoint=BATCH_ENDPOINT, metadata={"ftclient": "evaluate", "model": model[:200]}
        )
        self.batch_ids.append(info.id)
        started = self.clock()
        while info.status not in TERMINAL:
            if self.on_status is not None:
                self.on_status(model, info)
            if self.clock() - started > self.timeout_s:
                raise WaitTimeout(
                    f"batch {info.id}",
                    self.clock() - started,
                    hint="the batch keeps running; answers are collected when you rerun",
                )
            self.sleep(self.poll_s)
            info = self.batches.get_batch(info.id)
        if self.on_status is not None:
            self.on_status(model, info)
        if info.status != "completed" and not info.output_file and not info.error_file:
            raise EvaluationError(
                f"batch {info.id} for {model} ended {info.status} with no results",
                hint="check the batch with the provider's dashboard, or run without --batch",
            )
        results: dict[str, dict[str, Any]] = {}
        for file_id in (info.error_file, info.output_file):
            if file_id:
                results.update(parse_results(self.provider.download_file(file_id).decode("utf-8")))
        answers: dict[tuple[str, int], Answer] = {}
        for call in calls:
            answer, cached = answer_from_line(call.index, results.get(custom_id(call)))
            if cached is not None and self.cache is not None:
                self.cache.cache_put(self.provider_name, call.request.model, request_hash(call.request), cached)
            answers[call.key] = answer
        return answers
