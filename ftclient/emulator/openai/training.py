"""What happens in ``validating_files``: the uploaded file is read and checked with ftclient's own
dataset rules, the hyperparameters ``auto`` resolve to numbers, and the examples become the tuned
model's memory."""

from __future__ import annotations

import importlib.util
import json
import math
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ftclient.emulator.openai.learner import NearestNeighbour, prompt_text, split_example

MIN_EXAMPLES = 10
DEFAULT_LR_MULTIPLIER = 1.8


class FileProblem(Exception):
    """The file cannot be trained on; the message is what the job's ``error.message`` says."""


def parse_examples(data: bytes, method: str) -> list[tuple[list[Mapping[str, Any]], str]]:
    """(prompt messages, answer) per line; raises FileProblem naming the first bad line."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileProblem(f"Invalid file format. The file is not UTF-8 text (byte {exc.start}).") from None
    examples: list[tuple[list[Mapping[str, Any]], str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise FileProblem(f"Invalid file format. Line {number} is not valid JSON: {exc.msg}.") from None
        if not isinstance(record, dict):
            raise FileProblem(f"Invalid file format. Line {number} is not a JSON object.")
        if method == "dpo":
            messages = (record.get("input") or {}).get("messages") if isinstance(record.get("input"), dict) else None
            preferred = record.get("preferred_output")
            if not isinstance(messages, list) or not isinstance(preferred, list) or not preferred:
                raise FileProblem(
                    f"Invalid file format. Line {number}: a preference example needs "
                    "input.messages, preferred_output and non_preferred_output."
                )
            examples.append((messages, str(preferred[-1].get("content", ""))))
            continue
        messages = record.get("messages")
        if not isinstance(messages, list) or not messages:
            raise FileProblem(f'Invalid file format. Line {number}, key "messages": the example has no messages list.')
        split = split_example(messages)
        if split is None:
            raise FileProblem(
                f"Invalid file format. Line {number}: the example has no assistant message to learn from."
            )
        examples.append(split)
    return examples


def ftclient_problem(data: bytes, model: str, method: str) -> str | None:
    """The first error ftclient's own validator finds in the file, as a one-line message, or None."""
    if importlib.util.find_spec("ftclient.dataset.validate") is None:
        return None
    from ftclient.dataset.validate import validate

    with tempfile.TemporaryDirectory(prefix="ftclient-emulator-") as folder:
        path = Path(folder) / "training.jsonl"
        path.write_bytes(data)
        report = validate(path, provider="openai", model=model, method=method)
    if report.ok:
        return None
    errors = list(report.errors) or list(report.problems)
    if not errors:
        return "The file failed validation."
    first = errors[0]
    where = f"Line {first.line}: " if getattr(first, "line", None) else ""
    more = f" ({len(errors) - 1} more error(s))" if len(errors) > 1 else ""
    return f"{where}{first.message} [{first.code}]{more}"


def count_tokens(examples: list[tuple[list[Mapping[str, Any]], str]], model: str) -> int:
    from ftclient import tokens

    total = 0
    for messages, answer in examples:
        total += tokens.count_chat([*messages, {"role": "assistant", "content": answer}], model)
    return total


def resolve_hyperparameters(hyperparameters: dict[str, Any], n_examples: int) -> dict[str, Any]:
    from ftclient import pricing

    resolved = dict(hyperparameters)
    if resolved.get("n_epochs", "auto") == "auto":
        resolved["n_epochs"] = pricing.default_epochs(n_examples)
    if resolved.get("batch_size", "auto") == "auto":
        resolved["batch_size"] = max(1, min(256, math.ceil(n_examples * 0.002)))
    if resolved.get("learning_rate_multiplier", "auto") == "auto":
        resolved["learning_rate_multiplier"] = DEFAULT_LR_MULTIPLIER
    if resolved.get("beta") == "auto":
        resolved["beta"] = 0.1
    return resolved


def build_learner(examples: list[tuple[list[Mapping[str, Any]], str]]) -> NearestNeighbour:
    return NearestNeighbour([(prompt_text(messages), answer) for messages, answer in examples])
