"""What OpenAI's ``validating_files`` step rejects, written from OpenAI's published material.

Sources: the fine-tuning guide (Dec 2024 copy: formats, minimum of 10 examples, vision and DPO sections),
the training-line schemas of the official spec as of 2025-05 (``FineTuneChatRequestInput``,
``FineTunePreferenceRequestInput``: roles, required keys, ``weight`` 0 or 1), and failed jobs captured from
the live API (``Example N, message M ...``, ``invalid_n_examples``, ``contains an invalid token``, the
chat-format-for-DPO refusal). Deliberately not ftclient's validator: a rule the client gets wrong must be
able to fail a test against this one.

Not modelled: moderation of the content, image fetching and the image rules (size, faces), tool
definition schemas, and truncation beyond the per-example token limit (OpenAI truncates such examples;
the emulator bills them at the limit, see ``accounting``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ftclient.emulator.openai.catalog import MIN_EXAMPLES

_ROLES = frozenset({"system", "user", "assistant", "tool", "function"})
# Special-token strings in training text fail the job (a gpt-4.1 job failed on "<|fim_suffix|>").
_SPECIAL = re.compile(r"<\|[A-Za-z0-9_]+\|>")


class FileRejection(Exception):
    """Why the job fails: ``code`` and ``message`` as the job's ``error`` carries them."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def check_file(data: bytes, method: str, *, training: bool) -> list[dict[str, Any]]:
    """The file's records if OpenAI would train on them; raises FileRejection otherwise."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileRejection(
            "invalid_file_format", f"Invalid file format. The file is not UTF-8 (byte {exc.start})."
        ) from None
    records: list[dict[str, Any]] = []
    for number, line in enumerate((ln for ln in text.splitlines() if ln.strip()), start=1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise FileRejection(
                "invalid_file_format",
                f"Invalid file format. Example {number} cannot be parsed. Error: line contains invalid json: {exc.msg}",
            ) from None
        if not isinstance(record, dict):
            raise FileRejection("invalid_file_format", f"Invalid file format. Example {number} is not a JSON object.")
        _check_record(record, number, method)
        records.append(record)
    if training and len(records) < MIN_EXAMPLES:
        raise FileRejection(
            "invalid_n_examples",
            f"Training file has {len(records)} example(s), but must have at least {MIN_EXAMPLES} examples",
        )
    return records


def _check_record(record: Mapping[str, Any], number: int, method: str) -> None:
    is_preference = "input" in record or "preferred_output" in record
    if method == "dpo" and not is_preference:
        raise FileRejection(
            "invalid_file_format",
            "Input file is in the fine-tune-chat format, but the specified fine-tuning job is not using "
            "'supervised' as the training method (provided method=dpo)",
        )
    if method != "dpo" and is_preference:
        raise FileRejection(
            "invalid_file_format",
            f"Example {number} is in the preference format; the specified fine-tuning job uses method={method}",
        )
    if method == "dpo":
        _check_preference(record, number)
        return
    messages = record.get("messages")
    if not isinstance(messages, list) or not messages:
        raise FileRejection("invalid_file_format", f'Invalid file format. Example {number} is missing key "messages".')
    for index, message in enumerate(messages, start=1):
        _check_message(message, number, index)
    if not any(isinstance(m, dict) and m.get("role") == "assistant" for m in messages):
        raise FileRejection(
            "invalid_file_format", f"Invalid file format. Example {number} has no assistant message to train on."
        )
    if all(m.get("weight") == 0 for m in messages if isinstance(m, dict) and m.get("role") == "assistant"):
        raise FileRejection(
            "invalid_file_format",
            f"Invalid file format. Example {number}: every assistant message has weight 0, nothing to train on.",
        )


def _check_preference(record: Mapping[str, Any], number: int) -> None:
    prompt = record.get("input")
    messages = prompt.get("messages") if isinstance(prompt, dict) else None
    if not isinstance(messages, list) or not messages:
        raise FileRejection("invalid_file_format", f"Invalid file format. Example {number}: input.messages is missing.")
    for index, message in enumerate(messages, start=1):
        _check_message(message, number, index)
    for key in ("preferred_output", "non_preferred_output"):
        outputs = record.get(key)
        if not isinstance(outputs, list) or len(outputs) != 1:
            raise FileRejection(
                "invalid_file_format",
                f"Invalid file format. Example {number}: {key} must hold exactly one assistant message.",
            )
        _check_message(outputs[0], number, len(messages) + 1)
        if outputs[0].get("role") != "assistant":
            raise FileRejection(
                "invalid_file_format", f"Invalid file format. Example {number}: {key} must be an assistant message."
            )
        if _has_image(outputs[0].get("content")):
            raise FileRejection(
                "invalid_file_format", f"Invalid file format. Example {number}: DPO takes text only, no images."
            )


def _check_message(message: Any, number: int, index: int) -> None:
    where = f"Invalid file format. Example {number}, message {index}"
    if not isinstance(message, dict):
        raise FileRejection("invalid_file_format", f"{where} is not an object.")
    role = message.get("role")
    if role is None:
        raise FileRejection("invalid_file_format", f"{where} Discriminator 'role' is missing in value")
    if role not in _ROLES:
        raise FileRejection("invalid_file_format", f"{where} has an unrecognised role {role!r}.")
    content = message.get("content")
    if role == "assistant":
        if content is None and not message.get("tool_calls") and not message.get("function_call"):
            raise FileRejection("invalid_file_format", f"{where} has neither content nor tool calls.")
        if message.get("weight", 1) not in (0, 1) or isinstance(message.get("weight"), bool):
            raise FileRejection("invalid_file_format", f"{where}: weight must be 0 or 1.")
        if _has_image(content):
            raise FileRejection("invalid_file_format", f"{where}: assistant messages may not contain images.")
        for call in message.get("tool_calls") or []:
            arguments = (call.get("function") or {}).get("arguments") if isinstance(call, dict) else None
            if not isinstance(arguments, str):
                raise FileRejection("invalid_file_format", f"{where}: tool call arguments must be a JSON string.")
    elif content is None:
        raise FileRejection("invalid_file_format", f"{where} is missing its content.")
    if role in {"system", "tool"} and _has_image(content):
        raise FileRejection("invalid_file_format", f"{where}: only user messages may contain images.")
    if role == "tool" and not message.get("tool_call_id"):
        raise FileRejection("invalid_file_format", f"{where}: a tool message needs tool_call_id.")
    if role == "function" and not message.get("name"):
        raise FileRejection("invalid_file_format", f"{where}: a function message needs a name.")
    found = _SPECIAL.search(_text_of(content))
    if found:
        raise FileRejection(
            "invalid_file_format",
            f"Invalid file format. Example {number} message contains an invalid token: {found.group(0)}.",
        )


def _has_image(content: Any) -> bool:
    return isinstance(content, list) and any(isinstance(p, dict) and p.get("type") == "image_url" for p in content)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text") or "") for p in content if isinstance(p, dict))
    return ""
