"""The Bedrock dialect's own catalogue: which foundation models it tunes and serves, their limits and prices.

Kept apart from the client's tables on purpose (the emulator must be able to disagree). Sources, read
2026-12-03:
- Tunable Nova models and their customization ids (``amazon.nova-micro-v1:0:128k`` ...): Nova user guide,
  docs.aws.amazon.com/nova/latest/userguide/customization.html.
- Hyperparameters: docs.aws.amazon.com/bedrock/latest/userguide/cm-hp-nova-mm.html (epochCount 1-5, default 2;
  learningRate 1e-6 to 1e-4, default 1e-5; learningRateWarmupSteps 0-100, default 10).
- On-demand serving of custom Nova Micro/Lite/Pro through a custom model deployment, US East (N. Virginia):
  docs.aws.amazon.com/bedrock/latest/userguide/deploy-custom-model-on-demand.html.
- ASSUMPTIONS (no stored source): the record limits (8 to 20,000), the hourly price of a provisioned model
  unit and the per-token prices; they are labelled so wherever they show.
"""

from __future__ import annotations

ACCOUNT = "123456789012"
"""The emulated AWS account (the one AWS uses in its documentation examples)."""
REGION = "us-east-1"
ON_DEMAND_REGIONS = frozenset({"us-east-1"})

# model id -> (name, provider, on-demand serving of its custom models, $ per model-unit hour (assumption),
#              training $ per 1M tokens (assumption))
FOUNDATION: dict[str, tuple[str, str, bool, float, float]] = {
    "amazon.nova-micro-v1:0": ("Nova Micro", "Amazon", True, 20.0, 1.0),
    "amazon.nova-lite-v1:0": ("Nova Lite", "Amazon", True, 25.0, 2.0),
    "amazon.nova-pro-v1:0": ("Nova Pro", "Amazon", True, 70.0, 8.0),
}
CUSTOMIZATION_SUFFIX = {
    "amazon.nova-micro-v1:0": ":128k",
    "amazon.nova-lite-v1:0": ":300k",
    "amazon.nova-pro-v1:0": ":300k",
}
"""The context-length variant Bedrock customizes (customization.html)."""

HYPERPARAMETERS: dict[str, tuple[type, float, float, str]] = {
    "epochCount": (int, 1, 5, "2"),
    "learningRate": (float, 1e-6, 1e-4, "0.00001"),
    "learningRateWarmupSteps": (int, 0, 100, "10"),
    "batchSize": (int, 1, 1, "1"),
}
"""name -> (type, minimum, maximum, default as Bedrock reports it) (cm-hp-nova-mm.html; batchSize 1 is an
assumption: the page lists only the first three)."""

MIN_RECORDS = 8
MAX_RECORDS = 20_000
"""ASSUMPTION: training record limits for Nova Micro/Lite."""
MAX_PROVISIONED_UNITS_NO_COMMITMENT = 1
"""ASSUMPTION: without a commitment term, one model unit (the default quota for custom models)."""


def base_of(identifier: str) -> str | None:
    """The catalogue id for a model id, its customization variant or its foundation-model ARN."""
    name = identifier.rsplit("foundation-model/", 1)[-1]
    parts = name.split(":")
    name = ":".join(parts[:2]) if len(parts) > 2 else name
    return name if name in FOUNDATION else None


def foundation_arn(model: str) -> str:
    return f"arn:aws:bedrock:{REGION}::foundation-model/{model}{CUSTOMIZATION_SUFFIX.get(model, '')}"
