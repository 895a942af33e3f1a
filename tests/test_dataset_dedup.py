"""Duplicate keys: what counts as the same input, checked against forms written out here by hand."""

from __future__ import annotations

import hashlib

import pytest

from ftclient.dataset.dedup import (
    DuplicateLog,
    example_key,
    key64,
    near_example_key,
    normalize,
    normalized_bytes,
)

# Ideographic punctuation that NFKC leaves in place, written out independently of the module's own list.
CJK_MARKS = [
    "。",
    "、",
    "「",
    "」",
    "『",
    "』",
    "【",
    "】",
    "《",
    "》",
    "〈",
    "〉",
    "…",
    "—",
    "～",
    "·",
    "“",
    "”",
    "‘",
    "’",
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello, World!", "hello world"),
        ("ＨＥＬＬＯ，　Ｗｏｒｌｄ！", "hello world"),  # full-width letters, comma, ideographic space
        ("ﬁle", "file"),  # a ligature NFKC splits
        ("Straße", "strasse"),  # case folding, not lower()
        ("  many\t\tspaces\n here ", "many spaces here"),
        ("你好。世界、「测试」", "你好 世界 测试"),
        ("退款【紧急】", "退款 紧急"),
        ("a-b_c(d)", "a b c d"),
        ("plain", "plain"),
        ("", ""),
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected
    assert normalized_bytes(text) == expected.encode("utf-8")


@pytest.mark.parametrize("mark", CJK_MARKS)
def test_every_cjk_punctuation_mark_is_dropped(mark: str) -> None:
    assert normalize(f"退款{mark}申请") == "退款 申请"
    assert normalize(f"{mark}申请{mark}") == "申请"


def test_ascii_punctuation_is_dropped_one_mark_at_a_time() -> None:
    for mark in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~":
        assert normalize(f"a{mark}b") == "a b", mark


def test_keys_are_stable_and_distinguish_texts() -> None:
    assert key64("hello") == 9022087748821825191
    assert key64("ftclient") == -3462519604903655168
    assert key64("hello") == int.from_bytes(hashlib.blake2b(b"hello", digest_size=8).digest(), "little", signed=True)
    assert example_key(("a", "b")) == example_key(("a", "b")) != example_key(("a", "c"))
    assert near_example_key(("Hello", "World")) == near_example_key(("hello", "WORLD"))
    assert near_example_key(("hello",)) != near_example_key(("hullo",))


def _log(keys: list[int]) -> DuplicateLog:
    log = DuplicateLog()
    for line, key in enumerate(keys, start=1):
        log.add(key, line)
    return log


@pytest.mark.parametrize("path", ["counted", "bitmap"])
def test_repeats_name_each_repeat_and_its_first_line(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if path == "bitmap":
        monkeypatch.setattr(DuplicateLog, "COUNT_UP_TO", 0)
        monkeypatch.setattr(DuplicateLog, "FILTER_BITS", 4)  # low bits collide: candidates are rechecked
    keys = [5, 7, 5, 9, 7, 5, 21, 37]  # 5, 21 and 37 share their low 4 bits without being equal
    assert _log(keys).repeats() == [(3, 1), (5, 2), (6, 1)]
    assert _log([1, 2, 3, 17, 33]).repeats() == []
    assert _log([]).repeats() == []


def test_logs_merge_with_line_offsets() -> None:
    first = _log([1, 2])
    second = DuplicateLog()
    second.add_many([2, 3], [1, 2])
    first.extend(second, line_offset=10)
    assert list(first.lines) == [1, 2, 11, 12]
    assert first.repeats() == [(11, 2)]
    first.extend(_log([3]))  # no offset: its line 1 stays line 1, and is the repeat of line 12
    assert list(first.lines) == [1, 2, 11, 12, 1]
    assert first.repeats() == [(1, 12), (11, 2)]
