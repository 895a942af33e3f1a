"""Deploying tuned models on dedicated endpoints: wait for STARTED, always stop, warn about running ones."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from launch_support import FakeTime, tuned_together_job

from ftclient.deploy import deploy, deployed, running_endpoints, teardown, wait_started
from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread
from ftclient.emulator.samples import classification_examples
from ftclient.errors import JobFailedError, ProviderUnavailable, UserInputError, WaitTimeout
from ftclient.providers.base import JobSpec
from ftclient.providers.together import TogetherProvider
from ftclient.registry import Registry

BASE = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with run_in_thread(EmulatorConfig(provider="together", speed=1.0, seed=2)) as running:
        monkeypatch.setenv("TOGETHER_BASE_URL", running.base_url)
        monkeypatch.setenv("TOGETHER_API_KEY", "tk-deploy")
        monkeypatch.setenv("FTCLIENT_POLL_INTERVAL_S", "0.01")
        yield running


@pytest.fixture
def provider(emu: Emulator) -> Iterator[TogetherProvider]:
    adapter = TogetherProvider(api_key="tk-deploy", base_url=emu.base_url)
    yield adapter
    adapter.close()


def emulator_states(emu: Emulator) -> list[str]:
    return [e["state"] for e in emu.stats()["endpoints"]["list"]]


def test_deploy_waits_until_started_on_the_injected_clock(
    emu: Emulator, provider: TogetherProvider, registry: Registry, tmp_path: Path
) -> None:
    job_id = tuned_together_job(emu, provider, tmp_path, registry)
    fake = FakeTime(emu)
    seen: list[str] = []
    deployment = deploy(
        job_id,
        provider=provider,
        registry=registry,
        inactive_timeout_min=15,
        poll_s=10,
        clock=fake.clock,
        sleep=fake.sleep,
        on_state=lambda e: seen.append(e.state),
    )
    assert seen == ["PENDING", "STARTING", "STARTED"]
    assert deployment.endpoint.state == "STARTED" and deployment.waited_s == 70.0
    assert deployment.job_id == job_id and deployment.serving_name.startswith("ftclient-emulator/")
    assert deployment.endpoint.inactive_timeout_min == 15 and deployment.endpoint.cost_per_hour_usd == 2.4
    record = registry.get_endpoint(deployment.endpoint.id)
    assert record is not None and record.state == "STARTED" and record.keep and record.job_id == job_id
    assert [r.endpoint_id for r in running_endpoints(registry, provider=provider)] == [deployment.endpoint.id]
    teardown(provider, deployment.endpoint.id, registry=registry)
    assert running_endpoints(registry, provider=provider) == []
    assert emulator_states(emu) == ["STOPPING"]


def test_the_context_manager_stops_the_endpoint_on_errors_and_ctrl_c(
    emu: Emulator, provider: TogetherProvider, registry: Registry, tmp_path: Path
) -> None:
    job_id = tuned_together_job(emu, provider, tmp_path, registry)
    fake = FakeTime(emu)
    for error in (RuntimeError("the evaluation broke"), KeyboardInterrupt()):
        with (
            pytest.raises(type(error)),
            deployed(
                job_id, provider=provider, registry=registry, poll_s=5, clock=fake.clock, sleep=fake.sleep
            ) as deployment,
        ):
            assert provider.get_endpoint(deployment.endpoint.id).state == "STARTED"
            raise error
    emu.advance(60)
    assert emulator_states(emu) == ["STOPPED", "STOPPED"]
    states = sorted((r.state, r.stopped_at is not None) for r in registry.list_endpoints())
    assert states == [("STOPPED", True), ("STOPPING", False)]  # after Ctrl-C the stop is sent, not waited for
    with deployed(job_id, provider=provider, registry=registry, keep=True, clock=fake.clock, sleep=fake.sleep) as kept:
        pass
    assert provider.get_endpoint(kept.endpoint.id).state == "STARTED"


def test_a_start_that_times_out_stops_the_endpoint(
    emu: Emulator, provider: TogetherProvider, registry: Registry, tmp_path: Path
) -> None:
    job_id = tuned_together_job(emu, provider, tmp_path, registry)
    fake = FakeTime()  # the emulator's clock stands still: the endpoint never gets past PENDING
    with pytest.raises(WaitTimeout) as caught:
        deploy(
            job_id, provider=provider, registry=registry, timeout_s=30, poll_s=10, clock=fake.clock, sleep=fake.sleep
        )
    assert fake.sleeps == [10, 10, 10]
    assert "endpoints stop" in (caught.value.hint or "")
    assert emulator_states(emu) == ["STOPPING"]
    with pytest.raises(UserInputError):
        deploy(job_id, provider=provider, inactive_timeout_min=0)


def test_only_succeeded_jobs_deploy_and_only_deploying_providers(
    emu: Emulator, provider: TogetherProvider, tmp_path: Path
) -> None:
    data = tmp_path / "t.jsonl"
    data.write_text(json.dumps(classification_examples()[0]) + "\n", encoding="utf-8")
    running = provider.create_job(JobSpec(model=BASE, training_file=provider.upload_file(data).id))
    with pytest.raises(JobFailedError):
        deploy(running.id, provider=provider)
    from ftclient.providers.openai import OpenAIProvider

    with pytest.raises(UserInputError, match="nothing to deploy"):
        deploy("ftjob-x", provider=OpenAIProvider(api_key="sk-x"))


def test_an_endpoint_that_errs_is_reported(emu: Emulator, provider: TogetherProvider, tmp_path: Path) -> None:
    job_id = tuned_together_job(emu, provider, tmp_path)
    endpoint = provider.create_endpoint(provider.get_job(job_id).fine_tuned_model or "")
    provider.stop_endpoint(endpoint.id)
    with pytest.raises(ProviderUnavailable, match="instead of starting"):
        wait_started(provider, endpoint.id, poll_s=0, sleep=lambda s: None)


def cli_json(result: Any) -> Any:
    assert result.exit_code == 0, result.stderr
    return result.json()


def test_deploy_and_endpoints_commands(emu: Emulator, provider: TogetherProvider, run_cli: Any, tmp_path: Path) -> None:
    emu.core.services.clock.speed = 1000.0
    job_id = tuned_together_job(emu, provider, tmp_path)
    shown = cli_json(run_cli("deploy", job_id, "--provider", "together", "--inactive-timeout", "20", "--json"))
    assert shown["state"] == "STARTED" and shown["cost_per_hour_usd"] == 2.4 and shown["inactive_timeout_min"] == 20
    listed = cli_json(run_cli("endpoints", "list", "--json"))["endpoints"]
    assert [e["endpoint_id"] for e in listed] == [shown["endpoint_id"]] and listed[0]["kept"] is True
    second = cli_json(run_cli("deploy", job_id, "--json"))
    warned = run_cli("endpoints", "stop", second["endpoint_id"])
    assert warned.exit_code == 0
    assert "still running and billing" in warned.stderr and shown["endpoint_id"] in warned.stderr
    assert cli_json(run_cli("endpoints", "delete", shown["endpoint_id"], "--json"))["state"] == "DELETED"
    assert cli_json(run_cli("endpoints", "list", "--json"))["endpoints"] == []
    everything = cli_json(run_cli("endpoints", "list", "--all", "--json"))["endpoints"]
    assert sorted(e["state"] for e in everything) == ["DELETED", "STOPPED"]
    assert emu.stats()["endpoints"]["running"] == 0
    missing = run_cli("deploy", "ft-00000000-0000-0000-0000-000000000000")
    assert missing.exit_code == 1 and "HTTP 404" in missing.stderr


def test_an_endpoint_object_without_inactive_timeout_prints_no_none(
    emu: Emulator, provider: TogetherProvider, run_cli: Any, tmp_path: Path
) -> None:
    """The spec's DedicatedEndpoint has no inactive_timeout: ftclient keeps the one it set, never "None"."""
    emu.core.services.clock.speed = 1000.0
    job_id = tuned_together_job(emu, provider, tmp_path)
    shown = run_cli("deploy", job_id, "--provider", "together", "--inactive-timeout", "15")
    assert shown.exit_code == 0, shown.stderr
    printed = shown.stdout + shown.stderr
    assert "None" not in printed and "stops after 15 idle minutes" in printed
    endpoint = provider.list_endpoints()[0]
    raw = provider._json("reading", "GET", f"/endpoints/{endpoint.id}")
    assert "inactive_timeout" not in raw  # the emulator answers with the spec's shape
    assert endpoint.inactive_timeout_min is None  # so the adapter cannot know it from the object alone
    listed = run_cli("endpoints", "list")
    table = listed.stdout + listed.stderr
    assert listed.exit_code == 0 and "None" not in table and "15 min" in table


