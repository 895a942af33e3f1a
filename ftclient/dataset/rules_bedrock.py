"""AWS Bedrock's dataset rules for Amazon Nova fine-tuning: for canonical chat lines (which ``launch`` converts)
and for lines already written in ``bedrock-conversation-2024``, so ``ftclient validate --provider bedrock``
checks either.

Sources (each rule below names its own):
- [NOVA-DATA] docs.aws.amazon.com/nova/latest/userguide/fine-tune-prepare-data-understanding.html, read
  2026-12-03: JSONL, one record per line; ``schemaVersion`` "can be any string value"; ``system`` optional;
  "the supported roles are user and assistant"; the first turn in ``messages`` "should always start with
  role user", the last is the assistant's reply; "User:", "Bot:", "Assistant:", "System:", "<image>",
  "<video>" and "[EOS]" are reserved: a user or system prompt containing one fails the training job.
- [DISTILL] docs.aws.amazon.com/bedrock/latest/userguide/distillation-data-prep-option-1.html, read
  2026-12-03: each record includes the ``schemaVersion`` field.
- [CONVERSE] the bedrock-runtime service model (botocore 1.44.8, ``ConversationRole`` = user | assistant,
  ``ContentBlock`` holding ``text``): what a content block is.
- ASSUMPTION (not found in any stored source): at least 8 and at most 20,000 training records for Nova
  Micro/Lite, the quota figures of the "Model requirements for training and validation datasets" table as
  remembered; the per-example token limit in ``ftclient.pricing`` is an assumption too, and token counts for
  Nova are estimates (o200k_base stands in for Nova's unpublished tokenizer).
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from ftclient.dataset.rules import LineResult, RuleContext, RuleSet, problem
from ftclient.tokens import REPLY_PRIMING, TOKENS_PER_MESSAGE

RESERVED = ("User:", "Bot:", "Assistant:", "System:", "<image>", "<video>", "[EOS]")
"""[NOVA-DATA] reserved keywords: a user or system prompt containing one fails the job with a data error."""
_NATIVE_KEYS = frozenset({"schemaVersion", "system", "messages"})
_CANONICAL_ONLY = ("tool_calls", "function_call", "weight", "name", "tool_call_id")


def is_native(record: dict[str, Any]) -> bool:
    """True for a line written in Bedrock's schema: it names a ``schemaVersion`` or its first message holds a
    list of bare ``{"text"}`` blocks (the canonical chat format types its parts)."""
    if "schemaVersion" in record or isinstance(record.get("system"), list):
        return True
    messages = record.get("messages")
    first = messages[0] if isinstance(messages, list) and messages else None
    content = first.get("content") if isinstance(first, dict) else None
    return isinstance(content, list) and bool(content) and all(
        isinstance(block, dict) and "type" not in block for block in content
    )


class BedrockRuleSet(RuleSet):
    """Nova's conversation rules, checked on canonical chat lines and on native lines alike."""

    provider = "bedrock"
    formats = frozenset({"chat"})
    min_examples = 8  # ASSUMPTION, see the module docstring
    max_examples = 20_000  # ASSUMPTION, see the module docstring

    def format_hint(self) -> str:
        return (
            'use {"messages": [...]} (converted at launch) or Bedrock\'s own '
            '{"schemaVersion": "bedrock-conversation-2024", "system": [...], "messages": [...]}'
        )

    # -- canonical chat lines ----------------------------------------------------------------------

    def plain_chat(self, record: Any, line: int, ctx: RuleContext) -> LineResult | None:
        result = super().plain_chat(record, line, ctx)
        if result is not None:
            self._canonical(record["messages"], result, ctx)
        return result

    def check(self, record: Any, line: int, ctx: RuleContext) -> LineResult:
        if isinstance(record, dict) and is_native(record):
            return self._native(record, line, ctx)
        result = super().check(record, line, ctx)
        if isinstance(record, dict) and isinstance(record.get("messages"), list) and result.format == "chat":
            self._canonical(record["messages"], result, ctx)
            for key in ("tools", "functions"):
                if key in record:
                    result.problems.append(self._not_convertible(ctx, line, key, key))
        return result

    def _not_convertible(self, ctx: RuleContext, line: int, what: str, path: str) -> Any:
        return problem(
            ctx,
            line,
            "not-convertible",
            f"{what!r} has no equivalent in bedrock-conversation-2024 (roles and text only) [NOVA-DATA]",
            "drop it: Bedrock trains Nova on user and assistant text turns",
            path=path,
        )

    def _canonical(self, messages: list[Any], result: LineResult, ctx: RuleContext) -> None:
        """What would stop the conversion or make Bedrock fail the job, on a chat line."""
        line = result.line
        turns: list[tuple[int, str]] = []
        for index, message in enumerate(messages):
            if not isinstance(message, dict):
                continue
            path = f"messages[{index}]"
            role = message.get("role")
            for key in _CANONICAL_ONLY:
                if message.get(key) is not None:
                    result.problems.append(self._not_convertible(ctx, line, key, f"{path}.{key}"))
            content = message.get("content")
            if isinstance(content, list):
                for part_index, part in enumerate(content):
                    if isinstance(part, dict) and part.get("type") != "text":
                        result.problems.append(
                            self._not_convertible(ctx, line, str(part.get("type")), f"{path}.content[{part_index}]")
                        )
            if role == "system":
                if turns:
                    result.problems.append(
                        problem(
                            ctx, line, "system-not-first",
                            "a system message after the conversation started; Bedrock takes one system prompt, "
                            "before the messages [NOVA-DATA]",
                            "merge it into the system message at the start", path=path,
                        )
                    )
                self._reserved(_text_of(content), f"{path}.content", result, ctx)
                continue
            if role not in ("user", "assistant"):
                result.problems.append(
                    problem(
                        ctx, line, "role-not-supported",
                        f"the role {role!r}: Bedrock trains on user and assistant turns only [NOVA-DATA]",
                        "drop tool and function messages from the example", path=f"{path}.role",
                    )
                )
                continue
            if role == "user":
                self._reserved(_text_of(content), f"{path}.content", result, ctx)
            turns.append((index, role))
        self._order(turns, "messages", result, ctx)

    # -- native bedrock-conversation-2024 lines ----------------------------------------------------

    def _native(self, record: dict[str, Any], line: int, ctx: RuleContext) -> LineResult:
        result = LineResult(line, "chat")
        for key in sorted(set(record) - _NATIVE_KEYS):
            result.problems.append(
                problem(
                    ctx, line, "unknown-key",
                    f"the key {key!r} is not part of bedrock-conversation-2024 [NOVA-DATA]",
                    "keep schemaVersion, system and messages only", path=key,
                )
            )
        version = record.get("schemaVersion")
        if not isinstance(version, str):
            result.problems.append(
                problem(
                    ctx, line, "schema-version",
                    "schemaVersion is missing or not a string [DISTILL] [NOVA-DATA]",
                    'add "schemaVersion": "bedrock-conversation-2024"', path="schemaVersion",
                )
            )
        texts: list[str] = []
        system = record.get("system", [])
        system_texts = self._blocks(system, "system", result, ctx)
        for path, text in system_texts:
            self._reserved(text, path, result, ctx)
        texts += [text for _, text in system_texts]
        messages = record.get("messages")
        assistant: list[str] = []
        turns: list[tuple[int, str]] = []
        if not isinstance(messages, list) or not messages:
            result.problems.append(
                problem(ctx, line, "no-messages", "messages is missing or empty [NOVA-DATA]",
                        "add the user turn and the assistant reply", path="messages")
            )
            messages = []
        for index, message in enumerate(messages):
            path = f"messages[{index}]"
            if not isinstance(message, dict):
                result.problems.append(
                    problem(ctx, line, "invalid-message", "a message that is not an object [CONVERSE]",
                            'write {"role": ..., "content": [{"text": ...}]}', path=path)
                )
                continue
            for key in sorted(set(message) - {"role", "content"}):
                result.problems.append(
                    problem(ctx, line, "unknown-key", f"the message key {key!r} is not part of the schema [CONVERSE]",
                            "keep role and content only", path=f"{path}.{key}")
                )
            role = message.get("role")
            if role not in ("user", "assistant"):
                result.problems.append(
                    problem(ctx, line, "role-not-supported",
                            f"the role {role!r}: the supported roles are user and assistant [NOVA-DATA]",
                            "put the system prompt in the top-level system list; drop other roles",
                            path=f"{path}.role")
                )
                continue
            content = message.get("content")
            blocks = self._blocks(content, f"{path}.content", result, ctx)
            if content == []:
                result.problems.append(
                    problem(ctx, line, "empty-content", f"the {role} turn has no text [CONVERSE]",
                            'give it at least one {"text": ...} block', path=f"{path}.content")
                )
            for block_path, text in blocks:
                if role == "user":
                    self._reserved(text, block_path, result, ctx)
                texts.append(text)
                if role == "assistant":
                    assistant.append(text)
            turns.append((index, role))
        self._order(turns, "messages", result, ctx)
        # The same estimate as for the canonical line (o200k_base with OpenAI's per-message overhead), so a file
        # counts alike before and after conversion: an estimate either way, Nova's tokenizer being unpublished.
        roles = ["system"] if system_texts else []
        roles += [role for _, role in turns]
        overhead = REPLY_PRIMING + TOKENS_PER_MESSAGE * len(roles)
        result.sequences.append((overhead, [*roles, *texts]))
        result.assistant = assistant
        result.has_system = bool(system_texts)
        result.dedup = tuple(texts)
        return result

    def _blocks(self, blocks: Any, path: str, result: LineResult, ctx: RuleContext) -> list[tuple[str, str]]:
        """The texts of a list of ``{"text": ...}`` blocks, each checked; problems for anything else."""
        line = result.line
        if not isinstance(blocks, list):
            result.problems.append(
                problem(ctx, line, "invalid-content", f"{path} must be a list of {{\"text\": ...}} blocks [NOVA-DATA]",
                        f'write {path} as [{{"text": "..."}}]', path=path)
            )
            return []
        found: list[tuple[str, str]] = []
        for index, block in enumerate(blocks):
            block_path = f"{path}[{index}]"
            text = block.get("text") if isinstance(block, dict) else None
            if not isinstance(block, dict) or set(block) != {"text"} or not isinstance(text, str):
                kind = ", ".join(sorted(block)) if isinstance(block, dict) else type(block).__name__
                result.problems.append(
                    problem(ctx, line, "invalid-content",
                            f"a content block ({kind}) that is not one text string; ftclient trains Nova on text "
                            "[CONVERSE]",
                            'write each block as {"text": "..."}', path=block_path)
                )
                continue
            if not text.strip():
                result.problems.append(
                    problem(ctx, line, "empty-content", "an empty text block [CONVERSE]",
                            "write the text, or drop the block", path=f"{block_path}.text")
                )
            found.append((f"{block_path}.text", text))
        return found

    # -- shared ------------------------------------------------------------------------------------

    def _order(self, turns: list[tuple[int, str]], base: str, result: LineResult, ctx: RuleContext) -> None:
        """[NOVA-DATA] the first turn is the user's, the last the assistant's; the turns alternate."""
        line = result.line
        result.problems[:] = [p for p in result.problems if p.code != "ends-without-assistant"]
        if not turns or any(p.code == "role-not-supported" for p in result.problems):
            return  # the order of the turns means nothing until every turn has a role Bedrock knows
        first_index, first_role = turns[0]
        if first_role != "user":
            result.problems.append(
                problem(ctx, line, "first-not-user",
                        "the conversation starts with an assistant turn; it must start with the user's [NOVA-DATA]",
                        "begin with the user message the reply answers", path=f"{base}[{first_index}]")
            )
        for (_, before), (index, role) in pairwise(turns):
            if role == before:
                result.problems.append(
                    problem(ctx, line, "roles-not-alternating",
                            f"two {role} turns in a row; Bedrock's turns alternate user, assistant [CONVERSE]",
                            "merge the two turns into one", path=f"{base}[{index}]")
                )
                break
        last_index, last_role = turns[-1]
        if last_role != "assistant":
            result.problems.append(
                problem(ctx, line, "last-not-assistant",
                        "the conversation ends with a user turn; the last turn must be the assistant's reply "
                        "[NOVA-DATA]",
                        "end each example with the assistant reply", path=f"{base}[{last_index}]")
            )

    def _reserved(self, text: str, path: str, result: LineResult, ctx: RuleContext) -> None:
        for word in RESERVED:
            if word in text:
                result.problems.append(
                    problem(ctx, result.line, "reserved-keyword",
                            f"contains {word!r}, a reserved keyword: Nova training fails on it [NOVA-DATA]",
                            f"rewrite {word!r} with other words (e.g. {word.rstrip(':')!r} without the colon)",
                            path=path)
                )
                return


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""
