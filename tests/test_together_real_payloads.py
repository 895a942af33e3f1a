"""Response bodies captured from the live Together API (``../shared/real-payloads/together``, each file
naming its source) through the Together adapter's readers: every one becomes ftclient's types without an
error, unknown statuses and extra fields are kept, and the nulls and odd types the live API sends where the
spec says otherwise are survived. Skipped when ``../shared`` is absent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest
from conftest import SHARED

from ftclient.errors import ProviderError
from ftclient.providers.together import TogetherProvider, wire

PAYLOADS = SHARED / "real-payloads" / "together"
FILES = sorted(PAYLOADS.glob("*.json")) if PAYLOADS.is_dir() else []
pytestmark = pytest.mark.skipif(not FILES, reason=f"no captured Together payloads at {PAYLOADS}")


def load(name: str) -> dict[str, Any]:
    captured: dict[str, Any] = json.loads((PAYLOADS / name).read_text(encoding="utf-8"))
    return captured


def parse(captured: dict[str, Any]) -> list[object]:
    """Whatever the adapter makes of one captured body, by the endpoint it came from."""
    body, endpoint = captured["body"], captured["endpoint"]
    if captured["status_code"] >= 400:
        response = httpx2.Response(captured["status_code"], json=body)
        provider = TogetherProvider(api_key="tk-payloads", base_url="http://127.0.0.1:9")
        try:
            return [provider._status_error(response, "replaying a captured answer")]
        finally:
            provider.close()
    if "/files" in endpoint:
        items = body if isinstance(body, list) else body.get("data", [body]) if "data" in body else [body]
        return [wire.remote_file_from_dict(item) for item in items]
    if "/fine-tunes" in endpoint:
        job = wire.job_info_from_dict(body)
        events = wire.merge_log(job.id, list(body.get("events") or []), [])
        return [job, *events]
    raise AssertionError(f"no reader for {endpoint}")


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_captured_payload_becomes_ftclient_types(path: Path) -> None:
    parsed = parse(json.loads(path.read_text(encoding="utf-8")))
    assert parsed


def test_a_job_without_a_status_is_unknown_and_keeps_its_odd_keys() -> None:
    (job, *events) = parse(load("job-1.json"))
    assert job.status == "unknown" and job.raw_status == "unknown"  # type: ignore[attr-defined]
    assert job.suffix == "my-demo-finetune"  # type: ignore[attr-defined]  # sent as "Suffix"
    assert job.extra["enable_checkpoints"] is False  # type: ignore[attr-defined]
    (event,) = events
    assert event.data["together_type"] == "job_pending" and event.level == "info"  # type: ignore[attr-defined]


def test_the_2024_create_response_keeps_extras_but_never_the_echoed_wandb_key() -> None:
    (job, *_events) = parse(load("job-2.json"))
    assert job.raw_status == "pending" and job.status == "validating_files"  # type: ignore[attr-defined]
    assert job.validation_file is None and job.seed is None  # type: ignore[attr-defined]  # "" on the wire
    extra = job.extra  # type: ignore[attr-defined]
    assert "owner_address" in extra and "staring_epoch" in extra and "job_stats" in extra
    assert not any("wandb_key" in key or key.endswith("_key") for key in extra)


def test_a_finished_sdk_dump_with_string_null_seed_and_integer_price() -> None:
    (job, *_events) = parse(load("job-3.json"))
    assert job.status == "succeeded" and job.method == "dpo"  # type: ignore[attr-defined]
    assert job.fine_tuned_model and job.fine_tuned_model.endswith("-aa4a26b5")  # type: ignore[attr-defined]
    assert job.seed is None  # type: ignore[attr-defined]  # "random_seed": "null"
    assert job.extra["total_price"] == 21368624400 and job.extra["started_at"] is None  # type: ignore[attr-defined]
    assert job.id == "ft-179f58d2-6079"  # type: ignore[attr-defined]  # short id, not a uuid


def test_files_with_camel_case_keys_and_zero_bytes() -> None:
    (fresh,) = parse(load("file-1.json"))
    assert fresh.status == "uploaded" and fresh.bytes == 0  # type: ignore[attr-defined]
    assert fresh.extra["LineCount"] == 0 and fresh.extra["FileType"] == "jsonl"  # type: ignore[attr-defined]
    (evaluation,) = parse(load("file-3.json"))
    assert evaluation.extra["project_id"].startswith("proj_")  # type: ignore[attr-defined]
    listed = parse(load("file_list-1.json"))
    assert len(listed) == 2 and all(f.status == "processed" for f in listed)  # type: ignore[attr-defined]


def test_error_envelopes_keep_code_status_and_the_request_id() -> None:
    (unservable,) = parse(load("error-404-1.json"))
    assert isinstance(unservable, ProviderError)
    assert unservable.status == 404 and unservable.code == "model_not_available"
    assert unservable.request_id == "ozP2fvM-2kFHot-a37947137e2477be"
    (base,) = parse(load("error-400-1.json"))
    assert isinstance(base, ProviderError) and base.status == 400 and base.code == "model_not_available"
    (plain,) = parse(load("error-400-2.json"))
    assert isinstance(plain, ProviderError) and "context length" in plain.message
