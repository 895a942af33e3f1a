"""One flow per provider adapter, recorded against the emulator and replayed from the cassette.

The same functions record the cassettes in ``fixtures/recorded/`` (``python fixtures/recorded/record.py``)
and drive the replay tests, so a change in what an adapter sends shows up as a replay mismatch.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from ftclient.providers.base import ChatRequest, JobSpec
from ftclient.providers.openai import OpenAIProvider
from ftclient.providers.together import TogetherProvider
from tests.test_together_adapter import chat_once  # one chat in its own loop, the async client closed with it

REPO = Path(__file__).resolve().parent.parent
RECORDED = REPO / "fixtures" / "recorded"
TRAIN = RECORDED / "train.jsonl"
RERECORD = "python fixtures/recorded/record.py"
OPENAI_MODEL = "gpt-4o-mini-2024-07-18"
TOGETHER_MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
SYSTEM = "Classify the support ticket. Answer with one of: billing, technical, account."

Provider = OpenAIProvider | TogetherProvider


def make_provider(dialect: str, base_url: str, key: str, organization: str | None = None,
                  project: str | None = None) -> Provider:
    """The adapter as the CLI builds it, pointed at ``base_url``, with no retries (a replay never fails)."""
    if dialect == "openai":
        return OpenAIProvider(api_key=key, base_url=base_url, max_retries=0, organization=organization,
                              project=project)
    return TogetherProvider(api_key=key, base_url=base_url, max_retries=0)


def run_flow(dialect: str, provider: Provider, train: Path, advance: Callable[[float], object],
             epochs: int = 2) -> dict[str, Any]:
    """Upload, create, follow, read events, cancel, list and ask: what the adapter made of each answer."""
    remote = provider.upload_file(train)
    model = OPENAI_MODEL if dialect == "openai" else TOGETHER_MODEL
    spec = JobSpec(model=model, training_file=remote.id, hyperparameters={"n_epochs": epochs}, suffix="replay",
                   metadata={"ftclient_run": "run-replay-0001"})
    created = provider.create_job(spec)
    advance(45.0)  # past validation and the queue: the job is training
    running = provider.get_job(created.id)
    events = provider.list_events(created.id)
    cancelled = provider.cancel_job(created.id)
    listed = provider.list_jobs(limit=5)
    answer = chat_once(cast(Any, provider), ChatRequest(model=model, messages=[
        {"role": "system", "content": SYSTEM}, {"role": "user", "content": "I was charged twice for my plan."}]))
    final = provider.get_job(created.id)  # the sync client again, after the async one recorded the chat
    return {
        "file": remote.id,
        "bytes": remote.bytes,
        "job": created.id,
        "created": created.status,
        "running": running.status,
        "events": [event.message for event in events],
        "cancelled": cancelled.status,
        "cancelled_raw": cancelled.raw_status,
        "listed": [job.id for job in listed],
        "answer": answer.text,
        "final": final.status,
    }


@contextmanager
def recording(cassette: Path) -> Iterator[None]:
    """``FTCLIENT_RECORD`` set for the adapters built inside the block."""
    before = os.environ.get("FTCLIENT_RECORD")
    os.environ["FTCLIENT_RECORD"] = str(cassette)
    try:
        yield
    finally:
        if before is None:
            del os.environ["FTCLIENT_RECORD"]
        else:
            os.environ["FTCLIENT_RECORD"] = before


def record(dialect: str, cassette: Path, *, train: Path = TRAIN, key: str = "sk-emulator",
           organization: str | None = None, project: str | None = None) -> dict[str, Any]:
    """Run the flow against a fresh emulator of ``dialect`` with the recorder on; label the cassette."""
    from ftclient.emulator import EmulatorConfig, run_in_thread

    cassette.unlink(missing_ok=True)
    with run_in_thread(EmulatorConfig(provider=dialect, seed=11, speed=1.0)) as emu, recording(cassette):
        provider = make_provider(dialect, emu.base_url, key, organization, project)
        try:
            summary = run_flow(dialect, provider, train, emu.advance)
        finally:
            provider.close()
    document = json.loads(cassette.read_text(encoding="utf-8"))
    labelled = {
        "format": document["format"],
        "kind": "recorded",
        "recorded_with": document["recorded_with"],
        "recorded_against": f"the ftclient emulator ({dialect} dialect, seed 11), not the live API",
        "recorded_by": f"tests/replay_flows.py run_flow({dialect!r}) through {type(provider).__name__}",
        "rerecord": RERECORD,
        **{k: v for k, v in document.items() if k not in {"format", "recorded_with"}},
    }
    cassette.write_text(json.dumps(labelled, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return summary
