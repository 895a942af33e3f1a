"""Together AI's dataset rules (its `files check`): no extra keys, alternating roles, four line formats."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ftclient.dataset.rules import LineResult, RuleContext, RuleSet, problem


class TogetherRuleSet(RuleSet):
    """Together's `files check` rules: no extra keys, alternating roles, text/chat/instruction/preference."""

    provider = "together"
    formats = frozenset({"chat", "preference", "completion", "text"})

    def format_hint(self) -> str:
        return (
            'use {"messages": [...]}, {"prompt", "completion"}, {"text"} or '
            '{"input", "preferred_output", "non_preferred_output"}'
        )

    def plain_chat(self, record: Any, line: int, ctx: RuleContext) -> LineResult | None:
        result = super().plain_chat(record, line, ctx)
        if result is not None:
            self._role_order(record["messages"], result, ctx)
        return result

    def _check_chat(self, record: dict[str, Any], result: LineResult, ctx: RuleContext) -> None:
        super()._check_chat(record, result, ctx)
        messages = record.get("messages")
        if isinstance(messages, list):
            self._role_order(messages, result, ctx)

    def _role_order(self, messages: list[Any], result: LineResult, ctx: RuleContext) -> None:
        """Together starts a conversation with system or user and never repeats a role twice in a row."""
        roles = [m.get("role") for m in messages if isinstance(m, dict)]
        if roles and roles[0] not in ("system", "user"):
            result.problems.append(
                problem(
                    ctx,
                    result.line,
                    "conversation-start",
                    f"the conversation starts with {roles[0]!r}",
                    "start with a system or user message",
                    path="messages[0]",
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
                        path=f"messages[{index}]",
                    )
                )
                break

    def _check_completion(self, record: dict[str, Any], result: LineResult, ctx: RuleContext) -> None:
        super()._check_completion(record, result, replace(ctx, completion_only=True))
