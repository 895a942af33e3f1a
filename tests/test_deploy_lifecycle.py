"""The serving lifecycle's edges, where a silent regression bills someone for hardware nobody uses or
deploys the wrong model: which names deploy, how a start fails and what is stopped then, how a stop is
retried, what the local history says afterwards, and how billed minutes are counted.

Over loopback against the Together emulator, whose clock stands still unless a test moves it; waits run
on injected clocks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from launch_support import FakeTime, route_count, together_job, tuned_together_job

from ftclient.deploy import (
    Deployment,
    deploy,
    endpoint_billing,
    running_endpoints,
    teardown,
    tuned_model_of,
    wait_started,
    wait_stopped,
)
from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread
from ftclient.errors import (
    JobFailedError,
    ProviderError,
    ProviderUnavailable,
    RemoteNotFoundError,
    UserInputError,
    WaitTimeout,
)
from ftclient.providers.base import Endpoint
from ftclient.providers.credentials import endpoint_identity
from ftclient.providers.together import TogetherProvider
from ftclient.registry import Registry
from ftclient.registry.records import EndpointRecord

BASE = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
A100 = "1x_nvidia_a100_80gb_sxm"  # 4 cents a minute in the emulator's catalogue: $2.40 an hour, the cheapest
H100 = "1x_nvidia_h100_80gb_sxm"  # 5.58 cents a minute
WALL = 1_900_000_000.0
PATCH = "PATCH /v1/endpoints/{endpointId}"
GET = "GET /v1/endpoints/{endpointId}"
GET_JOB = "GET /v1/fine-tunes/{id}"
MISSING = "endpoint-00000000-0000-4000-8000-000000000000"


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with run_in_thread(EmulatorConfig(provider="together", speed=1e-6, seed=5)) as running:
        yield running


@pytest.fixture
def provider(emu: Emulator) -> Iterator[TogetherProvider]:
    adapter = TogetherProvider(api_key="tk-lifecycle", base_url=emu.base_url, max_retries=0, retry_backoff_s=0.0)
    yield adapter
    adapter.close()


def tuned_model(emu: Emulator, provider: TogetherProvider, tmp_path: Path) -> str:
    return provider.get_job(tuned_together_job(emu, provider, tmp_path)).fine_tuned_model or ""


def recorded(registry: Registry, endpoint_id: str) -> EndpointRecord:
    record = registry.get_endpoint(endpoint_id)
    assert record is not None
    return record


def started(emu: Emulator, provider: TogetherProvider, model: str) -> Endpoint:
    endpoint = provider.create_endpoint(model, hardware=A100, inactive_timeout_min=30)
    emu.advance(65)
    return provider.get_endpoint(endpoint.id)


# -- deploying -------------------------------------------------------------------------------------------


def test_a_deployment_is_recorded_before_the_wait_and_reports_what_it_serves(
    emu: Emulator, provider: TogetherProvider, registry: Registry, tmp_path: Path
) -> None:
    job_id = tuned_together_job(emu, provider, tmp_path, registry)
    model = provider.get_job(job_id).fine_tuned_model
    fake = FakeTime(emu, start=1000.0)
    during: list[EndpointRecord] = []

    def look(endpoint: Endpoint) -> None:
        during.append(recorded(registry, endpoint.id))

    deployment = deploy(
        job_id,
        provider=provider,
        registry=registry,
        hardware=H100,  # not the cheapest, which is what the adapter picks when none is named
        inactive_timeout_min=1,  # the least there is
        poll_s=7,
        clock=fake.clock,
        sleep=fake.sleep,
        wall=lambda: WALL,
        on_state=look,
    )
    # PENDING for 5 s and STARTING for 60 s: seen STARTED at the eleventh poll, 70 s after the first
    # one look per state, each finding it recorded (as PENDING, until the wait is over)
    assert fake.sleeps == [7] * 10 and [r.state for r in during] == ["PENDING"] * 3
    identity = endpoint_identity(provider)
    assert {(r.job_id, r.keep, r.api_endpoint, r.provider) for r in during} == {(job_id, True, identity, "together")}
    assert deployment.to_dict() == {
        "endpoint_id": deployment.endpoint.id,
        "name": deployment.endpoint.name,
        "model": model,
        "job_id": job_id,
        "provider": "together",
        "state": "STARTED",
        "hardware": H100,
        "cost_per_hour_usd": pytest.approx(3.348),
        "inactive_timeout_min": 1,
        "waited_s": 70.0,
    }
    assert deployment.serving_name != model  # Together routes by the endpoint's own name
    after = recorded(registry, deployment.endpoint.id)
    assert (after.state, after.started_at, after.stopped_at, after.job_id) == ("STARTED", WALL, None, job_id)
    assert (after.api_endpoint, after.keep, after.hardware) == (identity, True, H100)
    waited = Deployment(deployment.endpoint, "together", "m", None, 12.34567)
    assert waited.to_dict()["waited_s"] == 12.346


def test_an_inactivity_timeout_under_a_minute_is_refused_before_anything_is_created(
    emu: Emulator, provider: TogetherProvider, tmp_path: Path
) -> None:
    job_id = tuned_together_job(emu, provider, tmp_path)
    with pytest.raises(UserInputError) as caught:
        deploy(job_id, provider=provider, inactive_timeout_min=0)
    assert "at least 1 minute" in caught.value.message
    assert caught.value.hint == "pass --inactive-timeout 30 (minutes); the provider stops an idle endpoint after that"
    assert route_count(emu, "POST /v1/endpoints") == 0 and route_count(emu, GET_JOB) == 0


def test_a_provider_that_serves_tuned_models_directly_has_nothing_to_deploy(
    emu: Emulator, provider: TogetherProvider, tmp_path: Path
) -> None:
    class Serverless(TogetherProvider):
        capabilities = replace(TogetherProvider.capabilities, needs_deployment=False)

    direct = Serverless(api_key="tk-lifecycle", base_url=emu.base_url)
    with pytest.raises(UserInputError) as caught:
        deploy(tuned_together_job(emu, provider, tmp_path), provider=direct)
    assert caught.value.message == "together serves tuned models directly; there is nothing to deploy"
    assert caught.value.hint == "evaluate or call the tuned model by its name"
    assert route_count(emu, "POST /v1/endpoints") == 0
    direct.close()


def test_the_hourly_fee_is_quoted_for_the_model_and_hardware_before_anything_bills(
    emu: Emulator, tmp_path: Path
) -> None:
    asked: list[tuple[str, str | None]] = []

    class Quoting(TogetherProvider):
        def hourly_fee(self, model: str, hardware: str | None) -> tuple[str, float]:
            asked.append((model, hardware))
            return "a100-80gb", 2.4

    quoting = Quoting(api_key="tk-lifecycle", base_url=emu.base_url, max_retries=0)
    job_id = tuned_together_job(emu, quoting, tmp_path)
    quotes: list[tuple[str, float | None, int]] = []
    fake = FakeTime(emu)
    deployment = deploy(
        job_id,
        provider=quoting,
        hardware=A100,
        clock=fake.clock,
        sleep=fake.sleep,
        on_quote=lambda sku, usd: quotes.append((sku, usd, route_count(emu, "POST /v1/endpoints"))),
    )
    assert quotes == [("a100-80gb", 2.4, 0)] and asked == [(deployment.model, A100)]
    quoting.close()


def test_a_model_deployed_by_name_is_recorded_under_its_job_with_the_timeout_asked_for(
    emu: Emulator, registry: Registry, tmp_path: Path
) -> None:
    class Forgetful(TogetherProvider):
        """Answers a create with the spec's endpoint object, which has no inactivity timeout."""

        def create_endpoint(self, model: str, **options: Any) -> Endpoint:
            return replace(super().create_endpoint(model, **options), inactive_timeout_min=None)

    provider = Forgetful(api_key="tk-lifecycle", base_url=emu.base_url, max_retries=0)
    job_id = tuned_together_job(emu, provider, tmp_path, registry)
    model = provider.get_job(job_id).fine_tuned_model or ""
    fake = FakeTime(emu)
    during: list[EndpointRecord] = []
    deployment = deploy(
        model,
        provider=provider,
        registry=registry,
        inactive_timeout_min=20,
        clock=fake.clock,
        sleep=fake.sleep,
        on_state=lambda e: during.append(recorded(registry, e.id)),
    )
    assert deployment.job_id == job_id and deployment.model == model
    assert {(r.job_id, r.inactive_timeout_min) for r in during} == {(job_id, 20)}
    provider.close()


