"""The streaming scan behind ``validate``: check every line, count tokens in batches, find duplicates.

Large files are cut into slices at line boundaries, which one process per core takes from a shared queue
(the encodings are loaded before forking, so the children share them); each streams its slices with flat
memory, and the partial results are merged. Small files, platforms without ``fork`` and multi-threaded
hosts scan in process, with token counting on a thread pool.
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import orjson

from ftclient.dataset.dedup import DuplicateLog, example_key, near_example_key
from ftclient.dataset.jsonl import MAX_LINE_BYTES, byte_slices, parse_line, raw_lines
from ftclient.dataset.rules import LineResult, RuleContext, RuleSet
from ftclient.dataset.stats import TokenTally
from ftclient.errors import Problem
from ftclient.tokens import BatchEncoder, get_encoding

BATCH = 2048
PARALLEL_MIN_BYTES = 8 * 1024 * 1024
SHORT_EXAMPLE_TOKENS = 12
MAX_STORED_PER_CODE = {"error": 1000, "warning": 50}
"""Problems kept per code; every one is counted (a broken million-line file must not fill memory with a
million Problem objects)."""
MISSING_SYSTEM_SHOWN = 5
SLICES_PER_WORKER = 12
"""Slices per process in a parallel scan: enough that no process is left with a long last slice."""


class Collector:
    """Keeps problems up to a cap per code and counts all of them."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.counts: Counter[str] = Counter()
        self.truncated = False

    def add(self, problem: Problem) -> None:
        key = f"{problem.severity}:{problem.code}"
        self.counts[key] += 1
        if self.counts[key] <= MAX_STORED_PER_CODE.get(problem.severity, 50):
            self.problems.append(problem)
        else:
            self.truncated = True

    def extend(self, problems: Iterable[Problem]) -> None:
        for problem in problems:
            self.add(problem)

    def merge(self, other: Collector, line_offset: int = 0) -> None:
        """Take in ``other``'s problems (their lines moved down by ``line_offset``), keeping the caps."""
        kept: Counter[str] = Counter(f"{p.severity}:{p.code}" for p in self.problems)
        for problem in other.problems:
            key = f"{problem.severity}:{problem.code}"
            if kept[key] < MAX_STORED_PER_CODE.get(problem.severity, 50):
                kept[key] += 1
                line = problem.line
                self.problems.append(replace(problem, line=line + line_offset) if line and line_offset else problem)
            else:
                self.truncated = True
        self.counts.update(other.counts)
        self.truncated = self.truncated or other.truncated

    @property
    def has_errors(self) -> bool:
        return any(key.startswith("error:") for key in self.counts)


@dataclass
class ScanState:
    """Everything a scan of (part of) a file found."""

    collector: Collector
    tally: TokenTally
    exact: DuplicateLog = field(default_factory=DuplicateLog)
    near: DuplicateLog = field(default_factory=DuplicateLog)
    missing_system: list[int] = field(default_factory=list)
    n_missing_system: int = 0
    lines: int = 0
    size: int = 0
    examples: int = 0

    def merge(self, other: ScanState, line_offset: int = 0) -> None:
        """Add the findings of a later slice, whose line numbers count from ``line_offset`` + 1."""
        self.collector.merge(other.collector, line_offset)
        self.tally.merge(other.tally)
        self.exact.extend(other.exact, line_offset)
        self.near.extend(other.near, line_offset)
        shifted = [line + line_offset for line in other.missing_system]
        self.missing_system = sorted(self.missing_system + shifted)[:MISSING_SYSTEM_SHOWN]
        self.n_missing_system += other.n_missing_system
        self.lines = max(self.lines, line_offset + other.lines)
        self.size += other.size
        self.examples += other.examples


def _new_state(ctx: RuleContext, exact: bool) -> ScanState:
    return ScanState(Collector(), TokenTally(ctx.encoding_name, exact=exact, limit=ctx.max_tokens))


@dataclass(frozen=True)
class ScanJob:
    """One slice of a file to scan: ``bounds`` = (start byte, end byte or None, first line number)."""

    path: Path
    rules: RuleSet
    ctx: RuleContext
    fmt: str | None
    exact_counts: bool
    bounds: tuple[int, int | None, int] = (0, None, 1)
    threads: int | None = None


