"""The one table from errors to exit codes, and how an error looks on the terminal.

Exit codes (design contract): 0 ok; 1 a known error; 2 usage; 3 job failed or cancelled; 4 a wait timed
out; 130 interrupted; 70 a bug in ftclient (the only case that shows a traceback unless --debug).
"""

from __future__ import annotations

import json
import sys
from typing import TextIO

from ftclient.errors import FtclientError, Interrupted, JobFailedError, WaitTimeout

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
