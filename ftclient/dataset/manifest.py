"""``manifest.json``: what a prepared dataset folder holds, where it came from and what it identifies as.

``dataset_sha256`` is the dataset's identity: sha256 over the hex sha256 digests of train.jsonl,
validation.jsonl and test.jsonl, concatenated in that order. Launch, the registry and evaluation key on it.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, ValidationError, model_serializer

from ftclient.errors import DatasetError

MANIFEST_NAME = "manifest.json"
SPLITS = ("train", "validation", "test")


class SourceInfo(BaseModel):
    path: str
    sha256: str
    format: str
    """csv, tsv, jsonl, json or parquet."""
    encoding: str | None = None
    rows: int = 0


class TargetInfo(BaseModel):
    provider: str
    model: str | None


class SplitInfo(BaseModel):
    seed: int
    ratios: tuple[float, float, float]
    sizes: dict[str, int]
    stratified_by: str | None = None


class FileInfo(BaseModel):
    path: str
    sha256: str
    examples: int
    tokens: int
    assistant_tokens: int


class Languages(BaseModel):
    source: str
    target: str


class Manifest(BaseModel):
    """The contents of ``manifest.json`` (see docs/data-formats.md)."""

    model_config = ConfigDict(extra="allow")

    ftclient_version: str
    created_at: str
    source: SourceInfo
    task: str
    columns: dict[str, str]
    system_prompt: str | None
    labels: list[str] = Field(default_factory=list)
    languages: Languages | None = None
    target: TargetInfo
    method: Literal["supervised", "dpo"]
    split: SplitInfo
    files: dict[str, FileInfo]
    dataset_sha256: str
    token_counts_exact: bool = True
    warnings: list[dict[str, Any]] = Field(default_factory=list)
    dropped: list[dict[str, Any]] = Field(default_factory=list)
    """Every input row left out, with its line and reason."""
    leakage: dict[str, Any] = Field(default_factory=dict)
    cost: dict[str, Any] | None = None
    written_files: dict[str, str] = Field(default_factory=dict)
    """Every file prepare wrote beside the manifest, with its sha256: what a later prepare may replace."""

    @model_serializer(mode="wrap")
    def _finite_numbers(self, handler: SerializerFunctionWrapHandler) -> Any:
        """No NaN or infinity in manifest.json: they are not JSON, and other tools refuse the file. A number
        that is not finite (a ratio or cost computed from nothing) is written as null, meaning unknown."""
        return _finite(handler(self))

    @classmethod
    def load(cls, dir_or_file: str | Path) -> Manifest:
        """Read the manifest of a dataset folder (or the manifest file itself)."""
        path = Path(dir_or_file)
        if path.is_dir():
            path = path / MANIFEST_NAME
        try:
            return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError as exc:
            raise DatasetError(
                f"{path}: no manifest", hint="pass a folder written by ftclient prepare", path=str(path)
            ) from exc
        except (ValueError, ValidationError) as exc:
            raise DatasetError(
                f"{path}: not a valid ftclient manifest ({str(exc).splitlines()[0]})",
                hint="prepare the dataset again",
                path=str(path),
            ) from exc

    def write(self, folder: Path) -> Path:
        from ftclient.outputs import write_atomic

        path = folder / MANIFEST_NAME
        write_atomic(path, json.dumps(self.model_dump(mode="json"), ensure_ascii=False, indent=2) + "\n")
        return path


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def dataset_identity(file_sha256s: dict[str, str]) -> str:
    """sha256 over the three split files' hex digests (train, validation, test), concatenated."""
    joined = "".join(file_sha256s.get(name, "") for name in SPLITS)
    return hashlib.sha256(joined.encode("ascii")).hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
