"""Streaming JSONL reading that keeps physical line numbers and reports broken lines instead of stopping."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ftclient.errors import DatasetError, Problem

BOM = b"\xef\xbb\xbf"


def open_checked(path: Path) -> Any:
    """Open ``path`` for binary reading, or raise DatasetError saying why it cannot be read."""
    if not path.exists():
        raise DatasetError(f"{path}: no such file", hint="check the path", path=str(path))
    if path.is_dir():
        raise DatasetError(f"{path} is a directory, not a file", hint="pass the .jsonl file itself", path=str(path))
    try:
        return path.open("rb")
    except OSError as exc:
        raise DatasetError(
            f"{path}: cannot be read ({exc.strerror})", hint="check permissions", path=str(path)
        ) from exc


def iter_jsonl(
    path: Path, label: str, *, start: int = 0, end: int | None = None, first_line: int = 1
) -> Iterator[tuple[int, Any, Problem | None, int]]:
    """Yield ``(line number, parsed value or None, problem or None, raw byte length)`` for each line.

    A byte-order mark, a bad UTF-8 byte, a blank line or broken JSON becomes a Problem for that line
    (with the column where known) and reading goes on with the next line. ``start``/``end`` (byte
    offsets at line starts) and ``first_line`` read one slice of the file, for parallel scans.
    """
    for number, raw in raw_lines(path, start=start, end=end, first_line=first_line):
        yield from parse_line(raw, number, label, first_in_file=number == 1 and start == 0)


def raw_lines(
    path: Path, *, start: int = 0, end: int | None = None, first_line: int = 1
) -> Iterator[tuple[int, bytes]]:
    """``(line number, the line's bytes with its line ending)`` for each line of a slice of ``path``."""
    with open_checked(path) as handle:
        handle.seek(start)
        position = start
        for number, raw in enumerate(handle, start=first_line):
            if end is not None and position >= end:
                break
            position += len(raw)
            yield number, raw


def parse_line(
    raw: bytes, number: int, label: str, *, first_in_file: bool
) -> Iterator[tuple[int, Any, Problem | None, int]]:
    """One line as ``iter_jsonl`` yields it: the value, or a Problem saying what is wrong and where."""
    size = len(raw)
    body = raw.rstrip(b"\r\n")
    if first_in_file and body.startswith(BOM):
        body = body[len(BOM) :]
        yield (
            number,
            None,
            Problem(
                "bom",
                "the file starts with a UTF-8 byte-order mark, which breaks the provider's JSONL parser",
                "save the file as UTF-8 without BOM",
                file=label,
                line=1,
                column=1,
            ),
            0,
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        yield (
            number,
            None,
            Problem(
                "not-utf8",
                f"byte 0x{body[exc.start]:02x} is not valid UTF-8",
                "save the file as UTF-8 (ftclient prepare reads other encodings and writes UTF-8)",
                file=label,
                line=number,
                column=exc.start + 1,
            ),
            size,
        )
        return
    if not text or text.isspace():
        yield (
            number,
            None,
            Problem(
                "blank-line",
                "blank line: every line must hold one JSON object",
                "delete the empty line",
                file=label,
                line=number,
            ),
            size,
        )
        return
    try:
        value = json.loads(text)
    except RecursionError:
        yield (
            number,
            None,
            Problem(
                "nested-too-deep",
                "the line nests lists or objects so deeply that it cannot be read",
                "flatten the structure: a training example needs a few levels, not hundreds",
                file=label,
                line=number,
            ),
            size,
        )
        return
    except json.JSONDecodeError as exc:
        message = f"not valid JSON: {exc.msg}"
        hint = "fix the JSON on this line (each line is one complete JSON object)"
        if exc.msg == "Extra data":
            try:
                json.JSONDecoder().raw_decode(text.lstrip())
                message = "more than one JSON value on the line"
                hint = "put each example on its own line"
            except json.JSONDecodeError:
                pass
        elif text.lstrip()[:1] in "[{" and number == 1 and exc.msg.startswith("Expecting"):
            hint = "the file looks like pretty-printed JSON; write one compact object per line (JSONL)"
        yield (
            number,
            None,
            Problem("invalid-json", message, hint, file=label, line=number, column=exc.colno),
            size,
        )
        return
    yield number, value, None, size


def byte_slices(path: Path, parts: int) -> list[tuple[int, int]]:
    """Split ``path`` into about ``parts`` slices ``(start byte, end byte)`` that begin at line starts."""
    size = path.stat().st_size
    bounds = [0]
    with path.open("rb") as handle:
        for k in range(1, parts):
            handle.seek(max(size * k // parts, bounds[-1]))
            handle.readline()
            bounds.append(min(handle.tell(), size))
    bounds.append(size)
    return [(start, end) for start, end in itertools.pairwise(bounds) if start < end]
