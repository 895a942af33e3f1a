"""Working out a launch before sending anything: the dataset, the configurations (a sweep when lists
are given), preflight per configuration, and the exact requests (``launch --dry-run`` prints this plan)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftclient.config import Settings, resolve
from ftclient.errors import UnknownModelError, UserInputError
from ftclient.launching.config import LaunchConfig, expand, sweep_id_for
from ftclient.launching.create import CONFIG_KEY, DATASET_KEY, RUN_KEY, SWEEP_KEY, UNFINISHED_OK
from ftclient.launching.preflight import DatasetRef, Preflight, TokenScan, preflight, resolve_dataset
from ftclient.launching.upload import content_name
from ftclient.providers import get_provider
from ftclient.providers.base import JobSpec, NativeFormatProvider, RequestPreview, SpecChecks
from ftclient.providers.credentials import endpoint_identity, without_userinfo

if TYPE_CHECKING:
    from ftclient.registry import Registry


@dataclass(frozen=True)
class LaunchStep:
    """Something a launch did or decided, for a live display (``kind``: preflight, note, moderation,
    upload, reuse, create, retry, attach)."""

    kind: str
    message: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PlannedJob:
    config: LaunchConfig
    config_key: str
    preflight: Preflight
    request: Mapping[str, Any]
    """The create request as it will be sent (file ids are placeholders until the files are uploaded)."""
    existing_job_id: str | None = None


@dataclass(frozen=True)
class LaunchPlan:
    """Everything a launch will send and spend, worked out without sending anything."""

    dataset: DatasetRef
    provider: str
    endpoint: str
    uploads: Sequence[Mapping[str, Any]]
    jobs: Sequence[PlannedJob]
    sweep_id: str | None
    notes: Sequence[str] = ()

    @property
    def total_cost_usd(self) -> float | None:
        costs = [j.preflight.cost_usd for j in self.jobs if j.existing_job_id is None]
        return None if any(c is None for c in costs) else float(sum(c for c in costs if c is not None))

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": {"path": str(self.dataset.path), "dataset_sha256": self.dataset.dataset_sha256},
            "provider": self.provider,
            "endpoint": self.endpoint,
            "sweep_id": self.sweep_id,
            "uploads": [dict(u) for u in self.uploads],
            "jobs": [
                {
                    "config_key": j.config_key,
                    "model": j.config.model,
                    "method": j.config.method,
                    "hyperparameters": dict(j.config.hyperparameters),
                    "existing_job_id": j.existing_job_id,
                    "request": dict(j.request),
                    "epochs": j.preflight.epochs,
                    "tokens_per_epoch": j.preflight.tokens_per_epoch,
                    "billed_tokens": j.preflight.billed_tokens,
                    "estimated_cost_usd": j.preflight.cost_usd,
                    "price_as_of": j.preflight.price_as_of,
                    "examples": j.preflight.examples,
                    "validation_examples": j.preflight.validation_examples,
                }
                for j in self.jobs
            ],
            "estimated_total_cost_usd": self.total_cost_usd,
            "notes": list(self.notes),
        }


def _masked(value: Any) -> Any:
    """``value`` (a request preview) with the password of any URL in it masked: the plan is printed."""
    if isinstance(value, str):
        return without_userinfo(value)
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def open_registry(registry: Registry | None, settings: Settings) -> Registry:
    if registry is not None:
        return registry
    from ftclient.registry import Registry

    return Registry(settings.registry_path)


def plan_launch(
    dataset: Path | str | None = None,
    *,
    provider: str | None = None,
    model: str | Sequence[str] | None = None,
    method: str | None = None,
    epochs: int | Sequence[int] | None = None,
    batch_size: int | Sequence[int] | None = None,
    lr_multiplier: float | Sequence[float] | None = None,
    beta: float | Sequence[float] | None = None,
    suffix: str | None = None,
    seed: int | None = None,
    validation: bool = True,
    wandb_project: str | None = None,
    force_new: bool = False,
    settings: Settings | None = None,
    registry: Registry | None = None,
    today: dt.date | None = None,
    ask_shutdown_dates: bool = False,
) -> LaunchPlan:
    """Resolve the dataset, expand the configurations and run preflight: sends nothing, unless
    ``ask_shutdown_dates`` (a real launch), which reads each model's shutdown date from the provider."""
    settings = settings or resolve()
    registry = open_registry(registry, settings)
    ref = resolve_dataset(dataset, settings, registry)
    target = ref.manifest.get("target") or {}
    provider_name = provider or target.get("provider") or settings.provider
    adapter = get_provider(provider_name, settings)
    endpoint = endpoint_identity(adapter)
    official = bool(getattr(adapter, "is_official", True))
    configs = expand(
        models=model or target.get("model") or settings.model,
        method=method or ref.method,
        epochs=epochs,
        batch_size=batch_size,
        lr_multiplier=lr_multiplier,
        beta=beta,
        suffix=suffix,
        seed=seed,
        use_validation=validation and ref.validation is not None,
        wandb_project=wandb_project,
        provider=provider_name,
    )
    scans: dict[tuple[str, str], TokenScan] = {}
    shutdowns = _live_shutdown_dates(adapter, [c.model for c in configs]) if ask_shutdown_dates else {}
    checks = [
        preflight(
            ref,
            c,
            provider=provider_name,
            methods=adapter.capabilities.methods,
            official=official,
            today=today,
            scans=scans,
            shutdown_date=shutdowns.get(c.model),
        )
        for c in configs
    ]
    keys = [c.key(ref.dataset_sha256, provider_name) for c in configs]
    sweep_id = sweep_id_for(ref.dataset_sha256, keys) if len(configs) > 1 else None
    preview = adapter if isinstance(adapter, RequestPreview) else None
    uploads = []
    fmt = _native_format(adapter, configs)
    for split, source, source_sha in (
        ("train", ref.train, ref.train_sha256),
        ("validation", ref.validation, ref.validation_sha256),
    ):
        if source is None or source_sha is None:
            continue
        if split == "validation" and not any(c.use_validation for c in configs):
            continue
        path, sha = (source, source_sha) if fmt is None else _converted(
            source, source_sha, fmt, provider=provider_name, model=configs[0].model, settings=settings, split=split
        )
        known = registry.find_upload(provider_name, sha, endpoint=endpoint)
        uploads.append(
            {
                "split": split,
                "format": fmt or "chat",
                "path": str(path),
                "bytes": path.stat().st_size,
                "sha256": sha,
                "reuse_file_id": known.file_id if known else None,
                "requests": []
                if known or preview is None
                else _masked(preview.preview_upload(path, filename=content_name(path, sha))),
            }
        )
    planned = []
    for config, key, check in zip(configs, keys, checks, strict=True):
        spec = job_spec(
            config,
            "<training file id>",
            "<validation file id>" if config.use_validation else None,
            run_id="<run id>",
            key=key,
            dataset_sha256=ref.dataset_sha256,
            sweep_id=sweep_id,
            provider=provider_name,
        )
        if isinstance(adapter, SpecChecks):
            adapter.check_spec(spec, online=False)
        request = _masked(preview.preview_create(spec)) if preview else {"job": spec.__dict__}
        existing = None if force_new else _known_job(registry, provider_name, endpoint, key)
        planned.append(PlannedJob(config, key, check, request, existing))
    notes = list(dict.fromkeys(n for c in checks for n in c.notes))
    return LaunchPlan(ref, provider_name, endpoint, uploads, planned, sweep_id, notes)


