"""Token accounting of the emulated OpenAI: prompt and completion tokens of a chat call, and a job's
``trained_tokens``.

tiktoken does the encoding; the rank files are the ones shipped in ``ftclient/data`` (read by path as data,
since the emulator never downloads). The counting rule is OpenAI's published recipe (cookbook "How to count
tokens with tiktoken", and the fine-tuning data-prep notebook): 3 tokens per message, 1 more for a
``name``, 3 to prime the reply. Tool definitions and tool calls are counted as their JSON text, a plainer
rule than the cookbook's per-field overheads: where the client's estimate and this count differ, the client
must cope, as it must with OpenAI's own ``trained_tokens``.
"""

from __future__ import annotations

import binascii
import json
import threading
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftclient.emulator.openai.catalog import CL100K, MODELS, O200K

if TYPE_CHECKING:
    import tiktoken

RANKS_DIR = Path(__file__).resolve().parents[2] / "data"

# Split patterns and special tokens as tiktoken_ext/openai_public.py (tiktoken 0.x) defines them.
_PATTERNS = {
    CL100K: (
        r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|"""
        r"""\s+(?!\S)|\s"""
    ),
    O200K: "|".join(
        [
            r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
            r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
            r"""\p{N}{1,3}""",
            r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
            r"""\s*[\r\n]+""",
            r"""\s+(?!\S)""",
            r"""\s+""",
        ]
    ),
}
_SPECIAL_TOKENS = {
    CL100K: {
        "<|endoftext|>": 100257,
        "<|fim_prefix|>": 100258,
        "<|fim_middle|>": 100259,
        "<|fim_suffix|>": 100260,
        "<|endofprompt|>": 100276,
    },
    O200K: {"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
}

PER_MESSAGE = 3
PER_NAME = 1
REPLY_PRIMING = 3

_lock = threading.Lock()


@lru_cache(maxsize=2)
def encoding(name: str) -> tiktoken.Encoding:
    """The named encoding built from its shipped rank file (``<base64 token> <rank>`` per line)."""
    import tiktoken

    with _lock:
        parts = (RANKS_DIR / f"{name}.tiktoken").read_bytes().split()
        # Twice as fast as tiktoken.load.load_tiktoken_bpe, which decodes line by line in Python.
        ranks = dict(zip(map(binascii.a2b_base64, parts[0::2]), map(int, parts[1::2]), strict=True))
        return tiktoken.Encoding(
            name=f"emulator-{name}",
            pat_str=_PATTERNS[name],
            mergeable_ranks=ranks,
            special_tokens=_SPECIAL_TOKENS[name],
        )


def encoding_for(snapshot: str) -> tiktoken.Encoding:
    return encoding(MODELS[snapshot].encoding)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # content parts: the text parts are what is billed as text
        texts = [str(p.get("text") or "") for p in value if isinstance(p, Mapping) and p.get("type") == "text"]
        if len(texts) == len(value):
            return "".join(texts)
    return json.dumps(value, ensure_ascii=False)


def chat_tokens(messages: Sequence[Any], snapshot: str, tools: Any = None) -> int:
    """Prompt tokens of a chat request (or a training example) on ``snapshot``."""
    enc = encoding_for(snapshot)
    total = REPLY_PRIMING
    for message in messages:
        if not isinstance(message, Mapping):
            continue
        total += PER_MESSAGE
        for key in ("role", "content", "name", "tool_calls", "function_call", "refusal"):
            if message.get(key) is not None:
                total += len(enc.encode_ordinary(_text(message[key])))
        if message.get("name"):
            total += PER_NAME
    if tools:
        total += len(enc.encode_ordinary(json.dumps(tools, ensure_ascii=False)))
    return total


def example_tokens(record: Mapping[str, Any], method: str, snapshot: str) -> int:
    """Tokens one training example is billed for, capped at the model's per-example limit (OpenAI truncates
    longer examples rather than refusing them, so it trains, and bills, at most the limit)."""
    if method == "dpo":
        prompt = record.get("input") or {}
        outputs = [*record.get("preferred_output", []), *record.get("non_preferred_output", [])]
        messages = [*prompt.get("messages", []), *outputs]
        tools = prompt.get("tools")
    else:
        messages, tools = record.get("messages", []), record.get("tools") or record.get("functions")
    n = chat_tokens(messages, snapshot, tools)
    limit = MODELS[snapshot].max_tokens_per_example
    return min(n, limit) if limit else n


def trained_tokens(tokens_per_epoch: int, n_epochs: int) -> int:
    """``trained_tokens`` of a finished job: every epoch's tokens (validation tokens are not billed)."""
    return tokens_per_epoch * n_epochs
