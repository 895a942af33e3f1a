"""Edge states of job creation and uploads, where a silent regression costs a duplicate job, a job never
made, or a file sent twice or never: earlier jobs that ended cancelled, a create the provider refused, a
multipart session the provider expired, a file the provider rejected."""

from __future__ import annotations

import contextlib
import hashlib
import math
import re
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from launch_support import emulator_env, route_count, write_dataset

from ftclient.config import resolve
from ftclient.errors import (
    DatasetError,
    InvalidRequestError,
    ProviderError,
    ProviderUnavailable,
    RateLimitError,
    WaitTimeout,
)
from ftclient.jobs import LaunchStep, launch, plan_launch
from ftclient.launching.create import (
    CONFIG_KEY,
    DATASET_KEY,
    MAX_BACKOFF_S,
    RUN_KEY,
    SWEEP_KEY,
    Existing,
    _backoff,
    create_idempotent,
    find_existing,
)
from ftclient.launching.preflight import resolve_dataset
from ftclient.launching.upload import _local_expiry, content_name, ensure_uploaded, wait_processed
from ftclient.providers.base import JobInfo, JobSpec, UploadSessionInfo
from ftclient.providers.credentials import endpoint_identity
from ftclient.providers.openai import OpenAIProvider
from ftclient.registry import Registry

JOBS_ROUTE = "POST /v1/fine_tuning/jobs"
PARTS_ROUTE = "POST /v1/uploads/{upload_id}/parts"
COMPLETE_ROUTE = "POST /v1/uploads/{upload_id}/complete"
MODEL = "gpt-4o-mini-2024-07-18"


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with emulator_env(monkeypatch) as running:
        yield running


# -- earlier jobs of the same configuration ----------------------------------------------------------------


@pytest.mark.parametrize("known_from", ["registry", "run-without-job", "provider-only"])
@pytest.mark.parametrize("cancelled", [True, False], ids=["cancelled", "live"])
def test_an_earlier_identical_job_is_reattached_only_while_it_lives(
    emu: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, known_from: str, cancelled: bool
) -> None:
    """Where the earlier job is known from: the registry's record of it; a run recorded before a create
    whose answer never reached the registry (found by run id); or only the provider's metadata (another
    machine). A cancelled one is announced and a new job launched under a new run id; a live one re-attached."""
    ds = write_dataset(tmp_path / "ds", validation=0)
    first = launch(ds)
    if cancelled:
        first.cancel()
    if known_from != "registry":
        monkeypatch.setenv("FTCLIENT_HOME", str(tmp_path / "elsewhere"))
    if known_from == "run-without-job":
        plan = plan_launch(ds)
        Registry().record_run(
            run_id=str(first.run_id),
            provider="openai",
            endpoint=plan.endpoint,
            config_key=plan.jobs[0].config_key,
            spec={},
        )
    steps: list[LaunchStep] = []
    again = launch(ds, on_step=steps.append)
    notes = [s.message for s in steps if s.kind == "note" and "identical" in s.message]
    attached = [s for s in steps if s.kind == "attach"]
    record = Registry().get_job(first.id)
    assert record is not None and record.run_id == first.run_id  # what was found is on record
    plan = plan_launch(ds)
    assert (record.config_key, record.endpoint) == (plan.jobs[0].config_key, plan.endpoint)
    if known_from == "provider-only":  # recorded with the dataset it was launched from
        assert (record.dataset_sha256, record.dataset_path) == (plan.dataset.dataset_sha256, str(ds))
    if cancelled:
        assert again.id != first.id and not again.reused and again.run_id != first.run_id
        assert emu.stats()["jobs_created"] == 2 and not attached
        assert notes == [f"an identical job {first.id} ended cancelled; launching a new one"]
        assert [s.kind for s in steps if s.kind in {"upload", "reuse", "create"}] == ["reuse", "create"]
    else:
        assert again.id == first.id and again.reused and emu.stats()["jobs_created"] == 1
        assert not notes and [s.data["job_id"] for s in attached] == [first.id]
        assert "already launched" in attached[0].message  # found by the first look, not just before create
        assert not [s for s in steps if s.kind in {"upload", "reuse", "create", "moderation"}]


def test_find_existing_reuses_a_run_the_provider_never_answered_and_names_the_newest_cancelled_job(
    emu: Any, tmp_path: Path
) -> None:
    provider = OpenAIProvider.from_settings(resolve())
    registry = Registry(tmp_path / "r.db")
    endpoint = endpoint_identity(provider)
    train = provider.upload_file(write_dataset(tmp_path / "ds") / "train.jsonl")
    for run_id in ("run-old", "run-new"):
        registry.record_run(run_id=run_id, provider="openai", endpoint=endpoint, config_key="key-1", spec={})
        spec = JobSpec(model=MODEL, training_file=train.id, metadata={RUN_KEY: run_id, CONFIG_KEY: "key-1"})
        job = provider.create_job(spec)
        provider.cancel_job(job.id)
    registry.record_run(run_id="run-unanswered", provider="openai", endpoint=endpoint, config_key="key-1", spec={})
    found = find_existing(provider, registry, "key-1")
    assert found.job is None and found.run_id == "run-unanswered"
    assert found.previous_failed is not None and found.previous_failed.status == "cancelled"
    assert found.previous_failed.metadata[RUN_KEY] == "run-new"  # runs are read newest first
    assert emu.stats()["jobs_created"] == 2


