"""What ``capture`` asks the model: inputs from a dataset folder, a chat JSONL, or a CSV/JSONL column.

- A dataset folder (``ftclient prepare`` output): every example of train, validation and test, in that
  order; the last assistant message is the reference, the messages before it the prompt.
- A chat JSONL (``{"messages": [...]}`` per line): the same; a line that does not end with an assistant
  message is all prompt and has no reference.
- A CSV/TSV/JSONL table with ``input_col`` (and optionally ``reference_col``): the column's text is the
  user message.

The system prompt the model was trained with is put first wherever an input has none, so the request is
the one the model learned to answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ftclient.errors import UserInputError

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class CaptureInput:
    index: int
    messages: list[dict[str, Any]]
    reference: str | None = None
    split: str | None = None
    """The dataset split the input came from (dataset folders only)."""
    source: str = ""
    """``file:line`` of the input, for messages about it."""


@dataclass(frozen=True)
class InputSet:
    items: list[CaptureInput]
    source: str
    kind: str
    """``dataset``, ``chat-jsonl`` or ``table``."""
    sha256: str
    system_prompt: str | None = None
    task: str | None = None
    labels: Sequence[str] = ()


def _sha256_files(paths: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _with_system(messages: list[dict[str, Any]], system: str | None) -> list[dict[str, Any]]:
    if system and not any(m.get("role") == "system" for m in messages):
        return [{"role": "system", "content": system}, *messages]
    return messages


def read_chat_jsonl(path: Path, *, system: str | None, split: str | None = None, start: int = 0) -> list[CaptureInput]:
    items: list[CaptureInput] = []
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                messages = [dict(m) for m in record["messages"]]
            except (ValueError, KeyError, TypeError) as exc:
                raise UserInputError(
                    f"{path}:{line_no}:1: not a chat example ({exc})",
                    hint='each line must be {"messages": [...]}; for a table of inputs pass --input-col',
                ) from exc
            reference = None
            if messages and messages[-1].get("role") == "assistant" and isinstance(messages[-1].get("content"), str):
                reference = messages.pop()["content"]
            if not messages:
                raise UserInputError(
                    f"{path}:{line_no}:1: the example has no prompt before its assistant message",
                    hint="each input needs at least one user message",
                )
            items.append(
                CaptureInput(
                    index=start + len(items),
                    messages=_with_system(messages, system),
                    reference=reference,
                    split=split,
                    source=f"{path}:{line_no}",
                )
            )
    return items


def read_table(path: Path, *, input_col: str, reference_col: str | None, system: str | None) -> list[CaptureInput]:
    from ftclient.dataset.readers import open_table

    table = open_table(path)
    for col in (input_col, reference_col):
        if col and col not in table.columns:
            raise UserInputError(
                f"{path}: no column {col!r} (columns: {', '.join(table.columns)})",
                hint="name an existing column with --input-col / --reference-col",
            )
    items: list[CaptureInput] = []
    for row in table.rows():
        if row.values is None:
            problem = row.problem
            raise UserInputError(
                f"{problem.location if problem else f'{path}:{row.line}'}: "
                f"{problem.message if problem else 'unreadable row'}",
                hint=problem.hint if problem else "fix the row and run the command again",
            )
        text = row.values.get(input_col)
        if text is None or not str(text).strip():
            raise UserInputError(
                f"{path}:{row.line}:1: the {input_col!r} column is empty", hint="fill it in or remove the row"
            )
        reference = row.values.get(reference_col) if reference_col else None
        items.append(
            CaptureInput(
                index=len(items),
                messages=_with_system([{"role": "user", "content": str(text)}], system),
                reference=None if reference is None else str(reference),
                source=f"{path}:{row.line}",
            )
        )
    return items


def read_inputs(
    source: str | Path,
    *,
    input_col: str | None = None,
    reference_col: str | None = None,
    system: str | None = None,
) -> InputSet:
    """The inputs of ``source`` with ``system`` (the trained system prompt) first where they have none."""
    path = Path(source)
    if not path.exists():
        raise UserInputError(f"{path} does not exist", hint="pass a dataset folder, a chat JSONL or a CSV/JSONL file")
    if path.is_dir():
        from ftclient.evaluate.resolve import dataset_facts, load_manifest

        manifest = load_manifest(path)
        task, labels, manifest_system, _ = dataset_facts(manifest)
        files = [path / f"{split}.jsonl" for split in SPLITS if (path / f"{split}.jsonl").is_file()]
        if not files:
            raise UserInputError(
                f"{path} has no train/validation/test.jsonl",
                hint="pass the folder `ftclient prepare` wrote, or a JSONL file",
            )
        items: list[CaptureInput] = []
        for file in files:
            items += read_chat_jsonl(file, system=system or manifest_system, split=file.stem, start=len(items))
        return InputSet(items, str(path), "dataset", _sha256_files(files), system or manifest_system, task, labels)
    if input_col:
        items = read_table(path, input_col=input_col, reference_col=reference_col, system=system)
        kind = "table"
    else:
        items = read_chat_jsonl(path, system=system)
        kind = "chat-jsonl"
    if not items:
        raise UserInputError(f"{path} has no inputs", hint="add at least one example")
    return InputSet(items, str(path), kind, _sha256_files([path]), system)
