"""The emulated resource's reading of Azure's training-data rules (``includes/fine-tuning-rest.md`` @ 09d4707,
read 2026-12-03): chat-completions JSONL, one example a line, each with an assistant answer; at least 10
examples ("will not proceed without at least 10"). A UTF-8 byte-order mark is accepted (the docs ask for one,
OpenAI's parser does not need it)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ftclient.emulator.azure.catalog import MIN_EXAMPLES
from ftclient.emulator.openai.learner import split_example

Example = tuple[list[Mapping[str, Any]], str]


def check(data: bytes, method: str) -> tuple[str | None, list[Example]]:
    """(problem or None, the examples the tuned model learns from)."""
    text = data.decode("utf-8", "replace").removeprefix("\ufeff")
    examples: list[Example] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            return f"line {number} is not valid JSON", []
        if not isinstance(record, dict):
            return f"line {number} is not a JSON object", []
        if method == "dpo":
            preferred = record.get("preferred_output")
            prompt = (record.get("input") or {}).get("messages")
            if not isinstance(preferred, list) or not preferred or not isinstance(prompt, list):
                return f"line {number} needs input.messages, preferred_output and non_preferred_output", []
            examples.append((prompt, str(preferred[-1].get("content") or "")))
            continue
        messages = record.get("messages")
        split = split_example(messages) if isinstance(messages, list) else None
        if split is None:
            return f"line {number} has no assistant message", []
        examples.append(split)
    if len(examples) < MIN_EXAMPLES:
        return f"the file has {len(examples)} examples; at least {MIN_EXAMPLES} are required", []
    return None, examples
