"""Test-wide fixtures: a private FTCLIENT_HOME, no credentials, no network beyond loopback."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
EXAMPLES = REPO / "examples"
SHARED = Path(os.environ.get("FTCLIENT_SHARED_DIR") or REPO.parent / "shared")
"""Specs, research and captured payloads: ``../shared`` on CI; ``FTCLIENT_SHARED_DIR`` points elsewhere."""

if REPO.name == "mutants":
    # Under mutation testing (mutmut runs a copy of the tree in mutants/) a property test that fails has
    # killed its mutant; shrinking the counterexample would only spend minutes per mutant.
    from hypothesis import Phase, settings

    settings.register_profile("mutation", phases=[Phase.explicit, Phase.reuse, Phase.generate], database=None)
    settings.load_profile("mutation")

PINNED_TODAY = "2026-12-03"
_CREDENTIAL_PREFIXES = ("OPENAI_", "TOGETHER_", "AZURE_OPENAI_", "FIREWORKS_", "FTCLIENT_", "WANDB_", "GOOGLE_")
_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy", "NO_PROXY")


@pytest.fixture(autouse=True)
def _hermetic_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own FTCLIENT_HOME and sees no real keys, proxies or user settings."""
    for name in list(os.environ):
        if name.startswith(_CREDENTIAL_PREFIXES) or name in _PROXY_VARS:
            monkeypatch.delenv(name, raising=False)
    home = tmp_path_factory.mktemp("ftclient-home")
    monkeypatch.setenv("FTCLIENT_HOME", str(home))
    monkeypatch.setenv("NO_COLOR", "1")
    # Provider deadlines are judged on one fixed day, before OpenAI's 2027-01-06 end of new jobs, so the
    # suite passes whatever day it runs; tests that cross a deadline set their own date.
    monkeypatch.setenv("FTCLIENT_TODAY", PINNED_TODAY)
    return home


_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: object) -> None:
    host = address[0] if isinstance(address, tuple) else address
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(str(host)):
        raise OSError(f"test tried to reach {host!r}: tests talk to 127.0.0.1 only")
    _real_connect(self, address)  # type: ignore[arg-type]


def _is_loopback(host: str) -> bool:
    return host in {"localhost", "::1"} or host.startswith("127.")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> object:
        import json

        return json.loads(self.stdout)


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[object]:
    """A real SQLite registry in the test's own folder, closed afterwards."""
    from ftclient.registry import Registry

    with Registry(tmp_path / "registry.db") as opened:
        yield opened


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Iterator[object]:
    """Run ``ftclient ARGS`` in-process: ``run_cli("prepare", "x.csv")`` -> CliResult."""
    from ftclient.cli import run

    def invoke(*args: str) -> CliResult:
        capsys.readouterr()
        code = run(list(args))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    yield invoke
