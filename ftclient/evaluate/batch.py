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
from typing import Any

from ftclient.errors import EvaluationError, UserInputError, WaitTimeout
from ftclient.evaluate.runner import Call, ResponseCache, answer_from_cache, request_hash
from ftclient.evaluate.types import Answer
from ftclient.providers.base import BatchInfo, BatchProvider, Provider

BATCH_ENDPOINT = "/v1/chat/completions"
TERMINAL = {"completed", "failed", "expired", "cancelled"}
# Batch guide (platform.openai.com/docs/guides/batch, 2024-2026): an input file holds at most 50,000
# requests and 200 MB.
MAX_LINES = 50_000
MAX_INPUT_BYTES = 200 * 1024 * 1024
BATCH_DISCOUNT = 0.5


def custom_id(call: Call) -> str:
    return f"{call.role}:{call.index}:{request_hash(call.request)[:8]}"


def batch_line(call: Call) -> dict[str, Any]:
    return {"custom_id": custom_id(call), "method": "POST", "url": BATCH_ENDPOINT, "body": call.request.body()}


def encoded_line(call: Call) -> bytes:
    return (json.dumps(batch_line(call), ensure_ascii=False) + "\n").encode("utf-8")


def build_jsonl(calls: Sequence[Call], path: Path) -> Path:
    with path.open("wb") as fh:
        for call in calls:
            fh.write(encoded_line(call))
    return path


def split_for_batches(
    calls: Sequence[Call], *, max_lines: int = MAX_LINES, max_bytes: int = MAX_INPUT_BYTES
) -> list[list[Call]]:
    """The calls in input files the Batch API accepts: at most ``max_lines`` lines and ``max_bytes`` each."""
    chunks: list[list[Call]] = []
    current: list[Call] = []
    size = 0
    for call in calls:
        n = len(encoded_line(call))
        if n > max_bytes:
            raise UserInputError(
                f"one batch request ({call.role} example {call.index}) is {n:,} bytes; a batch input file "
                f"holds at most {max_bytes:,}",
                hint="run this evaluation without --batch",
            )
        if current and (len(current) >= max_lines or size + n > max_bytes):
            chunks.append(current)
            current, size = [], 0
        current.append(call)
        size += n
    if current:
        chunks.append(current)
    return chunks


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


def batches_for(provider: Provider, provider_name: str) -> BatchProvider:
    """The provider's own batch API (through its adapter: same credentials, headers and retry layer)."""
    if provider.capabilities.batch and isinstance(provider, BatchProvider):
        return provider
    raise UserInputError(
        f"{provider_name} has no batch inference API that ftclient can use", hint="run the evaluation without --batch"
    )


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
        batches: BatchProvider | None = None,
        max_lines: int = MAX_LINES,
        max_bytes: int = MAX_INPUT_BYTES,
    ) -> None:
        self.provider = provider
        self.batches = batches or batches_for(provider, provider_name)
        self.provider_name = provider_name
        self.cache = cache
        self.use_cache = use_cache
        self.poll_s = poll_s
        self.timeout_s = timeout_s
        self.sleep = sleep
        self.clock = clock
        self.on_status = on_status
        self.batch_ids: list[str] = []
        self.max_lines = max_lines
        self.max_bytes = max_bytes

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
            for chunk in split_for_batches(model_calls, max_lines=self.max_lines, max_bytes=self.max_bytes):
                answers.update(self._one_batch(model, chunk))
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
