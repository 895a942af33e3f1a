"""How many chat completions per second the emulator serves over loopback.

The emulator runs in its own process (``ftclient emulator --port 0 --json``), as it does for the
evaluation benchmarks; client threads in this process send ``POST /v1/chat/completions`` on keep-alive
connections (``http.client``, the lightest client at hand) for a fixed time. Besides requests per second
it reports the emulator process's CPU time per request (from /proc), which says what the server could
sustain on one core whatever the client manages. Prints one JSON document with the figures.

    python benchmarks/emulator_throughput.py --clients 1 4 8 16 32 --seconds 5
    python benchmarks/emulator_throughput.py --tuned      # a tuned model: nearest neighbour per request
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import httpx2

PROMPT = [
    {"role": "system", "content": "Classify the ticket. Answer with exactly one of: billing, technical, account."},
    {"role": "user", "content": "I was charged twice for my subscription this month, please help."},
]


def start_emulator(extra: list[str]) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "ftclient", "emulator", "--port", "0", "--json", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    assert process.stdout is not None
    text = ""
    while True:  # --json writes one (indented) document once the port is bound
        line = process.stdout.readline()
        if not line:
            process.kill()
            raise SystemExit("the emulator did not start")
        text += line
        if line.rstrip() == "}":
            try:
                return process, json.loads(text)["base_url"]
            except (ValueError, KeyError):
                process.kill()
                raise


def tuned_model(base_url: str) -> str:
    """Train a model on the built-in tickets (the clock is pushed forward through the control endpoint)."""
    from ftclient.emulator.samples import classification_examples, to_jsonl

    headers = {"Authorization": "Bearer sk-bench"}
    with httpx2.Client(base_url=base_url, headers=headers, timeout=30) as client:
        file_id = client.post("/files", files={"file": ("t.jsonl", to_jsonl(classification_examples()))},
                              data={"purpose": "fine-tune"}).json()["id"]
        job_id = client.post("/fine_tuning/jobs", json={"model": "gpt-4o-mini", "training_file": file_id}).json()["id"]
        httpx2.post(base_url.removesuffix("/v1") + "/_emulator/clock", json={"advance": 100_000})
        model = client.get(f"/fine_tuning/jobs/{job_id}").json()["fine_tuned_model"]
    assert model, "the tuned model did not finish"
    return str(model)


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a process has used (Linux /proc; None elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(base_url: str, clients: int, seconds: float, model: str, server_pid: int | None = None) -> dict[str, Any]:
    latencies: list[list[float]] = [[] for _ in range(clients)]
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds
    body = {"model": model, "messages": PROMPT, "max_tokens": 5}

    payload = json.dumps(body).encode()
    target = urlsplit(base_url)
    headers = {"Authorization": "Bearer sk-bench", "Content-Type": "application/json"}

    def worker(index: int) -> None:
        # http.client rather than the SDK: the lightest keep-alive client, so the figures are the server's
        connection = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=30)
        try:
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                connection.request("POST", f"{target.path}/chat/completions", body=payload, headers=headers)
                response = connection.getresponse()
                response.read()
                latencies[index].append(time.perf_counter() - started)
                with lock:
                    statuses[response.status] = statuses.get(response.status, 0) + 1
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    began = time.perf_counter()
    cpu_before = time.process_time()
    server_before = cpu_seconds(server_pid) if server_pid else None
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    server_after = cpu_seconds(server_pid) if server_pid else None
    flat = sorted(x for per in latencies for x in per)
    total = len(flat)
    return {
        "clients": clients,
        "seconds": round(wall, 3),
        "requests": total,
        "requests_per_s": round(total / wall, 1),
        "requests_per_min": round(total / wall * 60),
        "statuses": statuses,
        "latency_ms_p50": round(statistics.median(flat) * 1000, 2) if flat else None,
        "latency_ms_p95": round(flat[int(0.95 * (total - 1))] * 1000, 2) if flat else None,
        "client_cpu_s": round(time.process_time() - cpu_before, 2),
        "server_cpu_s": round(server_after - server_before, 2) if server_before is not None and server_after else None,
        "server_cpu_ms_per_request": (round((server_after - server_before) / total * 1000, 3)
                                      if server_before is not None and server_after and total else None),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 8, 16])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--model", default="gpt-4o-mini-2024-07-18")
    parser.add_argument("--tuned", action="store_true", help="ask a model tuned on the built-in tickets")
    args = parser.parse_args()
    process, base_url = start_emulator([])
    try:
        if args.tuned:
            args.model = tuned_model(base_url)
        results = [run(base_url, clients, args.seconds, args.model, process.pid) for clients in args.clients]
        stats = httpx2.get(base_url.removesuffix("/v1") + "/_emulator/stats").json()
    finally:
        process.terminate()
        process.wait(timeout=10)
    print(json.dumps({
        "benchmark": "emulator_throughput",
        "endpoint": "POST /v1/chat/completions (keep-alive, emulator in its own process)",
        "model": args.model,
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "results": results,
        "server_completions": stats["completions"],
    }, indent=2))


if __name__ == "__main__":
    main()
