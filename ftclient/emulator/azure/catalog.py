"""What the emulated Azure OpenAI resource offers, kept apart from the client's tables (a second opinion).

Sources (stored copies read 2026-12-03):
- MicrosoftDocs/azure-ai-docs ``includes/fine-tune-models.md`` @ 1e62f38: tunable models (gpt-4o-mini
  2024-07-18, gpt-4o 2024-08-06, gpt-4.1 / -mini / -nano 2025-04-14), their training context (65,536 tokens,
  32,768 for gpt-4.1-nano) and which offer Global training.
- ``how-to/fine-tuning-deploy.md`` @ 13842c0: deployment types Standard, GlobalStandard, Developer (no hosting
  fee, no SLA, gpt-4.1 family only); a deployed fine-tune bills an hourly hosting fee even when idle.
- ``includes/fine-tuning-rest.md`` @ 09d4707: at least 10 training examples; files under 512 MB.
- Azure/azure-rest-api-specs ``AzureOpenAI/authoring/stable/2024-10-21/azureopenai.json``: job states
  ``created, pending, running, succeeded, cancelled, failed``; file states ``uploaded ... processed``.
- ``Microsoft.CognitiveServices/stable/2025-09-01/cognitiveservices.json``: deployments, ``provisioningState``.
- providers-2026 summary: the developer tier's deployments live 24 hours.
- learn.microsoft.com .../openai/concepts/model-retirement-schedule (snapshot ms.date 2026-09-02, "Fine-tuned
  models" table; research/providers.md 3.8): training retirement no earlier than 2027-04-14 for the gpt-4.1
  family and 2027-04-01 for gpt-4o / gpt-4o-mini; deployment (inference) retirement of their fine-tunes
  2027-10-14 and 2027-10-01; the gpt-4.1 base models retire 2027-04-14.

The hourly hosting fees are not in any stored source: the figures below are the emulator's stand-ins (so the
client's accounting has something to agree with), not quotes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

DATA_API_VERSIONS = frozenset({"2024-10-21", "2025-04-01-preview", "2024-10-01-preview", "2025-03-01-preview"})
MANAGEMENT_API_VERSIONS = frozenset({"2025-09-01", "2025-06-01", "2024-10-01"})


@dataclass(frozen=True)
class AzureModel:
    context: int
    global_training: bool
    developer_tier: bool


MODELS: dict[str, AzureModel] = {
    "gpt-4o-mini-2024-07-18": AzureModel(65_536, True, False),
    "gpt-4o-2024-08-06": AzureModel(65_536, True, False),
    "gpt-4.1-2025-04-14": AzureModel(65_536, True, True),
    "gpt-4.1-mini-2025-04-14": AzureModel(65_536, True, True),
    "gpt-4.1-nano-2025-04-14": AzureModel(32_768, True, True),
}
TRAINING_TYPES = ("standard", "globalstandard", "developer")
SKU_HOURLY_USD = {"Standard": 1.70, "GlobalStandard": 1.70, "Developer": 0.0}
"""Stand-in hosting fees per deployment hour (see the module docstring); the developer tier has none."""
DEVELOPER_LIFETIME_S = 24 * 3600.0
IDLE_DELETE_S = 15 * 24 * 3600.0
MIN_EXAMPLES = 10
MAX_FILE_BYTES = 512 * 1024**2
DEPLOY_CREATING_S = 60.0
"""How long a deployment stays ``Creating`` on the emulated clock."""


@dataclass(frozen=True)
class Retirement:
    """When a base model stops being tunable and stops answering, and when its fine-tunes stop answering
    (the Models API's ``deprecation.fine_tune`` / ``deprecation.inference``), each with where it comes from."""

    fine_tune: str
    inference: str
    tuned_inference: str
    source: str


_SCHEDULE = "model-retirement-schedule (Learn, ms.date 2026-09-02)"
RETIREMENTS: dict[str, Retirement] = {
    **{
        base: Retirement("2027-04-14", "2027-04-14", "2027-10-14", _SCHEDULE)
        for base in ("gpt-4.1-2025-04-14", "gpt-4.1-mini-2025-04-14", "gpt-4.1-nano-2025-04-14")
    },
    **{
        base: Retirement(
            "2027-04-01",
            "2027-04-01",
            "2027-10-01",
            _SCHEDULE + "; the base model's own inference date is not in it: the emulator uses its training date",
        )
        for base in ("gpt-4o-2024-08-06", "gpt-4o-mini-2024-07-18")
    },
}
MODEL_CREATED = {
    "gpt-4o-mini-2024-07-18": "2024-07-18",
    "gpt-4o-2024-08-06": "2024-08-06",
    "gpt-4.1-2025-04-14": "2025-04-14",
    "gpt-4.1-mini-2025-04-14": "2025-04-14",
    "gpt-4.1-nano-2025-04-14": "2025-04-14",
}
"""A base model's ``created_at``: the day its version names (the sources give no other)."""


def base_of(model: str) -> str | None:
    """The base snapshot of a base model or a tuned ``<base>.ft-<hex>`` model (continuous fine-tuning)."""
    base = model.split(".ft-", 1)[0]
    return base if base in MODELS else None


def epoch_of(day: str) -> int:
    """Midnight UTC of ``YYYY-MM-DD``, as the spec's ``unixtime``."""
    return int(dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC).timestamp())
