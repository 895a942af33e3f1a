"""Dated price and limit tables, as data, per provider and model.

Prices change and fine-tuning offers are being wound down, so every figure carries the date it was read
and where from; reports print the date next to the money. ``ft:`` names resolve to their base model
(continued training and inference on a tuned model are priced like the base).

Sources: OpenAI's pricing page as of mid-2025 (section "Fine-tuning"); the fine-tuning guide's token-limit
table (Dec 2024) and Azure's fine-tunable model table for the gpt-4.1 family's limits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ftclient.errors import UnknownModelError, UnknownProviderError
from ftclient.tokens import CL100K, O200K, base_model_of

OPENAI_PRICES_AS_OF = "2025-06-15"
OPENAI_PRICES_SOURCE = "https://openai.com/api/pricing (Fine-tuning section, copy of mid-2025)"
OPENAI_LIMITS_SOURCE = (
    "OpenAI fine-tuning guide, token limits (Dec 2024); Azure OpenAI fine-tunable models table for gpt-4.1*"
)

KNOWN_PROVIDERS = ("openai", "together")


@dataclass(frozen=True)
class ModelPrice:
    """USD per 1M tokens. ``training_per_1m`` is None when training is billed by the hour instead."""

    provider: str
    model: str
    training_per_1m: float | None
    input_per_1m: float
    output_per_1m: float
    as_of: str
    source: str
    training_per_hour: float | None = None
    cached_input_per_1m: float | None = None

    def training_cost(self, billed_tokens: int) -> float | None:
        """Cost of ``billed_tokens`` training tokens (all epochs), or None when billed by time."""
        if self.training_per_1m is None:
            return None
        return billed_tokens * self.training_per_1m / 1_000_000


@dataclass(frozen=True)
class ModelLimits:
    """What a provider accepts for one base model."""

    provider: str
    model: str
    max_tokens_per_example: int | None
    methods: frozenset[str]
    encoding: str | None
    vision: bool = False
    deprecation: str | None = None
    notes: tuple[str, ...] = field(default=())


# base snapshot -> (training/1M, input/1M, cached input/1M, output/1M, training/hour)
_OPENAI_PRICES: dict[str, tuple[float | None, float, float | None, float, float | None]] = {
    "o4-mini-2025-04-16": (None, 4.00, 1.00, 16.00, 100.00),
    "gpt-4.1-2025-04-14": (25.00, 3.00, 0.75, 12.00, None),
    "gpt-4.1-mini-2025-04-14": (5.00, 0.80, 0.20, 3.20, None),
    "gpt-4.1-nano-2025-04-14": (1.50, 0.20, 0.05, 0.80, None),
    "gpt-4o-2024-08-06": (25.00, 3.75, 1.875, 15.00, None),
    "gpt-4o-mini-2024-07-18": (3.00, 0.30, 0.15, 1.20, None),
    "gpt-3.5-turbo-0125": (8.00, 3.00, None, 6.00, None),
    "gpt-3.5-turbo-1106": (8.00, 3.00, None, 6.00, None),
    "gpt-3.5-turbo-0613": (8.00, 3.00, None, 6.00, None),
    "davinci-002": (6.00, 12.00, None, 12.00, None),
    "babbage-002": (0.40, 1.60, None, 1.60, None),
}

_SFT = frozenset({"supervised"})
_SFT_DPO = frozenset({"supervised", "dpo"})

_OPENAI_LIMITS: dict[str, ModelLimits] = {
    m.model: m
    for m in (
        ModelLimits("openai", "gpt-4.1-2025-04-14", 65_536, _SFT_DPO, O200K),
        ModelLimits("openai", "gpt-4.1-mini-2025-04-14", 65_536, _SFT_DPO, O200K),
        ModelLimits(
            "openai",
            "gpt-4.1-nano-2025-04-14",
            32_768,
            _SFT_DPO,
            O200K,
            deprecation="reported retired for fine-tuning on 2026-10-23 (third-party report)",
        ),
        ModelLimits("openai", "gpt-4o-2024-08-06", 65_536, _SFT_DPO, O200K, vision=True),
        ModelLimits("openai", "gpt-4o-mini-2024-07-18", 65_536, _SFT, O200K),
        ModelLimits("openai", "o4-mini-2025-04-16", None, frozenset({"reinforcement"}), O200K),
        ModelLimits("openai", "gpt-3.5-turbo-0125", 16_385, _SFT, CL100K, deprecation="legacy model"),
        ModelLimits("openai", "gpt-3.5-turbo-1106", 16_385, _SFT, CL100K, deprecation="legacy model"),
        ModelLimits("openai", "gpt-3.5-turbo-0613", 4_096, _SFT, CL100K, deprecation="legacy model"),
        ModelLimits("openai", "gpt-4-0613", None, _SFT, CL100K, notes=("experimental access only",)),
        ModelLimits(
            "openai", "davinci-002", None, frozenset({"completion"}), CL100K, notes=("prompt/completion format",)
        ),
        ModelLimits(
            "openai", "babbage-002", None, frozenset({"completion"}), CL100K, notes=("prompt/completion format",)
        ),
    )
}

# Aliases OpenAI accepts for fine-tuning, pointing at the snapshot it trains.
_OPENAI_ALIASES = {
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14",
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "o4-mini": "o4-mini-2025-04-16",
    "gpt-3.5-turbo": "gpt-3.5-turbo-0125",
    "gpt-4": "gpt-4-0613",
}

OPENAI_MODEL_DEPRECATION = "OpenAI stops accepting new fine-tuning jobs on 2027-01-06"


def resolve_openai_model(model: str) -> str:
    """The dated base snapshot behind an alias, snapshot or ``ft:`` name; raises UnknownModelError."""
    base = base_model_of(model)
    base = _OPENAI_ALIASES.get(base, base)
    if base in _OPENAI_LIMITS:
        return base
    raise UnknownModelError(model, known=sorted(_OPENAI_LIMITS))


def _check_provider(provider: str) -> None:
    if provider not in KNOWN_PROVIDERS:
        raise UnknownProviderError(provider, KNOWN_PROVIDERS)


def price_for(provider: str, model: str) -> ModelPrice:
    """The dated price of ``model`` (``ft:`` names priced as their base). Raises UnknownModelError."""
    _check_provider(provider)
    if provider != "openai":
        raise UnknownModelError(
            model,
            hint=f"ftclient has no offline price table for {provider}; its price comes from the provider's "
            "estimate endpoint at launch (ftclient launch --dry-run)",
        )
    base = resolve_openai_model(model)
    training, input_, cached, output, per_hour = _OPENAI_PRICES[base]
    return ModelPrice(
        provider=provider,
        model=base,
        training_per_1m=training,
        input_per_1m=input_,
        output_per_1m=output,
        as_of=OPENAI_PRICES_AS_OF,
        source=OPENAI_PRICES_SOURCE,
        training_per_hour=per_hour,
        cached_input_per_1m=cached,
    )


def model_limits(provider: str, model: str) -> ModelLimits:
    """Per-example token limit, methods and encoding for ``model`` on ``provider``."""
    _check_provider(provider)
    if provider == "together":
        if "/" not in model:
            raise UnknownModelError(
                model,
                hint="Together models are named <org>/<model>, e.g. meta-llama/Meta-Llama-3.1-8B-Instruct-Reference",
            )
        return ModelLimits(
            provider,
            model,
            None,
            _SFT_DPO,
            None,
            notes=(
                "token counts are estimates (the model's own tokenizer is not shipped with ftclient)",
                "Together truncates examples at the model's max sequence length; its limits come from "
                "GET /fine-tunes/models/limits",
            ),
        )
    base = resolve_openai_model(model)
    limits = _OPENAI_LIMITS[base]
    return ModelLimits(
        limits.provider,
        base,
        limits.max_tokens_per_example,
        limits.methods,
        limits.encoding,
        limits.vision,
        limits.deprecation,
        (*limits.notes, OPENAI_MODEL_DEPRECATION),
    )


def known_models(provider: str = "openai") -> list[str]:
    _check_provider(provider)
    return sorted(_OPENAI_LIMITS) if provider == "openai" else []


# OpenAI's "auto" epochs rule, as its data-check notebook reproduces it.
TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25


def default_epochs(n_examples: int) -> int:
    """Epochs OpenAI picks for ``n_epochs="auto"``: aim at 100-25,000 example passes, 3 by default."""
    if n_examples <= 0:
        return TARGET_EPOCHS
    if n_examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        return min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // n_examples)
    if n_examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        return max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // n_examples)
    return TARGET_EPOCHS


# When OpenAI models stop answering (inference, tuned ``ft:`` models included: they retire with their base).
# Used when the provider's Models API gives no ``shutdown_date`` (or the model is no longer listed).
OPENAI_SHUTDOWNS_AS_OF = "2026-12-03"
OPENAI_SHUTDOWNS_SOURCE = (
    "OpenAI deprecations page (developers.openai.com/api/docs/deprecations) as mirrored: notice of 2026-10-14 "
    "(gpt-4o, gpt-4o-mini, gpt-4.1, gpt-4.1-mini and their ft: models on 2027-01-14) and the 2026-10-23 shutdowns"
)
_OPENAI_SHUTDOWNS: dict[str, str] = {
    "gpt-4o-2024-08-06": "2027-01-14",
    "gpt-4o-mini-2024-07-18": "2027-01-14",
    "gpt-4.1-2025-04-14": "2027-01-14",
    "gpt-4.1-mini-2025-04-14": "2027-01-14",
    "gpt-4.1-nano-2025-04-14": "2026-10-23",
    "o4-mini-2025-04-16": "2026-10-23",
    "gpt-3.5-turbo-0125": "2026-10-23",
    "gpt-3.5-turbo-1106": "2026-10-23",
    "gpt-3.5-turbo-0613": "2026-10-23",
    "gpt-4-0613": "2026-10-23",
}


def shutdown_date(provider: str, model: str) -> str | None:
    """The dated table's shutdown (``YYYY-MM-DD``) of a model or its base, or None when none is known."""
    if provider != "openai":
        return None
    try:
        return _OPENAI_SHUTDOWNS.get(resolve_openai_model(model))
    except UnknownModelError:
        return None
