"""prepare: task presets, dropped rows by line, split and manifest, cost, .latest and the registry."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest
from conftest import EXAMPLES, FIXTURES

from ftclient.dataset.manifest import Manifest
from ftclient.dataset.prepare import prepare
from ftclient.dataset.validate import validate
from ftclient.errors import DatasetError, UserInputError

DATA = FIXTURES / "datasets"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_excel_style_csv_prepares_cleanly_with_every_dropped_row_reported() -> None:
    report = prepare(DATA / "excel_style.csv")
    assert [(p.line, p.code, p.related_lines) for p in report.dropped] == [
        (12, "blank-row", ()),
        (13, "blank-row", ()),
        (17, "duplicate", (4,)),
        (22, "empty-field", ()),
        (28, "near-duplicate", (9,)),
    ]
    m = report.manifest
    assert m.task == "classify"
    assert m.columns == {"text": "Ticket text", "label": "Label"}
    assert m.labels == ["account", "billing", "bug"]  # "  account  " trimmed
    # 38 rows at 80/10/10: 4 validation examples are under the 10 a validation file needs, so they train
    assert m.split.sizes == {"train": 34, "validation": 0, "test": 4}
    assert [w.code for w in report.warnings if w.code == "validation-too-small"] == ["validation-too-small"]
    for split in ("train", "test"):
        assert set(report.splits[split].labels) == {"account", "billing", "bug"}
    everything = [_lines(report.out_dir / f"{split}.jsonl") for split in ("train", "validation", "test")]
    texts = [row["messages"][1]["content"] for rows in everything for row in rows]  # type: ignore[index]
    assert "A ticket that spans\ntwo lines, with a comma" in texts  # CRLF inside a quoted field -> LF
    assert len(texts) == len(set(texts)) == 38
    assert validate(report.out_dir / "train.jsonl").ok


def test_manifest_identity_files_and_cost() -> None:
    report = prepare(EXAMPLES / "support_tickets.csv", model="gpt-4o-mini-2024-07-18")
    m = Manifest.load(report.out_dir)
    assert m == report.manifest
    shas = {}
    for split in ("train", "validation", "test"):
        data = (report.out_dir / f"{split}.jsonl").read_bytes()
        shas[split] = hashlib.sha256(data).hexdigest()
        assert m.files[split].sha256 == shas[split]
        assert m.files[split].examples == data.count(b"\n")
        assert m.files[split].path == f"{split}.jsonl"
    assert m.dataset_sha256 == hashlib.sha256((shas["train"] + shas["validation"] + shas["test"]).encode()).hexdigest()
    assert m.source.sha256 == hashlib.sha256((EXAMPLES / "support_tickets.csv").read_bytes()).hexdigest()
    assert m.target.model == "gpt-4o-mini-2024-07-18"
    assert m.cost is not None
    assert m.cost["epochs"] == 3
    assert m.cost["billed_tokens_total"] == 3 * m.files["train"].tokens
    assert m.cost["usd"] == pytest.approx(m.cost["billed_tokens_total"] * 3.0 / 1e6, abs=1e-4)
    assert m.cost["price_as_of"] == "2025-06-15"
    assert m.leakage == {"checked": True, "inputs_in_two_splits": 0}
    assert "## Labels" in (report.out_dir / "report.md").read_text()
    assert report.out_dir == Path("ftdata/support_tickets")


def test_test_split_ends_with_the_reference_answer() -> None:
    report = prepare(EXAMPLES / "support_tickets.csv")
    for row in _lines(report.out_dir / "test.jsonl"):
        messages = row["messages"]
        assert messages[-1]["role"] == "assistant"  # type: ignore[index]
        assert messages[-1]["content"] in report.manifest.labels  # type: ignore[index]
        assert messages[0]["content"] == report.manifest.system_prompt  # type: ignore[index]


def test_latest_and_registry(tmp_path: Path) -> None:
    from ftclient.registry import Registry

    report = prepare(EXAMPLES / "translate_en_zh.csv", out=tmp_path / "out")
    assert (Path("ftdata") / ".latest").read_text().strip() == str((tmp_path / "out").resolve())
    latest = Registry().latest_dataset()
    assert latest is not None
    assert latest[0] == (tmp_path / "out").resolve()
    assert latest[1].dataset_sha256 == report.manifest.dataset_sha256


def test_translate_languages_from_column_names() -> None:
    report = prepare(EXAMPLES / "translate_en_zh.csv")
    m = report.manifest
    assert m.task == "translate"
    assert m.languages is not None and (m.languages.source, m.languages.target) == ("English", "Chinese")
    assert m.system_prompt == "Translate the text from English to Chinese. Answer with the translation only."
    reversed_ = prepare(EXAMPLES / "translate_en_zh.csv", source_lang="zh", out="rev")
    assert reversed_.manifest.columns == {"source": "zh", "target": "en"}


def test_summarize_from_jsonl() -> None:
    report = prepare(EXAMPLES / "summarize_news.jsonl")
    assert report.manifest.task == "summarize"
    assert report.manifest.columns == {"text": "article", "summary": "summary"}
    assert report.examples == 220


def test_extract_output_must_be_json() -> None:
    report = prepare(DATA / "extract_bad_json.csv", task="extract")
    assert [(p.line, p.code, p.path) for p in report.dropped] == [(13, "output-not-json", "output")]
    first = _lines(report.out_dir / "train.jsonl")[0]
    assert json.loads(first["messages"][-1]["content"])["customer"] == "Ann"  # type: ignore[index]


def test_extract_output_nested_too_deep_is_a_dropped_row_not_a_crash(tmp_path: Path) -> None:
    rows = (DATA / "extract_bad_json.csv").read_text(encoding="utf-8").splitlines()
    rows[4] = 'Order 4 for Ann,"' + "[" * 50_000 + "]" * 50_000 + '"'
    path = tmp_path / "deep.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    report = prepare(path, task="extract", out=tmp_path / "out")
    assert (5, "output-not-json", "output") in [(p.line, p.code, p.path) for p in report.dropped]


def test_preference_rows_become_dpo_lines(tmp_path: Path) -> None:
    path = tmp_path / "prefs.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["prompt", "chosen", "rejected"])
        for i in range(30):
            writer.writerow([f"Greet customer {i}", f"Hello customer {i}, how can I help?", "hi"])
        writer.writerow(["Greet customer x", "same", "same"])
    report = prepare(path, model="gpt-4.1-mini-2025-04-14")
    assert report.manifest.method == "dpo"
    assert [(p.line, p.code) for p in report.dropped] == [(32, "preference-identical")]
    line = _lines(report.out_dir / "train.jsonl")[0]
    assert set(line) == {"input", "preferred_output", "non_preferred_output"}
    assert validate(report.out_dir / "train.jsonl").ok
    test = _lines(report.out_dir / "test.jsonl")[0]
    assert test["messages"][-1]["role"] == "assistant"  # type: ignore[index]


def test_chat_rows_and_system_override(tmp_path: Path) -> None:
    path = tmp_path / "chats.jsonl"
    with path.open("w") as handle:
        for i in range(20):
            messages = [
                {"role": "system", "content": "old"},
                {"role": "user", "content": f"hello {i}"},
                {"role": "assistant", "content": f"hi {i}"},
            ]
            handle.write(json.dumps({"messages": messages}) + "\n")
    report = prepare(path, system="Be brief.")
    assert report.manifest.task == "chat"
    for row in _lines(report.out_dir / "train.jsonl"):
        assert row["messages"][0] == {"role": "system", "content": "Be brief."}  # type: ignore[index]
        assert len(row["messages"]) == 3  # type: ignore[arg-type]


def test_column_flags_and_autodetect_errors(tmp_path: Path) -> None:
    with pytest.raises(UserInputError) as info:
        prepare(DATA / "unknown_columns.csv")
    assert "foo, bar" in info.value.message
    with pytest.raises(UserInputError) as info:
        prepare(DATA / "unknown_columns.csv", task="classify")
    assert "--text-col" in (info.value.hint or "")
    report = prepare(DATA / "unknown_columns.csv", task="summarize", text_col="foo", output_col="bar")
    assert report.manifest.columns == {"text": "foo", "summary": "bar"}
    with pytest.raises(UserInputError, match="no such column"):
        prepare(DATA / "unknown_columns.csv", task="classify", text_col="nope", label_col="bar")


def test_split_option_and_too_few_examples(tmp_path: Path) -> None:
    report = prepare(EXAMPLES / "summarize_news.jsonl", split="90/10/0")
    assert report.manifest.split.sizes["test"] == 0
    assert report.manifest.split.ratios == (0.9, 0.1, 0.0)
    with pytest.raises(UserInputError, match="split"):
        prepare(EXAMPLES / "summarize_news.jsonl", split="0/50/50")
    small = tmp_path / "small.csv"
    small.write_text("text,label\n" + "".join(f"t{i},a\n" for i in range(8)))
    with pytest.raises(DatasetError, match="at least 10"):
        prepare(small)


def test_token_limit_drops_rows(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    rows = ["text,label"] + [f"short text {i},a" for i in range(20)] + [" ".join(f"w{i}" for i in range(3000)) + ",a"]
    path.write_text("\n".join(rows) + "\n")
    report = prepare(path, model="gpt-3.5-turbo-0613")
    assert [(p.line, p.code) for p in report.dropped] == [(22, "too-many-tokens")]


def test_special_token_rows_are_dropped_with_their_column(tmp_path: Path) -> None:
    path = tmp_path / "special.csv"
    path.write_text("text,label\n" + "".join(f"text {i},a\n" for i in range(15)) + "bad <|endoftext|> here,a\n")
    report = prepare(path)
    assert [(p.line, p.code, p.path) for p in report.dropped] == [(17, "special-token", "text")]


def test_together_target_counts_are_marked_estimates() -> None:
    report = prepare(EXAMPLES / "summarize_news.jsonl", provider="together", model="Qwen/Qwen3-8B")
    assert report.manifest.token_counts_exact is False
    assert report.cost is None
    assert report.manifest.target.provider == "together"


def test_python_api_is_exported_from_the_package() -> None:
    import ftclient

    report = ftclient.prepare(EXAMPLES / "support_tickets.csv", out="api")
    assert report.out_dir == Path("api")
    assert ftclient.validate(report.out_dir / "train.jsonl").ok
