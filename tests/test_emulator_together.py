"""The emulator's Together dialect on the wire: paths, shapes, statuses, timestamps, endpoints and billing."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread
from ftclient.emulator.samples import classification_examples

BASE = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
AUTH = {"Authorization": "Bearer tk-test"}


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with run_in_thread(EmulatorConfig(provider="together", seed=5)) as running:
        yield running


@pytest.fixture
def http(emu: Emulator) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=emu.base_url, headers=AUTH, timeout=10) as client:
        yield client


def training_bytes(examples: list[dict[str, Any]] | None = None) -> bytes:
    return "".join(json.dumps(e) + "\n" for e in (examples or classification_examples())).encode()


def upload(http: httpx2.Client, data: bytes, name: str = "train.jsonl") -> dict[str, Any]:
    announced = http.post("/files", data={"purpose": "fine-tune", "file_name": name, "file_type": "jsonl"})
    assert announced.status_code == 302
    put = httpx2.put(announced.headers["location"], content=data)  # signed URL: no credentials
    assert put.status_code == 200 and put.headers["etag"]
    done = http.post(f"/files/{announced.headers['x-together-file-id']}/preprocess")
    assert done.status_code == 200
    return dict(done.json())


def is_iso(value: str) -> bool:
    return value.endswith("Z") and dt.datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None


def test_files_use_together_shapes_and_signed_urls(emu: Emulator, http: httpx2.Client) -> None:
    data = training_bytes()
    obj = upload(http, data)
    assert set(obj) >= {"id", "object", "created_at", "filename", "bytes", "purpose", "FileType", "Processed"}
    assert obj["FileType"] == "jsonl" and obj["Processed"] is True and obj["bytes"] == len(data)
    assert http.get(f"/files/{obj['id']}/content").content == data
    announced = http.post("/files", data={"purpose": "fine-tune", "file_name": "x.jsonl"})
    forged = announced.headers["location"].split("?")[0] + "?X-Emulator-Signature=forged"
    assert httpx2.put(forged, content=b"{}").status_code == 403
    assert httpx2.post(f"{emu.base_url}/files", data={"purpose": "fine-tune"}).status_code == 401
    csv = http.post("/files", data={"purpose": "fine-tune", "file_name": "a.csv", "file_type": "csv"})
    assert csv.status_code == 400
    one_shot = http.post(
        "/files/upload", data={"purpose": "fine-tune", "file_name": "u.jsonl"}, files={"file": ("u.jsonl", data)}
    )
    assert one_shot.status_code == 200 and one_shot.json()["Processed"] is True
    assert http.delete(f"/files/{obj['id']}").json() == {"id": obj["id"], "deleted": True}


def test_models_limits_and_price_estimate(http: httpx2.Client) -> None:
    assert BASE in http.get("/fine-tunes/models/supported").json()["models"]
    limits = http.get("/fine-tunes/models/limits", params={"model_name": BASE}).json()
    assert limits["lora_training"]["max_rank"] == 64 and limits["max_num_epochs"] == 20
    assert http.get("/fine-tunes/models/limits", params={"model_name": "acme/unknown"}).status_code == 404
    file_id = upload(http, training_bytes())["id"]
    one = http.post("/fine-tunes/estimate-price", json={"training_file": file_id, "model": BASE}).json()
    three = http.post("/fine-tunes/estimate-price", json={"training_file": file_id, "model": BASE, "n_epochs": 3})
    assert one["allowed_to_proceed"] is True and one["estimated_train_token_count"] > 0
    assert three.json()["estimated_train_token_count"] == 3 * one["estimated_train_token_count"]


def test_a_job_walks_together_statuses_with_iso_timestamps(emu: Emulator, http: httpx2.Client) -> None:
    file_id = upload(http, training_bytes())["id"]
    created = http.post("/fine-tunes", json={"model": BASE, "training_file": file_id, "n_epochs": 2, "suffix": "t"})
    job = created.json()
    assert job["id"].startswith("ft-") and job["status"] == "pending" and is_iso(job["created_at"])
    seen = []
    for _ in range(80):
        emu.advance(2)
        status = http.get(f"/fine-tunes/{job['id']}").json()["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status == "completed":
            break
    assert seen == ["pending", "queued", "running", "compressing", "uploading", "completed"]
    full = http.get(f"/fine-tunes/{job['id']}").json()
    assert full["model_output_name"].startswith("ftclient-emulator/") and full["token_count"] > 0
    events = http.get(f"/fine-tunes/{job['id']}/events").json()["data"]
    kinds = [e["type"] for e in events]  # UPPER-CASE, as the live API sends them (real-payloads/together/job-1)
    assert kinds[0] == "JOB_PENDING" and kinds[-1] == "JOB_COMPLETE" and "CHECKPOINT_SAVE" in kinds
    assert all(is_iso(e["created_at"]) and e["object"] == "fine-tune-event" for e in events)
    assert full["events"] == events
    checkpoints = http.get(f"/fine-tunes/{job['id']}/checkpoints").json()["data"]
    assert checkpoints[0]["checkpoint_type"] == "Final" and checkpoints[-1]["checkpoint_type"] == "Intermediate"
    metrics = http.get(f"/fine-tunes/{job['id']}/metrics").json()["metrics"]
    assert metrics[0]["train/loss"] > metrics[-1]["train/loss"]
    assert [j["id"] for j in http.get("/fine-tunes").json()["data"]] == [job["id"]]


def test_cancel_bad_data_and_injected_failures(emu: Emulator, http: httpx2.Client) -> None:
    file_id = upload(http, training_bytes())["id"]
    job = http.post("/fine-tunes", json={"model": BASE, "training_file": file_id}).json()
    assert http.post(f"/fine-tunes/{job['id']}/cancel").json()["status"] == "cancel_requested"
    emu.advance(5)
    assert http.get(f"/fine-tunes/{job['id']}").json()["status"] == "cancelled"
    extra = [dict(e, note="x") for e in classification_examples()]
    bad = http.post("/fine-tunes", json={"model": BASE, "training_file": upload(http, training_bytes(extra))["id"]})
    emu.advance(10)
    failed = http.get(f"/fine-tunes/{bad.json()['id']}").json()
    assert failed["status"] == "user_error" and failed["events"][-1]["level"] == "error"
    assert "note" in failed["events"][-1]["message"]
    doomed = http.post("/fine-tunes", json={"model": BASE, "training_file": file_id}).json()
    emu.inject("*", "fail_job", job_id=doomed["id"], at_step=2, message="GPU fell over")
    emu.advance(1000)
    assert http.get(f"/fine-tunes/{doomed['id']}").json()["status"] == "error"
    assert http.post("/fine-tunes", json={"model": "acme/unknown", "training_file": file_id}).status_code == 400
    assert emu.stats()["jobs"] == {"cancelled": 1, "user_error": 1, "error": 1}


def finished_model(emu: Emulator, http: httpx2.Client, base: str = BASE) -> str:
    file_id = upload(http, training_bytes())["id"]
    job = http.post("/fine-tunes", json={"model": base, "training_file": file_id}).json()
    emu.advance(10_000)
    return str(http.get(f"/fine-tunes/{job['id']}").json()["model_output_name"])


def test_endpoints_start_bill_by_the_minute_and_stop_when_idle(emu: Emulator, http: httpx2.Client) -> None:
    model = finished_model(emu, http)
    assert http.get("/hardware", params={"model": BASE}).status_code == 404  # -Reference bases cannot be hosted
    hardware = http.get("/hardware", params={"model": model}).json()["data"]
    assert {"pricing", "specs", "availability"} <= set(hardware[0])
    body = {
        "model": model,
        "hardware": "1x_nvidia_h100_80gb_sxm",
        "autoscaling": {"min_replicas": 1, "max_replicas": 1},
    }
    endpoint = http.post("/endpoints", json={**body, "inactive_timeout": 5}).json()
    assert endpoint["state"] == "PENDING" and endpoint["type"] == "dedicated" and is_iso(endpoint["created_at"])
    emu.advance(30)
    assert http.get(f"/endpoints/{endpoint['id']}").json()["state"] == "STARTING"
    emu.advance(40)
    assert http.get(f"/endpoints/{endpoint['id']}").json()["state"] == "STARTED"
    question = {"model": endpoint["name"], "messages": classification_examples()[0]["messages"][:-1]}
    assert http.post("/chat/completions", json=question).status_code == 200
    emu.advance(4 * 60)
    assert http.post("/chat/completions", json=question).status_code == 200  # a request resets the idle clock
    emu.advance(5 * 60 + 20)
    assert http.get(f"/endpoints/{endpoint['id']}").json()["state"] == "STOPPED"
    stopped = http.post("/chat/completions", json=question)
    assert stopped.status_code == 400 and "STOPPED" in stopped.json()["error"]["message"]
    bill = emu.stats()["endpoints"]["list"][0]
    assert bill["history"][-2:] == ["INACTIVE_TIMEOUT", "STOPPED"]
    assert bill["billed_minutes"] == 11  # 65 s starting + 9 min started + 10 s stopping, rounded up
    assert bill["cost_usd"] == pytest.approx(11 * 0.0558)
    manual = http.post("/endpoints", json=body).json()
    emu.advance(100)
    assert http.patch(f"/endpoints/{manual['id']}", json={"state": "STOPPED"}).json()["state"] == "STOPPING"
    emu.advance(60)
    assert http.get(f"/endpoints/{manual['id']}").json()["state"] == "STOPPED"
    assert http.delete(f"/endpoints/{manual['id']}").status_code == 204
    assert http.get(f"/endpoints/{manual['id']}").status_code == 404
    assert emu.stats()["endpoints"]["running"] == 0


def test_chat_serves_bases_and_refuses_undeployed_tuned_models(emu: Emulator, http: httpx2.Client) -> None:
    model = finished_model(emu, http, base="Qwen/Qwen3-8B")  # not a serverless-LoRA base
    messages = classification_examples()[0]["messages"][:-1]
    base = http.post("/chat/completions", json={"model": BASE, "messages": messages})
    assert base.status_code == 200 and base.headers["x-emulator-answer"] == "baseline"
    assert set(base.json()) >= {"id", "object", "created", "model", "choices", "prompt", "usage"}
    direct = http.post("/chat/completions", json={"model": model, "messages": messages})
    # as captured from the live API (real-payloads/together/error-404-1): 404, model_not_available
    assert direct.status_code == 404 and direct.json()["error"]["code"] == "model_not_available"
    # ... with the request id at the top level beside "error", the same id as the header, in Together's shape
    assert direct.json()["id"] == direct.headers["x-request-id"]
    assert re.fullmatch(r"[A-Za-z0-9]{7}-[A-Za-z0-9]{6}-[0-9a-f]{16}", direct.json()["id"])
    lora = finished_model(emu, http)  # a LoRA adapter on Meta-Llama-3.1-8B-Instruct-Reference: serverless
    served = http.post("/chat/completions", json={"model": lora, "messages": messages})
    assert served.status_code == 200 and served.headers["x-emulator-answer"].startswith("nearest-neighbour")
    assert http.post("/chat/completions", json={"model": "acme/nothing", "messages": messages}).status_code == 404
    listed = {m["id"] for m in http.get("/models").json()}
    assert BASE in listed and model in listed


def test_state_survives_a_restart(tmp_path: Any) -> None:
    config = EmulatorConfig(provider="together", state_dir=tmp_path)
    with run_in_thread(config) as first, httpx2.Client(base_url=first.base_url, headers=AUTH) as http:
        model = finished_model(first, http)
    with run_in_thread(config) as second, httpx2.Client(base_url=second.base_url, headers=AUTH) as http:
        assert model in {m["id"] for m in http.get("/models").json()}
        assert http.get("/fine-tunes").json()["data"][0]["status"] == "completed"
