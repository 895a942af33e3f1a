"""Together as its SDKs and the live API behave, where ftclient used to assume otherwise.

Each test here failed on the code before the fix it names: metrics paged by an invented timestamp,
``cancel_requested`` taken for the end, the suffix limit found after the upload, OpenAI's defaults and
ranges applied to Together, the price estimate told nothing of evaluations, a refused estimate with no way
past it, "None min" for an endpoint's idle stop.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from launch_support import write_dataset

from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread
from ftclient.emulator.samples import classification_examples
from ftclient.errors import UserInputError
from ftclient.providers.base import JobSpec
from ftclient.providers.together import TogetherProvider

BASE = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with run_in_thread(EmulatorConfig(provider="together", speed=1.0, seed=21)) as running:
        monkeypatch.setenv("TOGETHER_BASE_URL", running.base_url)
        monkeypatch.setenv("TOGETHER_API_KEY", "tk-fidelity")
        monkeypatch.setenv("FTCLIENT_POLL_INTERVAL_S", "0.01")
        yield running


@pytest.fixture
def provider(emu: Emulator) -> Iterator[TogetherProvider]:
    adapter = TogetherProvider(api_key="tk-fidelity", base_url=emu.base_url, retry_backoff_s=0.01)
    yield adapter
    adapter.close()


@pytest.fixture
def train_file(tmp_path: Path) -> Path:
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in classification_examples()), encoding="utf-8")
    return path


def routes(emu: Emulator) -> dict[str, dict[str, int]]:
    by_route: dict[str, dict[str, int]] = emu.stats()["requests"]["by_route"]
    return by_route


def raw_metrics(provider: TogetherProvider, job_id: str, query: dict[str, int] | None = None) -> list[dict[str, Any]]:
    url = f"{provider.endpoint}/fine-tunes/{job_id}/metrics"
    answer = provider._client().request("GET", url, json=query, headers=provider._headers())
    points: list[dict[str, Any]] = answer.json()["metrics"]
    return points


def together_folder(tmp_path: Path, **kwargs: Any) -> Path:
    folder = write_dataset(tmp_path / "data", model=BASE, **kwargs)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["target"] = {"provider": "together", "model": BASE}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


# -- metrics -------------------------------------------------------------------------------------


def test_live_metrics_keep_coming_poll_after_poll(emu: Emulator, provider: TogetherProvider, train_file: Path) -> None:
    """Metrics carry no timestamp (spec; Together's TypeScript SDK): ftclient pages them by step, so a
    follower polling with the last id it saw keeps getting new steps while the job trains."""
    spec = JobSpec(
        model=BASE, training_file=provider.upload_file(train_file).id, hyperparameters={"n_epochs": 4, "batch_size": 8}
    )
    job = provider.create_job(spec)  # 18 examples, 3 steps an epoch, 12 steps
    emu.advance(15 + 3 * 2)  # pending, queued, then two steps
    points = raw_metrics(provider, job.id)
    assert points and all("logged_at" not in p for p in points)  # as the API: flat numbers, no time
    seen: list[int] = []
    cursor = None
    for _ in range(4):
        new = provider.list_events(job.id, after=cursor)
        seen += [int(e.data["step"]) for e in new if e.type == "metrics"]
        cursor = new[-1].id if new else cursor
        emu.advance(3 * 2)
    assert len(seen) >= 6 and seen == sorted(set(seen)) and seen[0] == 1
    emu.advance(10_000)
    rest = provider.list_events(job.id, after=cursor)
    everything = provider.list_events(job.id)
    total = max(int(e.data["step"]) for e in everything if e.type == "metrics")
    assert seen + [int(e.data["step"]) for e in rest if e.type == "metrics"] == list(range(1, total + 1))
    assert [e.id for e in everything if e.type != "metrics"][-1] == [e.id for e in rest if e.type != "metrics"][-1]
    # the metrics request named the first step not yet seen (the spec's global_step_from)
    assert routes(emu)["GET /v1/fine-tunes/{id}/metrics"]["200"] >= 6


def test_the_emulator_filters_metrics_by_step(emu: Emulator, provider: TogetherProvider, train_file: Path) -> None:
    spec = JobSpec(model=BASE, training_file=provider.upload_file(train_file).id, hyperparameters={"n_epochs": 3})
    job = provider.create_job(spec)
    emu.advance(10_000)
    some = raw_metrics(provider, job.id, {"global_step_from": 3, "global_step_to": 5})
    assert [p["train/global_step"] for p in some] == [3, 4, 5]


# -- cancel_requested ------------------------------------------------------------------------------


def test_a_relaunch_reattaches_while_the_cancelled_job_still_runs(emu: Emulator, run_cli: Any, tmp_path: Path) -> None:
    folder = together_folder(tmp_path)
    first = run_cli("launch", str(folder), "--provider", "together", "--model", BASE, "--detach", "--json")
    assert first.exit_code == 0, first.stderr
    job_id = first.json()["jobs"][0]["id"]  # type: ignore[index]
    assert run_cli("jobs", "cancel", job_id, "--json").exit_code == 0
    again = run_cli("launch", str(folder), "--provider", "together", "--model", BASE, "--detach", "--json")
    assert again.exit_code == 0, again.stderr
    assert again.json()["jobs"][0]["id"] == job_id  # type: ignore[index]  # not a second job beside it
    assert routes(emu)["POST /v1/fine-tunes"] == {"200": 1}


# -- suffix ----------------------------------------------------------------------------------------


def test_a_suffix_too_long_with_the_run_token_is_refused_before_any_upload(
    emu: Emulator, run_cli: Any, tmp_path: Path
) -> None:
    folder = together_folder(tmp_path)
    suffix = "s" * 31  # 31 + "-" + the 9-character run token = 41 > 40
    dry = run_cli("launch", str(folder), "--provider", "together", "--model", BASE, "--suffix", suffix, "--dry-run")
    assert dry.exit_code == 1 and "30" in dry.stderr and "40" in dry.stderr
    real = run_cli("launch", str(folder), "--provider", "together", "--model", BASE, "--suffix", suffix, "--detach")
    assert real.exit_code == 1
    assert emu.stats()["requests"]["total"] == 0
    fits = run_cli("launch", str(folder), "--provider", "together", "--model", BASE, "--suffix", "s" * 30, "--detach")
    assert fits.exit_code == 0, fits.stderr


# -- defaults, limits, estimate --------------------------------------------------------------------


def test_defaults_are_what_togethers_sdk_sends(provider: TogetherProvider) -> None:
    body = provider.preview_create(JobSpec(model=BASE, training_file="file-1"))["json"]
    assert body["training_method"] == {"method": "sft", "train_on_inputs": "auto"}
    assert body["lr_scheduler"]["lr_scheduler_type"] == "cosine"
    assert "n_epochs" not in body  # Together's own default (1) applies


def test_dry_run_counts_togethers_one_epoch_not_openais_auto(emu: Emulator, run_cli: Any, tmp_path: Path) -> None:
    folder = together_folder(tmp_path, train=30)
    plan = run_cli("launch", str(folder), "--provider", "together", "--model", BASE, "--dry-run", "--json")
    assert plan.exit_code == 0, plan.stderr
    check = plan.json()["jobs"][0]  # type: ignore[index]
    assert check["epochs"] == 1 and check["billed_tokens"] == check["tokens_per_epoch"]


def test_limits_come_from_the_models_limits_endpoint(
    emu: Emulator, provider: TogetherProvider, run_cli: Any, tmp_path: Path
) -> None:
    limits = provider.model_limits(BASE)
    assert limits["lora_training"]["min_batch_size"] > 1
    folder = together_folder(tmp_path)
    small = run_cli("launch", str(folder), "--provider", "together", "--model", BASE, "--batch-size", "2", "--detach")
    assert small.exit_code == 1 and "GET /fine-tunes/models/limits" in small.stderr
    assert "POST /v1/files" not in routes(emu)
    many = run_cli("launch", str(folder), "--provider", "together", "--model", BASE, "--epochs", "21", "--detach")
    assert many.exit_code == 1 and "n_epochs 21" in many.stderr
    # OpenAI's batch range (at most 256) is not Together's: that is for GET /fine-tunes/models/limits to say
    big = run_cli("launch", str(folder), "--provider", "together", "--model", BASE, "--batch-size", "300", "--dry-run")
    assert big.exit_code == 0, big.stderr


def test_the_estimate_is_told_how_many_evaluations_will_run(
    emu: Emulator, provider: TogetherProvider, train_file: Path, tmp_path: Path
) -> None:
    captured: list[dict[str, Any]] = []
    original = provider._json

    def spy(what: str, method: str, path: str, **kwargs: Any) -> Any:
        if path == "/fine-tunes/estimate-price":
            captured.append(kwargs["json"])
        return original(what, method, path, **kwargs)

    provider._json = spy  # type: ignore[method-assign]
    training = provider.upload_file(train_file).id
    validation = provider.upload_file(train_file, purpose="fine-tune").id
    job = provider.create_job(
        JobSpec(model=BASE, training_file=training, validation_file=validation, hyperparameters={"n_evals": 4})
    )
    assert captured[0]["n_evals"] == 4 and captured[0]["n_epochs"] == 1
    assert float(job.metadata["estimated_total_price"]) > 0
    alone = provider.create_job(JobSpec(model=BASE, training_file=training))
    assert captured[1]["n_evals"] == 0
    assert float(alone.metadata["estimated_total_price"]) < float(job.metadata["estimated_total_price"])


def test_a_refused_estimate_says_why_and_yes_goes_ahead(emu: Emulator, run_cli: Any, tmp_path: Path) -> None:
    emu.core.app.credit_limit_usd = 0.0  # type: ignore[attr-defined]
    folder = together_folder(tmp_path)
    refused = run_cli("launch", str(folder), "--provider", "together", "--model", BASE, "--detach")
    assert refused.exit_code == 1
    assert "credit limit" in refused.stderr and "--yes" in refused.stderr
    assert "POST /v1/fine-tunes" not in routes(emu)
    forced = run_cli("launch", str(folder), "--provider", "together", "--model", BASE, "--detach", "--yes")
    assert forced.exit_code == 0, forced.stderr
    assert routes(emu)["POST /v1/fine-tunes"] == {"200": 1}


def test_limits_are_checked_against_the_models_own_figures(provider: TogetherProvider) -> None:
    spec = JobSpec(model=BASE, training_file="f", hyperparameters={"lora_r": 512}, metadata={})
    with pytest.raises(UserInputError, match="lora_r 512"):
        provider.check_spec(spec, online=True)
    provider.check_spec(JobSpec(model=BASE, training_file="f"), online=True)


def test_the_log_cursor_loses_nothing_whichever_stream_grows() -> None:
    """Events only grow at the end, metrics only by higher steps; an id names both positions, so entries
    that arrive after the cursor in either stream are delivered once, even when they sort before it."""
    from ftclient.providers.together.wire import merge_log

    def event(step: int, at: str) -> dict[str, Any]:
        return {"type": "X", "step": step, "created_at": f"2026-01-01T00:00:{at}Z", "message": f"e{step}"}

    events = [event(0, "00"), event(2, "02")]
    points = [{"train/global_step": 1, "train/loss": 1.0}, {"train/global_step": 2, "train/loss": 0.9}]
    first = merge_log("ft-1", events, points)
    assert [(e.type, e.data.get("step")) for e in first] == [
        ("message", None),
        ("metrics", 1),
        ("metrics", 2),
        ("message", 2),
    ]
    # later: a metrics point for step 2 was already delivered; a late event at step 1 and a new step 3 arrive
    events.append(event(1, "03"))
    points.append({"train/global_step": 3, "train/loss": 0.8})
    later = merge_log("ft-1", events, points, after=first[-1].id)
    assert [(e.type, e.message) for e in later] == [("message", "e1"), ("metrics", "Step 3")]
    assert merge_log("ft-1", events, points, after=later[-1].id) == []
    assert all(e.created_at > 0 for e in later)  # metrics take the time of the event before them
