"""Pydantic schemas of the training-line formats providers accept, and their errors as Problems.

These mirror OpenAI's published per-line schemas (chat SFT, DPO preference, legacy prompt/completion) as an
allow-list: unknown keys are errors, ``weight`` is 0 or 1, tool-call arguments are strings. Rules that need
more than the shape of one line (token limits, special-token strings, images per model) live in
``ftclient.dataset.rules``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

FUNCTION_NAME_PATTERN = r"^[a-zA-Z0-9_-]{1,64}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class TextPart(_Strict):
    type: Literal["text"]
    text: str


class ImageURL(_Strict):
    url: str
    detail: Literal["low", "high", "auto"] | None = None


class ImagePart(_Strict):
    type: Literal["image_url"]
    image_url: ImageURL


class RefusalPart(_Strict):
    type: Literal["refusal"]
    refusal: str


UserPart = Annotated[TextPart | ImagePart, Field(discriminator="type")]
AssistantPart = Annotated[TextPart | RefusalPart, Field(discriminator="type")]


class FunctionCall(_Strict):
    name: str
    arguments: str


class ToolCall(_Strict):
    id: str
    type: Literal["function"]
    function: FunctionCall


class SystemMessage(_Strict):
    role: Literal["system"]
    content: str | list[TextPart]
    name: str | None = None


class UserMessage(_Strict):
    role: Literal["user"]
    content: str | list[UserPart]
    name: str | None = None


class AssistantMessage(_Strict):
    role: Literal["assistant"]
    content: str | list[AssistantPart] | None = None
    name: str | None = None
    refusal: str | None = None
    tool_calls: list[ToolCall] | None = None
    function_call: FunctionCall | None = None
    weight: Annotated[int, Field(ge=0, le=1)] | None = None


class ToolMessage(_Strict):
    role: Literal["tool"]
    content: str | list[TextPart]
    tool_call_id: str


class FunctionMessage(_Strict):
    role: Literal["function"]
    content: str | None
    name: str


Message = Annotated[
    SystemMessage | UserMessage | AssistantMessage | ToolMessage | FunctionMessage,
    Field(discriminator="role"),
]


class FunctionDefinition(_Strict):
    name: Annotated[str, Field(pattern=FUNCTION_NAME_PATTERN)]
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(_Strict):
    type: Literal["function"]
    function: FunctionDefinition


class ChatExample(_Strict):
    """One supervised fine-tuning line: ``{"messages": [...], "tools"?, "parallel_tool_calls"?, "functions"?}``."""

    messages: Annotated[list[Message], Field(min_length=1)]
    tools: list[Tool] | None = None
    parallel_tool_calls: bool | None = None
    functions: Annotated[list[FunctionDefinition], Field(min_length=1, max_length=128)] | None = None


class PreferenceInput(_Strict):
    messages: Annotated[list[Message], Field(min_length=1)]
    tools: list[Tool] | None = None
    parallel_tool_calls: bool | None = None


class PreferenceExample(_Strict):
    """One DPO line: a prompt conversation and one preferred and one rejected assistant reply."""

    input: PreferenceInput
    preferred_output: Annotated[list[AssistantMessage], Field(min_length=1, max_length=1)]
    non_preferred_output: Annotated[list[AssistantMessage], Field(min_length=1, max_length=1)]


class CompletionExample(_Strict):
    """One legacy line for babbage-002/davinci-002: ``{"prompt": "...", "completion": "..."}``."""

    prompt: str
    completion: str


class TextExample(_Strict):
    """Together's plain-text pretraining line: ``{"text": "..."}``."""

    text: str


FORMAT_MODELS: dict[str, type[BaseModel]] = {
    "chat": ChatExample,
    "preference": PreferenceExample,
    "completion": CompletionExample,
    "text": TextExample,
}

FORMAT_KEYS: dict[str, frozenset[str]] = {
    "chat": frozenset({"messages"}),
    "preference": frozenset({"input", "preferred_output", "non_preferred_output"}),
    "completion": frozenset({"prompt", "completion"}),
    "text": frozenset({"text"}),
}


