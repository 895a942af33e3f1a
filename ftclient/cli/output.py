"""Where CLI output goes: results to stdout, talk (progress, reports, warnings, errors) to stderr.

Results are what a command is run for and what a script reads: listings (``jobs list``, ``runs``,
``endpoints list``), one job or endpoint, events, checkpoints, a dry-run plan, the id of a detached job.
They go to stdout, so ``ftclient jobs list | grep running`` and ``JOB=$(ftclient launch --detach)`` work,
and they are shown under ``-q``. Reports (prepare's and validate's findings, an evaluation's summary),
progress, warnings and errors go to stderr; ``-q`` silences reports and progress.

In ``--json`` mode stdout carries exactly one JSON document and nothing else, so ``ftclient ... --json |
jq`` always works. Colour follows rich's rules: off when the stream is not a terminal or ``NO_COLOR`` is
set. When stdout is not a terminal nothing is wrapped or cut to a width: ids reach the pipe whole.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.console import Console


def make_console(stream: TextIO | None = None) -> Console:
    from rich.console import Console

    out = stream or sys.stderr
    terminal = _isatty(out)
    no_color = bool(os.environ.get("NO_COLOR")) or not terminal
    return Console(
        file=out,
        no_color=no_color,
        color_system=None if no_color else "auto",
        highlight=False,
        soft_wrap=not terminal,
        width=None if terminal else PIPE_WIDTH,
        emoji=False,
    )


PIPE_WIDTH = 10_000
"""The width tables are laid out in when the stream is a pipe or a file: wide enough that no column is
cut (rich would otherwise assume 80 columns and shorten ids with an ellipsis)."""


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def to_jsonable(value: Any) -> Any:
    """Dataclasses, pydantic models, paths and sets as plain JSON values."""
    import dataclasses
    from pathlib import PurePath

    if hasattr(value, "model_dump"):
        return to_jsonable(value.model_dump(mode="json"))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, PurePath):
        return str(value)
    return value


@dataclass
class Output:
    """The CLI's one way to speak. Commands never call ``print``."""

    json_mode: bool = False
    quiet: bool = False
    verbose: bool = False
    _console: Console | None = field(default=None, repr=False)
    _stdout: Console | None = field(default=None, repr=False)

    @property
    def console(self) -> Console:
        """Rich console on stderr (created on first use: rich stays off the ``--help`` path)."""
        if self._console is None:
            self._console = make_console(sys.stderr)
        return self._console

    @property
    def interactive(self) -> bool:
        return not self.json_mode and not self.quiet and _isatty(sys.stderr)

    def info(self, message: str) -> None:
        if not self.quiet:
            self.console.print(message, highlight=False)

    def detail(self, message: str) -> None:
        if self.verbose and not self.quiet:
            self.console.print(f"[dim]{message}[/]", highlight=False)

    def warn(self, message: str) -> None:
        self.console.print(f"[bold yellow]warning[/]: {message}", highlight=False)

    @property
    def stdout(self) -> Console:
        """Rich console on stdout, for results."""
        if self._stdout is None:
            self._stdout = make_console(sys.stdout)
        return self._stdout

    def result(self, data: Any, render: Callable[[Console], None] | None = None) -> None:
        """The command's result: JSON in --json mode, else ``render``; on stdout either way, even with -q."""
        if self.json_mode:
            self._json(data)
        elif render is not None:
            render(self.stdout)

    def report(self, data: Any, render: Callable[[Console], None] | None = None) -> None:
        """A report for the person at the terminal: JSON on stdout in --json mode, else ``render`` on
        stderr (not with -q). What a script needs from the command goes to ``line`` as well."""
        if self.json_mode:
            self._json(data)
        elif render is not None and not self.quiet:
            render(self.console)

    def _json(self, data: Any) -> None:
        sys.stdout.write(json.dumps(to_jsonable(data), ensure_ascii=False, indent=2) + "\n")
        sys.stdout.flush()

    def line(self, text: str) -> None:
        """A plain result line on stdout (ids, paths), meant for scripts: ``JOB=$(ftclient launch --detach -q)``."""
        if not self.json_mode:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()
