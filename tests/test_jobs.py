"""The Python API against the emulator: launch -> wait -> tuned model recorded; relaunches that upload
nothing and create exactly the jobs they should; sweeps; faults that never cause a duplicate job."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from launch_support import FakeTime, emulator_env, route_count, write_dataset

import ftclient
from ftclient.errors import WaitTimeout
from ftclient.jobs import Job, LaunchStep, launch, plan_launch
from ftclient.registry import Registry


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    with emulator_env(monkeypatch) as running:
        yield running


def test_public_names_are_importable_from_the_package() -> None:
    assert ftclient.launch is launch and ftclient.Job is Job


def test_launch_waits_to_succeeded_and_records_the_tuned_model(emu, tmp_path: Path) -> None:
    ds = write_dataset(tmp_path / "ds", validation=10)
    steps: list[LaunchStep] = []
    job = ftclient.launch(ds, model="gpt-4o-mini-2024-07-18", epochs=2, on_step=steps.append)
    assert isinstance(job, Job) and job.run_id and not job.reused
    assert [s.kind for s in steps if s.kind in {"upload", "create"}] == ["upload", "upload", "create"]
    seen = []
    fake = FakeTime()
    info = job.wait(on_event=seen.append, clock=fake.clock, sleep=fake.sleep)
    assert info.status == "succeeded" and info.fine_tuned_model.startswith("ft:gpt-4o-mini-2024-07-18:")
    assert seen[-1].message and any(e.type == "metrics" for e in seen)
    assert len({e.id for e in seen}) == len(seen)  # every event once: polling is incremental
    registry = Registry()
    record = registry.get_job(job.id)
    assert record is not None and record.fine_tuned_model == info.fine_tuned_model
    assert record.status == "succeeded" and record.trained_tokens == info.trained_tokens
    assert record.actual_cost_usd == pytest.approx(info.trained_tokens * 3.00 / 1e6)
    assert record.estimated_cost_usd is not None and record.dataset_sha256
    assert registry.find_job_by_model(info.fine_tuned_model).job_id == job.id
    assert registry.get_dataset(record.dataset_sha256) is not None
    assert [e.id for e in job.events()] == [e.id for e in seen]
    assert job.checkpoints() and job.refresh().status == "succeeded"


def test_relaunches_upload_nothing_and_create_only_what_is_new(emu, tmp_path: Path) -> None:
    ds = write_dataset(tmp_path / "ds", validation=10)
    first = launch(ds, epochs=2)
    assert route_count(emu, "POST /v1/files") == 2 and emu.stats()["jobs_created"] == 1
    other = launch(ds, epochs=3)
    assert route_count(emu, "POST /v1/files") == 2  # files reused by content hash
    assert emu.stats()["jobs_created"] == 2 and other.id != first.id
    steps: list[LaunchStep] = []
    same = launch(ds, epochs=3, on_step=steps.append)
    assert same.id == other.id and same.reused and emu.stats()["jobs_created"] == 2
    assert any(s.kind == "attach" and other.id in s.message for s in steps)
    repeat = launch(ds, epochs=3, force_new=True)
    assert repeat.id not in {first.id, other.id} and emu.stats()["jobs_created"] == 3
    assert route_count(emu, "POST /v1/files") == 2


def test_a_failed_identical_job_does_not_block_a_new_launch(emu, tmp_path: Path) -> None:
    ds = write_dataset(tmp_path / "ds", validation=10)
    emu.inject("POST /v1/fine_tuning/jobs", "fail_job", times=1, at_step=2)
    failed = launch(ds)
    assert failed.wait(poll_interval=0.01).status == "failed"
    steps: list[LaunchStep] = []
    retry = launch(ds, on_step=steps.append)
    assert retry.id != failed.id and emu.stats()["jobs_created"] == 2
    assert any(failed.id in s.message and "failed" in s.message for s in steps if s.kind == "note")


def test_a_registry_lost_between_launches_still_finds_the_job_by_its_metadata(emu, tmp_path: Path, monkeypatch) -> None:
    ds = write_dataset(tmp_path / "ds", validation=10)
    first = launch(ds)
    monkeypatch.setenv("FTCLIENT_HOME", str(tmp_path / "another-machine"))
    again = launch(ds)
    assert again.id == first.id and again.reused and emu.stats()["jobs_created"] == 1


def test_a_sweep_is_one_group_of_jobs(emu, tmp_path: Path) -> None:
    ds = write_dataset(tmp_path / "ds", validation=10)
    jobs = launch(ds, model=["gpt-4o-mini-2024-07-18", "gpt-4.1-mini-2025-04-14"], epochs=[1, 2])
    assert isinstance(jobs, list) and len(jobs) == 4 and len({j.sweep_id for j in jobs}) == 1
    assert emu.stats()["jobs_created"] == 4 and route_count(emu, "POST /v1/files") == 2
    registry = Registry()
    assert len(registry.list_jobs(sweep_id=jobs[0].sweep_id)) == 4
    sweep = registry.get_sweep(jobs[0].sweep_id)
    assert sweep is not None and len(sweep.configs) == 4
    again = launch(ds, model=["gpt-4o-mini-2024-07-18", "gpt-4.1-mini-2025-04-14"], epochs=[1, 2])
    assert {j.id for j in again} == {j.id for j in jobs} and emu.stats()["jobs_created"] == 4
    final = ftclient.jobs.wait_all(jobs, poll_interval=0.01)
    assert {i.status for i in final.values()} == {"succeeded"}


def test_wait_gives_up_at_the_timeout_on_an_injected_clock(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with emulator_env(monkeypatch, speed=20.0):  # a slow clock: the job takes far longer than the test
        ds = write_dataset(tmp_path / "ds", validation=10)
        job = launch(ds)
        fake = FakeTime()
        with pytest.raises(WaitTimeout) as info:
            job.wait(timeout=30, clock=fake.clock, sleep=fake.sleep, poll_interval=1.0)
    assert f"ftclient jobs watch {job.id}" in (info.value.hint or "")
    assert fake.now == pytest.approx(30) and max(fake.sleeps) <= 12.0
    assert fake.sleeps[1] > fake.sleeps[0]  # nothing changes: the pause grows


def test_with_30_percent_faults_and_a_lost_create_response_each_config_gets_exactly_one_job(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FTCLIENT_MAX_RETRIES", "12")
    with emulator_env(monkeypatch, fail_rate=0.16, seed=7) as emu:
        emu.inject("*", "status_429", probability=0.17, retry_after_s=0.001)  # with the 500s: 1 - 0.84 * 0.83 = 30%
        emu.inject("POST /v1/fine_tuning/jobs", "lose_response_after_commit", times=1)
        ds = write_dataset(tmp_path / "ds", validation=10)
        jobs = launch(ds, epochs=[1, 2, 3])
        final = ftclient.jobs.wait_all(jobs, poll_interval=0.01)
        stats = emu.stats()
        assert stats["jobs_created"] == 3 and len({j.id for j in jobs}) == 3
        assert {i.status for i in final.values()} == {"succeeded"}
        by_status = stats["requests"]["by_status"]
        faults = by_status.get("500", 0) + by_status.get("429", 0)
        assert by_status.get("500", 0) > 0 and by_status.get("429", 0) > 0  # both kinds of fault fired
        assert faults / (faults + by_status["200"]) > 0.1
        again = launch(ds, epochs=[1, 2, 3])
        assert {j.id for j in again} == {j.id for j in jobs} and emu.stats()["jobs_created"] == 3


def test_dry_run_plan_sends_nothing(emu, tmp_path: Path) -> None:
    ds = write_dataset(tmp_path / "ds", validation=10)
    plan = plan_launch(ds, epochs=[2, 3])
    assert emu.stats()["requests"]["total"] == 0
    assert len(plan.jobs) == 2 and plan.sweep_id and plan.total_cost_usd and plan.total_cost_usd > 0
    body = plan.jobs[0].request["json"]
    assert body["method"]["supervised"]["hyperparameters"]["n_epochs"] in (2, 3)
    assert "hyperparameters" not in body and body["metadata"]["ftclient_config"] == plan.jobs[0].config_key
    assert [u["split"] for u in plan.uploads] == ["train", "validation"]
    assert plan.uploads[0]["requests"][0]["url"].endswith("/files")


def test_a_recorded_job_the_provider_no_longer_has_does_not_block_a_launch(emu, tmp_path: Path) -> None:
    from ftclient.providers.base import JobInfo

    ds = write_dataset(tmp_path / "ds", validation=10)
    plan = plan_launch(ds)
    registry = Registry()
    registry.record_run(
        run_id="run-old", provider="openai", endpoint=plan.endpoint, config_key=plan.jobs[0].config_key, spec={}
    )
    registry.record_job(
        JobInfo(id="ftjob-gone", provider="openai", status="running", model="m", created_at=1),
        endpoint=plan.endpoint,
        run_id="run-old",
    )
    job = launch(ds)
    assert job.id != "ftjob-gone" and not job.reused and emu.stats()["jobs_created"] == 1


def test_progress_and_eta_follow_the_step_rate() -> None:
    from ftclient.launching.follow import Follower, JobProgress, apply_event
    from ftclient.providers.base import JobEvent, JobInfo

    progress = JobProgress(job_id="j", status="running", model="m")
    progress = apply_event(
        progress,
        JobEvent(
            id="e1",
            created_at=1,
            level="info",
            message="Step 10/100",
            type="metrics",
            data={"step": 10, "total_steps": 100, "train_loss": 1.5},
        ),
    )
    assert (progress.step, progress.total_steps, progress.train_loss, progress.fraction) == (10, 100, 1.5, 0.1)
    progress = apply_event(progress, JobEvent(id="e2", created_at=2, level="info", message="hello"))
    assert progress.step == 10  # message events leave the progress alone
    now = [0.0]
    follower = Follower(
        provider=None,
        registry=None,
        job_ids=["j"],
        min_interval_s=1.0,  # type: ignore[arg-type]
        clock=lambda: now[0],
        wall=lambda: 0.0,
    )
    running = JobInfo(id="j", provider="openai", status="running", model="m", created_at=0, estimated_finish=5000)
    assert follower._eta("j", running, progress) == 5000.0  # no rate yet: the provider's estimate
    now[0] = 20.0
    later = apply_event(
        progress,
        JobEvent(
            id="e3", created_at=3, level="info", message="", type="metrics", data={"step": 30, "total_steps": 100}
        ),
    )
    assert follower._eta("j", running, later) == pytest.approx(70.0)  # 20 steps in 20 s, 70 to go