def test_a_run_whose_create_never_answered_is_created_under_its_own_run_id(emu: Any, tmp_path: Path) -> None:
    ds = write_dataset(tmp_path / "ds", validation=0)
    plan = plan_launch(ds)
    registry = Registry()
    key = plan.jobs[0].config_key
    registry.record_run(run_id="run-unanswered", provider="openai", endpoint=plan.endpoint, config_key=key, spec={})
    job = launch(ds)
    assert job.run_id == "run-unanswered" and emu.stats()["jobs_created"] == 1
    assert [r.run_id for r in registry.find_runs("openai", plan.endpoint, key)] == ["run-unanswered"]


def test_a_launch_records_its_uploads_and_run_and_a_relaunched_sweep_only_attaches(emu: Any, tmp_path: Path) -> None:
    ds = write_dataset(tmp_path / "ds", validation=6)
    sha = plan_launch(ds).dataset.dataset_sha256
    steps: list[LaunchStep] = []
    progress: dict[str, tuple[int, int]] = {}
    naps: list[float] = []
    emu.inject(JOBS_ROUTE, "status_500", times=1)  # the first create answers 500 (and makes nothing)
    jobs = launch(
        ds,
        epochs=[1, 2],
        suffix="edge",
        seed=7,
        on_step=steps.append,
        on_upload_progress=lambda split, d, t: progress.update({split: (d, t)}),
        sleep=naps.append,
    )
    assert isinstance(jobs, list)
    registry = Registry()
    uploads = {u.split: u for u in registry.list_uploads()}
    assert set(uploads) == {"train", "validation"} and {u.dataset_sha256 for u in uploads.values()} == {sha}
    sizes = {split: (ds / f"{split}.jsonl").stat().st_size for split in uploads}
    assert progress == {split: (size, size) for split, size in sizes.items()}
    sent = [s for s in steps if s.kind == "upload"]
    assert [(s.data["split"], s.data["file_id"], s.data["resumed_parts"]) for s in sent] == [
        (split, uploads[split].file_id, 0) for split in ("train", "validation")
    ]
    assert sent[0].message == f"train: uploaded {uploads['train'].file_id} (train.jsonl, {sizes['train']:,} bytes)"
    assert emu.stats()["jobs_created"] == 2 and naps == [0.01]  # FTCLIENT_RETRY_BACKOFF_S, slept through ours
    retried = [s.message for s in steps if s.kind == "retry"]
    assert len(retried) == 1 and retried[0].startswith("create attempt 1 ended without a clear answer (")
    assert retried[0].endswith("); checking whether the job exists before trying again")
    plan = plan_launch(ds, epochs=[1, 2], suffix="edge", seed=7)
    for job, epochs, planned in zip(jobs, (1, 2), plan.jobs, strict=True):
        run = registry.get_run(str(job.run_id))
        assert run is not None and run.dataset_sha256 == sha and run.dataset_path == str(ds)
        assert run.sweep_id == job.sweep_id and run.estimated_tokens and run.estimated_cost_usd
        assert run.spec == {
            "model": MODEL,
            "training_file": uploads["train"].file_id,
            "validation_file": uploads["validation"].file_id,
            "method": "supervised",
            "hyperparameters": {"n_epochs": epochs},
            "suffix": "edge",
            "seed": 7,
            "metadata": {
                RUN_KEY: job.run_id,
                CONFIG_KEY: planned.config_key,
                DATASET_KEY: sha,
                SWEEP_KEY: job.sweep_id,
            },
            "wandb_project": None,
        }
        record = registry.get_job(job.id)
        assert record is not None and (record.run_id, record.config_key, record.sweep_id) == (
            job.run_id,
            planned.config_key,
            job.sweep_id,
        )
        assert (record.endpoint, record.dataset_sha256, record.dataset_path) == (plan.endpoint, sha, str(ds))
        assert (record.estimated_tokens, record.estimated_cost_usd) == (run.estimated_tokens, run.estimated_cost_usd)
    created = [s for s in steps if s.kind == "create"]
    assert [s.data["job_id"] for s in created] == [j.id for j in jobs]
    assert created[0].message == f"{MODEL} (supervised, n_epochs=1): created {jobs[0].id}"
    steps.clear()
    again = launch(ds, epochs=[1, 2], suffix="edge", seed=7, on_step=steps.append)
    assert isinstance(again, list) and [j.id for j in again] == [j.id for j in jobs]
    attached = [s for s in steps if s.kind == "attach"]
    assert [s.data["job_id"] for s in attached] == [j.id for j in jobs]
    assert all("already launched" in s.message for s in attached)
    assert not [s for s in steps if s.kind in {"upload", "reuse", "create", "moderation"}]
    steps.clear()
    launch(ds, epochs=3, on_step=steps.append)
    reused = [s for s in steps if s.kind == "reuse"]
    assert [s.message.split(" (")[0] for s in reused] == [
        f"{split}: reusing {uploads[split].file_id}" for split in ("train", "validation")
    ]


