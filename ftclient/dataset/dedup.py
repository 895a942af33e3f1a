"""Duplicate detection: exact and normalized (case, width, whitespace and punctuation folded) keys."""

from __future__ import annotations

import hashlib
import string
import unicodedata
from array import array

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


def run_key(value: str | bytes) -> int:
    """A 64-bit key valid within one run (and its forked workers): Python's own cached string hash."""
    return hash(value)


class DuplicateLog:
    """Remembers (key, line) pairs compactly (16 bytes each) and finds repeated keys at the end.

    Used by ``validate`` on files of any size: a million examples cost 16 MB here, not a dict of strings.
    """

    def __init__(self) -> None:
        self.keys = array("q")
        self.lines = array("q")

    def add(self, key: int, line: int) -> None:
        self.keys.append(key)
        self.lines.append(line)

    def extend(self, other: DuplicateLog) -> None:
        self.keys.extend(other.keys)
        self.lines.extend(other.lines)

    def repeats(self) -> list[tuple[int, int]]:
        """``(line, first line with the same key)`` for every repeat, in line order.

        Sorting the bare keys (not index/key pairs) keeps the transient memory to one list of ints.
        """
        ordered = sorted(self.keys)
        repeated = {ordered[i] for i in range(1, len(ordered)) if ordered[i] == ordered[i - 1]}
        del ordered
        if not repeated:
            return []
        first: dict[int, int] = {}
        out: list[tuple[int, int]] = []
        for key, line in zip(self.keys, self.lines, strict=True):
            if key in repeated:
                if key in first:
                    out.append((line, first[key]))
                else:
                    first[key] = line
        out.sort()
        return out
