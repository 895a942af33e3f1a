"""Every registered adapter against its emulator dialect: one set of behavioural cases
(``ftclient.testing.conformance``), so no provider quietly skips idempotency, teardown or key hygiene."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ftclient.testing.conformance import BUILTIN_HARNESSES, CASES, BuiltinHarness, Case, Setup, running


@pytest.fixture(params=BUILTIN_HARNESSES, ids=lambda h: h.name)
def setup(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    harness: BuiltinHarness = request.param
    if harness.name == "vertex":  # an optional extra: its cases skip, saying so, where it is not installed
        pytest.importorskip("google.genai", reason="the vertex extra is not installed: pip install 'ftclient[vertex]'")
        pytest.importorskip("google.cloud.storage", reason="the vertex extra is not installed")
    with running(harness, tmp_path, monkeypatch.setenv) as world:
        yield world


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_conformance(case: Case, setup: Setup) -> None:
    case(setup)


def test_the_core_never_imports_pytest() -> None:
    """The cases live in the installed package for other providers' suites; only they may pull pytest in."""
    import subprocess
    import sys

    probe = (
        "import sys, ftclient.cli, ftclient.jobs, ftclient.deploy, ftclient.providers.openai, "
        "ftclient.providers.together, ftclient.providers.fireworks, ftclient.emulator\n"
        "print('pytest' in sys.modules)"
    )
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "False"
