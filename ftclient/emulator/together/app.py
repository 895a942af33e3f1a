"""The Together provider app: wires files, fine-tunes, endpoints and chat to one state store.

The account is called ``ftclient-emulator``: tuned models are named ``ftclient-emulator/<base>-<suffix>-<hash>``
and endpoints ``ftclient-emulator/<model>-<hash>``, so every name in a report says where it came from.
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftclient.emulator.dialect import DialectApp, RouteGroup
from ftclient.emulator.http import ApiError, Request, Response
from ftclient.emulator.openai.learner import NearestNeighbour, content_text, prompt_text, split_example
from ftclient.emulator.together import rules, tokens
from ftclient.emulator.together.chat import Chat
from ftclient.emulator.together.endpoints import Endpoints
from ftclient.emulator.together.files import STORAGE_PREFIX, Files
from ftclient.emulator.together.finetunes import FineTunes, plan_steps
from ftclient.emulator.together.state import TJob, TogetherStore

if TYPE_CHECKING:
    from ftclient.emulator.server import Services

ACCOUNT = "ftclient-emulator"
CREDIT_LIMIT_USD = 100.0

Example = tuple[list[Mapping[str, Any]], str]


class TogetherApp(DialectApp[TogetherStore]):
    public_paths = (STORAGE_PREFIX,)
    """Signed upload URLs: reached without Together credentials, like the real storage URLs."""

    def __init__(self, services: Services) -> None:
        state_dir = services.config.state_dir
        super().__init__(services, TogetherStore(Path(state_dir) if state_dir is not None else None))
        self.account = ACCOUNT
        self.credit_limit_usd = CREDIT_LIMIT_USD
        self.files = Files(self)
        self.finetunes = FineTunes(self)
        self.endpoints = Endpoints(self)
        self.chat = Chat(self)
        self._tuned: dict[str, str] = {}
        for job in self.store.jobs.values():
            if job.obj["status"] == "completed":
                self.register_tuned(job)

    def request_id(self) -> str:
        """Together's request ids look like ``odDTv3K-28Eivz-9e4c75784abae641`` (real-payloads/together/
        error-400-2.json): two short alphanumeric parts and 16 hex digits."""
        alphabet = string.ascii_letters + string.digits
        head = "".join(secrets.choice(alphabet) for _ in range(7))
        middle = "".join(secrets.choice(alphabet) for _ in range(6))
        return f"{head}-{middle}-{secrets.token_hex(8)}"

    def error_response(self, exc: ApiError, request: Request) -> Response:
        """Together's errors carry the request id at the top level beside ``error`` (every captured error
        body in real-payloads/together has it; the spec's ErrorData omits it)."""
        response = exc.response()
        response.body = json.dumps({"id": request.context["request_id"], **exc.body()}).encode()
        return response

    def route_groups(self) -> Sequence[RouteGroup]:
        return (self.files, self.finetunes, self.endpoints, self.chat)

    # -- training data ---------------------------------------------------------------------------
    def count_file_tokens(self, file_id: str) -> int:
        """Processed tokens of a file, as the estimate and the bill count them (an estimate, see tokens.py)."""
        return tokens.file_tokens(self.store.content(file_id))

    def count_examples(self, file_id: str) -> int:
        return len(parse_examples(self.store.content(file_id)))

    def check_training_data(self, job: TJob) -> str | None:
        """What ``pending`` does: check the files with the emulator's own reading of Together's rules, plan
        the steps and build the tuned model's memory. Returns the job's error message, or None."""
        obj = job.obj
        for name in ("training_file", "validation_file"):
            file_id = obj.get(name)
            if not file_id:
                continue
            if file_id not in self.store.files:
                return f"The {name.replace('_', ' ')} {file_id} was deleted before the job could read it."
            what = name.replace("_", " ")
            problem = rules.first_problem(self.store.content(file_id), method=job.method, what=what)
            if problem is not None:
                return problem
        data = self.store.content(obj["training_file"])
        examples = parse_examples(data)
        if not examples:
            return "Invalid training file: it has no example with an answer to learn from."
        plan_steps(job, len(examples))
        job.tokens_per_epoch = self.count_file_tokens(obj["training_file"])
        self.keep_learner(obj["id"], _learner_of(examples))
        return None

    # -- tuned models ----------------------------------------------------------------------------
    def register_tuned(self, job: TJob) -> None:
        name = job.obj.get("model_output_name")
        if name:
            self._tuned[name] = job.obj["id"]

    def tuned_job(self, model: str) -> TJob | None:
        job_id = self._tuned.get(model)
        return self.store.jobs.get(job_id) if job_id else None

    def tuned_names(self) -> list[str]:
        return sorted(self._tuned)

    def learner(self, job: TJob) -> NearestNeighbour:
        return self.cached_learner(
            job.obj["id"], lambda: _learner_of(parse_examples(self.store.content(job.obj["training_file"])))
        )

    # -- control ---------------------------------------------------------------------------------
    def fail_job(self, job_id: str, params: dict[str, Any]) -> None:
        with self.store.lock:
            job = self.store.jobs.get(job_id)
            if job is None:
                raise ValueError(f"no fine-tune job {job_id!r} to fail")
            job.fail = {k: v for k, v in params.items() if k != "job_id"}
            if job.obj["status"] == "running":
                job.fail.setdefault("at_step", job.steps_done + 1)
        self.changed()

    def stats(self) -> dict[str, Any]:
        now = self.now()
        with self.store.lock:
            statuses: dict[str, int] = {}
            for job in self.store.jobs.values():
                self.finetunes.advance(job, now)
                statuses[job.obj["status"]] = statuses.get(job.obj["status"], 0) + 1
            endpoints = []
            states: dict[str, int] = {}
            for endpoint in self.store.endpoints.values():
                self.endpoints.settle(endpoint, now)
                bill = self.endpoints.billing(endpoint, now)
                endpoints.append(bill)
                states[bill["state"]] = states.get(bill["state"], 0) + 1
            return {
                "jobs": statuses,
                "files": len(self.store.files),
                "tuned_models": self.tuned_names(),
                "endpoints": {
                    "states": states,
                    "running": sum(1 for e in endpoints if e["state"] in {"PENDING", "STARTING", "STARTED"}),
                    "billed_minutes": sum(e["billed_minutes"] for e in endpoints),
                    "cost_usd": round(sum(e["cost_usd"] for e in endpoints), 4),
                    "list": endpoints,
                },
            }


def parse_examples(data: bytes) -> list[Example]:
    """(prompt messages, answer) for each line Together can train on: conversation, instruction or
    preference lines (plain ``text`` lines teach no answers and are skipped)."""
    examples: list[Example] = []
    for line in data.decode("utf-8", "replace").splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        if isinstance(record.get("messages"), list):
            split = split_example(record["messages"])
            if split is not None:
                examples.append(split)
        elif "prompt" in record and "completion" in record:
            examples.append(([{"role": "user", "content": str(record["prompt"])}], str(record["completion"])))
        elif isinstance(record.get("input"), dict) and isinstance(record.get("preferred_output"), list):
            messages = record["input"].get("messages") or []
            preferred = record["preferred_output"]
            if preferred and isinstance(preferred[0], dict):
                examples.append((list(messages), content_text(preferred[0].get("content"))))
    return examples


def _learner_of(examples: list[tuple[list[Mapping[str, Any]], str]]) -> NearestNeighbour:
    return NearestNeighbour([(prompt_text(m), a) for m, a in examples])
