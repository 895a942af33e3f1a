"""A service speaking OpenAI's fine-tuning API, defined by a ``[providers.NAME]`` profile in ftclient.toml:
launched and evaluated against the emulator's OpenAI dialect under its own name, recorded as that provider."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from launch_support import write_dataset

from ftclient.config import resolve
from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread
from ftclient.errors import ConfigError
from ftclient.providers import get_provider
from ftclient.registry import Registry

MODEL = "gpt-4o-mini-2024-07-18"
KEY = "acme-canary-3c9e71"


@pytest.fixture
def emu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with run_in_thread(EmulatorConfig(provider="openai", speed=1000.0, seed=4)) as running:
        (tmp_path / "ftclient.toml").write_text(
            "[providers.acme]\n"
            'kind = "openai-compatible"\n'
            f'base_url = "{running.base_url}"\n'
            'api_key_env = "ACME_API_KEY"\n'
            "capabilities = { moderation = false, batch = false }\n"
            f'prices = {{ "{MODEL}" = 0.5 }}\n'
            f'models = ["{MODEL}"]\n',
            encoding="utf-8",
        )
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("ACME_API_KEY", KEY)
        monkeypatch.setenv("FTCLIENT_POLL_INTERVAL_S", "0.02")
        yield running


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.stderr
    return result.json()


def test_a_profile_runs_through_the_openai_adapter_under_its_own_name(emu: Emulator) -> None:
    adapter = get_provider("acme")
    assert adapter.name == "acme" and not adapter.capabilities.moderation and adapter.capabilities.job_metadata
    assert adapter.list_jobs() == []
    assert emu.stats()["requests"]["total"] >= 1


def test_launch_and_evaluate_on_a_profile_provider(emu: Emulator, run_cli: Any, tmp_path: Path) -> None:
    folder = write_dataset(tmp_path / "ds", train=30)
    launched = ok(run_cli("launch", str(folder), "--provider", "acme", "--model", MODEL, "--epochs", "2", "--json"))
    (job,) = launched["jobs"]
    assert job["status"] == "succeeded" and job["provider"] == "acme"
    assert emu.stats()["jobs_created"] == 1
    with Registry(resolve().registry_path) as registry:
        record = registry.get_job(job["id"])
        assert record is not None and record.provider == "acme"
        assert record.estimated_cost_usd == pytest.approx(record.estimated_tokens * 0.5 / 1_000_000)
    report = ok(run_cli("evaluate", job["id"], "--out", str(tmp_path / "report"), "--json"))
    assert report["provider"] == "acme"
    tuned, base = report["models"]
    assert tuned["role"] == "tuned" and base["model"] == MODEL
    for written in (tmp_path / "report").iterdir():
        assert KEY not in written.read_text(encoding="utf-8")
    refused = run_cli("launch", str(folder), "--provider", "acme", "--model", "gpt-4.1-mini-2025-04-14", "--json")
    assert refused.exit_code == 1 and "profile lists" in refused.stderr + refused.stdout


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ('kind = "bedrock"\nbase_url = "https://x/v1"\napi_key_env = "K"\n', "kind = 'bedrock'"),
        ('kind = "openai-compatible"\napi_key_env = "K"\n', "base_url is missing"),
        ('kind = "openai-compatible"\nbase_url = "https://x/v1"\napi_key_env = "K"\napi_key = "s"\n', "api_key"),
        ('kind = "openai-compatible"\nbase_url = "u"\napi_key_env = "K"\ncapabilities = { fly = true }\n', "fly"),
    ],
)
def test_a_wrong_profile_says_where_and_what(tmp_path: Path, body: str, fragment: str) -> None:
    (tmp_path / "ftclient.toml").write_text("[providers.acme]\n" + body, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        resolve(cwd=tmp_path)
    assert "[providers.acme]" in info.value.message and info.value.hint
    assert fragment in info.value.message or fragment in (info.value.hint or "")
