"""``--batch``: the same evaluation through the provider's Batch API, at half the price.

One batch per model (the Batch API wants one model per input file). Each line's ``custom_id`` is
``role:index:hash8``, and results are joined on it — output files are not in input order. Answers already
in the response cache are not sent again, and every batch answer is cached, so a batch evaluation and an
online one share their answers. Lines in the error file, and lines missing from both files, become failed
examples with the provider's message.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ftclient.errors import EvaluationError, InvalidRequestError, ProviderUnavailable, UserInputError, WaitTimeout
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
    return {"custom_id": custom_id(call), "method": "POST", "url": BATCH_ENDPOINT, "body": call.request.body()}


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


class HTTPBatches:
    """``/v1/batches`` of an OpenAI-compatible API, spoken directly with httpx2.

    Used when the provider adapter has no batch methods of its own: files still go through the adapter
    (upload with purpose ``batch``, download of the output and error files); only creating and polling
    the batch object happens here, with the same ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL`` the adapter uses.
    """

    def __init__(self, base_url: str, api_key: str, *, provider: str = "openai", timeout_s: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self.provider = provider
        self.timeout_s = timeout_s

    def _request(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> BatchInfo:
        import httpx2

        try:
            response = httpx2.request(
                method, f"{self.base_url}{path}", json=body, headers=self._headers, timeout=self.timeout_s
            )
        except httpx2.HTTPError as exc:
            raise ProviderUnavailable(
                f"cannot reach {self.base_url} ({type(exc).__name__})",
                provider=self.provider,
                hint="check the network, then run the same command again: answers already collected are cached",
            ) from exc
        if response.status_code >= 400:
            try:
                message = str(response.json()["error"]["message"])
            except (ValueError, KeyError, TypeError):
                message = response.text[:200]
            cls = ProviderUnavailable if response.status_code >= 500 else InvalidRequestError
            raise cls(
                f"batch request {method} {path} failed: {message} (HTTP {response.status_code})",
                provider=self.provider,
                status=response.status_code,
                request_id=response.headers.get("x-request-id"),
                hint="run without --batch to evaluate with ordinary requests",
            )
        return batch_info(response.json())

    def find_batch_for_file(self, input_file_id: str) -> BatchInfo | None:
        """The newest batch (of the last 100) made from this input file, if any: how a create whose
        answer was lost is found again instead of being sent twice."""
        import httpx2

        try:
            response = httpx2.get(
                f"{self.base_url}/batches", params={"limit": 100}, headers=self._headers, timeout=self.timeout_s
            )
            response.raise_for_status()
            items = response.json().get("data") or []
        except (httpx2.HTTPError, ValueError):
            return None
        for item in items:
            if item.get("input_file_id") == input_file_id:
                return batch_info(item)
        return None

    def create_batch(
        self, input_file_id: str, *, endpoint: str = BATCH_ENDPOINT, metadata: Mapping[str, str] | None = None
    ) -> BatchInfo:
        body: dict[str, Any] = {"input_file_id": input_file_id, "endpoint": endpoint, "completion_window": "24h"}
        if metadata:
            body["metadata"] = dict(metadata)
        return self._request("POST", "/batches", body)

    def get_batch(self, batch_id: str) -> BatchInfo:
        return self._request("GET", f"/batches/{batch_id}")

    def cancel_batch(self, batch_id: str) -> BatchInfo:
        return self._request("POST", f"/batches/{batch_id}/cancel")


def batch_info(data: Mapping[str, Any]) -> BatchInfo:
    counts = data.get("request_counts") or {}
    errors = ((data.get("errors") or {}).get("data") or [{}])[0] or {}
    return BatchInfo(
        id=str(data["id"]),
        status=str(data.get("status")),
        input_file=str(data.get("input_file_id")),
        output_file=data.get("output_file_id"),
        error_file=data.get("error_file_id"),
        total=int(counts.get("total", 0)),
        completed=int(counts.get("completed", 0)),
        failed=int(counts.get("failed", 0)),
        error_code=errors.get("code"),
        error_message=errors.get("message"),
    )


def batches_for(provider: Provider, provider_name: str) -> BatchProvider:
    """The provider's own batch API, or :class:`HTTPBatches` for an OpenAI adapter without batch methods."""
    if provider.capabilities.batch and isinstance(provider, BatchProvider):
        return provider
    endpoint = getattr(provider, "endpoint", None)
    api_key = os.environ.get("OPENAI_API_KEY")
    if provider_name == "openai" and endpoint and api_key:
        return HTTPBatches(str(endpoint), api_key, provider=provider_name)
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