# -- which job or model a name means ----------------------------------------------------------------------


def test_a_succeeded_job_or_its_model_resolves_from_the_local_history_without_asking(
    emu: Emulator, provider: TogetherProvider, registry: Registry, tmp_path: Path
) -> None:
    job_id = tuned_together_job(emu, provider, tmp_path, registry)
    model = provider.get_job(job_id).fine_tuned_model
    asked = route_count(emu, GET_JOB)
    assert tuned_model_of(job_id, provider, registry) == (model, job_id)
    assert tuned_model_of(str(model), provider, registry) == (model, job_id)
    assert tuned_model_of("acme/served-elsewhere", provider, registry) == ("acme/served-elsewhere", None)
    assert route_count(emu, GET_JOB) == asked
    assert tuned_model_of(job_id, provider, None) == (model, job_id)  # no history: the provider says
    assert route_count(emu, GET_JOB) == asked + 1


def test_a_job_known_locally_while_it_ran_is_refreshed_when_it_is_deployed(
    emu: Emulator, provider: TogetherProvider, registry: Registry, tmp_path: Path
) -> None:
    job_id = together_job(provider, tmp_path)
    registry.record_job(provider.get_job(job_id), endpoint=provider.endpoint)
    emu.advance(10_000)
    model, resolved = tuned_model_of(job_id, provider, registry)
    record = registry.get_job(job_id)
    assert resolved == job_id and record is not None
    assert (record.status, record.fine_tuned_model) == ("succeeded", model) and model


