"""The emulated clock: real time times ``speed``, plus whatever a test adds with ``advance``.

Jobs and batches never sleep; they compare their schedule with this clock whenever someone looks, so a
test can move a job from ``queued`` to ``succeeded`` by advancing the clock instead of waiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Clock:
    def __init__(
        self,
        speed: float = 1.0,
        *,
        start: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.speed = speed
        self._monotonic = monotonic
        self._origin_mono = monotonic()
        self._origin = time.time() if start is None else start
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        """Emulated Unix time in seconds."""
        with self._lock:
            return self._origin + (self._monotonic() - self._origin_mono) * self.speed + self._offset

    def advance(self, seconds: float) -> float:
        """Jump the emulated clock forward; returns the new time."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds
        return self.now()

    def jump_to(self, when: float) -> float:
        """Move the emulated clock forward to Unix time ``when`` (a test crossing a deadline)."""
        now = self.now()
        if when < now:
            raise ValueError(f"the clock only moves forward: {when:.0f} is before now ({now:.0f})")
        return self.advance(when - now)

    def real_seconds(self, emulated_seconds: float) -> float:
        """How long ``emulated_seconds`` take in real time at the current speed."""
        return emulated_seconds / self.speed


def parse_when(value: float | int | str) -> float:
    """Unix seconds from a number, a ``YYYY-MM-DD`` date (00:00 UTC) or an ISO 8601 time (UTC if no zone)."""
    import datetime as dt

    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not a time: {text!r} (give Unix seconds, YYYY-MM-DD or an ISO 8601 time)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()
