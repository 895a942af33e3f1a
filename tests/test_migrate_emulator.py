"""The emulator's side of a migration: models with shutdown dates, retirement on its clock, batch limits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread
from ftclient.emulator.clock import Clock, parse_when

HEADERS = {"Authorization": "Bearer sk-test"}


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with run_in_thread(EmulatorConfig(start="2026-12-01", seed=3)) as running:
        yield running


def chat(emu: Emulator, model: str) -> httpx2.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "hello"}], "max_tokens": 5}
    return httpx2.post(f"{emu.base_url}/chat/completions", json=body, headers=HEADERS)


def test_models_carry_shutdown_dates_as_the_spec_types_them(emu: Emulator) -> None:
    listed = httpx2.get(f"{emu.base_url}/models", headers=HEADERS).json()["data"]
    by_id = {m["id"]: m for m in listed}
    assert by_id["gpt-4o-mini-2024-07-18"]["shutdown_date"] == "2027-01-14"
    assert by_id["davinci-002"]["shutdown_date"] is None
    assert "gpt-4.1-nano-2025-04-14" not in by_id  # shut down 2026-10-23, before the emulated date
    one = httpx2.get(f"{emu.base_url}/models/gpt-4.1-mini-2025-04-14", headers=HEADERS).json()
    assert set(one) == {"id", "object", "created", "owned_by", "shutdown_date"}


def test_crossing_the_shutdown_date_retires_the_model_like_the_live_api(emu: Emulator) -> None:
    assert chat(emu, "gpt-4o-mini").status_code == 200
    moved = httpx2.post(f"{emu.url}/_emulator/clock", json={"to": "2027-01-14"}).json()
    assert moved["now"] == pytest.approx(parse_when("2027-01-14"), abs=5)
    refused = chat(emu, "gpt-4o-mini")
    assert refused.status_code == 404
    assert refused.json() == {
        "error": {
            "message": "The model `gpt-4o-mini` does not exist or you do not have access to it.",
            "type": "invalid_request_error",
            "param": None,
            "code": "model_not_found",
        }
    }
    assert chat(emu, "davinci-002").status_code == 200  # no shutdown announced
    assert httpx2.get(f"{emu.base_url}/models/gpt-4o-mini-2024-07-18", headers=HEADERS).status_code == 404
    back = httpx2.post(f"{emu.url}/_emulator/clock", json={"to": "2026-12-01"})
    assert back.status_code == 400 and "only moves forward" in back.json()["error"]["message"]


def test_the_clock_reads_dates_times_and_seconds() -> None:
    assert parse_when("2027-01-14") == parse_when("2027-01-14T00:00:00+00:00") == 1799884800.0
    assert parse_when(12.5) == 12.5 and parse_when("12.5") == 12.5
    with pytest.raises(ValueError, match="not a time"):
        parse_when("next tuesday")
    clock = Clock(start=100.0, monotonic=lambda: 0.0)
    assert clock.jump_to(250.0) == 250.0
    with pytest.raises(ValueError):
        EmulatorConfig(start="soon")


def _batch_file(emu: Emulator, lines: list[dict[str, Any]]) -> str:
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()
    files = {"file": ("in.jsonl", data, "application/jsonl")}
    made = httpx2.post(f"{emu.base_url}/files", files=files, data={"purpose": "batch"}, headers=HEADERS)
    return str(made.json()["id"])


def _lines(n: int, model: str = "gpt-4o-mini-2024-07-18") -> list[dict[str, Any]]:
    return [
        {
            "custom_id": f"r{i}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": model, "messages": [{"role": "user", "content": f"question number {i} " * 20}]},
        }
        for i in range(n)
    ]


def test_a_batch_over_the_enqueued_token_limit_fails_at_validation() -> None:
    with run_in_thread(EmulatorConfig(start="2026-12-01", batch_queue_tokens=1500)) as emu:
        first = _batch_file(emu, _lines(10))
        second = _batch_file(emu, _lines(10))
        ids = [
            httpx2.post(
                f"{emu.base_url}/batches",
                json={"input_file_id": f, "endpoint": "/v1/chat/completions", "completion_window": "24h"},
                headers=HEADERS,
            ).json()["id"]
            for f in (first, second)
        ]
        emu.advance(6)  # past validation, well before the first batch ends
        states = [httpx2.get(f"{emu.base_url}/batches/{i}", headers=HEADERS).json() for i in ids]
        assert states[0]["status"] == "in_progress"
        assert states[1]["status"] == "failed"
        (error,) = states[1]["errors"]["data"]
        assert error["code"] == "token_limit_exceeded" and "Limit: 1,500 enqueued tokens" in error["message"]
        emu.advance(3600)  # the first one finishes: its tokens leave the queue
        third = _batch_file(emu, _lines(10))
        created = httpx2.post(
            f"{emu.base_url}/batches",
            json={"input_file_id": third, "endpoint": "/v1/chat/completions", "completion_window": "24h"},
            headers=HEADERS,
        ).json()
        emu.advance(6)
        assert httpx2.get(f"{emu.base_url}/batches/{created['id']}", headers=HEADERS).json()["status"] == "in_progress"


def test_batch_lines_for_a_retired_model_fail_with_its_404(emu: Emulator) -> None:
    file_id = _batch_file(emu, _lines(3, "gpt-4.1-nano-2025-04-14"))
    batch = httpx2.post(
        f"{emu.base_url}/batches",
        json={"input_file_id": file_id, "endpoint": "/v1/chat/completions", "completion_window": "24h"},
        headers=HEADERS,
    ).json()
    emu.advance(3600)
    done = httpx2.get(f"{emu.base_url}/batches/{batch['id']}", headers=HEADERS).json()
    assert done["status"] == "completed" and done["request_counts"]["failed"] == 3
    errors = httpx2.get(f"{emu.base_url}/files/{done['error_file_id']}/content", headers=HEADERS).text.splitlines()
    assert {json.loads(line)["response"]["body"]["error"]["code"] for line in errors} == {"model_not_found"}


def test_models_on_a_provider_without_a_models_listing_come_from_its_jobs(
    monkeypatch: pytest.MonkeyPatch, run_cli: Any
) -> None:
    with run_in_thread(EmulatorConfig(provider="together")) as together:
        monkeypatch.setenv("TOGETHER_BASE_URL", together.base_url)
        monkeypatch.setenv("TOGETHER_API_KEY", "tk-test")
        result = run_cli("models", "--provider", "together", "--tuned", "--json")
    assert result.exit_code == 0, result.stderr
    listing = result.json()
    assert listing["models"] == [] and "job list" in listing["notes"][0]


def test_a_batch_file_over_200_mb_is_refused(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    from ftclient.emulator.openai import batches

    monkeypatch.setattr(batches, "MAX_INPUT_BYTES", 1000)  # the same rule, at a size a test can send
    file_id = _batch_file(emu, _lines(5))
    refused = httpx2.post(
        f"{emu.base_url}/batches",
        json={"input_file_id": file_id, "endpoint": "/v1/chat/completions", "completion_window": "24h"},
        headers=HEADERS,
    )
    assert refused.status_code == 400 and "at most 200 MB (1000 bytes)" in refused.json()["error"]["message"]


def test_capture_reads_a_table_column_and_sends_the_system_prompt(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Any, run_cli: Any
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", emu.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    table = tmp_path / "prompts.csv"
    table.write_text("question,expected\nWhere is my parcel?,shipping\nI was charged twice,billing\n", encoding="utf-8")
    out = tmp_path / "cap"
    result = run_cli(
        "capture",
        "gpt-4o-mini",
        "--inputs",
        str(table),
        "--input-col",
        "question",
        "--reference-col",
        "expected",
        "--system",
        "Answer with one label.",
        "--out",
        str(out),
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    assert result.json()["batch"] is False and result.json()["answered"] == 2
    records = [json.loads(x) for x in (out / "capture.jsonl").read_text(encoding="utf-8").splitlines()]
    assert records[1]["input"] == [
        {"role": "system", "content": "Answer with one label."},
        {"role": "user", "content": "I was charged twice"},
    ]
    assert records[1]["reference"] == "billing" and records[1]["answer"]
    missing = run_cli("capture", "gpt-4o-mini", "--inputs", str(table), "--input-col", "prompt")
    assert missing.exit_code == 1 and "no column 'prompt'" in missing.stderr
