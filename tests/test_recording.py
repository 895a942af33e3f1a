"""The recorder: real traffic (here, the emulator's) into a cassette, with no secret left in it."""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path

import httpx2
import openai
import pytest

from ftclient.emulator import EmulatorConfig, run_in_thread
from ftclient.emulator.replay import ReplayServer
from ftclient.emulator.samples import SYSTEM_PROMPT, classification_examples, to_jsonl
from ftclient.providers.recording import (
    AsyncRecordingTransport,
    RecordingTransport,
    Scrubber,
    async_recording_transport,
    recording_transport,
)

CANARY_KEY = f"sk-proj-CANARY{secrets.token_hex(12)}"
CANARY_ORG = f"org-CANARY{secrets.token_hex(6)}"
CANARY_PROJECT = f"proj_CANARY{secrets.token_hex(6)}"


def _flow(client: openai.OpenAI) -> str:
    records = classification_examples()
    # a user pasting a key into their data must not leak it either
    records[0]["messages"][1]["content"] = f"my key {CANARY_KEY} stopped working"
    file_id = client.files.create(file=("train.jsonl", to_jsonl(records)), purpose="fine-tune").id
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id, metadata={"api_key": CANARY_KEY})
    client.fine_tuning.jobs.retrieve(job.id)
    client.chat.completions.create(model="gpt-4o-mini", messages=[
        {"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": f"Bearer {CANARY_KEY}"}])
    return job.id


def test_recording_with_a_canary_key_leaves_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_ORG_ID", CANARY_ORG)
    cassette = tmp_path / "recorded.json"
    with run_in_thread(EmulatorConfig(speed=1000)) as emu:
        transport = RecordingTransport(httpx2.HTTPTransport(), cassette)
        with httpx2.Client(transport=transport) as http:
            client = openai.OpenAI(base_url=emu.base_url, api_key=CANARY_KEY, organization=CANARY_ORG,
                                   project=CANARY_PROJECT, max_retries=0, http_client=http)
            job_id = _flow(client)
    text = cassette.read_text(encoding="utf-8")
    for canary in (CANARY_KEY, CANARY_ORG, CANARY_PROJECT, CANARY_KEY[10:30], "CANARY"):
        assert canary not in text
    document = json.loads(text)
    assert document["format"] == "ftclient-cassette/1"
    interactions = document["interactions"]
    assert [i["request"]["method"] + " " + i["request"]["path"] for i in interactions] == [
        "POST /v1/files", "POST /v1/fine_tuning/jobs", f"GET /v1/fine_tuning/jobs/{job_id}",
        "POST /v1/chat/completions",
    ]
    for interaction in interactions:
        assert set(interaction["request"]["headers"]) <= {"content-type", "accept", "openai-beta",
                                                          "x-stainless-retry-count"}
        assert "openai-organization" not in interaction["response"]["headers"]
        assert interaction["response"]["headers"]["x-request-id"].startswith("req_recorded_")
    assert interactions[1]["request"]["body"]["json"]["metadata"] == {"api_key": "REDACTED"}
    assert interactions[1]["response"]["body"]["json"]["status"] == "validating_files"
    assert "my key REDACTED stopped working" in interactions[0]["request"]["body"]["text"]
    assert interactions[3]["response"]["body"]["json"]["usage"]["prompt_tokens"] > 0

    # what was recorded replays through the real SDK
    with ReplayServer(cassette) as replay:
        assert _flow(openai.OpenAI(base_url=replay.base_url, api_key="sk-test", max_retries=0)) == job_id


def test_async_recording(tmp_path: Path) -> None:
    cassette = tmp_path / "async.json"

    async def run(base_url: str) -> None:
        transport = AsyncRecordingTransport(httpx2.AsyncHTTPTransport(), cassette)
        async with httpx2.AsyncClient(transport=transport) as http:
            client = openai.AsyncOpenAI(base_url=base_url, api_key=CANARY_KEY, max_retries=0, http_client=http)
            await client.models.list()

    with run_in_thread(EmulatorConfig()) as emu:
        asyncio.run(run(emu.base_url))
    text = cassette.read_text(encoding="utf-8")
    assert CANARY_KEY not in text and '"GET"' in text and "gpt-4o-mini-2024-07-18" in text


def test_the_record_switch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert recording_transport() is None and async_recording_transport() is None
    monkeypatch.setenv("FTCLIENT_RECORD", str(tmp_path / "c.json"))
    made = recording_transport()
    assert isinstance(made, RecordingTransport) and made.cassette.path == tmp_path / "c.json"
    assert isinstance(async_recording_transport(), AsyncRecordingTransport)


def test_scrubber_patterns() -> None:
    scrub = Scrubber(["my-literal-secret"])
    assert scrub.text("key sk-abcdefghijkl and my-literal-secret") == "key sk-REDACTED and REDACTED"
    assert scrub.text("Authorization: Bearer abc.def-ghi") == "Authorization: Bearer REDACTED"
    assert scrub.text("org-AbCdEf123456 / proj_AbCdEf123456") == "org-REDACTED / proj_REDACTED"
    assert scrub.data({"password": "hunter2", "usage": {"prompt_tokens": 3}, "token": "Hi"}) == {
        "password": "REDACTED", "usage": {"prompt_tokens": 3}, "token": "Hi"}


def test_the_openai_adapter_records_when_switched_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """End to end: FTCLIENT_RECORD set, a canary key in the environment, ftclient's own OpenAI adapter."""
    from ftclient.providers.base import ChatRequest
    from ftclient.providers.openai import OpenAIProvider

    cassette = tmp_path / "adapter.json"
    with run_in_thread(EmulatorConfig(speed=1000)) as emu:
        monkeypatch.setenv("FTCLIENT_RECORD", str(cassette))
        monkeypatch.setenv("OPENAI_API_KEY", CANARY_KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", emu.base_url)
        monkeypatch.setenv("OPENAI_ORG_ID", CANARY_ORG)
        monkeypatch.setenv("OPENAI_PROJECT_ID", CANARY_PROJECT)
        provider = OpenAIProvider.from_settings()

        async def ask() -> str:
            try:
                answer = await provider.chat(ChatRequest(model="gpt-4o-mini", messages=[
                    {"role": "user", "content": "Hello there. Bye."}]))
            finally:
                await provider.aclose()
            return answer.text

        try:
            provider.list_jobs()
            text_answer = asyncio.run(ask())
        finally:
            provider.close()
    assert text_answer == "Hello there."
    text = cassette.read_text(encoding="utf-8")
    assert "CANARY" not in text
    paths = [i["request"]["path"] for i in json.loads(text)["interactions"]]
    assert paths == ["/v1/fine_tuning/jobs", "/v1/chat/completions"]
