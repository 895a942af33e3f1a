"""What the emulated Fireworks account offers, kept apart from the client's tables (a second opinion): tunable
base models, serverless prices, GPUs for on-demand deployments, and the data limits.

Sources (stored copies read 2026-12-03):
- fireworks.ai/pricing: fine-tuning "$0.50 per 1M training tokens" for models up to 16B parameters, charged on
  "dataset size * number of epochs"; serverless "$0.20 per 1M tokens" up to 16B; "dedicated deployments are
  billed by GPU-second ... $3.89 per hour for one NVIDIA A100 80 GB GPU"; "600 requests/min" on the developer
  plan. The H100 price is not in that copy: the emulator charges 1.5x the A100's, a stand-in, not a quote.
- docs.fireworks.ai/fine-tuning/fine-tuning-models: 3 to 3,000,000 examples, examples x epochs <= 3M, LoRA rank
  a power of 2 up to 32 (default 8), epochs default 1.
- fireworks-ai 1.2.3 ``datasets.upload``: files up to 150 MB in one request.
- docs.fireworks.ai (deployment autoscaling): ``scaleToZeroWindow`` at least 5 minutes, default 1 hour.
"""

from __future__ import annotations

from typing import Any

FIREWORKS = "accounts/fireworks/models/"

# model -> (parameters in billions, context length, serverless USD per 1M tokens)
BASES: dict[str, tuple[float, int, float]] = {
    f"{FIREWORKS}llama-v3p1-8b-instruct": (8.0, 131_072, 0.20),
    f"{FIREWORKS}qwen3-8b": (8.2, 40_960, 0.20),
    f"{FIREWORKS}llama-v3p1-70b-instruct": (70.6, 131_072, 0.90),
}
TUNABLE = frozenset(BASES)

GPU_HOUR_USD = {"NVIDIA_A100_80GB": 3.89, "NVIDIA_H100_80GB": 3.89 * 1.5}
MIN_EXAMPLES = 3
MAX_EXAMPLES = 3_000_000
MAX_EXAMPLE_EPOCHS = 3_000_000
LORA_RANKS = frozenset({1, 2, 4, 8, 16, 32})
DEFAULT_LORA_RANK = 8
DEFAULT_EPOCHS = 1
DEFAULT_LEARNING_RATE = 1e-4
DEFAULT_BATCH_SAMPLES = 32
UPLOAD_LIMIT_BYTES = 150 * 1024**2
MIN_SCALE_TO_ZERO_S = 300.0
DEFAULT_SCALE_TO_ZERO_S = 3600.0


def training_usd_per_1m(model: str) -> float:
    """$0.50 per 1M training tokens up to 16B parameters; $3.00 from 16.1B to 80B."""
    params = BASES.get(model, (8.0, 0, 0.0))[0]
    return 0.50 if params <= 16 else 3.00


def model_object(name: str, created: str) -> dict[str, Any]:
    """A base model as ``GET /v1/accounts/fireworks/models/{id}`` shows it (``gatewayModel``)."""
    _params, context, _price = BASES[name]
    return {
        "name": name,
        "displayName": name.rsplit("/", 1)[-1],
        "createTime": created,
        "state": "READY",
        "kind": "HF_BASE_MODEL",
        "contextLength": context,
        "supportsServerless": True,
        "supportsLora": True,
        "supervisedLoraTunable": name in TUNABLE,
        "supervisedFullParameterTunable": False,
        "public": True,
    }
