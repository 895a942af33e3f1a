"""The Bedrock dialect's own data rules, applied when a customization job validates its training data.

From the Nova user guide's data-preparation page (docs.aws.amazon.com/nova/latest/userguide/
fine-tune-prepare-data-understanding.html, read 2026-12-03): one JSON record per line; roles user and
assistant; the first turn the user's and the last the assistant's; reserved keywords in user or system
prompts fail the job. The record limits are assumptions (catalog.MIN_RECORDS / MAX_RECORDS). A job whose data
breaks a rule fails with the first problem, its line named, as Bedrock's failureMessage does.
"""

from __future__ import annotations

import json
from typing import Any

from ftclient.emulator.bedrock import catalog

RESERVED = ("User:", "Bot:", "Assistant:", "System:", "<image>", "<video>", "[EOS]")


class DataError(ValueError):
    pass


def _texts(blocks: Any, where: str) -> list[str]:
    if not isinstance(blocks, list):
        raise DataError(f"{where} must be a list of content blocks")
    out = []
    for block in blocks:
        if not isinstance(block, dict) or not isinstance(block.get("text"), str):
            raise DataError(f"{where} holds a block without text")
        out.append(block["text"])
    return out


def check_record(record: Any) -> tuple[str, list[dict[str, str]]]:
    """(system text, turns as {role, text}) of one valid record; DataError otherwise."""
    if not isinstance(record, dict):
        raise DataError("a record is not a JSON object")
    if not isinstance(record.get("schemaVersion"), str):
        raise DataError("schemaVersion is missing")
    system = "\n".join(_texts(record.get("system", []), "system"))
    messages = record.get("messages")
    if not isinstance(messages, list) or not messages:
        raise DataError("messages is missing or empty")
    turns: list[dict[str, str]] = []
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("user", "assistant"):
            raise DataError(f"messages[{index}] has role {role!r}; supported roles are user and assistant")
        expected = "user" if index % 2 == 0 else "assistant"
        if role != expected:
            raise DataError(f"messages[{index}] should be a {expected} turn (turns alternate, starting with user)")
        text = "\n".join(_texts(message.get("content"), f"messages[{index}].content"))
        if not text.strip():
            raise DataError(f"messages[{index}] has no text")
        turns.append({"role": role, "text": text})
    if turns[-1]["role"] != "assistant":
        raise DataError("the last turn must be the assistant's")
    for text in [system, *(t["text"] for t in turns if t["role"] == "user")]:
        for word in RESERVED:
            if word in text:
                raise DataError(f"a prompt contains the reserved keyword {word!r}")
    return system, turns


def check_file(data: bytes, *, training: bool) -> list[tuple[str, list[dict[str, str]]]]:
    """Every record of a JSONL file, checked; DataError naming the first bad line."""
    records = []
    for number, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            records.append(check_record(json.loads(raw)))
        except (ValueError, DataError) as exc:
            raise DataError(f"line {number}: {exc}") from None
    if training and not catalog.MIN_RECORDS <= len(records) <= catalog.MAX_RECORDS:
        raise DataError(
            f"the training data has {len(records)} records; between {catalog.MIN_RECORDS} and "
            f"{catalog.MAX_RECORDS} are required"
        )
    return records


def estimate_tokens(text: str) -> int:
    """About four characters a token: the emulator's own rough count, for usage and rate limits."""
    return max(1, len(text) // 4)
