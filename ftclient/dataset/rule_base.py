"""The shared pieces of the dataset rules: the target context, one line's result, and shape helpers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ftclient.errors import Problem

MAX_IMAGES_PER_EXAMPLE = 10
IMAGE_URL_RE = re.compile(r"^(https://|data:image/(jpeg|png|webp);base64,)", re.IGNORECASE)
SPECIAL_RE = re.compile(r"<\|[A-Za-z0-9_]+\|>")

FORMAT_METHOD = {
    "chat": "supervised",
    "preference": "dpo",
    "completion": "supervised",
    "text": "supervised",
    "gemini": "supervised",
}


@dataclass(frozen=True)
class RuleContext:
    """What the rules need to know about the target."""

    file: str
    provider: str
    model: str
    method: str | None
    encoding_name: str
    vision: bool
    max_tokens: int | None
    completion_only: bool
    """True when the model trains on prompt/completion lines only (babbage-002, davinci-002)."""


@dataclass(slots=True)
class LineResult:
    """One checked line: its problems and what to count.

    ``sequences`` holds (overhead, texts) per billed token sequence: one for chat and completion lines, two
    for a preference line (prompt + preferred reply, prompt + rejected reply).
    """

    line: int
    format: str | None
    problems: list[Problem] = field(default_factory=list)
    sequences: list[tuple[int, list[str]]] = field(default_factory=list)
    assistant: list[str] = field(default_factory=list)
    dedup: tuple[str, ...] = ()
    """The texts that make the example what it is (with roles for chat), for finding duplicates."""
    has_system: bool = True


def problem(
    ctx: RuleContext, line: int, code: str, message: str, hint: str, *, path: str | None = None, warning: bool = False
) -> Problem:
    return Problem(
        code=code,
        message=message,
        hint=hint,
        file=ctx.file,
        line=line,
        path=path,
        severity="warning" if warning else "error",
    )


def detect_format(record: dict[str, Any]) -> str | None:
    """The format a line is written in, judged by its keys (None when it matches none)."""
    keys = record.keys()
    if "messages" in keys:
        return "chat"
    if "contents" in keys:
        return "gemini"  # Vertex AI's tuning schema for Gemini (dataset/formats/vertex.py)
    if "preferred_output" in keys or "non_preferred_output" in keys or "input" in keys:
        return "preference"
    if "prompt" in keys or "completion" in keys:
        return "completion"
    if "text" in keys:
        return "text"
    return None


def strings_of(message: dict[str, Any], path: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    content = message.get("content")
    if isinstance(content, str):
        out.append((f"{path}.content", content))
    elif isinstance(content, list):
        for index, part in enumerate(content):
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                out.append((f"{path}.content[{index}].text", part["text"]))
    for key in ("name", "refusal"):
        if isinstance(message.get(key), str):
            out.append((f"{path}.{key}", message[key]))
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        for index, call in enumerate(calls):
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict) and isinstance(function.get("arguments"), str):
                out.append((f"{path}.tool_calls[{index}].function.arguments", function["arguments"]))
    return out
