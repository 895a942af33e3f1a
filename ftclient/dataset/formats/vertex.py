"""Canonical chat records -> Vertex AI's supervised-tuning schema for Gemini (``gemini``).

One line of a Gemini tuning file is ``{"systemInstruction": {"role", "parts": [{"text"}]}, "contents":
[{"role": "user"|"model", "parts": [{"text": ...}]}, ...]}``. Sources (read 2026-12-03):

- cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-supervised-tuning-prepare: the schema above;
  ``contents`` is required, ``systemInstruction`` optional and its ``role`` ignored; a content's ``role`` is
  ``user`` or ``model``; a part holds one of ``text`` or ``fileData``.
- cloud.google.com/vertex-ai/generative-ai/docs/models/tune_gemini/text_tune: the published example record
  (the pirate dog), whose ``systemInstruction`` carries ``"role": "system"`` -- written the same way here.

What has no equivalent is refused with its JSON path rather than dropped: tool calls and tool messages,
per-message ``weight`` and ``name``, images (Vertex reads media from ``fileData`` URIs, which a chat image URL
does not map onto), and system messages after the start. Consecutive messages of one role become one content
with several parts, so the roles alternate as Vertex requires.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ftclient.dataset.formats import ConversionError, register

FORMAT = "gemini"
ROLES = {"user": "user", "assistant": "model"}


def convert_with_origin(record: Mapping[str, Any]) -> tuple[dict[str, Any], list[int]]:
    """The Gemini record, and for each of its ``contents`` the index of the first message it came from
    (so a rule failing on the converted record can name the line's own path)."""
    messages = record.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ConversionError("no messages to convert", 'write the example as {"messages": [...]}', "messages")
    extra = sorted(set(record) - {"messages"})
    if extra:
        raise ConversionError(
            f"field {extra[0]!r} has no equivalent in Vertex's tuning schema",
            "drop it (tools and function definitions are not converted)",
            extra[0],
        )
    system: list[dict[str, str]] = []
    contents: list[dict[str, Any]] = []
    origin: list[int] = []
    for index, message in enumerate(messages):
        path = f"messages[{index}]"
        if not isinstance(message, dict):
            raise ConversionError("the message is not an object", 'write {"role": ..., "content": ...}', path)
        _refuse_extras(message, path)
        role = message.get("role")
        parts = _parts(message.get("content"), f"{path}.content")
        if role == "system":
            if contents:
                raise ConversionError(
                    "a system message after the conversation started",
                    "Vertex takes one system instruction for the whole example: move it to the start",
                    path,
                )
            system += parts
            continue
        if role not in ROLES:
            raise ConversionError(
                f"role {role!r} has no equivalent in Vertex's tuning schema (user and model only)",
                "keep system, user and assistant messages only",
                f"{path}.role",
            )
        gemini_role = ROLES[role]
        if contents and contents[-1]["role"] == gemini_role:
            contents[-1]["parts"].extend(parts)  # Vertex wants the roles to alternate: merge the repeat
        else:
            contents.append({"role": gemini_role, "parts": parts})
            origin.append(index)
    out: dict[str, Any] = {}
    if system:
        out["systemInstruction"] = {"role": "system", "parts": system}
    out["contents"] = contents
    return out, origin


def convert(record: Mapping[str, Any]) -> dict[str, Any]:
    return convert_with_origin(record)[0]


def _refuse_extras(message: Mapping[str, Any], path: str) -> None:
    if message.get("tool_calls") or message.get("function_call") or message.get("tool_call_id"):
        raise ConversionError(
            "tool calls are not converted to Vertex's schema",
            "drop tool-calling examples for Vertex, or tune them on a provider that takes them",
            path,
        )
    if "weight" in message and message["weight"] != 1:
        raise ConversionError(
            "Vertex's schema has no per-message weight: this turn would be trained on",
            "drop the weight-0 turn, or the example",
            f"{path}.weight",
        )
    if message.get("name"):
        raise ConversionError(
            "Vertex's schema has no message name", "drop the name or fold it into the text", f"{path}.name"
        )


def _parts(content: Any, path: str) -> list[dict[str, str]]:
    if isinstance(content, str):
        if not content.strip():
            raise ConversionError("the message is empty", "write the text, or drop the example", path)
        return [{"text": content}]
    if isinstance(content, list) and content:
        parts: list[dict[str, str]] = []
        for index, part in enumerate(content):
            here = f"{path}[{index}]"
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise ConversionError(
                    "only text parts are converted to Vertex's schema (images need a fileData URI there)",
                    "keep text parts only for Vertex",
                    here,
                )
            if not part["text"].strip():
                raise ConversionError("the text part is empty", "write the text, or drop the part", f"{here}.text")
            parts.append({"text": part["text"]})
        return parts
    raise ConversionError("the message has no text content", "write the message text as a string", path)


register(FORMAT, convert)
