"""Entra ID through azure-identity, with no key set: the data plane gets its token through the SDK's
``azure_ad_token_provider`` and ARM its own, each fetched again before it expires (a token lives about an
hour; an evaluation that outlives it must still delete its deployment). A fake credential stands in for
``DefaultAzureCredential``: the same ``get_token(scope)`` -> ``.token``, ``.expires_on``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_azure_adapter import arm

from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread
from ftclient.emulator.samples import classification_examples
from ftclient.errors import AuthError, RemoteNotFoundError
from ftclient.providers.azure import AzureProvider, identity
from ftclient.providers.base import JobSpec

BASE = "gpt-4.1-mini-2025-04-14"


@dataclass
class AccessToken:
    token: str
    expires_on: int


class FakeCredential:
    """Hands out numbered tokens valid for an hour on the test's clock, and remembers each request."""

    def __init__(self, clock: list[float]) -> None:
        self.clock = clock
        self.asked: list[str] = []

    def get_token(self, *scopes: str) -> AccessToken:
        self.asked.extend(scopes)
        return AccessToken(f"entra-canary-{len(self.asked)}", int(self.clock[0]) + 3600)


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with run_in_thread(EmulatorConfig(provider="azure", seed=41)) as running:
        yield running


def test_tokens_are_fetched_per_scope_and_again_before_they_expire(emu: Emulator, tmp_path: Path) -> None:
    now = [1_800_000_000.0]
    credential = FakeCredential(now)
    management = arm(emu.url, token=None, max_retries=0, credential=credential, clock=lambda: now[0])
    adapter = AzureProvider(
        azure_endpoint=emu.url,
        api_version="2024-10-21",
        management=management,
        max_retries=0,
        credential=credential,
        clock=lambda: now[0],
    )
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(e) + "\n" for e in classification_examples()), encoding="utf-8")
    job = adapter.create_job(JobSpec(model=BASE, training_file=adapter.upload_file(data).id))
    emu.advance(10_000)
    model = adapter.get_job(job.id).fine_tuned_model
    assert model and credential.asked == [identity.DATA_SCOPE]  # three requests, one token
    endpoint = adapter.create_endpoint(model)
    assert adapter.list_endpoints()[0].id == endpoint.id
    assert credential.asked == [identity.DATA_SCOPE, identity.ARM_SCOPE]
    now[0] += 3600 - 200  # inside the refresh margin of both tokens
    adapter.get_job(job.id)
    adapter.delete_endpoint(endpoint.id)
    assert credential.asked == [identity.DATA_SCOPE, identity.ARM_SCOPE] * 2
    assert emu.stats()["deployments"]["running"] == 0
    wrong = AzureProvider(azure_endpoint=emu.url, api_version="1999-01-01", max_retries=0, credential=credential)
    with pytest.raises(RemoteNotFoundError) as caught:
        wrong.get_job(job.id)
    assert "entra-canary" not in str(caught.value) + str(caught.value.hint)
    for client in (adapter, wrong):
        client.close()


def test_from_settings_uses_the_default_credential_without_a_key(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    credential = FakeCredential([1_800_000_000.0])
    monkeypatch.setattr(identity, "default_credential", lambda: credential)
    for var, value in {
        "AZURE_OPENAI_ENDPOINT": emu.url,
        "OPENAI_API_VERSION": "2024-10-21",
        "AZURE_MANAGEMENT_URL": emu.url,
        "AZURE_SUBSCRIPTION_ID": "s",
        "AZURE_RESOURCE_GROUP": "g",
        "AZURE_OPENAI_ACCOUNT": "a",
    }.items():
        monkeypatch.setenv(var, value)
    adapter = AzureProvider.from_settings()
    assert adapter.list_jobs() == [] and adapter.list_endpoints() == []
    assert credential.asked == [identity.DATA_SCOPE, identity.ARM_SCOPE]
    adapter.close()


def test_without_a_key_or_azure_identity_nothing_is_sent(emu: Emulator) -> None:
    try:
        import azure.identity  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("azure-identity is installed: its real credential chain would be tried")
    adapter = AzureProvider(azure_endpoint=emu.url, api_version="2024-10-21", max_retries=0)
    with pytest.raises(AuthError) as caught:
        adapter.list_jobs()
    assert "ftclient[azure]" in (caught.value.hint or "") and "AZURE_OPENAI_API_KEY" in (caught.value.hint or "")
    assert emu.stats()["requests"]["total"] == 0
    adapter.close()
