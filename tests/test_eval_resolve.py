"""From a job id or model name to models, test file and task; unfinished and failed jobs; test-file errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftclient.errors import EvaluationError, JobFailedError, UserInputError
from ftclient.evaluate.resolve import Request, infer_task, read_test_file, resolve, training_curve, wait_for_job
from ftclient.evaluate.types import Example
from ftclient.providers.base import JobEvent, JobInfo


class Jobs:
    """A provider that reports a job's statuses in turn."""

    def __init__(self, *statuses: str, result_csv: str = "") -> None:
        self.statuses = list(statuses)
        self.result_csv = result_csv
        self.polls = 0

    def get_job(self, job_id: str) -> JobInfo:
        status = self.statuses[min(self.polls, len(self.statuses) - 1)]
        self.polls += 1
        return JobInfo(
            id=job_id,
            provider="openai",
            status=status,
            model="gpt-4.1-mini-2025-04-14",
            created_at=0,
            fine_tuned_model="ft:gpt-4.1-mini-2025-04-14:o:s:x" if status == "succeeded" else None,
            metadata={"ftclient_dataset": "abc"},
            result_files=["file-result"],
            error_message="bad data" if status == "failed" else None,
        )

    def list_events(self, job_id: str, after: str | None = None) -> list[JobEvent]:
        return []

    def download_file(self, file_id: str) -> bytes:
        return self.result_csv.encode()


def test_unfinished_job_is_an_error_with_a_next_step() -> None:
    with pytest.raises(EvaluationError, match="is running") as info:
        wait_for_job(Jobs("running"), "ftjob-1", wait=False, poll_s=1, sleep=lambda s: None)  # type: ignore[arg-type]
    assert "ftclient jobs watch ftjob-1" in (info.value.hint or "")


def test_wait_polls_until_the_model_exists() -> None:
    slept: list[float] = []
    provider = Jobs("queued", "running", "running", "succeeded")
    info = wait_for_job(provider, "ftjob-1", wait=True, poll_s=2.0, sleep=slept.append)  # type: ignore[arg-type]
    assert info.fine_tuned_model and slept == [2.0, 2.0, 2.0]


def test_failed_job_raises_job_failed() -> None:
    with pytest.raises(JobFailedError, match="bad data"):
        wait_for_job(Jobs("failed"), "ftjob-1", wait=False, poll_s=1, sleep=lambda s: None)  # type: ignore[arg-type]


def test_job_metadata_and_test_file_on_a_machine_that_never_saw_the_launch(tmp_path: Path) -> None:
    test = tmp_path / "test.jsonl"
    test.write_text(
        "\n".join(
            json.dumps(
                {
                    "messages": [
                        {"role": "user", "content": f"q{i}"},
                        {"role": "assistant", "content": "yes" if i % 2 else "no"},
                    ]
                }
            )
            for i in range(12)
        )
        + "\n",
        encoding="utf-8",
    )

    class NoRegistry:
        def get_job(self, job_id: str) -> None:
            return None

    target, info = resolve(
        Request("ftjob-remote", test=test), registry=NoRegistry(), provider=Jobs("succeeded"), sleep=lambda s: None
    )  # type: ignore[arg-type]
    assert target.model == "ft:gpt-4.1-mini-2025-04-14:o:s:x" and target.baseline == "gpt-4.1-mini-2025-04-14"
    assert target.dataset_sha256 == "abc" and target.task == "classify" and target.task_inferred
    assert info is not None and len(target.examples) == 12


def test_test_file_errors_say_where(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}\n'
        '{"messages": [{"role": "user", "content": "no answer"}]}\n',
        encoding="utf-8",
    )
    with pytest.raises(UserInputError, match=r"bad.jsonl:2:1: no assistant message"):
        read_test_file(bad)
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{not json\n", encoding="utf-8")
    with pytest.raises(UserInputError, match=r"broken.jsonl:1:1"):
        read_test_file(broken)


def test_training_system_prompt_is_added_where_missing(tmp_path: Path) -> None:
    test = tmp_path / "t.jsonl"
    test.write_text(
        json.dumps({"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]}) + "\n",
        encoding="utf-8",
    )
    (example,) = read_test_file(test, system_prompt="Answer with a label.")
    assert example.messages[0] == {"role": "system", "content": "Answer with a label."}
    assert example.reference == "y"


def test_task_inference() -> None:
    def ex(refs: list[str]) -> list[Example]:
        return [Example(i, [], r) for i, r in enumerate(refs)]

    assert infer_task(ex(['{"a": 1}', '{"a": 2}'])) == "extract"
    assert infer_task(ex(["spam", "ham"] * 10)) == "classify"
    assert infer_task(ex([f"a long free-form answer number {i}" for i in range(10)])) == "chat"


def test_loss_curve_from_the_result_file_when_there_are_no_metric_events() -> None:
    csv_text = "step,train_loss,train_accuracy,valid_loss\n1,2.5,0.1,2.7\n2,2.0,0.2,\n3,1.5,0.3,1.9\n"
    info = Jobs("succeeded").get_job("ftjob-1")
    curve = training_curve(Jobs("succeeded", result_csv=csv_text), "ftjob-1", info)  # type: ignore[arg-type]
    assert curve == [
        {"step": 1.0, "train_loss": 2.5, "valid_loss": 2.7},
        {"step": 2.0, "train_loss": 2.0},
        {"step": 3.0, "train_loss": 1.5, "valid_loss": 1.9},
    ]