@pytest.mark.parametrize("name", ["ft-0000", "ftjob-0000", "ftc-0000"])
def test_names_shaped_like_job_ids_are_asked_for_not_served_as_models(
    provider: TogetherProvider, registry: Registry, name: str
) -> None:
    with pytest.raises(RemoteNotFoundError):
        tuned_model_of(name, provider, registry)


def test_a_job_that_did_not_succeed_has_nothing_to_deploy_and_says_how_to_follow_it(
    emu: Emulator, provider: TogetherProvider, tmp_path: Path
) -> None:
    job_id = together_job(provider, tmp_path)
    emu.inject("*", "fail_job", job_id=job_id, message="the loss diverged")
    emu.advance(10_000)
    with pytest.raises(JobFailedError) as caught:
        deploy(job_id, provider=provider)
    assert (caught.value.job_id, caught.value.status) == (job_id, "failed")
    assert caught.value.detail is not None and "the loss diverged" in caught.value.detail
    assert caught.value.hint == (
        f"only a succeeded job has a model to deploy; `ftclient jobs watch {job_id}` follows it"
    )
    assert route_count(emu, "POST /v1/endpoints") == 0


# -- starts that fail --------------------------------------------------------------------------------------


def test_hardware_that_never_comes_is_reported_and_the_endpoint_stopped(
    emu: Emulator, provider: TogetherProvider, registry: Registry, tmp_path: Path
) -> None:
    job_id = tuned_together_job(emu, provider, tmp_path, registry)
    emu.inject("POST /v1/endpoints", "fail_endpoint", times=1)
    fake = FakeTime(emu)
    with pytest.raises(ProviderUnavailable) as caught:
        deploy(job_id, provider=provider, registry=registry, clock=fake.clock, sleep=fake.sleep)
    (record,) = registry.list_endpoints()
    assert caught.value.message == f"endpoint {record.endpoint_id} ended ERROR instead of starting"
    assert (caught.value.provider, caught.value.code) == ("together", "error")
    assert caught.value.hint == "try other hardware with --hardware, or deploy again later"
    assert route_count(emu, PATCH) == 1 and record.state == "ERROR" and not record.running


