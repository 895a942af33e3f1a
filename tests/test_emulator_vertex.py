"""The emulator's vertex dialect over raw HTTP: Cloud Storage's upload protocols and checksums, Google's error
shape, the tuning-job list filter and pages, endpoint rules, rate limits; and the Vertex facts the client and
the emulator each keep, compared with the published source."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from ftclient import pricing
from ftclient.dataset.rules_vertex import VertexRuleSet
from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread
from ftclient.emulator.vertex import catalog
from ftclient.emulator.vertex.storage import crc32c

PARENT = "/v1/projects/p/locations/us-central1"
LINE = json.dumps({"contents": [{"role": "user", "parts": [{"text": "q"}]},
                                {"role": "model", "parts": [{"text": "a"}]}]})

# cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-tuning, "Limitations" (read 2026-12-03)
PUBLISHED_MAX_EXAMPLE_TOKENS = {"gemini-2.5-flash": 131_072, "gemini-2.5-flash-lite": 131_072}
PUBLISHED_MAX_FILE_BYTES = 1024**3  # "1GB for JSONL"
PUBLISHED_MAX_EXAMPLES = 1_000_000  # "1M text-only examples"


def test_vertex_facts_match_the_published_limits_in_both_copies() -> None:
    for model, tokens in PUBLISHED_MAX_EXAMPLE_TOKENS.items():
        assert pricing.model_limits("vertex", model).max_tokens_per_example == tokens
        assert catalog.TUNABLE[model]["max_example_tokens"] == tokens
    assert sorted(pricing.known_models("vertex")) == sorted(catalog.TUNABLE)
    assert VertexRuleSet.max_file_bytes == catalog.MAX_FILE_BYTES == PUBLISHED_MAX_FILE_BYTES
    assert VertexRuleSet.max_examples == catalog.MAX_TRAINING_EXAMPLES == PUBLISHED_MAX_EXAMPLES


def test_crc32c_is_castagnoli() -> None:
    assert crc32c(b"123456789") == 0xE3069283  # the check value of CRC-32C (RFC 3720, B.4)
    assert crc32c(b"") == 0


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with run_in_thread(EmulatorConfig(provider="vertex", speed=1.0, seed=3, rpm=600)) as running:
        yield running


@pytest.fixture
def http(emu: Emulator) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=emu.url) as client:
        yield client


def _error(response: Any, status: int, word: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert body["code"] == status and body["status"] == word
    return str(body["message"])


def test_resumable_upload_in_chunks_then_download_with_checksums(http: httpx2.Client) -> None:
    data = b"0123456789abcdefghij"
    start = http.post("/upload/storage/v1/b/bk/o", params={"uploadType": "resumable"}, json={"name": "r.jsonl"})
    session = start.headers["location"]
    first = http.put(session, content=data[:10], headers={"content-range": "bytes 0-9/20"})
    assert first.status_code == 308 and first.headers["range"] == "bytes=0-9"
    wrong = http.put(session, content=data[5:], headers={"content-range": "bytes 5-19/20"})
    _error(wrong, 400, "INVALID_ARGUMENT")
    done = http.put(session, content=data[10:], headers={"content-range": "bytes 10-19/20"})
    meta = done.json()
    assert done.status_code == 200 and meta["size"] == "20"
    assert meta["crc32c"] == base64.b64encode(crc32c(data).to_bytes(4, "big")).decode()
    got = http.get("/download/storage/v1/b/bk/o/r.jsonl", params={"alt": "media"})
    assert got.content == data and f"crc32c={meta['crc32c']}" in got.headers["x-goog-hash"]
    assert http.get("/storage/v1/b/bk/o/r.jsonl").json()["md5Hash"] == meta["md5Hash"]
    assert [o["name"] for o in http.get("/storage/v1/b/bk/o", params={"prefix": "r."}).json()["items"]] == ["r.jsonl"]


def test_create_only_uploads_and_checksums_are_enforced(http: httpx2.Client) -> None:
    once = {"uploadType": "media", "name": "once.jsonl", "ifGenerationMatch": "0"}
    assert http.post("/upload/storage/v1/b/bk/o", params=once, content=b"x").status_code == 200
    again = http.post("/upload/storage/v1/b/bk/o", params=once, content=b"y")
    assert again.status_code == 412
    assert http.get("/download/storage/v1/b/bk/o/once.jsonl").content == b"x"
    boundary = "b1"
    body = (f"--{boundary}\r\ncontent-type: application/json\r\n\r\n"
            + json.dumps({"name": "m.jsonl", "md5Hash": "AAAAAAAAAAAAAAAAAAAAAA=="})
            + f"\r\n--{boundary}\r\ncontent-type: text/plain\r\n\r\nhello\r\n--{boundary}--\r\n").encode()
    bad = http.post("/upload/storage/v1/b/bk/o", params={"uploadType": "multipart"}, content=body,
                    headers={"content-type": f"multipart/related; boundary={boundary}"})
    assert "md5Hash" in _error(bad, 400, "INVALID_ARGUMENT")
    _error(http.get("/storage/v1/b/bk/o/none.jsonl"), 404, "NOT_FOUND")


def test_jobs_are_refused_listed_filtered_and_paged(http: httpx2.Client, emu: Emulator) -> None:
    http.post("/upload/storage/v1/b/bk/o", params={"uploadType": "media", "name": "t.jsonl"},
              content=(LINE + "\n").encode() * 4)
    refused = http.post(f"{PARENT}/tuningJobs", json={"baseModel": "gpt-4o",
                                                      "supervisedTuningSpec": {"trainingDatasetUri": "gs://bk/t.jsonl"}})
    assert "not supported for tuning" in _error(refused, 400, "INVALID_ARGUMENT")
    names = []
    for run in ("a", "b", "c"):
        made = http.post(f"{PARENT}/tuningJobs", json={
            "baseModel": "gemini-2.5-flash", "labels": {"ftclient_run": run},
            "supervisedTuningSpec": {"trainingDatasetUri": "gs://bk/t.jsonl"}})
        names.append(made.json()["name"])
    only = http.get(f"{PARENT}/tuningJobs", params={"filter": 'labels.ftclient_run="b"'}).json()
    assert [j["name"] for j in only["tuningJobs"]] == [names[1]]
    page = http.get(f"{PARENT}/tuningJobs", params={"pageSize": 2}).json()
    rest = http.get(f"{PARENT}/tuningJobs", params={"pageSize": 2, "pageToken": page["nextPageToken"]}).json()
    assert len(page["tuningJobs"]) == 2 and "nextPageToken" not in rest
    assert {j["name"] for j in page["tuningJobs"] + rest["tuningJobs"]} >= set(names)
    emu.advance(100)
    job = http.get(f"/v1/{names[0]}").json()
    assert job["state"] == "JOB_STATE_SUCCEEDED"
    assert job["supervisedTuningSpec"]["hyperParameters"]["epochCount"] == str(catalog.DEFAULT_EPOCHS)
    endpoint = job["tunedModel"]["endpoint"]
    assert http.get(f"/v1/{endpoint}").json()["labels"] == {"ftclient_run": "a"}
    assert "undeploy them" in _error(http.delete(f"/v1/{endpoint}"), 400, "FAILED_PRECONDITION")
    deployed = http.get(f"/v1/{endpoint}").json()["deployedModels"][0]["id"]
    operation = http.post(f"/v1/{endpoint}:undeployModel", json={"deployedModelId": deployed}).json()
    assert operation["done"] is False
    ask = {"contents": [{"role": "user", "parts": [{"text": "q"}]}]}
    assert http.post(f"/v1/{endpoint}:generateContent", json=ask).status_code == 200  # serves until undeployed
    _error(http.delete(f"/v1/{endpoint}"), 400, "FAILED_PRECONDITION")
    emu.advance(21)
    assert http.get(f"/v1/{operation['name']}").json()["done"] is True
    _error(http.post(f"/v1/{endpoint}:generateContent", json=ask), 400, "FAILED_PRECONDITION")
    assert http.delete(f"/v1/{endpoint}").status_code == 200
    _error(http.get(f"/v1/{endpoint}"), 404, "NOT_FOUND")


def test_generate_content_is_rate_limited_per_model(http: httpx2.Client) -> None:
    ask = {"contents": [{"role": "user", "parts": [{"text": "hello"}]}]}
    url = f"{PARENT}/publishers/google/models/gemini-2.5-flash-lite:generateContent"
    answers = [http.post(url, json=ask) for _ in range(15)]  # 600 rpm: 10 a second
    assert answers[0].status_code == 200 and answers[0].json()["candidates"][0]["content"]["role"] == "model"
    limited = [a for a in answers if a.status_code == 429]
    assert limited and limited[0].json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    _error(http.post(f"{PARENT}/publishers/google/models/nope:generateContent", json=ask), 404, "NOT_FOUND")
