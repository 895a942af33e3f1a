"""One prepared dataset launched on several providers: ``--provider openai,together --model A,B``.

How providers and models combine (and nothing else is guessed):

- ``provider:model`` names its provider explicitly (``together:Qwen/Qwen3-8B``); the provider must be one
  of the listed ones (or, with no ``--provider``, it is what lists them).
- A model without a prefix goes to the one listed provider that can tune it: OpenAI models are the ones
  ftclient's OpenAI tables know (``gpt-4.1-mini-2025-04-14``, aliases, ``ft:`` names); Together models are
  ``org/model`` names. A model that no listed provider takes, or more than one would, is refused with a
  message saying to write ``provider:model``.
- Every listed provider must end up with at least one model.

Each provider then gets an ordinary ``ftclient.jobs.launch`` (several models there make that provider's
own sweep), and the whole launch is recorded as one cross-provider sweep whose configs name every job, so
``ftclient evaluate SWEEP_ID`` compares them all on the dataset's test split.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftclient.errors import UnknownModelError, UserInputError
from ftclient.launching.config import sweep_id_for

if TYPE_CHECKING:
    from ftclient.config import Settings
    from ftclient.jobs import Job
    from ftclient.launching.plan import LaunchPlan
    from ftclient.registry import Registry


def split_names(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return [item.strip() for item in items if item and item.strip()]


def _known_providers() -> tuple[str, ...]:
    from ftclient.providers import available

    return tuple(available())


def takes(provider: str, model: str) -> bool:
    """Whether ``provider`` can fine-tune ``model``, judged offline."""
    from ftclient import pricing

    if provider == "openai":
        try:
            pricing.resolve_openai_model(model)
        except UnknownModelError:
            return False
        return True
    try:
        pricing.model_limits(provider, model)
    except UnknownModelError:
        return False
    return True


def is_cross(provider: str | None, model: str | Sequence[str] | None) -> bool:
    """True when the flags ask for more than one provider (a list, or ``provider:model`` prefixes)."""
    providers = split_names(provider)
    if len(providers) > 1:
        return True
    prefixed = {m.split(":", 1)[0] for m in split_names(model) if _prefix(m)}
    return bool(prefixed - set(providers)) or (len(prefixed) > 1)


def _prefix(model: str) -> str | None:
    head, sep, _ = model.partition(":")
    return head if sep and head in _known_providers() else None


def pair(providers: Sequence[str], models: Sequence[str]) -> list[tuple[str, list[str]]]:
    """``[(provider, [models...]), ...]`` in the order the providers were listed; raises on ambiguity."""
    known = _known_providers()
    listed = list(dict.fromkeys(providers))
    for name in listed:
        if name not in known:
            raise UserInputError(f"unknown provider {name!r}", hint=f"use one of: {', '.join(known)}")
    if not models:
        raise UserInputError(
            "launching on several providers needs --model with a model for each",
            hint="e.g. --provider openai,together --model gpt-4.1-mini-2025-04-14,Qwen/Qwen3-8B",
        )
    chosen: dict[str, list[str]] = {}
    for entry in models:
        explicit = _prefix(entry)
        if explicit is not None:
            model = entry.split(":", 1)[1]
            if listed and explicit not in listed:
                raise UserInputError(
                    f"{entry}: {explicit} is not among --provider {','.join(listed)}",
                    hint=f"add {explicit} to --provider, or drop the prefix",
                )
            chosen.setdefault(explicit, []).append(model)
            continue
        candidates = [p for p in listed if takes(p, entry)]
        if not candidates:
            raise UserInputError(
                f"none of {', '.join(listed) or 'the providers'} fine-tunes {entry!r}",
                hint="check the model name (docs/providers.md lists them) or write provider:model",
            )
        if len(candidates) > 1:
            raise UserInputError(
                f"{entry!r} could go to {' or '.join(candidates)}",
                hint=f"say which: --model {candidates[0]}:{entry}",
            )
        chosen.setdefault(candidates[0], []).append(entry)
    order = listed or list(chosen)
    missing = [p for p in order if p not in chosen]
    if missing:
        raise UserInputError(
            f"no model given for {', '.join(missing)}",
            hint="give each provider a model, e.g. --model gpt-4.1-mini-2025-04-14,together:Qwen/Qwen3-8B",
        )
    return [(p, list(dict.fromkeys(chosen[p]))) for p in order]


@dataclass(frozen=True)
class CrossLaunch:
    sweep_id: str
    jobs: list[Job]


def plan_across(
    dataset: Path | str | None,
    *,
    provider: str | Sequence[str] | None,
    model: str | Sequence[str] | None,
    **options: Any,
) -> list[LaunchPlan]:
    """One dry-run plan per provider (sends nothing)."""
    from ftclient.jobs import plan_launch

    return [
        plan_launch(dataset, provider=name, model=models if len(models) > 1 else models[0], **options)
        for name, models in pair(split_names(provider), split_names(model))
    ]


def launch_across(
    dataset: Path | str | None,
    *,
    provider: str | Sequence[str] | None,
    model: str | Sequence[str] | None,
    settings: Settings | None = None,
    registry: Registry | None = None,
    on_provider: Callable[[str, list[str]], None] | None = None,
    **options: Any,
) -> CrossLaunch:
    """Launch the dataset on every provider with its models; returns every job and the sweep that links them."""
    from ftclient.config import resolve
    from ftclient.jobs import launch
    from ftclient.launching.plan import open_registry
    from ftclient.launching.preflight import resolve_dataset

    settings = settings or resolve()
    registry = open_registry(registry, settings)
    pairs = pair(split_names(provider), split_names(model))
    ref = resolve_dataset(dataset, settings, registry)
    jobs: list[Job] = []
    configs: list[dict[str, Any]] = []
    for name, models in pairs:
        if on_provider is not None:
            on_provider(name, models)
        launched = launch(
            ref.path,
            provider=name,
            model=models if len(models) > 1 else models[0],
            settings=settings,
            registry=registry,
            **options,
        )
        batch = launched if isinstance(launched, list) else [launched]
        jobs.extend(batch)
        configs.extend(
            {"provider": name, "model": job.info.model if job.info else None, "job_id": job.id} for job in batch
        )
    sweep_id = sweep_id_for(ref.dataset_sha256, sorted(f"{c['provider']}:{c['model']}" for c in configs))
    registry.record_sweep(sweep_id, ref.dataset_sha256, configs)
    return CrossLaunch(sweep_id, jobs)
