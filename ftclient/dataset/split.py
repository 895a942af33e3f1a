"""Seeded, deterministic train/validation/test split, stratified by label for classification.

The same rows, seed and ratios always give the same assignment (Python's ``random.Random`` seeded with a
string is stable across runs and platforms). Stratified splits put every label in every split whenever
the label has at least one example per non-empty split.
"""

from __future__ import annotations

import math
import random
import re
from collections import defaultdict
from collections.abc import Sequence

from ftclient.errors import UserInputError

SPLIT_NAMES = ("train", "validation", "test")
DROPPED = 255


def parse_split(value: str | Sequence[float]) -> tuple[float, float, float]:
    """``"80/10/10"``, ``"0.8,0.1,0.1"`` or a 3-sequence -> ratios summing to 1."""
    if isinstance(value, str):
        parts = [p for p in re.split(r"[/,:\s]+", value.strip()) if p]
        try:
            numbers = [float(p.rstrip("%")) for p in parts]
        except ValueError:
            numbers = []
    else:
        numbers = [float(v) for v in value]
    if (
        len(numbers) != 3
        or not all(math.isfinite(n) for n in numbers)  # "nan" and "inf" parse as floats
        or any(n < 0 for n in numbers)
        or sum(numbers) <= 0
        or numbers[0] <= 0
    ):
        raise UserInputError(
            f"--split {value!r} is not three finite, non-negative shares with a training share",
            hint="write train/validation/test shares, e.g. --split 80/10/10 or --split 0.9,0.1,0",
        )
    total = sum(numbers)
    train, validation, test = (n / total for n in numbers)
    return (round(train, 6), round(validation, 6), round(test, 6))


def _counts(n: int, ratios: tuple[float, float, float], *, ensure_each: bool) -> tuple[int, int, int]:
    _, r_val, r_test = ratios
    n_val = round(n * r_val)
    n_test = round(n * r_test)
    if ensure_each:
        wanted = [r > 0 for r in (r_val, r_test)]
        if n >= 1 + sum(wanted):  # room for one in every non-empty split
            n_val = max(n_val, 1) if wanted[0] else 0
            n_test = max(n_test, 1) if wanted[1] else 0
        elif n == 2 and wanted[1]:
            n_val, n_test = 0, 1
        else:
            n_val = n_test = 0
    while n_val + n_test >= n and n_val + n_test > 0:
        if n_val >= n_test and n_val > 0:
            n_val -= 1
        else:
            n_test -= 1
    return n - n_val - n_test, n_val, n_test


def assign(
    members: Sequence[tuple[int, str | None]],
    ratios: tuple[float, float, float],
    seed: int,
    *,
    stratify: bool,
    size: int,
) -> bytearray:
    """Split index (0 train, 1 validation, 2 test) per ordinal; ``DROPPED`` for ordinals not in ``members``.

    ``members`` are (ordinal, label) pairs; with ``stratify`` each label is split on its own.
    """
    out = bytearray([DROPPED]) * size
    groups: dict[str, list[int]] = defaultdict(list)
    for ordinal, label in members:
        groups[(label or "") if stratify else ""].append(ordinal)
    for label in sorted(groups):
        ordinals = sorted(groups[label])
        random.Random(f"ftclient-split:{seed}:{label}").shuffle(ordinals)
        n_train, n_val, _ = _counts(len(ordinals), ratios, ensure_each=stratify)
        for position, ordinal in enumerate(ordinals):
            out[ordinal] = 0 if position < n_train else 1 if position < n_train + n_val else 2
    return out
