"""Benchmark: `ftclient validate` against the cookbook notebook's checks and against tiktoken alone.

    python benchmarks/validate_speed.py --repeat 10          # ~80,000-example chat JSONL, ten rounds
    python benchmarks/validate_speed.py --examples 1000000 --max-words 40 --memory --repeat 1   # peak memory

All three contenders are separate processes timed end to end (interpreter start, imports, loading the
encoding, reading the file), on the same file, one after the other in each round. Besides best-of-rounds
ratios it prints each round's validate/notebook ratio (runs seconds apart, so a change in machine speed
between rounds cancels out) and their median:

- ``ftclient validate FILE --json``: schemas, provider rules, exact token counts, duplicates, cost.
- ``benchmarks/cookbook_check.py``: what OpenAI's data-check notebook does (load all, its format checks,
  per-example token counts with the right encoding, distributions, epoch and billing estimate).
- ``benchmarks/tiktoken_only.py``: tiktoken encoding every message string once, nothing else.

The encodings come from ftclient's shipped copies: for the two tiktoken scripts they are placed in a
``TIKTOKEN_CACHE_DIR`` under tiktoken's own cache names, so tiktoken loads them as it would after a download.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from make_chat_jsonl import write  # noqa: E402

CACHE_NAMES = {
    "o200k_base": "fb374d419588a4632f3f557e76b4b70aebbca790",
    "cl100k_base": "9b5ad71b2ce5302211f9c61530b329a4922fc6a4",
}


def tiktoken_cache(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, cache_name in CACHE_NAMES.items():
        target = folder / cache_name
        if not target.exists():
            shutil.copy(REPO / "ftclient" / "data" / f"{name}.tiktoken", target)
    return folder


def _memory_kb(pid: int) -> int:
    """Proportional set size of one process (pages shared with forked workers counted once overall)."""
    rollup = Path(f"/proc/{pid}/smaps_rollup")
    source, field = (rollup, "Pss:") if rollup.exists() else (Path(f"/proc/{pid}/status"), "VmRSS:")
    return int(next(line.split()[1] for line in source.read_text().splitlines() if line.startswith(field)))


def _tree_rss_kb(pid: int) -> int:
    """Memory of ``pid`` and all its descendants (PSS where the kernel offers it, else RSS)."""
    total = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            total += _memory_kb(current)
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                stack.extend(int(child) for child in children)
        except (OSError, StopIteration, ValueError):
            continue
    return total


def run(command: list[str], env: dict[str, str], *, sample_memory: bool) -> tuple[float, int, float]:
    """Wall seconds, peak memory KB and CPU seconds used by one run of ``command``.

    With ``sample_memory`` the process tree's memory is read every 20 ms; that reading costs CPU of its own
    (walking page tables), so timing runs skip it and report the peak RSS of the run's largest process.
    """
    with tempfile.TemporaryFile() as errors:  # a file, not a pipe: a chatty process cannot block on it
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors, env=env, cwd=REPO)
        peak = 0
        while True:
            # wait4 reaps this run's process and reports its own usage (its children included)
            pid, status, usage = os.wait4(process.pid, os.WNOHANG if sample_memory else 0)
            if pid:
                break
            peak = max(peak, _tree_rss_kb(process.pid))
            time.sleep(0.02)
        elapsed = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        errors.seek(0)
        stderr = errors.read().decode(errors="replace")
        if process.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{stderr}")
        return elapsed, peak if sample_memory else usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=80_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "ftclient-bench")
    parser.add_argument("--memory", action="store_true", help="only run ftclient validate and report peak memory")
    parser.add_argument("--max-words", type=int, default=200, help="longest user message of the generated file")
    args = parser.parse_args()

    args.workdir.mkdir(parents=True, exist_ok=True)
    data = args.workdir / f"chat-{args.examples}-{args.max_words}w.jsonl"
    if not data.exists():
        write(data, args.examples, seed=0, max_words=args.max_words)
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": str(tiktoken_cache(args.workdir / "tiktoken-cache"))}
    contenders = {"ftclient validate": [sys.executable, "-m", "ftclient", "validate", str(data), "--json"]}
    if not args.memory:
        contenders["cookbook notebook checks"] = [sys.executable, str(HERE / "cookbook_check.py"), str(data)]
        contenders["tiktoken alone"] = [sys.executable, str(HERE / "tiktoken_only.py"), str(data)]
    # Round-robin over the contenders, so a change in machine speed during the run affects all of them.
    runs: dict[str, list[tuple[float, int, float]]] = {name: [] for name in contenders}
    for _ in range(args.repeat):
        for name, command in contenders.items():
            runs[name].append(run(command, env, sample_memory=args.memory))
    results: dict[str, dict[str, object]] = {}
    for name, measured in runs.items():
        results[name] = {
            "best_s": round(min(r[0] for r in measured), 2),
            "all_s": [round(r[0], 2) for r in measured],
            "peak_memory_mb" if args.memory else "max_process_rss_mb": round(max(r[1] for r in measured) / 1024, 1),
            "cpu_s": round(min(r[2] for r in measured), 2),
        }
    summary: dict[str, object] = {
        "file": str(data),
        "examples": args.examples,
        "bytes": data.stat().st_size,
        "cpus": os.cpu_count(),
        "results": results,
    }
    if not args.memory:
        best = {name: min(r[0] for r in measured) for name, measured in runs.items()}
        cpu = {name: min(r[2] for r in measured) for name, measured in runs.items()}
        ours = best["ftclient validate"]
        summary["validate_vs_notebook"] = round(ours / best["cookbook notebook checks"], 2)
        # Paired: each round's validate run against the notebook run made seconds later, so a change in
        # machine speed between rounds cancels out; the median of these is the steadier figure.
        paired = [
            round(ours_run[0] / theirs_run[0], 3)
            for ours_run, theirs_run in zip(runs["ftclient validate"], runs["cookbook notebook checks"], strict=True)
        ]
        summary["validate_vs_notebook_per_round"] = paired
        summary["validate_vs_notebook_median_of_rounds"] = round(statistics.median(paired), 2)
        summary["validate_vs_tiktoken_alone"] = round(ours / best["tiktoken alone"], 2)
        summary["validate_vs_notebook_cpu"] = round(cpu["ftclient validate"] / cpu["cookbook notebook checks"], 2)
        summary["load_average"] = os.getloadavg()[0]
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
