"""Provider rules for one training line, on top of the schemas: what the provider would reject or warns on.

A rule set checks one parsed line and returns its problems plus the texts whose tokens it bills, so the
caller can count tokens for many lines at once. Rules that need token counts (the per-example limit) or
the whole file (minimum example count, mixed formats, duplicates) are applied by ``validate``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from itertools import chain
from operator import itemgetter
from typing import Any

from ftclient.dataset.rule_base import (
    FORMAT_METHOD,
    IMAGE_URL_RE,
    MAX_IMAGES_PER_EXAMPLE,
    SPECIAL_RE,
    LineResult,
    RuleContext,
    detect_format,
    problem,
    strings_of,
)
from ftclient.errors import Problem
from ftclient.tokens import (
    REPLY_PRIMING,
    TOKENS_PER_MESSAGE,
    TOKENS_PER_NAME,
    assistant_pieces,
    chat_pieces,
    content_text,
)

__all__ = ["FORMAT_METHOD", "LineResult", "RuleContext", "RuleSet", "problem", "rules_for"]

_PLAIN_MESSAGE_KEYS = frozenset({"role", "content", "name", "weight"})
_PLAIN_ROLES = frozenset({"system", "user", "assistant"})
_role_and_content = itemgetter("role", "content")


class RuleSet:
    """OpenAI's rules. Subclasses change what other providers accept differently."""

    provider = "openai"
    formats: frozenset[str] = frozenset({"chat", "preference", "completion"})
    min_examples = 10
    """OpenAI: "Training file has 7 example(s), but must have at least 10 examples" (invalid_n_examples)."""
    max_file_bytes = 8 * 1024**3
    """OpenAI's Uploads API takes files up to 8 GB (platform.openai.com/docs/api-reference/uploads)."""
    max_examples: int | None = None
    fast_path = True
    """Plain chat lines take ``plain_chat``: the same checks without a pydantic pass."""

    def check(self, record: Any, line: int, ctx: RuleContext) -> LineResult:
        if not isinstance(record, dict):
            result = LineResult(line, None)
            result.problems.append(
                problem(
                    ctx,
                    line,
                    "not-an-object",
                    f"the line is a JSON {type(record).__name__}, not an object",
                    'write each example as one JSON object, e.g. {"messages": [...]}',
                )
            )
            return result
        fmt = detect_format(record)
        result = LineResult(line, fmt)
        if fmt is None or fmt not in self.formats:
            keys = ", ".join(sorted(record)) or "none"
            result.problems.append(
                problem(
                    ctx,
                    line,
                    "unknown-format",
                    f"the line is not a training example this provider accepts (keys: {keys})",
                    self.format_hint(),
                )
            )
            return result
        if fmt == "chat" and self.fast_path and not ctx.completion_only:
            plain = self.plain_chat(record, line, ctx)
            if plain is not None:
                return plain
        # The pydantic models load on the first line that needs them: plain chat files never do.
        from ftclient.dataset.schemas import FORMAT_MODELS, schema_errors

        for code, path, message, hint in schema_errors(FORMAT_MODELS[fmt], record):
            result.problems.append(problem(ctx, line, code, message, hint, path=path))
        getattr(self, f"_check_{fmt}")(record, result, ctx)
        return result

    def format_hint(self) -> str:
        return (
            'use {"messages": [...]} for chat, {"input", "preferred_output", "non_preferred_output"} for DPO, '
            'or {"prompt", "completion"} for babbage-002/davinci-002'
        )

    # --- chat ------------------------------------------------------------------------------------------

    def plain_chat(self, record: Any, line: int, ctx: RuleContext) -> LineResult | None:
        """All chat rules for a plain chat line in one pass; None for any other line.

        A plain line is ``{"messages": [...]}`` whose messages have a system, user or assistant role, string
        content, and at most a string ``name`` and a 0/1 ``weight`` (on assistant messages). Most training
        files hold nothing else, and this path gives them the checks of the schema pass in a fraction of its
        time. Values it accepts hold only strings and small integers, which is what lets the scan parse
        lines with orjson first. None means the line needs ``check``.
        """
        if type(record) is not dict or len(record) != 1:
            return None
        messages = record.get("messages")
        if type(messages) is not list or not messages:
            return None
        result = LineResult(line, "chat")
        pieces: list[str] = []
        assistant: list[str] = []
        overhead = REPLY_PRIMING
        trainable = has_system = False
        for index, message in enumerate(messages):
            if type(message) is not dict:
                return None
            role = message.get("role")
            content = message.get("content")
            if type(content) is not str or type(role) is not str or role not in _PLAIN_ROLES:
                return None
            name = ""
            weight = 1
            if len(message) != 2:
                if not _PLAIN_MESSAGE_KEYS.issuperset(message):
                    return None
                name = message.get("name", "")
                if type(name) is not str:
                    return None
                if "weight" in message:
                    weight = message["weight"]
                    if type(weight) is not int or weight not in (0, 1) or role != "assistant":
                        return None
            overhead += TOKENS_PER_MESSAGE
            pieces.append(role)
            if content:
                pieces.append(content)
                if "<|" in content:
                    self._special(content, f"messages[{index}].content", result, ctx)
            if not content or content.isspace():
                result.problems.append(_empty(ctx, line, role, content, f"messages[{index}].content"))
            if name:
                pieces.append(name)
                overhead += TOKENS_PER_NAME
                if "<|" in name:
                    self._special(name, f"messages[{index}].name", result, ctx)
            if role == "assistant":
                if weight:
                    trainable = True
                    if content:
                        assistant.append(content)
            elif role == "system":
                has_system = True
        self._trainable_rules(messages, trainable, result, ctx)
        result.sequences.append((overhead, pieces))
        result.assistant = assistant
        result.has_system = has_system
        result.dedup = tuple(chain.from_iterable(map(_role_and_content, messages)))
        return result

    def _special(self, text: str, path: str, result: LineResult, ctx: RuleContext) -> None:
        found = SPECIAL_RE.search(text)
        if found:
            result.problems.append(
                problem(
                    ctx,
                    result.line,
                    "special-token",
                    f"contains the special-token string {found.group(0)!r}, which fails the training job",
                    f"remove or rewrite {found.group(0)!r} (e.g. '< |' with a space)",
                    path=path,
                )
            )

    def _trainable_rules(self, messages: list[Any], trainable: bool, result: LineResult, ctx: RuleContext) -> None:
        line = result.line
        if not trainable:
            result.problems.append(
                problem(
                    ctx,
                    line,
                    "no-trainable-assistant",
                    "no assistant message to train on (none present, or all have weight 0)",
                    "add the assistant reply the model should learn, or set its weight to 1",
                    path="messages",
                )
            )
        elif isinstance(messages[-1], dict) and messages[-1].get("role") != "assistant":
            result.problems.append(
                problem(
                    ctx,
                    line,
                    "ends-without-assistant",
                    f"the example ends with a {messages[-1].get('role')} message, which is never trained on",
                    "end each example with the assistant reply",
                    path=f"messages[{len(messages) - 1}]",
                    warning=True,
                )
            )

    def _check_chat(self, record: dict[str, Any], result: LineResult, ctx: RuleContext) -> None:
        messages = record.get("messages")
        if not isinstance(messages, list):
            return
        line = result.line
        if ctx.completion_only:
            result.problems.append(
                problem(
                    ctx,
                    line,
                    "format-not-supported",
                    f"{ctx.model} trains on prompt/completion lines, not chat messages",
                    "pick a chat model with --model (e.g. gpt-4.1-mini-2025-04-14) or write prompt/completion lines",
                )
            )
        self._check_messages(messages, "messages", result, ctx, preference=False)
        trainable = any(isinstance(m, dict) and m.get("role") == "assistant" and m.get("weight") != 0 for m in messages)
        self._trainable_rules(messages, trainable, result, ctx)
        tools = record.get("tools") if isinstance(record.get("tools"), list) else None
        functions = record.get("functions") if isinstance(record.get("functions"), list) else None
        result.sequences.append(chat_pieces(messages, ctx.encoding_name, tools, functions))
        result.assistant = assistant_pieces(messages)
        result.has_system = any(isinstance(m, dict) and m.get("role") == "system" for m in messages)
        result.dedup = tuple(
            text
            for m in messages
            if isinstance(m, dict)
            for text in (str(m.get("role")), content_text(m.get("content")))
        )

    def _check_messages(
        self, messages: list[Any], base: str, result: LineResult, ctx: RuleContext, *, preference: bool
    ) -> None:
        line = result.line
        images = 0
        call_ids: set[str] = set()
        for index, message in enumerate(messages):
            if not isinstance(message, dict):
                continue
            path = f"{base}[{index}]"
            role = message.get("role")
            content = message.get("content")
            for text_path, text in strings_of(message, path):
                if "<|" in text:
                    self._special(text, text_path, result, ctx)
            calls = message.get("tool_calls")
            has_call = bool(calls) or bool(message.get("function_call"))
            if isinstance(content, str) and not content.strip() and not (role == "assistant" and has_call):
                result.problems.append(_empty(ctx, line, role, content, f"{path}.content"))
            elif role == "assistant" and content is None and not has_call and message.get("refusal") is None:
                result.problems.append(
                    problem(
                        ctx,
                        line,
                        "empty-content",
                        "the assistant message has neither content nor tool calls",
                        "add the reply text (content) or the tool_calls",
                        path=path,
                    )
                )
            if isinstance(calls, list):
                for call_index, call in enumerate(calls):
                    self._check_call(call, f"{path}.tool_calls[{call_index}]", result, ctx, call_ids)
            function_call = message.get("function_call")
            if isinstance(function_call, dict):
                self._check_call({"function": function_call}, f"{path}.function_call", result, ctx, set())
            tool_call_id = message.get("tool_call_id")
            if role == "tool" and isinstance(tool_call_id, str) and tool_call_id not in call_ids:
                result.problems.append(
                    problem(
                        ctx,
                        line,
                        "tool-call-id-unknown",
                        f"tool_call_id {message['tool_call_id']!r} matches no earlier assistant tool call",
                        "use the id of the tool call this message answers",
                        path=f"{path}.tool_call_id",
                        warning=True,
                    )
                )
            if isinstance(content, list):
                for part_index, part in enumerate(content):
                    if isinstance(part, dict) and part.get("type") == "image_url":
                        images += 1
                        self._check_image(
                            part, f"{path}.content[{part_index}]", role, result, ctx, preference=preference
                        )
        if images > MAX_IMAGES_PER_EXAMPLE:
            result.problems.append(
                problem(
                    ctx,
                    line,
                    "too-many-images",
                    f"{images} images in one example; at most {MAX_IMAGES_PER_EXAMPLE} are allowed",
                    "split the example or drop images",
                    path=base,
                )
            )

    def _check_call(self, call: Any, path: str, result: LineResult, ctx: RuleContext, call_ids: set[str]) -> None:
        if not isinstance(call, dict):
            return
        if isinstance(call.get("id"), str):
            call_ids.add(call["id"])
        function = call.get("function")
        arguments = function.get("arguments") if isinstance(function, dict) else None
        if isinstance(arguments, str):
            try:
                json.loads(arguments)
            except RecursionError:
                result.problems.append(
                    problem(
                        ctx,
                        result.line,
                        "tool-arguments-too-deep",
                        "the arguments string nests so deeply that it cannot be checked",
                        "flatten the arguments: a few levels of objects and lists are plenty",
                        path=f"{path}.function.arguments" if "tool_calls" in path else f"{path}.arguments",
                        warning=True,
                    )
                )
            except ValueError as exc:  # not JSON, or an integer of more than 4,300 digits (sys.int_info)
                detail = (
                    f"{exc.msg} at character {exc.pos}"
                    if isinstance(exc, json.JSONDecodeError)
                    else "a number of more than 4,300 digits"
                )
                result.problems.append(
                    problem(
                        ctx,
                        result.line,
                        "tool-arguments-not-json",
                        f"the arguments string is not valid JSON ({detail})",
                        'write the arguments as a JSON object serialized to a string, e.g. "{\\"city\\": \\"Paris\\"}"',
                        path=f"{path}.function.arguments" if "tool_calls" in path else f"{path}.arguments",
                    )
                )

    def _check_image(
        self, part: dict[str, Any], path: str, role: Any, result: LineResult, ctx: RuleContext, *, preference: bool
    ) -> None:
        line = result.line
        if preference:
            result.problems.append(
                problem(
                    ctx, line, "images-not-supported", "DPO examples may hold text only", "remove the image", path=path
                )
            )
            return
        if role == "user" and not ctx.vision:
            result.problems.append(
                problem(
                    ctx,
                    line,
                    "images-not-supported",
                    f"{ctx.model} cannot be fine-tuned on images",
                    "use a vision-capable model (gpt-4o-2024-08-06) or remove the image",
                    path=path,
                )
            )
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else None
        if isinstance(url, str) and not IMAGE_URL_RE.match(url):
            result.problems.append(
                problem(
                    ctx,
                    line,
                    "image-url",
                    "the image URL must be https:// or a data:image/jpeg|png|webp;base64 URL",
                    "host the image over https or embed it as a base64 data URL",
                    path=f"{path}.image_url.url",
                )
            )

    # --- preference (DPO) ------------------------------------------------------------------------------

    def _check_preference(self, record: dict[str, Any], result: LineResult, ctx: RuleContext) -> None:
        line = result.line
        if ctx.method not in (None, "dpo") or ctx.completion_only:
            result.problems.append(
                problem(
                    ctx,
                    line,
                    "format-not-supported",
                    f"a DPO preference line, but the target is {ctx.model} with method {ctx.method or 'supervised'}",
                    "use --method dpo with a model that supports DPO (gpt-4.1*, gpt-4o-2024-08-06)",
                )
            )
        input_ = record.get("input")
        messages = input_.get("messages") if isinstance(input_, dict) else None
        if not isinstance(messages, list):
            return
        self._check_messages(messages, "input.messages", result, ctx, preference=True)
        if messages and isinstance(messages[-1], dict) and messages[-1].get("role") == "assistant":
            result.problems.append(
                problem(
                    ctx,
                    line,
                    "preference-input-ends-with-assistant",
                    "the prompt ends with an assistant message; the compared replies must be the last turn",
                    "end input.messages with the user message the replies answer",
                    path=f"input.messages[{len(messages) - 1}]",
                )
            )
        tools = input_.get("tools") if isinstance(input_, dict) and isinstance(input_.get("tools"), list) else None
        for key in ("preferred_output", "non_preferred_output"):
            output = record.get(key)
            if isinstance(output, list):
                self._check_messages(output, key, result, ctx, preference=True)
                result.sequences.append(chat_pieces([*messages, *output], ctx.encoding_name, tools))
        preferred = record.get("preferred_output")
        rejected = record.get("non_preferred_output")
        if isinstance(preferred, list):
            result.assistant = assistant_pieces(preferred)
        if preferred and rejected and preferred == rejected:
            result.problems.append(
                problem(
                    ctx,
                    line,
                    "preference-identical",
                    "the preferred and the rejected reply are identical",
                    "make the rejected reply the worse answer, or drop the example",
                    path="non_preferred_output",
                )
            )
        result.has_system = any(isinstance(m, dict) and m.get("role") == "system" for m in messages)
        result.dedup = tuple(content_text(m.get("content")) for m in messages if isinstance(m, dict))

    # --- legacy prompt/completion ----------------------------------------------------------------------

    def _check_completion(self, record: dict[str, Any], result: LineResult, ctx: RuleContext) -> None:
        line = result.line
        if not ctx.completion_only:
            result.problems.append(
                problem(
                    ctx,
                    line,
                    "format-not-supported",
                    f"a prompt/completion line, but {ctx.model} trains on chat messages",
                    'convert it to {"messages": [{"role": "user", ...}, {"role": "assistant", ...}]} '
                    "(ftclient prepare does this) or target babbage-002/davinci-002",
                )
            )
        prompt, completion = record.get("prompt"), record.get("completion")
        texts = [t for t in (prompt, completion) if isinstance(t, str)]
        for key, text in (("prompt", prompt), ("completion", completion)):
            if isinstance(text, str):
                found = SPECIAL_RE.search(text)
                if found:
                    result.problems.append(
                        problem(
                            ctx,
                            line,
                            "special-token",
                            f"contains the special-token string {found.group(0)!r}, which fails the training job",
                            f"remove or rewrite {found.group(0)!r}",
                            path=key,
                        )
                    )
        if isinstance(completion, str) and not completion.strip():
            result.problems.append(
                problem(
                    ctx,
                    line,
                    "empty-content",
                    "the completion is empty",
                    "write the completion or drop the line",
                    path="completion",
                )
            )
        result.sequences.append((0, texts))
        result.assistant = [completion] if isinstance(completion, str) else []
        result.dedup = tuple(texts)
        result.has_system = True

    def _check_text(self, record: dict[str, Any], result: LineResult, ctx: RuleContext) -> None:
        text = record.get("text")
        result.sequences.append((0, [text] if isinstance(text, str) else []))
        result.assistant = [text] if isinstance(text, str) else []
        result.dedup = (text,) if isinstance(text, str) else ()


