"""ftclient's own adapters through recorded exchanges: recorded on both dialects, scrubbed, replayed, and a
changed request caught by the replay server."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from ftclient.emulator.replay import ReplayError, ReplayServer
from ftclient.errors import InvalidRequestError
from ftclient.providers.recording import REQUEST_HEADERS, RESPONSE_HEADERS
from tests.replay_flows import RECORDED, TRAIN, make_provider, record, run_flow

DIALECTS = ["openai", "together"]
CANARY_KEY = f"sk-proj-CANARY{secrets.token_hex(12)}"
CANARY_ORG = f"org-CANARY{secrets.token_hex(6)}"
CANARY_PROJECT = f"proj_CANARY{secrets.token_hex(6)}"


def no_wait(_: float) -> None:
    """A replay has no clock to move."""


def replay(dialect: str, cassette: Path | dict[str, Any], train: Path = TRAIN, epochs: int = 2) -> dict[str, Any]:
    with ReplayServer(cassette) as server:
        provider = make_provider(dialect, server.base_url, "sk-replay")
        try:
            return run_flow(dialect, provider, train, no_wait, epochs=epochs)
        finally:
            provider.close()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_recorded_cassette_replays_through_the_adapter(dialect: str) -> None:
    cassette = RECORDED / f"{dialect}-adapter-flow.json"
    document = json.loads(cassette.read_text(encoding="utf-8"))
    assert document["kind"] == "recorded" and "not the live API" in document["recorded_against"]
    summary = replay(dialect, cassette)
    assert summary["created"] == "validating_files" and summary["running"] == "running"
    if dialect == "together":
        # Together answers a cancel with cancel_requested: the job still runs (and bills) until it stops.
        assert (summary["cancelled"], summary["cancelled_raw"]) == ("running", "cancel_requested")
    else:
        assert summary["cancelled"] == "cancelled"
    assert summary["job"] in summary["listed"]
    assert summary["bytes"] == TRAIN.stat().st_size and summary["answer"] == "billing"
    assert summary["events"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_recording_either_dialect_through_the_adapter_is_scrubbed_and_replays(dialect: str, tmp_path: Path) -> None:
    cassette = tmp_path / f"{dialect}.json"
    if dialect == "openai":
        live = record(dialect, cassette, key=CANARY_KEY, organization=CANARY_ORG, project=CANARY_PROJECT)
    else:
        live = record(dialect, cassette, key=CANARY_KEY)
    text = cassette.read_text(encoding="utf-8")
    for canary in (CANARY_KEY, CANARY_ORG, CANARY_PROJECT, "CANARY", "Bearer", "authorization", "user-agent"):
        assert canary not in text
    interactions = json.loads(text)["interactions"]
    for interaction in interactions:
        assert set(interaction["request"]["headers"]) <= REQUEST_HEADERS
        assert set(interaction["response"]["headers"]) <= RESPONSE_HEADERS
        assert "openai-organization" not in interaction["response"]["headers"]
    request_ids = [i["response"]["headers"]["x-request-id"] for i in interactions]
    assert request_ids == [f"req_recorded_{n}" for n in range(1, len(interactions) + 1)]  # all distinct upstream
    upload = interactions[0]["request"]["body"]
    if dialect == "openai":
        fields = {field["name"]: field for field in upload["multipart"]}
        assert fields["file"]["sha256"] and fields["file"]["bytes"] == TRAIN.stat().st_size
    else:
        assert upload["form"]["file_name"] == ["train.jsonl"]
        location = interactions[0]["response"]["headers"]["location"]
        assert location.endswith("?X-Emulator-Signature=REDACTED")  # the signed URL's signature is gone
        assert interactions[1]["request"]["query"] == "X-Emulator-Signature=REDACTED"
        assert interactions[1]["request"]["body"]["bytes"] == TRAIN.stat().st_size
    # what was recorded replays through a fresh adapter with the same results
    assert replay(dialect, cassette) == live


def test_a_changed_job_request_fails_the_replay_naming_the_field() -> None:
    cassette = RECORDED / "openai-adapter-flow.json"
    with pytest.raises(ReplayError) as failed, ReplayServer(cassette) as server:
        provider = make_provider("openai", server.base_url, "sk-replay")
        with pytest.raises(InvalidRequestError) as refused:
            run_flow("openai", provider, TRAIN, no_wait, epochs=3)
        provider.close()
    difference = "$.method.supervised.hyperparameters.n_epochs: recorded 2, sent 3"
    assert "request body of POST /v1/fine_tuning/jobs differs from interaction #2 of 8" in str(refused.value)
    assert difference in str(refused.value)
    assert difference in str(failed.value)
    assert "record the cassette again: python fixtures/recorded/record.py" in str(failed.value)


@pytest.mark.parametrize(("dialect", "says"), [
    ("openai", "request body of POST /v1/files differs from interaction #1 of 8: multipart field 'file': "
               "content SHA-256 recorded"),
    ("together", "differs from interaction #2 of 13: the body's SHA-256 differs: recorded"),
])
def test_a_changed_training_file_fails_the_replay(dialect: str, says: str, tmp_path: Path) -> None:
    changed = tmp_path / "train.jsonl"
    changed.write_bytes(TRAIN.read_bytes().replace(b"billing", b"billinG", 1))
    with pytest.raises(ReplayError, match="never requested") as failed, \
            ReplayServer(RECORDED / f"{dialect}-adapter-flow.json") as server:
        provider = make_provider(dialect, server.base_url, "sk-replay")
        with pytest.raises(InvalidRequestError):
            run_flow(dialect, provider, changed, no_wait)
        provider.close()
    assert says in str(failed.value)
    assert f"({TRAIN.stat().st_size} bytes)" in str(failed.value)


def test_json_bodies_match_by_meaning_and_redacted_values_match_anything() -> None:
    from ftclient.emulator.replay import body_difference, json_difference

    recorded = {"json": {"model": "m", "metadata": {"api_key": "REDACTED"}, "n": 1, "note": "key sk-REDACTED here"}}
    sent = b'{"note": "key sk-abc123456789 here", "n": 1.0, "metadata": {"api_key": "anything"}, "model": "m"}'
    assert body_difference(recorded, "application/json", sent) is None
    assert body_difference(recorded, "application/json", sent.replace(b'"m"', b'"m2"')) == (
        "$.model: recorded 'm', sent 'm2'")
    assert json_difference({"a": [1, 2]}, {"a": [1, 2, 3]}) == "$.a: 2 item(s) recorded, 3 sent"
    assert json_difference({"a": 1}, {"a": 1, "b": True}) == "$: field 'b' was sent but not recorded (value true)"
    assert json_difference({"a": True}, {"a": 1}) == "$.a: recorded true, sent 1"
    assert body_difference(None, "application/json", b"whatever") is None  # documentation examples: not matched
    assert body_difference({}, "", b"x") == "no body was recorded, 1 bytes were sent"
