"""`ftclient --help` must feel instant: heavy imports (openai, pydantic models, rich, tiktoken) stay lazy."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from conftest import REPO

LIMIT_S = 0.3


def _run(args: list[str]) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    start = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "ftclient", *args], capture_output=True, text=True, cwd=REPO, env=env, check=False
    )
    elapsed = time.perf_counter() - start
    assert completed.returncode == 0, completed.stderr
    return elapsed


def test_help_is_fast() -> None:
    best = min(_run(["--help"]) for _ in range(8))
    assert best < LIMIT_S, f"ftclient --help took {best:.3f}s (best of 8)"


def test_help_imports_nothing_heavy() -> None:
    code = (
        "import sys; from ftclient.cli import run; run(['--help']); "
        "heavy = ('openai', 'pydantic', 'rich', 'tiktoken', 'httpx2'); "
        "print('LOADED:' + ','.join(m for m in heavy if m in sys.modules))"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=False)
    assert completed.stdout.strip().splitlines()[-1] == "LOADED:", completed.stdout
