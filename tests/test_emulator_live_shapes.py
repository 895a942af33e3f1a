"""The emulator's OpenAI responses take the shapes captured from the live API where those differ from the
spec: explicit nulls, ``error: {}`` on a healthy job, keys the spec lacks (tests/live_shapes.py lists them)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from conftest import SHARED
from live_shapes import BATCH_NULLS

from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread
from ftclient.emulator.samples import classification_examples, to_jsonl

CAPTURED = SHARED / "real-payloads" / "openai"
AUTH = {"authorization": "Bearer sk-shapes"}


@pytest.fixture(scope="module")
def shapes() -> Iterator[dict[str, Any]]:
    """One of each object, from one emulator: a file, a fresh job, its events, a batch."""
    with run_in_thread(EmulatorConfig(seed=3)) as emu, httpx2.Client(base_url=emu.base_url, headers=AUTH) as http:
        yield _collect(emu, http)


def _collect(emu: Emulator, http: httpx2.Client) -> dict[str, Any]:
    train = http.post(
        "/files", data={"purpose": "fine-tune"}, files={"file": ("t.jsonl", to_jsonl(classification_examples()))}
    ).json()
    job = http.post("/fine_tuning/jobs", json={"model": "gpt-4o-mini", "training_file": train["id"]}).json()
    emu.advance(60)
    events = http.get(f"/fine_tuning/jobs/{job['id']}/events", params={"limit": 100}).json()["data"]
    line = {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}}
    batch_file = http.post(
        "/files", data={"purpose": "batch"}, files={"file": ("b.jsonl", json.dumps(line).encode() + b"\n")}
    ).json()
    batch = http.post(
        "/batches", json={"input_file_id": batch_file["id"], "endpoint": "/v1/chat/completions",
                          "completion_window": "24h"},
    ).json()
    return {"file": train, "job": job, "events": events, "batch": batch}


def test_a_fresh_job_has_an_empty_error_object_and_the_live_only_keys(shapes: dict[str, Any]) -> None:
    job = shapes["job"]
    assert job["status"] == "validating_files" and job["error"] == {}
    assert job["metadata"] is None and job["user_provided_suffix"] is None
    assert {"usage_metrics", "shared_with_openai", "eval_id"} <= set(job)


def test_unset_batch_fields_are_explicit_nulls(shapes: dict[str, Any]) -> None:
    batch = shapes["batch"]
    assert all(name in batch and batch[name] is None for name in BATCH_NULLS)


def test_files_carry_null_expires_at_and_status_details(shapes: dict[str, Any]) -> None:
    assert shapes["file"]["expires_at"] is None and shapes["file"]["status_details"] is None


def test_message_events_carry_empty_data_and_the_start_event_null(shapes: dict[str, Any]) -> None:
    by_message = {e["message"]: e for e in shapes["events"]}
    assert by_message["Fine-tuning job started"]["data"] is None
    assert by_message["Files validated, moving job to queued state"]["data"] == {}
    assert all(e["data"] for e in shapes["events"] if e["type"] == "metrics")


@pytest.mark.skipif(not CAPTURED.is_dir(), reason="../shared/real-payloads is not present")
@pytest.mark.parametrize(
    ("kind", "capture"), [("job", "job-10.json"), ("batch", "batch-1.json"), ("file", "file-4.json")]
)
def test_keys_the_live_api_sends_as_null_or_empty_are_sent_so(shapes: dict[str, Any], kind: str, capture: str) -> None:
    live = json.loads((CAPTURED / capture).read_text(encoding="utf-8"))["body"]
    ours = shapes[kind]
    for key, value in live.items():
        if value is None or value == {}:
            assert key in ours, f"{kind}: the live API sends {key!r}; the emulator leaves it out"
            if key not in {"expires_at", "metadata"}:  # set by the request in the capture / in ours
                assert ours[key] == value or ours[key] is None, f"{kind}.{key}: live {value!r}, ours {ours[key]!r}"
