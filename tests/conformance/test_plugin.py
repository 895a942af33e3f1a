"""A provider added by another package: a tiny plugin, written to a temporary folder with its own
distribution metadata declaring an ``ftclient.providers`` entry point, is found by name and passes the
conformance suite's basic cases (against the emulator's OpenAI dialect, whose API shape it speaks)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ftclient.providers import available, get_provider
from ftclient.testing.conformance import BASIC_CASES, BuiltinHarness, Case, Setup, running

PLUGIN = '''
"""An OpenAI-shaped fine-tuning service under its own name: ACME_BASE_URL, ACME_API_KEY."""
import os

from ftclient.providers.openai import OpenAIProvider


class AcmeProvider(OpenAIProvider):
    name = "acme"

    @classmethod
    def from_settings(cls, settings=None):
        return cls(
            api_key=os.environ.get("ACME_API_KEY"),
            base_url=os.environ.get("ACME_BASE_URL"),
            retry_backoff_s=settings.retry_backoff_s if settings else 0.5,
        )
'''

HARNESS = BuiltinHarness(
    name="acme",
    dialect="openai",
    model="gpt-4o-mini-2024-07-18",
    create_route="POST /v1/fine_tuning/jobs",
    upload_route="POST /v1/files",
    list_route="GET /v1/fine_tuning/jobs",
    env={"ACME_BASE_URL": "{base_url}", "ACME_API_KEY": "{key}"},
)


@pytest.fixture
def plugin(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The plugin as an installed distribution looks on sys.path: its module and a dist-info folder."""
    root = tmp_path_factory.mktemp("site")
    (root / "acme_ft").mkdir()
    (root / "acme_ft" / "__init__.py").write_text(PLUGIN, encoding="utf-8")
    info = root / "acme_ft-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-ft\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("[ftclient.providers]\nacme = acme_ft:AcmeProvider\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(root))
    return root


def test_a_plugin_is_found_by_its_entry_point(plugin: Path) -> None:
    assert available()["acme"] == "acme_ft:AcmeProvider"
    assert {"openai", "together", "fireworks"} <= set(available())
    assert type(get_provider("acme")).__name__ == "AcmeProvider"


def test_without_the_plugin_the_name_is_unknown() -> None:
    from ftclient.errors import UnknownProviderError

    with pytest.raises(UnknownProviderError):
        get_provider("acme")


@pytest.fixture
def setup(plugin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    with running(HARNESS, tmp_path, monkeypatch.setenv) as world:
        yield world


@pytest.mark.parametrize("case", BASIC_CASES, ids=lambda c: c.__name__)
def test_the_plugin_passes_the_basic_cases(case: Case, setup: Setup) -> None:
    case(setup)
    from ftclient.config import resolve
    from ftclient.registry import Registry

    with Registry(resolve().registry_path) as registry:
        assert {job.provider for job in registry.list_jobs()} == {"acme"}
