"""``ftclient models``: every model a provider lists, and for tuned ones what a migration needs to know.

For each tuned model: its base, when it was made, the job that made it (from the local registry, else the
provider's job list), when it shuts down and how many days that leaves, and whether ftclient still holds
the dataset it was trained on. The shutdown date comes from the provider's Models API (``shutdown_date``)
when it gives one, else from ftclient's dated table (``ftclient.pricing.shutdown_date``); each entry says
which. Tuned models the registry knows but the provider no longer lists (deleted, or past their shutdown)
are listed too, marked as such: those are the ones whose answers only a capture still holds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftclient import calendar
from ftclient.errors import ProviderError
from ftclient.providers.base import JobInfo, ModelInfo, ModelListingProvider

if TYPE_CHECKING:
    from ftclient.config import Settings
    from ftclient.providers.base import Provider
    from ftclient.registry import Registry

SOURCE_API = "provider Models API ({field})"
SOURCE_TABLE = "ftclient retirement table, pricing.py as of {as_of}"
JOB_LIST_LIMIT = 100


@dataclass(frozen=True)
class ModelEntry:
    model: str
    provider: str
    tuned: bool
    base_model: str | None = None
    created_at: str | None = None
    """ISO date-time (UTC) the provider gives for the model."""
    job_id: str | None = None
    job_source: str | None = None
    """``registry`` or ``provider job list``: where the job that made the model was found."""
    shutdown_date: str | None = None
    shutdown_source: str | None = None
    days_left: int | None = None
    """Whole days from ``today`` to the shutdown (negative once past)."""
    fine_tune_shutdown_date: str | None = None
    """The last day the model can be tuned, where the provider's Models API says (Azure)."""
    listed: bool = True
    """False for a tuned model the registry knows but the provider no longer lists."""
    dataset_held: bool = False
    dataset_path: str | None = None
    dataset_sha256: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Inventory:
    provider: str
    today: str
    models: list[ModelEntry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "today": self.today,
            "models": [m.to_dict() for m in self.models],
            "notes": list(self.notes),
        }


def shutdown_of(
    provider: str, model: str, api_date: str | None, api_field: str = "shutdown_date"
) -> tuple[str | None, str | None]:
    """(date, source): the Models API's date (read from its ``api_field``) when given, else the dated table's."""
    from ftclient import pricing

    if api_date:
        return api_date, SOURCE_API.format(field=api_field)
    table = pricing.shutdown_date(provider, model)
    if table:
        return table, SOURCE_TABLE.format(as_of=pricing.OPENAI_SHUTDOWNS_AS_OF)
    return None, None


def days_until(date: str | None, today: dt.date) -> int | None:
    if not date:
        return None
    return (dt.date.fromisoformat(date) - today).days


def _iso(ts: int | None) -> str | None:
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).isoformat() if ts else None


def _dataset_of(registry: Registry, dataset_sha256: str | None, path: str | None) -> tuple[bool, str | None]:
    """Whether the dataset is still on disk (its folder with train.jsonl), and where."""
    record = registry.get_dataset(dataset_sha256) if dataset_sha256 else None
    folder = Path(record.path) if record is not None else (Path(path) if path else None)
    if folder is not None and (folder.is_file() or folder.suffix == ".jsonl"):  # a split file, held or deleted
        folder = folder.parent
    held = folder is not None and (folder / "train.jsonl").is_file()
    return held, str(folder) if folder is not None else None


def _provider_jobs(client: Provider) -> dict[str, JobInfo]:
    try:
        jobs = client.list_jobs(limit=JOB_LIST_LIMIT)
    except ProviderError:
        return {}
    return {job.fine_tuned_model: job for job in jobs if job.fine_tuned_model}


def _listed_models(client: Provider) -> list[ModelInfo] | None:
    if client.capabilities.model_listing and isinstance(client, ModelListingProvider):
        return client.list_models()
    return None


