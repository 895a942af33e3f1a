"""The emulated Together's own check of a training file, written from Together's published rules.

Sources: the data-preparation docs (docs.together.ai/docs/fine-tuning-data-preparation, read 2026) and the
checks together 1.6.0 runs locally (``together.utils.check_file``): one JSON object per line; each line in
exactly one of four formats, the same for the whole file, with no other top-level key; conversations with
``role`` (system, user, assistant) and ``content`` on every message, never the same role twice in a row,
at least one assistant message; content a string or a list of text/image parts; images only from the user,
as base64 data URLs; ``weight`` 0 or 1; preference lines whose prompt does not end with the assistant and
whose two replies are one assistant message each; at least one example. The server also refuses a
preference file for a supervised job and the other way round (docs.together.ai/docs/preference-fine-tuning).

The first problem is reported the way a failed job reports it: one line, with the line number.
"""

from __future__ import annotations

import json
from typing import Any

FORMATS: dict[str, tuple[str, ...]] = {
    "general": ("text",),
    "conversation": ("messages",),
    "instruction": ("prompt", "completion"),
    "preference": ("input", "preferred_output", "non_preferred_output"),
}
ROLES = ("system", "user", "assistant")
MIN_EXAMPLES = 1
IMAGE_PREFIXES = tuple(f"data:image/{kind};base64," for kind in ("jpeg", "png", "webp"))
MAX_IMAGES = 10


class Refused(ValueError):
    pass


def first_problem(data: bytes, *, method: str, what: str = "training file") -> str | None:
    """Why Together would refuse ``data`` for a job of ``method`` ("supervised" or "dpo"), or None."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return f"Invalid {what}: the file is not UTF-8 encoded."
    file_format = None
    count = 0
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            kind = _line(line, number)
        except Refused as exc:
            return f"Invalid {what}. Line {number}: {exc}"
        if file_format is None:
            file_format = kind
        elif kind != file_format:
            return f"Invalid {what}. Line {number}: a {kind} line in a file of {file_format} lines."
        count += 1
    if count < MIN_EXAMPLES:
        return f"Invalid {what}: it holds {count} examples; at least {MIN_EXAMPLES} is needed."
    if method == "dpo" and file_format != "preference":
        return f"Invalid {what}: a DPO job needs preference lines (input, preferred_output, non_preferred_output)."
    if method != "dpo" and file_format == "preference":
        return f"Invalid {what}: preference lines need training_method dpo."
    return None


def _line(line: str, number: int) -> str:
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        raise Refused("not valid JSON.") from None
    if not isinstance(record, dict):
        raise Refused("each line must be a JSON object.")
    matches = [name for name, keys in FORMATS.items() if all(key in record for key in keys)]
    if len(matches) != 1:
        raise Refused(f"cannot tell the format from the keys {sorted(record)}.")
    kind = matches[0]
    extra = set(record) - set(FORMATS[kind])
    if extra:
        raise Refused(f"unexpected key {sorted(extra)[0]!r} for the {kind} format.")
    if kind == "conversation":
        _conversation(record["messages"], need_assistant=True)
    elif kind == "preference":
        _preference(record)
    else:
        for key in FORMATS[kind]:
            _content(record[key], "user")
    return kind


def _conversation(messages: Any, *, need_assistant: bool) -> None:
    if not isinstance(messages, list) or not messages:
        raise Refused("messages must be a non-empty list.")
    previous = None
    multimodal: set[bool] = set()
    images = 0
    for message in messages:
        if not isinstance(message, dict) or "role" not in message or "content" not in message:
            raise Refused("every message needs a role and a content.")
        role = message["role"]
        if role not in ROLES:
            raise Refused(f"unknown role {role!r}.")
        if role == previous:
            raise Refused("roles must alternate (the same role twice in a row).")
        previous = role
        weight = message.get("weight")
        if "weight" in message and (not isinstance(weight, int) or weight not in (0, 1)):
            raise Refused("weight must be 0 or 1.")
        found = _content(message["content"], role)
        if found and weight:
            raise Refused("a message with images cannot carry a non-zero weight.")
        images += found
        multimodal.add(isinstance(message["content"], list))
    if len(multimodal) > 1:
        raise Refused("messages mix plain strings and lists of parts.")
    if images > MAX_IMAGES:
        raise Refused(f"more than {MAX_IMAGES} images in one example.")
    if need_assistant and "assistant" not in {m["role"] for m in messages}:
        raise Refused("no assistant message.")


def _content(content: Any, role: str) -> int:
    """Check a content value; the number of images in it."""
    if isinstance(content, str):
        return 0
    if not isinstance(content, list):
        raise Refused("content must be a string or a list of parts.")
    images = 0
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            continue
        if kind == "image_url":
            url = (part.get("image_url") or {}).get("url") if isinstance(part.get("image_url"), dict) else None
            if role != "user":
                raise Refused("only user messages may hold images.")
            if not isinstance(url, str) or not url.startswith(IMAGE_PREFIXES):
                raise Refused("images must be base64 data URLs (jpeg, png or webp).")
            images += 1
            continue
        raise Refused("content parts are text or image_url.")
    if images > MAX_IMAGES:
        raise Refused(f"more than {MAX_IMAGES} images in one message.")
    return images


def _preference(record: dict[str, Any]) -> None:
    prompt = record["input"]
    if not isinstance(prompt, dict) or "messages" not in prompt:
        raise Refused("input must be an object with messages.")
    _conversation(prompt["messages"], need_assistant=False)
    if prompt["messages"][-1]["role"] == "assistant":
        raise Refused("the prompt must not end with an assistant message.")
    for key in ("preferred_output", "non_preferred_output"):
        reply = record[key]
        if not isinstance(reply, list) or len(reply) != 1 or not isinstance(reply[0], dict):
            raise Refused(f"{key} must be a list of exactly one message.")
        if reply[0].get("role") != "assistant" or "content" not in reply[0]:
            raise Refused(f"{key} must be one assistant message with content.")
        _content(reply[0]["content"], "assistant")
