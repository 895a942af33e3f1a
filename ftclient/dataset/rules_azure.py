"""Azure OpenAI's dataset rules: OpenAI's chat JSONL (and DPO preference lines), at least 10 examples, files
under 512 MB, and the per-example token limit of the model.

Sources, read 2026-12-03 (research/providers.md 3.5, 3.7):
- MicrosoftDocs/azure-ai-docs ``includes/fine-tuning-rest.md`` @ 09d4707 ("Example file format": chat
  completions JSONL; the job "will not proceed without at least 10" examples; files must be under 512 MB,
  larger ones are imported from Blob Storage).
- Learn ``how-to/fine-tuning-direct-preference-optimization``: ``input`` (messages, optional tools),
  ``preferred_output`` and ``non_preferred_output``, output messages with the assistant or tool role.
- ``includes/fine-tune-models.md`` @ 1e62f38: the longest training example, 65,536 tokens (32,768 for
  gpt-4.1-nano), applied through ``ftclient.pricing``'s per-model limits as for OpenAI.
Not checked here, as ``validate`` cannot know them (Learn ``quotas-limits``, undated copy): a job's
tokens x epochs at most 2 billion, 50 files and 1 GB of files per resource. The docs ask for a UTF-8
byte-order mark; ftclient writes none and the stored sources do not show Azure refusing a file without one
(an assumption).
"""

from __future__ import annotations

from ftclient.dataset.rules import RuleSet

MAX_FILE_BYTES = 512 * 1024**2 - 1
"""Files must be smaller than 512 MB (``includes/fine-tuning-rest.md`` @ 09d4707)."""


class AzureRuleSet(RuleSet):
    """OpenAI's chat and preference rules with Azure's own minimum of 10 examples and its 512 MB file limit."""

    provider = "azure"
    formats = frozenset({"chat", "preference"})
    min_examples = 10
    max_file_bytes = MAX_FILE_BYTES

    def format_hint(self) -> str:
        return 'use {"messages": [...]} for SFT or {"input", "preferred_output", "non_preferred_output"} for DPO'
