"""Evaluation throughput under rate limits: ftclient's runner vs a naive SDK loop vs the cookbook approach.

Each client sends the same chat requests (classification prompts from fixtures/eval/tickets.csv, made unique)
to a fresh emulator process with RPM and TPM limits and a fixed latency, and the emulator's own statistics
count what it answered and what it refused. "Ideal" is the rate the limits allow for this workload:
``min(rpm, tpm / charge) / 60`` per second, where ``charge`` is what the emulator counts per request (prompt
tokens + max_tokens), exactly as OpenAI does at admission. "Sustained" is the completion rate between the
10% and 90% marks, so that start-up and the tail do not distort it.

    python benchmarks/eval_throughput.py                       # strict limits (enforced per second)
    python benchmarks/eval_throughput.py --burst-s 60          # a full minute of burst allowed
    python benchmarks/eval_throughput.py --json results.json
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx2

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

MODEL = "gpt-4.1-mini-2025-04-14"
SYSTEM = "Classify the customer support ticket. Answer with exactly one label: billing, technical, account, shipping."
API_KEY = "sk-benchmark"


class Emulator:
    """``ftclient emulator`` in its own process (so client and server do not share one GIL)."""

    def __init__(self, *, rpm: int, tpm: int, latency_ms: float, burst_s: float) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ftclient",
                "emulator",
                "--port",
                str(self.port),
                "--rpm",
                str(rpm),
                "--tpm",
                str(tpm),
                "--latency-ms",
                str(latency_ms),
                "--burst-s",
                str(burst_s),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx2.get(f"{self.url}/_emulator/stats", timeout=1.0)
                break
            except httpx2.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stats(self) -> dict[str, Any]:
        return dict(httpx2.get(f"{self.url}/_emulator/stats", timeout=5.0).json())

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def workload(n: int) -> tuple[list[dict[str, Any]], list[str]]:
    """``n`` distinct classification prompts (chat messages) and their labels."""
    with (REPO / "fixtures" / "eval" / "tickets.csv").open(encoding="utf-8") as fh:
        rows = [(r["text"], r["category"]) for r in csv.DictReader(fh)]
    messages, labels = [], []
    for i in range(n):
        text, label = rows[i % len(rows)]
        messages.append(
            {"messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": f"{text} (ticket #{i})"}]}
        )
        labels.append(label)
    return messages, labels


def ideal_wall_s(n: int, charge: float, *, rpm: int, tpm: int, burst_s: float, latency_s: float) -> float:
    """The shortest possible time for ``n`` requests: what the initial buckets admit at once, the rest at the
    refill rate, plus one latency."""
    by_requests = (n - max(1.0, rpm * burst_s / 60)) / (rpm / 60)
    by_tokens = (n * charge - tpm * burst_s / 60) / (tpm / 60)
    return max(0.0, by_requests, by_tokens) + latency_s


def summarize(
    name: str,
    n: int,
    done_times: Sequence[float],
    *,
    started: float,
    ended: float,
    failed: int,
    before: dict[str, Any],
    after: dict[str, Any],
    ideal_rps: float,
    ideal_wall: float,
    note: str = "",
) -> dict[str, Any]:
    route = "POST /v1/chat/completions"
    b = before["requests"]["by_route"].get(route, {})
    a = after["requests"]["by_route"].get(route, {})
    requests = sum(a.values()) - sum(b.values())
    refused = a.get("429", 0) - b.get("429", 0)
    times = sorted(done_times)
    sustained = None
    if len(times) >= 10:
        lo, hi = times[len(times) // 10], times[(len(times) * 9) // 10]
        sustained = ((len(times) * 9) // 10 - len(times) // 10) / (hi - lo) if hi > lo else None
    wall = ended - started
    return {
        "client": name,
        "items": n,
        "completed": len(times),
        "failed": failed,
        "requests": requests,
        "http_429": refused,
        "share_429": refused / requests if requests else 0.0,
        "wall_s": round(wall, 2),
        "overall_rps": round(len(times) / wall, 3) if wall else None,
        "sustained_rps": round(sustained, 3) if sustained else None,
        "share_of_limit": round(sustained / ideal_rps, 4) if sustained else None,
        "ideal_wall_s": round(ideal_wall, 2),
        "share_of_ideal_wall": round(ideal_wall / wall, 4) if wall and len(times) == n else None,
        "note": note,
    }


def run_ftclient(test_file: Path, n: int, concurrency: int) -> tuple[list[float], int, float, float, str]:
    import ftclient
    from ftclient.evaluate.runner import Progress

    marks: list[float] = []
    seen = [0]

    def on_progress(p: Progress) -> None:
        now = time.monotonic()
        marks.extend([now] * (p.done - seen[0]))
        seen[0] = p.done

    with tempfile.TemporaryDirectory() as home:
        os.environ["FTCLIENT_HOME"] = home
        started = time.monotonic()
        report = ftclient.evaluate(
            model=MODEL,
            test=test_file,
            task="classify",
            no_baseline=True,
            use_cache=False,
            concurrency=concurrency,
            out=Path(home) / "report",
            on_progress=on_progress,
            resamples=100,
        )
        ended = time.monotonic()
    failed = report.models[0].failed
    accuracy = report.models[0].metrics["accuracy"]
    return marks, failed, started, ended, f"accuracy {accuracy:.3f} (base model)"


def run_naive(
    base_url: str, bodies: Sequence[dict[str, Any]], max_tokens: int
) -> tuple[list[float], int, float, float, str]:
    from openai import OpenAI  # the benchmark compares against the bare SDK on purpose

    client = OpenAI(api_key=API_KEY, base_url=base_url)  # default max_retries=2
    marks: list[float] = []
    failed = 0
    started = time.monotonic()
    for body in bodies:
        try:
            client.chat.completions.create(
                model=MODEL, messages=body["messages"], max_tokens=max_tokens, temperature=0, seed=42
            )
            marks.append(time.monotonic())
        except Exception:
            failed += 1
    return marks, failed, started, time.monotonic(), "openai SDK, one request at a time, SDK retries (2)"


def run_cookbook(
    base_url: str, bodies: Sequence[dict[str, Any]], max_tokens: int, *, rpm: int, tpm: int, budget_s: float
) -> tuple[list[float], int, float, float, str]:
    from eval_cookbook_approach import run

    from ftclient.tokens import get_encoding

    enc = get_encoding("cl100k_base")
    requests = [
        {"model": MODEL, "messages": b["messages"], "max_tokens": max_tokens, "temperature": 0, "seed": 42}
        for b in bodies
    ]
    started = time.monotonic()
    result = asyncio.run(
        run(
            f"{base_url}/chat/completions",
            API_KEY,
            requests,
            rpm=rpm,
            tpm=tpm,
            encode=lambda t: enc.encode(t, disallowed_special=()),
            budget_s=budget_s,
        )
    )
    note = f"{result.rate_limit_errors} rate-limit errors seen, 15 s pause after each"
    if result.stopped_early:
        unfinished = len(bodies) - result.succeeded - result.failed
        note += f"; stopped at the {budget_s:.0f} s budget with {unfinished} items unfinished"
    return result.done_times, result.failed, started, time.monotonic(), note


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rpm", type=int, default=600)
    parser.add_argument("--tpm", type=int, default=30_000)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--burst-s", type=float, default=1.0)
    parser.add_argument("--n", type=int, default=400, help="items for ftclient and the cookbook approach")
    parser.add_argument("--naive-n", type=int, default=100, help="items for the sequential loop")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--cookbook-budget-s", type=float, default=120.0)
    parser.add_argument("--clients", default="ftclient,cookbook,naive")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    from ftclient import tokens
    from ftclient.evaluate.api import max_tokens_for
    from ftclient.evaluate.types import Example

    bodies, labels = workload(args.n)
    examples = [Example(i, b["messages"], lab) for i, (b, lab) in enumerate(zip(bodies, labels, strict=True))]
    max_tokens = max_tokens_for("classify", examples, MODEL)
    charge = sum(tokens.count_chat(b["messages"], MODEL) + max_tokens for b in bodies) / len(bodies)
    ideal_rps = min(args.rpm, args.tpm / charge) / 60.0
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        test_file = Path(tmp) / "test.jsonl"
        with test_file.open("w", encoding="utf-8") as fh:
            for body, label in zip(bodies, labels, strict=True):
                fh.write(json.dumps({"messages": [*body["messages"], {"role": "assistant", "content": label}]}) + "\n")
        for client in [c.strip() for c in args.clients.split(",") if c.strip()]:
            emu = Emulator(rpm=args.rpm, tpm=args.tpm, latency_ms=args.latency_ms, burst_s=args.burst_s)
            os.environ["OPENAI_BASE_URL"] = f"{emu.url}/v1"
            os.environ["OPENAI_API_KEY"] = API_KEY
            try:
                before = emu.stats()
                if client == "ftclient":
                    out = run_ftclient(test_file, args.n, args.concurrency)
                    n = args.n
                elif client == "naive":
                    n = args.naive_n
                    out = run_naive(f"{emu.url}/v1", bodies[:n], max_tokens)
                elif client == "cookbook":
                    n = args.n
                    out = run_cookbook(
                        f"{emu.url}/v1", bodies, max_tokens, rpm=args.rpm, tpm=args.tpm, budget_s=args.cookbook_budget_s
                    )
                else:
                    raise SystemExit(f"unknown client {client!r}")
                after = emu.stats()
            finally:
                emu.close()
            marks, failed, started, ended, note = out
            ideal_wall = ideal_wall_s(
                n, charge, rpm=args.rpm, tpm=args.tpm, burst_s=args.burst_s, latency_s=args.latency_ms / 1000
            )
            row = summarize(
                client,
                n,
                marks,
                started=started,
                ended=ended,
                failed=failed,
                before=before,
                after=after,
                ideal_rps=ideal_rps,
                ideal_wall=ideal_wall,
                note=note,
            )
            results.append(row)
            print(json.dumps(row), file=sys.stderr)
    doc = {
        "settings": {
            "rpm": args.rpm,
            "tpm": args.tpm,
            "latency_ms": args.latency_ms,
            "burst_s": args.burst_s,
            "model": MODEL,
            "max_tokens": max_tokens,
            "mean_charge_tokens": round(charge, 1),
            "ideal_rps": round(ideal_rps, 3),
            "binding_limit": "tpm" if args.tpm / charge < args.rpm else "rpm",
            "cpus": os.cpu_count(),
        },
        "results": results,
    }
    print(markdown(doc))
    if args.json:
        args.json.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return 0


def markdown(doc: dict[str, Any]) -> str:
    s = doc["settings"]
    lines = [
        f"RPM {s['rpm']}, TPM {s['tpm']}, latency {s['latency_ms']:.0f} ms, limits enforced over "
        f"{s['burst_s']:g} s; {s['mean_charge_tokens']} tokens charged per request -> ideal "
        f"{s['ideal_rps']} requests/s ({s['binding_limit'].upper()} binds)",
        "",
        "| client | items | completed | failed | requests | HTTP 429 | sustained req/s | share of limit | "
        "wall s | ideal wall s | note |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in doc["results"]:
        share = f"{100 * r['share_of_limit']:.1f}%" if r["share_of_limit"] is not None else "-"
        lines.append(
            f"| {r['client']} | {r['items']} | {r['completed']} | {r['failed']} | {r['requests']} | "
            f"{r['http_429']} ({100 * r['share_429']:.1f}%) | {r['sustained_rps']} | {share} | "
            f"{r['wall_s']} | {r['ideal_wall_s']} | {r['note']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
