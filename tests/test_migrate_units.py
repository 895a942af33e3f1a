"""The pieces of a migration that need no emulator: batch planning, the batch loop's refusals, the verdict."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ftclient.evaluate.runner import Call
from ftclient.migration.batching import ConcurrentBatches, Limits, plan_chunks
from ftclient.migration.noninferiority import judge_replacement
from ftclient.migration.report import recommend
from ftclient.providers.base import BatchInfo, ChatRequest, RemoteFile


def call(i: int, tokens: int = 100) -> Call:
    request = ChatRequest(model="m", messages=[{"role": "user", "content": f"q{i}"}], max_tokens=20)
    return Call("capture", i, request, tokens + 20)  # the queue counts the 100 prompt tokens, not the 20


def test_chunks_respect_requests_bytes_and_tokens() -> None:
    calls = [call(i) for i in range(10)]
    assert [len(c.calls) for c in plan_chunks(calls, [10] * 10, Limits(max_requests=4))] == [4, 4, 2]
    by_bytes = plan_chunks(calls, [100] * 10, Limits(max_bytes=350))
    assert [len(c.calls) for c in by_bytes] == [3, 3, 3, 1] and all(c.bytes <= 350 for c in by_bytes)
    by_tokens = plan_chunks(calls, [1] * 10, Limits(queue_tokens=250))
    assert [c.tokens for c in by_tokens] == [200] * 5
    flat = [c.index for chunk in plan_chunks(calls, [1] * 10, Limits(max_requests=3)) for c in chunk.calls]
    assert flat == list(range(10))  # contiguous, in order, nothing lost


class FakeBatches:
    """A provider whose first batch is refused for the enqueued-token limit; the rest complete."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.created: list[str] = []

    # Provider side
    def upload_file(self, path: Path, *, purpose: str = "batch") -> RemoteFile:
        file_id = f"file-{len(self.files)}"
        self.files[file_id] = path.read_bytes()
        return RemoteFile(file_id, len(self.files[file_id]), path.name, purpose, "processed", 0)

    def download_file(self, file_id: str) -> bytes:
        return self.files[file_id]

    # Batch side
    def create_batch(
        self, input_file_id: str, *, endpoint: str = "", metadata: Mapping[str, str] | None = None
    ) -> BatchInfo:
        batch_id = f"batch-{len(self.batches)}"
        self.created.append(batch_id)
        refused = not self.batches
        lines = [json.loads(x) for x in self.files[input_file_id].decode().splitlines()]
        out = "".join(
            json.dumps(
                {
                    "custom_id": line["custom_id"],
                    "response": {
                        "status_code": 200,
                        "body": {
                            "model": "m",
                            "choices": [{"message": {"content": f"answer {line['custom_id']}"}}],
                            "usage": {"prompt_tokens": 3, "completion_tokens": 2},
                        },
                    },
                }
            )
            + "\n"
            for line in lines
        )
        self.files[f"out-{batch_id}"] = out.encode()
        self.batches[batch_id] = {"refused": refused, "input": input_file_id}
        return BatchInfo(batch_id, "validating", input_file_id)

    def get_batch(self, batch_id: str) -> BatchInfo:
        state = self.batches[batch_id]
        if state["refused"]:
            return BatchInfo(batch_id, "failed", state["input"], error_code="token_limit_exceeded")
        return BatchInfo(batch_id, "completed", state["input"], output_file=f"out-{batch_id}")

    def cancel_batch(self, batch_id: str) -> BatchInfo:
        raise AssertionError("not used")


def test_a_refused_batch_is_requeued_and_the_limit_learnt(tmp_path: Path) -> None:
    fake = FakeBatches()
    calls = [call(i) for i in range(6)]
    runner = ConcurrentBatches(
        fake,  # type: ignore[arg-type]
        fake,
        "openai",
        work_dir=tmp_path,
        cache=None,
        limits=Limits(max_requests=6),
        sleep=lambda _s: None,
    )
    answers = runner.run(calls)
    assert runner.stats.refused_for_tokens == 1
    assert runner.limits.queue_tokens is not None and runner.limits.queue_tokens < 600
    assert len(fake.created) >= 3  # refused whole, then split in two
    assert all(answers[("capture", i)].text.startswith(f"answer capture:{i}:") for i in range(6))


def test_verdicts_follow_the_ci_and_the_margin() -> None:
    refs = ["a", "b"] * 100
    same = judge_replacement("classify", refs, refs, refs, resamples=300)
    assert same.verdict == "non-inferior" and same.difference == 0.0 and same.margin == 2.0
    worse = [("b" if r == "a" else "a") if i % 3 == 0 else r for i, r in enumerate(refs)]
    bad = judge_replacement("classify", refs, refs, worse, resamples=300)
    assert bad.verdict == "inferior" and bad.ci_high < -bad.margin and bad.mcnemar_p is not None
    slightly = [("b" if r == "a" else "a") if i in (0, 7, 19) else r for i, r in enumerate(refs)]
    near = judge_replacement("classify", refs, refs, slightly, resamples=300)
    assert near.verdict == "inconclusive" and near.ci_low < -2.0 < near.ci_high
    loose = judge_replacement("classify", refs, refs, slightly, margin=10, resamples=300)
    assert loose.verdict == "non-inferior" and "margin 10 points" in loose.sentence
    few = judge_replacement("classify", refs[:4], refs[:4], refs[:4], resamples=50)
    assert few.verdict == "too few examples"


