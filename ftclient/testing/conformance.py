"""The behaviour every provider adapter must show, as plain functions a test suite can parametrize.

Each case takes a ``Setup`` (a running emulator of the provider's dialect, the environment pointing
ftclient at it, and the provider's ``Harness``) and asserts through the public API: ``launch``,
``Job``, ``deploy``/``teardown`` and the ``Provider`` protocol. A new provider adds a ``Harness``
(how to start its emulator, the environment its adapter reads, which routes to break) and runs the
same cases; a case the provider cannot meet for a documented reason skips, saying why, decided by its
``Capabilities``. This module is for test suites only: it imports pytest, and nothing in ftclient
imports it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pytest

from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread
from ftclient.jobs import Job, launch
from ftclient.providers import get_provider
from ftclient.providers.base import ChatRequest, ChatResult, Provider
from ftclient.registry import Registry

__all__ = ["BASIC_CASES", "CASES", "Harness", "Setup", "running"]

CANARY_KEY = "ftc-conformance-canary-9b1f2a7c"
"""The API key every harness is given; nothing ftclient writes may contain it."""

LABELS = ("billing", "bug", "praise")


class Harness(Protocol):
    """What the suite needs to know about one provider and its emulator dialect."""

    name: str
    """The provider's registered name (``--provider``)."""
    dialect: str
    """The emulator dialect that plays it (``ftclient emulator --provider``)."""
    model: str
    """A base model the emulator tunes quickly."""
    speed: float
    """Emulated seconds per real second: fast enough that a job ends within a second or two."""
    create_route: str
    """The emulator route (method and template) that creates a fine-tuning job."""
    upload_route: str
    """The emulator route whose success means a file's bytes are stored (a lost answer there must not
    lead to a second copy)."""
    list_route: str
    """A read-only route the adapter retries (``list_jobs``), for rate-limit pacing."""
    deploy_route: str | None
    """The route that creates a deployment, for providers that need one."""

    def environment(self, emulator: Emulator, api_key: str) -> dict[str, str]:
        """Environment variables that point the adapter at ``emulator`` with ``api_key``."""
        ...


@dataclass(frozen=True)
class BuiltinHarness:
    """A harness described by data: enough for every adapter shipped with ftclient."""

    name: str
    dialect: str
    model: str
    create_route: str
    upload_route: str
    list_route: str
    env: Mapping[str, str]
    """Variable -> what it holds: ``{url}``, ``{base_url}`` or ``{key}``, or a literal value."""
    deploy_route: str | None = None
    speed: float = 1000.0

    def environment(self, emulator: Emulator, api_key: str) -> dict[str, str]:
        values = {"{url}": emulator.url, "{base_url}": emulator.base_url, "{key}": api_key}
        return {name: values.get(value, value) for name, value in self.env.items()}