def test_an_endpoint_stopped_while_it_starts_says_why(
    emu: Emulator, provider: TogetherProvider, tmp_path: Path
) -> None:
    model = tuned_model(emu, provider, tmp_path)
    endpoint = provider.create_endpoint(model, hardware=A100)
    provider.stop_endpoint(endpoint.id)
    with pytest.raises(ProviderUnavailable) as caught:
        wait_started(provider, endpoint.id, sleep=lambda s: None)
    assert caught.value.message == (
        f"endpoint {endpoint.id} was stopped (STOPPING) instead of starting: its inactivity timeout passed, "
        "or it was stopped from outside ftclient"
    )  # Together's endpoint object carries no timeout, so none is quoted
    assert (caught.value.provider, caught.value.code) == ("together", "stopped")
    assert caught.value.hint == (
        "deploy again; pass a longer --inactive-timeout if starting takes longer than the timeout"
    )


def test_a_start_that_takes_too_long_polls_up_to_the_deadline_exactly(
    emu: Emulator, provider: TogetherProvider, tmp_path: Path
) -> None:
    model = tuned_model(emu, provider, tmp_path)
    endpoint = provider.create_endpoint(model, hardware=A100)
    fake = FakeTime()  # the endpoint stays PENDING
    with pytest.raises(WaitTimeout) as caught:
        wait_started(provider, endpoint.id, timeout_s=20.5, poll_s=10, clock=fake.clock, sleep=fake.sleep)
    assert fake.sleeps == [10, 10, 0.5] and caught.value.waited_s == 20.5
    assert caught.value.what == f"endpoint {endpoint.id} to start"
    assert caught.value.hint == (f"it keeps starting (and billing); `ftclient endpoints stop {endpoint.id}` stops it")
    default = FakeTime()
    with pytest.raises(WaitTimeout):
        wait_started(provider, endpoint.id, timeout_s=12, clock=default.clock, sleep=default.sleep)
    assert default.sleeps == [5.0, 5.0, 2.0]  # every five seconds unless told otherwise


def test_a_failed_start_is_stopped_even_when_the_stop_fails_and_the_first_error_is_what_surfaces(
    emu: Emulator, provider: TogetherProvider, registry: Registry, tmp_path: Path
) -> None:
    job_id = tuned_together_job(emu, provider, tmp_path, registry)
    fake = FakeTime()
    with pytest.raises(WaitTimeout):  # polled every five seconds by default, stopped when it gave up
        deploy(job_id, provider=provider, registry=registry, timeout_s=12, clock=fake.clock, sleep=fake.sleep)
    (first,) = registry.list_endpoints()
    assert fake.sleeps == [5.0, 5.0, 2.0] and first.state == "STOPPING" and route_count(emu, PATCH) == 1
    emu.inject("PATCH /v1/endpoints/*", "status_500")
    again = FakeTime()
    with pytest.raises(WaitTimeout):  # not the stop's 500, and not an error about suppressing it
        deploy(job_id, provider=provider, registry=registry, timeout_s=1, clock=again.clock, sleep=again.sleep)
    assert route_count(emu, PATCH) == 3  # the stop was tried twice


def test_an_endpoint_deleted_from_outside_while_it_starts_is_marked_deleted_at_that_time(
    emu: Emulator, provider: TogetherProvider, registry: Registry, tmp_path: Path
) -> None:
    job_id = tuned_together_job(emu, provider, tmp_path, registry)

    def delete_it(endpoint: Endpoint) -> None:
        provider.delete_endpoint(endpoint.id)

    with pytest.raises(RemoteNotFoundError):
        deploy(
            job_id, provider=provider, registry=registry, on_state=delete_it, sleep=lambda s: None, wall=lambda: WALL
        )
    (record,) = registry.list_endpoints()
    assert (record.state, record.stopped_at) == ("DELETED", WALL)


# -- stopping ----------------------------------------------------------------------------------------------


