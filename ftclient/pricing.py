"""Dated price and limit tables, as data, per provider and model.

Prices change and fine-tuning offers are being wound down, so every figure carries the date it was read
and where from; reports print the date next to the money. ``ft:`` names resolve to their base model
(continued training and inference on a tuned model are priced like the base).

Sources: OpenAI's pricing page as of mid-2025 (section "Fine-tuning"); the fine-tuning guide's token-limit
table (Dec 2024) and Azure's fine-tunable model table for the gpt-4.1 family's limits; the DPO guide's "Use
with" list; OpenAI's deprecations page for shutdown dates. The Models API's ``shutdown_date`` is the live
source of a model's end: the adapter reads it when the API gives it, and this table is the offline fallback.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ftclient.errors import FineTuningClosedError, ModelShutDownError, UnknownModelError, UnknownProviderError
from ftclient.tokens import CL100K, O200K, base_model_of

OPENAI_PRICES_AS_OF = "2025-06-15"
OPENAI_PRICES_SOURCE = "https://openai.com/api/pricing (Fine-tuning section, copy of mid-2025)"
OPENAI_LIMITS_SOURCE = (
    "OpenAI fine-tuning guide, token limits (Dec 2024); Azure OpenAI fine-tunable models table for gpt-4.1*"
)

OPENAI_SHUTDOWN_SOURCE = (
    "OpenAI deprecations page (developers.openai.com/api/docs/deprecations): shutdowns of 2026-10-23; "
    "notice of 2026-10-14 retiring gpt-4o, gpt-4o-mini, gpt-4.1, gpt-4.1-mini and their ft: models on 2027-01-14"
)
OPENAI_DPO_SOURCE = (
    "OpenAI DPO guide, 'Use with' (developers.openai.com/api/docs/guides/direct-preference-optimization)"
)
OPENAI_JOB_CREATION_ENDS = dt.date(2027, 1, 6)
"""Deprecations page: every organisation loses new fine-tuning job creation on this day."""
_SHUT_2026_10_23 = dt.date(2026, 10, 23)
_RETIRE_2027_01_14 = dt.date(2027, 1, 14)

KNOWN_PROVIDERS = ("openai", "together", "fireworks", "azure", "bedrock", "vertex")


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
    shutdown_date: dt.date | None = None
    """The day the provider shuts the model (and models tuned from it) down; None when none is announced."""


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

# DPO only where the current DPO guide lists it (the gpt-4.1 family); gpt-4o took DPO only in the Dec-2024
# guide's example.
_OPENAI_LIMITS: dict[str, ModelLimits] = {
    m.model: m
    for m in (
        ModelLimits("openai", "gpt-4.1-2025-04-14", 65_536, _SFT_DPO, O200K, shutdown_date=_RETIRE_2027_01_14),
        ModelLimits("openai", "gpt-4.1-mini-2025-04-14", 65_536, _SFT_DPO, O200K, shutdown_date=_RETIRE_2027_01_14),
        ModelLimits("openai", "gpt-4.1-nano-2025-04-14", 32_768, _SFT_DPO, O200K, shutdown_date=_SHUT_2026_10_23),
        ModelLimits(
            "openai", "gpt-4o-2024-08-06", 65_536, _SFT, O200K, vision=True, shutdown_date=_RETIRE_2027_01_14
        ),
        ModelLimits("openai", "gpt-4o-mini-2024-07-18", 65_536, _SFT, O200K, shutdown_date=_RETIRE_2027_01_14),
        ModelLimits(
            "openai", "o4-mini-2025-04-16", None, frozenset({"reinforcement"}), O200K, shutdown_date=_SHUT_2026_10_23
        ),
        ModelLimits("openai", "gpt-3.5-turbo-0125", 16_385, _SFT, CL100K, shutdown_date=_SHUT_2026_10_23),
        ModelLimits("openai", "gpt-3.5-turbo-1106", 16_385, _SFT, CL100K, shutdown_date=_SHUT_2026_10_23),
        ModelLimits("openai", "gpt-3.5-turbo-0613", 4_096, _SFT, CL100K, shutdown_date=_SHUT_2026_10_23),
        ModelLimits(
            "openai",
            "gpt-4-0613",
            None,
            _SFT,
            CL100K,
            notes=("experimental access only",),
            shutdown_date=_SHUT_2026_10_23,
        ),
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


# Fireworks. Source: fireworks.ai/pricing (stored copy, undated; read 2026-12-03): fine-tuning "$0.50 per 1M
# training tokens" for models up to 16B parameters ("dataset size * number of epochs"), serverless inference
# "$0.20 per 1M tokens" up to 16B, and "dedicated deployments are billed by GPU-second ... $3.89 per hour for
# one NVIDIA A100 80 GB GPU" (other GPUs are not in that copy). The bases are on Fireworks' tunable list
# (docs.fireworks.ai/fine-tuning/fine-tuning-models); context lengths from the models' published configs.
FIREWORKS_PRICES_AS_OF = "2026-12-03"
FIREWORKS_PRICES_SOURCE = "https://fireworks.ai/pricing (stored copy read 2026-12-03)"
# base model -> (training $/1M tokens, serverless $/1M tokens, context length)
_FIREWORKS_MODELS: dict[str, tuple[float, float, int]] = {
    "accounts/fireworks/models/llama-v3p1-8b-instruct": (0.50, 0.20, 131_072),
    "accounts/fireworks/models/qwen3-8b": (0.50, 0.20, 40_960),
}
_FIREWORKS_GPU_HOUR_USD = {"NVIDIA_A100_80GB": 3.89}


# Azure OpenAI. Source: MicrosoftDocs/azure-ai-docs includes/fine-tune-models.md @ 1e62f38 (tunable models and
# their training context) and the model-retirement-schedule page (Learn snapshot, ms.date 2026-09-02:
# "Fine-tuned models" table, inference retirement of tuned deployments), read 2026-12-03 (research/providers.md
# 3.7, 3.8). Azure models are OpenAI's, so OpenAI's tokenizer counts their tokens.
# base -> (max training example context, deployment (inference) retirement of its fine-tunes)
_AZURE_MODELS: dict[str, tuple[int, dt.date]] = {
    "gpt-4o-mini-2024-07-18": (65_536, dt.date(2027, 10, 1)),
    "gpt-4o-2024-08-06": (65_536, dt.date(2027, 10, 1)),
    "gpt-4.1-2025-04-14": (65_536, dt.date(2027, 10, 14)),
    "gpt-4.1-mini-2025-04-14": (65_536, dt.date(2027, 10, 14)),
    "gpt-4.1-nano-2025-04-14": (32_768, dt.date(2027, 10, 14)),
}
AZURE_TRAINING_RETIREMENT = "Azure trains these models no earlier than April 2027, for existing customers only"


def _azure_limits(model: str) -> ModelLimits:
    base = model.split(".ft-", 1)[0]
    if base not in _AZURE_MODELS:
        raise UnknownModelError(
            model,
            known=sorted(_AZURE_MODELS),
            hint="Azure names base models with their version, e.g. gpt-4.1-mini-2025-04-14",
        )
    context, retires = _AZURE_MODELS[base]
    return ModelLimits(
        "azure",
        base,
        context,
        _SFT_DPO,
        O200K,
        notes=(AZURE_TRAINING_RETIREMENT, f"deployments of its fine-tunes retire on {retires.isoformat()}"),
        shutdown_date=retires,
    )


# AWS Bedrock (Amazon Nova, model customization). Sourced: the tunable model ids (Nova user guide,
# docs.aws.amazon.com/nova/latest/userguide/customization.html: fine-tuning of amazon.nova-micro-v1:0:128k,
# -lite-v1:0:300k, -pro-v1:0:300k), on-demand serving of custom Nova Micro/Lite/Pro in US East (N. Virginia)
# (docs.aws.amazon.com/bedrock/latest/userguide/deploy-custom-model-on-demand.html), epochCount default 2
# (docs.aws.amazon.com/bedrock/latest/userguide/cm-hp-nova-mm.html), all read 2026-12-03.
# ASSUMPTIONS, not found in any stored source: the dollar figures below (aws.amazon.com/bedrock/pricing was not
# available here; they are the order of magnitude of Nova's list prices and labelled as assumptions wherever
# shown) and the 32k-token training context per example.
BEDROCK_PRICES_AS_OF = "2026-12-03"
BEDROCK_PRICES_SOURCE = "assumption: aws.amazon.com/bedrock/pricing not available offline; figures unverified"
# base model -> (training $/1M tokens, input $/1M, output $/1M, provisioned throughput $/hour per model unit,
#                max tokens per training example)
_BEDROCK_MODELS: dict[str, tuple[float, float, float, float, int]] = {
    "amazon.nova-micro-v1:0": (1.00, 0.035, 0.14, 20.00, 32_000),
    "amazon.nova-lite-v1:0": (2.00, 0.06, 0.24, 25.00, 32_000),
    "amazon.nova-pro-v1:0": (8.00, 0.80, 3.20, 70.00, 32_000),
}
BEDROCK_DEFAULT_EPOCHS = 2
"""docs.aws.amazon.com/bedrock/latest/userguide/cm-hp-nova-mm.html: epochCount 1-5, default 2."""


def bedrock_base(model: str) -> str:
    """``amazon.nova-micro-v1:0:128k`` (the context-length variant Bedrock customizes) -> ``amazon.nova-micro-v1:0``."""
    parts = model.split(":")
    return ":".join(parts[:2]) if len(parts) > 2 else model


def bedrock_hour_usd(model: str) -> float | None:
    """Assumed dollars per hour of one provisioned-throughput model unit for a custom model of ``model``."""
    known = _BEDROCK_MODELS.get(bedrock_base(model))
    return known[3] if known else None


def _bedrock_limits(model: str) -> ModelLimits:
    base = bedrock_base(model)
    if base not in _BEDROCK_MODELS and not model.startswith("arn:"):
        raise UnknownModelError(
            model,
            known=sorted(_BEDROCK_MODELS),
            hint="Bedrock tunes Amazon Nova by its model id, e.g. amazon.nova-micro-v1:0",
        )
    known = _BEDROCK_MODELS.get(base)
    return ModelLimits(
        "bedrock",
        base,
        known[4] if known else None,
        frozenset({"supervised"}),
        None,
        notes=(
            "token counts are estimates (Nova's tokenizer is not published; o200k_base stands in)",
            "Bedrock prices in ftclient's table are assumptions, not read from aws.amazon.com/bedrock/pricing",
        ),
    )


# Google Vertex AI (Gemini supervised tuning). Source: cloud.google.com/vertex-ai/generative-ai/docs/models/
# gemini-tuning, "Limitations" (read 2026-12-03): Gemini 2.5 Flash and Flash-Lite take 131,072 input and output
# training tokens per example. No training price is held here (none was read from Google's pricing page), so
# costs for Vertex are left unestimated rather than guessed.
VERTEX_LIMITS_SOURCE = "https://cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-tuning (read 2026-12-03)"
_VERTEX_MODELS: dict[str, int] = {"gemini-2.5-flash": 131_072, "gemini-2.5-flash-lite": 131_072}


def _vertex_limits(model: str) -> ModelLimits:
    if model not in _VERTEX_MODELS:
        raise UnknownModelError(
            model, known=sorted(_VERTEX_MODELS), hint="Vertex tunes Gemini models named like gemini-2.5-flash"
        )
    return ModelLimits(
        "vertex",
        model,
        _VERTEX_MODELS[model],
        _SFT,
        None,
        notes=("token counts are estimates (Gemini's tokenizer is not shipped with ftclient)", VERTEX_LIMITS_SOURCE),
    )


def fireworks_gpu_hour_usd(accelerator: str) -> float | None:
    """Dollars per hour of one accelerator on a Fireworks on-demand deployment (None when not in the table)."""
    return _FIREWORKS_GPU_HOUR_USD.get(accelerator)


def resolve_openai_model(model: str) -> str:
    """The dated base snapshot behind an alias, snapshot or ``ft:`` name; raises UnknownModelError."""
    base = base_model_of(model)
    base = _OPENAI_ALIASES.get(base, base)
    if base in _OPENAI_LIMITS:
        return base
    raise UnknownModelError(model, known=sorted(_OPENAI_LIMITS))


def _check_provider(provider: str) -> None:
    if provider in KNOWN_PROVIDERS:
        return
    from ftclient.providers import available

    names = available()
    if provider not in names:
        raise UnknownProviderError(provider, sorted(names))


def _plugin_limits(provider: str, model: str) -> ModelLimits:
    """A provider added by another package or a settings-file profile: ftclient holds no facts about its
    models beyond the profile's ``models`` list, so little is checked offline and the provider judges the job."""
    from ftclient.providers import profiles

    profile = profiles().get(provider)
    if profile is not None and profile.models and model not in profile.models:
        raise UnknownModelError(
            model, known=sorted(profile.models), hint=f"the [providers.{provider}] profile lists these models"
        )
    return ModelLimits(
        provider,
        model,
        None,
        _SFT_DPO,
        None,
        notes=(f"ftclient has no offline facts about {provider}'s models; {provider} itself checks the job",),
    )


