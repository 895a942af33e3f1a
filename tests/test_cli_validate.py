"""ftclient validate: exit codes, --json, human report, no tracebacks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES

DATA = FIXTURES / "datasets"


def test_valid_file_exits_0_and_json_is_one_document(run_cli: Any) -> None:
    result = run_cli("validate", str(DATA / "valid_chat.jsonl"), "--json")
    assert result.exit_code == 0
    data = result.json()
    assert data["ok"] is True
    assert data["examples"] == 12
    assert data["tokens"]["exact"] is True
    assert data["cost"]["price_as_of"] == "2025-06-15"


def test_rejected_file_exits_1_with_lines_and_fixes(run_cli: Any) -> None:
    result = run_cli("validate", str(DATA / "special_token.jsonl"))
    assert result.exit_code == 1
    assert f"{DATA / 'special_token.jsonl'}:10 (messages[1].content)" in result.stderr
    assert "fix:" in result.stderr
    assert "the provider would reject" in result.stderr
    assert result.stdout == ""


def test_json_mode_reports_problems_on_stdout_and_exits_1(run_cli: Any) -> None:
    result = run_cli("validate", str(DATA / "weight_invalid.jsonl"), "--json")
    assert result.exit_code == 1
    data = result.json()
    assert data["ok"] is False
    assert [(p["line"], p["code"]) for p in data["problems"] if p["severity"] == "error"] == [(9, "invalid-weight")]


def test_model_option_applies_its_limit(run_cli: Any) -> None:
    assert run_cli("validate", str(DATA / "too_many_tokens.jsonl")).exit_code == 0
    result = run_cli("validate", str(DATA / "too_many_tokens.jsonl"), "--model", "gpt-3.5-turbo-0613")
    assert result.exit_code == 1
    assert ":11: " in result.stderr


def test_unknown_model_and_provider_are_known_errors(run_cli: Any) -> None:
    result = run_cli("validate", str(DATA / "valid_chat.jsonl"), "--model", "gpt-2")
    assert result.exit_code == 1
    assert "model-unknown" in result.stderr
    result = run_cli("validate", str(DATA / "valid_chat.jsonl"), "--provider", "nope")
    assert result.exit_code == 1
    assert "provider-unknown" in result.stderr


def test_usage_errors_exit_2(run_cli: Any) -> None:
    assert run_cli("validate").exit_code == 2
    assert run_cli("validate", "x.jsonl", "--method", "rl").exit_code == 2


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.iterdir() if p.suffix in {".jsonl", ".csv"}))
def test_no_traceback_for_any_fixture(run_cli: Any, name: str) -> None:
    result = run_cli("validate", str(DATA / name))
    assert result.exit_code in (0, 1)
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\x01\x02\xff\xfe",
        b"{}\n" * 20,
        b'{"messages": null}\n',
        b'{"messages": [1, 2]}\n',
        b"\xff" * 100,
        b"[[[[" * 50,
    ],
)
def test_no_traceback_for_garbage(run_cli: Any, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "garbage.jsonl"
    path.write_bytes(content)
    result = run_cli("validate", str(path), "--json")
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    assert result.json()["ok"] is False


def test_a_spreadsheet_is_pointed_to_prepare(run_cli: Any) -> None:
    from conftest import EXAMPLES

    result = run_cli("validate", str(EXAMPLES / "support_tickets.csv"), "--json")
    assert result.exit_code == 1
    problems = result.json()["problems"]
    assert any(p["code"] == "not-jsonl" and "ftclient prepare" in p["hint"] for p in problems)


@pytest.mark.parametrize(("epochs", "shown"), [(1, "1 epoch x 20,000 tokens"), (3, "3 epochs x 20,000 tokens")])
def test_cost_line_counts_epochs_in_words(epochs: int, shown: str) -> None:
    import io

    from rich.console import Console

    from ftclient.cli.dataset_report import render_cost
    from ftclient.dataset.stats import CostEstimate

    cost = CostEstimate(
        provider="openai",
        model="gpt-4.1-mini-2025-04-14",
        examples=15_000,
        epochs=epochs,
        billed_tokens_per_epoch=20_000,
        billed_tokens_total=20_000 * epochs,
        training_per_1m=5.0,
        usd=0.1 * epochs,
        price_as_of="2025-06-15",
        price_source="price table",
    )
    out = io.StringIO()
    render_cost(Console(file=out, width=200, color_system=None), cost)
    assert f"{shown} = {20_000 * epochs:,} billed tokens at $5.00/1M" in out.getvalue()
