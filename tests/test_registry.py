"""The registry on real SQLite files: migrations, links, concurrency between processes."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from ftclient.errors import RegistryError
from ftclient.providers.base import JobInfo
from ftclient.registry import Registry
from ftclient.registry.migrations import MIGRATIONS


def _manifest(sha: str = "d" * 64) -> dict[str, object]:
    return {
        "dataset_sha256": sha,
        "task": "classify",
        "method": "supervised",
        "target": {"provider": "openai", "model": "gpt-4o-mini-2024-07-18"},
        "files": {"train": {"examples": 40, "tokens": 1200}, "validation": {"examples": 5}, "test": {"examples": 5}},
        "created_at": "2026-11-29T04:00:00Z",
    }


def _job(job_id: str = "ftjob-1", status: str = "queued", **kw: object) -> JobInfo:
    return JobInfo(id=job_id, provider="openai", status=status, model="gpt-4o-mini-2024-07-18", created_at=100, **kw)  # type: ignore[arg-type]


def test_fresh_database_has_every_table_wal_and_the_migration_row(tmp_path: Path) -> None:
    reg = Registry(tmp_path / "r.db")
    conn = sqlite3.connect(tmp_path / "r.db")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {
        "datasets",
        "uploads",
        "upload_sessions",
        "upload_parts",
        "runs",
        "jobs",
        "models",
        "sweeps",
        "evaluations",
        "response_cache",
        "_ftclient_migrations",
    } <= tables
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    numbers = [r[0] for r in conn.execute("SELECT number FROM _ftclient_migrations")]
    assert numbers == [m.number for m in MIGRATIONS]
    reg.close()
    Registry(tmp_path / "r.db").close()  # reopening applies nothing twice
    assert [
        r[0] for r in sqlite3.connect(tmp_path / "r.db").execute("SELECT number FROM _ftclient_migrations")
    ] == numbers


def test_a_database_from_a_newer_ftclient_is_refused_with_a_hint(tmp_path: Path) -> None:
    Registry(tmp_path / "r.db").close()
    conn = sqlite3.connect(tmp_path / "r.db")
    conn.execute("INSERT INTO _ftclient_migrations VALUES (999, 'future', 0)")
    conn.commit()
    with pytest.raises(RegistryError) as info:
        Registry(tmp_path / "r.db")
    assert "newer ftclient" in info.value.message and info.value.hint


def test_default_path_follows_ftclient_home(_hermetic_env: Path) -> None:
    reg = Registry()
    assert reg.path == _hermetic_env / "registry.db" and reg.path.exists()


def test_datasets_latest_first_and_rerecording_moves_to_front(tmp_path: Path) -> None:
    reg = Registry(tmp_path / "r.db")
    reg.record_dataset(_manifest("a" * 64), tmp_path / "a")
    reg.record_dataset(_manifest("b" * 64), tmp_path / "b")
    assert [d.dataset_sha256[0] for d in reg.list_datasets()] == ["b", "a"]
    reg.record_dataset(_manifest("a" * 64), tmp_path / "a")
    record = reg.get_dataset("a" * 64)
    assert record is not None and record.train_examples == 40 and record.target_model == "gpt-4o-mini-2024-07-18"
    assert reg.list_datasets()[0].dataset_sha256 == "a" * 64
    assert reg.get_dataset("c" * 64) is None


def test_uploads_are_found_by_sha_and_forgotten_when_gone(tmp_path: Path) -> None:
    reg = Registry(tmp_path / "r.db")
    reg.record_upload(
        provider="openai", endpoint="http://e", file_id="file-1", sha256="s1", filename="t.jsonl", bytes=10
    )
    found = reg.find_upload("openai", "s1", endpoint="http://e")
    assert found is not None and found.file_id == "file-1"
    assert reg.find_upload("openai", "s1", endpoint="http://other") is None
    assert reg.find_upload("together", "s1") is None
    reg.mark_upload_gone("openai", "file-1", endpoint="http://e")
    assert reg.find_upload("openai", "s1") is None


def test_upload_sessions_keep_parts_and_expire(tmp_path: Path) -> None:
    reg = Registry(tmp_path / "r.db")
    reg.start_upload_session(
        upload_id="upload_1",
        provider="openai",
        endpoint="e",
        sha256="s",
        path="/x",
        bytes=100,
        part_size=40,
        expires_at=1000.0,
    )
    reg.record_upload_part("upload_1", 0, "part_a")
    reg.record_upload_part("upload_1", 2, "part_c")
    session = reg.find_upload_session("openai", "e", "s", now=999.0)
    assert session is not None and dict(session.parts) == {0: "part_a", 2: "part_c"}
    assert reg.find_upload_session("openai", "e", "s", now=1001.0) is None
    reg.close_upload_session("upload_1", "completed")
    assert reg.find_upload_session("openai", "e", "s", now=0.0) is None


def test_run_then_job_links_dataset_sweep_model_and_costs(tmp_path: Path) -> None:
    reg = Registry(tmp_path / "r.db")
    reg.record_sweep("sweep-1", "d" * 64, [{"n_epochs": 2}, {"n_epochs": 3}])
    reg.record_run(
        run_id="run-1",
        provider="openai",
        endpoint="e",
        config_key="k1",
        spec={"model": "m"},
        dataset_sha256="d" * 64,
        sweep_id="sweep-1",
        estimated_cost_usd=0.5,
    )
    assert reg.find_runs("openai", "e", "k1")[0].job_id is None
    reg.record_job(
        _job(),
        endpoint="e",
        run_id="run-1",
        sweep_id="sweep-1",
        config_key="k1",
        dataset_sha256="d" * 64,
        estimated_cost_usd=0.5,
    )
    assert reg.find_runs("openai", "e", "k1")[0].job_id == "ftjob-1"
    done = _job(
        status="succeeded",
        fine_tuned_model="ft:gpt-4o-mini-2024-07-18:o::x",
        trained_tokens=3000,
        finished_at=200,
        hyperparameters={"n_epochs": 3},
    )
    reg.update_job(done, actual_cost_usd=0.009)
    record = reg.get_job("ftjob-1")
    assert record is not None
    assert (record.status, record.fine_tuned_model, record.trained_tokens) == ("succeeded", done.fine_tuned_model, 3000)
    assert record.estimated_cost_usd == 0.5 and record.actual_cost_usd == 0.009
    assert record.sweep_id == "sweep-1" and record.run_id == "run-1" and record.hyperparameters == {"n_epochs": 3}
    assert [m.model for m in reg.list_models()] == [done.fine_tuned_model]
    job = reg.find_job_by_model(f"{done.fine_tuned_model}:ckpt-step-10")
    assert job is not None and job.job_id == "ftjob-1"
    # recording the job again (e.g. from `jobs watch` on another machine's view) keeps the links
    reg.record_job(done)
    again = reg.get_job("ftjob-1")
    assert again is not None and again.run_id == "run-1" and again.dataset_sha256 == "d" * 64
    assert [j.job_id for j in reg.list_jobs(sweep_id="sweep-1")] == ["ftjob-1"]
    assert reg.list_jobs(sweep_id="other") == []
    sweep = reg.get_sweep("sweep-1")
    assert sweep is not None and len(sweep.configs) == 2


def test_evaluations_and_response_cache(tmp_path: Path) -> None:
    reg = Registry(tmp_path / "r.db")
    reg.record_evaluation("eval-1", "ftjob-1", "d" * 64, ["ft:x", "gpt-x"], tmp_path / "rep.json", {"acc": 0.9})
    [ev] = reg.list_evaluations()
    assert ev.models == ["ft:x", "gpt-x"] and ev.summary == {"acc": 0.9} and ev.job_id == "ftjob-1"
    assert reg.list_evaluations(job_id="nope") == []
    assert reg.cache_get("openai", "m", "h") is None
    reg.cache_put("openai", "m", "h", {"text": "hi", "n": 1})
    assert reg.cache_get("openai", "m", "h") == {"text": "hi", "n": 1}
    assert reg.cache_get("openai", "other", "h") is None


def _writer(path: str, worker: int, n: int) -> None:
    reg = Registry(path)
    for i in range(n):
        reg.cache_put("openai", "m", f"{worker}-{i}", {"i": i})
        reg.record_job(JobInfo(id=f"ftjob-{worker}-{i}", provider="openai", status="queued", model="m", created_at=i))
    reg.close()


def test_two_processes_migrate_and_write_at_once(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, w, 40)) for w in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    reg = Registry(path)
    assert len(reg.list_jobs()) == 80
    assert reg.cache_get("openai", "m", "1-39") == {"i": 39}
    numbers = [r[0] for r in sqlite3.connect(path).execute("SELECT number FROM _ftclient_migrations")]
    assert numbers == [m.number for m in MIGRATIONS]


def test_nothing_secret_or_absolute_is_needed_to_read_it_back(tmp_path: Path) -> None:
    reg = Registry(tmp_path / "r.db")
    reg.record_dataset(_manifest(), tmp_path / "ds")
    record = reg.get_dataset("d" * 64)
    assert record is not None and json.loads(json.dumps(dict(record.manifest)))["task"] == "classify"
    assert record.path == (tmp_path / "ds").resolve()


def test_prepare_records_the_latest_dataset_with_its_manifest(tmp_path: Path) -> None:
    from conftest import EXAMPLES

    from ftclient.dataset.prepare import prepare

    report = prepare(EXAMPLES / "support_tickets.csv", task="classify", out=tmp_path / "tickets", data_dir=tmp_path)
    latest = Registry().latest_dataset()
    assert latest is not None
    path, manifest = latest
    assert path == report.out_dir.resolve() and manifest.dataset_sha256 == report.manifest.dataset_sha256
    record = Registry().get_dataset(manifest.dataset_sha256)
    assert (
        record is not None and record.task == "classify" and record.train_examples == manifest.files["train"].examples
    )


def test_an_interrupt_after_the_commit_stays_an_interrupt(tmp_path: Path) -> None:
    """Ctrl-C arriving once the write's transaction has already ended must surface as the interrupt (exit 130),
    not as "cannot rollback - no transaction is active" (an internal error, exit 70)."""
    registry = Registry(tmp_path / "r.db")
    with pytest.raises(KeyboardInterrupt), registry._write() as conn:
        conn.execute("COMMIT")
        raise KeyboardInterrupt
    with registry._write() as conn:  # and the registry is still usable
        conn.execute("SELECT 1")
