"""What happens in ``validating_files``: the uploaded file is checked with the emulator's own reading of
OpenAI's rules (``filerules``), the hyperparameters ``auto`` resolve to numbers (``catalog``), the
examples are counted (``accounting``) and become the tuned model's memory."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ftclient.emulator.openai import accounting, catalog
from ftclient.emulator.openai.filerules import FileRejection, check_file
from ftclient.emulator.openai.learner import NearestNeighbour, content_text, prompt_text, split_example

DEFAULT_LR_MULTIPLIER = 1.8
DEFAULT_BETA = 0.1

Example = tuple[list[Mapping[str, Any]], str]


def checked_records(data: bytes, method: str, *, training: bool) -> list[dict[str, Any]]:
    """The file's examples, or FileRejection with the job error OpenAI would give."""
    return check_file(data, method, training=training)


def learner_examples(records: list[dict[str, Any]], method: str) -> list[Example]:
    """(prompt messages, answer) per example: the preferred answer for DPO, the last assistant turn else."""
    examples: list[Example] = []
    for record in records:
        if method == "dpo":
            preferred = record["preferred_output"][-1]
            examples.append((list(record["input"]["messages"]), content_text(preferred.get("content"))))
            continue
        split = split_example(record["messages"])
        if split is not None:
            examples.append(split)
    return examples


def parse_examples(data: bytes, method: str) -> list[Example]:
    """The learner's examples of a file that already passed validation."""
    try:
        records = check_file(data, method, training=False)
    except FileRejection:
        return []
    return learner_examples(records, method)


def tokens_per_epoch(records: list[dict[str, Any]], method: str, snapshot: str) -> int:
    return sum(accounting.example_tokens(record, method, snapshot) for record in records)


def resolve_hyperparameters(hyperparameters: dict[str, Any], n_examples: int) -> dict[str, Any]:
    resolved = dict(hyperparameters)
    if resolved.get("n_epochs", "auto") == "auto":
        resolved["n_epochs"] = catalog.auto_epochs(n_examples)
    if resolved.get("batch_size", "auto") == "auto":
        resolved["batch_size"] = max(1, min(256, math.ceil(n_examples * 0.002)))
    if resolved.get("learning_rate_multiplier", "auto") == "auto":
        resolved["learning_rate_multiplier"] = DEFAULT_LR_MULTIPLIER
    if resolved.get("beta") == "auto":
        resolved["beta"] = DEFAULT_BETA
    return resolved


def build_learner(examples: list[Example]) -> NearestNeighbour:
    return NearestNeighbour([(prompt_text(messages), answer) for messages, answer in examples])