def _native_format(adapter: object, configs: Sequence[LaunchConfig]) -> str | None:
    """The one schema every configuration of this launch trains on (None: the chat JSONL as it is).

    A launch uploads each split once, so models that need different schemas go in separate launches."""
    if not isinstance(adapter, NativeFormatProvider):
        return None
    formats = {c.model: adapter.dataset_format(c.model, c.method) for c in configs}
    if len(set(formats.values())) > 1:
        listed = ", ".join(f"{model}: {fmt or 'chat'}" for model, fmt in formats.items())
        raise UserInputError(
            f"these models train on different dataset schemas ({listed})",
            hint="launch the models of each schema separately",
        )
    return next(iter(formats.values()))


def _converted(
    path: Path, sha: str, fmt: str, *, provider: str, model: str, settings: Settings, split: str = "train"
) -> tuple[Path, str]:
    """``path`` converted to ``fmt`` (cached in the home by the source hash) and validated by the provider's
    rules, so nothing the provider would refuse is uploaded. The minimum number of examples is a rule for the
    training file: a validation split is smaller by design."""
    from ftclient.dataset.formats import convert_file
    from ftclient.dataset.validate import ensure_valid, validate

    converted = convert_file(path, fmt, settings.home / "converted" / provider, source_sha256=sha)
    report = validate(converted.path, provider=provider, model=model)
    if split != "train":
        kept = [p for p in report.problems if p.code != "too-few-examples"]
        counts = {code: n for code, n in report.problem_counts.items() if code != "error:too-few-examples"}
        report = report.model_copy(
            update={"problems": kept, "problem_counts": counts, "ok": not any(p.severity == "error" for p in kept)}
        )
    ensure_valid(report)
    return converted.path, converted.sha256


def _live_shutdown_dates(adapter: object, models: Sequence[str]) -> dict[str, dt.date]:
    """Each model's shutdown date as the provider's Models API states it, for the adapters that can say."""
    lookup = getattr(adapter, "model_shutdown_date", None)
    if not callable(lookup):
        return {}
    found: dict[str, dt.date] = {}
    for model in dict.fromkeys(models):
        when = lookup(model)
        if isinstance(when, dt.date):
            found[model] = when
    return found


def model_to_send(provider: str, model: str) -> str:
    """The model name a job is created with. OpenAI fine-tunes dated snapshots only (fine-tuning guide: "only
    specific model snapshots ... can be used"; a live 400 ``model_not_available`` for ``gpt-4o-mini``,
    2025-08), so an alias goes out as the snapshot it stands for; ``ft:`` names go as they are."""
    from ftclient import pricing

    if provider != "openai" or model.startswith("ft:"):
        return model
    try:
        return pricing.resolve_openai_model(model)
    except UnknownModelError:
        return model


def _known_job(registry: Registry, provider: str, endpoint: str, key: str) -> str | None:
    for run in registry.find_runs(provider, endpoint, key):
        record = registry.get_job(run.job_id) if run.job_id else None
        if record is not None and record.status not in UNFINISHED_OK:
            return record.job_id
    return None


def job_spec(
    config: LaunchConfig,
    training_file: str,
    validation_file: str | None,
    *,
    run_id: str,
    key: str,
    dataset_sha256: str,
    sweep_id: str | None,
    provider: str = "openai",
) -> JobSpec:
    metadata = {RUN_KEY: run_id, CONFIG_KEY: key, DATASET_KEY: dataset_sha256}
    if sweep_id:
        metadata[SWEEP_KEY] = sweep_id
    return JobSpec(
        model=model_to_send(provider, config.model),
        training_file=training_file,
        validation_file=validation_file,
        method=config.method,
        hyperparameters=dict(config.hyperparameters),
        suffix=config.suffix,
        seed=config.seed,
        metadata=metadata,
        wandb_project=config.wandb_project,
    )
