"""A local provider emulator on loopback, with fault injection, plus record/replay of provider HTTP.

``run_in_thread(EmulatorConfig(speed=1000))`` starts it on a free port for tests and demos; ``ftclient
emulator`` runs it in the foreground. The core never imports this package: it is a stand-in for the
provider, reached over HTTP like the real one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ftclient.emulator.aioserver import AsyncEmulatorServer, ServerLimits
from ftclient.emulator.config import EmulatorConfig
from ftclient.emulator.faults import FAULTS, Fault
from ftclient.emulator.server import BANNER, EmulatorCore

__all__ = ["BANNER", "FAULTS", "Emulator", "EmulatorConfig", "ServerLimits", "run_in_thread"]


class Emulator:
    """A running emulator: its URLs, statistics, faults and clock."""

    def __init__(self, config: EmulatorConfig, limits: ServerLimits | None = None) -> None:
        self.config = config
        self.core = EmulatorCore(config)
        self._server = AsyncEmulatorServer(self.core, limits)
        self.limits = self._server.limits
        self._thread: threading.Thread | None = None
        host, port = self._server.server_address[:2]
        self.host = str(host)
        self.port = int(port)
        shown = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{shown}:{self.port}"
        self.base_url = f"{self.url}/v1"

    def start(self) -> Emulator:
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="ftclient-emulator", daemon=True
        )
        self._thread.start()
        self._server.wait_serving()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()
        self.core.app.save()

    def stats(self) -> dict[str, Any]:
        """Same document as ``GET /_emulator/stats``."""
        return self.core.stats()

    def inject(
        self, route: str, fault: str, *, times: int | None = None, probability: float = 1.0, **params: Any
    ) -> Fault:
        """Turn on a fault for a route (``"POST /v1/fine_tuning/jobs"``, a glob, or ``"*"``)."""
        return self.core.inject(route, fault, times=times, probability=probability, **params)

    def clear_faults(self) -> None:
        self.core.services.faults.clear()

    def advance(self, seconds: float) -> float:
        """Move the emulated clock forward (jobs and batches progress accordingly)."""
        return self.core.services.clock.advance(seconds)

    def now(self) -> float:
        return self.core.services.clock.now()


@contextmanager
def run_in_thread(config: EmulatorConfig | None = None, limits: ServerLimits | None = None) -> Iterator[Emulator]:
    """Start the emulator on a free loopback port in a background thread; stop it on exit.

    ``limits`` (body cap, timeouts, connection cap) default to ``ServerLimits()``.
    """
    emulator = Emulator(config or EmulatorConfig(), limits).start()
    try:
        yield emulator
    finally:
        emulator.stop()
