"""Duplicate detection: exact and normalized (case, width, whitespace and punctuation folded) keys."""

from __future__ import annotations

import hashlib
import string
import unicodedata
from array import array
from collections import Counter

_ASCII_PUNCT = bytes.maketrans(string.punctuation.encode("ascii"), b" " * len(string.punctuation))
# Ideographic punctuation NFKC leaves alone (full-width ASCII forms are already folded by NFKC).
_CJK_PUNCT = tuple(p.encode("utf-8") for p in "。、「」『』【】《》〈〉…—～·“”‘’")


def normalize(text: str) -> str:
    """The near-duplicate form of ``text``: NFKC, case-folded, punctuation dropped, whitespace collapsed."""
    return normalized_bytes(text).decode("utf-8")


def normalized_bytes(text: str) -> bytes:
    """``normalize`` as UTF-8 bytes; the fast path the validators hash (bytes.translate runs in C)."""
    if not text.isascii() and not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    data = text.casefold().encode("utf-8").translate(_ASCII_PUNCT)
    if not data.isascii():
        for mark in _CJK_PUNCT:
            if mark in data:
                data = data.replace(mark, b" ")
    return b" ".join(data.split())


def key64(text: str) -> int:
    """A signed 64-bit hash of ``text`` that is stable across runs (unlike ``hash``)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little", signed=True)


def example_key(texts: tuple[str, ...]) -> int:
    """A 64-bit key of an example's texts, valid within one run and its forked children.

    Python's own hash: the strings' hashes are cached on them and reused when their tokens are counted."""
    return hash(texts)


def near_example_key(texts: tuple[str, ...]) -> int:
    """``example_key`` with case ignored: the cheap near-duplicate test ``validate`` runs on every line."""
    return hash(tuple(map(str.lower, texts)))


class DuplicateLog:
    """Remembers (key, line) pairs compactly (12 bytes each) and finds repeated keys at the end.

    Used by ``validate`` on files of any size: a million examples cost 12 MB here, not a dict of strings.
    """

    FILTER_BITS = 27  # a 16 MB bitmap: few false candidates even for tens of millions of lines
    COUNT_UP_TO = 250_000  # below this many keys, a Counter of them (about 20 MB at most) is faster

    def __init__(self) -> None:
        self.keys = array("q")
        self.lines = array("i")

    def add(self, key: int, line: int) -> None:
        self.keys.append(key)
        self.lines.append(line)

    def add_many(self, keys: list[int], lines: list[int]) -> None:
        self.keys.extend(keys)
        self.lines.extend(lines)

    def extend(self, other: DuplicateLog, line_offset: int = 0) -> None:
        """Append ``other``'s entries, its line numbers moved down by ``line_offset``."""
        self.keys.extend(other.keys)
        if line_offset:
            self.lines.extend([line + line_offset for line in other.lines])
        else:
            self.lines.extend(other.lines)

    def repeats(self) -> list[tuple[int, int]]:
        """``(line, first line with the same key)`` for every repeat, in line order."""
        candidates = self._small_candidates() if len(self.keys) <= self.COUNT_UP_TO else self._bitmap_candidates()
        if not candidates:
            return []
        first: dict[int, int] = {}
        out: list[tuple[int, int]] = []
        for key, line in zip(self.keys, self.lines, strict=True):
            if key in candidates:
                if key in first:
                    out.append((line, first[key]))
                else:
                    first[key] = line
        out.sort()
        return out

    def _small_candidates(self) -> set[int]:
        """The repeated keys, counted exactly (in C) while the log is small enough for a dict of all keys."""
        counts = Counter(self.keys)
        if len(counts) == len(self.keys):
            return set()
        return {key for key, n in counts.items() if n > 1}

    def _bitmap_candidates(self) -> set[int]:
        """Keys that may repeat, found without a set of every key: a bitmap over the keys' low bits.

        Holds the true repeats plus a few keys whose low bits collide; ``repeats`` then looks them up.
        """
        mask = (1 << self.FILTER_BITS) - 1
        bits = bytearray(1 << (self.FILTER_BITS - 3))
        candidates: set[int] = set()
        for key in self.keys:
            low = key & mask
            flag = 1 << (low & 7)
            if bits[low >> 3] & flag:
                candidates.add(key)
            else:
                bits[low >> 3] |= flag
        return candidates
