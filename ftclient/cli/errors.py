"""The one table from errors to exit codes, and how an error looks on the terminal.

Exit codes (design contract): 0 ok; 1 a known error; 2 usage; 3 job failed or cancelled; 4 a wait timed
out; 130 interrupted; 70 a bug in ftclient (the only case that shows a traceback unless --debug).
"""

from __future__ import annotations

import errno
import json
import sys
from typing import TextIO

from ftclient.errors import FtclientError, Interrupted, JobFailedError, LocalFileError, WaitTimeout

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_JOB_FAILED = 3
EXIT_TIMEOUT = 4
EXIT_BUG = 70
EXIT_INTERRUPTED = 130

# Subclasses before their parents: the first match wins.
_EXIT_CODES: tuple[tuple[type[FtclientError], int], ...] = (
    (JobFailedError, EXIT_JOB_FAILED),
    (WaitTimeout, EXIT_TIMEOUT),
    (Interrupted, EXIT_INTERRUPTED),
    (FtclientError, EXIT_ERROR),
)

MAX_PROBLEMS_SHOWN = 20


def exit_code_for(error: FtclientError) -> int:
    for cls, code in _EXIT_CODES:
        if isinstance(error, cls):
            return code
    return EXIT_ERROR


_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_DENIED = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})
_MISSING = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EISDIR})


def local_file_error(exc: BaseException) -> LocalFileError | None:
    """The known error for a failure of this machine's disk (permission, read-only, full, missing), or None.

    Such a failure is the user's environment, not a bug: it gets a message naming the path and what to do,
    not a traceback. SQLite reports the same causes in words rather than errno values.
    """
    if isinstance(exc, OSError) and exc.errno is not None:
        path = exc.filename if isinstance(exc.filename, str) else None
        where = f" {path}" if path else ""
        place = _place_hint(path)
        if exc.errno in _FULL:
            return LocalFileError(
                f"the disk is full: cannot write{where}",
                path=path,
                hint=f"free some space{place}, then run the same command again",
            )
        if exc.errno in _DENIED:
            return LocalFileError(
                f"cannot write{where}: {exc.strerror or 'permission denied'}",
                path=path,
                hint=f"make it writable{place}, then run the same command again",
            )
        if exc.errno in _MISSING and path:
            return LocalFileError(f"cannot use {path}: {exc.strerror}", path=path, hint=f"check the path{place}")
        return None
    if type(exc).__module__ == "sqlite3" and type(exc).__name__ == "OperationalError":
        text = str(exc)
        if "full" in text or "readonly" in text or "unable to open" in text or "disk I/O" in text:
            from ftclient.config import default_home

            home = default_home()
            return LocalFileError(
                f"the local history in {home} cannot be written ({text})",
                path=str(home),
                hint="free some space or make that folder writable, or point FTCLIENT_HOME at another folder",
            )
    return None


def _place_hint(path: str | None) -> str:
    """Which setting moves the write elsewhere: FTCLIENT_HOME for the registry, --out for the rest."""
    if path is None:
        return " (or choose another place with --out or FTCLIENT_HOME)"
    from ftclient.config import default_home

    home = str(default_home())
    if path == home or path.startswith(home.rstrip("/") + "/"):
        return " (or point FTCLIENT_HOME at another folder)"
    return " (or choose another place with --out)"


def render_error(error: FtclientError, *, json_mode: bool, stream: TextIO | None = None) -> None:
    """Write ``error`` to stderr: one JSON object in --json mode, else ``error[ref]: message`` + hint."""
    out = stream or sys.stderr
    if json_mode:
        out.write(json.dumps(error.to_dict(), ensure_ascii=False) + "\n")
        return
    from ftclient.cli.output import make_console

    console = make_console(out)
    console.print(f"[bold red]error[/][dim]\\[{error.reference}][/]: {_escape(error.message)}", highlight=False)
    problems = getattr(error, "problems", None) or []
    errors_only = [p for p in problems if p.severity == "error"]
    for problem in errors_only[:MAX_PROBLEMS_SHOWN]:
        console.print(f"  [bold]{_escape(problem.location)}[/]: {_escape(problem.message)}", highlight=False)
        if problem.hint:
            console.print(f"    [dim]fix:[/] {_escape(problem.hint)}", highlight=False)
    if len(errors_only) > MAX_PROBLEMS_SHOWN:
        console.print(f"  … and {len(errors_only) - MAX_PROBLEMS_SHOWN} more (all of them with --json)")
    request_id = getattr(error, "request_id", None)
    if request_id:
        console.print(f"  [dim]request id: {_escape(request_id)}[/]", highlight=False)
    if error.hint:
        console.print(f"[bold cyan]hint[/]: {_escape(error.hint)}", highlight=False)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
