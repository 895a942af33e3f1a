"""The emulated Together's token accounting: an estimate, and its own.

Together counts tokens with each model's own tokenizer after applying its chat template; neither ships
with ftclient. The emulator counts what it bills the way a Llama-3-style chat template lays a conversation
out (a begin-of-text token, then per message a header of ``<|start_header_id|>role<|end_header_id|>`` and
two newlines, the content, ``<|eot_id|>``), with the o200k_base BPE standing in for the model's
vocabulary. It reads the rank file ftclient ships (``ftclient/data/o200k_base.tiktoken``) with tiktoken
directly, so it shares no counting code with the client: where the two disagree, the emulator is the
second opinion. Split pattern as tiktoken_ext/openai_public.py publishes it.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import tiktoken

RANKS = Path(__file__).resolve().parents[2] / "data" / "o200k_base.tiktoken"
RANKS_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
BEGIN_OF_TEXT = 1
PER_MESSAGE = 4
"""``<|start_header_id|>``, ``<|end_header_id|>``, the blank line after the header, ``<|eot_id|>``."""


@functools.cache
def encoding() -> tiktoken.Encoding:
    import tiktoken
    from tiktoken.load import load_tiktoken_bpe

    ranks = load_tiktoken_bpe(str(RANKS), expected_hash=RANKS_SHA256)
    return tiktoken.Encoding("emulator-o200k", pat_str=_PATTERN, mergeable_ranks=ranks, special_tokens={})


def text_tokens(text: str) -> int:
    return len(encoding().encode_ordinary(text))


def truncate(text: str, limit: int) -> str:
    ids = encoding().encode_ordinary(text)
    return text if len(ids) <= limit else encoding().decode(ids[:limit])


def message_tokens(messages: list[Any]) -> int:
    """Tokens of a conversation laid out by a Llama-3-style chat template (an estimate, see above)."""
    total = BEGIN_OF_TEXT
    for message in messages:
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        if isinstance(content, list):
            content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        total += PER_MESSAGE + text_tokens(str(message.get("role") or "")) + text_tokens(str(content or ""))
    return total


def line_tokens(record: Any) -> int:
    """Processed tokens of one training line in any of Together's four formats."""
    if not isinstance(record, dict):
        return 0
    if isinstance(record.get("messages"), list):
        return message_tokens(record["messages"])
    if isinstance(record.get("input"), dict):
        prompt = record["input"].get("messages") or []
        pairs = [record.get("preferred_output") or [], record.get("non_preferred_output") or []]
        return sum(message_tokens([*prompt, *reply]) for reply in pairs)
    if "prompt" in record or "completion" in record:
        return (
            BEGIN_OF_TEXT
            + text_tokens(str(record.get("prompt") or ""))
            + text_tokens(str(record.get("completion") or ""))
        )
    return BEGIN_OF_TEXT + text_tokens(str(record.get("text") or ""))


def file_tokens(data: bytes) -> int:
    total = 0
    for line in data.decode("utf-8", "replace").splitlines():
        if line.strip():
            try:
                total += line_tokens(json.loads(line))
            except ValueError:
                continue
    return total
