"""Azure OpenAI's dataset rules: OpenAI's chat JSONL (and DPO preference lines), at least 10 examples.

Source: MicrosoftDocs/azure-ai-docs ``includes/fine-tuning-rest.md`` @ 09d4707 ("Example file format": chat
completions JSONL; the job "will not proceed without at least 10" examples; files under 512 MB) and
``how-to/fine-tuning-direct-preference-optimization`` (``input``, ``preferred_output``,
``non_preferred_output``), read 2026-12-03 (research/providers.md 3.5). The docs ask for a UTF-8 byte-order
mark; ftclient writes none and the stored sources do not show Azure refusing a file without one.
"""

from __future__ import annotations

from ftclient.dataset.rules import RuleSet


class AzureRuleSet(RuleSet):
    """OpenAI's chat and preference rules with Azure's own minimum of 10 examples."""

    provider = "azure"
    formats = frozenset({"chat", "preference"})
    min_examples = 10

    def format_hint(self) -> str:
        return 'use {"messages": [...]} for SFT or {"input", "preferred_output", "non_preferred_output"} for DPO'
