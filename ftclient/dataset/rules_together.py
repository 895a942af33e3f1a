"""Together AI's dataset rules: what Together's own file check (``together.utils.check_file``) rejects.

Source: together 1.6.0, ``src/together/utils/files.py`` and ``src/together/constants.py`` (PyPI, 2025), the
last SDK release that runs the semantic checks on the user's machine; docs.together.ai
/docs/fine-tuning-data-preparation (read 2026). The tests run every fixture and every dataset ``prepare
--provider together`` writes through that very function and require agreement:

- whatever it rejects is an error here too, on the same line;
- whatever it accepts is not an error here, unless the rule is a documented server-side rule (none at the
  moment). Where the OpenAI rules are stricter (empty messages, special-token strings, identical DPO
  replies, keys inside a message, an assistant turn first, every assistant message weighted 0), Together's
  check passes the line, so ftclient only warns.

Rules of that check (1.6.0): one format per file (``text`` | ``messages`` | ``prompt``+``completion`` |
``input``+``preferred_output``+``non_preferred_output``) and no other top-level key; every message has
``role`` (system, user or assistant; never twice in a row) and ``content`` (a string or a list of ``text``
and ``image_url`` parts, never both kinds in one conversation); at least one assistant message; images only
in user messages, as base64 ``data:image/jpeg|png|webp`` URLs, at most 10 per example, never on a weighted
message; ``weight`` an int 0 or 1; at least one example; at most 50.1 GiB.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from ftclient.dataset.rules import LineResult, RuleContext, RuleSet, problem
from ftclient.errors import Problem

MAX_FILE_BYTES = int(50.1 * 2**30)
"""together 1.6.0 ``constants.MAX_FILE_SIZE_GB = 50.1`` (GiB); the 2026 docs say 100 GB, the SDK refuses more."""

_ROLES = ("system", "user", "assistant")
"""together 1.6.0 ``constants.POSSIBLE_ROLES_CONVERSATION`` (the 2.x SDK adds ``tool``)."""
_DATA_IMAGE_RE = re.compile(r"^data:image/(jpeg|png|webp);base64,")
_NESTED_PATH_RE = re.compile(r"^(messages\[\d+\]|input\.messages\[\d+\]|input|(non_)?preferred_output\[\d+\])\.")

# Problems of the OpenAI rules that together 1.6.0's check_file passes: warnings here, with why.
_ONLY_WARN = {
    "empty-content": "Together accepts empty messages (together 1.6.0 check_file), but they teach nothing",
    "special-token": "Together's check does not look for special-token strings; the model's tokenizer may",
    "preference-identical": "Together accepts it (together 1.6.0 check_file), but the pair teaches nothing",
    "conversation-start": "the data-preparation docs ask for system or user first; check_file accepts it",
}


class TogetherRuleSet(RuleSet):
    """Together's file rules (see the module docstring for their source)."""

    provider = "together"
    formats = frozenset({"chat", "preference", "completion", "text"})
    min_examples = 1
    """together 1.6.0 ``constants.MIN_SAMPLES = 1``."""
    max_file_bytes = MAX_FILE_BYTES

    def format_hint(self) -> str:
        return (
            'use {"messages": [...]}, {"prompt", "completion"}, {"text"} or '
            '{"input", "preferred_output", "non_preferred_output"}'
        )

    def check(self, record: Any, line: int, ctx: RuleContext) -> LineResult:
        result = super().check(record, line, ctx)
        if isinstance(record, dict):
            self._as_together(record, result, ctx)
        return result

    def plain_chat(self, record: Any, line: int, ctx: RuleContext) -> LineResult | None:
        result = super().plain_chat(record, line, ctx)
        if result is not None:
            self._role_order(record["messages"], result, ctx)
            self._as_together(record, result, ctx)
        return result

    def _check_chat(self, record: dict[str, Any], result: LineResult, ctx: RuleContext) -> None:
        super()._check_chat(record, result, ctx)
        for key in record:
            if key != "messages":
                # check_file: 'Found extra column "tools" in the line N' (1.6.0 knows no tools column)
                result.problems.append(
                    problem(
                        ctx,
                        result.line,
                        "unknown-key",
                        f"Together takes only 'messages' on a conversation line, not {key!r}",
                        f"remove {key!r} (Together's file check rejects every extra column)",
                        path=key,
                    )
                )
        messages = record.get("messages")
        if isinstance(messages, list):
            self._role_order(messages, result, ctx)
            self._messages(messages, "messages", result, ctx)

    def _check_preference(self, record: dict[str, Any], result: LineResult, ctx: RuleContext) -> None:
        super()._check_preference(record, result, ctx)
        input_ = record.get("input")
        messages = input_.get("messages") if isinstance(input_, dict) else None
        if isinstance(messages, list):
            self._role_order(messages, result, ctx, base="input.messages")
            self._messages(messages, "input.messages", result, ctx)

    def _check_completion(self, record: dict[str, Any], result: LineResult, ctx: RuleContext) -> None:
        super()._check_completion(record, result, replace(ctx, completion_only=True))

    # -- Together-only checks ---------------------------------------------------------------------

    def _role_order(self, messages: list[Any], result: LineResult, ctx: RuleContext, base: str = "messages") -> None:
        """Never the same role twice in a row (check_file: "conversation roles must alternate"). The docs
        also ask for a system or user message first; check_file accepts an assistant first, so: a warning."""
        roles = [m.get("role") for m in messages if isinstance(m, dict)]
        if roles and roles[0] not in ("system", "user"):
            result.problems.append(
                problem(
                    ctx,
                    result.line,
                    "conversation-start",
                    f"the conversation starts with {roles[0]!r}",
                    "start with a system or user message (docs.together.ai data preparation)",
                    path=f"{base}[0]",
                    warning=True,
                )
            )
        for index in range(1, len(roles)):
            if roles[index] == roles[index - 1]:
                result.problems.append(
                    problem(
                        ctx,
                        result.line,
                        "roles-not-alternating",
                        f"two {roles[index]} messages in a row",
                        "merge them into one message; Together requires alternating roles",
                        path=f"{base}[{index}]",
                    )
                )
                break

    def _messages(self, messages: list[Any], base: str, result: LineResult, ctx: RuleContext) -> None:
        """Roles, content types and images as check_file's ``validate_messages`` sees them."""
        kinds: set[bool] = set()
        for index, message in enumerate(messages):
            if not isinstance(message, dict):
                continue
            path = f"{base}[{index}]"
            role, content = message.get("role"), message.get("content")
            if isinstance(role, str) and role not in _ROLES:
                result.problems.append(
                    problem(
                        ctx,
                        result.line,
                        "unknown-role",
                        f"role {role!r}; Together's conversations know system, user and assistant",
                        "fold tool results into the user turn, or drop the example",
                        path=f"{path}.role",
                    )
                )
            if "content" not in message or not isinstance(content, str | list):
                result.problems.append(
                    problem(
                        ctx,
                        result.line,
                        "content-required",
                        "every message needs a content string (or a list of text/image parts)",
                        "write the message text; tool calls without text are not accepted by Together",
                        path=f"{path}.content",
                    )
                )
                continue
            kinds.add(isinstance(content, list))
            if isinstance(content, list):
                self._parts(content, message, f"{path}.content", result, ctx)
        if len(kinds) > 1:
            result.problems.append(
                problem(
                    ctx,
                    result.line,
                    "mixed-content-kinds",
                    "some messages hold a content string and others a list of parts",
                    "write every message of the example the same way (all strings, or all part lists)",
                    path=base,
                )
            )

    def _parts(
        self, parts: list[Any], message: dict[str, Any], path: str, result: LineResult, ctx: RuleContext
    ) -> None:
        for index, part in enumerate(parts):
            if not isinstance(part, dict) or part.get("type") != "image_url":
                continue
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else None
            if isinstance(url, str) and not _DATA_IMAGE_RE.match(url):
                result.problems.append(
                    problem(
                        ctx,
                        result.line,
                        "image-url",
                        "Together takes images only as base64 data URLs (jpeg, png or webp)",
                        "embed the image as data:image/png;base64,...",
                        path=f"{path}[{index}].image_url.url",
                    )
                )
            if message.get("weight") not in (None, 0):
                result.problems.append(
                    problem(
                        ctx,
                        result.line,
                        "image-weighted",
                        "a message with an image cannot have a non-zero weight",
                        "drop the weight, or set it to 0",
                        path=f"{path}[{index}]",
                    )
                )

    def _as_together(self, record: dict[str, Any], result: LineResult, ctx: RuleContext) -> None:
        """Turn the OpenAI rules that check_file does not apply into warnings (see the module docstring)."""
        has_assistant = _has_assistant(record)
        kept: list[Problem] = []
        seen: set[tuple[str, str | None]] = set()
        for found in result.problems:
            if (found.code, found.path) in seen:
                continue  # the same key or role, reported by the shared rules and by Together's
            seen.add((found.code, found.path))
            why = _only_warning(found, record, has_assistant)
            if why is not None and found.severity == "error":
                kept.append(replace(found, severity="warning", hint=f"{found.hint} ({why})"))
            else:
                kept.append(found)
        result.problems[:] = kept


