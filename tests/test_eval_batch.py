"""``--batch``: the evaluation through the Batch API of the emulator, joined back by custom_id."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_eval_support import TICKET_LABELS, TICKET_SYSTEM, launch_and_wait, ticket_rows, write_dataset

import ftclient
from ftclient.emulator import EmulatorConfig, run_in_thread
from ftclient.evaluate.batch import answer_from_line, batch_line, parse_results
from ftclient.evaluate.runner import Call
from ftclient.providers.base import ChatRequest

CHAT = "POST /v1/chat/completions"


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    with run_in_thread(EmulatorConfig(speed=100_000.0, seed=9)) as emu:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
        monkeypatch.setenv("OPENAI_BASE_URL", emu.base_url)
        monkeypatch.setenv("FTCLIENT_POLL_INTERVAL_S", "0.01")
        yield emu


def test_batch_evaluation_matches_online_at_half_the_price(emulator, tmp_path: Path, run_cli) -> None:
    dataset = write_dataset(
        tmp_path / "tickets", ticket_rows()[:120], task="classify", system=TICKET_SYSTEM, labels=TICKET_LABELS
    )
    job_id = launch_and_wait(dataset)
    result = run_cli("evaluate", job_id, "--batch", "--out", str(tmp_path / "batch"), "--json")
    assert result.exit_code == 0, result.stderr
    batch = result.json()
    stats = emulator.stats()
    assert stats["batches"] == 2  # one per model
    assert CHAT not in stats["requests"]["by_route"]  # nothing went through ordinary requests
    assert batch["batch"] is True and all(m["failed"] == 0 for m in batch["models"])
    assert "batch batch_" in result.stderr and ": completed," in result.stderr  # the poll is reported
    assert "Batch API discount 50%" in batch["models"][0]["cost_note"]

    online = ftclient.evaluate(job_id, out=tmp_path / "online", use_cache=False, resamples=200, handle_signals=False)
    assert [m.metrics for m in online.models] == [m["metrics"] for m in batch["models"]]
    for o, b in zip(online.models, batch["models"], strict=True):
        assert b["cost_usd"] == pytest.approx(o.cost_usd / 2)
    # the batch answers were cached: an online rerun with the cache asks for nothing
    calls = emulator.stats()["requests"]["by_route"][CHAT]
    again = ftclient.evaluate(job_id, out=tmp_path / "again", resamples=100, handle_signals=False)
    assert emulator.stats()["requests"]["by_route"][CHAT] == calls
    assert all(m.cached == m.examples for m in again.models)


def test_result_lines_are_joined_by_custom_id() -> None:
    call = Call("tuned", 7, ChatRequest(model="m", messages=[{"role": "user", "content": "x"}], max_tokens=3), 10)
    line = batch_line(call)
    assert line["custom_id"].startswith("tuned:7:") and line["url"] == "/v1/chat/completions"
    assert line["body"]["max_tokens"] == 3 and line["body"]["temperature"] == 0.0
    ok = {
        "custom_id": line["custom_id"],
        "response": {
            "status_code": 200,
            "body": {
                "model": "m",
                "choices": [{"message": {"content": "billing"}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 1},
            },
        },
        "error": None,
    }
    bad = {
        "custom_id": "baseline:1:x",
        "response": {"status_code": 404, "body": {"error": {"message": "The model 'm' does not exist"}}},
        "error": None,
    }
    results = parse_results("\n".join(json.dumps(r) for r in (ok, bad)))
    answer, cached = answer_from_line(7, results[line["custom_id"]])
    assert answer.text == "billing" and answer.prompt_tokens == 5 and cached is not None
    failed, nothing = answer_from_line(1, results["baseline:1:x"])
    assert nothing is None and "does not exist" in (failed.error or "")
    missing, _ = answer_from_line(2, None)
    assert "missing" in (missing.error or "")
