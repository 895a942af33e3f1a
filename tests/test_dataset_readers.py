"""Readers: CSV/TSV sniffing, BOM, CRLF, quoted newlines, encodings, JSONL, JSON arrays, Parquet; line numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FIXTURES

from ftclient.dataset.readers import open_table
from ftclient.errors import DatasetError

DATA = FIXTURES / "datasets"


def _rows(path: Path, **kwargs: str) -> list[tuple[int, dict[str, object] | None, str | None]]:
    table = open_table(path, **kwargs)
    return [(r.line, r.values, r.problem.code if r.problem else None) for r in table.rows()]


def test_excel_style_csv_keeps_physical_line_numbers() -> None:
    table = open_table(DATA / "excel_style.csv")
    assert (table.format, table.encoding, table.delimiter) == ("csv", "utf-8-sig", ",")
    assert table.columns == ["Ticket text", "Label"]
    rows = {line: (values, code) for line, values, code in _rows(DATA / "excel_style.csv")}
    assert rows[6][0] == {"Ticket text": "A ticket that spans\r\ntwo lines, with a comma", "Label": "bug"}
    assert rows[8][0] == {"Ticket text": "Ticket 5 about account problems", "Label": "account"}
    assert rows[12] == (None, "blank-row")
    assert rows[13] == (None, "blank-row")
    assert 7 not in rows  # the second physical line of the quoted record


@pytest.mark.parametrize(("delimiter", "name"), [(";", "semi.csv"), ("\t", "tabs.tsv"), ("|", "pipes.txt")])
def test_delimiter_is_sniffed(tmp_path: Path, delimiter: str, name: str) -> None:
    path = tmp_path / name
    path.write_text(f"text{delimiter}label\nhello, world{delimiter}a\nsecond{delimiter}b\n", encoding="utf-8")
    table = open_table(path)
    assert table.delimiter == delimiter
    assert [r.values for r in table.rows()] == [
        {"text": "hello, world", "label": "a"},
        {"text": "second", "label": "b"},
    ]


def test_other_encodings_are_detected_and_noted() -> None:
    table = open_table(DATA / "gb18030.csv")
    assert table.encoding == "gb18030"
    assert any("gb18030" in note for note in table.notes)
    first = next(iter(table.rows()))
    assert first.values == {"text": "第1号订单退款还没到账", "label": "bug"}


def test_explicit_encoding_wins(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("text,label\ncafé crème,a\n".encode("cp1252"))
    assert next(iter(open_table(path, encoding="cp1252").rows())).values == {"text": "café crème", "label": "a"}


def test_bad_byte_is_reported_on_its_line_and_reading_goes_on() -> None:
    rows = _rows(DATA / "bad_byte.csv")
    assert [(line, code) for line, _, code in rows if code] == [(8, "not-utf8")]
    assert len(rows) == 30


def test_broken_quote_is_reported_on_its_line() -> None:
    rows = _rows(DATA / "broken_quote.csv")
    assert [(line, code) for line, _, code in rows if code] == [(21, "broken-quote")]
    assert len([r for r in rows if r[1]]) == 19


def test_extra_fields_are_reported() -> None:
    rows = _rows(DATA / "extra_fields.csv")
    assert [(line, code) for line, _, code in rows if code] == [(10, "extra-fields")]


def test_jsonl_rows_and_broken_lines(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\n\n{"a": 2}\r\n{broken\n[1]\n{"a": 3}\n')
    assert _rows(path) == [
        (1, {"a": 1}, None),
        (3, {"a": 2}, None),
        (4, None, "invalid-json"),
        (5, None, "not-an-object"),
        (6, {"a": 3}, None),
    ]
    assert open_table(path).columns == ["a"]


def test_json_array_streams_elements_with_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    records = [{"text": f"t{i}\nwith newline", "label": "x"} for i in range(3)]
    path.write_text("[\n" + ",\n".join(json.dumps(r, indent=2) for r in records) + "\n]\n")
    table = open_table(path)
    assert table.format == "json"
    rows = list(table.rows())
    assert [r.values for r in rows] == records
    assert [r.line for r in rows] == [2, 6, 10]


def test_parquet(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path = tmp_path / "x.parquet"
    pq.write_table(pa.table({"text": ["a", "b"], "label": ["x", "y"]}), path)
    table = open_table(path)
    assert table.columns == ["text", "label"]
    assert [(r.line, r.values) for r in table.rows()] == [
        (1, {"text": "a", "label": "x"}),
        (2, {"text": "b", "label": "y"}),
    ]


def test_reading_twice_gives_the_same_rows() -> None:
    table = open_table(DATA / "excel_style.csv")
    assert list(table.rows()) == list(table.rows())


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf\r\n  \n"])
def test_empty_input_is_an_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(DatasetError, match="empty"):
        open_table(path)