def price_for(provider: str, model: str) -> ModelPrice:
    """The dated price of ``model`` (``ft:`` names priced as their base). Raises UnknownModelError."""
    _check_provider(provider)
    if provider == "fireworks" and model in _FIREWORKS_MODELS:
        per_1m, serverless, _context = _FIREWORKS_MODELS[model]
        return ModelPrice(
            provider, model, per_1m, serverless, serverless, FIREWORKS_PRICES_AS_OF, FIREWORKS_PRICES_SOURCE
        )
    if provider == "bedrock" and bedrock_base(model) in _BEDROCK_MODELS:
        nova = _BEDROCK_MODELS[bedrock_base(model)]
        return ModelPrice(provider, bedrock_base(model), nova[0], nova[1], nova[2], BEDROCK_PRICES_AS_OF,
                          BEDROCK_PRICES_SOURCE)
    if provider not in KNOWN_PROVIDERS:
        from ftclient.providers import profiles

        profile = profiles().get(provider)
        if profile is not None and model in profile.prices:
            as_of = "the settings file"
            return ModelPrice(
                provider, model, profile.prices[model], 0.0, 0.0, as_of, f"[providers.{provider}] prices"
            )
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
    if provider not in KNOWN_PROVIDERS:
        return _plugin_limits(provider, model)
    own_table = _LIMITS_BY_PROVIDER.get(provider)
    if own_table is not None:
        return own_table(model)
    if provider == "together":
        if "/" not in model or model.startswith("accounts/"):  # accounts/<owner>/models/<id> is Fireworks' naming
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
        limits.shutdown_date,
    )


