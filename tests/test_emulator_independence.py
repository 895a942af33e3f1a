"""The emulator is a second opinion: it imports nothing of the client.

Every module under ``ftclient/emulator`` may import the standard library, third-party packages and
``ftclient.emulator.*``, nothing else of ``ftclient``. If it imported the client's model table, validator
or tokenizer, a rule the client gets wrong could never fail a test.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

EMULATOR = Path(__file__).resolve().parent.parent / "ftclient" / "emulator"

def package_of(path: Path) -> str:
    return ".".join(("ftclient", *path.relative_to(EMULATOR.parent).parent.parts))


def client_imports(path: Path, package: str | None = None) -> set[str]:
    """Every ``ftclient.*`` module ``path`` imports that is not part of the emulator (at any depth, including
    imports inside functions, ``from ftclient import x`` and relative forms)."""
    package = package or package_of(path)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parent, base] if base else parent)
            names = [f"{base}.{alias.name}" if base == "ftclient" else base for alias in node.names]
        found.update(n for n in names if n == "ftclient" or n.startswith("ftclient."))
    return {n for n in found if n != "ftclient.emulator" and not n.startswith("ftclient.emulator.")}


@pytest.mark.parametrize("path", sorted(EMULATOR.rglob("*.py")), ids=lambda p: str(p.relative_to(EMULATOR)))
def test_the_emulator_imports_nothing_of_the_client(path: Path) -> None:
    rel = str(path.relative_to(EMULATOR))
    assert not client_imports(path), f"emulator/{rel} imports client code: {sorted(client_imports(path))}"


def test_the_checker_sees_every_import_form(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import ftclient.tokens\n"
        "from ftclient import pricing\n"
        "from ftclient.emulator.http import Router\n"
        "from . import catalog\n"
        "def f():\n    from ftclient.dataset.validate import validate\n"
        "from ... import errors\n",
        encoding="utf-8",
    )
    found = client_imports(probe, package="ftclient.emulator.openai")
    assert found == {"ftclient.tokens", "ftclient.pricing", "ftclient.dataset.validate", "ftclient.errors"}