BUILTIN_HARNESSES: tuple[BuiltinHarness, ...] = (
    BuiltinHarness(
        name="openai",
        dialect="openai",
        model="gpt-4o-mini-2024-07-18",
        create_route="POST /v1/fine_tuning/jobs",
        upload_route="POST /v1/files",
        list_route="GET /v1/fine_tuning/jobs",
        env={"OPENAI_BASE_URL": "{base_url}", "OPENAI_API_KEY": "{key}"},
    ),
    BuiltinHarness(
        name="together",
        dialect="together",
        model="Qwen/Qwen3-8B",
        create_route="POST /v1/fine-tunes",
        upload_route="POST /v1/files",
        list_route="GET /v1/fine-tunes",
        env={"TOGETHER_BASE_URL": "{base_url}", "TOGETHER_API_KEY": "{key}"},
        deploy_route="POST /v1/endpoints",
        speed=100.0,
    ),
    BuiltinHarness(
        name="fireworks",
        dialect="fireworks",
        model="accounts/fireworks/models/llama-v3p1-8b-instruct",
        create_route="POST /v1/accounts/{account_id}/supervisedFineTuningJobs",
        upload_route="POST /v1/accounts/{account_id}/datasets/{dataset_id}:upload",
        list_route="GET /v1/accounts/{account_id}/supervisedFineTuningJobs",
        env={"FIREWORKS_BASE_URL": "{url}", "FIREWORKS_API_KEY": "{key}", "FIREWORKS_ACCOUNT_ID": "conformance"},
        deploy_route="POST /v1/accounts/{account_id}/deployments",
        speed=100.0,
    ),
    BuiltinHarness(
        name="azure",
        dialect="azure",
        model="gpt-4.1-mini-2025-04-14",
        create_route="POST /openai/fine_tuning/jobs",
        upload_route="POST /openai/files",
        list_route="GET /openai/fine_tuning/jobs",
        env={
            "AZURE_OPENAI_ENDPOINT": "{url}",
            "AZURE_OPENAI_API_KEY": "{key}",
            "OPENAI_API_VERSION": "2024-10-21",
            "AZURE_MANAGEMENT_URL": "{url}",
            "AZURE_MANAGEMENT_TOKEN": "{key}",
            "AZURE_SUBSCRIPTION_ID": "sub-conformance",
            "AZURE_RESOURCE_GROUP": "rg-conformance",
            "AZURE_OPENAI_ACCOUNT": "acct-conformance",
        },
        deploy_route="PUT /subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.CognitiveServices"
        "/accounts/{account}/deployments/{name}",
        speed=100.0,
    ),
    BuiltinHarness(
        name="bedrock",
        dialect="bedrock",
        model="amazon.nova-micro-v1:0",
        # the emulator serves S3 and Bedrock on one port, its routes prefixed by the SigV4 scope's service
        create_route="POST /bedrock/model-customization-jobs",
        upload_route="PUT /s3/{bucket}/{key}",
        list_route="GET /bedrock/model-customization-jobs",
        env={
            "AWS_ENDPOINT_URL": "{url}",
            "AWS_ACCESS_KEY_ID": "AKIACONFORMANCE",
            "AWS_SECRET_ACCESS_KEY": "{key}",
            "AWS_REGION": "us-east-1",
            "FTCLIENT_BEDROCK_BUCKET": "ftclient-conformance",
            "FTCLIENT_BEDROCK_ROLE_ARN": "arn:aws:iam::123456789012:role/ftclient-conformance",
        },
        deploy_route="POST /bedrock/model-customization/custom-model-deployments",
        speed=1000.0,
    ),
    BuiltinHarness(
        name="vertex",
        dialect="vertex",
        model="gemini-2.5-flash",
        create_route="POST /v1/projects/{project}/locations/{location}/tuningJobs",
        upload_route="POST /upload/storage/v1/b/{bucket}/o",
        list_route="GET /v1/projects/{project}/locations/{location}/tuningJobs",
        env={
            "FTCLIENT_VERTEX_ENDPOINT": "{url}",
            "GOOGLE_CLOUD_PROJECT": "conformance",
            "GOOGLE_CLOUD_LOCATION": "us-central1",
            "FTCLIENT_VERTEX_BUCKET": "conformance-bucket",
        },
        deploy_route="POST /v1/projects/{project}/locations/{location}/endpoints",
        speed=100.0,
    ),
)


@dataclass
class Setup:
    """One case's world: the emulator, the harness, a folder to write in, and fast pauses."""

    harness: Harness
    emulator: Emulator
    workdir: Path
    pauses: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        """Instead of sleeping: note the pause and move the emulated clock on by it."""
        self.pauses.append(seconds)
        self.emulator.advance(max(seconds, 1.0))

    def adapter(self) -> Provider:
        """A fresh adapter, as a new process would build it from the environment."""
        return get_provider(self.harness.name)

    def registry(self) -> Registry:
        """The local registry, opened afresh (a relaunch after a crash keeps only what is on disk)."""
        from ftclient.config import resolve

        return Registry(resolve().registry_path)

    def dataset(self, name: str = "ds", *, train: int = 24) -> Path:
        return write_dataset(self.workdir / name, provider=self.harness.name, model=self.harness.model, train=train)

    def launch(self, dataset: Path, **kwargs: Any) -> Job:
        job = launch(dataset, provider=self.harness.name, model=self.harness.model, sleep=self.sleep, **kwargs)
        assert isinstance(job, Job)
        return job

    def follow(self, job: Job) -> str:
        final = job.wait(sleep=self.sleep, poll_interval=1.0, timeout=10_000, clock=self.emulator.now)
        return final.status

    def routes(self) -> dict[str, dict[str, int]]:
        by_route: dict[str, dict[str, int]] = self.emulator.stats()["requests"]["by_route"]
        return by_route

    def copies(self, dataset: Path) -> dict[str, int]:
        """How many files the provider holds with each split's content (found by content name)."""
        from ftclient.dataset.formats import convert_file
        from ftclient.launching.upload import content_name
        from ftclient.providers.base import NamedFileProvider, NativeFormatProvider

        adapter = self.adapter()
        if not isinstance(adapter, NamedFileProvider):
            pytest.skip(f"{self.harness.name} cannot find files by name, so copies cannot be counted")
        fmt = adapter.dataset_format(self.harness.model, "supervised") if isinstance(
            adapter, NativeFormatProvider) else None
        counts = {}
        for split in ("train", "validation"):
            path = dataset / f"{split}.jsonl"
            sha = hashlib.sha256(path.read_bytes()).hexdigest()
            if fmt is not None:  # what was uploaded is the split converted to the provider's own schema
                converted = convert_file(path, fmt, self.workdir / "converted-copy", source_sha256=sha)
                path, sha = converted.path, converted.sha256
            counts[split] = len(adapter.find_files(content_name(path, sha)))
        adapter.close()
        return counts

    def jobs_created(self) -> int:
        return int(self.emulator.stats()["jobs_created"])


