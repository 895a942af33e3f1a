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

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ftclient.errors import (
    FtclientError,
    JobFailedError,
    ProviderError,
    ProviderUnavailable,
    RemoteNotFoundError,
    UserInputError,
    WaitTimeout,
)
from ftclient.providers.base import DeployingProvider, Endpoint
from ftclient.providers.credentials import endpoint_identity

if TYPE_CHECKING:
    from ftclient.providers.base import Provider
    from ftclient.registry import Registry
    from ftclient.registry.records import EndpointRecord

DEFAULT_INACTIVE_TIMEOUT_MIN = 30
DEFAULT_START_TIMEOUT_S = 30 * 60.0
DEFAULT_STOP_TIMEOUT_S = 5 * 60.0
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
        if endpoint.state == "ERROR":
            raise ProviderUnavailable(
                f"endpoint {endpoint_id} ended {endpoint.state} instead of starting",
                provider=provider.name,
                code=endpoint.state.lower(),
                hint="try other hardware with --hardware, or deploy again later",
            )
        if endpoint.state in STOPPED_STATES:
            # Stopped, not broken: its inactivity timeout passed, or someone stopped it. Other hardware
            # would not help; a longer timeout (or not stopping it) would.
            idle = endpoint.inactive_timeout_min
            after = f"its inactivity timeout ({idle} min without requests)" if idle else "its inactivity timeout"
            raise ProviderUnavailable(
                f"endpoint {endpoint_id} was stopped ({endpoint.state}) instead of starting: {after} passed, "
                "or it was stopped from outside ftclient",
                provider=provider.name,
                code="stopped",
                hint="deploy again; pass a longer --inactive-timeout if starting takes longer than the timeout",
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
    wall: Callable[[], float] = time.time,
    on_quote: Callable[[str, float | None], None] | None = None,
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
    quote = getattr(target, "hourly_fee", None)
    if quote is not None and on_quote is not None:  # (sku, USD/hour) before anything bills (Azure)
        on_quote(*quote(model, hardware))
    endpoint = _with_timeout(
        target.create_endpoint(model, hardware=hardware, inactive_timeout_min=inactive_timeout_min),
        inactive_timeout_min,
    )
    api_endpoint = endpoint_identity(provider)

    def remember(seen: Endpoint) -> None:
        if registry is not None:
            registry.record_endpoint(seen, provider=provider.name, api_endpoint=api_endpoint, job_id=job_id, keep=keep)

    remember(endpoint)  # before the wait: an endpoint that bills is known even if ftclient dies waiting
    began = clock()
    try:
        ready = wait_started(
            target, endpoint.id, timeout_s=timeout_s, poll_s=poll_s, clock=clock, sleep=sleep, on_state=on_state
        )
    except BaseException:
        with suppress(FtclientError):
            teardown(provider, endpoint.id, registry=registry, wall=wall)
        raise
    ready = _with_timeout(ready, inactive_timeout_min)
    remember(ready)
    if registry is not None:
        registry.update_endpoint(ready.id, started_at=wall())  # remember() has recorded its state
    return Deployment(ready, provider.name, model, job_id, clock() - began)


def _with_timeout(endpoint: Endpoint, asked_min: int) -> Endpoint:
    """The endpoint with the inactivity timeout ftclient set on it: Together's endpoint object does not
    carry one (the spec's ``DedicatedEndpoint`` has no such field), but it was accepted with the request."""
    if endpoint.inactive_timeout_min is not None:
        return endpoint
    return replace(endpoint, inactive_timeout_min=asked_min)


def teardown(
    provider: Provider,
    endpoint_id: str,
    *,
    registry: Registry | None = None,
    delete: bool = False,
    missing_ok: bool = True,
    wall: Callable[[], float] = time.time,
) -> Endpoint | None:
    """Stop the endpoint (and delete it with ``delete``); tried twice, since this is what stops the billing.

    An endpoint the provider does not know (404) is already gone: fine when cleaning up after an
    evaluation (``missing_ok``), an error when the user named it (a mistyped id must not "stop").
    """
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
                if not missing_ok:
                    _not_found(provider, endpoint_id, registry, exc, wall())
                stopped = None
                break
            last = exc
    else:
        assert last is not None
        last.hint = f"the endpoint may still be running and billing: run `ftclient endpoints stop {endpoint_id}`"
        raise last
    if registry is not None:
        state = "DELETED" if delete or stopped is None else stopped.state
        done = state in {"DELETED", "STOPPED"}  # STOPPING still holds the hardware, and bills
        registry.update_endpoint(endpoint_id, state=state, stopped_at=wall() if done else None)
    return stopped


def wait_stopped(
    provider: Provider,
    endpoint_id: str,
    *,
    registry: Registry | None = None,
    timeout_s: float = DEFAULT_STOP_TIMEOUT_S,
    poll_s: float = 5.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    wall: Callable[[], float] = time.time,
) -> str:
    """Follow a stopping endpoint until it is STOPPED (or gone), so its billed time is known; the last
    state seen. Gives up quietly after ``timeout_s``: the endpoint stops anyway, and ``endpoints list``
    picks up the rest."""
    target = deploying(provider)
    began = clock()
    while True:
        try:
            state = target.get_endpoint(endpoint_id).state
        except ProviderError as exc:
            if exc.status != 404:
                return "unknown"
            state = "DELETED"
        if state not in {"STOPPING", "PENDING", "STARTING", "STARTED"}:
            if registry is not None:
                registry.update_endpoint(endpoint_id, state=state, stopped_at=wall())
            return state
        waited = clock() - began
        if waited >= timeout_s:
            return state
        sleep(min(poll_s, max(0.0, timeout_s - waited)))


def _not_found(provider: Provider, endpoint_id: str, registry: Registry | None, exc: ProviderError, now: float) -> None:
    known = registry.get_endpoint(endpoint_id) if registry is not None else None
    if known is not None and registry is not None:
        registry.update_endpoint(endpoint_id, state="DELETED", stopped_at=now)
    raise RemoteNotFoundError(
        f"endpoint {endpoint_id} does not exist at {provider.name}"
        + (" (any more; it is marked deleted in the local history)" if known is not None else ""),
        provider=provider.name,
        status=404,
        code=exc.code,
        request_id=exc.request_id,
        hint="check the id: `ftclient endpoints list --all` shows the endpoints ftclient started",
    ) from exc


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
    interrupted = False
    try:
        yield deployment
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        if not keep:
            timing = {k: v for k, v in options.items() if k in {"poll_s", "clock", "sleep", "wall"}}
            teardown(
                provider, deployment.endpoint.id, registry=registry, delete=delete, wall=timing.get("wall", time.time)
            )
            if not interrupted:  # Ctrl-C means "now": the stop is sent, `endpoints list` follows it later
                with suppress(FtclientError):
                    wait_stopped(provider, deployment.endpoint.id, registry=registry, **timing)


def running_endpoints(
    registry: Registry,
    *,
    provider: Provider | None = None,
    refresh: bool = True,
    wall: Callable[[], float] = time.time,
) -> list[EndpointRecord]:
    """Endpoints ftclient started that are still running (refreshed from the provider when it is given)."""
    records = registry.list_endpoints(provider=provider.name if provider else None, running_only=True)
    if provider is None or not refresh or not isinstance(provider, DeployingProvider):
        return records
    stopping = [r for r in registry.list_endpoints(provider=provider.name) if r.state == "STOPPING"]
    records = records + stopping  # refreshed so the moment they stop (and stop billing) is recorded
    api_endpoint = endpoint_identity(provider)
    still: list[EndpointRecord] = []
    for record in records:
        if record.api_endpoint and api_endpoint and record.api_endpoint != api_endpoint:
            still.append(record)
            continue
        try:
            current = provider.get_endpoint(record.endpoint_id)
        except ProviderError as exc:
            if exc.status == 404:
                registry.update_endpoint(record.endpoint_id, state="DELETED", stopped_at=wall())
                continue
            if record.running:
                still.append(record)
            continue
        ended = current.state not in {"PENDING", "STARTING", "STARTED", "STOPPING"}
        registry.update_endpoint(record.endpoint_id, state=current.state, stopped_at=wall() if ended else None)
        if current.state in {"PENDING", "STARTING", "STARTED"}:
            refreshed = registry.get_endpoint(record.endpoint_id)
            still.append(refreshed or record)
    return still


def endpoint_billing(record: EndpointRecord, *, now: float | None = None) -> tuple[int | None, float | None]:
    """(whole minutes billed, their cost in USD) so far: the one figure ``evaluate``, its report and
    ``endpoints list`` all show.

    The provider bills while the endpoint holds hardware: STARTING and STOPPING as well as STARTED
    (Together, docs.together.ai/docs/dedicated-endpoints, 2026-11: "bill per minute even when idle").
    The start is the provider's own ``created_at`` (its only timestamp; a short PENDING is counted too, so
    the figure errs high, never low); the end is when ftclient saw the endpoint STOPPED or deleted it, and
    until then it is still billing. Minutes are rounded up, as billed.
    """
    start = record.created_at or record.started_at
    if start is None:
        return None, None
    end = record.stopped_at if record.stopped_at is not None else (time.time() if now is None else now)
    minutes = max(1, math.ceil(max(0.0, end - start) / 60.0 - 1e-9))
    cost = None if record.cost_per_hour_usd is None else round(minutes * record.cost_per_hour_usd / 60.0, 4)
    return minutes, cost
