"""Azure's data rules as its documentation states them: files under 512 MB (``includes/fine-tuning-rest.md``
@ 09d4707), and the longest example per model (``includes/fine-tune-models.md`` @ 1e62f38: 65,536 tokens,
32,768 for gpt-4.1-nano)."""

from __future__ import annotations

import json
from pathlib import Path

from ftclient.dataset.rules import rules_for
from ftclient.dataset.validate import validate
from ftclient.emulator.azure import catalog


def test_files_must_be_under_512_mb_on_both_sides() -> None:
    published = 512 * 1024**2  # "files must be less than 512 MB"
    assert rules_for("azure").max_file_bytes == published - 1
    assert published == catalog.MAX_FILE_BYTES  # the emulator refuses len >= this


def test_the_longest_example_depends_on_the_model(tmp_path: Path) -> None:
    rows = [
        {"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "a"}]} for i in range(12)
    ]
    rows[2]["messages"][0]["content"] = "word " * 40_000  # about 40,000 tokens
    path = tmp_path / "long.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    nano = validate(path, provider="azure", model="gpt-4.1-nano-2025-04-14")
    assert [(p.line, p.code) for p in nano.problems if p.severity == "error"] == [(3, "too-many-tokens")]
    assert "32,768" in next(p.message for p in nano.problems if p.code == "too-many-tokens")
    assert validate(path, provider="azure", model="gpt-4.1-mini-2025-04-14").ok
