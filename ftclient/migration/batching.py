"""Large captures through the Batch API: split within the limits, submit concurrently, follow, retry, join.

Limits (OpenAI Batch API; research/evaluation.md A2, openai-python ``batch_create_params.py``, read
2026-12): at most 50,000 requests and 200 MB per input file, one model per file, and a limit on the prompt
tokens a model may have enqueued in batches at once (per organisation; shown in the account's limits,
so ftclient takes it as ``queue_tokens``). The requests are cut into contiguous chunks that respect the
first two; chunks are submitted while the enqueued tokens stay under the third and the rest wait for a
batch to finish. A batch the provider refuses for the enqueued-token limit (``token_limit_exceeded``)
goes back to the queue, and the limit learnt from it holds for the rest of the run.

Every step is written to a state file before and after it happens (``batches.json`` beside the capture),
so an interrupted capture re-attaches to its batches instead of paying for them twice: an input file
uploaded but not yet submitted is submitted once; a batch submitted is followed, never re-created.
Answers are put in the registry's response cache as each batch is collected. Lines that failed for a
reason that may pass (server errors, expiry, lines missing from both result files) are retried in new
batches, up to ``line_retries`` rounds; refusals (4xx) are final.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftclient.errors import WaitTimeout
from ftclient.evaluate.batch import BATCH_ENDPOINT, TERMINAL, answer_from_line, batch_line, custom_id, parse_results
from ftclient.evaluate.runner import Call, ResponseCache, request_hash
from ftclient.evaluate.types import Answer
from ftclient.providers.base import BatchInfo, BatchProvider, Provider

MAX_REQUESTS = 50_000
MAX_BYTES = 200 * 1024**2
BYTES_MARGIN = 0.98
"""Chunks stay 2% under the byte limit (the provider may count a trailing newline or encoding differently)."""
FINAL_STATUSES = (400, 401, 403, 404, 413, 422)


@dataclass
class Chunk:
    calls: list[Call]
    tokens: int
    bytes: int


@dataclass
class Limits:
    max_requests: int = MAX_REQUESTS
    max_bytes: int = MAX_BYTES
    queue_tokens: int | None = None
    """Enqueued prompt tokens allowed per model at once (None: unknown; learnt from a refusal)."""
    max_concurrent: int | None = None


@dataclass
class BatchStats:
    submitted: int = 0
    reattached: int = 0
    refused_for_tokens: int = 0
    retried_lines: int = 0
    peak_concurrent: int = 0
    peak_enqueued_tokens: int = 0
    batch_ids: list[str] = field(default_factory=list)


def prompt_tokens(call: Call) -> int:
    """What a request holds in the batch queue: its prompt tokens (the enqueued-token limit counts prompts,
    not answers; research/evaluation.md A2)."""
    return max(1, call.estimate - (call.request.max_tokens or 0))


def plan_chunks(calls: Sequence[Call], line_bytes: Sequence[int], limits: Limits) -> list[Chunk]:
    """Contiguous chunks of ``calls`` within the request, byte and (when known) token limits."""
    max_bytes = int(limits.max_bytes * BYTES_MARGIN)
    chunks: list[Chunk] = []
    current = Chunk([], 0, 0)
    for call, size in zip(calls, line_bytes, strict=True):
        full = (
            len(current.calls) >= limits.max_requests
            or current.bytes + size > max_bytes
            or (limits.queue_tokens is not None and current.tokens + prompt_tokens(call) > limits.queue_tokens)
        )
        if current.calls and full:
            chunks.append(current)
            current = Chunk([], 0, 0)
        current.calls.append(call)
        current.tokens += prompt_tokens(call)
        current.bytes += size
    if current.calls:
        chunks.append(current)
    return chunks


class StateFile:
    """``batches.json``: every batch of the capture and where it stands, written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: list[dict[str, Any]] = []
        if path.is_file():
            self.entries = list(json.loads(path.read_text(encoding="utf-8")).get("batches", []))

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"batches": self.entries}, indent=1), encoding="utf-8")
        os.replace(tmp, self.path)

    def open_entries(self) -> list[dict[str, Any]]:
        return [e for e in self.entries if e.get("state") != "collected"]


