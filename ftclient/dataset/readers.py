"""Streaming readers for tabular input (CSV/TSV, JSONL, a JSON array, Parquet), keeping line numbers.

Every reader yields ``RawRow(ordinal, line, values, problem)``: ``line`` is the first physical line of the
record (row number for Parquet), so a report can point an editor at it. A broken record (bad byte, broken
quote, invalid JSON, wrong field count) comes back with a Problem and reading goes on where it can.
Reading twice gives the same rows in the same order (prepare reads its input in passes, never all at once).
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from ftclient.dataset.jsonl import iter_jsonl, open_checked
from ftclient.errors import DatasetError, Problem, UserInputError

SAMPLE_BYTES = 64 * 1024
LONG_RECORD_LINES = 1000
FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".txt": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".parquet": "parquet",
    ".pq": "parquet",
}


class RawRow(NamedTuple):
    ordinal: int
    """0-based index among the data records (stable across passes)."""
    line: int
    values: dict[str, Any] | None
    problem: Problem | None


@dataclass
class Table:
    """An input file opened for streaming: its format, encoding, delimiter and columns."""

    path: Path
    label: str
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Things worth telling (a guessed encoding, a renamed header)."""

    def rows(self) -> Iterator[RawRow]:
        if self.format in ("csv", "tsv"):
            return _csv_rows(self)
        if self.format == "jsonl":
            return _jsonl_rows(self)
        if self.format == "json":
            return _json_array_rows(self)
        return _parquet_rows(self)