def test_the_cheapest_non_inferior_replacement_without_its_own_shutdown_is_recommended() -> None:
    def row(name: str, verdict: str, cost: float | None, shutdown: str | None = None) -> dict[str, Any]:
        ni = {"sentence": f"{verdict} sentence", "ci_low": -1.0}
        return {
            "provider": "p",
            "fine_tuned_model": name,
            "job_id": name,
            "verdict": verdict,
            "quality": 90.0,
            "cost_per_1k_requests_usd": cost,
            "target_shutdown_date": shutdown,
            "noninferiority": ni,
        }

    rows = [row("a", "non-inferior", 2.0), row("b", "non-inferior", 1.0), row("c", "inferior", 0.1)]
    assert recommend(rows)["model"] == "b"
    assert recommend([row("a", "non-inferior", 2.0), row("b", "non-inferior", 1.0, "2027-01-14")])["model"] == "a"
    assert recommend([row("b", "non-inferior", 1.0, "2027-01-14")])["model"] is None
    assert "closest" in recommend([row("c", "inconclusive", 1.0)])["why"]


class FlakyLines(FakeBatches):
    """Every batch completes, but the first time a line is seen it fails with a 500 (or a 400 for q1)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def create_batch(
        self, input_file_id: str, *, endpoint: str = "", metadata: Mapping[str, str] | None = None
    ) -> BatchInfo:
        info = super().create_batch(input_file_id, endpoint=endpoint, metadata=metadata)
        self.batches[info.id]["refused"] = False
        good, bad = [], []
        for line in self.files[f"out-{info.id}"].decode().splitlines():
            record = json.loads(line)
            cid = record["custom_id"]
            if cid.startswith("capture:1:") or cid not in self.seen:
                status = 400 if cid.startswith("capture:1:") else 500
                record["response"] = {"status_code": status, "body": {"error": {"message": "no"}}}
                bad.append(json.dumps(record))
            else:
                good.append(line)
            self.seen.add(cid)
        self.files[f"out-{info.id}"] = ("\n".join(good) + "\n").encode() if good else b""
        self.files[f"err-{info.id}"] = ("\n".join(bad) + "\n").encode()
        return info

    def get_batch(self, batch_id: str) -> BatchInfo:
        state = self.batches[batch_id]
        return BatchInfo(
            batch_id, "completed", state["input"], output_file=f"out-{batch_id}", error_file=f"err-{batch_id}"
        )


def test_failed_lines_are_retried_and_refusals_are_final(tmp_path: Path) -> None:
    fake = FlakyLines()
    calls = [call(i) for i in range(4)]
    runner = ConcurrentBatches(
        fake,  # type: ignore[arg-type]
        fake,
        "openai",
        work_dir=tmp_path,
        cache=None,
        limits=Limits(),
        sleep=lambda _s: None,
    )
    answers = runner.run(calls)
    assert runner.stats.retried_lines == 3  # the 500s; the 400 is not asked again
    assert len(fake.created) == 2
    assert [answers[("capture", i)].error is None for i in range(4)] == [True, False, True, True]
    assert "HTTP 400" in str(answers[("capture", 1)].error)


def test_the_report_shows_where_the_replacement_answers_differently() -> None:
    from ftclient.evaluate.types import Example
    from ftclient.migration.candidates import _disagreements
    from ftclient.migration.migrate import MigrationReport
    from ftclient.migration.report import render_html, render_markdown

    examples = [Example(i, [{"role": "user", "content": f"ticket {i} | urgent"}], "billing") for i in range(4)]
    rows = _disagreements(
        examples,
        ["billing"] * 4,
        ["billing", "billing", "Billing.", "shipping"],
        ["billing", "account", "billing", "account"],
    )
    assert [r["index"] for r in rows] == [1, 3]  # same answer up to case and punctuation is no difference
    assert rows[0]["changes_correctness"] is True and rows[1]["changes_correctness"] is False
    candidate = {
        "provider": "together",
        "base_model": "b",
        "fine_tuned_model": "new-model",
        "job_id": "ft-1",
        "verdict": "inconclusive",
        "disagreements": rows,
    }
    report = MigrationReport(
        model="ft:old",
        created_at="2026-12-03T00:00:00+00:00",
        out_dir="x",
        training_data={"source": "original dataset d", "distilled": False},
        held_out=4,
        reference="ground truth",
        margin=2.0,
        metric="accuracy",
        old_model={"answers_from": "capture c"},
        candidates=[candidate],
        recommendation={"provider": None, "model": None, "job_id": None, "why": "none"},
    )
    markdown = render_markdown(report)
    assert "## Where new-model answers differently" in markdown and "ticket 1 \\| urgent" in markdown
    html = render_html(report)
    assert "ticket 1 | urgent" in html and "<script" not in html
