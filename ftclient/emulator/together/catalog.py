"""What the emulated Together account offers, as Together publishes it: tunable models and their limits,
methods, training prices, serverless models, serverless LoRA bases, and hardware for dedicated endpoints.

The emulator keeps its own copy of these facts (it imports nothing of ftclient's client); where the client
holds the same fact, tests/test_together_facts.py compares both with the published source. Each table names
where it comes from and when it was read.
"""

from __future__ import annotations

from typing import Any

SOURCES = {
    "spec": "together-openapi.yaml (togethercomputer/openapi @ 090263a, 2026-04-28)",
    "sdk": "together 1.6.0 (PyPI), src/together/resources/finetune.py and types/finetune.py",
    "models": "docs.together.ai/docs/fine-tuning-models and /docs/fine-tuning/supported-models (read 2026)",
    "lora": "docs.together.ai/docs/adapter-upload, 'Supported base models' (read 2026)",
    "pricing": "docs.together.ai/docs/fine-tuning-pricing (read 2026): tokens x rate by size, method, LoRA/full",
}

DEFAULT_EPOCHS = 1
"""``FinetuneRequest.n_epochs`` default (spec); together 1.6.0's ``create_finetune_request`` default too."""
DEFAULT_LEARNING_RATE = 1e-5
"""``FinetuneRequest.learning_rate`` default (spec)."""
MAX_SUFFIX_CHARS = 40
"""together 1.6.0 ``FinetuneRequest.suffix``: "up to 40 character suffix for output model name"."""
TARGET_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

# Tunable bases (source: "models"): model -> (parameters in billions, max LoRA rank, max sequence length,
# DPO). The limits below have the keys of the spec's FineTuneModelLimits; their values are of the published
# kind (providers.md 1.8 quotes the same shape), not read from the live endpoint.
FINE_TUNABLE: dict[str, tuple[float, int, int, bool]] = {
    "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference": (8, 64, 131_072, True),
    "meta-llama/Meta-Llama-3.1-70B-Instruct-Reference": (70, 64, 32_768, True),
    "Qwen/Qwen2.5-7B-Instruct": (7, 64, 32_768, True),
    "Qwen/Qwen3-8B": (8, 64, 32_768, True),
    "openai/gpt-oss-20b": (20, 32, 16_384, True),
    "mistralai/Mistral-7B-Instruct-v0.2": (7, 64, 32_768, False),
}

SERVERLESS_LORA_BASES = frozenset(
    {
        "meta-llama/Llama-4-Maverick-17B-128E-Instruct",
        "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference",
        "meta-llama/Meta-Llama-3.1-70B-Instruct-Reference",
        "Qwen/Qwen2.5-72B-Instruct",
        "Qwen/Qwen3-235B-A22B-Instruct-2507-tput",
    }
)
"""Bases whose LoRA adapters Together serves serverless (source: "lora"): a tuned LoRA model of these answers
by its output name, no endpoint needed. Any other tuned model answers 404 ``model_not_available`` (as
captured: real-payloads/together/error-404-1)."""

# USD per 1M training tokens by size bracket (source: "pricing" gives the brackets "Up to 16B", "16.1-69B",
# ... and the formula; the rates page itself was not available offline, so these rates are placeholders of
# that structure: LoRA SFT, full costs more, DPO more again).
PRICE_BRACKETS: tuple[tuple[float, float], ...] = ((16, 0.48), (69, 1.50), (100, 2.90), (float("inf"), 6.0))
FULL_FACTOR = 1.25
DPO_FACTOR = 2.5

SERVERLESS: dict[str, tuple[float, float]] = {
    # model -> (input, output) USD per 1M tokens; illustrative figures of the serverless price list's kind
    "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference": (0.18, 0.18),
    "meta-llama/Meta-Llama-3.1-70B-Instruct-Reference": (0.88, 0.88),
    "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo": (0.18, 0.18),
    "Qwen/Qwen2.5-7B-Instruct": (0.30, 0.30),
    "Qwen/Qwen3-8B": (0.20, 0.20),
    "openai/gpt-oss-20b": (0.05, 0.20),
    "mistralai/Mistral-7B-Instruct-v0.2": (0.20, 0.20),
}

# hardware id -> (cents per minute, gpu type, gpu memory GB, gpu count); ids as the spec's /hardware example
HARDWARE: dict[str, tuple[float, str, float, int]] = {
    "1x_nvidia_a100_80gb_sxm": (4.0, "a100-80gb", 80.0, 1),
    "1x_nvidia_h100_80gb_sxm": (5.58, "h100-80gb", 80.0, 1),
    "2x_nvidia_h100_80gb_sxm": (11.16, "h100-80gb", 80.0, 2),
}


def limits(model: str) -> dict[str, Any] | None:
    """``FineTuneModelLimits`` for a tunable model, None for any other name."""
    found = FINE_TUNABLE.get(model)
    if found is None:
        return None
    _size, rank, seq, _dpo = found
    return {
        "model_name": model,
        "max_num_epochs": 20,
        "max_num_evals": 100,
        "max_learning_rate": 1.0,
        "min_learning_rate": 1e-6,
        "supports_vision": False,
        "supports_tools": True,
        "supports_reasoning": model.startswith("openai/"),
        "merge_output_lora": True,
        "full_training": {"max_batch_size": 96, "max_batch_size_dpo": 48, "min_batch_size": 8},
        "lora_training": {
            "max_batch_size": 128,
            "max_batch_size_dpo": 64,
            "min_batch_size": 8,
            "max_rank": rank,
            "target_modules": TARGET_MODULES,
        },
        "max_seq_length": seq,
    }


def supports_dpo(model: str) -> bool:
    return bool(FINE_TUNABLE.get(model, (0, 0, 0, False))[3])


def training_price_per_1m(model: str, *, full: bool, dpo: bool = False) -> float:
    """USD per 1M processed tokens for ``model`` (by its size bracket), LoRA or full, SFT or DPO."""
    size = FINE_TUNABLE.get(model, (8, 0, 0, False))[0]
    rate = next(price for top, price in PRICE_BRACKETS if size <= top)
    return rate * (FULL_FACTOR if full else 1.0) * (DPO_FACTOR if dpo else 1.0)


def serverless_lora(base: str) -> bool:
    """Whether a LoRA adapter tuned on ``base`` answers serverless."""
    return base in SERVERLESS_LORA_BASES


def hostable(model: str) -> bool:
    """Tuned models and non-``-Reference`` bases can be hosted; ``-Reference`` bases cannot (the fine-tuning
    models page: "-Reference" bases can be tuned but not deployed as dedicated endpoints)."""
    return not model.endswith("-Reference")


def hardware_entries(model: str | None, updated_at: str) -> list[dict[str, Any]]:
    entries = []
    for hw_id, (cents, gpu, memory, count) in HARDWARE.items():
        entry: dict[str, Any] = {
            "object": "hardware",
            "id": hw_id,
            "pricing": {"cents_per_minute": cents},
            "specs": {"gpu_type": gpu, "gpu_link": "sxm", "gpu_memory": memory, "gpu_count": count},
            "updated_at": updated_at,
        }
        if model is not None:
            entry["availability"] = {"status": "available"}
        entries.append(entry)
    return entries
