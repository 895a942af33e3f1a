"""What every provider dialect of the emulator does the same way, so each dialect holds only its provider's
rules: the emulator clock, saving the state on every change, catching the clock up with a saved state (a
restarted emulator never runs its clock backwards past what it already served), wiring its route groups,
and one learner per tuned model, built once and shared by concurrent requests."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from ftclient.emulator.http import Router
from ftclient.emulator.openai.learner import NearestNeighbour

if TYPE_CHECKING:
    from ftclient.emulator.server import Services


@dataclass(kw_only=True)
class ScheduledJob:
    """A training job as the dialects replay it: the API object, when its current phase began, the plan of
    steps worked out from its training file, how far it got, an injected failure, and the metrics so far."""

    obj: dict[str, Any]
    phase_at: float
    method: str = "supervised"
    n_train: int = 0
    tokens_per_epoch: int = 0
    total_steps: int = 0
    epoch_steps: int = 0
    steps_done: int = 0
    fail: dict[str, Any] | None = None
    metrics: list[dict[str, Any]] = field(default_factory=list)


class SavedStore(Protocol):
    clock_high_water: float
    """The latest emulator time the saved state has seen."""

    def save(self, now: float) -> None: ...


class RouteGroup(Protocol):
    def register(self, router: Router) -> None: ...


StoreT = TypeVar("StoreT", bound=SavedStore)


class DialectApp(Generic[StoreT]):
    def __init__(self, services: Services, store: StoreT) -> None:
        self.services = services
        self.store = store
        behind = store.clock_high_water - services.clock.now()
        if behind > 0:
            services.clock.advance(behind)
        self._learners: dict[str, NearestNeighbour] = {}
        self._learner_lock = threading.Lock()

    def route_groups(self) -> Sequence[RouteGroup]:
        raise NotImplementedError

    def register(self, router: Router) -> None:
        for group in self.route_groups():
            group.register(router)

    def now(self) -> float:
        return self.services.clock.now()

    def changed(self) -> None:
        self.store.save(self.now())

    def save(self) -> None:
        self.store.save(self.now())

    def cached_learner(self, key: str, build: Callable[[], NearestNeighbour]) -> NearestNeighbour:
        """The learner of the tuned model ``key``, built by ``build`` the first time it is asked for (after a
        restart, from the saved training file)."""
        with self._learner_lock:
            found = self._learners.get(key)
            if found is None:
                found = build()
                self._learners[key] = found
            return found

    def keep_learner(self, key: str, learner: NearestNeighbour) -> None:
        """Remember the learner a job built while checking its training file."""
        with self._learner_lock:
            self._learners[key] = learner