def _empty(ctx: RuleContext, line: int, role: Any, content: str, path: str) -> Problem:
    return problem(
        ctx,
        line,
        "empty-content",
        f"the {role} message is empty" + (" (whitespace only)" if content else ""),
        "write the message text, or drop the example",
        path=path,
    )


def rules_for(provider: str) -> RuleSet:
    """The rule set of ``provider``; raises UnknownProviderError."""
    from ftclient.dataset.rules_azure import AzureRuleSet
    from ftclient.dataset.rules_bedrock import BedrockRuleSet
    from ftclient.dataset.rules_fireworks import FireworksRuleSet
    from ftclient.dataset.rules_together import TogetherRuleSet
    from ftclient.dataset.rules_vertex import VertexRuleSet
    from ftclient.errors import UnknownProviderError

    factories: dict[str, Callable[[], RuleSet]] = {
        "openai": RuleSet,
        "together": TogetherRuleSet,
        "fireworks": FireworksRuleSet,
        "azure": AzureRuleSet,
        "bedrock": BedrockRuleSet,
        "vertex": VertexRuleSet,
    }
    factory = factories.get(provider)
    if factory is None:
        from ftclient.providers import available

        if provider not in available():
            raise UnknownProviderError(provider, sorted(available()))
        factory = RuleSet  # a provider added by another package: the chat format's own rules, nothing of its own
    return factory()
