"""One launch of a dataset at a time on this machine.

Two ``ftclient launch`` of the same dataset started together would each find no earlier job and each
create one, paying twice. Launches of one dataset to one provider address therefore take an exclusive
``flock`` for the span from "is there a job already?" to "the job is created and recorded": one lock file
in the ftclient home (launches sharing a registry) and one in the user's temporary folder (launches
from different ``FTCLIENT_HOME``s on the same machine). Whoever waits then finds the job the first one
made and re-attaches to it. Launches from other machines are caught by a look at the provider's job
metadata just before create (``ftclient.launching.create``).

The kernel releases a ``flock`` when its process dies, so a killed launch never leaves a stale lock.
Where ``fcntl`` does not exist (Windows) the lock is skipped and the provider look alone remains.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

if sys.platform != "win32":
    import fcntl


def lock_paths(home: Path, provider_endpoint: str, dataset_sha256: str) -> list[Path]:
    """The lock files for launches of ``dataset_sha256`` to ``provider_endpoint``, in locking order."""
    key = hashlib.sha256(f"{provider_endpoint}\n{dataset_sha256}".encode()).hexdigest()[:24]
    user = os.getuid() if hasattr(os, "getuid") else os.getlogin()
    machine = Path(tempfile.gettempdir()) / f"ftclient-{user}"
    return [home / "locks" / f"launch-{key}.lock", machine / f"launch-{key}.lock"]


@contextlib.contextmanager
def launch_lock(paths: list[Path], *, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold every lock in ``paths`` (in order); ``on_wait`` is called once if another launch holds one."""
    with contextlib.ExitStack() as stack:
        waited = False
        for path in paths:
            handle = _open(path)
            if handle is None:
                continue
            stack.callback(os.close, handle)
            if not _try(handle):
                if not waited and on_wait is not None:
                    on_wait()
                waited = True
                fcntl.flock(handle, fcntl.LOCK_EX)  # released with the descriptor, or by the kernel on death
        yield


def _open(path: Path) -> int | None:
    if sys.platform == "win32":  # pragma: no cover - no flock
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        return os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except OSError:
        return None  # an unwritable folder must not stop a launch; the provider look still runs


def _try(handle: int) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