def test_without_validation_an_alias_is_sent_as_its_snapshot_and_no_validation_file(emu: Any, tmp_path: Path) -> None:
    ds = write_dataset(tmp_path / "ds", validation=6)
    job = launch(ds, model="gpt-4o-mini", validation=False)
    run = Registry().get_run(str(job.run_id))
    assert run is not None and run.spec["model"] == MODEL and run.spec["validation_file"] is None
    assert job.refresh().model == MODEL


def test_a_job_made_elsewhere_during_our_upload_is_attached_to_and_recorded(emu: Any, tmp_path: Path) -> None:
    """Another machine creates the first configuration's job while ours uploads (after ours looked)."""
    ds = write_dataset(tmp_path / "ds", validation=0)
    keys = [j.config_key for j in plan_launch(ds, epochs=[1, 2]).jobs]
    provider = OpenAIProvider.from_settings(resolve())
    theirs: list[str] = []
    steps: list[LaunchStep] = []

    def on_step(step: LaunchStep) -> None:
        steps.append(step)
        if step.kind == "upload":
            meta = {RUN_KEY: "run-theirs", CONFIG_KEY: keys[0]}
            theirs.append(
                provider.create_job(JobSpec(model=MODEL, training_file=step.data["file_id"], metadata=meta)).id
            )

    jobs = launch(ds, epochs=[1, 2], on_step=on_step)
    assert isinstance(jobs, list) and jobs[0].id == theirs[0] and jobs[0].reused and not jobs[1].reused
    assert emu.stats()["jobs_created"] == 2
    attached = [s for s in steps if s.kind == "attach"]
    assert [s.data for s in attached] == [{"job_id": theirs[0]}]
    assert re.fullmatch(
        rf"{MODEL} \(supervised, n_epochs=1\): another launch has just created {theirs[0]} \([a-z_]+\); "
        "re-attaching to it instead of creating a second job",
        attached[0].message,
    )
    record = Registry().get_job(theirs[0])
    assert record is not None and (record.run_id, record.config_key, record.sweep_id) == (
        "run-theirs",
        keys[0],
        jobs[0].sweep_id,
    )
    plan = plan_launch(ds)
    assert (record.dataset_sha256, record.dataset_path, record.endpoint) == (
        plan.dataset.dataset_sha256,
        str(ds),
        plan.endpoint,
    )


def test_a_launch_polls_an_unprocessed_file_at_a_fifth_of_the_poll_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _still_emulator(monkeypatch) as emu:
        monkeypatch.setenv("FTCLIENT_POLL_INTERVAL_S", "1.5")
        naps: list[float] = []

        def sleep(seconds: float) -> None:
            naps.append(seconds)
            emu.advance(10)

        job = launch(write_dataset(tmp_path / "ds", validation=0), sleep=sleep)
    assert naps == [pytest.approx(0.3)] and re.fullmatch(r"run-[0-9a-f]{20}", str(job.run_id))


def test_waiting_for_processing_polls_from_a_second_doubling_to_30s_and_stops_at_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _still_emulator(monkeypatch) as emu:
        provider = OpenAIProvider.from_settings(resolve())
        sent = provider.upload_file(write_dataset(tmp_path / "ds") / "train.jsonl")
        naps: list[float] = []

        def sleep(seconds: float) -> None:
            naps.append(seconds)
            emu.advance(0.15)  # the file is processed a second after it arrived: after the 7th pause

        assert sent.status == "uploaded" and wait_processed(provider, sent, sleep=sleep).status == "processed"
        assert naps == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]  # doubling from a second, capped at 30 s
        late = provider.upload_file(tmp_path / "ds" / "test.jsonl")
        with pytest.raises(WaitTimeout) as waited:  # the clock that stops it is real; the pauses are not slept
            wait_processed(provider, late, timeout_s=0.05, sleep=lambda s: None)
    assert (waited.value.what, waited.value.waited_s) == (f"the provider to process file {late.id}", 0.05)
    assert waited.value.hint == "run the same command again; the file is reused once processed"