def open_table(path: str | Path, *, encoding: str | None = None, delimiter: str | None = None) -> Table:
    """Open ``path``, detecting its format, encoding, delimiter and header. Raises DatasetError if unreadable."""
    encoding = _checked_encoding(encoding)
    delimiter = _checked_delimiter(delimiter)
    file = Path(path)
    open_checked(file).close()
    label = str(path)
    fmt = FORMATS.get(file.suffix.lower())
    with file.open("rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    if fmt is None:
        stripped = head.lstrip(codecs.BOM_UTF8).lstrip()
        fmt = "json" if stripped.startswith(b"[") else "jsonl" if stripped.startswith(b"{") else "csv"
    if not head.strip(codecs.BOM_UTF8 + b" \r\n\t"):
        raise DatasetError(f"{label} is empty", hint="put a header row and examples in it", path=label)
    table = Table(file, label, fmt)
    if fmt == "parquet":
        _parquet_columns(table)
    elif fmt in ("csv", "tsv"):
        table.encoding = encoding or _detect_encoding(head, table)
        table.delimiter = delimiter or _sniff_delimiter(head, table)
        _csv_header(table)
    else:
        table.encoding = "utf-8"
        _json_columns(table)
    return table


def _checked_encoding(encoding: str | None) -> str | None:
    if encoding is None:
        return None
    try:
        "x".encode(encoding)  # also refuses codecs that are not text encodings ("hex", "zlib")
    except LookupError:
        raise UserInputError(
            f"--encoding {encoding!r} is not a text encoding",
            hint="name one such as utf-8, utf-16, gb18030, cp1252 or latin-1, or leave it out to detect it",
        ) from None
    return encoding


_DELIMITER_NAMES = {"\\t": "\t", "tab": "\t", "\\x09": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


def _checked_delimiter(delimiter: str | None) -> str | None:
    if delimiter is None:
        return None
    value = _DELIMITER_NAMES.get(delimiter.lower(), delimiter)
    if len(value) != 1 or value in '\r\n"':
        raise UserInputError(
            f"--delimiter {delimiter!r} cannot separate fields: it must be one character, not a quote or line break",
            hint="give a single character such as , ; | or tab (written '\\t' or tab)",
        )
    return value


def _detect_encoding(head: bytes, table: Table) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3:  # a character cut by the sample's end
            return "utf-8"
    bad = head[:-3].decode("utf-8", errors="replace").count("\ufffd")
    if bad <= max(3, len(head) // 2000):
        # UTF-8 with a few stray bytes: read as UTF-8 and report those rows, rather than guess wrong.
        return "utf-8"
    for candidate in ("gb18030", "cp1252"):
        try:
            head.decode(candidate)
        except UnicodeDecodeError:
            continue
        table.notes.append(f"not UTF-8; read as {candidate} (guessed). Pass --encoding if that is wrong.")
        return candidate
    table.notes.append("not UTF-8; read as latin-1 (guessed). Pass --encoding if that is wrong.")
    return "latin-1"


def _sniff_delimiter(head: bytes, table: Table) -> str:
    text = head.decode(table.encoding or "utf-8", errors="replace").lstrip("\ufeff")
    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;|").delimiter
    except csv.Error:
        return "\t" if table.format == "tsv" else ","


def _open_text(table: Table) -> Any:
    errors = "surrogateescape" if (table.encoding or "").startswith("utf-8") else "strict"
    return table.path.open("r", encoding=table.encoding, errors=errors, newline="")


def _csv_header(table: Table) -> None:
    with _open_text(table) as handle:
        reader = csv.reader(handle, delimiter=table.delimiter or ",", strict=True)
        try:
            header = next((row for row in reader if any(cell.strip() for cell in row)), None)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise DatasetError(
                f"{table.label}:1: cannot read the header row ({exc})",
                hint="check the file is a CSV/TSV with a header row; pass --encoding or --delimiter",
                path=table.label,
            ) from exc
    if header is None:
        raise DatasetError(f"{table.label} has no header row", hint="add a header row naming the columns")
    names: list[str] = []
    for index, raw in enumerate(header, start=1):
        clean = raw.encode("utf-8", "replace").decode("utf-8")  # stray bytes in a header become "?"
        name = clean.strip().lstrip("\ufeff") or f"column_{index}"
        if name in names:
            table.notes.append(f"header {name!r} appears twice; the second is column_{index}")
            name = f"column_{index}"
        names.append(name)
    table.columns = names


def _csv_rows(table: Table) -> Iterator[RawRow]:
    columns = table.columns
    ordinal = -1
    with _open_text(table) as handle:
        reader = csv.reader(handle, delimiter=table.delimiter or ",", strict=True)
        previous_end = 0
        header_seen = False
        while True:
            start = previous_end + 1
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                ordinal += 1
                previous_end = reader.line_num
                if "unexpected end of data" in str(exc):
                    yield _bad_row(
                        table,
                        ordinal,
                        start,
                        "broken-quote",
                        "a quoted field starting on this line is never closed; the rest of the file is inside it",
                        'close the quote (a quote inside a field is written "")',
                    )
                    return
                yield _bad_row(
                    table,
                    ordinal,
                    start,
                    "broken-quote",
                    f"malformed CSV record ({exc})",
                    'quote fields that contain the delimiter, and double quotes inside them ("")',
                )
                continue
            except UnicodeDecodeError as exc:
                raise DatasetError(
                    f"{table.label}: cannot be decoded as {table.encoding} near line {start} ({exc.reason})",
                    hint="pass the right --encoding (e.g. utf-8, gb18030, cp1252)",
                    path=table.label,
                ) from exc
            previous_end = reader.line_num
            if not header_seen:
                if any(cell.strip() for cell in record):
                    header_seen = True
                continue
            ordinal += 1
            yield _csv_record(table, columns, ordinal, start=start, end=previous_end, record=record)


def _csv_record(table: Table, columns: list[str], ordinal: int, *, start: int, end: int, record: list[str]) -> RawRow:
    if not any(cell.strip() for cell in record):
        return _bad_row(
            table, ordinal, start, "blank-row", "blank row", "nothing to do: blank rows are skipped", warning=True
        )
    for index, cell in enumerate(record):
        bad = next((i for i, ch in enumerate(cell) if "\udc80" <= ch <= "\udcff"), None)
        if bad is not None:
            name = columns[index] if index < len(columns) else f"column {index + 1}"
            return RawRow(
                ordinal,
                start,
                None,
                Problem(
                    "not-utf8",
                    f"byte 0x{ord(cell[bad]) - 0xDC00:02x} in column {name!r} is not valid UTF-8",
                    "save the file as UTF-8, or pass --encoding with the file's real encoding",
                    file=table.label,
                    line=start,
                    path=name,
                ),
            )
    if len(record) > len(columns) and any(cell.strip() for cell in record[len(columns) :]):
        return _bad_row(
            table,
            ordinal,
            start,
            "extra-fields",
            f"{len(record)} fields but the header has {len(columns)}",
            "quote fields that contain the delimiter",
        )
    if end - start + 1 > LONG_RECORD_LINES:
        return _bad_row(
            table,
            ordinal,
            start,
            "broken-quote",
            f"one record spans lines {start}-{end}: probably a quote that is never closed",
            'close the quote (a quote inside a field is written "")',
        )
    values = {name: (record[i] if i < len(record) else "") for i, name in enumerate(columns)}
    return RawRow(ordinal, start, values, None)


def _bad_row(  # noqa: PLR0917 - the row's place, then the problem's code, message and hint
    table: Table, ordinal: int, line: int, code: str, message: str, hint: str, *, warning: bool = False
) -> RawRow:
    """A record that could not be read, with the problem that says why."""
    return RawRow(ordinal, line, None, _problem(table, line, code, message, hint, warning=warning))


def _problem(table: Table, line: int, code: str, message: str, hint: str, *, warning: bool = False) -> Problem:
    return Problem(code, message, hint, file=table.label, line=line, severity="warning" if warning else "error")


# --- JSON --------------------------------------------------------------------------------------------


def _json_columns(table: Table) -> None:
    seen: dict[str, None] = {}
    first_problem: Problem | None = None
    for index, row in enumerate(table.rows()):
        if row.values:
            seen.update(dict.fromkeys(row.values))
        elif row.problem is not None and first_problem is None:
            first_problem = row.problem
        if index >= 200:
            break
    if not seen and first_problem is not None:
        # Not one readable record: say why the first one is not, rather than "no columns".
        raise DatasetError(
            f"{table.label}: not one record can be read (the first problem is below)",
            hint="fix the file (`ftclient validate` lists every problem), then run the same command again",
            path=table.label,
            problems=[first_problem],
        )
    table.columns = list(seen)


def _jsonl_rows(table: Table) -> Iterator[RawRow]:
    ordinal = -1
    for line, value, problem, _ in iter_jsonl(table.path, table.label):
        if problem is not None and problem.code == "bom":
            continue  # a BOM is fine on input; prepare writes files without it
        ordinal += 1
        if problem is not None:
            if problem.code == "blank-line":
                ordinal -= 1
                continue
            yield RawRow(ordinal, line, None, problem)
        elif not isinstance(value, dict):
            yield _bad_row(
                table,
                ordinal,
                line,
                "not-an-object",
                f"the line is a JSON {type(value).__name__}, not an object",
                "write each record as a JSON object",
            )
        else:
            yield RawRow(ordinal, line, value, None)


def _json_array_rows(table: Table) -> Iterator[RawRow]:
    """Stream the elements of a top-level JSON array without loading the whole file."""
    decoder = json.JSONDecoder()
    with table.path.open("r", encoding="utf-8-sig") as handle:
        buffer = handle.read(SAMPLE_BYTES)
        position = 0
        line = 1
        ordinal = -1

        def skip(chars: str) -> None:
            nonlocal position, line, buffer
            while True:
                while position < len(buffer) and buffer[position] in chars:
                    if buffer[position] == "\n":
                        line += 1
                    position += 1
                if position < len(buffer):
                    return
                more = handle.read(SAMPLE_BYTES)
                if not more:
                    return
                buffer, position = buffer[position:] + more, 0

        skip(" \t\r\n")
        if buffer[position : position + 1] != "[":
            raise DatasetError(
                f"{table.label}: a .json input must be one JSON array of objects",
                hint="or use JSONL (one object per line)",
                path=table.label,
            )
        position += 1
        while True:
            skip(" \t\r\n,")
            if position >= len(buffer) or buffer[position] == "]":
                return
            while True:
                try:
                    value, end = decoder.raw_decode(buffer, position)
                    break
                except json.JSONDecodeError as exc:
                    more = handle.read(SAMPLE_BYTES)
                    if not more:
                        raise DatasetError(
                            f"{table.label}:{exc.lineno + line - 1}: not valid JSON ({exc.msg})",
                            hint="fix the JSON, or write the records as JSONL",
                            path=table.label,
                        ) from exc
                    buffer, position = buffer[position:] + more, 0
                except (ValueError, RecursionError) as exc:  # 4,300+ digit integers; nesting too deep
                    what = "nests too deeply" if isinstance(exc, RecursionError) else "holds a number too long"
                    raise DatasetError(
                        f"{table.label}:{line}: an element {what} to read",
                        hint="flatten the element and write very long numbers as strings",
                        path=table.label,
                    ) from None
            ordinal += 1
            start = line
            line += buffer.count("\n", position, end)
            position = end
            if isinstance(value, dict):
                yield RawRow(ordinal, start, value, None)
            else:
                yield _bad_row(
                    table,
                    ordinal,
                    start,
                    "not-an-object",
                    f"array element is a {type(value).__name__}, not an object",
                    "make every element a JSON object",
                )


# --- Parquet -----------------------------------------------------------------------------------------


def _parquet_file(table: Table) -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise DatasetError(
            f"{table.label}: reading Parquet needs pyarrow",
            hint="pip install 'ftclient[parquet]'",
            path=table.label,
        ) from exc
    try:
        return pq.ParquetFile(table.path)
    except Exception as exc:  # pyarrow raises its own error types for damaged files
        raise DatasetError(f"{table.label}: not a readable Parquet file ({exc})", path=table.label) from exc


def _parquet_columns(table: Table) -> None:
    table.columns = list(_parquet_file(table).schema_arrow.names)


def _parquet_rows(table: Table) -> Iterator[RawRow]:
    """Parquet has rows, not lines: ``line`` is the 1-based row number."""
    ordinal = -1
    for batch in _parquet_file(table).iter_batches(batch_size=1024):
        for record in batch.to_pylist():
            ordinal += 1
            yield RawRow(ordinal, ordinal + 1, record, None)
