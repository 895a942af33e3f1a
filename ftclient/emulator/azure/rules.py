"""The emulated resource's reading of Azure's training-data rules (``includes/fine-tuning-rest.md`` @ 09d4707,
read 2026-12-03): chat-completions JSONL, one example a line, each with an assistant answer; at least 10
examples ("will not proceed without at least 10"). A UTF-8 byte-order mark is accepted (the docs ask for one,
OpenAI's parser does not need it). DPO lines (how-to/fine-tuning-direct-preference-optimization, Learn, read
2026-12-03): ``input`` with a ``messages`` list, and exactly two outputs, ``preferred_output`` and
``non_preferred_output``, each a list of ``assistant``/``tool`` messages with at least one assistant message."""

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
            problem = _preference_problem(record)
            if problem is not None:
                return f"line {number}: {problem}", []
            preferred = record["preferred_output"]
            examples.append((record["input"]["messages"], str(_last_assistant(preferred).get("content") or "")))
            continue
        messages = record.get("messages")
        split = split_example(messages) if isinstance(messages, list) else None
        if split is None:
            return f"line {number} has no assistant message", []
        examples.append(split)
    if len(examples) < MIN_EXAMPLES:
        return f"the file has {len(examples)} examples; at least {MIN_EXAMPLES} are required", []
    return None, examples


def _last_assistant(output: list[Any]) -> Mapping[str, Any]:
    return next(m for m in reversed(output) if isinstance(m, dict) and m.get("role") == "assistant")


def _preference_problem(record: Mapping[str, Any]) -> str | None:
    prompt = record.get("input")
    if not isinstance(prompt, dict) or not isinstance(prompt.get("messages"), list) or not prompt["messages"]:
        return "input.messages must be a non-empty list"
    for key in ("preferred_output", "non_preferred_output"):
        output = record.get(key)
        if not isinstance(output, list) or not output:
            return f"{key} must be a non-empty list of messages"
        roles = [m.get("role") if isinstance(m, dict) else None for m in output]
        if any(role not in ("assistant", "tool") for role in roles):
            return f"{key} may hold only assistant and tool messages"
        if "assistant" not in roles:
            return f"{key} needs at least one assistant message"
    return None