@contextmanager
def running(harness: Harness, workdir: Path, setenv: Callable[[str, str], None], *, seed: int = 7) -> Iterator[Setup]:
    """Start ``harness``'s emulator and point ftclient at it through ``setenv`` (e.g. monkeypatch.setenv)."""
    with run_in_thread(EmulatorConfig(provider=harness.dialect, speed=harness.speed, seed=seed)) as emulator:
        for name, value in harness.environment(emulator, CANARY_KEY).items():
            setenv(name, value)
        setenv("FTCLIENT_POLL_INTERVAL_S", "0.02")
        setenv("FTCLIENT_RETRY_BACKOFF_S", "0.01")
        yield Setup(harness, emulator, workdir)


def write_dataset(folder: Path, *, provider: str, model: str, train: int = 24, validation: int = 6,
                  test: int = 6) -> Path:
    """A prepared dataset folder, as ``ftclient prepare`` writes it, aimed at ``provider``/``model``."""
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, Any] = {}
    for split, count, offset in (("train", train, 0), ("validation", validation, 1000), ("test", test, 2000)):
        rows = []
        for i in range(count):
            label = LABELS[i % len(LABELS)]
            rows.append(json.dumps({"messages": [
                {"role": "system", "content": "Classify the support ticket."},
                {"role": "user", "content": f"Ticket {offset + i}: something about {label} number {i}"},
                {"role": "assistant", "content": label},
            ]}))
        data = ("\n".join(rows) + "\n").encode()
        (folder / f"{split}.jsonl").write_bytes(data)
        files[split] = {"path": f"{split}.jsonl", "sha256": hashlib.sha256(data).hexdigest(), "examples": count}
    digest = hashlib.sha256("".join(files[s]["sha256"] for s in ("train", "validation", "test")).encode())
    manifest = {
        "ftclient_version": "conformance",
        "created_at": "2026-11-29T00:00:00Z",
        "task": "classify",
        "target": {"provider": provider, "model": model},
        "method": "supervised",
        "files": files,
        "dataset_sha256": digest.hexdigest(),
        "labels": list(LABELS),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return folder


def _ask(provider: Provider, model: str) -> ChatResult:
    async def once() -> ChatResult:
        try:
            return await provider.chat(ChatRequest(model=model, messages=[{"role": "user", "content": "Ticket 1"}]))
        finally:
            close = getattr(provider, "aclose", None)
            if close is not None:
                await close()

    return asyncio.run(once())


# -- the cases -------------------------------------------------------------------------------------------


def upload_reused_by_hash(s: Setup) -> None:
    """The same training file launched twice is uploaded once; the second launch re-attaches."""
    dataset = s.dataset()
    first = s.launch(dataset)
    again = s.launch(dataset)
    assert again.id == first.id and s.jobs_created() == 1
    assert s.copies(dataset) == {"train": 1, "validation": 1}


def lost_create_response_creates_one_job(s: Setup) -> None:
    """The provider made the job but its answer never arrived: the launch finds it instead of making another."""
    s.emulator.inject(s.harness.create_route, "lose_response_after_commit", times=1)
    job = s.launch(s.dataset())
    assert s.jobs_created() == 1 and job.id
    assert s.launch(s.dataset()).id == job.id and s.jobs_created() == 1


def lost_upload_response_stores_one_copy(s: Setup) -> None:
    """The provider stored the file but its answer never arrived: the launch finds that file again (by its
    content name) instead of sending a second copy."""
    s.emulator.inject(s.harness.upload_route, "lose_response_after_commit", times=1)
    dataset = s.dataset()
    try:
        s.launch(dataset)
    except Exception:
        s.launch(dataset)  # run again, as a user would after the error
    assert s.routes().get(s.harness.upload_route), "the fault's route was never called"
    assert s.copies(dataset) == {"train": 1, "validation": 1} and s.jobs_created() == 1


def cost_estimate_matches_the_bill(s: Setup) -> None:
    """The tokens ftclient estimated before launching are within a factor of 1.5 of those the provider says it
    trained on (the estimate uses a stand-in tokenizer where the provider's is not shipped); a provider that
    reports no tokens but prices the job itself is compared on dollars instead."""
    job = s.launch(s.dataset(), epochs=2)
    assert s.follow(job) == "succeeded"
    record = s.registry().get_job(job.id)
    assert record is not None and record.estimated_tokens, record
    assert job.info is not None
    trained = job.info.trained_tokens
    if trained:
        ratio = record.estimated_tokens / trained
        assert 1 / 1.5 <= ratio <= 1.5, (record.estimated_tokens, trained)
        return
    billed = job.info.metadata.get("estimated_total_price")  # the price the provider put on the job itself
    if billed is None or record.estimated_cost_usd is None:
        pytest.skip(f"{s.harness.name} reports neither trained tokens nor a price on the job: no bill to compare")
    # Dollars within a factor of 2: the provider's price comes rounded (four decimals) and counts tokens
    # its own way; a wrong epoch count or price per million still falls outside.
    ratio = record.estimated_cost_usd / float(billed)
    assert 1 / 2 <= ratio <= 2, (record.estimated_cost_usd, billed)


def injected_faults_create_nothing_twice(s: Setup) -> None:
    """With about 30% of all requests failing (500, 503, dropped connections), launches that get through, and
    those that give up and are run again, end with one job and one upload per file."""
    for fault in ("status_500", "status_503", "drop_connection"):
        s.emulator.inject("*", fault, probability=0.1)
    dataset = s.dataset()
    for _attempt in range(4):
        try:
            s.launch(dataset)
        except Exception:
            continue
    s.emulator.clear_faults()
    job = s.launch(dataset)
    assert s.jobs_created() == 1 and job.id
    assert s.copies(dataset) == {"train": 1, "validation": 1}


def relaunch_after_crash_reattaches(s: Setup) -> None:
    """A launch killed between steps (after the upload, before the create got through) and run again by a new
    process reuses the upload and makes exactly one job; run once more, it re-attaches to that job."""
    dataset = s.dataset()
    s.emulator.inject(s.harness.create_route, "status_500", times=50)
    with pytest.raises(Exception):  # noqa: B017 - whichever error: the process is gone after this
        s.launch(dataset)
    assert s.jobs_created() == 0 and s.copies(dataset) == {"train": 1, "validation": 1}
    s.emulator.clear_faults()
    job = s.launch(dataset)  # a new process: a new adapter, the registry as left on disk
    assert s.copies(dataset) == {"train": 1, "validation": 1} and s.jobs_created() == 1
    s.emulator.advance(5)
    assert s.launch(dataset).id == job.id and s.jobs_created() == 1


def killed_after_create_relaunch_reattaches(s: Setup) -> None:
    """A real ``ftclient launch`` process killed (SIGKILL) after the provider made its job but before the
    answer arrived: the next launch finds that job instead of making a second."""
    import os
    import signal
    import subprocess
    import sys
    import time

    dataset = s.dataset()
    s.emulator.inject(s.harness.create_route, "latency", times=1, ms=20_000)
    args = ["launch", str(dataset), "--provider", s.harness.name, "--model", s.harness.model, "--detach", "--json"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "ftclient", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=s.workdir,
        env=dict(os.environ),
    )
    try:
        deadline = time.monotonic() + 30
        while s.jobs_created() == 0:
            assert proc.poll() is None, "the launch ended before its job was created"
            assert time.monotonic() < deadline, "the launch never created its job"
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    s.emulator.clear_faults()
    job = s.launch(dataset)
    assert s.jobs_created() == 1 and job.id
    assert s.copies(dataset) == {"train": 1, "validation": 1}


def follows_to_success_with_metrics(s: Setup) -> None:
    """A job followed to the end succeeds with a tuned model, and training metrics arrive while it runs."""
    job = s.launch(s.dataset(), epochs=3)
    seen_steps: list[int] = []
    last: str | None = None
    for _poll in range(200):
        info = job.refresh()
        for event in job.events(after=last):
            last = event.id
            if event.type == "metrics" and "step" in event.data:
                seen_steps.append(int(event.data["step"]))
        if info.terminal:
            break
        s.emulator.advance(5)
    assert job.refresh().status == "succeeded" and job.fine_tuned_model
    if not job.provider.capabilities.training_metrics:
        pytest.skip(f"{s.harness.name} reports no training metrics while a job runs (capability training_metrics)")
    assert len(seen_steps) >= 2 and seen_steps == sorted(seen_steps), seen_steps


def cancel_and_cancel_again(s: Setup) -> None:
    """Cancelling a running job ends it cancelled; cancelling it again is no error and changes nothing."""
    job = s.launch(s.dataset())
    job.cancel()
    assert s.follow(job) == "cancelled"
    assert job.cancel().status == "cancelled"
    assert s.jobs_created() == 1


def failure_surfaces_the_reason(s: Setup) -> None:
    """A job the provider fails ends ``failed`` with the provider's own words."""
    reason = "GPU node lost during step 2 (conformance)"
    s.emulator.inject(s.harness.create_route, "fail_job", times=1, message=reason)
    job = s.launch(s.dataset())
    assert s.follow(job) == "failed"
    assert job.info is not None and reason in (job.info.error_message or "")


def deploy_ask_teardown_leaves_nothing_running(s: Setup) -> None:
    """A tuned model deployed, asked and torn down leaves no endpoint up, also when the deployment's create
    answer was lost (the endpoint that was made is found and stopped, not left billing)."""
    from ftclient.deploy import deploy, teardown

    adapter = s.adapter()
    if not adapter.capabilities.needs_deployment:
        pytest.skip(f"{s.harness.name} serves tuned models without a deployment")
    job = s.launch(s.dataset())
    assert s.follow(job) == "succeeded"
    assert s.harness.deploy_route is not None
    s.emulator.inject(s.harness.deploy_route, "lose_response_after_commit", times=1)
    registry = s.registry()
    deployment = deploy(job.id, provider=adapter, registry=registry, poll_s=1.0, sleep=s.sleep,
                        clock=s.emulator.now, timeout_s=100_000)
    answer = _ask(adapter, deployment.serving_name)
    assert answer.text
    teardown(adapter, deployment.endpoint.id, registry=registry, delete=True)
    s.emulator.advance(600)
    from ftclient.providers.base import DeployingProvider

    assert isinstance(adapter, DeployingProvider)
    up = [e for e in adapter.list_endpoints() if e.state not in {"STOPPED", "DELETED", "DELETING"}]
    assert up == [], up


def rate_limits_paced_as_told(s: Setup) -> None:
    """A 429 with ``retry-after`` is waited out for exactly that long; one without it backs off, then succeeds."""
    adapter = s.adapter()
    if not hasattr(adapter, "_sleep"):
        pytest.skip(f"{s.harness.name}'s adapter takes no sleep function, so its pauses cannot be measured")
    adapter._sleep = s.pauses.append  # the pauses, measured instead of slept
    s.emulator.inject(s.harness.list_route, "status_429", times=2, retry_after_s=0.25)
    adapter.list_jobs()
    assert s.pauses == [0.25, 0.25]
    s.pauses.clear()
    s.emulator.inject(s.harness.list_route, "status_429", times=2)
    adapter.list_jobs()
    assert len(s.pauses) == 2 and all(0 < p <= 60 for p in s.pauses), s.pauses
    adapter.close()


def api_key_never_written(s: Setup) -> None:
    """After a launch followed to the end (with retries on the way), the key is in no file ftclient wrote."""
    from ftclient.config import resolve

    s.emulator.inject(s.harness.list_route, "status_500", times=1, message=f"upstream rejected key {CANARY_KEY}")
    job = s.launch(s.dataset())
    s.follow(job)
    s.adapter().list_jobs()
    home = resolve().home
    written = [p for p in (*home.rglob("*"), *s.workdir.rglob("*")) if p.is_file()]
    assert written
    for path in written:
        assert CANARY_KEY.encode() not in path.read_bytes(), path


Case = Callable[[Setup], None]

BASIC_CASES: tuple[Case, ...] = (
    upload_reused_by_hash,
    lost_create_response_creates_one_job,
    follows_to_success_with_metrics,
    cancel_and_cancel_again,
)
"""What a plugin must pass at the least."""

CASES: tuple[Case, ...] = (
    *BASIC_CASES,
    lost_upload_response_stores_one_copy,
    injected_faults_create_nothing_twice,
    relaunch_after_crash_reattaches,
    killed_after_create_relaunch_reattaches,
    failure_surfaces_the_reason,
    deploy_ask_teardown_leaves_nothing_running,
    cost_estimate_matches_the_bill,
    rate_limits_paced_as_told,
    api_key_never_written,
)
