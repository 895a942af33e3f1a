"""One prepared dataset launched on OpenAI and Together (two emulators, one per dialect), and one report that
compares both tuned models and their bases on the same test split, costs side by side."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES

from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread
from ftclient.errors import UserInputError
from ftclient.launching.cross import is_cross, pair

OPENAI_MODEL = "gpt-4o-mini-2024-07-18"
TOGETHER_MODEL = "Qwen/Qwen3-8B"
"""Its tuned models need a dedicated endpoint (LoRA adapters of the serverless-LoRA bases would not)."""


def test_models_pair_with_the_provider_that_tunes_them() -> None:
    assert pair(["openai", "together"], [OPENAI_MODEL, TOGETHER_MODEL]) == [
        ("openai", [OPENAI_MODEL]),
        ("together", [TOGETHER_MODEL]),
    ]
    assert pair(["together", "openai"], ["gpt-4.1-mini", "Qwen/Qwen3-8B", "together:openai/gpt-oss-20b"]) == [
        ("together", ["Qwen/Qwen3-8B", "openai/gpt-oss-20b"]),
        ("openai", ["gpt-4.1-mini"]),
    ]
    assert pair([], ["openai:gpt-4o-mini", "together:Qwen/Qwen3-8B"]) == [
        ("openai", ["gpt-4o-mini"]),
        ("together", ["Qwen/Qwen3-8B"]),
    ]
    assert is_cross("openai,together", None) and is_cross(None, "openai:a,together:b/c")
    assert not is_cross("openai", OPENAI_MODEL) and not is_cross(None, "ft:gpt-4o-mini-2024-07-18:org::x")


@pytest.mark.parametrize(
    ("providers", "models", "message"),
    [
        (["openai", "together"], [OPENAI_MODEL], "no model given for together"),
        (["openai", "together"], ["llama-3-8b"], "none of openai, together fine-tunes"),
        (["openai"], ["together:Qwen/Qwen3-8B"], "together is not among --provider openai"),
        (["openai", "nosuch"], [OPENAI_MODEL], "unknown provider 'nosuch'"),
        (["openai", "together"], [], "needs --model"),
    ],
)
def test_unclear_combinations_are_refused(providers: list[str], models: list[str], message: str) -> None:
    with pytest.raises(UserInputError, match=message):
        pair(providers, models)


@pytest.fixture
def two_emulators(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Emulator, Emulator]]:
    with (
        run_in_thread(EmulatorConfig(provider="openai", speed=1000.0, seed=1)) as openai_emu,
        run_in_thread(EmulatorConfig(provider="together", speed=100.0, seed=2)) as together_emu,
    ):
        assert openai_emu.port != together_emu.port
        monkeypatch.setenv("OPENAI_BASE_URL", openai_emu.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-cross")
        monkeypatch.setenv("TOGETHER_BASE_URL", together_emu.base_url)
        monkeypatch.setenv("TOGETHER_API_KEY", "tk-cross")
        monkeypatch.setenv("FTCLIENT_POLL_INTERVAL_S", "0.02")
        yield openai_emu, together_emu


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.stderr
    return result.json()


def test_one_dataset_on_both_providers_and_one_report(
    two_emulators: tuple[Emulator, Emulator], run_cli: Any, tmp_path: Path
) -> None:
    openai_emu, together_emu = two_emulators
    rows = (EXAMPLES / "support_tickets.csv").read_text(encoding="utf-8").splitlines()[:101]
    source = tmp_path / "tickets.csv"
    source.write_text("\n".join(rows) + "\n", encoding="utf-8")
    folder = tmp_path / "ds"
    ok(run_cli("prepare", str(source), "--model", OPENAI_MODEL, "--out", str(folder), "--json"))
    dry = ok(
        run_cli(
            "launch",
            str(folder),
            "--provider",
            "openai,together",
            "--model",
            f"{OPENAI_MODEL},{TOGETHER_MODEL}",
            "--dry-run",
            "--json",
        )
    )
    assert [p["provider"] for p in dry["plans"]] == ["openai", "together"]
    assert openai_emu.stats()["jobs_created"] == together_emu.stats()["jobs_created"] == 0
    launched = ok(
        run_cli(
            "launch",
            str(folder),
            "--provider",
            "openai,together",
            "--model",
            f"{OPENAI_MODEL},{TOGETHER_MODEL}",
            "--epochs",
            "2",
            "--json",
        )
    )
    jobs = {row["provider"]: row for row in launched["jobs"]}
    assert set(jobs) == {"openai", "together"} and all(r["status"] == "succeeded" for r in jobs.values())
    assert openai_emu.stats()["jobs_created"] == 1 and together_emu.stats()["jobs_created"] == 1
    sweep = launched["sweep_id"]
    assert sweep.startswith("sweep-")

    report = ok(run_cli("evaluate", sweep, "--out", str(tmp_path / "cmp"), "--json"))
    assert report["provider"] == "openai + together" and report["test_file"] == str(folder / "test.jsonl")
    roles = {m["role"]: m for m in report["models"]}
    assert set(roles) == {"tuned · openai", "base · openai", "tuned · together", "base · together"}
    assert roles["base · together"]["model"] == TOGETHER_MODEL
    assert all(m["examples"] == report["examples"] for m in report["models"])
    runs = {r["provider"]: r for r in report["runs"]}
    for provider, run in runs.items():
        assert run["job_id"] == jobs[provider]["id"]
        assert run["tuned_metric"] > run["base_metric"]
        assert run["training_cost_usd"] is not None and run["training_cost_usd"] > 0
    assert runs["openai"]["endpoint_cost_usd"] is None and runs["openai"]["total_cost_usd"] is not None
    assert runs["together"]["endpoint_cost_usd"] > 0 and "estimate-price" in runs["together"]["cost_note"]
    assert runs["together"]["tuned_model"] == jobs["together"]["fine_tuned_model"]
    (deployment,) = report["deployments"]
    assert deployment["final_state"] in {"STOPPING", "STOPPED"}
    together_emu.advance(60)
    assert [e["state"] for e in together_emu.stats()["endpoints"]["list"]] == ["STOPPED"]
    markdown = (tmp_path / "cmp" / "report.md").read_text(encoding="utf-8")
    assert "## Jobs compared" in markdown and jobs["together"]["id"] in markdown and jobs["openai"]["id"] in markdown
    html = (tmp_path / "cmp" / "report.html").read_text(encoding="utf-8")
    assert "<h2>Jobs compared</h2>" in html and "<h2>Dedicated endpoints</h2>" in html
    for job in jobs.values():
        assert (tmp_path / "cmp" / job["id"] / "report.json").is_file()
    saved = json.loads((tmp_path / "cmp" / "report.json").read_text(encoding="utf-8"))
    assert [r["job_id"] for r in saved["runs"]] == [r["job_id"] for r in report["runs"]]
    listed = ok(run_cli("evaluate", jobs["openai"]["id"], jobs["together"]["id"], "--json"))
    assert {r["provider"] for r in listed["runs"]} == {"openai", "together"}
    assert listed["runs"][0]["tuned_metric"] == report["runs"][0]["tuned_metric"]  # cached answers, same scores


FIREWORKS_MODEL = "accounts/fireworks/models/llama-v3p1-8b-instruct"


def test_one_dataset_on_three_providers_compared_in_one_report_with_nothing_left_running(
    two_emulators: tuple[Emulator, Emulator], run_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    openai_emu, together_emu = two_emulators
    with run_in_thread(EmulatorConfig(provider="fireworks", speed=100.0, seed=3)) as fireworks_emu:
        monkeypatch.setenv("FIREWORKS_BASE_URL", fireworks_emu.url)
        monkeypatch.setenv("FIREWORKS_API_KEY", "fw-cross")
        monkeypatch.setenv("FIREWORKS_ACCOUNT_ID", "cross")
        rows = (EXAMPLES / "support_tickets.csv").read_text(encoding="utf-8").splitlines()[:101]
        source = tmp_path / "tickets.csv"
        source.write_text("\n".join(rows) + "\n", encoding="utf-8")
        folder = tmp_path / "ds"
        ok(run_cli("prepare", str(source), "--model", OPENAI_MODEL, "--out", str(folder), "--json"))
        launched = ok(
            run_cli(
                "launch",
                str(folder),
                "--provider",
                "openai,together,fireworks",
                "--model",
                f"{OPENAI_MODEL},{TOGETHER_MODEL},{FIREWORKS_MODEL}",
                "--epochs",
                "2",
                "--json",
            )
        )
        jobs = {row["provider"]: row for row in launched["jobs"]}
        assert set(jobs) == {"openai", "together", "fireworks"}
        assert all(r["status"] == "succeeded" for r in jobs.values())
        for emu in (openai_emu, together_emu, fireworks_emu):
            assert emu.stats()["jobs_created"] == 1

        report = ok(run_cli("evaluate", launched["sweep_id"], "--out", str(tmp_path / "cmp"), "--json"))
        runs = {r["provider"]: r for r in report["runs"]}
        assert set(runs) == {"openai", "together", "fireworks"}
        for provider, run in runs.items():
            assert run["job_id"] == jobs[provider]["id"]
            assert run["tuned_metric"] > run["base_metric"]
        assert {m["role"] for m in report["models"]} >= {"tuned · fireworks", "base · fireworks"}
        together_emu.advance(60)
        fireworks_emu.advance(60)
        assert [e["state"] for e in together_emu.stats()["endpoints"]["list"]] == ["STOPPED"]
        assert fireworks_emu.stats()["deployments"]["running"] == 0


def test_yes_reaches_every_provider_of_a_cross_launch(
    two_emulators: tuple[Emulator, Emulator], run_cli: Any, tmp_path: Path
) -> None:
    """Together's own estimate can advise against a job; `--yes` must overrule it in a cross-provider launch
    as it does in a single-provider one, not only be accepted and dropped."""
    openai_emu, together_emu = two_emulators
    together_emu.core.app.credit_limit_usd = 0.0  # type: ignore[attr-defined]
    rows = (EXAMPLES / "support_tickets.csv").read_text(encoding="utf-8").splitlines()[:41]
    source = tmp_path / "tickets.csv"
    source.write_text("\n".join(rows) + "\n", encoding="utf-8")
    folder = tmp_path / "ds"
    ok(run_cli("prepare", str(source), "--model", OPENAI_MODEL, "--out", str(folder), "--json"))
    args = ("launch", str(folder), "--provider", "openai,together", "--model", f"{OPENAI_MODEL},{TOGETHER_MODEL}",
            "--detach", "--json")
    refused = run_cli(*args)
    assert refused.exit_code == 1 and "--yes" in refused.stderr
    launched = ok(run_cli(*args, "--yes"))
    assert {row["provider"] for row in launched["jobs"]} == {"openai", "together"}
    assert together_emu.stats()["jobs_created"] == 1
    assert openai_emu.stats()["jobs_created"] == 1
