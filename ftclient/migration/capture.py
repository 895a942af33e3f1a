"""``ftclient.capture(model, inputs)``: the model's answer to every input, recorded while it still answers.

The request is the one the model was trained to see: its training system prompt first (from the inputs,
``system=``, or the manifest of the dataset the registry says it was tuned on), temperature 0, a fixed
seed. Every answer goes into the registry's response cache the moment it arrives (the same cache
``evaluate`` uses), so a rerun, after an interruption or to add inputs, pays only for what is missing and a
finished capture reruns without sending a single request. Many inputs go through the Batch API at half
price (``ftclient.migration.batching``): split within the provider's limits, submitted concurrently,
followed, failed lines retried, joined back in input order. A model that answers only through a
deployment of its own (an Azure fine-tune) is deployed for the capture and the deployment deleted after it.

Output, in ``out``: ``capture.jsonl`` (one line per input, in input order: index, input messages,
reference when the input had one, the answer, the model that answered, usage, when) and
``manifest.json`` (what was asked of whom, how, with what result). A model past its shutdown date fails
with :class:`ftclient.errors.ModelRetiredError`, pointing at an earlier capture when there is one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftclient.errors import Interrupted, RemoteNotFoundError
from ftclient.evaluate.runner import Call, Progress, Runner, RunnerConfig, answer_from_cache, request_hash
from ftclient.evaluate.types import Answer
from ftclient.migration.batching import ConcurrentBatches, Limits
from ftclient.migration.inputs import CaptureInput, InputSet, read_inputs
from ftclient.migration.retirement import check_not_retired, raise_if_all_retired, record_capture, retired_or_none
from ftclient.providers.base import BatchInfo, ChatRequest

if TYPE_CHECKING:
    from ftclient.config import Settings
    from ftclient.providers.base import Provider
    from ftclient.registry import Registry

ROLE = "capture"
AUTO_BATCH_MIN = 1_000
"""With ``batch=None``, captures of at least this many uncached inputs go through the Batch API."""
DEFAULT_MAX_TOKENS = 1024


@dataclass
class CaptureResult:
    model: str
    provider: str
    out_dir: str
    capture_path: str
    manifest_path: str
    inputs: int
    answered: int
    failed: int
    cached: int
    sent: int
    """Inputs asked of the provider in this run (0 on a rerun of a finished capture)."""
    batch: bool
    batches: list[str] = field(default_factory=list)
    cost_usd: float | None = None
    cost_note: str = ""
    shutdown_date: str | None = None
    shutdown_source: str | None = None
    batch_stats: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def default_out(model: str) -> Path:
    return Path("ftcaptures") / re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("_")


def trained_system_prompt(model: str, registry: Registry) -> str | None:
    """The system prompt of the dataset the registry says ``model`` was tuned on."""
    from ftclient.evaluate.resolve import load_manifest

    record = registry.find_job_by_model(model)
    if record is None or not record.dataset_path:
        return None
    folder = Path(record.dataset_path)
    folder = folder.parent if folder.is_file() else folder
    system = load_manifest(folder).get("system_prompt") if folder.is_dir() else None
    return str(system) if system else None


def max_tokens_for_inputs(items: Sequence[CaptureInput], model: str, task: str | None) -> int:
    """Room for the longest reference (as ``evaluate`` sizes it), or a generous default without references."""
    from ftclient.evaluate.api import max_tokens_for
    from ftclient.evaluate.types import Example

    refs = [Example(i.index, i.messages, i.reference) for i in items if i.reference is not None]
    if not refs:
        return DEFAULT_MAX_TOKENS
    return max_tokens_for(task or "chat", refs, model)


def build_calls(model: str, items: Sequence[CaptureInput], max_tokens: int, seed: int) -> list[Call]:
    from ftclient.evaluate.api import count_tokens

    return [
        Call(
            role=ROLE,
            index=item.index,
            request=ChatRequest(model=model, messages=item.messages, max_tokens=max_tokens, temperature=0.0, seed=seed),
            estimate=count_tokens(item.messages, model) + max_tokens,
        )
        for item in items
    ]


def capture(
    model: str,
    inputs: str | Path,
    *,
    out: str | Path | None = None,
    batch: bool | None = None,
    limit: int | None = None,
    input_col: str | None = None,
    reference_col: str | None = None,
    system: str | None = None,
    max_tokens: int | None = None,
    provider: str | None = None,
    concurrency: int = 32,
    queue_tokens: int | None = None,
    max_batch_requests: int = 50_000,
    max_batch_bytes: int = 200 * 1024**2,
    settings: Settings | None = None,
    registry: Registry | None = None,
    provider_client: Provider | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    on_batch_status: Callable[[str, BatchInfo], None] | None = None,
    handle_signals: bool = True,
    today: dt.date | None = None,
) -> CaptureResult:
    """Record ``model``'s answer to every input of ``inputs`` into ``out`` (see the module docstring).

    ``batch``: True = Batch API, False = ordinary requests, None = the Batch API from
    ``AUTO_BATCH_MIN`` uncached inputs on. ``queue_tokens``: the enqueued-token limit of the model's
    batches when known (else it is learnt from the provider's refusal).
    """
    from ftclient.config import resolve as resolve_settings
    from ftclient.providers import get_provider
    from ftclient.registry import Registry

    settings = settings or resolve_settings({"provider": provider} if provider else {})
    provider_name = provider or settings.provider
    own_registry = registry is None
    registry = registry or Registry(settings.registry_path)
    client = provider_client or get_provider(provider_name, settings)
    out_dir = Path(out) if out is not None else default_out(model)
    try:
        check_not_retired(model, provider_name, client, settings.home, today)
        system = system or trained_system_prompt(model, registry)
        found = read_inputs(inputs, input_col=input_col, reference_col=reference_col, system=system)
        items = found.items[:limit] if limit else found.items
        tokens_cap = max_tokens or max_tokens_for_inputs(items, model, found.task)
        calls = build_calls(model, items, tokens_cap, settings.seed)
        answers, pending = _from_cache(calls, registry, provider_name)
        use_batch = batch if batch is not None else len(pending) >= AUTO_BATCH_MIN
        stats: dict[str, Any] = {}
        batch_ids: list[str] = []
        out_dir.mkdir(parents=True, exist_ok=True)
        try:
            if pending and use_batch:
                from ftclient.evaluate.batch import batches_for

                runner = ConcurrentBatches(
                    client,
                    batches_for(client, provider_name),
                    provider_name,
                    work_dir=out_dir,
                    cache=registry,
                    limits=Limits(max_batch_requests, max_batch_bytes, queue_tokens),
                    poll_s=settings.poll_interval_s,
                    on_status=on_batch_status,
                )
                answers.update(runner.run(pending))
                stats, batch_ids = asdict(runner.stats), runner.stats.batch_ids
            elif pending:
                with _served_as(client, model, registry, settings) as name:
                    asked = [replace(c, request=replace(c.request, model=name)) for c in pending]
                    got = _online(
                        client,
                        provider_name,
                        registry,
                        asked,
                        concurrency=concurrency,
                        seed=settings.seed,
                        on_progress=on_progress,
                        handle_signals=handle_signals,
                    )
                if name != model:
                    _cache_under(registry, provider_name, pending, got)
                answers.update(got)
        except RemoteNotFoundError as exc:
            raise (retired_or_none(model, provider_name, settings.home) or exc) from None
        raise_if_all_retired(answers.values(), model, provider_name, settings.home)
        result = _write(
            out_dir,
            model=model,
            provider_name=provider_name,
            client=client,
            found=found,
            items=items,
            calls=calls,
            answers=answers,
            sent=len(pending),
            use_batch=use_batch,
            batch_ids=batch_ids,
            stats=stats,
            max_tokens=tokens_cap,
            seed=settings.seed,
        )
        record_capture(settings.home, model, out_dir)
        return result
    finally:
        if provider_client is None:
            client.close()
        if own_registry:
            registry.close()


def _from_cache(
    calls: Sequence[Call], registry: Registry, provider_name: str
) -> tuple[dict[tuple[str, int], Answer], list[Call]]:
    answers: dict[tuple[str, int], Answer] = {}
    pending: list[Call] = []
    for call in calls:
        hit = registry.cache_get(provider_name, call.request.model, request_hash(call.request))
        if hit is not None:
            answers[call.key] = answer_from_cache(call.index, hit)
        else:
            pending.append(call)
    return answers, pending


@contextmanager
def _served_as(client: Provider, model: str, registry: Registry, settings: Settings) -> Iterator[str]:
    """The name to ask for ``model``: itself, or (a fine-tune on Azure) a deployment made for the capture and
    deleted when it ends, however it ends."""
    from ftclient.deploy import deployed
    from ftclient.providers.base import DeployedServing

    if not (isinstance(client, DeployedServing) and client.served_through_deployment(model)):
        yield model
        return
    with deployed(model, provider=client, registry=registry, poll_s=settings.poll_interval_s) as deployment:
        yield deployment.serving_name


def _cache_under(
    registry: Registry, provider_name: str, calls: Sequence[Call], answers: Mapping[tuple[str, int], Answer]
) -> None:
    """Answers asked through a deployment, cached under the model's own requests: a rerun of the capture
    finds them whatever the next deployment is called."""
    for call in calls:
        answer = answers.get(call.key)
        if answer is None or answer.error is not None or answer.cached:
            continue
        record = {
            "text": answer.text,
            "model": answer.model,
            "prompt_tokens": answer.prompt_tokens,
            "completion_tokens": answer.completion_tokens,
            "latency_s": answer.latency_s,
        }
        registry.cache_put(provider_name, call.request.model, request_hash(call.request), record)


def _online(
    client: Provider,
    provider_name: str,
    registry: Registry,
    calls: Sequence[Call],
    *,
    concurrency: int,
    seed: int,
    on_progress: Callable[[Progress], None] | None,
    handle_signals: bool,
) -> dict[tuple[str, int], Answer]:
    from ftclient.evaluate.api import run_online

    runner = Runner(
        client,
        provider_name,
        cache=registry,
        config=RunnerConfig(concurrency=concurrency),
        on_progress=on_progress,
        seed=seed,
    )
    answers: dict[tuple[str, int], Answer] = asyncio.run(run_online(runner, calls, handle_signals=handle_signals))
    if runner.stopped:
        raise Interrupted(
            f"capture stopped after {len(answers)} of {len(calls)} answers",
            hint="the answers are cached; run the same command again to finish without paying twice",
        )
    return answers


def _write(
    out_dir: Path,
    *,
    model: str,
    provider_name: str,
    client: Provider,
    found: InputSet,
    items: Sequence[CaptureInput],
    calls: Sequence[Call],
    answers: Mapping[tuple[str, int], Answer],
    sent: int,
    use_batch: bool,
    batch_ids: list[str],
    stats: dict[str, Any],
    max_tokens: int,
    seed: int,
) -> CaptureResult:
    from ftclient._version import __version__
    from ftclient.evaluate.costs import Pricer
    from ftclient.migration.inventory import shutdown_of

    previous = _previous_times(out_dir / "capture.jsonl")
    pricer = Pricer(provider_name, discount=0.5 if use_batch else 1.0)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    cost: float | None = 0.0
    failed = cached = 0
    served: set[str] = set()
    tmp = out_dir / "capture.jsonl.tmp"
    with tmp.open("w", encoding="utf-8") as fh:
        for item, call in zip(items, calls, strict=True):
            answer = answers.get(call.key) or Answer(index=item.index, text="", error="not answered")
            digest = request_hash(call.request)
            failed += answer.error is not None
            cached += answer.cached
            served.add(answer.model)
            price = pricer(model, answer.prompt_tokens, answer.completion_tokens)
            cost = None if cost is None or price is None else cost + price
            record = {
                "index": item.index,
                "input": item.messages,
                "reference": item.reference,
                "answer": None if answer.error else answer.text,
                "model": answer.model or model,
                "usage": {"prompt_tokens": answer.prompt_tokens, "completion_tokens": answer.completion_tokens},
                "time": previous.get(digest) or now,
                "request_hash": digest,
            }
            if item.split:
                record["split"] = item.split
            if answer.error:
                record["error"] = answer.error
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    os.replace(tmp, out_dir / "capture.jsonl")
    date, source = shutdown_of(provider_name, model, None)
    result = CaptureResult(
        model=model,
        provider=provider_name,
        out_dir=str(out_dir),
        capture_path=str(out_dir / "capture.jsonl"),
        manifest_path=str(out_dir / "manifest.json"),
        inputs=len(items),
        answered=len(items) - failed,
        failed=failed,
        cached=cached,
        sent=sent,
        batch=use_batch,
        batches=batch_ids,
        cost_usd=None if cost is None else round(cost, 6),
        cost_note=pricer.notes.get(model, ""),
        shutdown_date=date,
        shutdown_source=source,
        batch_stats=stats,
    )
    manifest = {
        "kind": "ftclient capture",
        "ftclient_version": __version__,
        "created_at": now,
        "model": model,
        "provider": provider_name,
        "endpoint": str(getattr(client, "endpoint", "")),
        "inputs": {"source": found.source, "kind": found.kind, "sha256": found.sha256, "count": len(items)},
        "task": found.task,
        "labels": list(found.labels),
        "request": {"temperature": 0.0, "seed": seed, "max_tokens": max_tokens, "system_prompt": found.system_prompt},
        "result": {k: v for k, v in result.to_dict().items() if k not in {"out_dir", "capture_path", "manifest_path"}},
        "served_by": sorted(s for s in served if s),
        "emulator": any("emulator" in s for s in served) or "127.0.0.1" in str(getattr(client, "endpoint", "")),
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    return result


def _previous_times(path: Path) -> dict[str, str]:
    """When each answer of an earlier run of this capture was first recorded (kept across reruns)."""
    if not path.is_file():
        return {}
    times: dict[str, str] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("request_hash") and record.get("answer") is not None:
                times[record["request_hash"]] = record.get("time")
    return times


def load_capture(folder: str | Path) -> list[dict[str, Any]]:
    """The records of ``capture.jsonl`` in ``folder``, in input order."""
    from ftclient.errors import UserInputError

    path = Path(folder) / "capture.jsonl"
    if not path.is_file():
        raise UserInputError(f"{path} does not exist", hint="record one first: ftclient capture MODEL --inputs SOURCE")
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
