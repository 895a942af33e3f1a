"""The direction of imports is a rule, checked here: cli -> core -> providers -> SDK.

- only ``ftclient/cli`` imports click or rich (the core returns data and raises errors);
- only a provider's adapter imports its SDK (``openai`` is imported by the providers/openai/ package
  and by providers/azure/, whose data plane is the SDK's ``AzureOpenAI`` client; boto3 only by
  providers/bedrock/);
- the core never imports the CLI or the emulator; the emulator never imports the CLI;
- only ``ftclient/testing`` (the conformance cases other providers' suites run) imports pytest, and it may
  start the emulator, as a test would;
- nothing in the core prints or exits.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "ftclient"


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _area(path: Path) -> str:
    rel = path.relative_to(PACKAGE).parts
    return rel[0] if len(rel) > 1 else "core"


def _top(name: str) -> str:
    return name.split(".", maxsplit=1)[0]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_import_direction(path: Path) -> None:
    imports = _imports(path)
    area = _area(path)
    rel = str(path.relative_to(PACKAGE))
    if area != "cli" and rel != "__main__.py":
        assert not {i for i in imports if _top(i) in {"click", "rich"}}, f"{rel} imports a CLI library"
        assert not {i for i in imports if i.startswith("ftclient.cli")}, f"{rel} imports ftclient.cli"
    if area not in {"cli", "emulator", "testing"}:
        assert not {i for i in imports if i.startswith("ftclient.emulator")}, f"{rel} imports the emulator"
    if area != "testing":
        assert not {i for i in imports if _top(i) == "pytest"}, f"{rel} imports pytest"
    if not rel.startswith(("providers/openai/", "providers/azure/")):
        assert not {i for i in imports if _top(i) == "openai"}, f"{rel} imports the openai SDK"
    if not rel.startswith("providers/bedrock/"):
        assert not {i for i in imports if _top(i) in {"boto3", "botocore"}}, f"{rel} imports the AWS SDK"


@pytest.mark.parametrize(
    "path",
    [p for p in _modules() if _area(p) not in {"cli", "emulator"} and p.name != "__main__.py"],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_core_never_prints_or_exits(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
            assert name != "print", f"{path.name}:{node.lineno} prints"
            assert not (owner == "sys" and name == "exit"), f"{path.name}:{node.lineno} exits"


def test_rule_catches_a_violation(tmp_path: Path) -> None:
    """The checker itself works: a core module importing click is reported."""
    bad = tmp_path / "bad.py"
    bad.write_text("import click\nfrom rich.console import Console\n")
    assert {"click", "rich.console"} <= _imports(bad)
