"""Dated prices and per-model limits, and OpenAI's automatic epochs rule."""

from __future__ import annotations

import datetime

import pytest

from ftclient import pricing
from ftclient.errors import UnknownModelError, UnknownProviderError


def test_price_for_snapshot_alias_and_ft_name_agree() -> None:
    snapshot = pricing.price_for("openai", "gpt-4.1-mini-2025-04-14")
    assert snapshot.training_per_1m == 5.00
    assert snapshot.input_per_1m == 0.80
    assert snapshot.output_per_1m == 3.20
    datetime.date.fromisoformat(snapshot.as_of)
    assert snapshot.source.startswith("https://")
    assert pricing.price_for("openai", "gpt-4.1-mini") == snapshot
    assert pricing.price_for("openai", "ft:gpt-4.1-mini-2025-04-14:acme:t:AbC123:ckpt-step-10") == snapshot


@pytest.mark.parametrize(
    ("model", "per_1m"),
    [("gpt-4o-mini-2024-07-18", 3.0), ("gpt-4o-2024-08-06", 25.0), ("gpt-3.5-turbo", 8.0), ("babbage-002", 0.4)],
)
def test_training_prices(model: str, per_1m: float) -> None:
    price = pricing.price_for("openai", model)
    assert price.training_per_1m == per_1m
    assert price.training_cost(1_000_000) == pytest.approx(per_1m)


def test_hourly_training_is_not_a_token_price() -> None:
    price = pricing.price_for("openai", "o4-mini")
    assert price.training_per_1m is None
    assert price.training_per_hour == 100.0
    assert price.training_cost(10**6) is None


def test_unknown_model_and_provider() -> None:
    with pytest.raises(UnknownModelError) as info:
        pricing.price_for("openai", "gpt-2")
    assert "gpt-4.1-mini-2025-04-14" in (info.value.hint or "")
    with pytest.raises(UnknownProviderError):
        pricing.price_for("nope", "gpt-4.1")
    with pytest.raises(UnknownModelError, match="Qwen"):
        pricing.price_for("together", "Qwen/Qwen3-8B")


def test_limits() -> None:
    assert pricing.model_limits("openai", "gpt-4.1-nano").max_tokens_per_example == 32_768
    assert pricing.model_limits("openai", "gpt-4o-mini").max_tokens_per_example == 65_536
    limits = pricing.model_limits("openai", "ft:gpt-3.5-turbo-0613:a:b:c")
    assert limits.max_tokens_per_example == 4_096
    assert limits.encoding == "cl100k_base"
    assert "dpo" in pricing.model_limits("openai", "gpt-4.1-2025-04-14").methods
    assert "dpo" not in pricing.model_limits("openai", "gpt-3.5-turbo").methods
    assert pricing.model_limits("openai", "gpt-4o-2024-08-06").vision
    together = pricing.model_limits("together", "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference")
    assert together.encoding is None
    assert together.max_tokens_per_example is None
    assert any("estimate" in note for note in together.notes)


@pytest.mark.parametrize(
    ("n", "epochs"),
    [(5, 20), (1, 25), (10, 10), (33, 3), (34, 3), (100, 3), (8333, 3), (8334, 2), (30_000, 1), (12_500, 2)],
)
def test_default_epochs(n: int, epochs: int) -> None:
    assert pricing.default_epochs(n) == epochs
