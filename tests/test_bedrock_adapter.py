"""The Bedrock adapter and the emulator's Bedrock dialect, through the real boto3 over loopback (boto3 checks
each request against its service model before sending it): S3 uploads in parts and their reuse, SigV4 routing,
the emulator's own data rules, provisioned throughput billed by the hour, throttling, and what happens
without boto3 or without the bucket and role."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

boto3 = pytest.importorskip("boto3")

from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread  # noqa: E402
from ftclient.errors import InvalidRequestError, RateLimitError, UserInputError  # noqa: E402
from ftclient.providers.base import ChatRequest, JobSpec  # noqa: E402
from ftclient.providers.bedrock import BedrockProvider  # noqa: E402

ROLE = "arn:aws:iam::123456789012:role/test"


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with run_in_thread(EmulatorConfig(provider="bedrock", speed=1.0, rpm=2, burst_s=60)) as running:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATEST")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        yield running


def adapter(emu: Emulator, **options: object) -> BedrockProvider:
    return BedrockProvider(endpoint_url=emu.url, region="us-east-1", bucket="bkt", role_arn=ROLE, max_retries=1,
                           **options)  # type: ignore[arg-type]


def native_line(i: int, user: str = "What is {i}?") -> str:
    return json.dumps({"schemaVersion": "bedrock-conversation-2024",
                       "messages": [{"role": "user", "content": [{"text": user.format(i=i)}]},
                                    {"role": "assistant", "content": [{"text": f"{i}"}]}]}) + "\n"


def test_without_boto3_the_provider_says_what_to_install(tmp_path: Path) -> None:
    probe = ("import sys; sys.modules['boto3'] = None; sys.modules['botocore'] = None\n"
             "from ftclient.cli import main\n"
             "sys.argv = ['ftclient', 'jobs', 'list', '--provider', 'bedrock']\n"
             "main()\n")
    env = {**os.environ, "FTCLIENT_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", probe], check=False, capture_output=True, text=True, env=env,
                          timeout=60)
    assert done.returncode == 1, done.stderr
    assert "pip install 'ftclient[bedrock]'" in done.stderr and "Traceback" not in done.stderr


def test_a_large_file_goes_up_in_parts_and_is_reused_by_hash(emu: Emulator, tmp_path: Path) -> None:
    big = tmp_path / "train.jsonl"
    line = native_line(1).encode()
    big.write_bytes(line * (11 * 1024**2 // len(line) + 1))
    provider = adapter(emu)
    provider.multipart_threshold = 5 * 1024**2
    seen: list[tuple[int, int]] = []
    first = provider.upload_named(big, filename="train-abc.jsonl", on_progress=lambda d, t: seen.append((d, t)))
    stored = emu.core.app.s3.buckets["bkt"]["ftclient/train-abc.jsonl"]  # type: ignore[attr-defined]
    assert stored.data == big.read_bytes() and stored.etag.endswith('-3"')  # S3's multipart ETag: 3 parts
    assert first.id == "s3://bkt/ftclient/train-abc.jsonl" and first.bytes == big.stat().st_size
    assert seen[-1] == (big.stat().st_size, big.stat().st_size)
    routes = emu.stats()["requests"]["by_route"]
    parts_before = routes["PUT /s3/{bucket}/{key}"]
    again = provider.upload_named(big, filename="train-abc.jsonl")
    assert again.id == first.id
    assert emu.stats()["requests"]["by_route"]["PUT /s3/{bucket}/{key}"] == parts_before  # nothing sent again
    assert [f.id for f in provider.find_files("train-abc.jsonl")] == [first.id]
    assert provider.find_files("train-other.jsonl") == []


def test_requests_are_routed_by_the_sigv4_scope_and_unsigned_ones_refused(emu: Emulator) -> None:
    unsigned = httpx2.get(f"{emu.url}/model-customization-jobs", timeout=10)
    assert unsigned.status_code == 403 and unsigned.headers["x-amzn-errortype"] == "AccessDeniedException"
    signed = "AWS4-HMAC-SHA256 Credential=AKIA/20261203/us-east-1/{}/aws4_request, SignedHeaders=host, Signature=0"
    as_bedrock = httpx2.get(f"{emu.url}/model-customization-jobs", timeout=10,
                            headers={"Authorization": signed.format("bedrock")})
    as_s3 = httpx2.get(f"{emu.url}/model-customization-jobs?list-type=2", timeout=10,
                       headers={"Authorization": signed.format("s3")})
    assert as_bedrock.json() == {"modelCustomizationJobSummaries": []}
    assert as_s3.headers["content-type"] == "application/xml" and b"<ListBucketResult" in as_s3.content


def test_the_emulator_fails_a_job_on_bad_data_naming_the_line(emu: Emulator, tmp_path: Path) -> None:
    data = tmp_path / "train.jsonl"
    data.write_text("".join(native_line(i) for i in range(2)) + native_line(2, "User: {i}?")
                    + "".join(native_line(i) for i in range(3, 10)), encoding="utf-8")
    provider = adapter(emu)
    remote = provider.upload_named(data, filename="train-bad.jsonl")
    job = provider.create_job(JobSpec(model="amazon.nova-micro-v1:0", training_file=remote.id,
                                      metadata={"ftclient_run": "run-badline"}))
    assert job.id == "ftc-badline" and job.status == "validating_files"
    emu.advance(60)
    failed = provider.get_job(job.id)
    assert failed.status == "failed" and failed.raw_status == "Failed"
    assert "line 3" in (failed.error_message or "") and "User:" in (failed.error_message or "")


def test_provisioned_throughput_bills_every_started_hour_until_deleted(emu: Emulator, tmp_path: Path) -> None:
    data = tmp_path / "train.jsonl"
    data.write_text("".join(native_line(i) for i in range(10)), encoding="utf-8")
    provider = adapter(emu)
    remote = provider.upload_named(data, filename="train-ok.jsonl")
    job = provider.create_job(JobSpec(model="amazon.nova-micro-v1:0", training_file=remote.id,
                                      metadata={"ftclient_run": "run-billing"}))
    emu.advance(3600)
    model = provider.get_job(job.id).fine_tuned_model
    assert model is not None
    assert provider.hourly_fee(model, "provisioned")[1] == 20.0 and provider.hourly_fee(model, None)[1] == 0.0
    endpoint = provider.create_endpoint(model, hardware="provisioned")
    assert endpoint.state == "STARTING" and endpoint.cost_per_hour_usd == 20.0
    assert endpoint.inactive_timeout_min == 0  # no idle stop on Bedrock, and none claimed
    emu.advance(2.5 * 3600)
    assert provider.get_endpoint(endpoint.id).state == "STARTED"
    answer = asyncio.run(provider.chat(ChatRequest(model=endpoint.id, messages=[
        {"role": "system", "content": "Answer."}, {"role": "user", "content": "What is 3?"}])))
    assert answer.text == "3" and answer.prompt_tokens > 0
    with pytest.raises(RateLimitError) as throttled:  # rpm=2: the third call in the minute is refused, once
        for _ in range(2):
            asyncio.run(provider.chat(ChatRequest(model=endpoint.id, messages=[{"role": "user", "content": "x"}])))
    assert throttled.value.status == 429 and throttled.value.code == "ThrottlingException"
    assert provider.stop_endpoint(endpoint.id).state == "STOPPED"
    books = emu.stats()["serving"]
    assert books["provisioned_running"] == 0 and books["provisioned"][0]["hours_billed"] == 3
    assert books["provisioned_cost_usd"] == 60.0
    with pytest.raises(InvalidRequestError, match="on-demand throughput"):  # a custom model by its own ARN
        asyncio.run(provider.chat(ChatRequest(model=model, messages=[{"role": "user", "content": "x"}])))


def test_a_launch_without_bucket_or_role_stops_before_any_upload(emu: Emulator) -> None:
    spec = JobSpec(model="amazon.nova-micro-v1:0", training_file="<training file id>")
    with pytest.raises(UserInputError, match="FTCLIENT_BEDROCK_BUCKET"):
        BedrockProvider(endpoint_url=emu.url, role_arn=ROLE).check_spec(spec, online=False)
    with pytest.raises(UserInputError, match="FTCLIENT_BEDROCK_ROLE_ARN"):
        BedrockProvider(endpoint_url=emu.url, bucket="bkt").check_spec(spec, online=False)
    with pytest.raises(UserInputError, match="gpt-4o-mini") as unknown:
        adapter(emu).check_spec(JobSpec(model="gpt-4o-mini", training_file="x"), online=False)
    assert "amazon.nova-micro-v1:0" in str(unknown.value.hint)
    assert emu.stats()["requests"]["total"] == 0


def test_the_adapter_speaks_every_protocol_bedrock_supports(emu: Emulator) -> None:
    from ftclient.providers import get_provider
    from ftclient.providers.base import (
        DeployingProvider,
        ModelListingProvider,
        NamedFileProvider,
        NativeFormatProvider,
        Provider,
        RequestPreview,
        SpecChecks,
    )

    provider = adapter(emu)
    for protocol in (Provider, DeployingProvider, ModelListingProvider, NamedFileProvider, NativeFormatProvider,
                     RequestPreview, SpecChecks):
        assert isinstance(provider, protocol), protocol.__name__
    assert provider.dataset_format("amazon.nova-micro-v1:0", "supervised") == "bedrock-conversation-2024"
    assert type(get_provider("bedrock")).__name__ == "BedrockProvider"  # found through the entry point


def test_names_sent_to_bedrock_fit_the_service_models_patterns() -> None:
    import re

    from ftclient.providers.bedrock import wire

    name = wire.job_name_for_run("run-0123456789abcdef0123")
    assert name == "ftc-0123456789abcdef0123" and wire.run_id_of(name) == "run-0123456789abcdef0123"
    spec = JobSpec(model="amazon.nova-micro-v1:0", training_file="s3://b/t.jsonl", suffix="--My Tickets!--",
                   hyperparameters={"n_epochs": 3, "learning_rate_multiplier": 2.0})
    request = wire.create_request(spec, role_arn=ROLE, bucket="b", name=name)
    # patterns from bedrock-service-2.json: CustomModelName, JobName, IdempotencyToken
    assert re.fullmatch(r"([0-9a-zA-Z][_-]?){1,63}", request["customModelName"]), request["customModelName"]
    assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9\+\-\.])*", request["jobName"])
    assert re.fullmatch(r"[a-zA-Z0-9]([-a-zA-Z0-9]{0,254}[a-zA-Z0-9])?", request["clientRequestToken"])
    assert request["hyperParameters"] == {"epochCount": "3", "learningRate": "2e-05"}


def test_emulator_command_speaks_bedrock() -> None:
    import signal

    command = [sys.executable, "-m", "ftclient", "emulator", "--provider", "bedrock", "--port", "0"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ) as proc:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip().removesuffix("/v1")
        client = boto3.client("bedrock", endpoint_url=url, region_name="us-east-1", aws_access_key_id="a",
                              aws_secret_access_key="b")
        listed = client.list_model_customization_jobs()
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=20)
    assert listed["modelCustomizationJobSummaries"] == []
    assert "AWS_ENDPOINT_URL" in stderr and "FTCLIENT_BEDROCK_BUCKET" in stderr


def test_a_job_is_found_by_its_run_id_and_by_its_configuration_tag(emu: Emulator, tmp_path: Path) -> None:
    data = tmp_path / "train.jsonl"
    data.write_text("".join(native_line(i) for i in range(10)), encoding="utf-8")
    provider = adapter(emu)
    remote = provider.upload_named(data, filename="train-tags.jsonl")
    metadata = {"ftclient_run": "run-tagged", "ftclient_config": "cfg-abc", "ftclient_dataset": "f" * 64}
    job = provider.create_job(JobSpec(model="amazon.nova-micro-v1:0", training_file=remote.id, metadata=metadata))
    assert [j.id for j in provider.find_jobs({"ftclient_run": "run-tagged"})] == [job.id]
    (found,) = provider.find_jobs({"ftclient_config": "cfg-abc"})  # a launch from another machine finds it
    assert found.id == job.id and found.metadata["ftclient_dataset"] == "f" * 64
    assert provider.find_jobs({"ftclient_config": "cfg-other"}) == []
    assert provider.find_jobs({"ftclient_run": "run-never"}) == []