def build_inventory(
    provider_name: str,
    client: Provider,
    registry: Registry,
    *,
    tuned_only: bool = False,
    today: dt.date | None = None,
) -> Inventory:
    """The inventory from an open adapter and registry (``inventory`` opens them from settings)."""
    today = today or calendar.today()
    result = Inventory(provider=provider_name, today=today.isoformat())
    jobs = _provider_jobs(client)
    listed = _listed_models(client)
    if listed is None:
        result.notes.append(f"{provider_name} has no models listing ftclient uses: tuned models come from its job list")
        listed = [
            ModelInfo(id=name, created_at=job.finished_at or job.created_at, tuned=True, base_model=job.model)
            for name, job in jobs.items()
        ]
    seen: set[str] = set()
    for info in listed:
        if tuned_only and not info.tuned:
            continue
        seen.add(info.id)
        result.models.append(_entry(provider_name, info, registry, jobs, today, listed=True))
    for record in registry.list_models():
        if record.provider != provider_name or record.model in seen or ":ckpt-step-" in record.model:
            continue
        info = ModelInfo(id=record.model, tuned=True, base_model=record.base_model)
        result.models.append(_entry(provider_name, info, registry, jobs, today, listed=False))
    result.models.sort(key=lambda m: (not m.tuned, m.days_left if m.days_left is not None else 10**6, m.model))
    return result


def _entry(
    provider: str,
    info: ModelInfo,
    registry: Registry,
    jobs: Mapping[str, JobInfo],
    today: dt.date,
    *,
    listed: bool,
) -> ModelEntry:
    date, source = shutdown_of(provider, info.id, info.shutdown_date, info.date_field)
    base_model = info.base_model
    job_id = job_source = None
    held, path, sha = False, None, None
    if info.tuned:
        record = registry.find_job_by_model(info.id)
        if record is not None:
            job_id, job_source, sha = record.job_id, "registry", record.dataset_sha256
            base_model = base_model or record.base_model
            held, path = _dataset_of(registry, record.dataset_sha256, record.dataset_path)
        elif info.id in jobs:
            job = jobs[info.id]
            job_id, job_source = job.id, "provider job list"
            base_model = base_model or job.model
            sha = _dataset_by_upload(registry, job.training_file)
            if sha:
                held, path = _dataset_of(registry, sha, None)
    return ModelEntry(
        model=info.id,
        provider=provider,
        tuned=info.tuned,
        base_model=base_model,
        created_at=_iso(info.created_at),
        job_id=job_id,
        job_source=job_source,
        shutdown_date=date,
        shutdown_source=source,
        days_left=days_until(date, today),
        fine_tune_shutdown_date=info.fine_tune_shutdown_date,
        listed=listed,
        dataset_held=held,
        dataset_path=path,
        dataset_sha256=sha,
    )


def _dataset_by_upload(registry: Registry, file_id: str | None) -> str | None:
    """The dataset an uploaded training file came from, when this machine uploaded it."""
    if not file_id:
        return None
    for upload in registry.list_uploads():
        if upload.file_id == file_id and upload.dataset_sha256:
            return upload.dataset_sha256
    return None


def inventory(
    provider: str | None = None,
    *,
    tuned_only: bool = False,
    today: dt.date | None = None,
    settings: Settings | None = None,
    registry: Registry | None = None,
    provider_client: Provider | None = None,
) -> Inventory:
    """Every model ``provider`` lists (only tuned ones with ``tuned_only``), with shutdown dates and days left.

    Python API of ``ftclient models``.
    """
    from ftclient.config import resolve
    from ftclient.providers import get_provider
    from ftclient.registry import Registry

    settings = settings or resolve()
    name = provider or settings.provider
    own_registry = registry is None
    registry = registry or Registry(settings.registry_path)
    client = provider_client or get_provider(name, settings)
    try:
        return build_inventory(name, client, registry, tuned_only=tuned_only, today=today)
    finally:
        if provider_client is None:
            client.close()
        if own_registry:
            registry.close()


def find_entry(entries: Sequence[ModelEntry], model: str) -> ModelEntry | None:
    return next((e for e in entries if e.model == model), None)
