"""Files, uploads, chat completions and the honest models, moderations, batches, models; the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import httpx2
import openai
import pytest

from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread
from ftclient.emulator.openai import files as files_module
from ftclient.emulator.openai.learner import NearestNeighbour, baseline_answer, extract_labels
from ftclient.emulator.samples import SYSTEM_PROMPT, classification_examples, to_jsonl


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with run_in_thread(EmulatorConfig(speed=1.0, seed=11)) as running:
        yield running


@pytest.fixture
def client(emu: Emulator) -> openai.OpenAI:
    return openai.OpenAI(base_url=emu.base_url, api_key="sk-test", max_retries=0)


def test_files_upload_list_retrieve_content_delete(emu: Emulator, client: openai.OpenAI) -> None:
    data = to_jsonl(classification_examples())
    first = client.files.create(file=("a.jsonl", data), purpose="fine-tune")
    assert first.bytes == len(data) and first.status == "uploaded" and first.filename == "a.jsonl"
    emu.advance(2)
    assert client.files.retrieve(first.id).status == "processed"
    second = client.files.create(file=("b.jsonl", b'{"custom_id": "x"}\n'), purpose="batch")
    assert second.expires_at is not None
    assert client.files.content(first.id).read() == data
    assert [f.id for f in client.files.list(purpose="fine-tune")] == [first.id]
    assert len(client.files.list().data) == 2
    page = client.files.list(limit=1, order="asc")
    assert page.data[0].id == first.id and page.has_more
    assert client.files.delete(first.id).deleted is True
    with pytest.raises(openai.NotFoundError, match="No such file"):
        client.files.retrieve(first.id)
    with pytest.raises(openai.BadRequestError, match=r"Must be \.jsonl"):
        client.files.create(file=("train.csv", b"a,b\n"), purpose="fine-tune")
    with pytest.raises(openai.BadRequestError, match="purpose"):
        client.files.create(file=("t.jsonl", data), purpose="nonsense")  # type: ignore[arg-type]


def test_uploads_in_parts_with_the_64_mb_part_limit(client: openai.OpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    data = to_jsonl(classification_examples())
    upload = client.uploads.create(bytes=len(data), filename="big.jsonl", mime_type="text/jsonl", purpose="fine-tune")
    assert upload.status == "pending"
    half = len(data) // 2
    part_b = client.uploads.parts.create(upload.id, data=data[half:])
    part_a = client.uploads.parts.create(upload.id, data=data[:half])
    done = client.uploads.complete(upload.id, part_ids=[part_a.id, part_b.id])
    assert done.status == "completed" and done.file is not None
    assert client.files.content(done.file.id).read() == data
    with pytest.raises(openai.BadRequestError, match="completed"):
        client.uploads.parts.create(upload.id, data=b"x")

    short = client.uploads.create(bytes=10, filename="s.jsonl", mime_type="text/jsonl", purpose="fine-tune")
    part = client.uploads.parts.create(short.id, data=b"12345")
    with pytest.raises(openai.BadRequestError, match="add up to 5 bytes"):
        client.uploads.complete(short.id, part_ids=[part.id])
    assert client.uploads.cancel(short.id).status == "cancelled"

    assert files_module.MAX_PART_BYTES == 64 * 1024**2
    monkeypatch.setattr(files_module, "MAX_PART_BYTES", 1024)  # the same check, without moving 64 MB around
    large = client.uploads.create(bytes=2048, filename="l.jsonl", mime_type="text/jsonl", purpose="fine-tune")
    with pytest.raises(openai.BadRequestError, match="at most 64 MB"):
        client.uploads.parts.create(large.id, data=b"x" * 1025)


def test_sdk_chunked_upload_helper(client: openai.OpenAI, tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "train.jsonl"
    path.write_bytes(to_jsonl(classification_examples()))
    uploaded = client.uploads.upload_file_chunked(file=path, mime_type="text/jsonl", purpose="fine-tune", part_size=300)
    assert uploaded.status == "completed" and uploaded.file is not None
    assert client.files.content(uploaded.file.id).read() == path.read_bytes()


def test_tuned_model_beats_base_model_on_held_out_tickets(emu: Emulator, client: openai.OpenAI) -> None:
    file_id = client.files.create(file=("t.jsonl", to_jsonl(classification_examples())), purpose="fine-tune").id
    job = client.fine_tuning.jobs.create(model="gpt-4.1-mini-2025-04-14", training_file=file_id)
    emu.advance(10_000)
    tuned = client.fine_tuning.jobs.retrieve(job.id).fine_tuned_model
    assert tuned is not None
    held_out = [("I got charged two times this month", "billing"),
                ("The app crashes when I open settings", "technical"),
                ("How can I reset the password for my login?", "account"), ("发票金额错了", "billing"),
                ("应用闪退怎么办", "technical"), ("我想注销我的账号", "account")]

    def accuracy(model: str) -> float:
        right = 0
        for text, label in held_out:
            answer = client.chat.completions.create(model=model, messages=[
                {"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": text}])
            right += answer.choices[0].message.content == label
        return right / len(held_out)

    assert accuracy(tuned) == 1.0
    assert accuracy("gpt-4.1-mini") < 0.7


def test_chat_parameters(client: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": "The quick brown fox jumps over the lazy dog. Then it sleeps."}]
    full = client.chat.completions.create(model="gpt-4o-mini", messages=messages, seed=1, temperature=0.2)  # type: ignore[arg-type]
    assert full.choices[0].message.content == "The quick brown fox jumps over the lazy dog."
    assert full.choices[0].finish_reason == "stop"
    cut = client.chat.completions.create(model="gpt-4o-mini", messages=messages, max_completion_tokens=3)  # type: ignore[arg-type]
    assert cut.choices[0].finish_reason == "length" and cut.usage is not None and cut.usage.completion_tokens == 3
    legacy = client.chat.completions.create(model="gpt-4o-mini", messages=messages, max_tokens=2, n=2)  # type: ignore[arg-type]
    assert len(legacy.choices) == 2 and legacy.usage is not None and legacy.usage.completion_tokens == 4
    stopped = client.chat.completions.create(model="gpt-4o-mini", messages=messages, stop=["fox"])  # type: ignore[arg-type]
    assert stopped.choices[0].message.content == "The quick brown "
    with_logprobs = client.chat.completions.create(model="gpt-4o-mini", messages=messages, logprobs=True,  # type: ignore[arg-type]
                                                   top_logprobs=2, max_tokens=4)
    assert with_logprobs.choices[0].logprobs is not None
    assert len(with_logprobs.choices[0].logprobs.content or []) == 4
    for bad in ({"temperature": 3}, {"n": 0}, {"max_tokens": 0}, {"top_logprobs": 2}, {"stream": True}):
        with pytest.raises(openai.BadRequestError):
            client.chat.completions.create(model="gpt-4o-mini", messages=messages, **bad)  # type: ignore[call-overload]
    with pytest.raises(openai.NotFoundError, match=r"does not exist"):
        client.chat.completions.create(model="ft:gpt-4o-mini-2024-07-18:x::abc", messages=messages)  # type: ignore[arg-type]


def test_nearest_neighbour_and_baseline_are_deterministic_and_explainable() -> None:
    learner = NearestNeighbour([("how do I reset my password", "account"), ("charged twice on my card", "billing"),
                                ("我的订单还没到", "shipping"), ("the app crashes on start", "technical")])
    assert learner.nearest("password reset please")[0] == 0
    assert learner.nearest("订单没有到")[0] == 2
    assert learner.nearest("how do I reset my password") == (0, 1.0)
    assert extract_labels("Answer with one of: spam, ham.") == ["spam", "ham"]
    assert extract_labels("Labels:\n- positive\n- negative\n- neutral") == ["positive", "negative", "neutral"]
    assert extract_labels("请判断情感：正面、负面、中性。") == ["正面", "负面", "中性"]
    assert extract_labels("Translate the text into French.") == []
    system = {"role": "system", "content": "Classify: billing, technical, account."}
    assert baseline_answer([system, {"role": "user", "content": "my technical issue"}]) == "technical"
    assert baseline_answer([{"role": "user", "content": "第一句。第二句。"}]) == "第一句。"


def test_moderations(client: openai.OpenAI) -> None:
    result = client.moderations.create(input=["I will kill the process", "Have a nice day"])
    assert result.results[0].flagged and result.results[0].categories.violence
    assert not result.results[1].flagged
    assert result.model == "omni-moderation-2024-09-26"


def test_batches_progress_and_write_output_and_error_files(emu: Emulator, client: openai.OpenAI) -> None:
    lines = [
        {"custom_id": "ok-1", "method": "POST", "url": "/v1/chat/completions",
         "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "First. Second."}]}},
        {"custom_id": "bad-model", "method": "POST", "url": "/v1/chat/completions",
         "body": {"model": "no-such-model", "messages": [{"role": "user", "content": "Hi."}]}},
    ]
    input_file = client.files.create(file=("in.jsonl", to_jsonl(lines)), purpose="batch")
    batch = client.batches.create(input_file_id=input_file.id, endpoint="/v1/chat/completions",
                                  completion_window="24h", metadata={"eval": "e1"})
    assert batch.status == "validating"
    emu.advance(6)
    assert client.batches.retrieve(batch.id).status == "in_progress"
    emu.advance(10)
    assert client.batches.retrieve(batch.id).status == "finalizing"
    emu.advance(6)
    done = client.batches.retrieve(batch.id)
    assert done.status == "completed" and done.request_counts is not None
    assert (done.request_counts.total, done.request_counts.completed, done.request_counts.failed) == (2, 1, 1)
    assert done.output_file_id and done.error_file_id
    output = [json.loads(x) for x in client.files.content(done.output_file_id).read().splitlines()]
    assert output[0]["custom_id"] == "ok-1"
    assert output[0]["response"]["body"]["choices"][0]["message"]["content"] == "First."
    errors = [json.loads(x) for x in client.files.content(done.error_file_id).read().splitlines()]
    assert errors[0]["custom_id"] == "bad-model" and errors[0]["response"]["status_code"] == 404
    assert [b.id for b in client.batches.list()] == [batch.id]

    broken = client.files.create(file=("x.jsonl", b'{"custom_id": "a", "method": "POST", "url": "/v1/embeddings", '
                                                   b'"body": {}}\nnot json\n'), purpose="batch")
    failed = client.batches.create(input_file_id=broken.id, endpoint="/v1/chat/completions", completion_window="24h")
    emu.advance(6)
    failed = client.batches.retrieve(failed.id)
    assert failed.status == "failed" and failed.errors is not None and failed.errors.data
    assert {e.line for e in failed.errors.data} == {1, 2}
    cancelling = client.batches.create(input_file_id=input_file.id, endpoint="/v1/chat/completions",
                                       completion_window="24h")
    assert client.batches.cancel(cancelling.id).status == "cancelling"
    emu.advance(11)
    assert client.batches.retrieve(cancelling.id).status == "cancelled"


def test_models_list_and_retrieve(client: openai.OpenAI) -> None:
    ids = {m.id for m in client.models.list()}
    assert {"gpt-4o-mini-2024-07-18", "gpt-4.1-mini-2025-04-14"} <= ids
    assert client.models.retrieve("gpt-4o-mini-2024-07-18").owned_by == "system"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-0")


def test_cli_refuses_remote_hosts(run_cli: object) -> None:
    result = run_cli("emulator", "--host", "0.0.0.0")  # type: ignore[operator]
    assert result.exit_code == 1
    assert "loopback only" in result.stderr and "--allow-remote" in result.stderr


def test_cli_serves_with_a_banner_and_answers() -> None:
    with subprocess.Popen([sys.executable, "-m", "ftclient", "emulator", "--port", "0", "--speed", "100",
                           "--rpm", "600"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None and process.stderr is not None
        try:
            base_url = process.stdout.readline().strip()
            assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
            stats = httpx2.get(base_url.removesuffix("/v1") + "/_emulator/stats", timeout=5).json()
            assert stats["emulator"]["speed"] == 100 and stats["rate_limits"]["rpm"] == 600
        finally:
            process.terminate()
        _, banner = process.communicate(timeout=10)
    assert "emulator" in banner and "nothing here is a real model" in banner


@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM"])
def test_the_emulator_command_stops_promptly_on_a_signal_that_lands_mid_request(stop: str) -> None:
    """Ctrl-C (or ``kill``) while a client is being answered: the process ends within seconds, cleanly, and
    says so. (The signal stops the event loop between callbacks; raised as KeyboardInterrupt inside a
    connection task, it could leave the shutdown waiting for that task forever, though only rarely.)"""
    import signal
    import threading

    command = [sys.executable, "-m", "ftclient", "emulator", "--port", "0"]
    for _ in range(2):
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
            assert process.stdout is not None
            base_url = process.stdout.readline().strip()
            busy, done = threading.Event(), threading.Event()

            def traffic(url: str = base_url, busy: threading.Event = busy, done: threading.Event = done) -> None:
                with httpx2.Client(base_url=url, headers={"Authorization": "Bearer k"}, timeout=5) as http:
                    for answered in range(10_000):
                        if done.is_set():
                            return
                        try:
                            http.get("/models")
                        except httpx2.HTTPError:
                            return
                        if answered == 20:
                            busy.set()

            worker = threading.Thread(target=traffic)
            worker.start()
            assert busy.wait(timeout=20)
            process.send_signal(getattr(signal, stop))
            try:
                _, stderr = process.communicate(timeout=15)
            finally:
                done.set()
                worker.join(timeout=10)
                if process.poll() is None:
                    process.kill()
        assert process.returncode == 0 and "Emulator stopped." in stderr


def test_chunked_bodies_and_garbage_requests(emu: Emulator) -> None:
    import socket

    body = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Chunked. Works."}]})

    def pieces() -> Iterator[bytes]:
        yield body[:10].encode()
        yield body[10:].encode()

    with httpx2.Client(base_url=emu.base_url, headers={"Authorization": "Bearer k"}) as http:
        answer = http.post("/chat/completions", content=pieces(), headers={"content-type": "application/json"})
        assert answer.status_code == 200 and answer.json()["choices"][0]["message"]["content"] == "Chunked."
        with socket.create_connection((emu.host, emu.port), timeout=5) as raw:
            raw.sendall(b"NONSENSE\r\n\r\n")
            assert raw.recv(100).startswith(b"HTTP/1.1 400 Bad Request\r\n")  # tests/test_emulator_http.py: more
        assert http.get("/models").status_code == 200  # and the server carries on
