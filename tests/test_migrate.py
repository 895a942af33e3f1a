"""Moving a tuned model off OpenAI, end to end on the emulators: inventory, capture, migrate, shutdown."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_eval_support import TICKET_LABELS, TICKET_SYSTEM, launch_and_wait, ticket_rows, write_dataset

import ftclient
from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread
from ftclient.errors import ModelRetiredError, UserInputError

BASE = "gpt-4o-mini-2024-07-18"
TOGETHER_MODEL = "Qwen/Qwen3-8B"  # served only through a dedicated endpoint: the teardown path is exercised
TARGETS = f"openai:gpt-4.1-mini-2025-04-14,together:{TOGETHER_MODEL}"


@pytest.fixture
def emulators(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Emulator, Emulator]]:
    with (
        run_in_thread(EmulatorConfig(speed=2000.0, seed=5, start="2026-12-01")) as openai_emu,
        run_in_thread(EmulatorConfig(provider="together", speed=100.0, seed=6)) as together_emu,
    ):
        monkeypatch.setenv("OPENAI_API_KEY", "sk-migrate")
        monkeypatch.setenv("OPENAI_BASE_URL", openai_emu.base_url)
        monkeypatch.setenv("TOGETHER_API_KEY", "tk-migrate")
        monkeypatch.setenv("TOGETHER_BASE_URL", together_emu.base_url)
        monkeypatch.setenv("FTCLIENT_POLL_INTERVAL_S", "0.02")
        yield openai_emu, together_emu


@pytest.fixture
def tuned(emulators: tuple[Emulator, Emulator], tmp_path: Path) -> tuple[str, str, Path]:
    """(tuned model, job id, dataset folder): a production fine-tune on the emulated OpenAI."""
    dataset = write_dataset(
        tmp_path / "tickets",
        ticket_rows()[:120],
        task="classify",
        system=TICKET_SYSTEM,
        labels=TICKET_LABELS,
        model=BASE,
    )
    job_id = launch_and_wait(dataset)
    with ftclient.Registry() as registry:
        record = registry.get_job(job_id)
    assert record is not None and record.fine_tuned_model
    return record.fine_tuned_model, job_id, dataset


def routes(emu: Emulator) -> dict[str, int]:
    return {route: sum(codes.values()) for route, codes in emu.stats()["requests"]["by_route"].items()}


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.stderr
    return result.json()


def test_models_lists_the_tuned_model_with_its_shutdown_date(tuned: tuple[str, str, Path], run_cli: Any) -> None:
    model, job_id, dataset = tuned
    listing = ok(run_cli("models", "--tuned", "--json"))
    (entry,) = listing["models"]
    assert entry["model"] == model and entry["base_model"] == BASE
    assert entry["shutdown_date"] == "2027-01-14" and entry["shutdown_source"].startswith("provider Models API")
    assert entry["job_id"] == job_id and entry["job_source"] == "registry"
    assert entry["dataset_held"] is True and entry["dataset_path"] == str(dataset)
    today = dt.date.fromisoformat(listing["today"])
    assert entry["days_left"] == (dt.date(2027, 1, 14) - today).days
    plain = run_cli("models", "--tuned")
    assert plain.exit_code == 0 and model in plain.stdout and "2027-01-14" in plain.stdout  # the listing is on stdout
    inventory = ftclient.inventory("openai", tuned_only=True, today=dt.date(2027, 1, 4))
    assert inventory.models[0].days_left == 10


def test_capture_goes_through_the_batch_api_and_a_rerun_sends_nothing(
    emulators: tuple[Emulator, Emulator], tuned: tuple[str, str, Path], tmp_path: Path, run_cli: Any
) -> None:
    openai_emu, _ = emulators
    model, _, dataset = tuned
    first = ok(run_cli("capture", model, "--inputs", str(dataset), "--batch", "--out", str(tmp_path / "cap"), "--json"))
    assert first["inputs"] == first["answered"] == 120 and first["sent"] == 120 and first["batch"] is True
    after_first = routes(openai_emu)
    assert "POST /v1/chat/completions" not in after_first and after_first["POST /v1/batches"] == 1
    lines = [json.loads(x) for x in (tmp_path / "cap" / "capture.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["index"] for r in lines] == list(range(120))
    assert all(r["input"][0] == {"role": "system", "content": TICKET_SYSTEM} for r in lines)
    assert all(r["answer"] in TICKET_LABELS and r["reference"] in TICKET_LABELS for r in lines)
    assert lines[0]["model"] == model and lines[0]["usage"]["prompt_tokens"] > 0 and lines[0]["time"]
    manifest = json.loads((tmp_path / "cap" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["request"]["temperature"] == 0.0 and manifest["inputs"]["count"] == 120
    again = ok(run_cli("capture", model, "--inputs", str(dataset), "--batch", "--out", str(tmp_path / "cap"), "--json"))
    assert again["sent"] == 0 and again["cached"] == 120
    paid = {k: v for k, v in routes(openai_emu).items() if k.startswith("POST")}
    assert paid == {k: v for k, v in after_first.items() if k.startswith("POST")}  # no upload, no batch, no chat
    assert (tmp_path / "cap" / "capture.jsonl").read_text(encoding="utf-8").splitlines()[5] == json.dumps(
        lines[5], ensure_ascii=False
    )


def test_a_large_capture_is_split_and_submitted_within_the_limits(
    emulators: tuple[Emulator, Emulator], tuned: tuple[str, str, Path], tmp_path: Path
) -> None:
    openai_emu, _ = emulators
    model, _, dataset = tuned
    result = ftclient.capture(
        model,
        dataset,
        out=tmp_path / "cap",
        batch=True,
        max_batch_requests=25,
        queue_tokens=4000,
        handle_signals=False,
    )
    stats = result.batch_stats
    assert result.answered == 120 and len(result.batches) == stats["submitted"] >= 5
    assert stats["peak_enqueued_tokens"] <= 4000 and stats["peak_concurrent"] >= 2
    state = json.loads((tmp_path / "cap" / "batches.json").read_text(encoding="utf-8"))["batches"]
    assert all(b["requests"] <= 25 and b["state"] == "collected" for b in state)
    answers = [json.loads(x) for x in (tmp_path / "cap" / "capture.jsonl").read_text(encoding="utf-8").splitlines()]
    online = ftclient.capture(model, dataset, out=tmp_path / "online", batch=False, handle_signals=False)
    assert online.sent == 0  # the batch answers are the cache of ordinary requests too
    online_lines = (tmp_path / "online" / "capture.jsonl").read_text(encoding="utf-8").splitlines()
    assert [a["answer"] for a in answers] == [json.loads(x)["answer"] for x in online_lines]
    assert openai_emu.stats()["batches"] == stats["submitted"]


def test_an_interrupted_capture_reattaches_to_its_batch(
    emulators: tuple[Emulator, Emulator], tuned: tuple[str, str, Path], tmp_path: Path
) -> None:
    from ftclient.evaluate.batch import batches_for
    from ftclient.migration.batching import ConcurrentBatches, Limits
    from ftclient.migration.capture import build_calls
    from ftclient.migration.inputs import read_inputs
    from ftclient.providers import get_provider

    openai_emu, _ = emulators
    model, _, dataset = tuned
    calls = build_calls(model, read_inputs(dataset).items[:40], 16, 42)
    client = get_provider("openai")

    def killed(*_: object) -> None:
        raise KeyboardInterrupt  # Ctrl-C at the first look at a batch: both are submitted, none collected

    first = ConcurrentBatches(
        client,
        batches_for(client, "openai"),
        "openai",
        work_dir=tmp_path,
        cache=None,
        limits=Limits(20),
        on_status=killed,
    )
    with pytest.raises(KeyboardInterrupt):
        first.run(calls)
    assert first.stats.submitted == 2 and openai_emu.stats()["batches"] == 2
    with ftclient.Registry() as registry:
        again = ConcurrentBatches(
            client,
            batches_for(client, "openai"),
            "openai",
            work_dir=tmp_path,
            cache=registry,
            limits=Limits(20),
            poll_s=0.01,
        )
        answers = again.run(calls)
    assert again.stats.reattached == 2 and again.stats.submitted == 0
    assert openai_emu.stats()["batches"] == 2  # nothing created twice
    assert sorted(i for _, i in answers) == [c.index for c in calls] and all(a.error is None for a in answers.values())


def test_migrate_to_two_targets_recommends_with_a_verdict_and_tears_down(
    emulators: tuple[Emulator, Emulator], tuned: tuple[str, str, Path], tmp_path: Path, run_cli: Any
) -> None:
    openai_emu, together_emu = emulators
    model, _, dataset = tuned
    ok(run_cli("capture", model, "--inputs", str(dataset), "--batch", "--out", str(tmp_path / "cap"), "--json"))
    report = ok(run_cli("migrate", model, "--to", TARGETS, "--budget", "50", "--out", str(tmp_path / "m"), "--json"))
    assert report["training_data"]["distilled"] is False and "original dataset" in report["training_data"]["source"]
    assert report["held_out"] == 30 and report["reference"] == "ground truth" and report["margin"] == 2.0
    rows = {c["provider"]: c for c in report["candidates"]}
    assert set(rows) == {"openai", "together"}
    for row in rows.values():
        ni = row["noninferiority"]
        assert row["verdict"] in {"non-inferior", "inferior", "inconclusive"} and ni["margin"] == 2.0
        assert ni["ci_low"] <= ni["difference"] <= ni["ci_high"] and "paired bootstrap" in ni["test"]
        assert row["training_cost_usd"] > 0 and row["cost_per_1k_requests_usd"] > 0
        assert row["latency_p50_s"] is not None and row["latency_p95_s"] >= row["latency_p50_s"]
        assert 0 <= row["agreement"] <= 100
    assert rows["together"]["endpoint_cost_usd"] > 0 and rows["openai"]["endpoint_cost_usd"] is None
    rec = report["recommendation"]
    assert rows["openai"]["target_shutdown_date"] == "2027-01-14"  # gpt-4.1-mini retires with the old model
    assert rows["together"]["target_shutdown_date"] is None
    if rows["together"]["verdict"] == "non-inferior":
        assert rec["model"] == rows["together"]["fine_tuned_model"] and "non-inferior" in rec["why"]
    else:
        assert rec["model"] is None
    assert report["endpoints_left_running"] == []
    together_emu.advance(60)
    assert {e["state"] for e in together_emu.stats()["endpoints"]["list"]} == {"STOPPED"}
    html = (tmp_path / "m" / "report.html").read_text(encoding="utf-8")
    assert "Recommendation" in html and "<script" not in html and "http" not in html.split("<body>")[0]
    assert "## Candidates" in (tmp_path / "m" / "report.md").read_text(encoding="utf-8")

    together_models = ok(run_cli("models", "--provider", "together", "--tuned", "--json"))["models"]
    assert [m["job_id"] for m in together_models] == [rows["together"]["job_id"]]  # from its job list
    assert together_models[0]["shutdown_date"] is None and together_models[0]["base_model"] == TOGETHER_MODEL

    jobs_before = (openai_emu.stats()["jobs_created"], together_emu.stats()["jobs_created"])
    chats_before = routes(openai_emu).get("POST /v1/chat/completions", 0)
    again = ftclient.migrate(model, to=TARGETS, out=tmp_path / "m")
    assert (openai_emu.stats()["jobs_created"], together_emu.stats()["jobs_created"]) == jobs_before == (2, 1)
    assert routes(openai_emu).get("POST /v1/chat/completions", 0) == chats_before  # every answer cached
    assert [c["job_id"] for c in again.candidates] == [c["job_id"] for c in report["candidates"]]


def test_migrate_refuses_over_budget_before_launching(
    emulators: tuple[Emulator, Emulator], tuned: tuple[str, str, Path], tmp_path: Path
) -> None:
    openai_emu, together_emu = emulators
    model, _, dataset = tuned
    ftclient.capture(model, dataset, out=tmp_path / "cap", handle_signals=False)
    with pytest.raises(UserInputError, match="exceeds --budget"):
        ftclient.migrate(model, to=TARGETS, budget=0.001, out=tmp_path / "m")
    assert openai_emu.stats()["jobs_created"] == 1 and together_emu.stats()["jobs_created"] == 0


def test_distillation_after_the_dataset_is_gone_and_the_model_has_shut_down(
    emulators: tuple[Emulator, Emulator], tuned: tuple[str, str, Path], tmp_path: Path, run_cli: Any
) -> None:
    openai_emu, _ = emulators
    model, job_id, dataset = tuned
    capture = ok(run_cli("capture", model, "--inputs", str(dataset), "--out", str(tmp_path / "cap"), "--json"))
    assert capture["batch"] is False and capture["answered"] == 120
    shutil.rmtree(dataset)
    openai_emu.advance(dt.datetime(2027, 1, 15, tzinfo=dt.UTC).timestamp() - openai_emu.now())

    probe = tmp_path / "probe.jsonl"
    probe.write_text(
        "".join(
            json.dumps({"messages": [*r["input"], {"role": "assistant", "content": r["reference"]}]}) + "\n"
            for r in map(json.loads, (tmp_path / "cap" / "capture.jsonl").read_text(encoding="utf-8").splitlines()[:5])
        ),
        encoding="utf-8",
    )
    retired = run_cli("capture", model, "--inputs", str(probe), "--json")
    assert retired.exit_code == 1
    error = json.loads(retired.stderr.strip().splitlines()[-1])
    assert error["error"] == "model-retired" and str((tmp_path / "cap").resolve()) in error["hint"]
    with pytest.raises(ModelRetiredError, match="retired"):
        ftclient.evaluate(job_id, handle_signals=False, test=probe)
    with pytest.raises(ModelRetiredError, match="retired"):  # batch lines fail one by one; same verdict
        ftclient.evaluate(job_id, handle_signals=False, test=probe, batch=True)
    listing = ok(run_cli("models", "--tuned", "--json"))
    gone = next(m for m in listing["models"] if m["model"] == model)
    assert gone["listed"] is False and gone["dataset_held"] is False

    target = f"together:{TOGETHER_MODEL}"  # OpenAI's own models retire with it
    report = ok(run_cli("migrate", model, "--to", target, "--out", str(tmp_path / "d"), "--json"))
    assert report["training_data"]["distilled"] is True
    assert "old model's answers" in report["training_data"]["source"]
    assert any("trained on the old model's answers" in n for n in report["notes"])
    assert report["held_out"] == 24 and report["candidates"][0]["verdict"] != "not evaluated"
    train = (tmp_path / "d" / "distilled" / "train.jsonl").read_text(encoding="utf-8")
    held = (tmp_path / "d" / "distilled" / "test.jsonl").read_text(encoding="utf-8")
    held_prompts = {json.dumps(json.loads(x)["messages"][:-1]) for x in held.splitlines()}
    assert not held_prompts & {json.dumps(json.loads(x)["messages"][:-1]) for x in train.splitlines()}


def test_without_a_capture_migrate_records_only_the_held_out_answers(
    emulators: tuple[Emulator, Emulator], tuned: tuple[str, str, Path], tmp_path: Path
) -> None:
    openai_emu, _ = emulators
    model, _, _ = tuned
    report = ftclient.migrate(model, to=f"together:{TOGETHER_MODEL}", out=tmp_path / "m", resamples=300)
    assert "captured now" in report.old_model["answers_from"] and report.held_out == 30
    recorded = (tmp_path / "m" / "old-model" / "capture.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(recorded) == 30 and all(json.loads(x)["answer"] for x in recorded)
    asked = routes(openai_emu)["POST /v1/chat/completions"]
    ftclient.migrate(model, to=f"together:{TOGETHER_MODEL}", out=tmp_path / "m", resamples=300)
    assert routes(openai_emu)["POST /v1/chat/completions"] == asked  # the rerun pays for nothing again


def test_a_migration_killed_after_launch_continues_without_new_jobs(
    emulators: tuple[Emulator, Emulator], tuned: tuple[str, str, Path], tmp_path: Path
) -> None:
    openai_emu, _ = emulators
    model, _, dataset = tuned
    ftclient.capture(model, dataset, out=tmp_path / "cap", handle_signals=False)
    target = "openai:gpt-4.1-mini-2025-04-14"

    def killed(message: str) -> None:
        if message.startswith("evaluating"):
            raise KeyboardInterrupt  # Ctrl-C once the job exists, before any candidate answered

    with pytest.raises(KeyboardInterrupt):
        ftclient.migrate(model, to=target, out=tmp_path / "m", on_step=killed)
    state = json.loads((tmp_path / "m" / "migration.json").read_text(encoding="utf-8"))
    assert len(state["jobs"]) == 1 and openai_emu.stats()["jobs_created"] == 2  # the old model's and this one
    report = ftclient.migrate(model, to=target, out=tmp_path / "m", resamples=300)
    assert openai_emu.stats()["jobs_created"] == 2
    assert report.candidates[0]["job_id"] == state["jobs"][0]["job_id"]
