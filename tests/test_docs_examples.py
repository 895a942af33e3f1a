"""Every `python` and `bash` example in docs/ (and the README's Python example) runs, as written.

The examples are written for a real provider; here the OpenAI adapter is pointed at the emulator through
OPENAI_BASE_URL, exactly as a user would point it at any OpenAI-compatible endpoint.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO

from ftclient.emulator import EmulatorConfig, run_in_thread

FENCE = re.compile(r"^```(python|bash)\n(.*?)^```", re.S | re.M)
DOC_FILES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def _blocks(kind: str, files: list[Path]) -> list[tuple[str, str]]:
    found = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            if match.group(1) == kind:
                line = text.count("\n", 0, match.start()) + 2
                found.append((f"{path.relative_to(REPO)}:{line}", match.group(2)))
    return found


PYTHON_BLOCKS = _blocks("python", DOC_FILES)


@pytest.fixture
def emulator_url() -> Iterator[str]:
    """A fresh emulator per example: examples must not find each other's jobs."""
    with run_in_thread(EmulatorConfig(speed=2000.0, seed=3)) as emulator:
        yield emulator.base_url


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, emulator_url: str) -> Path:
    # Examples run from the root of a fresh checkout: its files, nothing prepared, no sample copied.
    for name in ("examples", "fixtures", "README.md", "pyproject.toml"):
        (tmp_path / name).symlink_to(REPO / name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_BASE_URL", emulator_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-docs-example")
    # The emulated job runs 2000x faster than real time; poll it accordingly.
    monkeypatch.setenv("FTCLIENT_POLL_INTERVAL_S", "0.05")
    return tmp_path


def test_docs_have_examples() -> None:
    assert len(PYTHON_BLOCKS) >= 8
    assert _blocks("bash", [REPO / "docs" / "quickstart.md"])


@pytest.mark.parametrize(("where", "code"), PYTHON_BLOCKS, ids=[w for w, _ in PYTHON_BLOCKS])
def test_python_example_runs(where: str, code: str, workspace: Path) -> None:
    exec(compile(code, where, "exec"), {"__name__": "__main__"})


def _session(blocks: list[str]) -> subprocess.CompletedProcess[str]:
    """Run ``blocks`` in order in one shell (later blocks use variables such as $JOB from earlier ones)."""
    script = "set -euo pipefail\n" + "\n".join(blocks)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run(["bash", "-c", script], check=False, env=env, capture_output=True, text=True, timeout=300)


def test_quickstart_shell_session_runs(workspace: Path) -> None:
    done = _session([code for _, code in _blocks("bash", [REPO / "docs" / "quickstart.md"])])
    assert done.returncode == 0, done.stderr[-3000:]
    assert (workspace / "reports" / "tickets" / "report.html").is_file()
    assert "is better than" in done.stderr


SHELL_PAGES = sorted(
    path for path in (REPO / "docs").glob("*.md") if path.name != "quickstart.md" and _blocks("bash", [path])
)


@pytest.mark.parametrize("page", SHELL_PAGES, ids=[p.name for p in SHELL_PAGES])
def test_every_docs_page_shell_session_runs(page: Path, workspace: Path) -> None:
    """Every other page's bash blocks, as one session per page, from a fresh checkout: each exits 0."""
    done = _session([code for _, code in _blocks("bash", [page])])
    assert done.returncode == 0, done.stderr[-3000:]


def test_readme_quickstart_runs_as_written(workspace: Path) -> None:
    """The README's quickstart block, minus the install line (the suite runs from an installed checkout)."""
    (_, setup), (_, quickstart) = _blocks("bash", [REPO / "README.md"])
    assert setup.count("\n") == 2 and setup.startswith("python3 -m venv .venv")
    commands = [line for line in quickstart.splitlines() if not line.startswith("pip install")]
    done = _session(["\n".join(commands)])
    assert done.returncode == 0, done.stderr[-3000:]
    assert list((workspace / "ftreports").glob("*/report.html")), "evaluate wrote no report"
