"""The fine-tuning flow through the official openai SDK against the emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator

import openai
import pytest

from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread
from ftclient.emulator.samples import SYSTEM_PROMPT, chat_example, classification_examples, to_jsonl


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with run_in_thread(EmulatorConfig(speed=1.0, seed=7)) as running:
        yield running


@pytest.fixture
def client(emu: Emulator) -> openai.OpenAI:
    return openai.OpenAI(base_url=emu.base_url, api_key="sk-test", max_retries=0)


def upload(client: openai.OpenAI, records: list[dict[str, object]] | bytes, name: str = "train.jsonl") -> str:
    data = records if isinstance(records, bytes) else to_jsonl(records)
    return client.files.create(file=(name, data), purpose="fine-tune").id


def test_sdk_flow_upload_create_events_succeed_and_answer(emu: Emulator, client: openai.OpenAI) -> None:
    file_id = upload(client, classification_examples())
    job = client.fine_tuning.jobs.create(
        model="gpt-4o-mini-2024-07-18", training_file=file_id, suffix="tickets", seed=42,
        metadata={"ftclient_run": "r-1"},
        method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 2}}},
    )
    assert job.status == "validating_files"
    assert job.fine_tuned_model is None and job.seed == 42

    emu.advance(15)
    assert client.fine_tuning.jobs.retrieve(job.id).status == "queued"
    emu.advance(25)
    running = client.fine_tuning.jobs.retrieve(job.id)
    assert running.status == "running"
    assert running.estimated_finish is not None and running.estimated_finish > running.created_at
    assert running.hyperparameters.n_epochs == 2 and running.hyperparameters.batch_size == 1

    emu.advance(10_000)
    done = client.fine_tuning.jobs.retrieve(job.id)
    assert done.status == "succeeded"
    assert done.fine_tuned_model is not None
    assert done.fine_tuned_model.startswith("ft:gpt-4o-mini-2024-07-18:ftclient-emulator:tickets:")
    assert len(done.fine_tuned_model.rsplit(":", 1)[1]) == 8
    assert done.trained_tokens and done.trained_tokens > 0 and done.finished_at
    assert done.estimated_finish is None

    events = list(client.fine_tuning.jobs.list_events(job.id))  # auto-paginates, newest first
    assert events[0].message == "The job has successfully completed"
    assert [e.created_at for e in events] == sorted((e.created_at for e in events), reverse=True)
    metrics = [e for e in events if e.type == "metrics"]
    assert len(metrics) == 36  # 18 examples x 2 epochs at batch size 1
    last = metrics[0].data
    assert last is not None and last["step"] == 36 and last["total_steps"] == 36
    assert {"train_loss", "train_mean_token_accuracy"} <= set(last)
    assert metrics[-1].data["train_loss"] > last["train_loss"]  # it learns

    checkpoints = client.fine_tuning.jobs.checkpoints.list(job.id).data
    assert [c.step_number for c in checkpoints] == [36, 18]
    assert checkpoints[0].fine_tuned_model_checkpoint == f"{done.fine_tuned_model}:ckpt-step-36"

    csv_text = __import__("base64").b64decode(client.files.content(done.result_files[0]).read()).decode()
    assert csv_text.splitlines()[0] == "step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy"
    assert len(csv_text.splitlines()) == 37

    question = [{"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": "I need to reset my password please"}]
    tuned = client.chat.completions.create(model=done.fine_tuned_model, messages=question)  # type: ignore[arg-type]
    assert tuned.choices[0].message.content == "account"
    assert tuned.model == done.fine_tuned_model
    assert tuned.system_fingerprint == "fp_ftclient_emulator"
    assert tuned.usage is not None and tuned.usage.prompt_tokens > 10 and tuned.usage.completion_tokens == 1
    checkpoint_answer = client.chat.completions.create(
        model=checkpoints[1].fine_tuned_model_checkpoint, messages=question)  # type: ignore[arg-type]
    assert checkpoint_answer.choices[0].message.content == "account"
    assert [j.id for j in client.fine_tuning.jobs.list(metadata={"ftclient_run": "r-1"})] == [job.id]
    assert list(client.fine_tuning.jobs.list(metadata={"ftclient_run": "other"})) == []

    stats = emu.stats()
    assert stats["jobs_created"] == 1 and stats["completions"] == 2
    assert stats["requests"]["by_route"]["POST /v1/fine_tuning/jobs"] == {"200": 1}


def test_bad_training_file_fails_the_job_with_a_meaningful_error(emu: Emulator, client: openai.OpenAI) -> None:
    records: list[dict[str, object]] = list(classification_examples())
    records[4] = {"messages": [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": "hello"}]}
    file_id = upload(client, records)
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=file_id)
    emu.advance(11)
    failed = client.fine_tuning.jobs.retrieve(job.id)
    assert failed.status == "failed"
    assert failed.error is not None
    assert failed.error.code == "invalid_training_file"
    assert failed.error.param == "training_file"
    assert "Line 5" in failed.error.message and "assistant" in failed.error.message
    assert failed.fine_tuned_model is None
    events = client.fine_tuning.jobs.list_events(job.id).data
    assert events[0].message == "The job failed" and events[1].level == "error"
    emu.advance(10_000)
    assert client.fine_tuning.jobs.retrieve(job.id).status == "failed"


def test_too_few_examples_fail_validation(emu: Emulator, client: openai.OpenAI) -> None:
    file_id = upload(client, classification_examples()[:3])
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id)
    emu.advance(11)
    failed = client.fine_tuning.jobs.retrieve(job.id)
    assert failed.status == "failed" and failed.error is not None
    assert "at least 10" in failed.error.message


def test_create_checks_parameters_like_openai(client: openai.OpenAI) -> None:
    file_id = upload(client, classification_examples())
    cases = [
        ({"model": "gpt-4o-mini", "training_file": file_id, "method": {"type": "supervised", "supervised": {
            "hyperparameters": {"n_epochs": 51}}}}, "hyperparameters.n_epochs"),
        ({"model": "gpt-4o-mini", "training_file": file_id, "method": {"type": "supervised", "supervised": {
            "hyperparameters": {"batch_size": 0}}}}, "hyperparameters.batch_size"),
        ({"model": "gpt-4o-mini", "training_file": file_id, "method": {"type": "supervised", "supervised": {
            "hyperparameters": {"learning_rate_multiplier": 0}}}}, "hyperparameters.learning_rate_multiplier"),
        ({"model": "gpt-4o-mini", "training_file": file_id, "suffix": "x" * 65}, "suffix"),
        ({"model": "gpt-4o-mini", "training_file": file_id, "seed": -1}, "seed"),
        ({"model": "gpt-4o-mini", "training_file": file_id, "metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
        ({"model": "gpt-9-imaginary", "training_file": file_id}, "model"),
        ({"model": "gpt-4o-mini", "training_file": "file-doesnotexist"}, "training_file"),
    ]
    for kwargs, param in cases:
        with pytest.raises(openai.BadRequestError) as caught:
            client.fine_tuning.jobs.create(**kwargs)  # type: ignore[arg-type]
        body = caught.value.body
        assert isinstance(body, dict) and body["param"] == param, (kwargs, body)
        assert set(caught.value.response.json()["error"]) == {"message", "type", "param", "code"}


def test_dpo_needs_a_model_that_supports_it(client: openai.OpenAI) -> None:
    file_id = upload(client, classification_examples())
    with pytest.raises(openai.BadRequestError, match="does not support the dpo method"):
        client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id, method={"type": "dpo"})


def test_cancel_pause_resume(emu: Emulator, client: openai.OpenAI) -> None:
    file_id = upload(client, classification_examples())
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id)
    with pytest.raises(openai.BadRequestError, match="Only a running job can be paused"):
        client.fine_tuning.jobs.pause(job.id)
    emu.advance(31)
    assert client.fine_tuning.jobs.retrieve(job.id).status == "running"
    emu.advance(3 * 5)
    paused = client.fine_tuning.jobs.pause(job.id)
    assert paused.status == "pausing"
    emu.advance(6)
    assert client.fine_tuning.jobs.retrieve(job.id).status == "paused"
    steps_before = _last_step(client, job.id)
    emu.advance(600)
    assert _last_step(client, job.id) == steps_before  # nothing trains while paused
    resumed = client.fine_tuning.jobs.resume(job.id)
    assert resumed.status == "running"
    emu.advance(9)
    assert _last_step(client, job.id) == steps_before + 3
    cancelled = client.fine_tuning.jobs.cancel(job.id)
    assert cancelled.status == "cancelled"
    emu.advance(10_000)
    assert client.fine_tuning.jobs.retrieve(job.id).status == "cancelled"
    with pytest.raises(openai.BadRequestError, match="already completed"):
        client.fine_tuning.jobs.cancel(job.id)


def _last_step(client: openai.OpenAI, job_id: str) -> int:
    for event in client.fine_tuning.jobs.list_events(job_id, limit=50).data:
        if event.type == "metrics" and event.data:
            return int(event.data["step"])
    return 0


def test_validation_file_adds_validation_metrics(emu: Emulator, client: openai.OpenAI) -> None:
    train = upload(client, classification_examples())
    valid_records = [chat_example(f"My card was charged {n} times", "billing") for n in range(10)]
    valid = upload(client, valid_records, "valid.jsonl")
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=train, validation_file=valid,
                                         method={"type": "supervised", "supervised": {"hyperparameters": {
                                             "n_epochs": 1}}})
    emu.advance(10_000)
    events = client.fine_tuning.jobs.list_events(job.id, limit=100).data
    epoch_end = next(e for e in events if e.type == "metrics" and e.data and e.data["step"] == 18)
    assert epoch_end.data is not None
    assert {"valid_loss", "valid_mean_token_accuracy", "full_valid_loss"} <= set(epoch_end.data)
    assert "validation loss=" in epoch_end.message


def test_event_pages_follow_after_cursor(emu: Emulator, client: openai.OpenAI) -> None:
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=upload(client, classification_examples()))
    emu.advance(10_000)
    first = client.fine_tuning.jobs.list_events(job.id, limit=5)
    assert len(first.data) == 5 and first.has_more
    second = client.fine_tuning.jobs.list_events(job.id, limit=5, after=first.data[-1].id)
    assert second.data[0].id not in {e.id for e in first.data}
    everything = list(client.fine_tuning.jobs.list_events(job.id, limit=7))
    assert [e.id for e in everything[:10]] == [e.id for e in first.data + second.data]


def test_deleted_tuned_model_stops_answering(emu: Emulator, client: openai.OpenAI) -> None:
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=upload(client, classification_examples()))
    emu.advance(10_000)
    model = client.fine_tuning.jobs.retrieve(job.id).fine_tuned_model
    assert model is not None
    assert model in {m.id for m in client.models.list()}
    assert client.models.retrieve(model).owned_by == "ftclient-emulator"
    assert client.models.delete(model).deleted is True
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.PermissionDeniedError):
        client.models.delete("gpt-4o-mini-2024-07-18")


def test_state_dir_keeps_jobs_and_models_across_restarts(tmp_path: object) -> None:
    from pathlib import Path

    state = Path(str(tmp_path)) / "state"
    with run_in_thread(EmulatorConfig(speed=1.0, state_dir=state)) as first:
        client = openai.OpenAI(base_url=first.base_url, api_key="sk-test", max_retries=0)
        job = client.fine_tuning.jobs.create(model="gpt-4o-mini",
                                             training_file=upload(client, classification_examples()))
        first.advance(10_000)
        model = client.fine_tuning.jobs.retrieve(job.id).fine_tuned_model
    assert json.loads((state / "state.json").read_text())["jobs"][0]["obj"]["id"] == job.id
    with run_in_thread(EmulatorConfig(speed=1.0, state_dir=state)) as second:
        client = openai.OpenAI(base_url=second.base_url, api_key="sk-test", max_retries=0)
        again = client.fine_tuning.jobs.retrieve(job.id)
        assert again.status == "succeeded" and again.fine_tuned_model == model
        assert second.now() >= again.finished_at  # type: ignore[operator]
        answer = client.chat.completions.create(model=model, messages=[  # type: ignore[arg-type]
            {"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": "应用闪退了"}])
        assert answer.choices[0].message.content == "technical"


def test_validation_uses_ftclients_own_dataset_rules(emu: Emulator, client: openai.OpenAI) -> None:
    records: list[dict[str, object]] = list(classification_examples())
    records[2]["messages"][1]["role"] = "robot"  # type: ignore[index]
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=upload(client, records))
    emu.advance(11)
    failed = client.fine_tuning.jobs.retrieve(job.id)
    assert failed.status == "failed" and failed.error is not None
    assert failed.error.message.startswith("The job failed due to an invalid training file. Line 3: ")
    assert "unknown-role" in failed.error.message and failed.error.param == "training_file"