def test_a_stop_is_tried_twice_and_then_says_the_endpoint_may_still_bill(
    emu: Emulator, provider: TogetherProvider, registry: Registry, tmp_path: Path
) -> None:
    endpoint = started(emu, provider, tuned_model(emu, provider, tmp_path))
    registry.record_endpoint(endpoint, provider="together")
    emu.inject("PATCH /v1/endpoints/*", "status_500", times=1)
    stopped = teardown(provider, endpoint.id, registry=registry, wall=lambda: WALL)
    assert stopped is not None and stopped.state == "STOPPING" and route_count(emu, PATCH) == 2
    record = recorded(registry, endpoint.id)
    assert (record.state, record.stopped_at) == ("STOPPING", None)  # still holds its hardware, and bills
    other = started(emu, provider, endpoint.model)
    emu.inject("PATCH /v1/endpoints/*", "status_500", times=2)
    with pytest.raises(ProviderError) as caught:
        teardown(provider, other.id)
    assert caught.value.status == 500 and route_count(emu, PATCH) == 4
    assert caught.value.hint == (
        f"the endpoint may still be running and billing: run `ftclient endpoints stop {other.id}`"
    )
    assert provider.get_endpoint(other.id).state == "STARTED"


def test_a_stopped_or_deleted_endpoint_is_recorded_as_ended_at_the_injected_time(
    emu: Emulator, provider: TogetherProvider, registry: Registry, tmp_path: Path
) -> None:
    model = tuned_model(emu, provider, tmp_path)
    deleted, already = started(emu, provider, model), started(emu, provider, model)
    for endpoint in (deleted, already):
        registry.record_endpoint(endpoint, provider="together")
    assert teardown(provider, deleted.id, registry=registry, delete=True, wall=lambda: WALL) is not None
    assert (recorded(registry, deleted.id).state, recorded(registry, deleted.id).stopped_at) == ("DELETED", WALL)
    provider.stop_endpoint(already.id)
    emu.advance(10)
    assert teardown(provider, already.id, registry=registry, wall=lambda: WALL + 1) is not None
    assert (recorded(registry, already.id).state, recorded(registry, already.id).stopped_at) == ("STOPPED", WALL + 1)


def test_an_endpoint_gone_at_the_provider_is_fine_when_cleaning_up_and_an_error_when_named(
    emu: Emulator, provider: TogetherProvider, registry: Registry, tmp_path: Path
) -> None:
    model = tuned_model(emu, provider, tmp_path)
    gone, named = started(emu, provider, model), started(emu, provider, model)
    for endpoint in (gone, named):
        registry.record_endpoint(endpoint, provider="together")
        provider.delete_endpoint(endpoint.id)
    assert teardown(provider, gone.id, registry=registry, wall=lambda: WALL) is None  # missing_ok by default
    assert (recorded(registry, gone.id).state, recorded(registry, gone.id).stopped_at) == ("DELETED", WALL)
    with pytest.raises(RemoteNotFoundError) as known:
        teardown(provider, named.id, registry=registry, missing_ok=False, wall=lambda: WALL + 2)
    cause = known.value.__cause__
    assert isinstance(cause, ProviderError) and cause.request_id
    assert known.value.message == (
        f"endpoint {named.id} does not exist at together (any more; it is marked deleted in the local history)"
    )
    assert (known.value.provider, known.value.status) == ("together", 404)
    assert (known.value.code, known.value.request_id) == (cause.code, cause.request_id) and cause.code
    assert known.value.hint == "check the id: `ftclient endpoints list --all` shows the endpoints ftclient started"
    assert (recorded(registry, named.id).state, recorded(registry, named.id).stopped_at) == ("DELETED", WALL + 2)
    with pytest.raises(RemoteNotFoundError) as unknown:
        teardown(provider, MISSING, registry=registry, missing_ok=False)
    assert unknown.value.message == f"endpoint {MISSING} does not exist at together"
    assert registry.get_endpoint(MISSING) is None
    with pytest.raises(RemoteNotFoundError, match=r"does not exist at together$"):
        teardown(provider, MISSING, missing_ok=False)  # without a local history