@pytest.mark.parametrize("verb", ["stop", "delete"])
def test_stopping_or_deleting_an_endpoint_that_does_not_exist_is_an_error(
    emu: Emulator, run_cli: Any, verb: str
) -> None:
    missing = "endpoint-00000000-0000-4000-8000-000000000000"
    result = run_cli("endpoints", verb, missing, "--provider", "together")
    assert result.exit_code == 1
    assert f"endpoint {missing} does not exist at together" in result.stderr
    assert "endpoints list --all" in result.stderr
    assert "DELETED" not in result.stdout + result.stderr


def test_endpoint_cost_counts_starting_and_stopping_and_is_the_same_everywhere(
    emu: Emulator, provider: TogetherProvider, registry: Registry, tmp_path: Path
) -> None:
    from ftclient.cli.endpoints import _row
    from ftclient.deploy import endpoint_billing
    from ftclient.evaluate.jobs import _deployment_summary

    job_id = tuned_together_job(emu, provider, tmp_path, registry)
    fake = FakeTime(emu)
    emulated = emu.core.services.clock.now  # the provider's clock, which its timestamps are on
    with deployed(
        job_id, provider=provider, registry=registry, poll_s=5, clock=fake.clock, sleep=fake.sleep, wall=emulated
    ) as deployment:
        emu.advance(600)  # ten minutes of serving
    record = registry.get_endpoint(deployment.endpoint.id)
    assert record is not None and record.state == "STOPPED"
    billed = next(e for e in emu.stats()["endpoints"]["list"] if e["id"] == deployment.endpoint.id)
    assert billed["billed_minutes"] == 12  # 60 s STARTING + 600 s STARTED + 10 s STOPPING, rounded up
    assert endpoint_billing(record) == (billed["billed_minutes"], billed["cost_usd"])
    listed = _row(record)  # what `endpoints list` shows
    assert (listed["billed_minutes"], listed["cost_so_far_usd"]) == (billed["billed_minutes"], billed["cost_usd"])
    summary = _deployment_summary(deployment, registry, kept=False)  # what evaluate and its report show
    assert (summary["billed_minutes"], summary["cost_usd"]) == (billed["billed_minutes"], billed["cost_usd"])


def test_a_lost_endpoint_create_response_is_found_by_its_name_recorded_and_stopped(
    emu: Emulator, provider: TogetherProvider, registry: Registry, tmp_path: Path
) -> None:
    job_id = tuned_together_job(emu, provider, tmp_path, registry)
    provider.retry_backoff_s = 0.0
    fake = FakeTime(emu)
    emu.inject("POST /v1/endpoints", "lose_response_after_commit", times=1)
    with (
        pytest.raises(RuntimeError),
        deployed(job_id, provider=provider, registry=registry, poll_s=5, clock=fake.clock, sleep=fake.sleep) as d,
    ):
        raise RuntimeError("the evaluation broke")
    assert len(emu.stats()["endpoints"]["list"]) == 1  # found by its display name, not created again
    assert [r.endpoint_id for r in registry.list_endpoints()] == [d.endpoint.id]
    assert d.endpoint.display_name and d.endpoint.display_name.startswith("ftclient-")
    assert emulator_states(emu) == ["STOPPED"]  # and stopped when the block failed
