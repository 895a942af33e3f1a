"""Facts about Together that the client and the emulator each keep their own copy of, compared with the
published source (Together's spec, together 1.6.0 itself, its docs), so a wrong copy fails here instead of
agreeing silently with the other. And the emulator's Together dialect imports nothing of the client.
"""

from __future__ import annotations

import ast
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import SHARED
from together_oracle import CheckerUnavailable, checker_python

from ftclient import pricing
from ftclient.dataset import rules_together
from ftclient.emulator.together import catalog
from ftclient.emulator.together import rules as emulator_rules
from ftclient.providers.together import TogetherProvider, wire

REPO = Path(__file__).resolve().parent.parent
SPEC = SHARED / "openapi" / "together-openapi.yaml"

ADAPTER_UPLOAD_DOCS = {
    # docs.together.ai/docs/adapter-upload, "Supported base models" (read 2026): the bases whose LoRA
    # adapters Together serves serverless
    "meta-llama/Llama-4-Maverick-17B-128E-Instruct",
    "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference",
    "meta-llama/Meta-Llama-3.1-70B-Instruct-Reference",
    "Qwen/Qwen2.5-72B-Instruct",
    "Qwen/Qwen3-235B-A22B-Instruct-2507-tput",
}

_SDK_FACTS = """
import inspect, json, pathlib
import together
from together import constants
from together.resources.finetune import create_finetune_request
defaults = {k: p.default for k, p in inspect.signature(create_finetune_request).parameters.items()
            if p.default is not inspect.Parameter.empty}
types = (pathlib.Path(together.__file__).parent / "types" / "finetune.py").read_text()
print(json.dumps({
    "min_samples": constants.MIN_SAMPLES,
    "max_file_bytes": constants.MAX_FILE_SIZE_GB * constants.NUM_BYTES_IN_GB,
    "roles": constants.POSSIBLE_ROLES_CONVERSATION,
    "defaults": {k: v for k, v in defaults.items() if isinstance(v, (int, float, str, bool)) or v is None},
    "suffix_40": "up to 40 character suffix" in types,
}))
"""


@pytest.fixture(scope="module")
def sdk() -> dict[str, Any]:
    try:
        python = checker_python()
    except CheckerUnavailable as exc:
        pytest.skip(f"together 1.6.0 is not available: {exc}")
    done = subprocess.run([str(python), "-c", _SDK_FACTS], capture_output=True, text=True, timeout=300, check=True)
    facts: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return facts


@pytest.fixture(scope="module")
def spec_request() -> dict[str, Any]:
    if not SPEC.exists():
        pytest.skip(f"the Together spec is not at {SPEC}")
    yaml = pytest.importorskip("yaml")
    document = yaml.load(SPEC.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    schema = document["paths"]["/fine-tunes"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    properties: dict[str, Any] = schema["properties"]
    return properties


def test_the_emulators_together_dialect_imports_nothing_of_the_client() -> None:
    offenders = []
    for path in sorted((REPO / "ftclient" / "emulator" / "together").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                if (name == "ftclient" or name.startswith("ftclient.")) and not name.startswith("ftclient.emulator"):
                    offenders.append(f"{path.name}:{node.lineno} imports {name}")
    assert offenders == []


def test_default_epochs_and_learning_rate_match_the_spec(spec_request: dict[str, Any]) -> None:
    epochs = spec_request["n_epochs"]["default"]
    assert pricing.TOGETHER_DEFAULT_EPOCHS == wire.DEFAULT_EPOCHS == catalog.DEFAULT_EPOCHS == epochs == 1
    assert wire.DEFAULT_LEARNING_RATE == catalog.DEFAULT_LEARNING_RATE == spec_request["learning_rate"]["default"]
    assert wire.DEFAULT_TRAIN_ON_INPUTS == spec_request["train_on_inputs"]["default"] == "auto"


def test_defaults_and_limits_match_together_1_6_0(sdk: dict[str, Any]) -> None:
    defaults = sdk["defaults"]
    assert wire.DEFAULT_EPOCHS == catalog.DEFAULT_EPOCHS == defaults["n_epochs"]
    assert wire.DEFAULT_LEARNING_RATE == catalog.DEFAULT_LEARNING_RATE == defaults["learning_rate"]
    scheduler = wire.DEFAULT_LR_SCHEDULER
    assert scheduler["lr_scheduler_type"] == defaults["lr_scheduler_type"]
    assert scheduler["lr_scheduler_args"] == {
        "min_lr_ratio": defaults["min_lr_ratio"],
        "num_cycles": defaults["scheduler_num_cycles"],
    }
    assert sdk["suffix_40"] and wire.MAX_SUFFIX_CHARS == catalog.MAX_SUFFIX_CHARS == 40


def test_file_rules_match_together_1_6_0(sdk: dict[str, Any]) -> None:
    assert rules_together.TogetherRuleSet.min_examples == emulator_rules.MIN_EXAMPLES == sdk["min_samples"]
    assert int(sdk["max_file_bytes"]) == rules_together.MAX_FILE_BYTES
    assert TogetherProvider.capabilities.max_upload_bytes == int(sdk["max_file_bytes"])
    assert list(rules_together._ROLES) == list(emulator_rules.ROLES) == sdk["roles"]


def test_serverless_lora_bases_match_the_docs() -> None:
    assert wire.SERVERLESS_LORA_BASES == catalog.SERVERLESS_LORA_BASES == ADAPTER_UPLOAD_DOCS
    # the lora-inference docs' own example base is both tunable and served serverless
    assert "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference" in catalog.FINE_TUNABLE
