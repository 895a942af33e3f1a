"""Bedrock facts the client and the emulator each keep their own copy of, checked against the published
source (the copies must not be shared: a wrong fact both agreed on could never fail a test)."""

from __future__ import annotations

from ftclient import pricing
from ftclient.dataset import rules_bedrock
from ftclient.emulator.bedrock import catalog
from ftclient.emulator.bedrock import rules as emulator_rules
from ftclient.providers.bedrock import wire

# docs.aws.amazon.com/nova/latest/userguide/customization.html (read 2026-12-03): Bedrock fine-tuning "Yes" for
# amazon.nova-micro-v1:0:128k, amazon.nova-lite-v1:0:300k, amazon.nova-pro-v1:0:300k.
PUBLISHED_TUNABLE = {"amazon.nova-micro-v1:0:128k", "amazon.nova-lite-v1:0:300k", "amazon.nova-pro-v1:0:300k"}
# docs.aws.amazon.com/nova/latest/userguide/fine-tune-prepare-data-understanding.html: reserved keywords.
PUBLISHED_RESERVED = {"User:", "Bot:", "Assistant:", "System:", "<image>", "<video>", "[EOS]"}
# docs.aws.amazon.com/bedrock/latest/userguide/deploy-custom-model-on-demand.html: bases and region.
PUBLISHED_ON_DEMAND = ({"amazon.nova-micro-v1:0", "amazon.nova-lite-v1:0", "amazon.nova-pro-v1:0"}, {"us-east-1"})
# docs.aws.amazon.com/bedrock/latest/userguide/cm-hp-nova-mm.html: epochCount 1-5 default 2; learningRate
# 1e-6 to 1e-4 default 1e-5; learningRateWarmupSteps 0-100 default 10.
PUBLISHED_HYPERPARAMETERS = {"epochCount": (1, 5, 2), "learningRate": (1e-6, 1e-4, 1e-5),
                             "learningRateWarmupSteps": (0, 100, 10)}


def test_tunable_models() -> None:
    client = {f"{m}{catalog.CUSTOMIZATION_SUFFIX[m]}" for m in pricing.known_models("bedrock")}
    emulator = {f"{m}{catalog.CUSTOMIZATION_SUFFIX[m]}" for m in catalog.FOUNDATION}
    assert client == PUBLISHED_TUNABLE and emulator == PUBLISHED_TUNABLE
    for variant in PUBLISHED_TUNABLE:
        assert pricing.model_limits("bedrock", variant).model == variant.rsplit(":", 1)[0]
        assert catalog.base_of(variant) == variant.rsplit(":", 1)[0]


def test_reserved_keywords() -> None:
    assert set(rules_bedrock.RESERVED) == PUBLISHED_RESERVED == set(emulator_rules.RESERVED)


def test_on_demand_serving() -> None:
    assert (set(wire.ON_DEMAND_BASES), set(wire.ON_DEMAND_REGIONS)) == PUBLISHED_ON_DEMAND
    emulator = {m for m, facts in catalog.FOUNDATION.items() if facts[2]}
    assert (emulator, set(catalog.ON_DEMAND_REGIONS)) == PUBLISHED_ON_DEMAND


def test_hyperparameters() -> None:
    assert pricing.default_epochs(100, provider="bedrock") == PUBLISHED_HYPERPARAMETERS["epochCount"][2]
    assert PUBLISHED_HYPERPARAMETERS["learningRate"][2] == wire.REFERENCE_LEARNING_RATE
    for name, (low, high, default) in PUBLISHED_HYPERPARAMETERS.items():
        kind, emu_low, emu_high, emu_default = catalog.HYPERPARAMETERS[name]
        assert (emu_low, emu_high, kind(emu_default)) == (low, high, default)


def test_the_unsourced_figures_are_labelled_assumptions_on_both_sides() -> None:
    assert "assumption" in pricing.BEDROCK_PRICES_SOURCE
    assert "ASSUMPTION" in (rules_bedrock.__doc__ or "") and "ASSUMPTION" in (catalog.__doc__ or "")
    assert (rules_bedrock.BedrockRuleSet.min_examples, rules_bedrock.BedrockRuleSet.max_examples) == (
        catalog.MIN_RECORDS, catalog.MAX_RECORDS)
    for model, facts in catalog.FOUNDATION.items():
        assert pricing.bedrock_hour_usd(model) == facts[3]
        assert pricing.price_for("bedrock", model).training_per_1m == facts[4]