@contextlib.contextmanager
def _still_emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An emulator whose clock moves only when a test moves it (a thousandth of real time), started just
    after a whole second, so a file it receives stays unprocessed until the test advances the clock."""
    with emulator_env(monkeypatch, speed=0.001) as emu:
        emu.advance(math.ceil(emu.now()) - emu.now() + 0.01)
        yield emu


def test_find_existing_reads_every_run_newest_first_and_records_what_it_finds(emu: Any, tmp_path: Path) -> None:
    """Jobs made here without the configuration in their metadata, so only the registry's runs can find them."""
    provider = OpenAIProvider.from_settings(resolve())
    registry = Registry(tmp_path / "r.db")
    endpoint = endpoint_identity(provider)
    train = provider.upload_file(write_dataset(tmp_path / "ds") / "train.jsonl").id

    def job(run_id: str, *, cancel: bool = False, config: str | None = None) -> str:
        meta = {RUN_KEY: run_id, **({CONFIG_KEY: config} if config else {})}
        made = provider.create_job(JobSpec(model=MODEL, training_file=train, metadata=meta))
        if cancel:
            provider.cancel_job(made.id)
        return made.id

    def run(run_id: str, key: str, job_id: str | None = None) -> None:
        registry.record_run(
            run_id=run_id,
            provider="openai",
            endpoint=endpoint,
            config_key=key,
            spec={},
            dataset_sha256="d" * 64,
            dataset_path="/data/ds",
            sweep_id="sweep-1",
            estimated_tokens=1234,
            estimated_cost_usd=0.5,
        )
        if job_id:
            registry.record_job(provider.get_job(job_id), endpoint=endpoint, run_id=run_id, config_key=key)

    # recorded jobs: a live one, then (newer) one the provider no longer has, then a cancelled one
    live = job("run-a1")
    run("run-a1", "key-a", live)
    run("run-a2", "key-a")
    registry.record_job(
        JobInfo(id="ftjob-gone", provider="openai", status="running", model=MODEL, created_at=1),
        endpoint=endpoint,
        run_id="run-a2",
    )
    run("run-a3", "key-a", job("run-a3", cancel=True))
    found = find_existing(provider, registry, "key-a")
    assert found.job is not None and found.job.id == live and found.run_id is None and found.previous_failed is None
    # only a cancelled one: named, nothing to re-attach to
    cancelled = job("run-b1", cancel=True)
    run("run-b1", "key-b", cancelled)
    found = find_existing(provider, registry, "key-b")
    assert found.job is None and found.run_id is None and found.previous_failed is not None
    assert found.previous_failed.id == cancelled
    # runs whose create never answered: the provider has their jobs (the newest cancelled, the older live)
    older = job("run-c1")
    run("run-c1", "key-c")
    newer = job("run-c2", cancel=True)
    run("run-c2", "key-c")
    found = find_existing(provider, registry, "key-c")
    assert found.job is not None and found.job.id == older and found.previous_failed is None
    for job_id, run_id in ((older, "run-c1"), (newer, "run-c2")):
        record = registry.get_job(job_id)
        assert record is not None
        assert (record.run_id, record.config_key, record.sweep_id, record.endpoint) == (
            run_id,
            "key-c",
            "sweep-1",
            endpoint,
        )
        assert (record.dataset_sha256, record.dataset_path) == ("d" * 64, "/data/ds")
        assert (record.estimated_tokens, record.estimated_cost_usd) == (1234, 0.5)
    # a run still waiting for its answer is reused; the provider's jobs of the configuration are not asked
    job("run-elsewhere", cancel=True, config="key-d")
    run("run-d1", "key-d")
    assert find_existing(provider, registry, "key-d") == Existing(run_id="run-d1")


# -- create: what is retried and what is not -------------------------------------------------------------


def test_a_refused_create_is_sent_once_and_not_called_possibly_created(emu: Any) -> None:
    provider = OpenAIProvider.from_settings(resolve())
    spec = JobSpec(model=MODEL, training_file="file-does-not-exist", metadata={RUN_KEY: "run-400"})
    naps: list[float] = []
    retries: list[int] = []
    with pytest.raises(InvalidRequestError) as refused:
        create_idempotent(provider, spec, "run-400", sleep=naps.append, on_retry=lambda n, e: retries.append(n))
    assert route_count(emu, JOBS_ROUTE) == 1 and route_count(emu, JOBS_ROUTE, "400") == 1
    assert naps == [] and retries == [] and emu.stats()["jobs_created"] == 0
    assert "may still have been created" not in (refused.value.hint or "")


def test_a_5xx_on_create_is_retried_after_looking_and_makes_one_job(emu: Any, tmp_path: Path) -> None:
    provider = OpenAIProvider.from_settings(resolve())
    train = provider.upload_file(write_dataset(tmp_path / "ds") / "train.jsonl")
    spec = JobSpec(model=MODEL, training_file=train.id, metadata={RUN_KEY: "run-5xx"})
    emu.inject(JOBS_ROUTE, "status_503", times=1)
    naps: list[float] = []
    retries: list[tuple[int, str]] = []

    def retried(attempt: int, error: ProviderError) -> None:
        retries.append((attempt, type(error).__name__))
        if attempt == 1:  # the second request makes the job, and its answer is lost
            emu.inject(JOBS_ROUTE, "lose_response_after_commit", times=1)

    info = create_idempotent(
        provider,
        spec,
        "run-5xx",
        sleep=naps.append,
        base_backoff_s=0.5,
        on_retry=retried,
    )
    # first attempt: 503 (nothing made); second: made but the answer lost; third: found by its run id
    assert info.metadata[RUN_KEY] == "run-5xx" and emu.stats()["jobs_created"] == 1
    assert route_count(emu, JOBS_ROUTE) == 2 and naps == [0.5, 1.0]
    assert retries == [(1, "ProviderUnavailable"), (2, "ProviderUnavailable")]


