"""Creating a job exactly once, whatever the network does.

OpenAI sends no idempotency key, so a create request resent after a timeout, a dropped connection, a
5xx or a 429 may make a second job. ftclient instead:

1. writes a *run* (a fresh ``run_id`` and the configuration's key) to the registry before sending;
2. sends the create request once, with the SDK's retries off, carrying ``run_id`` in the job's metadata;
3. when the outcome is unknown, waits, then lists jobs by that ``run_id`` and only sends again when the
   provider has none; this loop is the one retry layer of the call path and stops after a few attempts.

An earlier run of the same configuration is found first (``find_existing``): by the registry, and by
the provider's metadata for jobs launched from another machine. A process killed between steps 1 and 2
leaves a run without a job; the next launch looks that run up on the provider before reusing it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ftclient.errors import ProviderError, ProviderUnavailable, RateLimitError, RemoteNotFoundError
from ftclient.providers.credentials import endpoint_identity

if TYPE_CHECKING:
    from ftclient.providers.base import JobInfo, JobSpec, Provider
    from ftclient.registry import Registry

RUN_KEY = "ftclient_run"
CONFIG_KEY = "ftclient_config"
DATASET_KEY = "ftclient_dataset"
SWEEP_KEY = "ftclient_sweep"
UNFINISHED_OK = frozenset({"failed", "cancelled"})
"""Earlier identical jobs in these states do not stop a new launch: they produced nothing."""
MAX_CREATE_ATTEMPTS = 6
MAX_BACKOFF_S = 60.0

OUTCOME_UNKNOWN = (ProviderUnavailable, RateLimitError)
"""Errors after which the job may or may not exist (timeouts, dropped connections, 5xx, 429)."""


def new_run_id() -> str:
    return f"run-{uuid.uuid4().hex[:20]}"


@dataclass(frozen=True)
class Existing:
    """What is already known about a configuration: a job to re-attach to, or a run to reuse."""

    job: JobInfo | None = None
    run_id: str | None = None
    previous_failed: JobInfo | None = None


def _endpoint(provider: Provider) -> str:
    return endpoint_identity(provider)


def find_existing(
    provider: Provider,
    registry: Registry,
    config_key: str,
    *,
    dataset_path: str | None = None,
    dataset_sha256: str | None = None,
) -> Existing:
    """The job an identical launch already made (re-attach), or a run whose create never answered."""
    endpoint = _endpoint(provider)
    failed: JobInfo | None = None
    pending: str | None = None
    for run in registry.find_runs(provider.name, endpoint, config_key):
        if run.job_id:
            try:
                current = provider.get_job(run.job_id)
            except RemoteNotFoundError:
                continue  # deleted, or another server behind the same address: nothing to re-attach to
            if current.status not in UNFINISHED_OK:
                return Existing(job=current)
            failed = failed or current
            continue
        found = provider.find_jobs({RUN_KEY: run.run_id}) if provider.capabilities.job_metadata else []
        if found:
            job = found[0]
            registry.record_job(
                job,
                endpoint=endpoint,
                run_id=run.run_id,
                sweep_id=run.sweep_id,
                config_key=config_key,
                dataset_sha256=run.dataset_sha256,
                dataset_path=run.dataset_path,
                estimated_tokens=run.estimated_tokens,
                estimated_cost_usd=run.estimated_cost_usd,
            )
            if job.status not in UNFINISHED_OK:
                return Existing(job=job)
            failed = failed or job
            continue
        pending = pending or run.run_id
    if failed is None and pending is None and provider.capabilities.job_metadata:
        # Launched from another machine (or a lost registry): the provider still knows the configuration.
        for job in provider.find_jobs({CONFIG_KEY: config_key}):
            registry.record_job(
                job,
                endpoint=endpoint,
                run_id=job.metadata.get(RUN_KEY),
                config_key=config_key,
                dataset_sha256=dataset_sha256,
                dataset_path=dataset_path,
            )
            if job.status not in UNFINISHED_OK:
                return Existing(job=job)
            failed = failed or job
    return Existing(run_id=pending, previous_failed=failed)


def launched_elsewhere(provider: Provider, config_key: str) -> JobInfo | None:
    """A live job of this configuration that another launch created after ours looked (``find_existing``):
    from another ``FTCLIENT_HOME`` or machine, which no local lock reaches. Asked just before create."""
    if not provider.capabilities.job_metadata:
        return None
    for job in provider.find_jobs({CONFIG_KEY: config_key}):
        if job.status not in UNFINISHED_OK:
            return job
    return None


def create_idempotent(
    provider: Provider,
    spec: JobSpec,
    run_id: str,
    *,
    max_attempts: int = MAX_CREATE_ATTEMPTS,
    base_backoff_s: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[int, ProviderError], None] | None = None,
) -> JobInfo:
    """Create the job of ``spec`` (whose metadata carries ``run_id``) at most once."""
    metadata: Mapping[str, str] = spec.metadata
    if metadata.get(RUN_KEY) != run_id:
        raise ValueError("spec.metadata must carry the run id")
    last: ProviderError | None = None
    for attempt in range(max_attempts):
        if attempt:
            assert last is not None
            sleep(_backoff(attempt, last, base_backoff_s))
            if provider.capabilities.job_metadata:
                found = provider.find_jobs({RUN_KEY: run_id})
                if found:
                    return found[0]
        try:
            return provider.create_job(spec)
        except OUTCOME_UNKNOWN as exc:
            last = exc
            if on_retry:
                on_retry(attempt + 1, exc)
    assert last is not None
    last.hint = (
        f"the job may still have been created: `ftclient launch` again finds it by its run id ({run_id}) "
        "instead of creating another"
    )
    raise last


def _backoff(attempt: int, error: ProviderError, base_s: float) -> float:
    asked = error.retry_after_s
    if isinstance(asked, int | float) and asked >= 0:
        return min(float(asked), MAX_BACKOFF_S)
    return float(min(base_s * 2.0 ** (attempt - 1), MAX_BACKOFF_S))