def scan_slice(job: ScanJob) -> ScanState:
    """Scan the lines of one slice of a file.

    Each line is first parsed by orjson and offered to the rule set's one-pass check for plain chat lines
    (which accepts only values orjson reads exactly as the standard library does). Any other line, and
    every line orjson refuses, is read by ``parse_line`` and checked in full, so what is reported does not
    depend on which path a line took.
    """
    path, rules, ctx, fmt = job.path, job.rules, job.ctx, job.fmt
    state = _new_state(ctx, job.exact_counts)
    collector = state.collector
    encoder = BatchEncoder(get_encoding(ctx.encoding_name), threads=job.threads)
    batch: list[LineResult] = []
    start, end, first_line = job.bounds
    plain = rules.plain_chat if rules.fast_path and not ctx.completion_only else None
    loads, refused = orjson.loads, orjson.JSONDecodeError
    number = size = examples = 0
    gc_was_enabled = gc.isenabled()
    gc.disable()  # parsed lines hold no reference cycles; collecting would only walk them again and again
    try:
        for number, raw in raw_lines(path, start=start, end=end, first_line=first_line):
            size += len(raw)
            result = None
            if plain is not None and len(raw) <= MAX_LINE_BYTES:  # longer lines: parse_line reports or reads them
                try:  # noqa: SIM105 - contextlib.suppress costs more, once per line
                    result = plain(loads(raw), number, ctx)
                except refused:
                    pass
            if result is None:
                result = _check_line(raw, number, rules, ctx, collector, first_in_file=number == 1 and start == 0)
                if result is None:
                    continue
            examples += 1
            if result.problems:
                collector.extend(result.problems)
            if result.format != fmt and result.format is not None and fmt is not None:
                collector.add(
                    Problem(
                        "mixed-formats",
                        f"a {result.format} line in a file of {fmt} lines",
                        "keep one format per file",
                        file=ctx.file,
                        line=number,
                    )
                )
            if result.sequences:
                batch.append(result)
                if len(batch) >= BATCH:
                    _count_batch(batch, encoder, state, ctx)
        _count_batch(batch, encoder, state, ctx)
    finally:
        if gc_was_enabled:
            gc.enable()
        encoder.close()
    state.lines, state.size, state.examples = number, size, examples
    return state


def _check_line(
    raw: bytes, number: int, rules: RuleSet, ctx: RuleContext, collector: Collector, *, first_in_file: bool
) -> LineResult | None:
    """The full reading and check of one line; None (with its problems collected) when it holds no example."""
    result = None
    for _, value, problem, _ in parse_line(raw, number, ctx.file, first_in_file=first_in_file):
        if problem is not None:
            collector.add(problem)
        else:
            result = rules.check(value, number, ctx)
    return result


def _count_batch(batch: list[LineResult], encoder: BatchEncoder, state: ScanState, ctx: RuleContext) -> None:
    if not batch:
        return
    texts: list[str] = []
    for result in batch:
        for _, pieces in result.sequences:
            texts.extend(pieces)
        texts.extend(result.assistant)
    lengths = encoder.lengths(texts)
    limit = ctx.max_tokens
    tally, collector = state.tally, state.collector
    length_of = lengths.__getitem__
    lines = [result.line for result in batch]
    state.exact.add_many([example_key(result.dedup) for result in batch], lines)
    state.near.add_many([near_example_key(result.dedup) for result in batch], lines)
    totals: list[int] = []
    for result in batch:
        sequences = result.sequences
        if len(sequences) == 1:
            tokens = sequences[0][0] + sum(map(length_of, sequences[0][1]))
        else:
            tokens = max(overhead + sum(map(length_of, pieces)) for overhead, pieces in sequences)
        totals.append(tokens)
        if not result.has_system:
            state.n_missing_system += 1
            if len(state.missing_system) < MISSING_SYSTEM_SHOWN:
                state.missing_system.append(result.line)
        if limit and tokens > limit:
            collector.add(
                Problem(
                    "too-many-tokens",
                    f"{tokens:,} tokens; {ctx.model} takes at most {limit:,} per example "
                    "(longer examples are cut from the end, losing the answer)",
                    "shorten the example or split the conversation",
                    file=ctx.file,
                    line=result.line,
                )
            )
        elif tokens < SHORT_EXAMPLE_TOKENS:
            collector.add(
                Problem(
                    "very-short-example",
                    f"only {tokens} tokens",
                    "check the example is complete",
                    file=ctx.file,
                    line=result.line,
                    severity="warning",
                )
            )
    tally.add_many(totals, [sum(map(length_of, result.assistant)) for result in batch])
    batch.clear()


