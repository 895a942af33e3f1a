"""Azure OpenAI's words and figures as ftclient reads them, each with its source.

- Job states of the stable data-plane spec (``AzureOpenAI/authoring/stable/2024-10-21/azureopenai.json``,
  ``FineTuningState``, read 2026-12-03): ``created, pending, running, succeeded, cancelled, failed``; the
  Azure-only ``paused``/``pausing`` (pause/resume in the v1 API) are kept as OpenAI's words.
- ARM ``provisioningState`` (``Microsoft.CognitiveServices/stable/2025-09-01/cognitiveservices.json``,
  ``DeploymentProvisioningState``): ``Accepted, Creating, Succeeded, Failed, Deleting, Moving, Disabled, Canceled``.
- Deployment types (``how-to/fine-tuning-deploy.md`` @ 13842c0, MicrosoftDocs/azure-ai-docs): Standard,
  GlobalStandard and Developer (no hosting fee, no SLA, gpt-4.1 family; deployments live 24 hours).
- Data rules (``includes/fine-tuning-rest.md`` @ 09d4707): at least 10 training examples; files under 512 MB.
- Models (stable data-plane spec, ``Models_List`` / ``Model``): ``deprecation.fine_tune`` (end of tuning; absent
  for fine-tunes) and ``deprecation.inference`` (end of serving) as Unix seconds; ``model`` is the base of a
  fine-tune and ``fine_tune`` its job.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from ftclient.providers.base import Endpoint, ModelInfo

STATUS_MAP = {
    "created": "validating_files",
    "pending": "queued",
    "running": "running",
    "pausing": "pausing",
    "paused": "paused",
    "succeeded": "succeeded",
    "failed": "failed",
    "cancelled": "cancelled",
}
ENDPOINT_STATES = {
    "Accepted": "PENDING",
    "Creating": "STARTING",
    "Moving": "STARTING",
    "Succeeded": "STARTED",
    "Failed": "ERROR",
    "Canceled": "ERROR",
    "Disabled": "STOPPED",
    "Deleting": "STOPPING",
}
TRAINING_TYPES = ("standard", "globalstandard", "developer")
DEFAULT_TRAINING_TYPE = "standard"
MIN_EXAMPLES = 10
MAX_FILE_BYTES = 512 * 1024**2
DEVELOPER_SKU = "Developer"
DEFAULT_SKU = "Standard"
DEVELOPER_BASES = ("gpt-4.1-2025-04-14", "gpt-4.1-mini-2025-04-14", "gpt-4.1-nano-2025-04-14")
"""Models whose fine-tunes the Developer tier serves (how-to/fine-tuning-deploy.md, "Deployment Types")."""

HOSTING_USD_PER_HOUR = {"Standard": 1.70, "GlobalStandard": 1.70, "Developer": 0.0}
HOSTING_AS_OF = "2026-12-03"
HOSTING_SOURCE = (
    "Developer: no hosting fee (how-to/fine-tuning-deploy.md @ 13842c0). Standard/GlobalStandard: no stored "
    "source gives the figure; $1.70/h is a placeholder to be checked against azure.microsoft.com pricing"
)


def azure_status(raw: str) -> str:
    return STATUS_MAP.get(raw, "unknown")


def default_sku(model: str) -> str:
    """The Developer tier (no fee) where it serves the model's base, else Standard."""
    return DEVELOPER_SKU if model.split(".ft-", 1)[0] in DEVELOPER_BASES else DEFAULT_SKU


def deployment_name(model: str, token: str) -> str:
    """A deployment name (ARM: letters, digits, ``-``, ``_``, ``.``; at most 64) for the tuned model."""
    stem = model.split(".ft-", 1)[0].replace(".", "-")
    return f"ftc-{stem}-{token}"[:64]


def endpoint_from(deployment: Mapping[str, Any]) -> Endpoint:
    props = deployment.get("properties") or {}
    sku = str((deployment.get("sku") or {}).get("name") or "")
    created = (deployment.get("systemData") or {}).get("createdAt")
    return Endpoint(
        id=str(deployment.get("name") or ""),
        model=str((props.get("model") or {}).get("name") or ""),
        state=ENDPOINT_STATES.get(str(props.get("provisioningState") or ""), "PENDING"),
        hardware=sku or None,
        cost_per_hour_usd=HOSTING_USD_PER_HOUR.get(sku),
        created_at=_epoch(created),
        inactive_timeout_min=15 * 24 * 60,
        name=str(deployment.get("name") or ""),
    )


def model_info_from(data: Mapping[str, Any]) -> ModelInfo:
    """An Azure ``Model`` object: retirement dates from ``deprecation``, the base from ``model``."""
    model_id = str(data["id"])
    raw = data.get("deprecation")
    deprecation: Mapping[str, Any] = raw if isinstance(raw, dict) else {}
    tuned = bool(data.get("fine_tune")) or ".ft-" in model_id
    created = data.get("created_at")
    return ModelInfo(
        id=model_id,
        created_at=created if isinstance(created, int) and not isinstance(created, bool) else None,
        tuned=tuned,
        base_model=(str(data.get("model") or "") or model_id.split(".ft-", 1)[0]) if tuned else None,
        shutdown_date=_day(deprecation.get("inference")),
        fine_tune_shutdown_date=_day(deprecation.get("fine_tune")),
        date_field="deprecation.inference",
    )


def _day(value: Any) -> str | None:
    """A ``unixtime`` of the spec as ``YYYY-MM-DD`` (UTC); anything else (null, absent) as None."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    return dt.datetime.fromtimestamp(value, tz=dt.UTC).date().isoformat()


def _epoch(value: Any) -> int | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return int(dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None
