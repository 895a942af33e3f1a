"""Launch building blocks: configuration checks and sweeps, dataset resolution, preflight, uploads
(reuse, multipart resume), idempotent create."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from launch_support import emulator_env, route_count, write_dataset

from ftclient.config import resolve
from ftclient.errors import (
    DatasetError,
    FineTuningClosedError,
    NotFoundLocallyError,
    ProviderUnavailable,
    UnknownModelError,
    UserInputError,
)
from ftclient.launching.config import LaunchConfig, expand, sweep_id_for
from ftclient.launching.create import RUN_KEY, create_idempotent
from ftclient.launching.preflight import preflight, resolve_dataset
from ftclient.launching.upload import content_name, ensure_uploaded
from ftclient.providers.base import JobSpec
from ftclient.providers.openai import OpenAIProvider
from ftclient.registry import Registry

TODAY = dt.date(2026, 11, 29)
PARTS_ROUTE = "POST /v1/uploads/{upload_id}/parts"


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    with emulator_env(monkeypatch) as running:
        yield running


# -- configurations ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"epochs": 0}, "--epochs 0 is out of range"),
        ({"epochs": 51}, "--epochs 51"),
        ({"batch_size": 257}, "--batch-size 257"),
        ({"lr_multiplier": 0.0}, "--lr-multiplier 0.0"),
        ({"beta": 2.5, "method": "dpo"}, "--beta 2.5"),
        ({"beta": 0.1}, "DPO only"),
        ({"epochs": 2.5}, "whole number"),
        ({"suffix": "has space"}, "--suffix"),
        ({"suffix": "x" * 65}, "--suffix"),
        ({"seed": -1}, "--seed -1"),
    ],
)
def test_out_of_range_values_are_refused_before_sending(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(UserInputError) as info:
        expand(models="gpt-4o-mini-2024-07-18", **{"method": "supervised", **kwargs})  # type: ignore[arg-type]
    assert fragment in info.value.message and info.value.hint


def test_lists_expand_to_a_sweep_with_distinct_keys_and_a_stable_id() -> None:
    configs = expand(models=["a", "b"], method="supervised", epochs=[2, 3], lr_multiplier=0.5)
    assert len(configs) == 4
    assert {(c.model, c.hyperparameters["n_epochs"]) for c in configs} == {("a", 2), ("a", 3), ("b", 2), ("b", 3)}
    keys = [c.key("d", "openai") for c in configs]
    assert len(set(keys)) == 4
    assert sweep_id_for("d", keys) == sweep_id_for("d", list(reversed(keys)))
    assert expand(models=["a", "a"], method="supervised") == [LaunchConfig(model="a")]
    same = LaunchConfig(model="a", hyperparameters={"n_epochs": 2})
    assert same.key("d", "openai") == LaunchConfig(model="a", hyperparameters={"n_epochs": 2}).key("d", "openai")
    assert same.key("d", "openai") != same.key("other-dataset", "openai")


# -- dataset resolution ----------------------------------------------------------------------------------


def test_latest_dataset_comes_from_the_registry_then_the_latest_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = resolve()
    registry = Registry(settings.registry_path)
    with pytest.raises(NotFoundLocallyError) as none:
        resolve_dataset(None, settings, registry)
    assert "ftclient prepare" in (none.value.hint or "")
    older = write_dataset(tmp_path / "ftdata" / "older", salt="o")
    settings.data_dir.mkdir(exist_ok=True)
    (settings.data_dir / ".latest").write_text(str(older) + "\n")
    assert resolve_dataset(None, settings, registry).path == older.resolve()
    newer = write_dataset(tmp_path / "ftdata" / "newer", salt="n")
    registry.record_dataset(json.loads((newer / "manifest.json").read_text()), newer)
    ref = resolve_dataset(None, settings, registry)
    assert ref.path == newer.resolve() and ref.validation is not None and len(ref.train_sha256) == 64
    assert resolve_dataset(older / "manifest.json", settings, registry).path == older.resolve()


def test_a_data_file_edited_after_prepare_is_caught(tmp_path: Path) -> None:
    ds = write_dataset(tmp_path / "ds")
    with (ds / "train.jsonl").open("a") as fh:
        fh.write(json.dumps({"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]}))
    with pytest.raises(DatasetError) as info:
        resolve_dataset(ds, resolve(), None)
    assert "changed after it was prepared" in info.value.message
    with pytest.raises(UserInputError, match="not a prepared dataset folder"):
        resolve_dataset(ds / "train.jsonl", resolve(), None)


# -- preflight -------------------------------------------------------------------------------------------


def _check(ds: Path, config: LaunchConfig, *, today: dt.date = TODAY, official: bool = False):  # type: ignore[no-untyped-def]
    ref = resolve_dataset(ds, resolve(), None)
    return preflight(
        ref, config, provider="openai", methods=frozenset({"supervised", "dpo"}), official=official, today=today
    )


def test_preflight_costs_tokens_times_epochs_at_the_dated_price(tmp_path: Path) -> None:
    ds = write_dataset(tmp_path / "ds", train=30)
    check = _check(ds, LaunchConfig(model="gpt-4o-mini-2024-07-18", hyperparameters={"n_epochs": 3}))
    assert check.examples == 30 and check.epochs == 3 and not check.epochs_chosen_by_provider
    assert check.billed_tokens == 3 * check.tokens_per_epoch
    assert check.cost_usd == pytest.approx(check.billed_tokens * 3.00 / 1_000_000)
    assert check.price_as_of and check.validation_examples == 6
    assert any("2027-01-06" in note and "38 days" in note for note in check.notes)
    auto = _check(write_dataset(tmp_path / "ds24", train=24), LaunchConfig(model="gpt-4o-mini-2024-07-18"))
    assert auto.epochs_chosen_by_provider and auto.epochs == 4  # 24 examples x 3 < 100 passes: 100 // 24


def test_preflight_refuses_what_the_provider_would_refuse(tmp_path: Path) -> None:
    ds = write_dataset(tmp_path / "ds")
    with pytest.raises(UserInputError, match="cannot be fine-tuned with method 'dpo'"):
        _check(ds, LaunchConfig(model="gpt-4o-mini-2024-07-18", method="dpo"))
    with pytest.raises(UserInputError, match="prepared for 'supervised'"):
        _check(ds, LaunchConfig(model="gpt-4.1-mini-2025-04-14", method="dpo"))
    with pytest.raises(UnknownModelError):
        _check(ds, LaunchConfig(model="gpt-9-ultra"))
    small = write_dataset(tmp_path / "small", train=5)
    with pytest.raises(DatasetError) as few:
        _check(small, LaunchConfig(model="gpt-4o-mini-2024-07-18"))
    assert [p.code for p in few.value.problems] == ["too-few-examples"]
    long = write_dataset(tmp_path / "long", pad=3000)
    with pytest.raises(DatasetError) as too_long:
        _check(long, LaunchConfig(model="gpt-3.5-turbo-0613"), today=dt.date(2026, 10, 1))  # before its shutdown
    lines = [p.line for p in too_long.value.problems if p.file and p.file.endswith("train.jsonl")]
    assert lines == list(range(1, 25)) and "4,096" in too_long.value.problems[0].message


def test_openai_cutoff_blocks_the_official_api_only(tmp_path: Path) -> None:
    ds = write_dataset(tmp_path / "ds")
    config = LaunchConfig(model="gpt-4o-mini-2024-07-18")
    after = dt.date(2027, 1, 6)
    with pytest.raises(FineTuningClosedError) as info:
        _check(ds, config, today=after, official=True)
    assert "2027-01-06" in info.value.message and "--provider together" in (info.value.hint or "")
    assert any("not OpenAI's" in n for n in _check(ds, config, today=after, official=False).notes)


# -- uploads ---------------------------------------------------------------------------------------------


def test_uploads_are_reused_by_content_and_sent_again_when_gone(emu, tmp_path: Path) -> None:
    provider = OpenAIProvider.from_settings(resolve())
    registry = Registry(tmp_path / "r.db")
    ds = write_dataset(tmp_path / "ds")
    ref = resolve_dataset(ds, resolve(), None)
    first = ensure_uploaded(provider, registry, ref.train, sha256=ref.train_sha256)
    again = ensure_uploaded(provider, registry, ref.train, sha256=ref.train_sha256)
    assert not first.reused and again.reused and again.file.id == first.file.id
    assert route_count(emu, "POST /v1/files") == 1
    httpx2.delete(f"{emu.base_url}/files/{first.file.id}", headers={"authorization": "Bearer x"}).raise_for_status()
    third = ensure_uploaded(provider, registry, ref.train, sha256=ref.train_sha256)
    assert not third.reused and third.file.id != first.file.id
    assert route_count(emu, "POST /v1/files") == 2


def test_large_files_go_in_parallel_parts_and_resume_after_an_interruption(emu, tmp_path: Path) -> None:
    provider = OpenAIProvider.from_settings(resolve())
    provider.max_retries = 0
    registry = Registry(tmp_path / "r.db")
    ds = write_dataset(tmp_path / "ds", train=40)
    ref = resolve_dataset(ds, resolve(), None)
    size = ref.train.stat().st_size
    n_parts = -(-size // 1000)
    assert n_parts >= 6
    options = {"sha256": ref.train_sha256, "simple_limit": 1000, "part_size": 1000, "workers": 3}
    emu.inject(PARTS_ROUTE, "status_500", times=1)
    with pytest.raises(ProviderUnavailable):
        ensure_uploaded(provider, registry, ref.train, **options)
    sent_before = route_count(emu, PARTS_ROUTE, "200")
    assert 0 < sent_before < n_parts and registry.find_upload("openai", ref.train_sha256) is None
    progress: list[tuple[int, int]] = []
    done = ensure_uploaded(provider, registry, ref.train, on_progress=lambda d, t: progress.append((d, t)), **options)
    assert done.resumed_parts == sent_before and done.sent_parts == n_parts - sent_before
    assert route_count(emu, PARTS_ROUTE, "200") == n_parts  # no part sent twice
    assert route_count(emu, "POST /v1/uploads") == 1  # the same upload session, resumed
    assert done.file.bytes == size and progress[-1] == (size, size)
    assert provider.download_file(done.file.id) == ref.train.read_bytes()
    assert ensure_uploaded(provider, registry, ref.train, **options).reused


def test_an_expired_upload_session_starts_over(emu, tmp_path: Path) -> None:
    provider = OpenAIProvider.from_settings(resolve())
    provider.max_retries = 0
    registry = Registry(tmp_path / "r.db")
    ds = write_dataset(tmp_path / "ds", train=30)
    ref = resolve_dataset(ds, resolve(), None)
    options = {"sha256": ref.train_sha256, "simple_limit": 1000, "part_size": 1000, "workers": 1}
    emu.inject(PARTS_ROUTE, "status_500", times=1)
    with pytest.raises(ProviderUnavailable):
        ensure_uploaded(provider, registry, ref.train, **options)
    done = ensure_uploaded(provider, registry, ref.train, clock=lambda: 4_000_000_000.0, **options)
    assert done.resumed_parts == 0 and route_count(emu, "POST /v1/uploads") == 2


# -- idempotent create -----------------------------------------------------------------------------------


def test_a_lost_create_response_is_found_by_run_id_not_created_again(emu, tmp_path: Path) -> None:
    provider = OpenAIProvider.from_settings(resolve())
    ds = write_dataset(tmp_path / "ds")
    train = provider.upload_file(ds / "train.jsonl")
    spec = JobSpec(model="gpt-4o-mini-2024-07-18", training_file=train.id, metadata={RUN_KEY: "run-1"})
    emu.inject("POST /v1/fine_tuning/jobs", "lose_response_after_commit", times=1)
    naps: list[float] = []
    info = create_idempotent(provider, spec, "run-1", sleep=naps.append, base_backoff_s=0.01)
    assert info.metadata[RUN_KEY] == "run-1" and emu.stats()["jobs_created"] == 1 and naps == [0.01]
    emu.inject("POST /v1/fine_tuning/jobs", "status_500", times=2)
    other = create_idempotent(
        provider,
        JobSpec(model=spec.model, training_file=train.id, metadata={RUN_KEY: "run-2"}),
        "run-2",
        sleep=naps.append,
        base_backoff_s=0.01,
    )
    assert other.id != info.id and emu.stats()["jobs_created"] == 2
    emu.inject("POST /v1/fine_tuning/jobs", "status_500", times=10)
    before = route_count(emu, "POST /v1/fine_tuning/jobs")
    with pytest.raises(ProviderUnavailable) as info_err:
        create_idempotent(
            provider,
            JobSpec(model=spec.model, training_file=train.id, metadata={RUN_KEY: "run-3"}),
            "run-3",
            sleep=naps.append,
            max_attempts=3,
            base_backoff_s=0.01,
        )
    assert "run-3" in (info_err.value.hint or "") and emu.stats()["jobs_created"] == 2
    assert route_count(emu, "POST /v1/fine_tuning/jobs") - before == 3  # max_attempts, then stop


def test_a_lost_upload_response_is_found_by_name_not_uploaded_twice(emu, tmp_path: Path) -> None:
    provider = OpenAIProvider.from_settings(resolve())
    registry = Registry(tmp_path / "r.db")
    ref = resolve_dataset(write_dataset(tmp_path / "ds"), resolve(), None)
    emu.inject("POST /v1/files", "lose_response_after_commit", times=1)
    done = ensure_uploaded(provider, registry, ref.train, sha256=ref.train_sha256)
    assert route_count(emu, "POST /v1/files") == 1  # the retry looked first and found it
    named = provider.find_files(content_name(ref.train, ref.train_sha256))
    assert [f.id for f in named] == [done.file.id]


def test_a_file_that_reached_the_provider_before_a_crash_is_found_by_its_content_name(emu, tmp_path: Path) -> None:
    provider = OpenAIProvider.from_settings(resolve())
    registry = Registry(tmp_path / "r.db")
    ref = resolve_dataset(write_dataset(tmp_path / "ds"), resolve(), None)
    name = content_name(ref.train, ref.train_sha256)
    assert name == f"train-{ref.train_sha256[:12]}.jsonl"
    sent = provider.upload_named(ref.train, filename=name)  # the response never made it into the registry
    found = ensure_uploaded(provider, registry, ref.train, sha256=ref.train_sha256)
    assert found.reused and found.file.id == sent.id and route_count(emu, "POST /v1/files") == 1
    assert registry.find_upload("openai", ref.train_sha256) is not None