def _fireworks_limits(model: str) -> ModelLimits:
    if not model.startswith("accounts/"):
        raise UnknownModelError(
            model,
            known=sorted(_FIREWORKS_MODELS),
            hint="Fireworks models are named accounts/<owner>/models/<id>, e.g. "
            "accounts/fireworks/models/llama-v3p1-8b-instruct",
        )
    known = _FIREWORKS_MODELS.get(model)
    context = known[2] if known else None
    return ModelLimits(
        "fireworks",
        model,
        None,
        _SFT_DPO,
        None,
        notes=(
            "token counts are estimates (the model's own tokenizer is not shipped with ftclient)",
            "Fireworks truncates examples at maxContextLength"
            + (f" (the model's context is {context:,} tokens)" if context else ""),
        ),
    )


_LIMITS_BY_PROVIDER: dict[str, Callable[[str], ModelLimits]] = {
    "fireworks": _fireworks_limits,
    "azure": _azure_limits,
    "bedrock": _bedrock_limits,
    "vertex": _vertex_limits,
}
"""The providers whose per-model limits come from a table of their own here (OpenAI's and Together's are
worked out below)."""


def known_models(provider: str = "openai") -> list[str]:
    _check_provider(provider)
    catalogues: dict[str, Mapping[str, object]] = {
        "openai": _OPENAI_LIMITS,
        "fireworks": _FIREWORKS_MODELS,
        "azure": _AZURE_MODELS,
        "bedrock": _BEDROCK_MODELS,
        "vertex": _VERTEX_MODELS,
    }
    return sorted(catalogues.get(provider, {}))


