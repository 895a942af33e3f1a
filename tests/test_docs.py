"""docs/ stays true: the generated references match the code, and every command is documented."""

from __future__ import annotations

from conftest import REPO

from ftclient.cli.app import COMMANDS
from ftclient.cli.reference import render_cli_reference, render_error_reference
from ftclient.errors import all_error_classes

DOCS = REPO / "docs"
REGENERATE = "docs are stale: run `python -m ftclient.cli.reference` and commit the result"


def test_cli_reference_is_current() -> None:
    assert (DOCS / "cli.md").read_text(encoding="utf-8") == render_cli_reference(), REGENERATE


def test_error_reference_is_current() -> None:
    assert (DOCS / "errors.md").read_text(encoding="utf-8") == render_error_reference(), REGENERATE


def test_every_available_command_and_option_is_in_the_reference() -> None:
    import click

    from ftclient.cli.app import cli

    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    ctx = click.Context(cli)
    for name in cli.list_commands(ctx):
        assert f"## `ftclient {name}" in text, f"{name} missing from docs/cli.md"
        command = cli.get_command(ctx, name)
        assert command is not None and name in COMMANDS
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("-"):
                    assert opt in text, f"{name} {opt} missing from docs/cli.md"


def test_every_error_reference_is_documented() -> None:
    text = (DOCS / "errors.md").read_text(encoding="utf-8")
    for cls in all_error_classes():
        assert f"`{cls.reference}`" in text
        assert (cls.__doc__ or "").strip(), f"{cls.__name__} needs a docstring: it becomes its docs entry"


def test_every_command_help_shows_examples() -> None:
    import re

    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    sections = re.split(r"^## ", text, flags=re.MULTILINE)[1:]
    assert len(sections) > 10
    missing = [s.splitlines()[0] for s in sections if "Examples:" not in s]
    assert missing == [], f"--help without an Examples block: {missing}"


def _problem_codes() -> set[str]:
    """Every problem code the validation rules can report, read from their source."""
    import ast

    codes: set[str] = set()
    for path in (REPO / "ftclient" / "dataset").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                index = {"Problem": 0, "problem": 2, "RowError": 0, "_bad_row": 3}.get(name)
                if index is not None and len(node.args) > index:
                    code = node.args[index]
                    if isinstance(code, ast.Constant) and isinstance(code.value, str):
                        codes.add(code.value)
            elif isinstance(node, ast.Return) and path.name == "schemas.py":  # explain() returns (code, ...)
                value = node.value
                if isinstance(value, ast.Tuple) and value.elts and isinstance(value.elts[0], ast.Constant):
                    codes.add(str(value.elts[0].value))
    return codes


def test_every_validation_problem_code_is_documented() -> None:
    codes = _problem_codes()
    assert {"invalid-json", "nested-too-deep", "wrong-type", "empty-field", "broken-quote"} <= codes
    documented = (DOCS / "data-formats.md").read_text(encoding="utf-8")
    assert sorted(code for code in codes if f"`{code}`" not in documented) == []
