"""The Vertex adapter and the emulator's vertex dialect against the aiplatform v1 discovery document
(``../shared/openapi/vertex-aiplatform-v1.json``): every aiplatform method the adapter called is one the
document declares, with that HTTP method, and every emulator answer uses only fields of the document's schema
for it (with the declared types and enum values)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from conftest import SHARED

pytest.importorskip("google.genai")

from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread
from ftclient.launching.create import RUN_KEY
from ftclient.providers.base import ChatRequest, JobSpec
from ftclient.providers.vertex import VertexProvider

DISCOVERY = SHARED / "openapi" / "vertex-aiplatform-v1.json"
pytestmark = pytest.mark.skipif(not DISCOVERY.is_file(), reason=f"{DISCOVERY} is not here (../shared absent)")
LINE = json.dumps({"systemInstruction": {"parts": [{"text": "Label: a or b."}]},
                   "contents": [{"role": "user", "parts": [{"text": "first"}]},
                                {"role": "model", "parts": [{"text": "a"}]}]})


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return dict(json.loads(DISCOVERY.read_text(encoding="utf-8")))


def _methods(resource: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for method in (resource.get("methods") or {}).values():
        yield method["httpMethod"], method["flatPath"]
    for child in (resource.get("resources") or {}).values():
        yield from _methods(child)


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path.lstrip("/"))


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Emulator, VertexProvider, dict[str, str]]]:
    """A whole Vertex run through the adapter: upload, tune, find, serve, ask, tear down, serve again."""
    folder = tmp_path_factory.mktemp("vertex-spec")
    train = folder / "train.jsonl"
    train.write_text((LINE + "\n") * 8, encoding="utf-8")
    with run_in_thread(EmulatorConfig(provider="vertex", speed=1.0, seed=9)) as emu:
        sent: list[tuple[str, str, bytes]] = []
        dispatch = emu.core.dispatch

        def recording(request: Any) -> Any:
            sent.append((request.method, request.path, request.body))
            return dispatch(request)

        emu.core.dispatch = recording  # type: ignore[method-assign]
        emu.sent = sent  # type: ignore[attr-defined]
        vertex = VertexProvider(project="p", location="us-central1", bucket="b", endpoint=emu.url, poll_s=5.0,
                                sleep=emu.advance)
        spec = JobSpec(model="gemini-2.5-flash", training_file=vertex.upload_file(train).id,
                       hyperparameters={"n_epochs": 1, "learning_rate_multiplier": 1.0}, suffix="spec",
                       metadata={RUN_KEY: "run-spec"})
        job = vertex.create_job(spec)
        vertex.find_jobs({RUN_KEY: "run-spec"})
        emu.advance(200)
        done = vertex.get_job(job.id)
        vertex.list_jobs()
        endpoint = vertex.create_endpoint(str(done.fine_tuned_model))

        async def ask() -> None:
            for model in (str(endpoint.name), "gemini-2.5-flash"):
                await vertex.chat(ChatRequest(model=model, messages=[{"role": "user", "content": "first"}],
                                              max_tokens=5))
            await vertex.aclose()

        asyncio.run(ask())
        names = {"job": f"v1/projects/p/locations/us-central1/tuningJobs/{job.id}",
                 "endpoint": f"v1/{endpoint.name}", "model": "v1/" + str(done.fine_tuned_model).split("@")[0]}
        vertex.list_endpoints()
        vertex.stop_endpoint(endpoint.id)
        again = vertex.create_endpoint(str(done.fine_tuned_model))
        emu.advance(61)
        assert vertex.get_endpoint(again.id).state == "STARTED"
        names["endpoint"] = f"v1/{again.name}"
        yield emu, vertex, names
        vertex.close()


def test_every_aiplatform_call_the_adapter_made_is_declared(
    document: dict[str, Any], flow: tuple[Emulator, VertexProvider, dict[str, str]]
) -> None:
    emu, _, _ = flow
    declared = {(verb, _shape(path)) for verb, path in _methods(document["resources"]["projects"])}
    used = [route for route in emu.stats()["requests"]["by_route"] if " /v1/" in route]
    assert len(used) >= 13, used  # tuningJobs x4, endpoints x6 and their operations, models.get, generateContent x2
    for route in used:
        verb, path = route.split(" ", 1)
        assert (verb, _shape(path)) in declared, f"{route} is not a method of the discovery document"


def test_every_request_body_the_adapter_sent_fits_the_method_s_request_schema(
    document: dict[str, Any], flow: tuple[Emulator, VertexProvider, dict[str, str]]
) -> None:
    emu, _, _ = flow
    methods = [
        (method["httpMethod"], _pattern(method["flatPath"]), method)
        for resource in _resources(document["resources"]["projects"])
        for method in (resource.get("methods") or {}).values()
    ]
    checked = 0
    problems: list[str] = []
    for verb, path, body in emu.sent:  # type: ignore[attr-defined]
        if not path.startswith("/v1/") or not body:
            continue
        bare = path.split("?")[0]
        found = [m for v, pattern, m in methods if v == verb and pattern.match(bare)]
        assert found, f"{verb} {path} is not a method of the discovery document"
        method = found[0]
        request = method.get("request")
        assert request is not None, f"{verb} {path} sends a body its method does not take"
        problems += _check(json.loads(body), request, document["schemas"], f"{verb} {path}", parsing=True)
        checked += 1
    assert checked >= 5 and problems == [], problems  # create job, create endpoint, deploy, undeploy, generate


def _pattern(flat_path: str) -> re.Pattern[str]:
    """``v1/projects/{projectsId}/...`` as a regular expression matching concrete paths."""
    return re.compile("^/" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(flat_path)) + "$")


def _resources(resource: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield resource
    for child in (resource.get("resources") or {}).values():
        yield from _resources(child)


def _check(value: Any, schema: dict[str, Any], schemas: dict[str, Any], where: str, *,
           parsing: bool = False) -> list[str]:
    """What in ``value`` the schema does not allow. ``parsing``: judged as Google parses a request, where an
    int64 field takes a JSON number as well as its canonical string (protobuf.dev/programming-guides/json:
    "Either numbers or strings are accepted"); answers must use the string."""
    if "$ref" in schema:
        schema = schemas[schema["$ref"]]
    kind = schema.get("type")
    problems: list[str] = []
    if kind == "object" and "properties" in schema:
        if not isinstance(value, dict):
            return [f"{where}: expected an object"]
        for key, item in value.items():
            if key not in schema["properties"]:
                problems.append(f"{where}.{key}: not a field of the schema")
            else:
                problems += _check(item, schema["properties"][key], schemas, f"{where}.{key}", parsing=parsing)
    elif kind == "object":
        extra = schema.get("additionalProperties")
        if not isinstance(value, dict):
            return [f"{where}: expected an object"]
        if isinstance(extra, dict):
            for key, item in value.items():
                problems += _check(item, extra, schemas, f"{where}.{key}", parsing=parsing)
    elif kind == "array":
        if not isinstance(value, list):
            return [f"{where}: expected a list"]
        for index, item in enumerate(value):
            problems += _check(item, schema.get("items", {}), schemas, f"{where}[{index}]", parsing=parsing)
    elif kind == "string":
        if parsing and schema.get("format") in {"int64", "uint64"} and isinstance(value, int):
            pass
        elif not isinstance(value, str):
            problems.append(f"{where}: expected a string (int64 values are strings in JSON), got {value!r}")
        elif "enum" in schema and value not in schema["enum"]:
            problems.append(f"{where}: {value!r} is not one of the enum's values")
    elif kind == "integer" and (not isinstance(value, int) or isinstance(value, bool)):
        problems.append(f"{where}: expected an integer")
    elif kind == "number" and not isinstance(value, int | float):
        problems.append(f"{where}: expected a number")
    elif kind == "boolean" and not isinstance(value, bool):
        problems.append(f"{where}: expected a boolean")
    return problems


def test_emulator_answers_use_only_fields_of_the_discovery_schemas(
    document: dict[str, Any], flow: tuple[Emulator, VertexProvider, dict[str, str]]
) -> None:
    emu, _, names = flow
    schemas = document["schemas"]
    parent = "v1/projects/p/locations/us-central1"
    body = {"contents": [{"role": "user", "parts": [{"text": "first"}]}], "generationConfig": {"maxOutputTokens": 4}}
    calls = [
        ("GET", names["job"], None, "GoogleCloudAiplatformV1TuningJob"),
        ("GET", f"{parent}/tuningJobs", None, "GoogleCloudAiplatformV1ListTuningJobsResponse"),
        ("GET", names["endpoint"], None, "GoogleCloudAiplatformV1Endpoint"),
        ("GET", f"{parent}/endpoints", None, "GoogleCloudAiplatformV1ListEndpointsResponse"),
        ("GET", names["model"], None, "GoogleCloudAiplatformV1Model"),
        ("POST", f"{names['endpoint']}:generateContent", body, "GoogleCloudAiplatformV1GenerateContentResponse"),
        ("POST", f"{parent}/publishers/google/models/gemini-2.5-flash:generateContent", body,
         "GoogleCloudAiplatformV1GenerateContentResponse"),
        ("POST", f"{parent}/endpoints?endpointId=spec-check", {"displayName": "x"}, "GoogleLongrunningOperation"),
        ("POST", f"{parent}/endpoints/spec-check:deployModel",
         {"deployedModel": {"model": names["model"][3:]}}, "GoogleLongrunningOperation"),
    ]
    problems: list[str] = []
    with httpx2.Client(base_url=emu.url) as client:
        for verb, path, payload, schema in calls:
            answer = client.request(verb, f"/{path}", json=payload)
            assert answer.status_code == 200, (path, answer.text)
            problems += _check(answer.json(), {"$ref": schema}, schemas, f"{verb} {path}")
        emu.advance(61)
        deployed = client.get(f"/{parent}/endpoints/spec-check").json()["deployedModels"][0]["id"]
        undeploying = client.post(f"/{parent}/endpoints/spec-check:undeployModel",
                                  json={"deployedModelId": deployed}).json()
        emu.advance(21)
        finished = client.get(f"/v1/{undeploying['name']}").json()
        assert finished["done"] is True
        deleted = client.delete(f"/{parent}/endpoints/spec-check")
        assert deleted.status_code == 200, deleted.text
        for answer in (undeploying, finished, deleted.json()):
            problems += _check(answer, {"$ref": "GoogleLongrunningOperation"}, schemas, "operation")
    assert problems == []


def test_the_create_request_the_adapter_previews_fits_the_tuning_job_schema(
    document: dict[str, Any], flow: tuple[Emulator, VertexProvider, dict[str, str]]
) -> None:
    _, vertex, _ = flow
    spec = JobSpec(model="gemini-2.5-flash", training_file="gs://b/t.jsonl", validation_file="gs://b/v.jsonl",
                   hyperparameters={"n_epochs": 2, "adapter_size": "ADAPTER_SIZE_FOUR"}, suffix="s",
                   metadata={RUN_KEY: "run-x"})
    body = vertex.preview_create(spec)["json"]
    body["supervisedTuningSpec"]["hyperParameters"]["epochCount"] = str(2)  # int64: a string on the wire
    assert _check(body, {"$ref": "GoogleCloudAiplatformV1TuningJob"}, document["schemas"], "create") == []


def test_the_checker_catches_a_field_the_schema_lacks(document: dict[str, Any]) -> None:
    schemas = document["schemas"]
    bad = {"name": "x", "state": "JOB_STATE_DONE", "tunedModel": {"model": "m", "url": "u"}}
    found = _check(bad, {"$ref": "GoogleCloudAiplatformV1TuningJob"}, schemas, "job")
    assert found == ["job.state: 'JOB_STATE_DONE' is not one of the enum's values",
                     "job.tunedModel.url: not a field of the schema"]


def test_every_tuning_job_state_of_the_document_has_a_status(document: dict[str, Any]) -> None:
    from ftclient.providers.base import JOB_STATUSES
    from ftclient.providers.vertex.wire import STATUSES

    states = document["schemas"]["GoogleCloudAiplatformV1TuningJob"]["properties"]["state"]["enum"]
    assert sorted(set(states) - set(STATUSES)) == ["JOB_STATE_UNSPECIFIED"]  # unspecified: "unknown"
    assert set(STATUSES) <= set(states) and set(STATUSES.values()) <= set(JOB_STATUSES)
