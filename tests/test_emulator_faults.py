"""Faults injected per route: statuses, latency, dropped connections, slow bodies, lost responses,
failing jobs; also the HTTP control endpoints and the configured failure rate."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx2
import openai
import pytest

from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread
from ftclient.emulator.samples import classification_examples, to_jsonl

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi."}]}


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with run_in_thread(EmulatorConfig(seed=3)) as running:
        yield running


@pytest.fixture
def http(emu: Emulator) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=emu.base_url, headers={"Authorization": "Bearer sk-test"}, timeout=5) as client:
        yield client


def test_status_faults_fire_the_given_number_of_times(emu: Emulator, http: httpx2.Client) -> None:
    emu.inject("POST /v1/chat/completions", "status_503", times=2)
    emu.inject("GET /v1/models", "status_500")
    assert [http.post("/chat/completions", json=CHAT).status_code for _ in range(3)] == [503, 503, 200]
    failed = http.get("/models")
    assert failed.status_code == 500 and failed.json()["error"]["type"] == "server_error"
    assert http.get("/files").status_code == 200  # other routes untouched
    emu.clear_faults()
    assert http.get("/models").status_code == 200
    stats = emu.stats()
    assert stats["requests"]["by_route"]["POST /v1/chat/completions"] == {"200": 1, "503": 2}
    assert stats["faults"]["fired"] == {"status_503": 2, "status_500": 1}


def test_sdk_retries_an_injected_429_using_retry_after(emu: Emulator) -> None:
    emu.inject("POST /v1/chat/completions", "status_429", times=1, retry_after_s=0.05)
    client = openai.OpenAI(base_url=emu.base_url, api_key="sk-test", max_retries=1)
    raw = client.chat.completions.with_raw_response.create(**CHAT)  # type: ignore[call-overload]
    assert raw.http_response.status_code == 200
    assert emu.stats()["requests"]["by_route"]["POST /v1/chat/completions"] == {"200": 1, "429": 1}


def test_injected_429_carries_retry_after_headers(emu: Emulator, http: httpx2.Client) -> None:
    emu.inject("*", "status_429", times=1, retry_after_s=2.5)
    refused = http.get("/models")
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "2" or refused.headers["retry-after"] == "3"
    assert refused.headers["retry-after-ms"] == "2500"
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"


def test_latency_with_jitter_delays_the_response(emu: Emulator, http: httpx2.Client) -> None:
    emu.inject("GET /v1/models", "latency", times=1, ms=150, jitter_ms=20)
    started = time.perf_counter()
    assert http.get("/models").status_code == 200
    assert 0.12 <= time.perf_counter() - started < 1.0
    assert int(http.get("/models").headers["openai-processing-ms"]) < 100


def test_drop_connection_is_a_transport_error(emu: Emulator, http: httpx2.Client) -> None:
    emu.inject("GET /v1/files/file-*", "drop_connection", times=1)
    with pytest.raises(httpx2.TransportError):
        http.get("/files/file-abc")
    assert http.get("/files/file-abc").status_code == 404
    assert emu.stats()["dropped_connections"] == 1


def test_slow_body_dribbles_the_response(emu: Emulator, http: httpx2.Client) -> None:
    emu.inject("GET /v1/models", "slow_body", times=1, seconds=0.3, chunks=3)
    started = time.perf_counter()
    response = http.get("/models")
    assert response.status_code == 200 and response.json()["object"] == "list"
    assert time.perf_counter() - started >= 0.25
    with pytest.raises(httpx2.ReadTimeout):
        emu.inject("GET /v1/models", "slow_body", times=1, seconds=0.6, chunks=2)
        http.get("/models", timeout=0.2)


def test_lost_response_after_commit_creates_the_job_anyway(emu: Emulator, http: httpx2.Client) -> None:
    file_id = http.post("/files", files={"file": ("t.jsonl", to_jsonl(classification_examples()))},
                        data={"purpose": "fine-tune"}).json()["id"]
    emu.inject("POST /v1/fine_tuning/jobs", "lose_response_after_commit", times=1)
    body = {"model": "gpt-4o-mini", "training_file": file_id, "metadata": {"ftclient_token": "t-1"}}
    with pytest.raises(httpx2.TransportError):
        http.post("/fine_tuning/jobs", json=body)
    found = http.get("/fine_tuning/jobs", params={"metadata[ftclient_token]": "t-1"}).json()["data"]
    assert len(found) == 1 and found[0]["training_file"] == file_id
    assert emu.stats()["jobs_created"] == 1


def test_fail_job_on_create_and_by_id(emu: Emulator, http: httpx2.Client) -> None:
    file_id = http.post("/files", files={"file": ("t.jsonl", to_jsonl(classification_examples()))},
                        data={"purpose": "fine-tune"}).json()["id"]
    emu.inject("POST /v1/fine_tuning/jobs", "fail_job", times=1, code="server_error", message="GPU fell over")
    doomed = http.post("/fine_tuning/jobs", json={"model": "gpt-4o-mini", "training_file": file_id}).json()
    healthy = http.post("/fine_tuning/jobs", json={"model": "gpt-4o-mini", "training_file": file_id}).json()
    emu.advance(45)  # both running
    emu.inject("*", "fail_job", job_id=healthy["id"], message="Preempted")
    emu.advance(10_000)
    first = http.get(f"/fine_tuning/jobs/{doomed['id']}").json()
    assert first["status"] == "failed"
    assert first["error"] == {"code": "server_error", "message": "GPU fell over", "param": None}
    assert first["fine_tuned_model"] is None
    second = http.get(f"/fine_tuning/jobs/{healthy['id']}").json()
    assert second["status"] == "failed" and second["error"]["message"] == "Preempted"
    with pytest.raises(ValueError, match="no fine-tuning job"):
        emu.inject("*", "fail_job", job_id="ftjob-nope")


def test_control_endpoints_over_http(emu: Emulator) -> None:
    with httpx2.Client(base_url=emu.url, timeout=5) as control:
        made = control.post("/_emulator/faults", json={"route": "GET /v1/models", "fault": "status_503", "times": 1})
        assert made.status_code == 200 and made.json()["fault"] == "status_503"
        assert control.get("/_emulator/faults").json()["faults"][0]["route"] == "GET /v1/models"
        bad = control.post("/_emulator/faults", json={"route": "GET /v1/models", "fault": "explode"})
        assert bad.status_code == 400 and "unknown fault" in bad.json()["error"]["message"]
        assert httpx2.get(f"{emu.base_url}/models", headers={"Authorization": "Bearer k"}).status_code == 503
        assert control.delete("/_emulator/faults").json() == {"cleared": True}
        before = emu.now()
        assert control.post("/_emulator/clock", json={"advance": 100}).json()["now"] >= before + 100
        stats = control.get("/_emulator/stats").json()
        assert stats["requests"]["by_route"]["GET /v1/models"] == {"503": 1}
        assert "emulator" in stats["emulator"]["banner"]


def test_configured_fail_rate_and_latency() -> None:
    with run_in_thread(EmulatorConfig(fail_rate=0.5, latency_ms=20, seed=1)) as emu:
        with httpx2.Client(base_url=emu.base_url, headers={"Authorization": "Bearer k"}) as http:
            started = time.perf_counter()
            statuses = [http.get("/models").status_code for _ in range(20)]
            assert time.perf_counter() - started >= 0.4
        assert 3 <= statuses.count(500) <= 17 and statuses.count(200) + statuses.count(500) == 20


def test_missing_key_is_401_and_unknown_path_404(emu: Emulator) -> None:
    anonymous = httpx2.get(f"{emu.base_url}/models")
    assert anonymous.status_code == 401 and "API key" in anonymous.json()["error"]["message"]
    empty = httpx2.get(f"{emu.base_url}/models", headers={"Authorization": "Bearer"})
    assert empty.status_code == 401
    missing = httpx2.get(f"{emu.base_url}/nothing/here", headers={"Authorization": "Bearer k"})
    assert missing.status_code == 404 and missing.json()["error"]["message"] == "Invalid URL (GET /v1/nothing/here)"


def test_bad_fault_requests_are_refused() -> None:
    from ftclient.emulator.faults import make_fault

    with pytest.raises(ValueError, match="route must look like"):
        make_fault("chat", "status_500")
    with pytest.raises(ValueError, match="times"):
        make_fault("*", "status_500", times=0)
