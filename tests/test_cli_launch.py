"""``ftclient launch`` in-process against the emulator: follow to the end, --json, --dry-run, --detach,
exit codes 1/3/4, and a canary key that never leaks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from launch_support import CANARY_KEY, emulator_env, route_count, write_dataset


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    with emulator_env(monkeypatch) as running:
        yield running


def test_launch_follows_the_job_to_succeeded(emu, run_cli, tmp_path: Path) -> None:
    ds = write_dataset(tmp_path / "ds", validation=10)
    result = run_cli("launch", str(ds), "--epochs", "2", "--suffix", "tickets")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    err = result.stderr
    assert "uploaded file-" in err and "created ftjob-" in err and "Step " in err and "succeeded" in err
    assert "ft:gpt-4o-mini-2024-07-18:ftclient-emulator:tickets:" in err
    assert "next: ftclient evaluate ftjob-" in err and "2027-01-06" in err


def test_json_mode_writes_one_document_and_relaunch_reattaches(emu, run_cli, tmp_path: Path) -> None:
    ds = write_dataset(tmp_path / "ds", validation=10)
    first = run_cli("launch", str(ds), "--json")
    assert first.exit_code == 0, first.stderr
    doc = first.json()
    [job] = doc["jobs"]
    assert job["status"] == "succeeded" and job["fine_tuned_model"] and not job["reused"]
    again = run_cli("launch", str(ds), "--json")
    assert again.exit_code == 0 and again.json()["jobs"][0]["id"] == job["id"] and again.json()["jobs"][0]["reused"]
    assert emu.stats()["jobs_created"] == 1 and route_count(emu, "POST /v1/files") == 2


def test_dry_run_prints_requests_and_cost_and_sends_nothing(emu, run_cli, tmp_path: Path) -> None:
    ds = write_dataset(tmp_path / "ds", validation=10)
    human = run_cli("launch", str(ds), "--dry-run", "--epochs", "2,3", "--lr-multiplier", "0.5")
    assert human.exit_code == 0, human.stderr
    assert human.stdout.count('"url": "' + emu.base_url + '/fine_tuning/jobs"') == 2
    assert '"learning_rate_multiplier": 0.5' in human.stdout and "estimated total: $" in human.stdout
    doc = run_cli("launch", str(ds), "--dry-run", "--json").json()
    assert doc["dry_run"] is True and doc["jobs"][0]["estimated_cost_usd"] > 0
    assert doc["uploads"][0]["requests"][0]["multipart"]["file"]["filename"].startswith("train-")
    assert emu.stats()["requests"]["total"] == 0


def test_detach_prints_the_job_id_for_scripts(emu, run_cli, tmp_path: Path) -> None:
    ds = write_dataset(tmp_path / "ds", validation=10)
    result = run_cli("-q", "launch", str(ds), "--detach")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip().startswith("ftjob-") and len(result.stdout.splitlines()) == 1
    watch = run_cli("jobs", "watch", result.stdout.strip(), "--json", "--poll-interval", "0.01")
    assert watch.exit_code == 0 and watch.json()["status"] == "succeeded"


def test_a_failed_job_exits_3_with_the_reason(emu, run_cli, tmp_path: Path) -> None:
    ds = write_dataset(tmp_path / "ds", validation=10)
    emu.inject("POST /v1/fine_tuning/jobs", "fail_job", times=1, at_step=3)
    result = run_cli("launch", str(ds))
    assert result.exit_code == 3, result.stderr
    assert "error[job-failed]" in result.stderr and "ftclient jobs events ftjob-" in result.stderr


def test_a_wait_timeout_exits_4_and_says_how_to_reattach(monkeypatch, run_cli, tmp_path: Path) -> None:
    with emulator_env(monkeypatch, speed=5.0):
        ds = write_dataset(tmp_path / "ds", validation=10)
        result = run_cli("launch", str(ds), "--timeout", "0.3")
    assert result.exit_code == 4, result.stderr
    assert "ftclient jobs watch ftjob-" in result.stderr


def test_bad_values_and_missing_datasets_exit_1_before_sending(emu, run_cli, tmp_path: Path, monkeypatch) -> None:
    ds = write_dataset(tmp_path / "ds", validation=10)
    bad = run_cli("launch", str(ds), "--epochs", "0")
    assert bad.exit_code == 1 and "--epochs 0 is out of range" in bad.stderr
    usage = run_cli("launch", str(ds), "--epochs", "two")
    assert usage.exit_code == 2
    monkeypatch.chdir(tmp_path)
    missing = run_cli("launch")
    assert missing.exit_code == 1 and "ftclient prepare" in missing.stderr
    assert emu.stats()["requests"]["total"] == 0


def test_the_api_key_never_reaches_output_files_or_errors(emu, run_cli, tmp_path: Path, _hermetic_env: Path) -> None:
    ds = write_dataset(tmp_path / "ds", validation=10)
    outputs = [run_cli("launch", str(ds), "--json"), run_cli("runs", "--json"), run_cli("jobs", "list", "--json")]
    emu.inject("POST /v1/fine_tuning/jobs", "status_500", message=f"boom, key was {CANARY_KEY}")
    outputs.append(run_cli("--debug", "launch", str(ds), "--force-new", "--epochs", "5"))
    assert outputs[-1].exit_code == 1 and "[redacted]" in outputs[-1].stderr
    for result in outputs:
        assert CANARY_KEY not in result.stdout and CANARY_KEY not in result.stderr
    written = [p for root in (_hermetic_env, ds) for p in root.rglob("*") if p.is_file()]
    assert any(p.name == "registry.db" for p in written)
    for path in written:
        assert CANARY_KEY.encode() not in path.read_bytes(), path


def test_moderate_reports_flagged_lines(emu, run_cli, tmp_path: Path) -> None:
    ds = write_dataset(tmp_path / "ds", validation=10)
    clean = run_cli("launch", str(ds), "--moderate", "--detach")
    assert clean.exit_code == 0 and "no example flagged" in clean.stderr
    assert route_count(emu, "POST /v1/moderations") >= 1
    lines = (ds / "train.jsonl").read_text().splitlines()
    row = json.loads(lines[2])
    row["messages"][1]["content"] = "I will kill you, you worthless idiot, I hate you"
    lines[2] = json.dumps(row)
    flagged_ds = write_dataset(tmp_path / "flagged", validation=10)
    (flagged_ds / "train.jsonl").write_text("\n".join(lines) + "\n")
    manifest = json.loads((flagged_ds / "manifest.json").read_text())
    manifest["files"]["train"].pop("sha256")
    manifest["dataset_sha256"] = "f" * 64
    (flagged_ds / "manifest.json").write_text(json.dumps(manifest))
    flagged = run_cli("launch", str(flagged_ds), "--moderate", "--json")
    assert flagged.exit_code == 1
    error = json.loads(flagged.stderr.strip().splitlines()[-1])
    assert error["error"] == "dataset-invalid" and [p["line"] for p in error["problems"]] == [3]
