"""Seeded, deterministic train/validation/test split, stratified by label for classification.

The same rows, seed and ratios always give the same assignment (Python's ``random.Random`` seeded with a
string is stable across runs and platforms). Stratified splits put every label in every split whenever
the label has at least one example per non-empty split, and every label in training whatever the shares.
A split is written only if the provider (and ``ftclient validate``) would take each file it uploads:
:func:`fit_minimums` moves a too-small validation split into training, or says why no split works.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from ftclient.errors import DatasetError, Problem, UserInputError

SPLIT_NAMES = ("train", "validation", "test")
DROPPED = 255


def parse_split(value: str | Sequence[float]) -> tuple[float, float, float]:
    """``"80/10/10"``, ``"80%/10%/10%"``, ``"80:10:10"``, ``"0.8,0.1,0.1"`` or a 3-sequence -> shares summing to 1."""
    hint = "write train/validation/test shares, e.g. --split 80/10/10 or --split 0.9,0.1,0"
    if isinstance(value, str):
        parts = [p for p in re.split(r"[/,:\s]+", value.strip()) if p]
        try:
            numbers = [float(p.rstrip("%").strip()) for p in parts]
        except ValueError:
            numbers = []
    else:
        numbers = [float(v) for v in value]
    if numbers and len(numbers) != 3:
        raise UserInputError(f"--split {value!r} has {len(numbers)} shares; it needs three", hint=hint)
    if len(numbers) != 3 or not all(math.isfinite(n) and n >= 0 for n in numbers) or numbers[0] <= 0:
        raise UserInputError(
            f"--split {value!r} is not three finite, non-negative shares with a training share", hint=hint
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
    names = sorted(groups)
    counts = {label: list(_counts(len(groups[label]), ratios, ensure_each=stratify)) for label in names}
    if stratify:
        _match_totals(counts, ratios)
    for label in names:
        ordinals = sorted(groups[label])
        random.Random(f"ftclient-split:{seed}:{label}").shuffle(ordinals)
        n_train, n_val, _ = counts[label]
        for position, ordinal in enumerate(ordinals):
            out[ordinal] = 0 if position < n_train else 1 if position < n_train + n_val else 2
    return out


def _match_totals(counts: dict[str, list[int]], ratios: tuple[float, float, float]) -> None:
    """Bring the stratified totals to the requested shares of the whole set, in place.

    Rounding each label's split on its own drifts (three labels of 30 at 50/25/25 give 42/24/24, not 46/22/22
    or 44/23/23). Validation and test each move one example at a time to or from training, taken from the
    label whose own share is furthest off, never emptying a label's training rows nor a split a label has."""
    total = sum(sum(c) for c in counts.values())
    for split in (1, 2):
        share = ratios[split]
        target = round(total * share)

        def error(label: str, split: int = split, share: float = share) -> float:
            return counts[label][split] - sum(counts[label]) * share

        while (have := sum(c[split] for c in counts.values())) != target:
            if have > target:
                shrink = [k for k, c in counts.items() if c[split] > 1]
                if not shrink:
                    break
                label = max(shrink, key=error)
                counts[label][split] -= 1
                counts[label][0] += 1
            else:
                grow = [k for k, c in counts.items() if c[0] > 1]
                if not grow:
                    break
                label = min(grow, key=error)
                counts[label][split] += 1
                counts[label][0] -= 1


@dataclass(frozen=True)
class Minimums:
    """The fewest examples a provider takes in an uploaded file, and where that is written down."""

    train: int
    validation: int
    source: str


MINIMUMS = {
    # OpenAI fine-tuning guide, "Example count recommendations" (as read 2026-11): "you are required to
    # provide at least 10 examples". No separate figure is published for the validation file; the same 10
    # is applied to it (validate checks every file against its provider's minimum).
    "openai": Minimums(10, 10, "OpenAI fine-tuning guide: at least 10 examples"),
    # Together's own file check (together 1.6.0 check_file, MIN_SAMPLES = 1): at least one sample per file.
    "together": Minimums(1, 1, "Together files check (together 1.6.0): at least 1 sample"),
    # Fireworks dataset docs: at least 3 examples per dataset.
    "fireworks": Minimums(3, 3, "Fireworks dataset docs: at least 3 examples"),
}
"""Kept equal to each provider's ``RuleSet.min_examples`` (a test compares them), so prepare never writes a
file its own ``validate`` or the provider would refuse."""


def minimums_for(provider: str) -> Minimums:
    return MINIMUMS.get(provider, MINIMUMS["openai"])


def fit_minimums(assignment: bytearray, minimums: Minimums, *, label: str) -> list[Problem]:
    """Make the split one the provider takes, in place, before anything is written or uploaded.

    A validation split under the minimum trains instead (a warning says so); too few training examples even
    then is an error that names a split that would work, or asks for more examples."""
    counts = Counter(assignment)
    n_train, n_val, n_test = counts[0], counts[1], counts[2]
    notes: list[Problem] = []
    if 0 < n_val < minimums.validation:
        for i, split in enumerate(assignment):
            if split == 1:
                assignment[i] = 0
        notes.append(
            Problem(
                "validation-too-small",
                f"the validation split would have {n_val} example(s), under the {minimums.validation} a "
                f"validation file needs; they train instead ({n_train + n_val}/0/{n_test})",
                f"for a validation file, give it at least {minimums.validation} examples (a larger --split "
                "share or more data)",
                file=label,
                severity="warning",
            )
        )
        n_train += n_val
    if n_train < minimums.train:
        total = n_train + n_test
        if total >= minimums.train:
            share = math.ceil(100 * minimums.train / total)
            hint = f"give training a larger share, e.g. --split {share}/0/{100 - share}"
        else:
            hint = f"add examples: {minimums.train} training examples are the minimum ({minimums.source})"
        raise DatasetError(
            f"{label}: only {n_train} training example(s); at least {minimums.train} are needed ({minimums.source})",
            hint=hint,
            path=label,
        )
    return notes
