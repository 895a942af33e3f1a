"""Azure's Models API: each model's tuning and serving retirement dates from ``deprecation``, in ``models`` and
``migrate``, against the emulator's own catalogue; and a migration off an Azure fine-tune, which answers only
through a deployment of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from test_eval_support import TICKET_LABELS, TICKET_SYSTEM, ticket_rows, write_dataset

from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread
from ftclient.emulator.azure import catalog
from ftclient.errors import InvalidRequestError
from ftclient.providers.azure import AzureProvider
from ftclient.providers.base import JobSpec

BASE = "gpt-4.1-mini-2025-04-14"
OLD_BASE = "gpt-4o-mini-2024-07-18"


@pytest.fixture
def azure(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with run_in_thread(EmulatorConfig(provider="azure", speed=500.0, seed=21, start="2026-12-01")) as running:
        for var, value in {
            "AZURE_OPENAI_ENDPOINT": running.url,
            "AZURE_OPENAI_API_KEY": "az-models",
            "OPENAI_API_VERSION": "2024-10-21",
            "AZURE_MANAGEMENT_URL": running.url,
            "AZURE_MANAGEMENT_TOKEN": "arm-models",
            "AZURE_SUBSCRIPTION_ID": "sub-m",
            "AZURE_RESOURCE_GROUP": "rg-m",
            "AZURE_OPENAI_ACCOUNT": "acct-m",
            "FTCLIENT_POLL_INTERVAL_S": "0.02",
            "FTCLIENT_RETRY_BACKOFF_S": "0.01",
        }.items():
            monkeypatch.setenv(var, value)
        yield running


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.stderr
    return result.json()


def launched(run_cli: Any, tmp_path: Path, rows: int = 60) -> str:
    dataset = write_dataset(
        tmp_path / "tickets", ticket_rows()[:rows], task="classify", system=TICKET_SYSTEM, labels=TICKET_LABELS
    )
    job = ok(run_cli("launch", str(dataset), "--provider", "azure", "--json"))["jobs"][0]
    assert job["status"] == "succeeded"
    return str(job["fine_tuned_model"])


def test_the_models_api_carries_both_retirement_dates(azure: Emulator, tmp_path: Path) -> None:
    adapter = AzureProvider(api_key="k", azure_endpoint=azure.url, api_version="2024-10-21", max_retries=0)
    data = write_dataset(tmp_path / "d", ticket_rows()[:40], task="classify", system=None) / "train.jsonl"
    job = adapter.create_job(JobSpec(model=BASE, training_file=adapter.upload_file(data).id))
    azure.advance(10_000)
    tuned = adapter.get_job(job.id).fine_tuned_model
    models = {m.id: m for m in adapter.list_models()}
    assert models[BASE].fine_tune_shutdown_date == "2027-04-14" and models[BASE].shutdown_date == "2027-04-14"
    assert models[OLD_BASE].fine_tune_shutdown_date == "2027-04-01"
    assert models[BASE].date_field == "deprecation.inference" and not models[BASE].tuned
    assert tuned is not None
    mine = models[tuned]
    assert mine.tuned and mine.base_model == BASE
    assert mine.shutdown_date == "2027-10-14" and mine.fine_tune_shutdown_date is None  # spec: null for fine-tunes
    raw = httpx2.get(
        f"{azure.url}/openai/models/{tuned}", params={"api-version": "2024-10-21"}, headers={"api-key": "k"}
    ).json()
    assert raw["fine_tune"] == job.id and "fine_tune" not in raw["deprecation"]
    assert str(adapter.model_shutdown_date(BASE)) == "2027-04-14"  # a launch reads the end of tuning
    assert str(adapter.model_shutdown_date(tuned)) == "2027-04-14"  # tuned further while its base can be
    adapter.close()


def test_a_base_past_its_training_date_takes_no_job(tmp_path: Path) -> None:
    with run_in_thread(EmulatorConfig(provider="azure", seed=22, start="2027-04-02")) as emu:
        adapter = AzureProvider(api_key="k", azure_endpoint=emu.url, api_version="2024-10-21", max_retries=0)
        data = write_dataset(tmp_path / "d", ticket_rows()[:40], task="classify", system=None) / "train.jsonl"
        uploaded = adapter.upload_file(data)
        with pytest.raises(InvalidRequestError, match="retired for fine-tuning since 2027-04-01"):
            adapter.create_job(JobSpec(model=OLD_BASE, training_file=uploaded.id))
        assert adapter.create_job(JobSpec(model=BASE, training_file=uploaded.id)).status == "queued"
        listed = {m.id: m for m in adapter.list_models()}
        assert listed[OLD_BASE].fine_tune_shutdown_date == "2027-04-01"
        adapter.close()


def test_models_shows_each_retirement_date(azure: Emulator, run_cli: Any, tmp_path: Path) -> None:
    tuned = launched(run_cli, tmp_path)
    listing = ok(run_cli("models", "--provider", "azure", "--json"))
    rows = {m["model"]: m for m in listing["models"]}
    mine = rows[tuned]
    assert mine["shutdown_date"] == "2027-10-14"
    assert mine["shutdown_source"] == "provider Models API (deprecation.inference)"
    assert mine["base_model"] == BASE and mine["dataset_held"] and mine["job_source"] == "registry"
    assert rows[BASE]["fine_tune_shutdown_date"] == "2027-04-14"
    plain = run_cli("models", "--provider", "azure")
    assert f"{BASE}  shuts down 2027-04-14" in plain.stdout and "tunable until 2027-04-14" in plain.stdout


def test_migrate_off_an_azure_fine_tune_deploys_it_to_capture_and_deletes_it(
    azure: Emulator, run_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tuned = launched(run_cli, tmp_path, rows=80)
    with run_in_thread(EmulatorConfig(speed=2000.0, seed=23, start="2026-12-01")) as openai_emu:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-az-migrate")
        monkeypatch.setenv("OPENAI_BASE_URL", openai_emu.base_url)
        report = ok(
            run_cli(
                "migrate",
                *(tuned, "--provider", "azure", "--to", f"openai:{BASE}", "--budget", "50"),
                *("--out", str(tmp_path / "m"), "--json"),
            )
        )
    assert "original dataset" in report["training_data"]["source"]
    assert "captured now" in report["old_model"]["answers_from"]  # it still answers: asked through a deployment
    assert report["old_model"]["quality"] is not None
    (candidate,) = report["candidates"]
    assert candidate["provider"] == "openai" and 0 <= candidate["agreement"] <= 100
    books = azure.stats()["deployments"]
    (bill,) = books["list"]  # the fine-tune was deployed once to answer, then deleted
    assert books["running"] == 0 and bill["model"] == tuned and bill["state"] == "Deleted"
    assert azure.stats()["requests"]["by_route"]["POST /openai/deployments/{deployment}/chat/completions"]


def test_launch_refuses_a_base_past_its_end_of_tuning_before_uploading(
    monkeypatch: pytest.MonkeyPatch, run_cli: Any, tmp_path: Path
) -> None:
    with run_in_thread(EmulatorConfig(provider="azure", seed=24, start="2027-04-05")) as emu:
        monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", emu.url)
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", "az-models")
        monkeypatch.setenv("FTCLIENT_TODAY", "2027-04-05")
        dataset = write_dataset(
            tmp_path / "d", ticket_rows()[:40], task="classify", system=TICKET_SYSTEM, model=OLD_BASE
        )
        refused = run_cli("launch", str(dataset), "--provider", "azure", "--model", OLD_BASE, "--json")
        assert refused.exit_code == 1
        assert "can no longer be fine-tuned" in refused.stderr and "deprecation.fine_tune" in refused.stderr
        assert emu.stats()["files"] == 0  # refused before anything was uploaded
        noted = run_cli("launch", str(dataset), "--provider", "azure", "--model", BASE, "--detach")
        assert noted.exit_code == 0 and "fine-tuned on Azure until 2027-04-14 (9 days" in noted.stderr


def test_a_capture_rerun_after_a_deployment_asks_nothing_again(azure: Emulator, run_cli: Any, tmp_path: Path) -> None:
    tuned = launched(run_cli, tmp_path)
    inputs = tmp_path / "tickets" / "test.jsonl"
    command = ["capture", tuned, "--provider", "azure", "--inputs", str(inputs), "--out", str(tmp_path / "c"), "--json"]
    first = ok(run_cli(*command))
    assert first["answered"] == first["inputs"] > 0 and first["sent"] == first["inputs"]
    chats = azure.stats()["completions"]
    again = ok(run_cli(*command))
    assert again["sent"] == 0 and again["cached"] == again["inputs"]  # cached under the model, not the deployment
    books = azure.stats()["deployments"]
    assert azure.stats()["completions"] == chats and len(books["list"]) == 1 and books["running"] == 0


def test_a_fine_tune_past_its_inference_date_is_not_deployed_to_capture(
    azure: Emulator, run_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tuned = launched(run_cli, tmp_path)
    azure.advance(catalog.epoch_of("2027-10-15") - azure.now())
    monkeypatch.setenv("FTCLIENT_TODAY", "2027-10-15")
    inputs = tmp_path / "tickets" / "test.jsonl"
    refused = run_cli("capture", tuned, "--provider", "azure", "--inputs", str(inputs), "--json")
    assert refused.exit_code == 1
    assert f"{tuned} is retired: it shut down on 2027-10-14" in refused.stderr
    assert "deprecation.inference" in refused.stderr and "--data DATASET" in refused.stderr
    assert azure.stats()["deployments"]["list"] == [] and azure.stats()["completions"] == 0
