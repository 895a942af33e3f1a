"""What the emulated OpenAI offers for fine-tuning: models, methods, limits, prices and end dates.

This is the emulator's own reading of OpenAI's published material, kept apart from the client's tables on
purpose: when the two disagree a test fails (tests/test_provider_facts.py compares both with the sources),
instead of the emulator agreeing with whatever the client believes. Each table names where it comes from.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# -- sources ---------------------------------------------------------------------------------------

MODELS_SOURCE = (
    "OpenAI fine-tuning guide 'Which models can be fine-tuned' (Dec 2024 copy) and the pricing page's "
    "Fine-tuning rows (mid-2025 copy)"
)
DPO_SOURCE = (
    "OpenAI DPO guide (developers.openai.com/api/docs/guides/direct-preference-optimization), 'Use with', 2025-2026"
)
LIMITS_SOURCE = (
    "OpenAI fine-tuning guide token-limit table (Dec 2024); Azure OpenAI fine-tunable models table for gpt-4.1*"
)
PRICES_SOURCE = "https://openai.com/api/pricing, section Fine-tuning"
PRICES_AS_OF = "2025-06-15"
SHUTDOWN_SOURCE = (
    "OpenAI deprecations page (developers.openai.com/api/docs/deprecations): shutdowns of 2026-10-23 and "
    "the notice of 2026-10-14 retiring gpt-4o, gpt-4o-mini, gpt-4.1, gpt-4.1-mini and their ft: models"
)
SHUTDOWN_AS_OF = "2026-10-14"

JOB_CREATION_ENDS = dt.date(2027, 1, 6)
"""The deprecations page: every organisation loses new fine-tuning job creation on this day."""

O200K = "o200k_base"
CL100K = "cl100k_base"


@dataclass(frozen=True)
class TunableModel:
    """One dated base snapshot as OpenAI offers it for fine-tuning."""

    snapshot: str
    methods: frozenset[str]
    max_tokens_per_example: int | None
    """None: no limit published for the snapshot."""
    encoding: str
    training_per_1m: float | None
    """USD per 1M trained tokens; None when not priced per token (o4-mini: per hour; gpt-4-0613: not listed)."""
    shutdown_date: dt.date | None
    """Base and ``ft:`` models stop on this date (None: not announced)."""


_S = frozenset({"supervised"})
_SD = frozenset({"supervised", "dpo"})
_R = frozenset({"reinforcement"})
_C = frozenset({"completion"})
_OCT_23 = dt.date(2026, 10, 23)
_JAN_14 = dt.date(2027, 1, 14)

# DPO: the DPO guide's "Use with" lists the gpt-4.1 family only (nano shut down since); gpt-4o's DPO was the
# Dec-2024 guide's example, not in the current list.
MODELS: dict[str, TunableModel] = {
    m.snapshot: m
    for m in (
        TunableModel("gpt-4.1-2025-04-14", _SD, 65_536, O200K, 25.00, _JAN_14),
        TunableModel("gpt-4.1-mini-2025-04-14", _SD, 65_536, O200K, 5.00, _JAN_14),
        TunableModel("gpt-4.1-nano-2025-04-14", _SD, 32_768, O200K, 1.50, _OCT_23),
        TunableModel("gpt-4o-2024-08-06", _S, 65_536, O200K, 25.00, _JAN_14),
        TunableModel("gpt-4o-mini-2024-07-18", _S, 65_536, O200K, 3.00, _JAN_14),
        TunableModel("o4-mini-2025-04-16", _R, None, O200K, None, _OCT_23),
        TunableModel("gpt-3.5-turbo-0125", _S, 16_385, CL100K, 8.00, _OCT_23),
        TunableModel("gpt-3.5-turbo-1106", _S, 16_385, CL100K, 8.00, _OCT_23),
        TunableModel("gpt-3.5-turbo-0613", _S, 4_096, CL100K, 8.00, _OCT_23),
        TunableModel("gpt-4-0613", _S, None, CL100K, None, _OCT_23),
        TunableModel("davinci-002", _C, None, CL100K, 6.00, None),
        TunableModel("babbage-002", _C, None, CL100K, 0.40, None),
    )
}

ALIASES = {
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14",
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "o4-mini": "o4-mini-2025-04-16",
    "gpt-3.5-turbo": "gpt-3.5-turbo-0125",
    "gpt-4": "gpt-4-0613",
}

# -- rules of a job ---------------------------------------------------------------------------------

MIN_EXAMPLES = 10
"""Fine-tuning guide: "you are required to provide at least 10 examples"."""

# The cookbook's data-prep notebook reproduces the "auto" epochs choice with these constants.
AUTO_TARGET_EPOCHS = 3
AUTO_MIN_PASSES = 100
AUTO_MAX_PASSES = 25_000
AUTO_MAX_EPOCHS = 25


def snapshot_of(model: str) -> str | None:
    """The dated snapshot behind an alias, snapshot or ``ft:`` name; None if OpenAI does not tune it."""
    name = model.split(":")[1] if model.startswith("ft:") and model.count(":") >= 1 else model
    name = ALIASES.get(name, name)
    return name if name in MODELS else None


def is_shut_down(snapshot: str, today: dt.date) -> bool:
    end = MODELS[snapshot].shutdown_date
    return end is not None and today >= end


def auto_epochs(n_examples: int) -> int:
    """``n_epochs: "auto"``: three passes, stretched to 100 example passes for small files (up to 25 epochs)
    and shrunk toward 25,000 for large ones (at least one)."""
    if n_examples <= 0:
        return AUTO_TARGET_EPOCHS
    passes = n_examples * AUTO_TARGET_EPOCHS
    if passes < AUTO_MIN_PASSES:
        return min(AUTO_MAX_EPOCHS, AUTO_MIN_PASSES // n_examples)
    if passes > AUTO_MAX_PASSES:
        return max(1, AUTO_MAX_PASSES // n_examples)
    return AUTO_TARGET_EPOCHS