class ConcurrentBatches:
    """Run calls (one model) through the Batch API within ``limits``; see the module docstring."""

    def __init__(
        self,
        provider: Provider,
        batches: BatchProvider,
        provider_name: str,
        *,
        work_dir: Path,
        cache: ResponseCache | None,
        limits: Limits,
        poll_s: float = 10.0,
        timeout_s: float = 48 * 3600.0,
        line_retries: int = 2,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        on_status: Callable[[str, BatchInfo], None] | None = None,
    ) -> None:
        self.provider = provider
        self.batches = batches
        self.provider_name = provider_name
        self.work_dir = work_dir
        self.cache = cache
        self.limits = limits
        self.poll_s = poll_s
        self.timeout_s = timeout_s
        self.line_retries = line_retries
        self.sleep = sleep
        self.clock = clock
        self.on_status = on_status
        self.state = StateFile(work_dir / "batches.json")
        self.stats = BatchStats()

    # -- the loop ----------------------------------------------------------------------------------
    def run(self, calls: Sequence[Call]) -> dict[tuple[str, int], Answer]:
        by_id = {custom_id(c): c for c in calls}
        answers: dict[tuple[str, int], Answer] = {}
        active: list[dict[str, Any]] = []
        covered: set[str] = set()
        for entry in self.state.open_entries():
            ids = self._entry_ids(entry)
            if not ids or not all(i in by_id for i in ids):
                entry["state"] = "collected"  # a batch of another run of this capture: nothing to join
                continue
            covered.update(ids)
            active.append(entry)
            self.stats.reattached += 1
        self.state.save()
        pending = [c for c in calls if custom_id(c) not in covered]
        started = self.clock()
        for round_no in range(self.line_retries + 1):
            queue = self._chunks(pending)
            retry: list[Call] = []
            while queue or active:
                queue = self._submit_what_fits(queue, active)
                if self.clock() - started > self.timeout_s:
                    raise WaitTimeout(
                        f"{len(active)} batch(es)",
                        self.clock() - started,
                        hint="the batches keep running; run the same command again to collect their answers",
                    )
                done = self._poll(active)
                for entry, info in done:
                    active.remove(entry)
                    if _refused_for_tokens(info):
                        queue[0:0] = self._requeue(entry, active, by_id)
                        entry["state"] = "collected"
                        continue
                    retry += self._collect(entry, info, by_id, answers, final=round_no == self.line_retries)
                self.state.save()
                if active and not done:
                    self.sleep(self.poll_s)
            if not retry:
                break
            self.stats.retried_lines += len(retry)
            pending = retry
        return answers

    def _chunks(self, calls: Sequence[Call]) -> list[Chunk]:
        sizes = [len(json.dumps(batch_line(c), ensure_ascii=False).encode("utf-8")) + 1 for c in calls]
        return plan_chunks(calls, sizes, self.limits)

    def _enqueued(self, active: Sequence[Mapping[str, Any]]) -> int:
        return sum(int(e.get("tokens", 0)) for e in active)

    def _fits(self, chunk: Chunk, active: Sequence[Mapping[str, Any]]) -> bool:
        if not active:
            return True
        if self.limits.max_concurrent is not None and len(active) >= self.limits.max_concurrent:
            return False
        limit = self.limits.queue_tokens
        return limit is None or self._enqueued(active) + chunk.tokens <= limit

    def _submit_what_fits(self, queue: list[Chunk], active: list[dict[str, Any]]) -> list[Chunk]:
        while queue and self._fits(queue[0], active):
            active.append(self._submit(queue.pop(0)))
            self.stats.peak_concurrent = max(self.stats.peak_concurrent, len(active))
            self.stats.peak_enqueued_tokens = max(self.stats.peak_enqueued_tokens, self._enqueued(active))
        return queue

    def _submit(self, chunk: Chunk) -> dict[str, Any]:
        """Write, upload and create one batch, recording each step before the next."""
        number = len(self.state.entries) + 1
        path = self.work_dir / "batches" / f"batch-{number:04d}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as fh:
            for call in chunk.calls:
                fh.write(json.dumps(batch_line(call), ensure_ascii=False) + "\n")
        entry: dict[str, Any] = {
            "number": number,
            "input": str(path.relative_to(self.work_dir)),
            "requests": len(chunk.calls),
            "tokens": chunk.tokens,
            "bytes": chunk.bytes,
            "state": "written",
        }
        self.state.entries.append(entry)
        self.state.save()
        return self._advance_entry(entry)

    def _advance_entry(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Upload and create whatever the entry still lacks (how a rerun finishes an interrupted submit)."""
        if not entry.get("file_id"):
            uploaded = self.provider.upload_file(self.work_dir / entry["input"], purpose="batch")
            entry.update(file_id=uploaded.id, state="uploaded")
            self.state.save()
        if not entry.get("batch_id"):
            found = _find_batch(self.batches, entry["file_id"])
            info = found or self.batches.create_batch(
                entry["file_id"], endpoint=BATCH_ENDPOINT, metadata={"ftclient": "capture"}
            )
            entry.update(batch_id=info.id, state="submitted")
            self.stats.submitted += 1
            self.stats.batch_ids.append(info.id)
            self.state.save()
        return entry

    def _poll(self, active: list[dict[str, Any]]) -> list[tuple[dict[str, Any], BatchInfo]]:
        done = []
        for entry in list(active):
            if not entry.get("batch_id"):
                self._advance_entry(entry)
            info = self.batches.get_batch(entry["batch_id"])
            entry["status"] = info.status
            if self.on_status is not None:
                self.on_status(entry["batch_id"], info)
            if info.status in TERMINAL:
                done.append((entry, info))
        return done

    def _requeue(
        self, entry: Mapping[str, Any], active: Sequence[Mapping[str, Any]], by_id: Mapping[str, Call]
    ) -> list[Chunk]:
        """A batch refused for the enqueued-token limit goes back to the queue, and the limit is learnt:
        it is below what was queued with this batch. Refused while alone, the batch itself is too big,
        so it is split under the learnt limit."""
        self.stats.refused_for_tokens += 1
        tokens = int(entry.get("tokens", 0))
        queued = self._enqueued(active)
        learnt = max(queued, tokens) if queued else max(1, tokens - 1)
        if self.limits.queue_tokens is None or learnt < self.limits.queue_tokens:
            self.limits.queue_tokens = learnt
        calls = [by_id[i] for i in self._entry_ids(entry)]
        if queued or len(calls) <= 1:
            return [Chunk(calls, tokens, int(entry.get("bytes", 0)))]
        half = len(calls) // 2
        return self._chunks(calls[:half]) + self._chunks(calls[half:])

    def _entry_ids(self, entry: Mapping[str, Any]) -> list[str]:
        path = self.work_dir / str(entry.get("input", ""))
        if not path.is_file():
            return []
        with path.open(encoding="utf-8") as fh:
            return [json.loads(line)["custom_id"] for line in fh if line.strip()]

    def _collect(
        self,
        entry: dict[str, Any],
        info: BatchInfo,
        by_id: Mapping[str, Call],
        answers: dict[tuple[str, int], Answer],
        *,
        final: bool,
    ) -> list[Call]:
        """Join the batch's result lines to its calls, cache the answers, and return the lines to retry."""
        results: dict[str, dict[str, Any]] = {}
        for file_id in (info.error_file, info.output_file):
            if file_id:
                results.update(parse_results(self.provider.download_file(file_id).decode("utf-8")))
        retry: list[Call] = []
        cached: list[tuple[Call, dict[str, Any]]] = []
        for cid in self._entry_ids(entry):
            call = by_id[cid]
            record = results.get(cid)
            answer, to_cache = answer_from_line(call.index, record)
            status = ((record or {}).get("response") or {}).get("status_code")
            if to_cache is not None:
                to_cache["answered_at"] = time.time()
                cached.append((call, to_cache))
            elif not final and status not in FINAL_STATUSES:
                retry.append(call)
                continue
            answers[call.key] = answer
        if self.cache is not None and cached:
            put_many = getattr(self.cache, "cache_put_many", None)
            items = [(self.provider_name, c.request.model, request_hash(c.request), r) for c, r in cached]
            if put_many is not None:
                put_many(items)
            else:
                for item in items:
                    self.cache.cache_put(*item)
        entry.update(state="collected", status=info.status, answered=len(cached), retry=len(retry))
        return retry


def _refused_for_tokens(info: BatchInfo) -> bool:
    return info.status == "failed" and info.error_code == "token_limit_exceeded"


def _find_batch(batches: BatchProvider, file_id: str) -> BatchInfo | None:
    """A batch already created for this input file (a create whose answer was lost), when listable."""
    finder = getattr(batches, "find_batch_for_file", None)
    return finder(file_id) if finder is not None else None
