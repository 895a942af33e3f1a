"""What the emulator was actually sent: counts per route and status, and a few totals."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Any


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._by_route: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._counters: dict[str, int] = defaultdict(int)

    def record(self, route: str, status: int | str) -> None:
        with self._lock:
            self._by_route[route][str(status)] += 1

    def bump(self, counter: str, amount: int = 1) -> None:
        with self._lock:
            self._counters[counter] += amount

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            by_route = {route: dict(sorted(statuses.items())) for route, statuses in sorted(self._by_route.items())}
            by_status: dict[str, int] = defaultdict(int)
            for statuses in by_route.values():
                for status, count in statuses.items():
                    by_status[status] += count
            counters = dict(self._counters)
        return {
            "requests": {
                "total": sum(by_status.values()),
                "by_status": dict(sorted(by_status.items())),
                "by_route": by_route,
            },
            "jobs_created": counters.get("jobs_created", 0),
            "completions": counters.get("completions", 0),
            "prompt_tokens": counters.get("prompt_tokens", 0),
            "completion_tokens": counters.get("completion_tokens", 0),
            "dropped_connections": counters.get("dropped_connections", 0),
            "refused_connections": counters.get("refused_connections", 0),
            "batches_over_token_limit": counters.get("batches_over_token_limit", 0),
            "retired_model_requests": counters.get("retired_model_requests", 0),
            "uptime_s": round(time.monotonic() - self._started, 3),
        }
