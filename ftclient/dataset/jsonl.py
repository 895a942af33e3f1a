"""Streaming JSONL reading that keeps physical line numbers and reports broken lines instead of stopping."""

from __future__ import annotations

import itertools
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from ftclient.dataset.rule_base import MAX_IMAGES_PER_EXAMPLE
from ftclient.errors import DatasetError, Problem

BOM = b"\xef\xbb\xbf"

MAX_LINE_BYTES = 8 * 1024**2
"""The longest line read as text. No model's context comes near it (131k tokens of text is about 1 MB),
and tokenizing a single 30 MB line took 1.6 GB of memory and minutes, so a longer line is reported
rather than read. CSV fields are capped the same way (the csv module's field limit)."""
MAX_IMAGE_LINE_BYTES = MAX_LINE_BYTES + MAX_IMAGES_PER_EXAMPLE * 14 * 1024**2
"""The longest line that holds inline images: ten images of at most 10 MB each,
base64-encoded (4/3 larger), plus the text cap. Sources: OpenAI vision fine-tuning guide (10 MB per image)
and Together data formats (10 images of 10 MB), both read 2026-11."""
_IMAGE_MARK = b'"image_url"'


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
    """``(line number, the line's bytes with its line ending)`` for each line of a slice of ``path``.

    A line longer than ``MAX_IMAGE_LINE_BYTES`` is never held whole: its first ``MAX_IMAGE_LINE_BYTES + 1``
    bytes stand for it (``is_too_long`` says so) and the rest is skipped in chunks.
    """
    with open_checked(path) as handle:
        handle.seek(start)
        position = start
        readline = handle.readline
        limit = MAX_IMAGE_LINE_BYTES + 1
        number = first_line
        while end is None or position < end:
            raw = readline(limit)
            if not raw:
                break
            position += len(raw)
            if len(raw) == limit and not raw.endswith(b"\n"):
                position += _skip_rest_of_line(handle)
            yield number, raw
            number += 1


def _skip_rest_of_line(handle: Any) -> int:
    skipped = 0
    while True:
        chunk = handle.readline(1024**2)
        skipped += len(chunk)
        if not chunk or chunk.endswith(b"\n"):
            return skipped


def is_too_long(raw: bytes) -> bool:
    """True for a line over the cap: text over ``MAX_LINE_BYTES``, or any line over the image cap."""
    size = len(raw)
    return size > MAX_LINE_BYTES and (size > MAX_IMAGE_LINE_BYTES or _IMAGE_MARK not in raw)


def too_long_problem(raw: bytes, number: int, label: str) -> Problem:
    images = _IMAGE_MARK in raw
    cap = MAX_IMAGE_LINE_BYTES if images else MAX_LINE_BYTES
    size = f"more than {cap // 1024**2} MB" if len(raw) > MAX_IMAGE_LINE_BYTES else f"{len(raw) / 1024**2:.1f} MB"
    return Problem(
        "line-too-long",
        f"the line is {size}; ftclient reads lines of up to {MAX_LINE_BYTES // 1024**2} MB "
        f"({MAX_IMAGE_LINE_BYTES // 1024**2} MB with inline images), and no model takes an example this long",
        "split the example into shorter ones (or check the file: a missing line break joins examples)",
        file=label,
        line=number,
    )


def parse_line(
    raw: bytes, number: int, label: str, *, first_in_file: bool
) -> Iterator[tuple[int, Any, Problem | None, int]]:
    """One line as ``iter_jsonl`` yields it: the value, or a Problem saying what is wrong and where."""
    size = len(raw)
    if size > MAX_LINE_BYTES and is_too_long(raw):
        yield number, None, too_long_problem(raw, number, label), size
        return
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
    except ValueError:  # the one other refusal: an integer of more than 4,300 digits (sys.int_info)
        yield (
            number,
            None,
            Problem(
                "number-too-long",
                f"the line holds a number of more than {sys.get_int_max_str_digits():,} digits, which cannot be read",
                "write such a value as a string (in quotes), or remove it",
                file=label,
                line=number,
            ),
            size,
        )
        return
    if "\\u" in text:
        column = lone_surrogate_column(text, value)
        if column is not None:
            yield number, None, _surrogate_problem(label, number, column), size
            return
    yield number, value, None, size


_SURROGATE_RE = re.compile(
    r"(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
    r"|\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
)


def lone_surrogate_column(text: str, value: Any) -> int | None:
    """The 1-based column of a ``\\uD800``-``\\uDFFF`` escape without its partner, or None if there is none.

    Such a half character is valid JSON syntax but not text: it cannot be written as UTF-8, so the
    provider (and ``prepare``'s writer) would refuse it. orjson, which refuses it, confirms the finding.
    """
    match = _SURROGATE_RE.search(text)
    if match is None:
        return None
    try:
        orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        return match.start() + 1
    return None


def _surrogate_problem(label: str, number: int, column: int) -> Problem:
    return Problem(
        "lone-surrogate",
        "the line holds half of a UTF-16 surrogate pair (a \\uD800-\\uDFFF escape without its partner), "
        "which is not a character",
        "remove the escape or write the whole character (the tool that wrote the file split it)",
        file=label,
        line=number,
        column=column,
    )


def byte_slices(path: Path, parts: int) -> list[tuple[int, int]]:
    """Split ``path`` into about ``parts`` slices ``(start byte, end byte)`` that begin at line starts."""
    size = path.stat().st_size
    bounds = [0]
    with path.open("rb") as handle:
        for k in range(1, parts):
            handle.seek(max(size * k // parts, bounds[-1]))
            _skip_rest_of_line(handle)
            bounds.append(min(handle.tell(), size))
    bounds.append(size)
    return [(start, end) for start, end in itertools.pairwise(bounds) if start < end]
