"""Facts the client and the emulator each keep their own copy of, checked against the published source.

The client (``ftclient.pricing``) and the emulator (``ftclient.emulator.openai.catalog``) must not share a
table: then a wrong fact would be agreed on by both and no test could fail. Instead each copy is compared
here with the source as published, so a wrong copy fails on its own.
"""

from __future__ import annotations

import datetime as dt

import pytest

from ftclient import pricing
from ftclient.emulator.openai import catalog

OCT_23 = dt.date(2026, 10, 23)
JAN_14 = dt.date(2027, 1, 14)

# OpenAI deprecations page (developers.openai.com/api/docs/deprecations), as mirrored in Dec 2026: shut down
# on 2026-10-23; retirement of 2027-01-14 announced on 2026-10-14 (base and ft: models alike).
PUBLISHED_SHUTDOWNS: dict[str, dt.date | None] = {
    "gpt-4.1-nano-2025-04-14": OCT_23,
    "o4-mini-2025-04-16": OCT_23,
    "gpt-3.5-turbo-0125": OCT_23,
    "gpt-3.5-turbo-1106": OCT_23,
    "gpt-3.5-turbo-0613": OCT_23,
    "gpt-4-0613": OCT_23,
    "gpt-4o-2024-08-06": JAN_14,
    "gpt-4o-mini-2024-07-18": JAN_14,
    "gpt-4.1-2025-04-14": JAN_14,
    "gpt-4.1-mini-2025-04-14": JAN_14,
    "davinci-002": None,
    "babbage-002": None,
}
PUBLISHED_JOB_CREATION_ENDS = dt.date(2027, 1, 6)  # same page: "all customers" lose new-job creation

# openai.com/api/pricing, Fine-tuning section (mid-2025 copy): USD per 1M training tokens; o4-mini is billed
# per hour ($100/h).
PUBLISHED_TRAINING_PER_1M: dict[str, float | None] = {
    "gpt-4.1-2025-04-14": 25.00,
    "gpt-4.1-mini-2025-04-14": 5.00,
    "gpt-4.1-nano-2025-04-14": 1.50,
    "gpt-4o-2024-08-06": 25.00,
    "gpt-4o-mini-2024-07-18": 3.00,
    "o4-mini-2025-04-16": None,
    "gpt-3.5-turbo-0125": 8.00,
    "davinci-002": 6.00,
    "babbage-002": 0.40,
}

# DPO guide, "Use with" (developers.openai.com/api/docs/guides/direct-preference-optimization).
PUBLISHED_DPO = {"gpt-4.1-2025-04-14", "gpt-4.1-mini-2025-04-14", "gpt-4.1-nano-2025-04-14"}

# Fine-tuning guide token-limit table (Dec 2024); Azure's fine-tunable model table for the gpt-4.1 family.
PUBLISHED_TOKEN_LIMITS = {
    "gpt-4o-2024-08-06": 65_536,
    "gpt-4o-mini-2024-07-18": 65_536,
    "gpt-4.1-2025-04-14": 65_536,
    "gpt-4.1-mini-2025-04-14": 65_536,
    "gpt-4.1-nano-2025-04-14": 32_768,
    "gpt-3.5-turbo-0125": 16_385,
    "gpt-3.5-turbo-1106": 16_385,
    "gpt-3.5-turbo-0613": 4_096,
}

# "auto" epochs: the cookbook's Chat_finetuning_data_prep notebook (TARGET_EPOCHS 3, 100-25,000 example
# passes, 1-25 epochs); its own worked example is 5 examples -> 20 epochs. The other points follow from
# those constants.
PUBLISHED_AUTO_EPOCHS = {1: 25, 3: 25, 5: 20, 10: 10, 33: 3, 34: 3, 100: 3, 8_333: 3, 8_334: 2, 30_000: 1}


@pytest.mark.parametrize(("snapshot", "published"), sorted(PUBLISHED_SHUTDOWNS.items()))
def test_shutdown_dates(snapshot: str, published: dt.date | None) -> None:
    assert pricing.model_limits("openai", snapshot).shutdown_date == published, "client copy"
    assert catalog.MODELS[snapshot].shutdown_date == published, "emulator copy"


def test_end_of_job_creation() -> None:
    assert pricing.OPENAI_JOB_CREATION_ENDS == PUBLISHED_JOB_CREATION_ENDS
    assert catalog.JOB_CREATION_ENDS == PUBLISHED_JOB_CREATION_ENDS


def test_the_same_models_are_known_to_both() -> None:
    assert set(pricing.known_models("openai")) == set(PUBLISHED_SHUTDOWNS) == set(catalog.MODELS)


@pytest.mark.parametrize(("snapshot", "published"), sorted(PUBLISHED_TRAINING_PER_1M.items()))
def test_training_prices(snapshot: str, published: float | None) -> None:
    assert pricing.price_for("openai", snapshot).training_per_1m == published, "client copy"
    assert catalog.MODELS[snapshot].training_per_1m == published, "emulator copy"


def test_dpo_models() -> None:
    client = {m for m in pricing.known_models("openai") if "dpo" in pricing.model_limits("openai", m).methods}
    emulator = {m for m, model in catalog.MODELS.items() if "dpo" in model.methods}
    assert client == PUBLISHED_DPO and emulator == PUBLISHED_DPO


@pytest.mark.parametrize(("snapshot", "published"), sorted(PUBLISHED_TOKEN_LIMITS.items()))
def test_token_limits(snapshot: str, published: int) -> None:
    assert pricing.model_limits("openai", snapshot).max_tokens_per_example == published, "client copy"
    assert catalog.MODELS[snapshot].max_tokens_per_example == published, "emulator copy"


@pytest.mark.parametrize(("n_examples", "epochs"), sorted(PUBLISHED_AUTO_EPOCHS.items()))
def test_auto_epochs(n_examples: int, epochs: int) -> None:
    assert pricing.default_epochs(n_examples) == epochs, "client copy"
    assert catalog.auto_epochs(n_examples) == epochs, "emulator copy"


def test_aliases_point_at_the_same_snapshots() -> None:
    for alias, snapshot in catalog.ALIASES.items():
        assert pricing.resolve_openai_model(alias) == snapshot
