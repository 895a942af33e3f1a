"""Faults a test turns on per route: error statuses, latency, dropped connections, slow bodies, lost
responses after a commit, jobs that fail, and dedicated endpoints that never start.

A fault matches a request when its ``route`` is ``"*"``, the route's template (``"GET
/v1/fine_tuning/jobs/{fine_tuning_job_id}"``), or a glob over the concrete request (``"GET
/v1/files/file-*"``). ``times`` limits how often it fires (``None`` = until cleared); ``probability``
draws from the emulator's seeded random generator.
"""

from __future__ import annotations

import fnmatch
import itertools
import random
import threading
from dataclasses import dataclass, field
from typing import Any

FAULTS = frozenset(
    {
        "status_500",
        "status_503",
        "status_429",
        "latency",
        "drop_connection",
        "slow_body",
        "lose_response_after_commit",
        "fail_job",
        "fail_endpoint",
    }
)

_ids = itertools.count(1)


@dataclass
class Fault:
    route: str
    fault: str
    times: int | None = None
    probability: float = 1.0
    params: dict[str, Any] = field(default_factory=dict)
    fired: int = 0
    id: int = field(default_factory=lambda: next(_ids))

    def matches(self, template_key: str, concrete_key: str) -> bool:
        if self.route in {"*", template_key}:
            return True
        return fnmatch.fnmatchcase(concrete_key, self.route)

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "route": self.route,
            "fault": self.fault,
            "times": self.times,
            "probability": self.probability,
            "params": self.params,
            "fired": self.fired,
        }


def make_fault(route: str, fault: str, *, times: int | None = None, probability: float = 1.0, **params: Any) -> Fault:
    if fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}; choose one of {', '.join(sorted(FAULTS))}")
    if " " not in route and route != "*":
        raise ValueError(f"route must look like 'POST /v1/fine_tuning/jobs' or '*', got {route!r}")
    if times is not None and times < 1:
        raise ValueError("times must be >= 1 or None")
    if not 0.0 <= probability <= 1.0:
        raise ValueError("probability must be between 0 and 1")
    return Fault(route=route, fault=fault, times=times, probability=probability, params=dict(params))


class FaultSet:
    def __init__(self, rng: random.Random) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._rng = rng
        self.fired: dict[str, int] = {}

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def active(self) -> list[dict[str, Any]]:
        with self._lock:
            return [fault.describe() for fault in self._faults]

    def draw(self, template_key: str, concrete_key: str) -> list[Fault]:
        """The faults that fire for this request (each consumes one of its ``times``)."""
        fired: list[Fault] = []
        with self._lock:
            for fault in list(self._faults):
                if not fault.matches(template_key, concrete_key):
                    continue
                if fault.probability < 1.0 and self._rng.random() >= fault.probability:
                    continue
                fault.fired += 1
                self.fired[fault.fault] = self.fired.get(fault.fault, 0) + 1
                fired.append(fault)
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
        return fired
