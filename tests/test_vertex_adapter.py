"""The Vertex adapter through the real Google SDKs (google-genai, google-cloud-storage) against the emulator's
vertex dialect over loopback: uploads, jobs, idempotent create, failure, cancel, events, the endpoint the job
leaves behind and its teardown, chat, and the install hint without the extra."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("google.genai")
pytest.importorskip("google.cloud.storage")

from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread
from ftclient.errors import InvalidRequestError, RemoteNotFoundError, UserInputError
from ftclient.launching.create import RUN_KEY, create_idempotent
from ftclient.providers.base import ChatRequest, ChatResult, JobSpec
from ftclient.providers.vertex import VertexProvider

SYSTEM = "Classify the ticket as billing or bug."
ROWS = [("my card was charged twice", "billing"), ("the app crashes on start", "bug"),
        ("refund the duplicate charge", "billing"), ("button does nothing when clicked", "bug")] * 3


def _line(text: str, label: str) -> str:
    return json.dumps({"systemInstruction": {"parts": [{"text": SYSTEM}]},
                       "contents": [{"role": "user", "parts": [{"text": text}]},
                                    {"role": "model", "parts": [{"text": label}]}]})


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with run_in_thread(EmulatorConfig(provider="vertex", speed=1.0, seed=5)) as emu:
        yield emu


@pytest.fixture
def vertex(emulator: Emulator) -> Iterator[VertexProvider]:
    provider = VertexProvider(project="proj", location="us-central1", bucket="bkt", endpoint=emulator.url,
                              retry_backoff_s=0.0, poll_s=5.0, sleep=emulator.advance)  # pauses move the clock
    yield provider
    provider.close()


@pytest.fixture
def train(tmp_path: Path) -> Path:
    path = tmp_path / "train.jsonl"
    path.write_text("".join(_line(t, label) + "\n" for t, label in ROWS), encoding="utf-8")
    return path


def _ask(vertex: VertexProvider, model: str, messages: list[dict[str, str]]) -> ChatResult:
    async def ask() -> ChatResult:
        try:
            return await vertex.chat(ChatRequest(model=model, messages=messages))
        finally:
            await vertex.aclose()

    return asyncio.run(ask())


def _spec(vertex: VertexProvider, train: Path, run: str, **extra: object) -> JobSpec:
    remote = vertex.upload_file(train)
    return JobSpec(model="gemini-2.5-flash", training_file=remote.id, hyperparameters={"n_epochs": 2},
                   metadata={RUN_KEY: run, "ftclient_dataset": "A" * 64}, **extra)  # type: ignore[arg-type]


def test_uploads_are_named_by_content_and_reused(vertex: VertexProvider, emulator: Emulator, train: Path) -> None:
    route = "POST /upload/storage/v1/b/{bucket}/o"

    def uploads() -> int:
        return sum(emulator.stats()["requests"]["by_route"].get(route, {}).values())

    with train.open("a", encoding="utf-8") as handle:  # content no other test uploads
        handle.write(_line("only in this test", "bug") + "\n")
    sent = uploads()
    first = vertex.upload_file(train)
    assert uploads() == sent + 1
    second = vertex.upload_file(train)
    assert uploads() == sent + 1  # the same content: found by name, size and MD5, not sent again
    assert first.id == second.id and first.id.startswith("gs://bkt/ftclient/train-") and first.bytes > 0
    assert vertex.download_file(first.id) == train.read_bytes()
    assert vertex.get_file(first.id).bytes == train.stat().st_size
    named = vertex.upload_named(train, filename="train-abc.jsonl")
    assert vertex.find_files("train-abc.jsonl") == [named] and vertex.find_files("missing.jsonl") == []
    changed = train.with_name("other.jsonl")
    changed.write_text(train.read_text(encoding="utf-8") + _line("x", "bug") + "\n", encoding="utf-8")
    with pytest.raises(UserInputError, match="exists with other content"):
        vertex.upload_named(changed, filename="train-abc.jsonl")
    with pytest.raises(RemoteNotFoundError):
        vertex.get_file("gs://bkt/ftclient/nothing.jsonl")


def test_a_large_file_goes_up_resumably_and_checks_out(vertex: VertexProvider, tmp_path: Path) -> None:
    storage = vertex._storage
    blob = storage.bucket("bkt").blob("ftclient/big.jsonl")
    blob.chunk_size = 256 * 1024  # resumable in three chunks, as files over 8 MiB go
    data = (_line("a long ticket " * 20, "bug") + "\n").encode() * 1200
    (tmp_path / "big.jsonl").write_bytes(data)
    blob.upload_from_filename(str(tmp_path / "big.jsonl"))  # the SDK checks the crc32c the emulator reports
    assert vertex.download_file("gs://bkt/ftclient/big.jsonl") == data


def test_a_job_runs_to_a_model_on_its_own_endpoint_which_teardown_removes(
    vertex: VertexProvider, emulator: Emulator, train: Path
) -> None:
    job = vertex.create_job(_spec(vertex, train, "run-aaa"))
    assert job.status == "queued" and job.raw_status == "JOB_STATE_PENDING" and job.metadata[RUN_KEY] == "run-aaa"
    assert job.metadata["ftclient_dataset"] == "A" * 64  # in full, from the description: labels fold it
    assert [j.id for j in vertex.find_jobs({RUN_KEY: "run-aaa"})] == [job.id]
    assert vertex.find_jobs({RUN_KEY: "run-other"}) == []
    emulator.advance(25)
    running = vertex.get_job(job.id)
    assert running.status == "running" and running.trained_tokens and running.trained_tokens > 0
    emulator.advance(60)
    done = vertex.get_job(job.id)
    assert done.status == "succeeded" and done.fine_tuned_model and done.fine_tuned_model.endswith("@1")
    assert done.hyperparameters["n_epochs"] == 2 and done.finished_at
    events = vertex.list_events(job.id)
    assert [e.id.split(":")[1] for e in events] == ["created", "data", "JOB_STATE_SUCCEEDED"]
    assert vertex.list_events(job.id, after=events[0].id) == events[1:]

    endpoint = vertex.create_endpoint(done.fine_tuned_model)
    assert endpoint.state == "STARTED" and endpoint.name == done.extra["endpoint"]
    assert endpoint.inactive_timeout_min == 0  # no idle stop is claimed: Vertex has none
    answer = _ask(vertex, str(endpoint.name), [{"role": "system", "content": SYSTEM},
                                               {"role": "user", "content": "charged twice on my card"}])
    assert answer.text == "billing" and answer.prompt_tokens > 0 and answer.finish_reason == "stop"
    base = _ask(vertex, "gemini-2.5-flash", [{"role": "user", "content": "charged twice on my card"}])
    assert base.text != "billing"

    vertex.stop_endpoint(endpoint.id)
    assert emulator.stats()["endpoints"]["list"] == []
    with pytest.raises(RemoteNotFoundError):
        vertex.get_endpoint(endpoint.id)
    again = vertex.create_endpoint(done.fine_tuned_model)  # the job's endpoint is gone: a new one of ftclient's
    assert again.state == "STARTING" and again.id.startswith("ftc-") and again.id != endpoint.id
    emulator.advance(61)  # :deployModel is a long-running operation
    assert vertex.get_endpoint(again.id).state == "STARTED"
    assert [e.id for e in vertex.list_endpoints()] == [again.id]
    vertex.stop_endpoint(again.id)
    assert emulator.stats()["endpoints"]["serving"] == 0


def test_a_lost_create_answer_never_makes_a_second_job(
    vertex: VertexProvider, emulator: Emulator, train: Path
) -> None:
    spec = _spec(vertex, train, "run-lost")
    before = emulator.stats()["jobs_created"]
    emulator.inject("POST /v1/projects/{project}/locations/{location}/tuningJobs", "lose_response_after_commit",
                    times=1)
    job = create_idempotent(vertex, spec, "run-lost", sleep=lambda s: None)
    assert emulator.stats()["jobs_created"] == before + 1
    assert [j.id for j in vertex.find_jobs({RUN_KEY: "run-lost"})] == [job.id]


def test_failure_and_cancel_carry_their_reasons(vertex: VertexProvider, emulator: Emulator, train: Path) -> None:
    failing = vertex.create_job(_spec(vertex, train, "run-fail"))
    emulator.inject("*", "fail_job", job_id=failing.id, message="loss diverged")
    emulator.advance(120)
    failed = vertex.get_job(failing.id)
    assert failed.status == "failed" and failed.error_message == "loss diverged" and failed.error_code == "13"
    assert vertex.list_events(failing.id)[-1].level == "error"

    cancelling = vertex.create_job(_spec(vertex, train, "run-cancel"))
    assert vertex.cancel_job(cancelling.id).raw_status == "JOB_STATE_CANCELLING"
    emulator.advance(10)
    assert vertex.get_job(cancelling.id).status == "cancelled"
    with pytest.raises(InvalidRequestError, match="Cannot cancel"):
        vertex.cancel_job(cancelling.id)
    with pytest.raises(RemoteNotFoundError):
        vertex.get_job("999")


def test_a_bad_dataset_fails_the_job_with_the_line(vertex: VertexProvider, emulator: Emulator, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(_line("a", "b") + "\n" + json.dumps({"contents": [{"role": "user", "parts": [{"text": "x"}]}]})
                   + "\n", encoding="utf-8")
    job = vertex.create_job(JobSpec(model="gemini-2.5-flash", training_file=vertex.upload_file(bad).id))
    emulator.advance(25)
    failed = vertex.get_job(job.id)
    assert failed.status == "failed" and "Line 2" in str(failed.error_message)


def test_spec_checks_refuse_what_vertex_would(vertex: VertexProvider, train: Path) -> None:
    ok = JobSpec(model="gemini-2.5-flash", training_file="gs://bkt/x.jsonl", hyperparameters={"n_epochs": 1})
    vertex.check_spec(ok, online=False)
    for bad, match in (
        (JobSpec(model="gpt-4o-mini", training_file="x"), "not a Gemini model"),
        (JobSpec(model="gemini-2.5-flash", training_file="x", method="dpo"), "supervised"),
        (JobSpec(model="gemini-2.5-flash", training_file="x", hyperparameters={"batch_size": 8}), "batch_size"),
        (JobSpec(model="gemini-2.5-flash", training_file="x", seed=3), "seed"),
        (JobSpec(model="gemini-2.5-flash", training_file="x", wandb_project="p"), "Weights"),
        (JobSpec(model="gemini-2.5-flash", training_file="x", suffix="s" * 129), "128"),
    ):
        with pytest.raises(UserInputError, match=match):
            vertex.check_spec(bad, online=False)
    preview = vertex.preview_create(ok)
    assert preview["url"].endswith("/v1/projects/proj/locations/us-central1/tuningJobs")
    assert preview["json"]["supervisedTuningSpec"]["hyperParameters"] == {"epochCount": 1}
    assert vertex.dataset_format("gemini-2.5-flash", "supervised") == "gemini"


def test_without_the_extra_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch, run_cli: object) -> None:
    monkeypatch.setitem(sys.modules, "google.genai", None)
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)  # nothing set up yet: installing comes first
    from ftclient.providers import get_provider

    with pytest.raises(UserInputError) as caught:
        get_provider("vertex")
    assert caught.value.hint == "pip install 'ftclient[vertex]'"
    result = run_cli("jobs", "list", "--provider", "vertex")  # type: ignore[operator]
    assert result.exit_code == 1 and "pip install 'ftclient[vertex]'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("raised", [RuntimeError("evaluation broke"), KeyboardInterrupt()])
def test_the_endpoint_is_removed_when_evaluation_breaks_off(
    vertex: VertexProvider, emulator: Emulator, train: Path, raised: BaseException
) -> None:
    from ftclient.deploy import deployed

    run = f"run-break-{type(raised).__name__.lower()}"
    job = vertex.create_job(_spec(vertex, train, run))
    emulator.advance(100)
    done = vertex.get_job(job.id)
    assert done.status == "succeeded"
    serving = [e["name"] for e in emulator.stats()["endpoints"]["list"] if e["deployed_models"]]
    assert done.extra["endpoint"] in serving
    with pytest.raises(type(raised)), deployed(str(done.fine_tuned_model), provider=vertex, poll_s=0.0,
                                               sleep=lambda s: None):
        raise raised
    assert done.extra["endpoint"] not in [e["name"] for e in emulator.stats()["endpoints"]["list"]]


def test_without_usable_credentials_the_error_says_how_to_log_in(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from ftclient.errors import AuthError

    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing-key.json"))
    provider = VertexProvider(project="proj", location="europe-west4", bucket="bkt")
    assert provider.endpoint == "https://europe-west4-aiplatform.googleapis.com"
    with pytest.raises(AuthError) as caught:
        provider.get_job("1")
    assert "no usable Google credentials" in caught.value.message
    assert "gcloud auth application-default login" in str(caught.value.hint)


def test_a_line_that_cannot_convert_stops_the_launch_before_any_upload(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: object
) -> None:
    import hashlib

    from ftclient.testing.conformance import write_dataset

    folder = write_dataset(tmp_path / "ds", provider="vertex", model="gemini-2.5-flash", train=12)
    train = folder / "train.jsonl"
    lines = train.read_text(encoding="utf-8").splitlines()
    lines[2] = json.dumps({"messages": [{"role": "user", "content": "hi"}, {"role": "system", "content": "late"},
                                        {"role": "assistant", "content": "bug"}]})
    train.write_text("\n".join(lines) + "\n", encoding="utf-8")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"]["train"]["sha256"] = hashlib.sha256(train.read_bytes()).hexdigest()
    shas = "".join(manifest["files"][s]["sha256"] for s in ("train", "validation", "test"))
    manifest["dataset_sha256"] = hashlib.sha256(shas.encode()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    for name, value in {"FTCLIENT_VERTEX_ENDPOINT": emulator.url, "GOOGLE_CLOUD_PROJECT": "proj",
                        "FTCLIENT_VERTEX_BUCKET": "bkt-refused"}.items():
        monkeypatch.setenv(name, value)
    result = run_cli("launch", str(folder), "--provider", "vertex", "--model", "gemini-2.5-flash")  # type: ignore[operator]
    assert result.exit_code == 1, result.stderr
    assert "train.jsonl:3" in result.stderr and "messages[1]" in result.stderr
    assert not any(bucket == "bkt-refused" for bucket, _ in emulator.core.app.storage.objects)  # type: ignore[attr-defined]
