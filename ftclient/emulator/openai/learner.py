"""The emulator's honest models.

A tuned model answers by nearest neighbour: it finds the training example whose input (the messages
before the last assistant turn) is most similar to the request, by cosine similarity of TF-IDF weighted
character 1-3-grams (so Chinese and other unsegmented scripts work), and returns that example's answer.
A base model has seen nothing: for a system prompt that lists labels it picks the label sharing the
most words with the input, otherwise it echoes the input's first sentence. Both are deterministic, so
an evaluation against the emulator shows a real difference, and one anybody can explain.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*|\n+")


def content_text(content: Any) -> str:
    """Text of a message's ``content``: a string, or the text parts of a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def split_example(messages: Sequence[Mapping[str, Any]]) -> tuple[list[Mapping[str, Any]], str] | None:
    """(prompt messages, answer) of a training example: everything before the last assistant turn."""
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].get("role") == "assistant":
            return list(messages[:index]), content_text(messages[index].get("content"))
    return None


def prompt_text(messages: Iterable[Mapping[str, Any]]) -> str:
    return "\n".join(content_text(message.get("content")) for message in messages)


def _normalise(text: str) -> str:
    return _SPACE.sub(" ", text.lower()).strip()


def _grams(text: str) -> Counter[str]:
    norm = _normalise(text)
    grams: Counter[str] = Counter()
    for n in (1, 2, 3):
        for start in range(len(norm) - n + 1):
            gram = norm[start : start + n]
            if n == 1 and not gram.strip():
                continue
            grams[gram] += 1
    return grams


class NearestNeighbour:
    """Cosine similarity over TF-IDF character n-grams; ties go to the earliest example."""

    CACHE_SIZE = 4096

    def __init__(self, examples: Sequence[tuple[str, str]]) -> None:
        if not examples:
            raise ValueError("a nearest-neighbour model needs at least one example")
        self.answers = [answer for _, answer in examples]
        self._exact: dict[str, int] = {}
        for index, (prompt, _) in enumerate(examples):
            self._exact.setdefault(_normalise(prompt), index)
        counts = [_grams(prompt) for prompt, _ in examples]
        total = len(examples)
        document_frequency: Counter[str] = Counter()
        for grams in counts:
            document_frequency.update(grams.keys())
        # Grams in more than half of the examples (a shared system prompt, common letters) say nothing
        # about which example is nearest and would make every lookup scan every example.
        ceiling = max(1, total // 2) if total >= 4 else total
        self._idf = {
            gram: math.log((total + 1) / (df + 1)) + 1.0 for gram, df in document_frequency.items() if df <= ceiling
        }
        self._postings: dict[str, list[tuple[int, float]]] = {}
        for index, grams in enumerate(counts):
            vector = self._vector(grams)
            for gram, weight in vector.items():
                self._postings.setdefault(gram, []).append((index, weight))
        self._cache: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._lock = threading.Lock()

    def _vector(self, grams: Counter[str]) -> dict[str, float]:
        weights = {g: (1.0 + math.log(c)) * self._idf[g] for g, c in grams.items() if g in self._idf}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        return {g: w / norm for g, w in weights.items()}

    def nearest(self, text: str) -> tuple[int, float]:
        """(index of the nearest example, cosine similarity in [0, 1])."""
        key = _normalise(text)
        if key in self._exact:
            return self._exact[key], 1.0
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        scores: dict[int, float] = {}
        for gram, weight in self._vector(_grams(text)).items():
            for index, doc_weight in self._postings.get(gram, ()):
                scores[index] = scores.get(index, 0.0) + weight * doc_weight
        best = min(scores.items(), key=lambda item: (-item[1], item[0])) if scores else (0, 0.0)
        result = (best[0], min(1.0, best[1]))
        with self._lock:
            self._cache[key] = result
            if len(self._cache) > self.CACHE_SIZE:
                self._cache.popitem(last=False)
        return result

    def answer(self, messages: Sequence[Mapping[str, Any]]) -> tuple[str, float]:
        index, score = self.nearest(prompt_text(messages))
        return self.answers[index], score


# -- the base model ------------------------------------------------------------------------------

_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+(.+?)\s*$", re.MULTILINE)
_LIST_SEPARATORS = re.compile(r"\s*(?:,|，|、|\||;|；|/|\bor\b|或)\s*")
_STRIP = " \t\"'`“”‘’«».。:：()[]"


def extract_labels(system: str) -> list[str]:
    """Labels a classification prompt lists: bullet lines, or a separated list after a colon."""
    bullets = [_clean_label(b) for b in _BULLET.findall(system)]
    bullets = [b for b in bullets if _looks_like_label(b)]
    if len(bullets) >= 2:
        return bullets
    for line in reversed(system.splitlines()):
        for colon in (":", "："):
            if colon not in line:
                continue
            tail = line.rsplit(colon, 1)[1]
            tail = re.split(r"(?<=[^\s.])[.。](?:\s|$)", tail, maxsplit=1)[0]
            items = [_clean_label(item) for item in _LIST_SEPARATORS.split(tail)]
            items = [item for item in items if item]
            if 2 <= len(items) <= 50 and all(_looks_like_label(item) for item in items):
                return items
    return []


def _clean_label(text: str) -> str:
    return text.strip(_STRIP)


def _looks_like_label(text: str) -> bool:
    return 0 < len(text) <= 40 and len(text.split()) <= 4


def _words(text: str) -> set[str]:
    lowered = text.lower()
    words = set(_WORD.findall(lowered))
    words.update(_CJK.findall(lowered))
    return words


def pick_label(labels: Sequence[str], text: str) -> str:
    """The label sharing the most words (or 4-letter stems, or CJK characters) with ``text``; ties -> first."""
    words = _words(text)
    stems = {w[:4] for w in words if len(w) >= 4}

    def overlap(label: str) -> int:
        label_words = _words(label.replace("_", " ").replace("-", " "))
        return sum(1 for w in label_words if w in words or (len(w) >= 4 and w[:4] in stems))

    return max(labels, key=lambda label: (overlap(label), -labels.index(label)))


def first_sentence(text: str) -> str:
    for piece in _SENTENCE_END.split(text.strip()):
        if piece.strip():
            return piece.strip()
    return ""


def baseline_answer(messages: Sequence[Mapping[str, Any]]) -> str:
    system = "\n".join(content_text(m.get("content")) for m in messages if m.get("role") in {"system", "developer"})
    users = [content_text(m.get("content")) for m in messages if m.get("role") == "user"]
    user = users[-1] if users else prompt_text(messages)
    labels = extract_labels(system)
    if labels:
        return pick_label(labels, user)
    return first_sentence(user) or user
