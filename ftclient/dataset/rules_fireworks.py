"""Fireworks AI's dataset rules: OpenAI chat JSONL or DPO preference lines, 3 to 3,000,000 examples, and a
system message only at the start.

Source: docs.fireworks.ai/fine-tuning/fine-tuning-models ("datasets formatted for OpenAI fine-tuning ... work
with no changes"; "minimum 3 examples, maximum 3 million"; system "optional, first only") and
/fine-tuning/dpo-fine-tuning (``input.messages``, ``preferred_output``, ``non_preferred_output``), stored
copies read 2026-12-03 (research/providers.md 2.5).
"""

from __future__ import annotations

from typing import Any

from ftclient.dataset.rules import LineResult, RuleContext, RuleSet, problem


class FireworksRuleSet(RuleSet):
    """OpenAI's chat rules, without prompt/completion lines, and a system message only first."""

    provider = "fireworks"
    formats = frozenset({"chat", "preference"})
    min_examples = 3
    max_examples = 3_000_000

    def format_hint(self) -> str:
        return 'use {"messages": [...]} for SFT or {"input", "preferred_output", "non_preferred_output"} for DPO'

    def plain_chat(self, record: Any, line: int, ctx: RuleContext) -> LineResult | None:
        result = super().plain_chat(record, line, ctx)
        if result is not None:
            self._system_first(record["messages"], result, ctx)
        return result

    def _check_chat(self, record: dict[str, Any], result: LineResult, ctx: RuleContext) -> None:
        super()._check_chat(record, result, ctx)
        messages = record.get("messages")
        if isinstance(messages, list):
            self._system_first(messages, result, ctx)

    def _system_first(self, messages: list[Any], result: LineResult, ctx: RuleContext) -> None:
        for index, message in enumerate(messages):
            if index and isinstance(message, dict) and message.get("role") == "system":
                result.problems.append(
                    problem(
                        ctx,
                        result.line,
                        "system-not-first",
                        "a system message after the start of the conversation",
                        "Fireworks takes one system message, as the first message; merge it there",
                        path=f"messages[{index}]",
                    )
                )
                return
