"""The Vertex dialect's own reading of a Gemini tuning file, from Google's published schema (not the client's
rules): cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-supervised-tuning-prepare (read 2026-12-03):
one JSON object a line, ``contents`` required with roles ``user`` / ``model`` and ``parts`` holding ``text``
(or ``fileData``), ``systemInstruction`` optional. A line whose last turn is not ``model`` has nothing to
learn (an assumption the client shares, stated there too)."""

from __future__ import annotations

import json
from typing import Any

from ftclient.emulator.vertex import catalog

Example = tuple[list[dict[str, Any]], str]
"""(chat-style prompt messages, the model's reply) for the learner."""


def check(data: bytes, base: str, *, limit: int) -> tuple[str | None, list[Example], int]:
    """(the first problem or None, the examples, estimated tokens of one epoch)."""
    if len(data) > catalog.MAX_FILE_BYTES:
        return "The dataset file is larger than 1 GB.", [], 0
    examples: list[Example] = []
    tokens = 0
    max_tokens = catalog.TUNABLE[base]["max_example_tokens"]
    for number, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except ValueError:
            return f"Line {number}: not valid JSON.", [], 0
        problem, example, count = _line(record)
        if problem:
            return f"Line {number}: {problem}", [], 0
        if count > max_tokens:
            return f"Line {number}: the example has about {count} tokens, over the {max_tokens} allowed.", [], 0
        assert example is not None
        examples.append(example)
        tokens += count
    if not examples:
        return "The dataset has no examples.", [], 0
    if len(examples) > limit:
        return f"The dataset has {len(examples)} examples, over the {limit} allowed.", [], 0
    return None, examples, tokens


def _line(record: Any) -> tuple[str | None, Example | None, int]:
    if not isinstance(record, dict) or not isinstance(record.get("contents"), list) or not record["contents"]:
        return "contents must be a non-empty list.", None, 0
    messages: list[dict[str, Any]] = []
    count = 0
    system = record.get("systemInstruction")
    if system is not None:
        text = _text(system.get("parts") if isinstance(system, dict) else None)
        if text is None:
            return "systemInstruction.parts must hold text.", None, 0
        messages.append({"role": "system", "content": text})
        count += catalog.estimate_tokens(text)
    previous = None
    for content in record["contents"]:
        role = content.get("role") if isinstance(content, dict) else None
        if role not in ("user", "model"):
            return f"role must be user or model, not {role!r}.", None, 0
        if role == previous:
            return "user and model turns must alternate.", None, 0
        previous = role
        text = _text(content.get("parts"))
        if text is None:
            return "every turn needs parts with text.", None, 0
        messages.append({"role": "assistant" if role == "model" else "user", "content": text})
        count += 4 + catalog.estimate_tokens(text)
    if previous != "model":
        return "the last turn must be the model's.", None, 0
    return None, (messages[:-1], str(messages[-1]["content"])), count


def _text(parts: Any) -> str | None:
    if not isinstance(parts, list) or not parts:
        return None
    texts = [p.get("text") for p in parts if isinstance(p, dict)]
    if not texts or not all(isinstance(t, str) and t.strip() for t in texts):
        return None
    return "\n".join(str(t) for t in texts)
