"""Bedrock's contract, from both sides, against the botocore service models pinned in ../shared/openapi
(bedrock-service-2.json, bedrock-runtime-service-2.json; SOURCES.md).

- Requests: every operation the adapter calls exists in those models. The requests themselves are checked by
  boto3, which validates each one against its service model before it leaves (``ParamValidationError``), in
  every test that drives the adapter or boto3 against the emulator.
- Responses: the emulator's raw JSON bodies, captured before botocore parses them (its parser would silently
  drop keys it does not know), hold only members the operation's output shape declares, with every required
  member present and enum values from the enum.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import SHARED

boto3 = pytest.importorskip("boto3")

from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread  # noqa: E402

MODELS = {"bedrock": SHARED / "openapi" / "bedrock-service-2.json",
          "bedrock-runtime": SHARED / "openapi" / "bedrock-runtime-service-2.json"}
ADAPTER = Path(__file__).resolve().parent.parent / "ftclient" / "providers" / "bedrock"

pytestmark = pytest.mark.skipif(not all(p.is_file() for p in MODELS.values()),
                                reason="the pinned Bedrock service models (../shared/openapi) are not here")


def service_model(service: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(MODELS[service].read_text(encoding="utf-8"))
    return data


def snake(name: str) -> str:
    from botocore import xform_name

    result: str = xform_name(name)
    return result


def adapter_calls() -> set[tuple[str, str]]:
    """(service, operation) of every ``self.call("service", "operation", ...)`` in the adapter's source."""
    found = set()
    for path in ADAPTER.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "call"
                    and len(node.args) >= 2 and all(isinstance(a, ast.Constant) for a in node.args[:2])):
                found.add((str(node.args[0].value), str(node.args[1].value)))  # type: ignore[attr-defined]
    return found


def test_every_operation_the_adapter_calls_is_in_the_service_models() -> None:
    calls = adapter_calls()
    assert {op for service, op in calls if service == "bedrock"} >= {
        "create_model_customization_job", "get_model_customization_job", "stop_model_customization_job",
        "create_provisioned_model_throughput", "delete_provisioned_model_throughput", "create_custom_model_deployment",
    }
    for service, operation in calls:
        if service == "s3":
            continue  # S3's model is not pinned in ../shared; boto3 still validates those requests
        names = {snake(op): op for op in service_model(service)["operations"]}
        assert operation in names, f"{service}.{operation} is not an operation of the pinned service model"


def check_shape(model: dict[str, Any], shape_name: str, value: Any, path: str) -> list[str]:
    shape = model["shapes"][shape_name]
    kind = shape["type"]
    problems: list[str] = []
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: expected an object for {shape_name}"]
        body_members = {m.get("locationName", name): (name, m) for name, m in shape.get("members", {}).items()
                        if m.get("location") not in ("header", "headers", "statusCode", "uri", "querystring")}
        for key, item in value.items():
            if key not in body_members:
                problems.append(f"{path}.{key}: not a member of {shape_name}")
                continue
            problems += check_shape(model, body_members[key][1]["shape"], item, f"{path}.{key}")
        for required in shape.get("required", []):
            member = shape["members"][required]
            if member.get("location") in (None, "") and member.get("locationName", required) not in value:
                problems.append(f"{path}: required member {required} of {shape_name} is missing")
    elif kind == "list":
        if not isinstance(value, list):
            return [f"{path}: expected a list for {shape_name}"]
        for index, item in enumerate(value):
            problems += check_shape(model, shape["member"]["shape"], item, f"{path}[{index}]")
    elif kind == "map":
        if not isinstance(value, dict):
            return [f"{path}: expected a map for {shape_name}"]
        for key, item in value.items():
            problems += check_shape(model, shape["value"]["shape"], item, f"{path}.{key}")
    elif kind == "string":
        if not isinstance(value, str):
            problems.append(f"{path}: expected a string for {shape_name}")
        elif "enum" in shape and value not in shape["enum"]:
            problems.append(f"{path}: {value!r} is not one of {shape_name}'s values")
    elif kind in ("integer", "long"):
        if not isinstance(value, int):
            problems.append(f"{path}: expected an integer for {shape_name}")
    elif kind in ("float", "double"):
        if not isinstance(value, int | float):
            problems.append(f"{path}: expected a number for {shape_name}")
    elif kind == "timestamp" and not isinstance(value, str | int | float):
        problems.append(f"{path}: expected a timestamp for {shape_name}")
    return problems


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with run_in_thread(EmulatorConfig(provider="bedrock", speed=10.0)) as running:
        yield running


