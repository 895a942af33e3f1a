"""Exact, offline token counts for OpenAI models, counted the way fine-tuning bills them.

The two BPE files ship inside the package (``ftclient/data/*.tiktoken``) and are loaded with sha256
verification, so counting never needs the network (tiktoken would otherwise download them on first use).
The model -> encoding map is ours: tiktoken's own map sends ``ft:gpt-4.1-mini-…`` to cl100k_base, which is
wrong, and raises for ``ft:o4-mini…``.

Chat counting follows OpenAI's published recipe: 3 tokens of overhead per message, 1 more for a ``name``,
3 for the reply priming, plus the tokens of tool/function definitions and of tool calls. The server's own
``trained_tokens`` is the final word; these counts are what every estimate (limits, cost) is built on.

Models of other providers (open-weight models on Together) have tokenizers ftclient does not ship:
``count_is_exact`` says so, and ``estimate_text``/``estimate_chat`` give a clearly labelled estimate.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftclient.errors import FtclientError, UnknownModelError

if TYPE_CHECKING:
    import tiktoken

DATA_DIR = Path(__file__).resolve().parent / "data"

O200K = "o200k_base"
CL100K = "cl100k_base"

# sha256 of the rank files as published by tiktoken (tiktoken_ext/openai_public.py).
_EXPECTED_SHA256 = {
    O200K: "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    CL100K: "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}

# Split patterns and special tokens, as tiktoken_ext/openai_public.py defines them.
_CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|"""
    r"""\s+(?!\S)|\s"""
)
_O200K_PATTERN = "|".join(
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
_SPECIALS = {
    CL100K: {
        "<|endoftext|>": 100257,
        "<|fim_prefix|>": 100258,
        "<|fim_middle|>": 100259,
        "<|fim_suffix|>": 100260,
        "<|endofprompt|>": 100276,
    },
    O200K: {"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
}
_PATTERNS = {CL100K: _CL100K_PATTERN, O200K: _O200K_PATTERN}

# Model name prefixes -> encoding, longest prefix first. Covers every fine-tunable OpenAI base model (dated
# snapshots and aliases) and the chat models an evaluation may call.
_PREFIXES: tuple[tuple[str, str], ...] = (
    ("gpt-4.1", O200K),
    ("gpt-4.5", O200K),
    ("gpt-4o", O200K),
    ("gpt-5", O200K),
    ("chatgpt-4o", O200K),
    ("o1", O200K),
    ("o3", O200K),
    ("o4", O200K),
    ("gpt-oss", O200K),
    ("gpt-4", CL100K),
    ("gpt-3.5", CL100K),
    ("gpt-35", CL100K),  # Azure's spelling
    ("babbage-002", CL100K),
    ("davinci-002", CL100K),
)

KNOWN_MODEL_FAMILIES = tuple(prefix for prefix, _ in _PREFIXES)

# Tokens OpenAI adds around chat messages (the published counting recipe).
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3

# Tool/function definitions are rendered into a hidden system preamble; these are the per-part overheads
# from OpenAI's cookbook recipe ("How to count tokens with tiktoken", function-calling section).
_TOOL_OVERHEADS = {
    O200K: {"func_init": 7, "prop_init": 3, "prop_key": 3, "enum_init": -3, "enum_item": 3, "func_end": 12},
    CL100K: {"func_init": 10, "prop_init": 3, "prop_key": 3, "enum_init": -3, "enum_item": 3, "func_end": 12},
}
# Each tool call the assistant makes is rendered as the function name and its JSON arguments plus framing.
TOKENS_PER_TOOL_CALL = 3

_SPECIAL_TOKEN_RE = re.compile(r"<\|[A-Za-z0-9_]+\|>")
_lock = threading.Lock()


def base_model_of(model: str) -> str:
    """``ft:gpt-4o-mini-2024-07-18:org:suffix:id[:ckpt-step-N]`` -> ``gpt-4o-mini-2024-07-18``; others unchanged."""
    name = model.strip()
    if name.startswith("ft:"):
        parts = name.split(":")
        if len(parts) < 2 or not parts[1]:
            raise UnknownModelError(model, hint="a fine-tuned model name looks like ft:<base>:<org>:<suffix>:<id>")
        return parts[1]
    return name


def encoding_name_for(model: str) -> str:
    """The tiktoken encoding OpenAI uses for ``model`` (a base name, alias, dated snapshot or ``ft:`` name)."""
    base = base_model_of(model).lower()
    if "/" in base:
        base = base.rsplit("/", 1)[1] if base.startswith("openai/") else base
    for prefix, encoding in _PREFIXES:
        if base.startswith(prefix):
            return encoding
    raise UnknownModelError(
        model,
        known=[p + "…" for p in KNOWN_MODEL_FAMILIES],
        hint="pass an OpenAI model such as gpt-4.1-mini-2025-04-14 (or its ft: name) with --model",
    )


def count_is_exact(model: str, provider: str = "openai") -> bool:
    """True when ftclient ships the model's own tokenizer, so counts are exact, not estimates."""
    if provider not in {"openai", "azure"}:
        return False
    try:
        encoding_name_for(model)
    except UnknownModelError:
        return False
    return True


@lru_cache(maxsize=4)
def get_encoding(name: str) -> tiktoken.Encoding:
    """Load a shipped encoding (sha256-verified, cached). Never touches the network."""
    if name not in _EXPECTED_SHA256:
        raise UnknownModelError(name, known=sorted(_EXPECTED_SHA256), hint="ftclient ships o200k_base and cl100k_base")
    path = DATA_DIR / f"{name}.tiktoken"
    with _lock:
        try:
            ranks = _load_ranks(path, _EXPECTED_SHA256[name])
        except (OSError, ValueError) as exc:
            raise FtclientError(
                f"the {name} tokenizer file shipped with ftclient is missing or damaged ({path})",
                hint="reinstall ftclient (pip install --force-reinstall ftclient)",
            ) from exc
        encoding: tiktoken.Encoding = _shipped_encoding_class()(name, ranks)
        return encoding


def _load_ranks(path: Path, expected_sha256: str) -> dict[bytes, int]:
    """Parse a ``.tiktoken`` rank file (``<base64 token> <rank>`` per line) after checking its sha256.

    Same result as ``tiktoken.load.load_tiktoken_bpe`` in a third of the time: every CLI command that counts
    tokens pays this once at start-up. The checksum pins the file, and both shipped files list their ranks
    as 0, 1, 2, ... in order (a test parses them to check), so the ranks are not parsed here."""
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected_sha256:
        raise ValueError(f"{path} has sha256 {digest}, expected {expected_sha256}")
    encoded = data.split()[0::2]
    return dict(zip(map(binascii.a2b_base64, encoded), range(len(encoded)), strict=True))


@lru_cache(maxsize=1)
def _shipped_encoding_class() -> Any:
    """A tiktoken Encoding that drops its Python copy of the merge ranks once built.

    tiktoken keeps the ranks twice: in its Rust core (which does all the work) and as a Python dict used only
    to pickle the encoding. That dict costs about 26 MB for o200k_base; pickling by name instead (reloading
    the shipped file) keeps validation of large files well within its memory budget.
    """
    import tiktoken

    class ShippedEncoding(tiktoken.Encoding):
        def __init__(self, base_name: str, ranks: dict[bytes, int]) -> None:
            super().__init__(
                name=f"ftclient-{base_name}",
                pat_str=_PATTERNS[base_name],
                mergeable_ranks=ranks,
                special_tokens=_SPECIALS[base_name],
            )
            self.base_name = base_name
            self._mergeable_ranks = {}

        def __reduce__(self) -> tuple[Any, tuple[str]]:
            return (get_encoding, (self.base_name,))

    return ShippedEncoding


def encoding_for_model(model: str) -> tiktoken.Encoding:
    return get_encoding(encoding_name_for(model))


def _encode_len(encoding: tiktoken.Encoding, text: str) -> int:
    # Special-token strings in training text are ordinary text to the tokenizer here; the validator
    # reports them separately (the API rejects them).
    return len(encoding.encode_ordinary(text))


def count_text(text: str, model: str) -> int:
    """Tokens of ``text`` for ``model`` (exact for OpenAI models)."""
    return _encode_len(encoding_for_model(model), text)


def content_text(content: Any) -> str:
    """The text of a message ``content``: a string, or the ``text``/``refusal`` of its parts, joined."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        pieces: list[str] = []
        for part in content:
            if isinstance(part, Mapping):
                value = part.get("text", part.get("refusal"))
                if isinstance(value, str):
                    pieces.append(value)
        return "".join(pieces)
    return json.dumps(content, ensure_ascii=False)


def message_strings(message: Mapping[str, Any]) -> list[str]:
    """Every string of a message that is billed as text (content, name, tool calls, function call)."""
    out = [content_text(message.get("content"))]
    refusal = message.get("refusal")
    if isinstance(refusal, str):
        out.append(refusal)
    for call in _tool_calls(message):
        function = call.get("function") if isinstance(call, Mapping) else None
        if isinstance(function, Mapping):
            out.append(str(function.get("name") or ""))
            out.append(_as_text(function.get("arguments")))
    function_call = message.get("function_call")
    if isinstance(function_call, Mapping):
        out.append(str(function_call.get("name") or ""))
        out.append(_as_text(function_call.get("arguments")))
    return out


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _tool_calls(message: Mapping[str, Any]) -> list[Any]:
    calls = message.get("tool_calls")
    return calls if isinstance(calls, list) else []


def _message_pieces(message: Mapping[str, Any], pieces: list[str]) -> int:
    """Append the billed texts of ``message`` to ``pieces``; return its constant overhead in tokens."""
    overhead = TOKENS_PER_MESSAGE
    pieces.append(str(message.get("role") or ""))
    pieces.extend(text for text in message_strings(message) if text)
    name = message.get("name")
    if isinstance(name, str) and name:
        pieces.append(name)
        overhead += TOKENS_PER_NAME
    n_calls = len(_tool_calls(message)) + (1 if isinstance(message.get("function_call"), Mapping) else 0)
    return overhead + TOKENS_PER_TOOL_CALL * n_calls


def _definition_pieces(encoding_name: str, functions: Iterable[Any], pieces: list[str]) -> int:
    """Function definitions (``tools`` entries or legacy ``functions``), per OpenAI's recipe.

    Appends the rendered texts to ``pieces`` and returns the constant overhead (which can be negative
    per enum: the recipe subtracts 3 for each enum list).
    """
    overhead = _TOOL_OVERHEADS[encoding_name]
    total = 0
    seen = False
    for item in functions:
        function = item.get("function", item) if isinstance(item, Mapping) else None
        if not isinstance(function, Mapping):
            continue
        seen = True
        total += overhead["func_init"]
        description = str(function.get("description") or "").removesuffix(".")
        pieces.append(f"{function.get('name') or ''}:{description}")
        parameters = function.get("parameters")
        properties = parameters.get("properties") if isinstance(parameters, Mapping) else None
        if isinstance(properties, Mapping) and properties:
            total += overhead["prop_init"]
            for key, raw_spec in properties.items():
                total += overhead["prop_key"]
                spec = raw_spec if isinstance(raw_spec, Mapping) else {}
                enum = spec.get("enum")
                if isinstance(enum, list):
                    total += overhead["enum_init"]
                    for item_value in enum:
                        total += overhead["enum_item"]
                        pieces.append(str(item_value))
                p_description = str(spec.get("description") or "").removesuffix(".")
                pieces.append(f"{key}:{spec.get('type') or ''}:{p_description}")
    return total + overhead["func_end"] if seen else total


def chat_pieces(
    messages: Sequence[Any],
    encoding_name: str,
    tools: Sequence[Any] | None = None,
    functions: Sequence[Any] | None = None,
) -> tuple[int, list[str]]:
    """A chat example as (constant overhead, texts to encode): tokens = overhead + sum of the texts' tokens.

    Splitting the count this way lets a caller encode many examples' texts in one batch (threads, and
    repeated texts such as a shared system prompt encoded once).
    """
    pieces: list[str] = []
    total = REPLY_PRIMING
    for message in messages:
        if isinstance(message, Mapping):
            total += _message_pieces(message, pieces)
    if tools:
        total += _definition_pieces(encoding_name, tools, pieces)
    if functions:
        total += _definition_pieces(encoding_name, functions, pieces)
    return total, pieces


def assistant_pieces(messages: Sequence[Any]) -> list[str]:
    """Texts of the trained assistant output (assistant messages without ``weight: 0``)."""
    out: list[str] = []
    for message in messages:
        if isinstance(message, Mapping) and message.get("role") == "assistant" and message.get("weight") != 0:
            out.extend(text for text in message_strings(message) if text)
    return out


def _count_chat_with(
    encoding: tiktoken.Encoding,
    encoding_name: str,
    messages: Sequence[Mapping[str, Any]],
    tools: Sequence[Any] | None,
    functions: Sequence[Any] | None,
) -> int:
    overhead, pieces = chat_pieces(messages, encoding_name, tools, functions)
    return overhead + sum(_encode_len(encoding, text) for text in pieces)


def count_chat(
    messages: Sequence[Mapping[str, Any]],
    model: str,
    *,
    tools: Sequence[Any] | None = None,
    functions: Sequence[Any] | None = None,
) -> int:
    """Billed tokens of one chat example: messages with their overhead, names, tool calls, definitions."""
    name = encoding_name_for(model)
    return _count_chat_with(get_encoding(name), name, messages, tools, functions)


def _assistant_tokens_with(encoding: tiktoken.Encoding, messages: Sequence[Mapping[str, Any]]) -> int:
    return sum(_encode_len(encoding, text) for text in assistant_pieces(messages))


def count_assistant(messages: Sequence[Mapping[str, Any]], model: str) -> int:
    """Tokens of the trained assistant output (assistant messages without ``weight: 0``)."""
    return _assistant_tokens_with(encoding_for_model(model), messages)


def find_special_tokens(text: str) -> list[str]:
    """Special-token strings (``<|fim_suffix|>`` style) in ``text``: the API rejects training text with them."""
    return _SPECIAL_TOKEN_RE.findall(text)


class TokenCounter:
    """Counts for one target model; ``exact`` is False when the count is an estimate (no shipped tokenizer).

    For models whose tokenizer ftclient does not ship (open-weight models on Together), counts use
    o200k_base as a stand-in and say so: limits and costs built on them are estimates.
    """

    def __init__(self, model: str | None, provider: str = "openai") -> None:
        self.model = model
        self.provider = provider
        self.exact = bool(model) and count_is_exact(model or "", provider)
        self.encoding_name = encoding_name_for(model or "") if self.exact else O200K
        self.encoding = get_encoding(self.encoding_name)

    def text(self, text: str) -> int:
        return _encode_len(self.encoding, text)

    def chat(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        tools: Sequence[Any] | None = None,
        functions: Sequence[Any] | None = None,
    ) -> int:
        return _count_chat_with(self.encoding, self.encoding_name, messages, tools, functions)

    def assistant(self, messages: Sequence[Mapping[str, Any]]) -> int:
        return _assistant_tokens_with(self.encoding, messages)


def estimate_text(text: str) -> int:
    """A labelled estimate for models without a shipped tokenizer (o200k_base as stand-in)."""
    return _encode_len(get_encoding(O200K), text)


def token_len_function(encoding: tiktoken.Encoding) -> Callable[[str], int]:
    """The fastest way this tiktoken offers to get ``len(encoding.encode_ordinary(text))``.

    tiktoken's buffer encoder returns the ids as one packed buffer instead of a list of Python ints,
    which saves allocating an int object per token; the result is the same count (tests check it).
    """
    core = getattr(encoding, "_core_bpe", None)
    to_buffer = getattr(core, "encode_to_tiktoken_buffer", None)
    if to_buffer is None:
        encode = encoding.encode_ordinary
        return lambda text: len(encode(text))
    no_specials: set[str] = set()

    def count(text: str) -> int:
        try:
            return memoryview(to_buffer(text, no_specials)).nbytes // 4
        except UnicodeEncodeError:  # lone surrogates: let tiktoken's own fallback handle them
            return len(encoding.encode_ordinary(text))

    return count


class BatchEncoder:
    """Token lengths of many texts at once, for validating large files quickly.

    Texts that repeat (a system prompt shared by every example, role names, tool definitions) are encoded
    once and remembered; the rest are encoded on a small thread pool (tiktoken releases the GIL while it
    encodes, so two cores give close to twice the speed).
    """

    def __init__(self, encoding: tiktoken.Encoding, *, threads: int | None = None, cache_size: int = 50_000) -> None:
        import os

        self.encoding = encoding
        self.threads = max(1, threads if threads is not None else min(4, os.cpu_count() or 1))
        self.cache_size = cache_size
        self._cache: dict[str, int] = {}
        self._pool: Any = None

    def _encode_all(self, texts: list[str]) -> list[int]:
        count = token_len_function(self.encoding)
        if self.threads == 1 or len(texts) < 256:
            return [count(text) for text in texts]
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="ftclient-tokens")
        step = -(-len(texts) // (self.threads * 4))
        chunks = [texts[i : i + step] for i in range(0, len(texts), step)]
        out: list[int] = []
        for lengths in self._pool.map(lambda chunk: [count(text) for text in chunk], chunks):
            out.extend(lengths)
        return out

    def lengths(self, texts: Iterable[str]) -> dict[str, int]:
        """``{text: token count}`` for every distinct text given."""
        counts = Counter(texts)
        cache = self._cache
        out: dict[str, int] = {}
        missing: list[str] = []
        for text in counts:
            known = cache.get(text)
            if known is None:
                missing.append(text)
            else:
                out[text] = known
        if missing:
            out.update(zip(missing, self._encode_all(missing), strict=True))
            repeated = [text for text in missing if counts[text] > 1]
            if repeated:
                if len(cache) + len(repeated) > self.cache_size:
                    cache.clear()
                for text in repeated:
                    cache[text] = out[text]
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