def test_waiting_for_a_stop_follows_it_to_the_end_or_gives_up_at_the_deadline(
    emu: Emulator, provider: TogetherProvider, registry: Registry, tmp_path: Path
) -> None:
    model = tuned_model(emu, provider, tmp_path)
    stopping, deleted, unreadable = (started(emu, provider, model) for _ in range(3))
    for endpoint in (stopping, deleted, unreadable):
        registry.record_endpoint(endpoint, provider="together")
    provider.stop_endpoint(stopping.id)
    fake = FakeTime(emu, start=1000.0)
    assert (
        wait_stopped(provider, stopping.id, registry=registry, clock=fake.clock, sleep=fake.sleep, wall=lambda: WALL)
        == "STOPPED"
    )
    assert fake.sleeps == [5.0, 5.0] and recorded(registry, stopping.id).stopped_at == WALL
    provider.delete_endpoint(deleted.id)
    assert wait_stopped(provider, deleted.id, registry=registry, wall=lambda: WALL) == "DELETED"
    assert (recorded(registry, deleted.id).state, recorded(registry, deleted.id).stopped_at) == ("DELETED", WALL)
    emu.inject(f"GET /v1/endpoints/{unreadable.id}", "status_500", times=1)
    assert wait_stopped(provider, unreadable.id, registry=registry) == "unknown"
    assert recorded(registry, unreadable.id).stopped_at is None
    slow = FakeTime()  # the emulator's clock stands still: the stop never completes
    provider.stop_endpoint(unreadable.id)
    assert (
        wait_stopped(provider, unreadable.id, timeout_s=20.5, poll_s=10, clock=slow.clock, sleep=slow.sleep)
        == "STOPPING"
    )
    assert slow.sleeps == [10, 10, 0.5]


def test_waiting_for_a_stop_keeps_waiting_through_every_state_that_still_holds_hardware(
    emu: Emulator, provider: TogetherProvider, registry: Registry, tmp_path: Path
) -> None:
    model = tuned_model(emu, provider, tmp_path)
    endpoint = provider.create_endpoint(model, hardware=A100)
    registry.record_endpoint(endpoint, provider="together")
    fake = FakeTime(emu)
    seen: list[str] = []

    def sleep(seconds: float) -> None:
        seen.append(provider.get_endpoint(endpoint.id).state)
        fake.sleep(seconds)

    # PENDING until 5 s, STARTING until 65 s, then STARTED: none of them is an end
    last = wait_stopped(
        provider, endpoint.id, registry=registry, timeout_s=90, poll_s=10, clock=fake.clock, sleep=sleep
    )
    assert last == "STARTED" and fake.sleeps == [10] * 9
    assert {"PENDING", "STARTING", "STARTED"} <= set(seen)
    assert recorded(registry, endpoint.id).stopped_at is None


# -- what is still running ---------------------------------------------------------------------------------