def test_create_gives_up_after_max_attempts_and_says_the_job_may_exist(emu: Any, tmp_path: Path) -> None:
    provider = OpenAIProvider.from_settings(resolve())
    train = provider.upload_file(write_dataset(tmp_path / "ds") / "train.jsonl")
    emu.inject(JOBS_ROUTE, "status_500", times=5)
    naps: list[float] = []
    spec = JobSpec(model=MODEL, training_file=train.id, metadata={RUN_KEY: "run-x"})
    with pytest.raises(ProviderUnavailable) as gave_up:
        create_idempotent(provider, spec, "run-x", sleep=naps.append, max_attempts=2)
    assert route_count(emu, JOBS_ROUTE) == 2 and naps == [1.0] and emu.stats()["jobs_created"] == 0
    assert gave_up.value.hint == (
        "the job may still have been created: `ftclient launch` again finds it by its run id (run-x) "
        "instead of creating another"
    )
    with pytest.raises(ValueError, match=r"^spec\.metadata must carry the run id$"):
        create_idempotent(provider, spec, "run-other", sleep=naps.append)
    assert route_count(emu, JOBS_ROUTE) == 2


def _rate_limited(retry_after_s: float | None) -> ProviderError:
    return RateLimitError("busy", provider="openai", status=429, retry_after_s=retry_after_s)


@pytest.mark.parametrize(
    ("attempt", "retry_after_s", "base_s", "expected"),
    [
        (1, None, 1.0, 1.0),
        (2, None, 1.0, 2.0),
        (4, None, 0.5, 4.0),
        (12, None, 1.0, MAX_BACKOFF_S),  # growth capped
        (1, 3600.0, 1.0, MAX_BACKOFF_S),  # an hour asked for: capped, not a silent hour
        (3, 0.0, 1.0, 0.0),  # "now" honoured, not replaced by the backoff
        (1, 7.5, 1.0, 7.5),
        (1, 60.0, 1.0, 60.0),
    ],
)
def test_the_pause_before_a_create_retry(
    attempt: int, retry_after_s: float | None, base_s: float, expected: float
) -> None:
    assert MAX_BACKOFF_S == 60.0
    assert _backoff(attempt, _rate_limited(retry_after_s), base_s) == expected


