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
    with running(harness, tmp_path, monkeypatch.setenv) as world:
        yield world


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_conformance(case: Case, setup: Setup) -> None:
    case(setup)