def test_running_endpoints_are_refreshed_from_the_provider_and_ended_ones_recorded(
    emu: Emulator, provider: TogetherProvider, registry: Registry, tmp_path: Path
) -> None:
    model = tuned_model(emu, provider, tmp_path)
    serving, stopped_outside, deleted = (started(emu, provider, model) for _ in range(3))
    starting = provider.create_endpoint(model, hardware=A100)
    emu.advance(6)  # STARTING now; recorded while PENDING
    pending = provider.create_endpoint(model, hardware=A100)
    for endpoint in (serving, stopped_outside, starting, pending):
        registry.record_endpoint(endpoint, provider="together", api_endpoint=endpoint_identity(provider))
    registry.record_endpoint(deleted, provider="together", api_endpoint=endpoint_identity(provider))  # newest
    elsewhere = replace(serving, id="endpoint-on-another-account")
    registry.record_endpoint(elsewhere, provider="together", api_endpoint="https://api.together.xyz/v1")
    registry.record_endpoint(replace(serving, id="fw-deployment"), provider="fireworks")
    registry.record_endpoint(replace(serving, id="fw-stopping", state="STOPPING"), provider="fireworks")
    registry.record_endpoint(replace(serving, id="endpoint-long-stopped", state="STOPPED"), provider="together")
    provider.stop_endpoint(stopped_outside.id)
    provider.delete_endpoint(deleted.id)
    every = {serving.id, stopped_outside.id, starting.id, pending.id, deleted.id, elsewhere.id}

    asked = route_count(emu, GET)
    unrefreshed = running_endpoints(registry, provider=provider, refresh=False)
    assert {r.endpoint_id for r in unrefreshed} == every  # as last recorded, without asking
    assert {r.endpoint_id for r in running_endpoints(registry)} == every | {"fw-deployment"}
    assert route_count(emu, GET) == asked

    still = running_endpoints(registry, provider=provider, wall=lambda: WALL)
    assert {r.endpoint_id: r.state for r in still} == {
        serving.id: "STARTED",
        starting.id: "STARTING",  # the refreshed record, not the one read before asking
        pending.id: "PENDING",
        elsewhere.id: "STARTED",  # another account's endpoint is not asked about with this key
    }
    assert route_count(emu, GET) == asked + 5 and all(r.stopped_at is None for r in still)
    assert (recorded(registry, deleted.id).state, recorded(registry, deleted.id).stopped_at) == ("DELETED", WALL)
    assert (recorded(registry, stopped_outside.id).state, recorded(registry, stopped_outside.id).stopped_at) == (
        "STOPPING",
        None,
    )
    emu.advance(10)  # the stop completes; the next look records when
    running_endpoints(registry, provider=provider, wall=lambda: WALL + 60)
    assert recorded(registry, stopped_outside.id).stopped_at == WALL + 60
    # another provider's, running or stopping, never asked about (this provider would not know them)
    assert (recorded(registry, "fw-deployment").state, recorded(registry, "fw-stopping").state) == (
        "STARTED",
        "STOPPING",
    )


def test_an_endpoint_that_cannot_be_read_stays_listed_while_it_was_running(
    emu: Emulator, provider: TogetherProvider, registry: Registry, tmp_path: Path
) -> None:
    model = tuned_model(emu, provider, tmp_path)
    serving, stopping = started(emu, provider, model), started(emu, provider, model)
    registry.record_endpoint(stopping, provider="together", api_endpoint=endpoint_identity(provider))
    registry.record_endpoint(serving, provider="together", api_endpoint=endpoint_identity(provider))
    registry.update_endpoint(stopping.id, state="STOPPING")
    emu.inject("GET /v1/endpoints/*", "status_500", times=2)
    asked = route_count(emu, GET)
    assert [r.endpoint_id for r in running_endpoints(registry, provider=provider)] == [serving.id]
    assert route_count(emu, GET) == asked + 2


# -- billing -----------------------------------------------------------------------------------------------


def _record(**values: Any) -> EndpointRecord:
    base: dict[str, Any] = {
        "endpoint_id": "endpoint-1",
        "provider": "together",
        "api_endpoint": "",
        "name": None,
        "model": "m",
        "job_id": None,
        "hardware": A100,
        "state": "STOPPED",
        "cost_per_hour_usd": 1.23456,
        "inactive_timeout_min": 30,
        "keep": False,
        "created_at": 1000.0,
        "started_at": None,
        "stopped_at": None,
        "updated_at": 1000.0,
    }
    return EndpointRecord(**{**base, **values})


@pytest.mark.parametrize(("seconds", "minutes"), [(0, 1), (30, 1), (60, 1), (61, 2), (120, 2), (120.5, 3), (3600, 60)])
def test_billed_minutes_are_whole_minutes_rounded_up_and_at_least_one(seconds: float, minutes: int) -> None:
    billed, cost = endpoint_billing(_record(stopped_at=1000.0 + seconds))
    assert billed == minutes and cost == round(minutes * 1.23456 / 60, 4)


def test_billing_runs_until_now_for_a_running_endpoint_and_needs_a_start() -> None:
    assert endpoint_billing(_record(stopped_at=None, state="STARTED"), now=1000.0 + 90) == (2, 0.0412)
    assert endpoint_billing(_record(created_at=None, started_at=1000.0, stopped_at=1000.0 + 200)) == (4, 0.0823)
    assert endpoint_billing(_record(created_at=None)) == (None, None)
    assert endpoint_billing(_record(cost_per_hour_usd=None, stopped_at=1000.0 + 60)) == (1, None)