def test_every_emulator_response_fits_its_output_shape(emulator: Emulator) -> None:
    seen: dict[str, list[str]] = {}

    def capture(operation_model: Any, response_dict: Any, **_: Any) -> None:
        service = operation_model.service_model.service_name
        if service not in MODELS or not response_dict.get("body"):
            return
        model = service_model(service)
        operation = model["operations"][operation_model.name]
        if response_dict["status_code"] >= 300:
            return
        body = json.loads(response_dict["body"])
        output = operation.get("output", {}).get("shape")
        problems = check_shape(model, output, body, operation_model.name) if output else []
        seen.setdefault(operation_model.name, []).extend(problems)

    session = boto3.session.Session(aws_access_key_id="a", aws_secret_access_key="b", region_name="us-east-1")
    clients = {name: session.client(name, endpoint_url=emulator.url) for name in ("s3", "bedrock", "bedrock-runtime")}
    for client in clients.values():
        client.meta.events.register("before-parse", capture)
    s3, bedrock, runtime = clients["s3"], clients["bedrock"], clients["bedrock-runtime"]
    record = {"schemaVersion": "bedrock-conversation-2024", "system": [{"text": "Answer briefly."}],
              "messages": [{"role": "user", "content": [{"text": "hi"}]},
                           {"role": "assistant", "content": [{"text": "hello"}]}]}
    s3.put_object(Bucket="contract", Key="train.jsonl", Body=(json.dumps(record) + "\n").encode() * 10)
    s3.put_object(Bucket="contract", Key="valid.jsonl", Body=(json.dumps(record) + "\n").encode() * 2)
    job = bedrock.create_model_customization_job(
        jobName="contract-job", customModelName="contract-model", roleArn="arn:aws:iam::123456789012:role/r",
        baseModelIdentifier="amazon.nova-micro-v1:0", clientRequestToken="contract-token",
        trainingDataConfig={"s3Uri": "s3://contract/train.jsonl"},
        validationDataConfig={"validators": [{"s3Uri": "s3://contract/valid.jsonl"}]},
        outputDataConfig={"s3Uri": "s3://contract/out/"}, hyperParameters={"epochCount": "1"},
        jobTags=[{"key": "ftclient_config", "value": "cfg-1"}],
    )["jobArn"]
    bedrock.get_model_customization_job(jobIdentifier=job)  # InProgress, with statusDetails
    emulator.advance(10_000)
    done = bedrock.get_model_customization_job(jobIdentifier=job)
    assert done["status"] == "Completed"
    bedrock.list_model_customization_jobs(maxResults=10)
    bedrock.list_tags_for_resource(resourceARN=job)
    model = done["outputModelArn"]
    bedrock.get_custom_model(modelIdentifier=model)
    bedrock.list_custom_models()
    bedrock.list_foundation_models(byCustomizationType="FINE_TUNING")
    provisioned = bedrock.create_provisioned_model_throughput(modelUnits=1, provisionedModelName="contract-pt",
                                                              modelId=model)["provisionedModelArn"]
    deployment = bedrock.create_custom_model_deployment(modelDeploymentName="contract-d",
                                                        modelArn=model)["customModelDeploymentArn"]
    emulator.advance(10_000)
    bedrock.get_provisioned_model_throughput(provisionedModelId=provisioned)
    bedrock.list_provisioned_model_throughputs()
    bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=deployment)
    bedrock.list_custom_model_deployments()
    runtime.converse(modelId=provisioned, messages=[{"role": "user", "content": [{"text": "hi"}]}],
                     system=[{"text": "Answer briefly."}], inferenceConfig={"maxTokens": 5, "temperature": 0.0})
    bedrock.delete_provisioned_model_throughput(provisionedModelId=provisioned)
    bedrock.delete_custom_model_deployment(customModelDeploymentIdentifier=deployment)
    other = bedrock.create_model_customization_job(
        jobName="contract-stop", customModelName="contract-stop", roleArn="arn:aws:iam::123456789012:role/r",
        baseModelIdentifier="amazon.nova-micro-v1:0", trainingDataConfig={"s3Uri": "s3://contract/train.jsonl"},
        outputDataConfig={"s3Uri": "s3://contract/out/"},
    )["jobArn"]
    bedrock.stop_model_customization_job(jobIdentifier=other)
    called = {snake(name) for name in seen} | {"stop_model_customization_job", "delete_provisioned_model_throughput",
                                               "delete_custom_model_deployment"}
    missing = {op for service, op in adapter_calls() if service != "s3"} - called
    assert not missing, f"operations the adapter calls that this test never answered: {sorted(missing)}"
    problems = [p for found in seen.values() for p in found]
    assert not problems, problems


def test_the_shape_check_catches_an_unknown_key_and_a_missing_member() -> None:
    model = service_model("bedrock")
    assert check_shape(model, "CreateModelCustomizationJobResponse", {"jobArn": "x", "extra": 1}, "r") == [
        "r.extra: not a member of CreateModelCustomizationJobResponse"]
    assert check_shape(model, "CreateModelCustomizationJobResponse", {}, "r") == [
        "r: required member jobArn of CreateModelCustomizationJobResponse is missing"]
    assert check_shape(model, "ProvisionedModelSummary", {"status": "Running"}, "r")[0].startswith("r.status")
