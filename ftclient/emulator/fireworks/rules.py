"""The emulated Fireworks' own file rules, checked when a job validates its dataset (written from Fireworks'
published material, not shared with the client): OpenAI chat JSONL for SFT, preference lines for DPO,
3 to 3,000,000 examples. Source: docs.fireworks.ai/fine-tuning/fine-tuning-models and /dpo-fine-tuning
(stored copies read 2026-12-03).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ftclient.emulator.fireworks import catalog
from ftclient.emulator.openai.learner import content_text, split_example

ROLES = frozenset({"system", "user", "assistant", "tool"})
Example = tuple[list[Mapping[str, Any]], str]


def _content_ok(content: Any) -> bool:
    if isinstance(content, str):
        return True
    return isinstance(content, list) and all(
        isinstance(p, dict) and p.get("type") in {"text", "image_url"} for p in content
    )


def _messages_problem(messages: Any) -> str | None:
    if not isinstance(messages, list) or not messages:
        return "messages must be a non-empty list"
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            return f"messages[{index}] has no valid role (system, user, assistant or tool)"
        if message["role"] == "system" and index:
            return f"messages[{index}]: a system message is only allowed first"
        if "content" in message and not _content_ok(message["content"]) and not message.get("tool_calls"):
            return f"messages[{index}].content must be a string or a list of content parts"
        if message.get("weight") not in (None, 0, 1):
            return f"messages[{index}].weight must be 0 or 1"
    return None


def line_problem(record: Any, method: str) -> str | None:
    if not isinstance(record, dict):
        return "each line must be a JSON object"
    if method == "dpo":
        inner = record.get("input")
        if not isinstance(inner, dict):
            return "a DPO line needs input.messages, preferred_output and non_preferred_output"
        for key in ("preferred_output", "non_preferred_output"):
            value = record.get(key)
            if (
                not isinstance(value, list)
                or not value
                or not all(isinstance(m, dict) and m.get("role") == "assistant" for m in value)
            ):
                return f"{key} must be a list of assistant messages"
        return _messages_problem(inner.get("messages"))
    problem = _messages_problem(record.get("messages"))
    if problem is None and not any(m.get("role") == "assistant" for m in record["messages"]):
        return "the example has no assistant message to learn from"
    return problem


def check(data: bytes, method: str, *, what: str = "dataset") -> tuple[str | None, list[Example]]:
    """(the first problem as Fireworks would word it, or None; the examples to learn from)."""
    examples: list[Example] = []
    count = 0
    for number, raw in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        if not raw.strip():
            continue
        count += 1
        try:
            record = json.loads(raw)
        except ValueError:
            return f"Invalid {what}: line {number} is not valid JSON.", []
        problem = line_problem(record, method)
        if problem is not None:
            return f"Invalid {what}: line {number}: {problem}.", []
        example = to_example(record)
        if example is not None:
            examples.append(example)
    if count < catalog.MIN_EXAMPLES:
        return f"Invalid {what}: {count} example(s); at least {catalog.MIN_EXAMPLES} are required.", []
    if count > catalog.MAX_EXAMPLES:
        return f"Invalid {what}: {count} examples; at most {catalog.MAX_EXAMPLES} are allowed.", []
    return None, examples


def to_example(record: Mapping[str, Any]) -> Example | None:
    if isinstance(record.get("messages"), list):
        return split_example(record["messages"])
    inner = record.get("input")
    preferred = record.get("preferred_output")
    if isinstance(inner, dict) and isinstance(preferred, list) and preferred and isinstance(preferred[0], dict):
        return list(inner.get("messages") or []), content_text(preferred[0].get("content"))
    return None


def count_examples(data: bytes) -> int:
    return sum(1 for line in data.splitlines() if line.strip())


def estimate_tokens(text: str) -> int:
    """About four bytes a token: the emulator ships no open-weight tokenizer, and says so in its docs."""
    return max(1, (len(text.encode("utf-8")) + 3) // 4)
