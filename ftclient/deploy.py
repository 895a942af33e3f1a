"""Deploying a tuned model on a dedicated endpoint, and making sure it stops.

Some providers (Together) serve a tuned model only from a dedicated endpoint that bills by the minute
while it runs, whether or not anyone asks it anything. So:

- ``deploy(job_id)`` creates the endpoint (always with an inactivity timeout: the provider stops it after
  that many idle minutes even if ftclient never gets to), waits until it is ``STARTED`` on an injectable
  clock, and records it in the registry;
- ``deployed(job_id)`` is a context manager that stops the endpoint when the block ends, also on errors
  and Ctrl-C, unless ``keep=True``;
- ``running_endpoints()`` lists endpoints ftclient started that are still running, for warnings.

    with ftclient.deploy.deployed("ft-...") as d:
        report = ftclient.evaluate("ft-...", model=d.serving_name)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ftclient.errors import (
    FtclientError,
    JobFailedError,
    ProviderError,
    ProviderUnavailable,
    UserInputError,
    WaitTimeout,
)
from ftclient.providers.base import DeployingProvider, Endpoint

if TYPE_CHECKING:
    from ftclient.config import Settings
    from ftclient.providers.base import Provider
    from ftclient.registry import Registry
    from ftclient.registry.records import EndpointRecord

DEFAULT_INACTIVE_TIMEOUT_MIN = 30
DEFAULT_START_TIMEOUT_S = 30 * 60.0
STOPPED_STATES = frozenset({"STOPPED", "STOPPING"})


@dataclass(frozen=True)
class Deployment:
    """A started endpoint serving a tuned model."""

    endpoint: Endpoint
    provider: str
    model: str
    """The tuned model deployed (the job's output model)."""
    job_id: str | None
    waited_s: float

    @property
    def serving_name(self) -> str:
        """What chat requests name as ``model`` to reach this endpoint."""
        return self.endpoint.name or self.endpoint.model

    def to_dict(self) -> dict[str, Any]:
        e = self.endpoint
        return {
            "endpoint_id": e.id,
            "name": self.serving_name,
            "model": self.model,
            "job_id": self.job_id,
            "provider": self.provider,
            "state": e.state,
            "hardware": e.hardware,
            "cost_per_hour_usd": e.cost_per_hour_usd,
            "inactive_timeout_min": e.inactive_timeout_min,
            "waited_s": round(self.waited_s, 3),
        }


def deploying(provider: Provider) -> DeployingProvider:
    """``provider`` as a DeployingProvider, or a clear error for providers that serve tuned models directly."""
    if not provider.capabilities.needs_deployment or not isinstance(provider, DeployingProvider):
        raise UserInputError(
            f"{provider.name} serves tuned models directly; there is nothing to deploy",
            hint="evaluate or call the tuned model by its name",
        )
    return provider


def tuned_model_of(job_or_model: str, provider: Provider, registry: Registry | None) -> tuple[str, str | None]:
    """(tuned model, job id) for a job id or a tuned model name; the job must have succeeded."""
    record = registry.get_job(job_or_model) if registry is not None else None
    if record is None and registry is not None:
        by_model = registry.find_job_by_model(job_or_model)
        if by_model is not None:
            return job_or_model, by_model.job_id
    if record is not None and record.status == "succeeded" and record.fine_tuned_model:
        return record.fine_tuned_model, record.job_id
    if record is None and not _looks_like_job(job_or_model):
        return job_or_model, None
    info = provider.get_job(job_or_model)
    if registry is not None and record is not None:
        registry.update_job(info)
    if info.status != "succeeded" or not info.fine_tuned_model:
        raise JobFailedError(
            info.id,
            info.status,
            detail=info.error_message,
            hint=f"only a succeeded job has a model to deploy; `ftclient jobs watch {info.id}` follows it",
        )
    return info.fine_tuned_model, info.id


def _looks_like_job(name: str) -> bool:
    return name.startswith(("ft-", "ftjob-", "ftc-"))


def wait_started(
    provider: DeployingProvider,
    endpoint_id: str,
    *,
    timeout_s: float = DEFAULT_START_TIMEOUT_S,
    poll_s: float = 5.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    on_state: Callable[[Endpoint], None] | None = None,
) -> Endpoint:
    """Poll until the endpoint is ``STARTED``; ERROR/STOPPED raise, and so does running out of time."""
    started = clock()
    last_state = None
    while True:
        endpoint = provider.get_endpoint(endpoint_id)
        if endpoint.state != last_state and on_state is not None:
            on_state(endpoint)
        last_state = endpoint.state
        if endpoint.state == "STARTED":
            return endpoint
        if endpoint.state in {"ERROR", *STOPPED_STATES}:
            raise ProviderUnavailable(
                f"endpoint {endpoint_id} ended {endpoint.state} instead of starting",
                provider=getattr(provider, "name", "provider"),
                code=endpoint.state.lower(),
                hint="try other hardware with --hardware, or deploy again later",
            )
        waited = clock() - started
        if waited >= timeout_s:
            raise WaitTimeout(
                f"endpoint {endpoint_id} to start",
                waited,
                hint=f"it keeps starting (and billing); `ftclient endpoints stop {endpoint_id}` stops it",
            )
        sleep(min(poll_s, max(0.0, timeout_s - waited)))


def deploy(
    job_or_model: str,
    *,
    provider: Provider,
    registry: Registry | None = None,
    hardware: str | None = None,
    inactive_timeout_min: int = DEFAULT_INACTIVE_TIMEOUT_MIN,
    keep: bool = True,
    timeout_s: float = DEFAULT_START_TIMEOUT_S,
    poll_s: float = 5.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    on_state: Callable[[Endpoint], None] | None = None,
) -> Deployment:
    """Create a dedicated endpoint for the job's tuned model and wait until it is ``STARTED``.

    If waiting fails (timeout, the endpoint errs, Ctrl-C), the endpoint is stopped before the error
    propagates: a half-started endpoint bills too. ``keep`` is recorded so ``endpoints list`` can tell
    endpoints the user chose to leave running from ones left behind.
    """
    if inactive_timeout_min < 1:
        raise UserInputError(
            f"inactivity timeout {inactive_timeout_min} min: ftclient always sets one (at least 1 minute)",
            hint="pass --inactive-timeout 30 (minutes); the provider stops an idle endpoint after that",
        )
    target = deploying(provider)
    model, job_id = tuned_model_of(job_or_model, provider, registry)
    endpoint = target.create_endpoint(model, hardware=hardware, inactive_timeout_min=inactive_timeout_min)
    api_endpoint = str(getattr(provider, "endpoint", ""))
    if registry is not None:
        registry.record_endpoint(endpoint, provider=provider.name, api_endpoint=api_endpoint, job_id=job_id, keep=keep)
    began = clock()
    try:
        ready = wait_started(
            target, endpoint.id, timeout_s=timeout_s, poll_s=poll_s, clock=clock, sleep=sleep, on_state=on_state
        )
    except BaseException:
        with suppress(FtclientError):
            teardown(provider, endpoint.id, registry=registry)
        raise
    if registry is not None:
        registry.record_endpoint(ready, provider=provider.name, api_endpoint=api_endpoint, job_id=job_id, keep=keep)
        registry.update_endpoint(ready.id, state=ready.state, started_at=time.time())
    return Deployment(ready, provider.name, model, job_id, clock() - began)


def teardown(
    provider: Provider, endpoint_id: str, *, registry: Registry | None = None, delete: bool = False
) -> Endpoint | None:
    """Stop the endpoint (and delete it with ``delete``); tried twice, since this is what stops the billing."""
    target = deploying(provider)
    last: ProviderError | None = None
    for _ in range(2):
        try:
            stopped = target.stop_endpoint(endpoint_id)
            if delete:
                target.delete_endpoint(endpoint_id)
            break
        except ProviderError as exc:
            if exc.status == 404:
                stopped = None
                break
            last = exc
    else:
        assert last is not None
        last.hint = f"the endpoint may still be running and billing: run `ftclient endpoints stop {endpoint_id}`"
        raise last
    if registry is not None:
        state = "DELETED" if delete or stopped is None else stopped.state
        registry.update_endpoint(endpoint_id, state=state, stopped_at=time.time())
    return stopped


@contextmanager
def deployed(
    job_or_model: str,
    *,
    provider: Provider,
    registry: Registry | None = None,
    keep: bool = False,
    delete: bool = False,
    **options: Any,
) -> Iterator[Deployment]:
    """``deploy`` for the length of a ``with`` block: the endpoint stops when the block ends, however it
    ends (an exception, Ctrl-C), unless ``keep``."""
    deployment = deploy(job_or_model, provider=provider, registry=registry, keep=keep, **options)
    try:
        yield deployment
    finally:
        if not keep:
            teardown(provider, deployment.endpoint.id, registry=registry, delete=delete)


def running_endpoints(
    registry: Registry, *, provider: Provider | None = None, refresh: bool = True
) -> list[EndpointRecord]:
    """Endpoints ftclient started that are still running (refreshed from the provider when it is given)."""
    records = registry.list_endpoints(provider=provider.name if provider else None, running_only=True)
    if provider is None or not refresh or not isinstance(provider, DeployingProvider):
        return records
    api_endpoint = str(getattr(provider, "endpoint", ""))
    still: list[EndpointRecord] = []
    for record in records:
        if record.api_endpoint and api_endpoint and record.api_endpoint != api_endpoint:
            still.append(record)
            continue
        try:
            current = provider.get_endpoint(record.endpoint_id)
        except ProviderError as exc:
            if exc.status == 404:
                registry.update_endpoint(record.endpoint_id, state="DELETED", stopped_at=time.time())
                continue
            still.append(record)
            continue
        registry.update_endpoint(record.endpoint_id, state=current.state)
        if current.state in {"PENDING", "STARTING", "STARTED"}:
            refreshed = registry.get_endpoint(record.endpoint_id)
            still.append(refreshed or record)
    return still


def endpoint_cost_usd(record: EndpointRecord, *, now: float | None = None) -> float | None:
    """What the endpoint has cost so far at its hourly price (None when the price is unknown)."""
    if record.cost_per_hour_usd is None or record.started_at is None:
        return None
    end = record.stopped_at or (time.time() if now is None else now)
    return round(max(0.0, end - record.started_at) / 3600.0 * record.cost_per_hour_usd, 4)


def settings_poll_s(settings: Settings | None) -> float:
    return settings.poll_interval_s if settings is not None else 5.0
