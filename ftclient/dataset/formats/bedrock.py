"""Canonical chat records to Bedrock's ``bedrock-conversation-2024`` schema (Amazon Nova fine-tuning).

The target shape, from Amazon's published example (docs.aws.amazon.com/nova/latest/userguide/
fine-tune-prepare-data-understanding.html, "Example dataset formats", read 2026-12-03)::

    {"schemaVersion": "bedrock-conversation-2024",
     "system": [{"text": "..."}],
     "messages": [{"role": "user", "content": [{"text": "..."}]},
                  {"role": "assistant", "content": [{"text": "..."}]}]}

The same page lists the roles Nova trains on (``user`` and ``assistant``; the system prompt is the separate,
optional ``system`` list). What has no equivalent there is refused with the JSON path of the part that
cannot go across, rather than silently dropped: tool calls and tool messages, images given as URLs (Nova
reads images from S3 locations only), per-message ``weight`` and ``name``, and a system message after the
start of the conversation. Turn order and reserved words are Bedrock's rules, not conversion problems:
``ftclient.dataset.rules_bedrock`` checks them on the converted file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ftclient.dataset.formats import ConversionError, register

FORMAT = "bedrock-conversation-2024"
SCHEMA_VERSION = "bedrock-conversation-2024"
_TRAINED_ROLES = frozenset({"user", "assistant"})


def _texts(content: Any, path: str) -> list[dict[str, str]]:
    """A chat message's content as Bedrock's list of ``{"text": ...}`` blocks."""
    if isinstance(content, str):
        return [{"text": content}]
    if not isinstance(content, list):
        raise ConversionError(
            f"the content is {type(content).__name__}, not text",
            "write the message content as a string or a list of text parts",
            path,
        )
    blocks: list[dict[str, str]] = []
    for index, part in enumerate(content):
        part_path = f"{path}[{index}]"
        if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
            blocks.append({"text": part["text"]})
        elif isinstance(part, dict) and part.get("type") == "image_url":
            raise ConversionError(
                "an image given by URL; Nova reads training images from S3 locations only",
                "drop the image, or write the file in Bedrock's schema yourself with image.source.s3Location",
                part_path,
            )
        else:
            kind = part.get("type") if isinstance(part, dict) else type(part).__name__
            raise ConversionError(
                f"a content part of type {kind!r} has no equivalent in {FORMAT}",
                "keep only text parts",
                part_path,
            )
    return blocks


def to_bedrock_conversation(record: Mapping[str, Any]) -> dict[str, Any]:
    """One canonical chat record (``{"messages": [...]}``) as one ``bedrock-conversation-2024`` record; a record
    already in that schema (it names a ``schemaVersion``) is kept as it is."""
    if "schemaVersion" in record:
        return dict(record)
    extra = sorted(set(record) - {"messages"})
    if extra:
        raise ConversionError(
            f"the key {extra[0]!r} has no equivalent in {FORMAT}",
            "tools and functions cannot be trained on Bedrock's conversation schema; drop the key",
            extra[0],
        )
    messages = record.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ConversionError("no messages to convert", 'write the example as {"messages": [...]}', "messages")
    system: list[dict[str, str]] = []
    turns: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        path = f"messages[{index}]"
        if not isinstance(message, dict):
            raise ConversionError("a message that is not an object", "write each message as an object", path)
        role = message.get("role")
        for key in ("tool_calls", "function_call", "weight", "name", "refusal", "tool_call_id"):
            if key in message and message[key] is not None:
                raise ConversionError(
                    f"the message key {key!r} has no equivalent in {FORMAT}",
                    "drop it (Bedrock trains on every assistant turn, by role and text only)",
                    f"{path}.{key}",
                )
        if role == "system":
            if turns:
                raise ConversionError(
                    "a system message after the conversation started; Bedrock takes the system prompt once, "
                    "before the messages",
                    "merge it into the first system message",
                    path,
                )
            system.extend(_texts(message.get("content"), f"{path}.content"))
            continue
        if role not in _TRAINED_ROLES:
            raise ConversionError(
                f"the role {role!r} has no equivalent in {FORMAT} (only user and assistant)",
                "drop tool and function messages from the example",
                f"{path}.role",
            )
        turns.append({"role": role, "content": _texts(message.get("content"), f"{path}.content")})
    converted: dict[str, Any] = {"schemaVersion": SCHEMA_VERSION}
    if system:
        converted["system"] = system
    converted["messages"] = turns
    return converted


register(FORMAT, to_bedrock_conversation)