def tunable_models(provider: str, today: dt.date, method: str | None = None) -> list[str]:
    """Snapshots still offered on ``today`` (optionally: that take ``method``), per the dated table."""
    _check_provider(provider)
    if provider != "openai":
        return []
    return sorted(
        name
        for name, limits in _OPENAI_LIMITS.items()
        if (limits.shutdown_date is None or today < limits.shutdown_date)
        and (method is None or method in limits.methods)
    )


def check_tunable(
    provider: str, model: str, *, method: str, today: dt.date, shutdown_date: dt.date | None = None
) -> str | None:
    """Refuse a model the provider has shut down by ``today``; else a note when its end is announced.

    ``shutdown_date`` is the live answer (the Models API's ``shutdown_date``) when the adapter got one; the
    dated table stands in when it did not. Raises ModelShutDownError naming the date and the alternatives.
    """
    if provider == "azure":
        return _check_azure_tunable(model, today, shutdown_date)
    if provider != "openai":
        return None
    limits = model_limits(provider, model)
    end = shutdown_date or limits.shutdown_date
    source = "the Models API" if shutdown_date else "OpenAI's deprecations page"
    if end is not None and today >= end:
        alternatives = [m for m in tunable_models(provider, today, method) if m != limits.model]
        raise ModelShutDownError(model, end.isoformat(), alternatives=alternatives, source=source)
    if end is not None:
        return f"{limits.model} shuts down on {end.isoformat()} ({(end - today).days} days; source: {source})"
    return None