def _workers_for(path: Path) -> int:
    if not hasattr(os, "fork") or threading.active_count() > 1:  # forking a threaded process is unsafe
        return 1
    if path.stat().st_size < PARALLEL_MIN_BYTES:
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


def _scan_queued(jobs: list[ScanJob], queue: int) -> dict[int, ScanState]:
    """Scan the slices whose numbers this process takes from ``queue`` (a pipe), until it is empty.

    Reading one byte from a pipe is atomic, so each slice goes to exactly one process, and a process
    slowed down by anything (other load on its core, slower lines) simply takes fewer slices.
    """
    parts: dict[int, ScanState] = {}
    while taken := os.read(queue, 1):
        parts[taken[0]] = scan_slice(jobs[taken[0]])
    return parts


class _ForkedScan:
    """A forked child scanning slices from the queue; it sends back its pickled results through a pipe.

    Plain ``os.fork`` rather than a multiprocessing pool: a pool's start-up, helper threads and shutdown
    cost tens of milliseconds, a noticeable share of a run this short. The child leaves with ``os._exit``
    (no atexit handlers, no flushing of buffers it shares with the parent). If it fails or dies, the
    parent scans the slices it had taken, so the outcome (and any error) is that of a serial scan.
    """

    def __init__(self, jobs: list[ScanJob], queue: int) -> None:
        read_fd, write_fd = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            status = 1
            try:
                os.close(read_fd)
                data = pickle.dumps(_scan_queued(jobs, queue), protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(write_fd, "wb") as pipe:
                    pipe.write(data)
                status = 0
            finally:
                os._exit(status)
        os.close(write_fd)
        self._pipe = os.fdopen(read_fd, "rb")

    def result(self) -> dict[int, ScanState]:
        with self._pipe:
            data = self._pipe.read()
        _, status = os.waitpid(self.pid, 0)
        if status == 0 and data:
            parts: dict[int, ScanState] = pickle.loads(data)
            return parts
        return {}

    def cancel(self) -> None:
        self._pipe.close()
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


def scan_file(
    path: Path, rules: RuleSet, ctx: RuleContext, fmt: str | None, *, exact_counts: bool, workers: int | None = None
) -> ScanState:
    """Scan all of ``path``; in forked processes when it is large and the platform allows.

    The file is cut into many slices at line starts, which the processes take from a shared queue as
    they go; each slice numbers its lines from 1, and the merge moves them to their place in the file.
    """
    get_encoding(ctx.encoding_name)  # load before any fork, so the children share it
    n = workers if workers is not None else _workers_for(path)
    whole = ScanJob(path, rules, ctx, fmt, exact_counts)
    if n <= 1:
        return scan_slice(whole)
    slices = byte_slices(path, n * SLICES_PER_WORKER)
    jobs = [replace(whole, bounds=(start, end, 1), threads=1) for start, end in slices]
    queue, feed = os.pipe()
    os.write(feed, bytes(range(len(jobs))))
    os.close(feed)
    gc.freeze()  # keep the garbage collector from touching (and so copying) the parent's pages in children
    children: list[_ForkedScan] = []
    try:
        children = [_ForkedScan(jobs, queue) for _ in range(n - 1)]
        parts = _scan_queued(jobs, queue)
        for child in children:
            parts.update(child.result())
        children = []
        for index, job in enumerate(jobs):
            if index not in parts:  # taken by a child that failed
                parts[index] = scan_slice(job)
    finally:
        os.close(queue)
        for child in children:
            child.cancel()
        gc.unfreeze()
    state = parts[0]
    for index in range(1, len(jobs)):
        state.merge(parts[index], line_offset=state.lines)
    return state