# --- pydantic errors -> (path, message, hint) -------------------------------------------------------

_ROLES = "system, user, assistant, tool or function"


def json_path(loc: tuple[int | str, ...], data: Any) -> str:
    """A pydantic error location as a JSON path into ``data`` (union and tag names dropped)."""
    parts: list[str] = []
    current = data
    for position, item in enumerate(loc):
        if isinstance(item, int) and isinstance(current, list) and 0 <= item < len(current):
            parts.append(f"[{item}]")
            current = current[item]
        elif isinstance(item, str) and isinstance(current, dict) and item in current:
            parts.append(("." if parts else "") + item)
            current = current[item]
        elif position == len(loc) - 1 and isinstance(item, str) and isinstance(current, dict) and _is_field_name(item):
            # a missing required key: name it, then stop
            parts.append(("." if parts else "") + item)
            break
    return "".join(parts)


def _is_field_name(name: str) -> bool:
    return (
        name.isidentifier()
        and name not in {"str", "list", "none", "int", "bool", "dict"}
        and not name.startswith(("list[", "function-"))
    )


def _value_at(data: Any, path: str) -> Any:
    import re

    current = data
    for key, index in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]", path):
        if key and isinstance(current, dict):
            current = current.get(key)
        elif index and isinstance(current, list) and int(index) < len(current):
            current = current[int(index)]
        else:
            return None
    return current


_JSON_TYPE_NAMES = {
    # pydantic's error types and Python's type names, in the words of JSON
    "model_attributes": "object",
    "model": "object",
    "dict": "object",
    "list": "array",
    "string": "string",
    "str": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "NoneType": "null",
}


def _json_type(value: Any) -> str:
    return _JSON_TYPE_NAMES.get(type(value).__name__, type(value).__name__)


def _got(value: Any) -> str:
    """What was found instead, for a message: 'null', 'a string', 'an array'."""
    name = _json_type(value)
    return name if value is None else f"{_article(name)} {name}"


def _article(noun: str) -> str:
    return "an" if noun[:1] in "aeiou" else "a"


