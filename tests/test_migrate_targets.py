"""Migrating an OpenAI fine-tune to the providers that serve tuned models only once deployed: an Azure
deployment (through the management plane, billed by the hour) and a Fireworks deployment (billed by GPU
time). Both are created for the comparison and gone afterwards, and the candidates carry their costs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_eval_support import TICKET_LABELS, TICKET_SYSTEM, launch_and_wait, ticket_rows, write_dataset

import ftclient
from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread

BASE = "gpt-4o-mini-2024-07-18"
AZURE_MODEL = "gpt-4.1-mini-2025-04-14"
FIREWORKS_MODEL = "accounts/fireworks/models/llama-v3p1-8b-instruct"


@pytest.fixture
def emulators(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Emulator, Emulator, Emulator]]:
    with (
        run_in_thread(EmulatorConfig(speed=2000.0, seed=5, start="2026-12-01")) as openai_emu,
        run_in_thread(EmulatorConfig(provider="azure", speed=2000.0, seed=7)) as azure_emu,
        run_in_thread(EmulatorConfig(provider="fireworks", speed=100.0, seed=8)) as fireworks_emu,
    ):
        env = {
            "OPENAI_API_KEY": "sk-migrate",
            "OPENAI_BASE_URL": openai_emu.base_url,
            "AZURE_OPENAI_ENDPOINT": azure_emu.url,
            "AZURE_OPENAI_API_KEY": "az-migrate",
            "OPENAI_API_VERSION": "2024-10-21",
            "AZURE_MANAGEMENT_URL": azure_emu.url,
            "AZURE_MANAGEMENT_TOKEN": "arm-migrate",
            "AZURE_SUBSCRIPTION_ID": "sub-m",
            "AZURE_RESOURCE_GROUP": "rg-m",
            "AZURE_OPENAI_ACCOUNT": "acct-m",
            "FIREWORKS_BASE_URL": fireworks_emu.url,
            "FIREWORKS_API_KEY": "fw-migrate",
            "FIREWORKS_ACCOUNT_ID": "migrate",
            "FTCLIENT_POLL_INTERVAL_S": "0.02",
            "FTCLIENT_RETRY_BACKOFF_S": "0.01",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        yield openai_emu, azure_emu, fireworks_emu


def test_migrate_to_azure_and_fireworks_deploys_compares_and_tears_down(
    emulators: tuple[Emulator, Emulator, Emulator], tmp_path: Path, run_cli: Any
) -> None:
    _, azure_emu, fireworks_emu = emulators
    dataset = write_dataset(
        tmp_path / "tickets", ticket_rows()[:80], task="classify", system=TICKET_SYSTEM, labels=TICKET_LABELS,
        model=BASE,
    )
    job_id = launch_and_wait(dataset)
    with ftclient.Registry() as registry:
        record = registry.get_job(job_id)
    assert record is not None and record.fine_tuned_model
    targets = f"azure:{AZURE_MODEL},fireworks:{FIREWORKS_MODEL}"
    result = run_cli("migrate", record.fine_tuned_model, "--to", targets, "--out", str(tmp_path / "m"), "--json")
    assert result.exit_code == 0, result.stderr
    report = result.json()
    rows = {c["provider"]: c for c in report["candidates"]}
    assert set(rows) == {"azure", "fireworks"}
    for row in rows.values():
        assert row["fine_tuned_model"] and row["verdict"] in {"non-inferior", "inferior", "inconclusive"}
    assert report["endpoints_left_running"] == []
    azure_books = azure_emu.stats()["deployments"]
    assert azure_books["running"] == 0 and len(azure_books["list"]) == 1
    # gpt-4.1-mini takes Azure's developer tier, which bears no hosting fee: the candidate's cost says so
    assert azure_books["list"][0]["sku"] == "Developer" and azure_books["hosting_usd"] == 0
    assert rows["azure"]["endpoint_cost_usd"] == 0
    assert rows["fireworks"]["endpoint_cost_usd"] is not None and rows["fireworks"]["endpoint_cost_usd"] > 0
    fireworks_emu.advance(60)
    assert fireworks_emu.stats()["deployments"]["running"] == 0
