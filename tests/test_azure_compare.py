"""One dataset tuned on OpenAI and on Azure (same base model), launched together and compared in one report,
each against its own emulator; the Azure deployment is gone afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES

from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread

BASE = "gpt-4.1-mini-2025-04-14"


@pytest.fixture
def emus(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Emulator, Emulator]]:
    with (
        run_in_thread(EmulatorConfig(provider="openai", speed=1000.0, seed=2)) as openai_emu,
        run_in_thread(EmulatorConfig(provider="azure", speed=200.0, seed=2)) as azure_emu,
    ):
        monkeypatch.setenv("OPENAI_BASE_URL", openai_emu.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-compare")
        monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", azure_emu.url)
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", "az-compare")
        monkeypatch.setenv("OPENAI_API_VERSION", "2024-10-21")
        monkeypatch.setenv("AZURE_MANAGEMENT_URL", azure_emu.url)
        monkeypatch.setenv("AZURE_MANAGEMENT_TOKEN", "arm-compare")
        monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "sub")
        monkeypatch.setenv("AZURE_RESOURCE_GROUP", "rg")
        monkeypatch.setenv("AZURE_OPENAI_ACCOUNT", "acct")
        monkeypatch.setenv("FTCLIENT_POLL_INTERVAL_S", "0.02")
        monkeypatch.setenv("FTCLIENT_RETRY_BACKOFF_S", "0.01")
        yield openai_emu, azure_emu


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.stderr
    return result.json()


def test_one_dataset_on_openai_and_azure_in_one_report(
    emus: tuple[Emulator, Emulator], run_cli: Any, tmp_path: Path
) -> None:
    _, azure_emu = emus
    lines = (EXAMPLES / "support_tickets.csv").read_text(encoding="utf-8").splitlines()
    source = tmp_path / "tickets.csv"
    source.write_text("\n".join(lines[:101]) + "\n", encoding="utf-8")
    folder = tmp_path / "ds"
    ok(run_cli("prepare", str(source), "--model", BASE, "--out", str(folder), "--json"))
    launched = ok(
        run_cli("launch", str(folder), "--provider", "openai,azure", "--model", f"openai:{BASE},azure:{BASE}", "--json")
    )
    jobs = {j["provider"]: j for j in launched["jobs"]}
    assert set(jobs) == {"openai", "azure"} and all(j["status"] == "succeeded" for j in jobs.values())
    report = ok(run_cli("evaluate", jobs["openai"]["id"], jobs["azure"]["id"], "--out", str(tmp_path / "r"), "--json"))
    roles = {m["role"]: m for m in report["models"]}
    assert {"tuned · openai", "base · openai", "tuned · azure", "base · azure"} <= set(roles)
    assert roles["tuned · openai"]["model"] == jobs["openai"]["fine_tuned_model"]
    assert roles["tuned · azure"]["metrics"]["accuracy"] > roles["base · azure"]["metrics"]["accuracy"]
    (deployment,) = report["deployments"]  # the Azure model is asked through its deployment, by that name
    assert roles["tuned · azure"]["model"] == deployment["name"]
    assert deployment["model"] == jobs["azure"]["fine_tuned_model"] and deployment["final_state"] == "DELETED"
    assert deployment["hardware"] == "Developer" and deployment["cost_usd"] == 0.0  # the no-fee tier by default
    assert azure_emu.stats()["deployments"]["running"] == 0
