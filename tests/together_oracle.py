"""Together's own file checker, ``together.utils.check_file`` from together 1.6.0, as a test oracle.

1.6.0 is the last 1.x release of Together's Python SDK and the last one that runs the semantic checks
(roles, turn order, an assistant message, content types) on the local machine; 2.x and 3.x check only
that each line is a JSON object and leave the rest to the server. Its pins (requests, aiohttp, typer,
an older pydantic range) are not ours, so it lives in a virtualenv of its own, created once per machine
under a cache directory and reused; the checker runs there as a subprocess.

``CHECK_FILE_PYTHON`` names an interpreter that already has together 1.6.0 (skips the install);
``CHECK_FILE_CACHE`` moves the cache. When the virtualenv cannot be built (no PyPI, no venv module),
the tests that need it skip and say why.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

TOGETHER_VERSION = "1.6.0"

_SCRIPT = """
import json, sys
from together.utils import check_file
out = []
for path in sys.argv[1:]:
    try:
        report = check_file(path)
    except Exception as exc:  # check_file itself crashes on some inputs (a RecursionError on deep JSON)
        out.append({"is_check_passed": False, "crashed": True, "message": repr(exc)[:300], "line_number": None})
        continue
    out.append({k: report.get(k) for k in ("is_check_passed", "message", "line_number", "num_samples")})
print(json.dumps(out))
"""


class CheckerUnavailable(RuntimeError):
    """together 1.6.0 could not be installed or run here."""


def _cache_dir() -> Path:
    base = os.environ.get("CHECK_FILE_CACHE") or os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ftclient-tests" / f"together-{TOGETHER_VERSION}"


def checker_python() -> Path:
    """An interpreter with together 1.6.0, built on first use; raises CheckerUnavailable with the reason."""
    given = os.environ.get("CHECK_FILE_PYTHON")
    if given:
        return Path(given)
    root = _cache_dir()
    try:
        root.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CheckerUnavailable(f"cannot create the cache directory {root.parent}: {exc}") from exc
    with _locked(root.parent / f"{root.name}.lock"):  # two test runs at once build it once
        return _build(root)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        try:
            import fcntl
        except ImportError:  # Windows: no lock, the venv is simply built again if two runs race
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build(root: Path) -> Path:
    python = root / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    ready = root / ".installed"
    if ready.is_file() and python.is_file():
        return python
    try:
        venv.EnvBuilder(with_pip=True, clear=True).create(root)
    except Exception as exc:  # any failure means: cannot build it here
        raise CheckerUnavailable(f"cannot create a virtualenv at {root}: {exc}") from exc
    done = subprocess.run(
        [
            *(str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"),
            *("--timeout", "30", "--retries", "2"),  # without PyPI: give up within a minute or two, and skip
            f"together=={TOGETHER_VERSION}",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise CheckerUnavailable(f"pip could not install together=={TOGETHER_VERSION}: {tail[0]}")
    ready.write_text(TOGETHER_VERSION, encoding="utf-8")
    return python


def check_files(python: Path, paths: Sequence[Path]) -> list[dict[str, Any]]:
    """``check_file`` reports (passed, message, line_number, num_samples) for ``paths``, in order; a file
    that makes check_file itself raise is reported as not passed with ``crashed``."""
    if not paths:
        return []
    done = subprocess.run(
        [str(python), "-c", _SCRIPT, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise CheckerUnavailable(f"check_file crashed: {done.stderr.strip()[-500:]}")
    reports: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    return reports
