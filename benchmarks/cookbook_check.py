"""What OpenAI's cookbook data-check notebook (Chat_finetuning_data_prep.ipynb) does, as one script.

Written from its description: load every line into a list, run its format checks (the error counters
data_type, missing_messages_list, message_missing_key, message_unrecognized_key, unrecognized_role,
missing_content, example_missing_assistant_message), count tokens per example with its recipe (3 per
message, 1 per name, 3 for the reply) and assistant tokens, print the distributions, and estimate epochs
and billed tokens. It uses the right encoding for the model (o200k_base for gpt-4o/4.1; the notebook itself
hard-codes cl100k_base), through tiktoken's own ``get_encoding`` as a notebook would. Offline, point
``TIKTOKEN_CACHE_DIR`` at a folder holding the encoding under tiktoken's cache name (validate_speed.py
does that).

    TIKTOKEN_CACHE_DIR=... python benchmarks/cookbook_check.py FILE.jsonl
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict

import tiktoken

MAX_TOKENS_PER_EXAMPLE = 65536
TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25

encoding = tiktoken.get_encoding("o200k_base")


def num_tokens_from_messages(messages: list[dict], tokens_per_message: int = 3, tokens_per_name: int = 1) -> int:
    num_tokens = 0
    for message in messages:
        num_tokens += tokens_per_message
        for key, value in message.items():
            num_tokens += len(encoding.encode(value))
            if key == "name":
                num_tokens += tokens_per_name
    num_tokens += 3
    return num_tokens


def num_assistant_tokens_from_messages(messages: list[dict]) -> int:
    return sum(len(encoding.encode(m["content"])) for m in messages if m["role"] == "assistant")


def quantiles(values: list[int]) -> tuple[int, int, int, int, float, float]:
    ordered = sorted(values)
    n = len(ordered)
    return (
        ordered[0],
        ordered[-1],
        ordered[n // 2],
        round(sum(ordered) / n, 1),
        ordered[int(0.1 * (n - 1))],
        ordered[int(0.9 * (n - 1))],
    )


def main(path: str) -> None:
    with open(path, encoding="utf-8") as f:
        dataset = [json.loads(line) for line in f]
    print("Num examples:", len(dataset))

    format_errors: dict[str, int] = defaultdict(int)
    for ex in dataset:
        if not isinstance(ex, dict):
            format_errors["data_type"] += 1
            continue
        messages = ex.get("messages", None)
        if not messages:
            format_errors["missing_messages_list"] += 1
            continue
        for message in messages:
            if "role" not in message or "content" not in message:
                format_errors["message_missing_key"] += 1
            if any(k not in ("role", "content", "name", "function_call", "weight") for k in message):
                format_errors["message_unrecognized_key"] += 1
            if message.get("role", None) not in ("system", "user", "assistant", "function"):
                format_errors["unrecognized_role"] += 1
            content = message.get("content", None)
            function_call = message.get("function_call", None)
            if (not content and not function_call) or not isinstance(content, str):
                format_errors["missing_content"] += 1
        if not any(message.get("role", None) == "assistant" for message in messages):
            format_errors["example_missing_assistant_message"] += 1
    print("Found errors:" if format_errors else "No errors found", dict(format_errors))

    n_missing_system = n_missing_user = 0
    n_messages: list[int] = []
    convo_lens: list[int] = []
    assistant_message_lens: list[int] = []
    for ex in dataset:
        messages = ex["messages"]
        if not any(message["role"] == "system" for message in messages):
            n_missing_system += 1
        if not any(message["role"] == "user" for message in messages):
            n_missing_user += 1
        n_messages.append(len(messages))
        convo_lens.append(num_tokens_from_messages(messages))
        assistant_message_lens.append(num_assistant_tokens_from_messages(messages))
    print("Num examples missing system message:", n_missing_system)
    print("Num examples missing user message:", n_missing_user)
    for name, values in (
        ("num_messages_per_example", n_messages),
        ("num_total_tokens_per_example", convo_lens),
        ("num_assistant_tokens_per_example", assistant_message_lens),
    ):
        print(f"Distribution of {name}: min/max/median/mean/p10/p90", quantiles(values))
    n_too_long = sum(length > MAX_TOKENS_PER_EXAMPLE for length in convo_lens)
    print(f"{n_too_long} examples may be over the {MAX_TOKENS_PER_EXAMPLE} token limit")

    n_epochs = TARGET_EPOCHS
    n_train_examples = len(dataset)
    if n_train_examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        n_epochs = min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // n_train_examples)
    elif n_train_examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        n_epochs = max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // n_train_examples)
    n_billing_tokens_in_dataset = sum(min(MAX_TOKENS_PER_EXAMPLE, length) for length in convo_lens)
    print(f"Dataset has ~{n_billing_tokens_in_dataset} tokens that will be charged for during training")
    print(f"By default, you'll train for {n_epochs} epochs on this dataset")
    print(f"By default, you'll be charged for ~{n_epochs * n_billing_tokens_in_dataset} tokens")


if __name__ == "__main__":
    main(sys.argv[1])
