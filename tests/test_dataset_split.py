"""The split: share parsing, sizes against the requested shares, seeds, stratification and provider minimums.

Expected sizes and shares are computed here from the request, not by the split code.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest

from ftclient.dataset.prepare import prepare
from ftclient.dataset.split import DROPPED, MINIMUMS, assign, fit_minimums, minimums_for, parse_split
from ftclient.dataset.validate import validate
from ftclient.errors import DatasetError, UserInputError

RATIOS = [(0.8, 0.1, 0.1), (0.7, 0.2, 0.1), (0.9, 0.1, 0.0), (0.6, 0.0, 0.4), (0.5, 0.25, 0.25), (1.0, 0.0, 0.0)]


@pytest.mark.parametrize(
    "text",
    ["80/10/10", "80%/10%/10%", "80:10:10", "0.8,0.1,0.1", "80 10 10", " 8/1/1 ", "80% / 10% / 10%", "40,5,5"],
)
def test_share_spellings(text: str) -> None:
    assert parse_split(text) == pytest.approx((0.8, 0.1, 0.1))


def test_shares_from_a_sequence_and_zero_shares() -> None:
    assert parse_split([9, 1, 0]) == pytest.approx((0.9, 0.1, 0.0))
    assert parse_split("90/0/10") == pytest.approx((0.9, 0.0, 0.1))
    assert parse_split("1/0/0") == (1.0, 0.0, 0.0)


@pytest.mark.parametrize(
    "text",
    ["80/10/5/5", "80/20", "", "a/b/c", "nan/10/10", "inf/10/10", "10/nan/10", "80/-10/30", "0/50/50", "0/0/0"],
)
def test_bad_shares_are_a_clear_error(text: str) -> None:
    with pytest.raises(UserInputError) as info:
        parse_split(text)
    assert "--split" in str(info.value)
    assert "80/10/10" in (info.value.hint or "")


def test_four_shares_say_three_are_needed() -> None:
    with pytest.raises(UserInputError, match="three"):
        parse_split("70/10/10/10")
    with pytest.raises(UserInputError, match="three"):
        parse_split([0.7, 0.1, 0.1, 0.1])


def _sizes(assignment: bytearray) -> tuple[int, int, int]:
    counts = Counter(assignment)
    return counts[0], counts[1], counts[2]


@pytest.mark.parametrize("ratios", RATIOS)
def test_sizes_follow_the_requested_shares_for_every_size(ratios: tuple[float, float, float]) -> None:
    for n in range(1, 301):
        members = [(i, None) for i in range(n)]
        n_train, n_val, n_test = _sizes(assign(members, ratios, 42, stratify=False, size=n))
        assert n_train + n_val + n_test == n
        assert n_train >= 1, n  # something always trains
        if ratios[1] == 0:
            assert n_val == 0
        if ratios[2] == 0:
            assert n_test == 0
        if n * ratios[0] >= 2:  # no room-making needed: each split is the share, rounded
            assert abs(n_val - n * ratios[1]) <= 0.5 + 1e-9, (n, n_val)
            assert abs(n_test - n * ratios[2]) <= 0.5 + 1e-9, (n, n_test)


def test_sizes_of_small_sets() -> None:
    members = [(i, None) for i in range(10)]
    assert _sizes(assign(members, (0.8, 0.1, 0.1), 1, stratify=False, size=10)) == (8, 1, 1)
    assert _sizes(assign(members[:2], (0.1, 0.45, 0.45), 1, stratify=False, size=2)) == (1, 0, 1)
    assert _sizes(assign(members[:1], (0.1, 0.45, 0.45), 1, stratify=False, size=1)) == (1, 0, 0)
    assert _sizes(assign(members[:3], (0.1, 0.45, 0.45), 1, stratify=False, size=3)) == (1, 1, 1)


def test_stratified_sizes_stay_close_to_the_shares() -> None:
    members = [(i, f"l{i % 4}") for i in range(400)]
    assert _sizes(assign(members, (0.8, 0.1, 0.1), 3, stratify=True, size=400)) == (320, 40, 40)
    members = [(i, f"l{i % 3}") for i in range(90)]
    assert _sizes(assign(members, (0.5, 0.25, 0.25), 3, stratify=True, size=90)) == (46, 22, 22)


@pytest.mark.parametrize("ratios", RATIOS)
@pytest.mark.parametrize("labels", [2, 3, 5])
def test_stratified_totals_follow_the_shares_for_many_sizes(ratios: tuple[float, float, float], labels: int) -> None:
    for n in range(labels * 12, 400, 7):
        members = [(i, f"l{i % labels}") for i in range(n)]
        n_train, n_val, n_test = _sizes(assign(members, ratios, n, stratify=True, size=n))
        assert n_train + n_val + n_test == n
        assert abs(n_val - n * ratios[1]) <= 0.5 + 1e-9, (n, n_val)
        assert abs(n_test - n * ratios[2]) <= 0.5 + 1e-9, (n, n_test)


def test_rows_not_in_members_are_dropped() -> None:
    out = assign([(0, None), (2, None), (4, None)], (1.0, 0.0, 0.0), 1, stratify=False, size=6)
    assert list(out) == [0, DROPPED, 0, DROPPED, 0, DROPPED]


def test_different_seeds_give_different_assignments() -> None:
    members = [(i, None) for i in range(60)]
    seen = {bytes(assign(members, (0.8, 0.1, 0.1), seed, stratify=False, size=60)) for seed in range(20)}
    assert len(seen) == 20
    strat = [(i, f"l{i % 3}") for i in range(60)]
    a = assign(strat, (0.8, 0.1, 0.1), 1, stratify=True, size=60)
    assert a != assign(strat, (0.8, 0.1, 0.1), 2, stratify=True, size=60)
    assert a == assign(list(reversed(strat)), (0.8, 0.1, 0.1), 1, stratify=True, size=60)


def test_the_assignment_of_a_seed_never_changes_between_versions() -> None:
    """Pinned: a user re-running prepare with the same seed gets the same files, so a change must be deliberate."""
    members = [(i, None) for i in range(50)]
    plain = assign(members, (0.8, 0.1, 0.1), 42, stratify=False, size=50)
    assert hashlib.sha256(plain).hexdigest()[:16] == "4811d509baca146c"
    strat = [(i, f"l{i % 3}") for i in range(50)]
    stratified = assign(strat, (0.8, 0.1, 0.1), 42, stratify=True, size=50)
    assert hashlib.sha256(stratified).hexdigest()[:16] == "62f66f80698adcbe"


@pytest.mark.parametrize("ratios", [(0.2, 0.4, 0.4), (0.1, 0.45, 0.45), (0.34, 0.33, 0.33), (0.4, 0.6, 0.0)])
def test_every_label_trains_even_with_a_small_training_share(ratios: tuple[float, float, float]) -> None:
    counts = list(range(1, 26))
    members = [(i, f"l{k}") for k, n in enumerate(counts) for i in range(sum(counts[:k]), sum(counts[:k]) + n)]
    out = assign(members, ratios, 9, stratify=True, size=len(members))
    for k, n in enumerate(counts):
        per_split = Counter(out[i] for i, label in members if label == f"l{k}")
        assert per_split[0] >= 1, (n, per_split)
        wanted = [s for s, r in enumerate(ratios) if r > 0]
        if n >= len(wanted):
            assert set(per_split) == set(wanted), (n, per_split)


PUBLISHED_MINIMUMS = {"openai": 10, "together": 1, "fireworks": 3}
"""OpenAI's fine-tuning guide (at least 10 examples), together 1.6.0 check_file (MIN_SAMPLES = 1), Fireworks'
dataset docs (at least 3)."""


@pytest.mark.parametrize("provider", sorted(PUBLISHED_MINIMUMS))
def test_minimums_name_their_source_and_match_what_validate_asks(provider: str) -> None:
    from ftclient.dataset.rules import rules_for

    rule = minimums_for(provider)
    assert rule.train == rule.validation == PUBLISHED_MINIMUMS[provider]
    assert rules_for(provider).min_examples == PUBLISHED_MINIMUMS[provider]  # as validate asks
    assert rule.source


def test_an_unknown_provider_gets_openais_minimums() -> None:
    assert minimums_for("openai") == MINIMUMS["openai"]
    assert minimums_for("somewhere-else") == MINIMUMS["openai"]


def test_a_small_validation_split_trains_instead() -> None:
    assignment = bytearray([0] * 48 + [1] * 8 + [2] * 8)
    notes = fit_minimums(assignment, minimums_for("openai"), label="in.csv")
    assert _sizes(assignment) == (56, 0, 8)
    assert len(notes) == 1 and "8" in notes[0].message and "validation" in notes[0].message
    assert notes[0].severity == "warning"
    kept = bytearray([0] * 40 + [1] * 10 + [2] * 10)
    assert fit_minimums(kept, minimums_for("openai"), label="in.csv") == []
    assert _sizes(kept) == (40, 10, 10)


def test_too_few_training_examples_say_which_split_would_work() -> None:
    assignment = bytearray([0] * 6 + [1] * 2 + [2] * 8)
    with pytest.raises(DatasetError) as info:
        fit_minimums(assignment, minimums_for("openai"), label="in.csv")
    assert "8 training example" in str(info.value)  # after taking the validation rows
    assert "--split" in (info.value.hint or "")
    assert "63/0/37" in (info.value.hint or "")
    with pytest.raises(DatasetError) as info:
        fit_minimums(bytearray([0] * 5 + [2] * 2), minimums_for("openai"), label="in.csv")
    assert "add examples" in (info.value.hint or "")


def _write_rows(path: Path, n: int, labels: int = 4) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for i in range(n):
            writer.writerow([f"ticket number {i} about topic {i * 7 % 13} and {i * 3 % 11}", f"label{i % labels}"])


@pytest.mark.parametrize(("rows", "split"), [(64, "80/10/10"), (30, "80/10/10"), (120, "80/10/10"), (64, "70/20/10")])
def test_prepare_never_writes_a_file_its_own_validate_rejects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows: int, split: str
) -> None:
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "tickets.csv"
    _write_rows(source, rows)
    report = prepare(source, split=split, out=tmp_path / "out", data_dir=tmp_path / "d")
    sizes = report.manifest.split.sizes
    assert sizes["train"] >= 10
    assert sizes["validation"] == 0 or sizes["validation"] >= 10
    for name in ("train", "validation"):
        path = tmp_path / "out" / f"{name}.jsonl"
        if sizes[name]:
            checked = validate(path, provider="openai")
            assert not checked.errors, [p.message for p in checked.errors]
        written = path.read_text(encoding="utf-8").count("\n") if path.exists() else 0
        assert written == sizes[name]


def test_the_64_row_case_trains_on_the_small_validation_split_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "tickets.csv"
    _write_rows(source, 64)
    report = prepare(source, out=tmp_path / "out", data_dir=tmp_path / "d")
    assert report.manifest.split.sizes == {"train": 58, "validation": 0, "test": 6}
    notes = [w for w in report.warnings if w.code == "validation-too-small"]
    assert notes and "under the 10" in notes[0].message
    lines = [json.loads(x) for x in (tmp_path / "out" / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 58


def test_prepare_refuses_before_writing_when_training_is_too_small(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "tickets.csv"
    _write_rows(source, 14)
    with pytest.raises(DatasetError, match="training example") as info:
        prepare(source, split="50/10/40", out=tmp_path / "out", data_dir=tmp_path / "d")
    assert "--split" in (info.value.hint or "")
    assert not (tmp_path / "out").exists()


def _per_label(sizes: tuple[int, ...], ratios: tuple[float, float, float]) -> list[tuple[int, int, int]]:
    members, start = [], 0
    for k, n in enumerate(sizes):
        members += [(i, f"l{k}") for i in range(start, start + n)]
        start += n
    out = assign(members, ratios, 1, stratify=True, size=start)
    return [_sizes(bytearray(out[i] for i, label in members if label == f"l{k}")) for k in range(len(sizes))]


def test_totals_are_corrected_on_the_label_whose_share_is_furthest_off() -> None:
    # 8 + 11 + 14 at 50/25/25: each label rounds to 2, 3, 4 -> 9 per split; the shares ask 8 (33 * 0.25)
    assert _per_label((8, 11, 14), (0.5, 0.25, 0.25)) == [(4, 2, 2), (5, 3, 3), (8, 3, 3)]
    # ties go to the first label in name order
    assert _per_label((8, 8, 8), (0.7, 0.2, 0.1)) == [(6, 1, 1), (5, 2, 1), (5, 2, 1)]


def test_a_split_that_cannot_shrink_does_not_stop_the_other() -> None:
    # ten labels of 10 at 50/5/45: validation keeps one per label (10, not 5); test still reaches its 45
    per_label = _per_label((10,) * 10, (0.5, 0.05, 0.45))
    assert sum(v for _, v, _ in per_label) == 10
    assert sum(t for _, _, t in per_label) == 45
    assert all(train >= 1 for train, _, _ in per_label)


def test_shares_are_recorded_to_six_places() -> None:
    assert parse_split("1/1/1") == (0.333333, 0.333333, 0.333333)
    assert parse_split("2/1/0") == (0.666667, 0.333333, 0.0)


def test_the_share_hint_is_exact() -> None:
    with pytest.raises(UserInputError) as info:
        parse_split("x")
    assert info.value.hint == "write train/validation/test shares, e.g. --split 80/10/10 or --split 0.9,0.1,0"


def test_fit_minimums_edges() -> None:
    assert minimums_for("together").source.startswith("Together")
    assert minimums_for("openai").source.startswith("OpenAI")
    one = bytearray([0] * 20 + [1] + [2] * 3)
    notes = fit_minimums(one, minimums_for("openai"), label="in.csv")
    assert _sizes(one) == (21, 0, 3)
    assert notes[0].message == (
        "the validation split would have 1 example(s), under the 10 a validation file needs; "
        "they train instead (21/0/3)"
    )
    assert notes[0].file == "in.csv" and notes[0].code == "validation-too-small"
    assert notes[0].hint == (
        "for a validation file, give it at least 10 examples (a larger --split share or more data)"
    )
    none = bytearray([0] * 20 + [2] * 3)
    assert fit_minimums(none, minimums_for("openai"), label="in.csv") == []
    exactly = bytearray([0] * 10 + [2] * 3)
    assert fit_minimums(exactly, minimums_for("openai"), label="in.csv") == []
    with pytest.raises(DatasetError) as info:
        fit_minimums(bytearray([0] * 5 + [2] * 5), minimums_for("openai"), label="in.csv")
    assert info.value.hint == "give training a larger share, e.g. --split 100/0/0"
    assert info.value.path == "in.csv"
    assert str(info.value.message) == (
        "in.csv: only 5 training example(s); at least 10 are needed (OpenAI fine-tuning guide: at least 10 examples)"
    )


@pytest.mark.parametrize(
    ("ratios", "expected"),
    [
        # one label of 1..6 examples: training first, then one in each non-empty split, then the shares
        ((0.8, 0.1, 0.1), [(1, 0, 0), (1, 0, 1), (1, 1, 1), (2, 1, 1), (3, 1, 1), (4, 1, 1)]),
        ((0.9, 0.1, 0.0), [(1, 0, 0), (1, 1, 0), (2, 1, 0), (3, 1, 0), (4, 1, 0), (5, 1, 0)]),
        ((0.5, 0.0, 0.5), [(1, 0, 0), (1, 0, 1), (1, 0, 2), (2, 0, 2), (3, 0, 2), (3, 0, 3)]),
        ((0.2, 0.4, 0.4), [(1, 0, 0), (1, 0, 1), (1, 1, 1), (1, 1, 2), (1, 2, 2), (2, 2, 2)]),
        ((0.1, 0.0, 0.9), [(1, 0, 0), (1, 0, 1), (1, 0, 2), (1, 0, 3), (1, 0, 4), (1, 0, 5)]),
    ],
)
def test_small_labels(ratios: tuple[float, float, float], expected: list[tuple[int, int, int]]) -> None:
    assert [_per_label((n,), ratios)[0] for n in range(1, 7)] == expected


def test_growing_a_split_takes_from_the_label_furthest_below_its_share() -> None:
    assert _per_label((4, 10), (0.5, 0.25, 0.25)) == [(2, 1, 1), (4, 3, 3)]
    assert _per_label((2, 4), (0.5, 0.25, 0.25)) == [(1, 0, 1), (1, 2, 1)]


def test_labels_are_ignored_without_stratification() -> None:
    labelled = [(i, f"l{i % 3}") for i in range(40)]
    plain = [(i, None) for i in range(40)]
    assert assign(labelled, (0.8, 0.1, 0.1), 5, stratify=False, size=40) == assign(
        plain, (0.8, 0.1, 0.1), 5, stratify=False, size=40
    )


def test_room_is_made_from_the_larger_held_out_split() -> None:
    # requested 0.9 of one example for test, 2.7 of three: training keeps one, test gives way first
    assert _sizes(assign([(0, None)], (0.1, 0.0, 0.9), 1, stratify=False, size=1)) == (1, 0, 0)
    members = [(i, None) for i in range(3)]
    assert _sizes(assign(members, (0.1, 0.0, 0.9), 1, stratify=False, size=3)) == (1, 0, 2)
    assert _sizes(assign(members, (0.1, 0.4, 0.5), 1, stratify=False, size=3)) == (1, 1, 1)


def test_a_split_that_cannot_grow_does_not_stop_the_other_from_shrinking() -> None:
    # five labels of 4 at 10/45/45: validation cannot grow (training keeps one per label), test shrinks to 9
    members = [(i, f"l{i % 5}") for i in range(20)]
    assert _sizes(assign(members, (0.1, 0.45, 0.45), 1, stratify=True, size=20)) == (6, 5, 9)


def test_unlabelled_rows_form_one_group_when_stratifying() -> None:
    unlabelled = [(i, None) for i in range(9)]
    blank = [(i, "") for i in range(9)]
    assert assign(unlabelled, (0.6, 0.2, 0.2), 3, stratify=True, size=9) == assign(
        blank, (0.6, 0.2, 0.2), 3, stratify=True, size=9
    )


def test_a_split_is_the_same_in_every_release_for_the_same_seed() -> None:
    """Rows are shuffled with ``random.Random("ftclient-split:SEED:LABEL")`` per label (the empty label for
    rows without one): a user who re-runs ``prepare --seed`` after an upgrade gets the same split. The
    reference below is Python's own generator under that seed, not ftclient's code."""
    import random

    members = [(i, None) for i in range(10)] + [(10 + i, "spam") for i in range(10)]
    out = assign(members, (0.8, 0.1, 0.1), 7, stratify=True, size=20)
    expected = bytearray(20)
    for label, ordinals in (("", list(range(10))), ("spam", list(range(10, 20)))):
        random.Random(f"ftclient-split:7:{label}").shuffle(ordinals)
        for position, ordinal in enumerate(ordinals):
            expected[ordinal] = 0 if position < 8 else 1 if position < 9 else 2
    assert out == expected