def _only_warning(found: Problem, record: dict[str, Any], has_assistant: bool) -> str | None:
    """Why ``found`` is only a warning on Together, or None when check_file rejects the line too."""
    if found.code in _ONLY_WARN:
        return _ONLY_WARN[found.code]
    if found.code == "no-trainable-assistant" and has_assistant:
        return "check_file asks only for an assistant message; with every weight 0 nothing is learnt"
    if found.code == "unknown-key" and found.path and _NESTED_PATH_RE.match(found.path):
        return "check_file does not look at keys inside a message; Together ignores them"
    if found.code == "invalid-weight" and found.path and isinstance(_at(record, found.path), bool):
        return "check_file takes true/false as 1/0; write 0 or 1"
    return None


def _has_assistant(record: dict[str, Any]) -> bool:
    messages = record.get("messages")
    return isinstance(messages, list) and any(isinstance(m, dict) and m.get("role") == "assistant" for m in messages)


def _at(record: dict[str, Any], path: str) -> Any:
    """The value at a JSON path like ``messages[1].weight`` (None when absent)."""
    value: Any = record
    for name, index in re.findall(r"([A-Za-z_]+)|\[(\d+)\]", path):
        try:
            value = value[name] if name else value[int(index)]
        except (KeyError, IndexError, TypeError):
            return None
    return value