# -- uploads ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("interrupted_at", [PARTS_ROUTE, COMPLETE_ROUTE], ids=["parts", "complete"])
def test_a_session_the_provider_expired_is_restarted_without_its_parts(
    emu: Any, tmp_path: Path, interrupted_at: str
) -> None:
    """The local record says the session still lives (this machine's clock), the provider has expired it:
    the next upload starts a new session and sends every part again, none of the old part ids."""
    provider = OpenAIProvider.from_settings(resolve())
    provider.max_retries = 0
    registry = Registry(tmp_path / "r.db")
    ref = resolve_dataset(write_dataset(tmp_path / "ds", train=12), resolve(), None)
    size = ref.train.stat().st_size
    n_parts = -(-size // 1000)
    options: dict[str, Any] = {"sha256": ref.train_sha256, "simple_limit": 1000, "part_size": 1000, "workers": 1}
    emu.inject(interrupted_at, "status_500", times=1)
    with pytest.raises(ProviderUnavailable):
        ensure_uploaded(provider, registry, ref.train, **options)
    stale = registry.find_upload_session("openai", endpoint_identity(provider), ref.train_sha256)
    assert stale is not None and stale.parts and stale.path == str(ref.train)
    emu.advance(2 * 3600)  # past the provider's one-hour session lifetime
    done = ensure_uploaded(provider, registry, ref.train, **options)
    assert route_count(emu, "POST /v1/uploads") == 2
    assert done.resumed_parts == 0 and done.sent_parts == n_parts and done.reused is False
    assert provider.download_file(done.file.id) == ref.train.read_bytes()
    assert registry.find_upload_session("openai", endpoint_identity(provider), ref.train_sha256) is None
    assert list(_session_states(tmp_path / "r.db").values()) == ["expired", "completed"]
    assert registry.find_upload("openai", ref.train_sha256) is not None


def test_reuse_by_hash_is_per_endpoint_and_purpose_waits_for_processing_and_forgets_gone_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _still_emulator(monkeypatch) as emu:
        provider = OpenAIProvider.from_settings(resolve())
        registry = Registry(tmp_path / "r.db")
        ref = resolve_dataset(write_dataset(tmp_path / "ds"), resolve(), None)
        sha, size, endpoint = ref.train_sha256, ref.train.stat().st_size, endpoint_identity(provider)
        naps: list[float] = []

        def sleep(seconds: float) -> None:
            naps.append(seconds)
            emu.advance(10)

        # sent under its own name (not the content name) and recorded: only the registry knows it
        sent = provider.upload_file(ref.train)
        registry.record_upload(
            provider="openai", endpoint=endpoint, file_id=sent.id, sha256=sha, filename="train.jsonl", bytes=size
        )
        # the same bytes recorded (later) for another server: not asked about here
        registry.record_upload(
            provider="openai",
            endpoint="https://elsewhere.example/v1",
            file_id="file-x",
            sha256=sha,
            filename="t",
            bytes=1,
        )
        again = ensure_uploaded(provider, registry, ref.train, sha256=sha, poll_s=0.5, sleep=sleep)
        assert again.reused and again.file.id == sent.id and again.file.status == "processed" and naps == [0.5]
        assert route_count(emu, "POST /v1/files") == 1 and route_count(emu, "GET /v1/files/{file_id}", "404") == 0
        # another purpose is another file (waited for at the default pause of a second)
        batch = ensure_uploaded(provider, registry, ref.train, sha256=sha, purpose="batch", sleep=sleep)
        assert batch.reused is False and batch.file.purpose == "batch" and naps == [0.5, 1.0]
        recorded = registry.find_upload("openai", sha, endpoint=endpoint, purpose="batch")
        assert recorded is not None and recorded.file_id == batch.file.id
        # a file the provider no longer has is marked gone and sent again
        provider.delete_file(sent.id)
        fresh = ensure_uploaded(provider, registry, ref.train, sha256=sha, sleep=sleep)
        assert fresh.reused is False and fresh.file.id != sent.id
        assert {u.file_id: u.status for u in registry.list_uploads()}[sent.id] == "deleted"
        # a reused file the provider never gets round to processing: the wait gives up at its timeout
        late = provider.upload_file(ref.validation)
        registry.record_upload(
            provider="openai", endpoint=endpoint, file_id=late.id, sha256=ref.validation_sha256, filename="t", bytes=1
        )
        with pytest.raises(WaitTimeout):
            ensure_uploaded(
                provider,
                registry,
                ref.validation,
                sha256=ref.validation_sha256,
                processing_timeout_s=0.05,
                sleep=lambda s: None,
            )


def _reject(emu: Any, file_id: str) -> None:
    """The provider's verdict on a file it checked and refused (the emulator accepts every well-formed file)."""
    emu.core.app.store.files[file_id]["status"] = "error"


def test_a_file_the_provider_rejected_is_not_reused_by_its_hash(emu: Any, tmp_path: Path) -> None:
    provider = OpenAIProvider.from_settings(resolve())
    registry = Registry(tmp_path / "r.db")
    ref = resolve_dataset(write_dataset(tmp_path / "ds"), resolve(), None)
    first = ensure_uploaded(provider, registry, ref.train, sha256=ref.train_sha256)
    _reject(emu, first.file.id)
    again = ensure_uploaded(provider, registry, ref.train, sha256=ref.train_sha256)
    assert not again.reused and again.file.id != first.file.id and again.file.status == "processed"
    assert route_count(emu, "POST /v1/files") == 2
    known = registry.find_upload("openai", ref.train_sha256)
    assert known is not None and known.file_id == again.file.id
    assert {u.file_id: u.status for u in registry.list_uploads()}[first.file.id] == "deleted"
    assert ensure_uploaded(provider, registry, ref.train, sha256=ref.train_sha256).file.id == again.file.id


def test_a_rejected_file_under_the_content_name_is_not_taken_for_one_sent_before_a_crash(
    emu: Any, tmp_path: Path
) -> None:
    provider = OpenAIProvider.from_settings(resolve())
    registry = Registry(tmp_path / "r.db")
    ref = resolve_dataset(write_dataset(tmp_path / "ds"), resolve(), None)
    rejected = provider.upload_named(ref.train, filename=content_name(ref.train, ref.train_sha256))
    _reject(emu, rejected.id)
    done = ensure_uploaded(provider, registry, ref.train, sha256=ref.train_sha256)
    assert not done.reused and done.file.id != rejected.id and route_count(emu, "POST /v1/files") == 2


def _large_upload(emu: Any, tmp_path: Path, train: int = 12) -> tuple[OpenAIProvider, Registry, Any]:
    provider = OpenAIProvider.from_settings(resolve())
    provider.max_retries = 0
    return (
        provider,
        Registry(tmp_path / "r.db"),
        resolve_dataset(write_dataset(tmp_path / "ds", train=train), resolve(), None),
    )


def test_a_session_the_provider_keeps_expiring_is_started_twice_then_reported(emu: Any, tmp_path: Path) -> None:
    provider, registry, ref = _large_upload(emu, tmp_path)

    def progress(done: int, total: int) -> None:
        emu.advance(2 * 3600)  # every session dies after its first part

    with pytest.raises(InvalidRequestError, match="expired"):
        ensure_uploaded(
            provider,
            registry,
            ref.train,
            sha256=ref.train_sha256,
            simple_limit=1000,
            part_size=1000,
            workers=1,
            on_progress=progress,
        )
    assert route_count(emu, "POST /v1/uploads") == 2 and route_count(emu, PARTS_ROUTE, "200") == 2


def test_a_changed_part_size_starts_a_new_session(emu: Any, tmp_path: Path) -> None:
    provider, registry, ref = _large_upload(emu, tmp_path)
    emu.inject(PARTS_ROUTE, "status_500", times=1)
    with pytest.raises(ProviderUnavailable):
        ensure_uploaded(
            provider, registry, ref.train, sha256=ref.train_sha256, simple_limit=1000, part_size=1000, workers=1
        )
    sent_before = route_count(emu, PARTS_ROUTE)
    done = ensure_uploaded(
        provider, registry, ref.train, sha256=ref.train_sha256, simple_limit=1000, part_size=700, workers=1
    )
    n_parts = -(-ref.train.stat().st_size // 700)
    assert done.resumed_parts == 0 and done.sent_parts == n_parts and route_count(emu, "POST /v1/uploads") == 2
    assert route_count(emu, PARTS_ROUTE) == sent_before + n_parts  # nothing sent into the old session again
    assert provider.download_file(done.file.id) == ref.train.read_bytes()


def test_multipart_sends_the_whole_file_md5_from_at_most_workers_threads(
    emu: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider, registry, ref = _large_upload(emu, tmp_path)
    threads: set[int] = set()
    checksums: list[str | None] = []
    upload_part, complete_upload = provider.upload_part, provider.complete_upload

    def part(upload_id: str, data: bytes) -> str:
        threads.add(threading.get_ident())
        return upload_part(upload_id, data)

    def complete(upload_id: str, part_ids: Any, *, md5: str | None = None) -> Any:
        checksums.append(md5)
        return complete_upload(upload_id, part_ids, md5=md5)

    monkeypatch.setattr(provider, "upload_part", part)
    monkeypatch.setattr(provider, "complete_upload", complete)
    done = ensure_uploaded(
        provider,
        registry,
        ref.train,
        sha256=ref.train_sha256,
        purpose="batch",
        simple_limit=1000,
        part_size=1000,
        workers=1,
    )
    assert checksums == [hashlib.md5(ref.train.read_bytes()).hexdigest()] and len(threads) == 1
    assert done.file.purpose == "batch" and emu.core.app.store.files[done.file.id]["purpose"] == "batch"
    session = _session_states(tmp_path / "r.db")
    assert list(session.values()) == ["completed"]


def test_a_file_over_the_simple_limit_but_under_one_part_goes_as_one_part(emu: Any, tmp_path: Path) -> None:
    provider, registry, ref = _large_upload(emu, tmp_path)
    done = ensure_uploaded(provider, registry, ref.train, sha256=ref.train_sha256, simple_limit=100, part_size=10**6)
    assert done.sent_parts == 1 and route_count(emu, PARTS_ROUTE) == 1
    assert provider.download_file(done.file.id) == ref.train.read_bytes()


def test_a_file_exactly_at_the_simple_limit_goes_in_one_request(emu: Any, tmp_path: Path) -> None:
    provider, registry, ref = _large_upload(emu, tmp_path)
    size = ref.train.stat().st_size
    done = ensure_uploaded(provider, registry, ref.train, sha256=ref.train_sha256, simple_limit=size, part_size=1000)
    assert (
        done.sent_parts == 0 and route_count(emu, "POST /v1/uploads") == 0 and route_count(emu, "POST /v1/files") == 1
    )


def _session_states(db: Path) -> dict[str, str]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return dict(conn.execute("SELECT upload_id, state FROM upload_sessions ORDER BY recorded_at"))


@pytest.mark.parametrize(
    ("expires_at", "created_at", "expected"),
    [
        (5000, 1400, 10.0 + 3600),  # the provider's stated lifetime, counted on this machine's clock
        (5000, None, 5000.0),  # no creation time: the provider's end as it is
        (None, 1400, None),
        (1000, 1400, 10.0),  # a lifetime below zero is none
    ],
)
def test_the_local_end_of_an_upload_session(
    expires_at: int | None, created_at: int | None, expected: float | None
) -> None:
    info = UploadSessionInfo(
        id="u", bytes=1, part_size=1, expires_at=expires_at, status="pending", created_at=created_at
    )
    assert _local_expiry(info, 10.0) == expected


class _Unnamed:
    """A provider with only the base protocol's file calls, as a plugin may be: it cannot look files up by
    name, so ftclient uploads with ``upload_file`` and relies on the registry alone to reuse them."""

    def __init__(self, inner: OpenAIProvider) -> None:
        self._inner = inner
        self.name = inner.name
        self.capabilities = inner.capabilities
        self.endpoint = inner.endpoint
        self.sent: list[tuple[str, str]] = []

    def upload_file(self, path: Path, *, purpose: str = "fine-tune", on_progress: Any = None) -> Any:
        self.sent.append((path.name, purpose))
        return self._inner.upload_file(path, purpose=purpose, on_progress=on_progress)

    def get_file(self, file_id: str) -> Any:
        return self._inner.get_file(file_id)


def test_a_provider_without_named_files_uploads_once_and_is_reused_through_the_registry(
    emu: Any, tmp_path: Path
) -> None:
    provider = _Unnamed(OpenAIProvider.from_settings(resolve()))
    registry = Registry(tmp_path / "r.db")
    ref = resolve_dataset(write_dataset(tmp_path / "ds"), resolve(), None)
    seen: list[tuple[int, int]] = []
    first = ensure_uploaded(provider, registry, ref.train, sha256=ref.train_sha256,  # type: ignore[arg-type]
                            purpose="fine-tune", on_progress=lambda done, total: seen.append((done, total)))
    size = ref.train.stat().st_size
    assert first.reused is False and first.file.status == "processed"
    assert provider.sent == [(ref.train.name, "fine-tune")] and seen[-1] == (size, size)
    (recorded,) = registry.list_uploads()
    # recorded as the upload answered (before processing), under the file's own name (no content name here)
    assert (recorded.file_id, recorded.bytes, recorded.status) == (first.file.id, size, "uploaded")
    assert recorded.filename == ref.train.name
    again = ensure_uploaded(provider, registry, ref.train, sha256=ref.train_sha256)  # type: ignore[arg-type]
    assert again.reused is True and again.file.id == first.file.id
    assert len(provider.sent) == 1 and route_count(emu, "POST /v1/files") == 1
    batch = ensure_uploaded(provider, registry, ref.train, sha256=ref.train_sha256, purpose="batch")  # type: ignore[arg-type]
    assert provider.sent[-1] == (ref.train.name, "batch") and batch.file.purpose == "batch"


def test_a_freshly_sent_file_the_provider_rejects_says_which_file_why_and_what_to_do(
    emu: Any, tmp_path: Path
) -> None:
    provider = OpenAIProvider.from_settings(resolve())
    ref = resolve_dataset(write_dataset(tmp_path / "ds"), resolve(), None)
    sent = provider.upload_named(ref.train, filename="train-checked.jsonl")
    _reject(emu, sent.id)
    emu.core.app.store.files[sent.id]["status_details"] = "line 3: messages must end with an assistant turn"
    with pytest.raises(DatasetError) as caught:
        wait_processed(provider, sent, sleep=lambda s: None)
    assert caught.value.message == (
        f"openai rejected file {sent.id} (train-checked.jsonl): line 3: messages must end with an assistant turn"
    )
    assert caught.value.hint == "run `ftclient validate` on the file, fix what it reports, and launch again"
    emu.core.app.store.files[sent.id]["status_details"] = None  # no reason given: the status stands in
    with pytest.raises(DatasetError, match=rf"^openai rejected file {sent.id} \(train-checked.jsonl\): error$"):
        wait_processed(provider, sent, sleep=lambda s: None)


def test_a_fresh_file_the_provider_never_processes_gives_up_at_the_timeout_asked_for(
    emu: Any, tmp_path: Path
) -> None:
    provider = OpenAIProvider.from_settings(resolve())
    registry = Registry(tmp_path / "r.db")
    ref = resolve_dataset(write_dataset(tmp_path / "ds"), resolve(), None)
    emu.core.services.clock.speed = 1e-6  # the file stays "uploaded"
    with pytest.raises(WaitTimeout, match=r"process file file-"):
        ensure_uploaded(
            provider, registry, ref.train, sha256=ref.train_sha256, processing_timeout_s=0.05, sleep=lambda s: None
        )
    (recorded,) = registry.list_uploads()  # sent and recorded under its content name before the wait
    assert recorded.filename == content_name(ref.train, ref.train_sha256) != ref.train.name
    assert recorded.status == "uploaded"


def test_a_file_sent_before_a_crash_for_one_purpose_is_not_taken_for_another(emu: Any, tmp_path: Path) -> None:
    provider = OpenAIProvider.from_settings(resolve())
    registry = Registry(tmp_path / "r.db")
    ref = resolve_dataset(write_dataset(tmp_path / "ds"), resolve(), None)
    earlier = provider.upload_named(ref.train, filename=content_name(ref.train, ref.train_sha256))  # fine-tune
    batch = ensure_uploaded(provider, registry, ref.train, sha256=ref.train_sha256, purpose="batch")
    assert not batch.reused and batch.file.id != earlier.id and batch.file.purpose == "batch"
    tuned = ensure_uploaded(provider, registry, ref.train, sha256=ref.train_sha256)
    assert tuned.reused and tuned.file.id == earlier.id and route_count(emu, "POST /v1/files") == 2
