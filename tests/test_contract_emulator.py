"""Contract: the official SDK drives the emulator through Prism's validating proxy.

``prism proxy --errors SPEC UPSTREAM`` checks every request against the official OpenAPI spec before
forwarding it, and every response the emulator gives back; with ``--errors`` a violation becomes a 500
(or a 422 for a bad request), which the SDK raises. Prism serves the spec's paths without the ``/v1``
prefix of its ``servers`` entry, so the SDK talks to ``http://127.0.0.1:PRISM`` and Prism forwards to
``<emulator>/v1/<path>``. The spec is cut down to the operations the emulator serves (and the
components they reference) so Prism starts in seconds instead of half a minute.

Skipped when Prism (``npm install --prefix .ci/node @stoplight/prism-cli@5``) or the spec is absent.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest

from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread
from ftclient.emulator.samples import SYSTEM_PROMPT, classification_examples, to_jsonl
from tests.conftest import REPO, SHARED

SPEC = SHARED / "openapi" / "openai-openapi.yaml"
pytestmark = [pytest.mark.contract, pytest.mark.skipif(not SPEC.exists(), reason="the OpenAPI spec is not present")]


def find_prism() -> str | None:
    local = REPO / ".ci" / "node" / "node_modules" / ".bin" / "prism"
    return shutil.which("prism") or (str(local) if local.exists() else None)


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            found.add(node["$ref"])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def trimmed_spec(routes: list[str], out: Path) -> Path:
    """The spec with only the emulator's paths and the components they reach."""
    yaml = pytest.importorskip("yaml")
    with SPEC.open(encoding="utf-8") as handle:
        spec = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    paths = sorted({route.split(" ", 1)[1].removeprefix("/v1") for route in routes})
    kept_paths = {path: spec["paths"][path] for path in paths}
    pending: set[str] = set()
    _refs(kept_paths, pending)
    seen: set[str] = set()
    components: dict[str, dict[str, Any]] = {}
    while pending:
        ref = pending.pop()
        if ref in seen or not ref.startswith("#/components/"):
            continue
        seen.add(ref)
        _, _, kind, name = ref.split("/", 3)
        node = spec["components"][kind][name]
        components.setdefault(kind, {})[name] = node
        _refs(node, pending)
    if "securitySchemes" in spec["components"]:
        components["securitySchemes"] = spec["components"]["securitySchemes"]
    document = {key: value for key, value in spec.items() if key not in {"paths", "components", "webhooks"}}
    document.update(paths=kept_paths, components=components)
    out.write_text(json.dumps(document), encoding="utf-8")
    return out


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def prism_proxy(prism: str, spec: Path, target: str) -> Iterator[str]:
    """``prism proxy --errors`` on a free loopback port in front of ``target``; yields its base URL.

    Every request and response through it is validated against ``spec``; a violation becomes an error
    response, so a test that passes through it speaks the spec."""
    port = _free_port()
    command = [prism, "proxy", "--errors", "-h", "127.0.0.1", "-p", str(port), str(spec), target]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        log: list[str] = []
        while "Prism is listening" not in (log[-1] if log else ""):
            line = process.stdout.readline()
            if not line or time.monotonic() > deadline:
                pytest.fail("Prism did not start:\n" + "".join(log[-20:]))
            log.append(line)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.communicate(timeout=10)


@pytest.fixture(scope="module")
def through_prism(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Emulator, str]]:
    prism = find_prism()
    if prism is None:
        pytest.skip("Prism is not installed (npm install --prefix .ci/node @stoplight/prism-cli@5)")
    with run_in_thread(EmulatorConfig(speed=1.0, seed=9)) as emu:
        spec = trimmed_spec(list(emu.core.router.routes()), tmp_path_factory.mktemp("prism") / "openai.json")
        with prism_proxy(prism, spec, emu.base_url) as url:
            yield emu, url


def test_sdk_flow_through_the_validating_proxy(through_prism: tuple[Emulator, str]) -> None:
    emu, proxy_url = through_prism
    client = openai.OpenAI(base_url=proxy_url, api_key="sk-test", max_retries=0)
    assert client.files.list().data == [] and client.batches.list().data == []  # empty pages are valid too
    train = client.files.create(file=("train.jsonl", to_jsonl(classification_examples())), purpose="fine-tune")
    assert client.files.retrieve(train.id).id == train.id
    # Not through Prism: the spec declares GET /files/{id}/content as an application/json string, while the
    # API (and the emulator) send the file's bytes as application/octet-stream; Prism would flag the media type.
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=train.id, suffix="prism",
                                         seed=3, metadata={"via": "prism"},
                                         method={"type": "supervised", "supervised": {"hyperparameters": {
                                             "n_epochs": 2, "batch_size": 1, "learning_rate_multiplier": 0.5}}})
    emu.advance(40)
    assert client.fine_tuning.jobs.retrieve(job.id).status == "running"
    emu.advance(10_000)
    done = client.fine_tuning.jobs.retrieve(job.id)
    assert done.status == "succeeded" and done.fine_tuned_model
    events = client.fine_tuning.jobs.list_events(job.id, limit=50)
    assert any(e.type == "metrics" for e in events.data)
    assert len(client.fine_tuning.jobs.checkpoints.list(job.id).data) == 2
    assert [j.id for j in client.fine_tuning.jobs.list(metadata={"via": "prism"})] == [job.id]
    answer = client.chat.completions.create(model=done.fine_tuned_model, max_tokens=20, temperature=0, seed=1,
                                            messages=[{"role": "system", "content": SYSTEM_PROMPT},
                                                      {"role": "user", "content": "reset my password"}])
    assert answer.choices[0].message.content == "account"
    assert client.moderations.create(input="have a nice day").results[0].flagged is False
    assert client.models.retrieve("gpt-4o-mini-2024-07-18").id == "gpt-4o-mini-2024-07-18"
    upload = client.uploads.create(bytes=3, filename="u.jsonl", mime_type="text/jsonl", purpose="fine-tune")
    part = client.uploads.parts.create(upload.id, data=b"{}\n")
    assert client.uploads.complete(upload.id, part_ids=[part.id]).status == "completed"
    line = {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi."}]}}
    batch_input = client.files.create(file=("b.jsonl", to_jsonl([line])), purpose="batch")
    batch = client.batches.create(input_file_id=batch_input.id, endpoint="/v1/chat/completions",
                                  completion_window="24h")
    emu.advance(100)
    assert client.batches.retrieve(batch.id).status == "completed"
    assert client.files.delete(batch_input.id).deleted
    with pytest.raises(openai.NotFoundError):
        client.fine_tuning.jobs.retrieve("ftjob-missing")
    by_route = emu.stats()["requests"]["by_route"]
    assert by_route["POST /v1/fine_tuning/jobs"] == {"200": 1}
    assert by_route["POST /v1/chat/completions"] == {"200": 1}
    assert "500" not in emu.stats()["requests"]["by_status"]


def test_prism_really_validates(through_prism: tuple[Emulator, str]) -> None:
    """A request the spec forbids is stopped by Prism and never reaches the emulator."""
    emu, proxy_url = through_prism
    before = emu.stats()["requests"]["total"]
    refused = httpx2.post(f"{proxy_url}/fine_tuning/jobs", json={"model": "gpt-4o-mini", "training_file": "file-x",
                                                                   "suffix": "x" * 80},
                          headers={"Authorization": "Bearer sk-test"}, timeout=10)
    assert refused.status_code == 422
    assert refused.json()["validation"][0]["location"] == ["body", "suffix"]
    assert emu.stats()["requests"]["total"] == before
