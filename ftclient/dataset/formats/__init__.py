"""Provider-native dataset schemas, and converting the canonical chat JSONL into them.

A prepared dataset is always chat JSONL (OpenAI's shape): one file to read, diff and validate, whichever
provider trains on it. Some providers read a schema of their own (Bedrock's ``bedrock-conversation-2024``
for Nova, Vertex's ``contents``/``parts`` for Gemini). For those, ``launch`` converts each split just before
upload, validates the converted file by the provider's rules, and uploads that; the canonical file is never
changed. A converter is registered here by the format's name; the adapter says which format a model needs
(``providers.base.NativeFormatProvider``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ftclient.errors import DatasetError, Problem
from ftclient.outputs import atomic_writer


class ConversionError(ValueError):
    """A canonical record that has no equivalent in the target schema; ``path`` is the JSON path in it."""

    def __init__(self, message: str, hint: str, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.path = path


Converter = Callable[[Mapping[str, Any]], dict[str, Any]]
"""One canonical chat record to one record of the target schema (raises ``ConversionError``)."""


_CONVERTERS: dict[str, Converter] = {}


def register(name: str, converter: Converter) -> None:
    _CONVERTERS[name] = converter


def converter_for(name: str) -> Converter:
    _load_builtin()
    try:
        return _CONVERTERS[name]
    except KeyError:
        raise ValueError(f"no converter for the dataset format {name!r}") from None


def _load_builtin() -> None:
    """Import the built-in converters, which register themselves (lazily: most launches need none)."""
    from ftclient.dataset.formats import bedrock, vertex  # noqa: F401


@dataclass(frozen=True)
class Converted:
    path: Path
    sha256: str
    examples: int
    format: str


def convert_file(source: Path, fmt: str, dest_dir: Path, *, source_sha256: str) -> Converted:
    """Write ``source`` (canonical chat JSONL) converted to ``fmt`` under ``dest_dir``, named by the source's
    hash and the format, so a relaunch reuses the same file (and the same upload). Every record that cannot
    be converted is reported with its line; nothing is written then."""
    convert = converter_for(fmt)
    dest = dest_dir / f"{source.stem}-{source_sha256[:16]}.{fmt}.jsonl"
    problems: list[Problem] = []
    lines: list[bytes] = []
    with source.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                record = orjson.loads(raw)
                lines.append(orjson.dumps(convert(record)) + b"\n")
            except ConversionError as exc:
                problems.append(
                    Problem(code="not-convertible", message=f"{exc.message} (in {fmt})", hint=exc.hint,
                            file=str(source), line=number, path=exc.path)
                )
            except orjson.JSONDecodeError as exc:
                problems.append(Problem(code="invalid-json", message=str(exc), hint=f"run `ftclient validate {source}`",
                                        file=str(source), line=number))
    if problems:
        raise DatasetError(
            f"{source}: {len(problems)} example(s) cannot be written in {fmt}",
            problems=problems,
            hint="fix or drop these examples, then prepare the dataset again",
        )
    data = b"".join(lines)
    dest_dir.mkdir(parents=True, exist_ok=True)
    if not dest.exists() or dest.read_bytes() != data:
        with atomic_writer(dest) as out:
            out.write(data)
    return Converted(dest, hashlib.sha256(data).hexdigest(), len(lines), fmt)
