"""The CLI contract that every command shares: exit codes, --json errors, --version, completion."""

from __future__ import annotations

import io
import json

import pytest

from ftclient._version import __version__
from ftclient.cli.errors import EXIT_INTERRUPTED, EXIT_JOB_FAILED, EXIT_TIMEOUT, exit_code_for, render_error
from ftclient.errors import DatasetError, Interrupted, JobFailedError, Problem, RateLimitError, WaitTimeout


def test_version(run_cli) -> None:
    result = run_cli("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"ftclient {__version__}"


def test_unknown_command_is_a_usage_error(run_cli) -> None:
    result = run_cli("no-such-command")
    assert result.exit_code == 2
    assert "No such command" in result.stderr


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (JobFailedError("ftjob-1", "failed"), EXIT_JOB_FAILED),
        (WaitTimeout("job ftjob-1", 60), EXIT_TIMEOUT),
        (Interrupted("stopped following ftjob-1"), EXIT_INTERRUPTED),
        (RateLimitError("slow down", provider="openai", status=429), 1),
        (DatasetError("bad file"), 1),
    ],
)
def test_exit_code_table(error, code) -> None:
    assert exit_code_for(error) == code


def _dataset_error() -> DatasetError:
    problems = [
        Problem(code="empty-content", message="message 2 has empty content", hint="write the answer or drop the row",
                file="data.jsonl", line=7, column=31, path="messages[1].content"),
        Problem(code="few-examples", message="only 4 examples", hint="add more", severity="warning"),
    ]
    return DatasetError("data.jsonl would be rejected", hint="fix the lines above", path="data.jsonl",
                        problems=problems)


def test_error_rendering_names_place_and_next_step() -> None:
    out = io.StringIO()
    render_error(_dataset_error(), json_mode=False, stream=out)
    text = out.getvalue()
    assert "error[dataset-invalid]: data.jsonl would be rejected" in text
    assert "data.jsonl:7:31 (messages[1].content): message 2 has empty content" in text
    assert "fix: write the answer or drop the row" in text
    assert "only 4 examples" not in text  # warnings are not errors
    assert text.rstrip().endswith("hint: fix the lines above")
    assert "\x1b[" not in text  # not a terminal: no escape codes


def test_error_rendering_in_json_mode_is_one_object() -> None:
    out = io.StringIO()
    render_error(_dataset_error(), json_mode=True, stream=out)
    data = json.loads(out.getvalue())
    assert data["error"] == "dataset-invalid"
    assert data["problems"][0]["line"] == 7
    assert data["problems"][1]["severity"] == "warning"


def test_provider_error_shows_request_id() -> None:
    out = io.StringIO()
    render_error(RateLimitError("too many requests", provider="openai", status=429, request_id="req_123",
                                hint="wait a minute"), json_mode=False, stream=out)
    assert "request id: req_123" in out.getvalue()


def test_completion_script(run_cli) -> None:
    result = run_cli("completion", "bash")
    assert result.exit_code == 0
    assert "_FTCLIENT_COMPLETE" in result.stdout
