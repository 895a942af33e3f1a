"""What the emulated Together account offers: fine-tunable models and their limits, serverless chat
models, and hardware for dedicated endpoints with per-minute prices.

The model names are Together's; the limits and prices are plausible figures of the published kind (the
limits' keys are those of the spec's ``FineTuneModelLimits``), not quotes. ``-Reference`` bases can be
tuned, and, as on Together, cannot themselves be hosted on a dedicated endpoint.
"""

from __future__ import annotations

from typing import Any

TARGET_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

# model -> (max LoRA rank, max sequence length, supports DPO, price per 1M training tokens for LoRA SFT)
FINE_TUNABLE: dict[str, tuple[int, int, bool, float]] = {
    "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference": (64, 131_072, True, 0.48),
    "meta-llama/Meta-Llama-3.1-70B-Instruct-Reference": (64, 32_768, True, 2.90),
    "Qwen/Qwen2.5-7B-Instruct": (64, 32_768, True, 0.48),
    "Qwen/Qwen3-8B": (64, 32_768, True, 0.48),
    "openai/gpt-oss-20b": (32, 16_384, True, 0.48),
    "mistralai/Mistral-7B-Instruct-v0.2": (64, 32_768, False, 0.48),
}

SERVERLESS: dict[str, tuple[float, float]] = {
    # model -> (input, output) USD per 1M tokens
    "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference": (0.18, 0.18),
    "meta-llama/Meta-Llama-3.1-70B-Instruct-Reference": (0.88, 0.88),
    "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo": (0.18, 0.18),
    "Qwen/Qwen2.5-7B-Instruct": (0.30, 0.30),
    "Qwen/Qwen3-8B": (0.20, 0.20),
    "openai/gpt-oss-20b": (0.05, 0.20),
    "mistralai/Mistral-7B-Instruct-v0.2": (0.20, 0.20),
}

# hardware id -> (cents per minute, gpu type, gpu memory GB, gpu count)
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
    rank, seq, _dpo, _price = found
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


def training_price_per_1m(model: str, full: bool) -> float:
    """LoRA price per 1M trained tokens; full training costs about twice as much."""
    base = FINE_TUNABLE.get(model, (0, 0, False, 0.48))[3]
    return base * (2.0 if full else 1.0)


def hostable(model: str) -> bool:
    """Tuned models and non-``-Reference`` bases can be hosted; ``-Reference`` bases cannot."""
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
