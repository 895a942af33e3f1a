"""A 120,000-input capture through the Batch API of a separate emulator process.

What it checks and measures:
- the inputs are split into valid batch files (each within 50,000 requests and 200 MB, every line accepted
  by the emulator's validation: no batch fails for its file);
- batches run concurrently within the emulated enqueued-token limit (``--queue-tokens`` on the emulator;
  ftclient is not told the limit and learns it from the refusals);
- the answers come back joined in input order with nothing lost (record ``i`` answers input ``i``);
- the wall time, and the emulated time the capture spanned compared with the Batch API's 24-hour
  completion window (the limit a capture has to fit in);
- a rerun sends nothing (every answer is in the response cache).

    python benchmarks/capture_scale.py                        # 120,000 inputs
    python benchmarks/capture_scale.py --inputs 12000 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx2

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MODEL = "gpt-4o-mini-2024-07-18"
SYSTEM = "Classify the customer support ticket. Answer with exactly one label: billing, technical, account, shipping."
WINDOW_S = 24 * 3600
TOPICS = ("invoice", "password", "parcel", "login", "refund", "crash", "address", "upgrade")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_inputs(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            text = f"Ticket {i}: a question about my {TOPICS[i % len(TOPICS)]}, case number {i * 7919 % 100003}."
            messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": text}]
            fh.write(json.dumps({"messages": messages}) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inputs", type=int, default=120_000)
    parser.add_argument("--speed", type=float, default=1_000.0, help="emulator clock speed")
    parser.add_argument("--queue-tokens", type=int, default=3_500_000, help="emulated enqueued-token limit")
    parser.add_argument("--json", dest="json_out", default=None)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ftclient-capture-bench-"))
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "FTCLIENT_HOME": str(work / "home")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ftclient",
            "emulator",
            "--port",
            str(port),
            "--speed",
            str(args.speed),
            "--start",
            "2026-12-01",
            "--batch-queue-tokens",
            str(args.queue_tokens),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx2.get(f"{url}/_emulator/health", timeout=1.0)
                break
            except httpx2.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        os.environ.update(
            OPENAI_BASE_URL=f"{url}/v1",
            OPENAI_API_KEY="sk-bench",
            FTCLIENT_HOME=str(work / "home"),
            FTCLIENT_POLL_INTERVAL_S="0.5",
        )
        import ftclient

        inputs = work / "inputs.jsonl"
        write_inputs(inputs, args.inputs)
        clock_before = httpx2.get(f"{url}/_emulator/clock").json()["now"]
        started = time.perf_counter()
        result = ftclient.capture(MODEL, inputs, out=work / "capture", batch=True, max_tokens=8, handle_signals=False)
        wall = time.perf_counter() - started
        clock_after = httpx2.get(f"{url}/_emulator/clock").json()["now"]
        state = json.loads((work / "capture" / "batches.json").read_text(encoding="utf-8"))["batches"]
        stats = httpx2.get(f"{url}/_emulator/stats").json()
        in_order = True
        lost = 0
        with (work / "capture" / "capture.jsonl").open(encoding="utf-8") as fh:
            for i, line in enumerate(fh):
                record = json.loads(line)
                in_order &= record["index"] == i and f"Ticket {i}:" in record["input"][1]["content"]
                lost += record["answer"] is None
        listed = httpx2.get(f"{url}/v1/batches", params={"limit": 100}, headers={"Authorization": "Bearer x"}).json()
        done = [b for b in listed["data"] if b["status"] == "completed"]
        batch_span_s = max(b["completed_at"] for b in done) - min(b["created_at"] for b in done)
        longest_batch_s = max(b["completed_at"] - b["created_at"] for b in done)
        posts_before = {k: v for k, v in stats["requests"]["by_route"].items() if k.startswith("POST")}
        rerun_started = time.perf_counter()
        again = ftclient.capture(MODEL, inputs, out=work / "capture", batch=True, max_tokens=8, handle_signals=False)
        rerun_wall = time.perf_counter() - rerun_started
        posts_after = {
            k: v
            for k, v in httpx2.get(f"{url}/_emulator/stats").json()["requests"]["by_route"].items()
            if k.startswith("POST")
        }
        figures: dict[str, Any] = {
            "inputs": args.inputs,
            "answered": result.answered,
            "lost": lost,
            "in_order": in_order,
            "batches_submitted": result.batch_stats["submitted"],
            "batches_refused_for_tokens": result.batch_stats["refused_for_tokens"],
            "largest_batch_requests": max(b["requests"] for b in state),
            "largest_batch_mb": round(max(b["bytes"] for b in state) / 1024**2, 2),
            "peak_concurrent_batches": result.batch_stats["peak_concurrent"],
            "peak_enqueued_tokens_estimate": result.batch_stats["peak_enqueued_tokens"],
            "emulated_queue_limit": args.queue_tokens,
            "batches_failed_for_their_file": sum(1 for b in listed["data"] if b["status"] == "failed")
            - stats.get("batches_over_token_limit", 0),
            "wall_s": round(wall, 1),
            "emulated_batch_span_h": round(batch_span_s / 3600, 2),
            "longest_batch_h": round(longest_batch_s / 3600, 2),
            "emulated_span_seen_by_client_h": round((clock_after - clock_before) / 3600, 2),
            "batch_window_h": WINDOW_S / 3600,
            "emulator_speed": args.speed,
            "rerun_sent": again.sent,
            "rerun_wall_s": round(rerun_wall, 1),
            "rerun_new_posts": {
                k: posts_after[k] - posts_before.get(k, 0)
                for k in posts_after
                if posts_after[k] != posts_before.get(k, 0)
            },
            "cost_usd": result.cost_usd,
        }
        print(json.dumps(figures, indent=2))
        if args.json_out:
            Path(args.json_out).write_text(json.dumps(figures, indent=2), encoding="utf-8")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