def _check_azure_tunable(model: str, today: dt.date, end: dt.date | None) -> str | None:
    """Azure's end of tuning is its Models API's ``deprecation.fine_tune`` (the adapter's live answer); ftclient
    keeps no dated table of it, so without the answer nothing is said."""
    if end is None:
        return None
    source = "Azure's Models API, deprecation.fine_tune"
    if today >= end:
        raise ModelShutDownError(model, end.isoformat(), source=source)
    return f"{model} can be fine-tuned on Azure until {end.isoformat()} ({(end - today).days} days; source: {source})"


def check_openai_job_creation(today: dt.date) -> None:
    """From 2027-01-06 OpenAI takes no new fine-tuning job from anyone: refuse before anything is sent."""
    if today >= OPENAI_JOB_CREATION_ENDS:
        raise FineTuningClosedError(
            "OpenAI",
            OPENAI_JOB_CREATION_ENDS.isoformat(),
            hint="launch the same dataset on another provider: ftclient launch --provider together --model ...; "
            "existing tuned models keep serving until their base model shuts down",
        )


# OpenAI's "auto" epochs rule, as its data-check notebook reproduces it.
TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25


TOGETHER_DEFAULT_EPOCHS = 1
"""Together's ``n_epochs`` when none is sent: together-openapi.yaml ``FinetuneRequest.n_epochs`` default 1
(2026-04-28), the same in together 1.6.0's ``create_finetune_request``."""


FIREWORKS_DEFAULT_EPOCHS = 1
"""docs.fireworks.ai/fine-tuning/fine-tuning-models: "epochs", default 1."""


def default_epochs(n_examples: int, *, provider: str = "openai") -> int:
    """Epochs the provider picks when none is given: Together and Fireworks 1; OpenAI's ``n_epochs="auto"`` aims at
    100-25,000 example passes, 3 by default."""
    if provider == "together":
        return TOGETHER_DEFAULT_EPOCHS
    if provider == "fireworks":
        return FIREWORKS_DEFAULT_EPOCHS
    if provider == "bedrock":
        return BEDROCK_DEFAULT_EPOCHS
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
