"""Property tests: the split is deterministic (byte-identical files) and never leaks an input across splits."""

from __future__ import annotations

import csv
import json
import string
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ftclient.dataset.prepare import check_leakage, prepare
from ftclient.dataset.split import DROPPED, assign
from ftclient.errors import DatasetError

LABELS = ["billing", "bug", "account", "shipping"]
# Few letters, so near-duplicates are common: case, full-width forms, ASCII and CJK punctuation, odd spaces.
ALPHABET = "ab 退款 ,.!ABＡＢ，！。、「」《》…\u3000\n"
texts = st.text(alphabet=st.sampled_from(ALPHABET), min_size=1, max_size=12)
rows = st.lists(st.tuples(texts, st.sampled_from(LABELS)), min_size=12, max_size=60)


def reference_form(text: str) -> str:
    """What a person would call the same input, decided here without ftclient's own normalisation: NFKC,
    case folded, every punctuation character (Unicode category P*, and ASCII punctuation) a space, spaces
    collapsed."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(" " if unicodedata.category(c).startswith("P") or c in string.punctuation else c for c in text)
    return " ".join(text.split())


def _write(path: Path, data: list[tuple[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(data)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=rows, seed=st.integers(0, 2**31 - 1))
def test_same_input_and_seed_give_byte_identical_files_and_no_leakage(
    tmp_path: Path, data: list[tuple[str, str]], seed: int
) -> None:
    source = tmp_path / "in.csv"
    _write(source, data)
    try:
        first = prepare(source, seed=seed, out=tmp_path / "a", data_dir=tmp_path / "d")
    except DatasetError:
        return  # too few distinct rows left: nothing to split
    second = prepare(source, seed=seed, out=tmp_path / "b", data_dir=tmp_path / "d")
    inputs: dict[str, str] = {}
    for split in ("train", "validation", "test"):
        a = (tmp_path / "a" / f"{split}.jsonl").read_bytes()
        assert a == (tmp_path / "b" / f"{split}.jsonl").read_bytes()
        for line in a.decode().splitlines():
            key = reference_form(json.loads(line)["messages"][1]["content"])
            assert inputs.setdefault(key, split) == split, f"{key!r} is in {inputs[key]} and {split}"
    assert first.manifest.dataset_sha256 == second.manifest.dataset_sha256


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(1, 40), min_size=1, max_size=6),
    seed=st.integers(0, 10**6),
    ratios=st.sampled_from([(0.8, 0.1, 0.1), (0.7, 0.2, 0.1), (0.9, 0.1, 0.0), (0.5, 0.25, 0.25)]),
)
def test_stratified_assignment(counts: list[int], seed: int, ratios: tuple[float, float, float]) -> None:
    members = [(i, f"label{k}") for k, n in enumerate(counts) for i in [sum(counts[:k]) + j for j in range(n)]]
    size = len(members)
    once = assign(members, ratios, seed, stratify=True, size=size)
    assert once == assign(list(reversed(members)), ratios, seed, stratify=True, size=size)  # order-free
    assert DROPPED not in once
    for k, n in enumerate(counts):
        splits = Counter(once[i] for i, label in members if label == f"label{k}")
        wanted = [s for s, r in enumerate(ratios) if r > 0]
        if n >= len(wanted):
            assert set(splits) == set(wanted), (n, splits)
        assert splits[0] >= 1  # every label trains


def test_leakage_check_catches_an_input_in_two_splits() -> None:
    with pytest.raises(DatasetError, match=r"line 30 .* same input as line 10"):
        check_leakage([7, 8, 7], [10, 20, 30], bytearray([0, 1, 2]))
    check_leakage([7, 8, 7], [10, 20, 30], bytearray([0, 1, 0]))