def explain(error_type: str, path: str, data: Any, ctx: dict[str, Any] | None) -> tuple[str, str, str]:
    """A problem code, a readable message and a fix for one schema error at ``path``."""
    leaf = path.rsplit(".", 1)[-1].split("[", 1)[0] if path else ""
    value = _value_at(data, path)
    shown = _short(value)
    if error_type == "extra_forbidden":
        return ("unknown-key", f"unknown key {leaf!r}", f"remove {leaf!r}; the provider rejects keys it does not know")
    if error_type == "missing":
        return ("missing-key", f"required key {leaf!r} is missing", f"add {leaf!r}")
    if error_type in {"union_tag_not_found", "union_tag_invalid"}:
        if leaf in {"messages", "preferred_output", "non_preferred_output"} or path.endswith("]"):
            if isinstance(value, dict) and "role" not in value:
                return ("missing-key", "message has no 'role'", f"add a role ({_ROLES})")
            return (
                "unknown-role",
                f"unknown role {_short(value.get('role') if isinstance(value, dict) else value)}",
                f"use one of {_ROLES}",
            )
        return (
            "unknown-part-type",
            f"unknown content part type {shown}",
            "use parts of type 'text' (and 'image_url' in user messages)",
        )
    if leaf == "weight" or path.endswith(".weight"):
        return (
            "invalid-weight",
            f"weight must be 0 or 1, got {shown}",
            "use 0 (do not train on this message) or 1 (train on it)",
        )
    if leaf == "arguments":
        return (
            "tool-arguments-not-string",
            f"tool call arguments must be a JSON string, got {_got(value)}",
            "serialize the arguments object: json.dumps(arguments)",
        )
    if leaf == "content":
        return (
            "invalid-content",
            f"content must be a string or a list of content parts, got {_got(value)}",
            "write the message text as a string",
        )
    if leaf == "role" or error_type == "literal_error":
        expected = (ctx or {}).get("expected", "")
        return ("invalid-value", f"{leaf or 'value'} is {shown}; expected {expected}".strip(), f"use {expected}")
    if error_type == "string_pattern_mismatch" and leaf == "name":
        return (
            "invalid-function-name",
            f"function name {shown} is invalid",
            "use 1-64 characters from a-z, A-Z, 0-9, _ and -",
        )
    if error_type in {"too_short", "too_long"}:
        if leaf in {"preferred_output", "non_preferred_output"}:
            return (
                "wrong-length",
                f"{leaf} must hold exactly one assistant message",
                f"put one assistant message in {leaf}",
            )
        if error_type == "too_short" and value == []:
            return ("wrong-length", f"{leaf or 'the list'} is empty", f"put at least one item in {leaf or 'the list'}")
        return (
            "wrong-length",
            f"{leaf or 'list'} has the wrong number of items",
            f"check the length of {leaf or 'the list'}",
        )
    if error_type.endswith("_type"):
        pydantic_name = error_type.removesuffix("_type")
        wanted = _JSON_TYPE_NAMES.get(pydantic_name, pydantic_name.replace("_", " "))
        item = path.rsplit(".", 1)[-1] or "the line"
        return (
            "wrong-type",
            f"{item} must be {_article(wanted)} {wanted}, got {_got(value)}",
            f"make {item} {_article(wanted)} {wanted}",
        )
    return (
        "invalid-value",
        f"{leaf or 'line'}: invalid value {shown}",
        "see docs/data-formats.md for the accepted shape",
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


_PART_RE = __import__("re").compile(r"^(.*\.content\[\d+\])")

_PARTS_ALLOWED = {
    "user": "'text' and 'image_url'",
    "assistant": "'text' and 'refusal'",
    "system": "'text'",
    "tool": "'text'",
}


def _part_problem(part_path: str, data: Any) -> tuple[str, str, str, str]:
    """One message for everything wrong inside a single content part."""
    part = _value_at(data, part_path)
    message = _value_at(data, part_path.rsplit(".content", 1)[0])
    role = message.get("role") if isinstance(message, dict) else None
    kind = part.get("type") if isinstance(part, dict) else None
    allowed = _PARTS_ALLOWED.get(str(role), "'text'")
    if kind == "image_url" and role != "user":
        return (
            "images-not-allowed",
            part_path,
            f"images are not allowed in {role} messages",
            "put images in user messages only",
        )
    if kind not in {"text", "image_url", "refusal"}:
        return (
            "unknown-part-type",
            part_path,
            f"unknown content part type {_short(kind)}",
            f"{role} messages take parts of type {allowed}",
        )
    if kind == "refusal" and role != "assistant":
        return (
            "invalid-part",
            part_path,
            f"a refusal part is not allowed in {role} messages",
            f"use parts of type {allowed}",
        )
    return (
        "malformed-part",
        part_path,
        f"malformed {kind} part",
        'write it as {"type": "text", "text": "..."} or {"type": "image_url", "image_url": {"url": "..."}}',
    )


def schema_errors(model: type[BaseModel], data: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """Validate ``data`` against ``model``; every error as (code, json path, message, hint), one per path."""
    try:
        model.model_validate(data)
    except ValidationError as exc:
        out: dict[str, tuple[str, str, str, str]] = {}
        raw = [(json_path(tuple(e["loc"]), data), e) for e in exc.errors(include_url=False)]
        part_paths = {m.group(1) for path, _ in raw if (m := _PART_RE.match(path))}
        list_with_part_errors = {p.rsplit("[", 1)[0] for p in part_paths}
        for path, error in raw:
            part = _PART_RE.match(path)
            if part:
                key = part.group(1)
                if key not in out:
                    out[key] = _part_problem(key, data)
                continue
            if path in out or path in list_with_part_errors:
                continue
            code, message, hint = explain(error["type"], path, data, error.get("ctx"))
            out[path] = (code, path, message, hint)
        return list(out.values())
    return []
