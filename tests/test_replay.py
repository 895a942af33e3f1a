"""The strict replay server: seed cassettes through the real SDK; unexpected and unused interactions fail."""

from __future__ import annotations

import openai
import pytest

from ftclient.emulator.replay import ReplayError, ReplayServer
from tests.conftest import FIXTURES

FINETUNE = FIXTURES / "cassettes" / "openai-finetune-flow.json"
BATCH = FIXTURES / "cassettes" / "openai-batch-flow.json"


def _finetune_flow(client: openai.OpenAI) -> None:
    uploaded = client.files.create(file=("mydata.jsonl", b'{"messages": []}\n'), purpose="fine-tune")
    assert uploaded.id == "file-abc123"
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=uploaded.id)
    assert job.id == "ftjob-abc123" and job.status == "queued"
    done = client.fine_tuning.jobs.retrieve(job.id)
    assert done.status == "succeeded" and done.fine_tuned_model == "ft:davinci-002:my-org:custom_suffix:7q8mpxmy"
    events = client.fine_tuning.jobs.list_events(job.id)
    assert events.data[0].message == "Fine tuning job successfully completed"
    checkpoints = client.fine_tuning.jobs.checkpoints.list(job.id)
    assert checkpoints.data[0].step_number == 2000
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello!"}])
    assert answer.choices[0].message.content == "Hello! How can I assist you today?"


def test_seed_cassette_replays_through_the_real_sdk() -> None:
    with ReplayServer(FINETUNE) as replay:
        _finetune_flow(openai.OpenAI(base_url=replay.base_url, api_key="sk-test", max_retries=0))
    assert replay.position == 6


def test_batch_cassette_replays() -> None:
    with ReplayServer(BATCH) as replay:
        client = openai.OpenAI(base_url=replay.base_url, api_key="sk-test", max_retries=0)
        file_id = client.files.create(file=("in.jsonl", b"{}\n"), purpose="batch").id
        batch = client.batches.create(input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h")
        assert client.batches.retrieve(batch.id).status == "completed"


def test_an_extra_request_fails_naming_what_was_expected() -> None:
    with pytest.raises(ReplayError) as failed, ReplayServer(FINETUNE) as replay:
        client = openai.OpenAI(base_url=replay.base_url, api_key="sk-test", max_retries=0)
        _finetune_flow(client)
        with pytest.raises(openai.BadRequestError) as refused:
            client.models.list()
        assert "unexpected request GET /v1/models" in refused.value.message
        assert "the last was POST /v1/chat/completions" in refused.value.message
        assert "expected no more requests" in refused.value.message
    assert "unexpected request GET /v1/models" in str(failed.value)


def test_a_request_out_of_order_names_the_expected_interaction() -> None:
    with pytest.raises(ReplayError) as failed, ReplayServer(FINETUNE) as replay:
        client = openai.OpenAI(base_url=replay.base_url, api_key="sk-test", max_retries=0)
        with pytest.raises(openai.BadRequestError, match=r"expected interaction #1 of 6, POST /v1/files"):
            client.fine_tuning.jobs.retrieve("ftjob-abc123")
    message = str(failed.value)
    assert "unexpected request GET /v1/fine_tuning/jobs/ftjob-abc123" in message
    assert "6 recorded interaction(s) never requested: #1 POST /v1/files" in message


def test_unused_interactions_fail_on_exit() -> None:
    with pytest.raises(ReplayError, match=r"never requested: #3 GET /v1/fine_tuning/jobs/ftjob-abc123"), \
            ReplayServer(FINETUNE) as replay:
        client = openai.OpenAI(base_url=replay.base_url, api_key="sk-test", max_retries=0)
        client.files.create(file=("mydata.jsonl", b"{}\n"), purpose="fine-tune")
        client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file="file-abc123")


def test_query_parameters_are_part_of_the_match() -> None:
    cassette = {"interactions": [{
        "request": {"method": "GET", "path": "/v1/fine_tuning/jobs", "query": "limit=2"},
        "response": {"status": 200, "headers": {}, "body": {"json": {"object": "list", "data": [], "has_more": False}}},
    }]}
    with pytest.raises(ReplayError, match=r"expected interaction #1 of 1, GET /v1/fine_tuning/jobs\?limit=2"), \
            ReplayServer(cassette) as replay:
        client = openai.OpenAI(base_url=replay.base_url, api_key="sk-test", max_retries=0)
        with pytest.raises(openai.BadRequestError):
            client.fine_tuning.jobs.list(limit=3)
        assert client.fine_tuning.jobs.list(limit=2).data == []
