"""Starting and stopping the emulator at once, over and over, neither hangs nor leaves a thread error."""

from __future__ import annotations

import threading
import time

import pytest

from ftclient.emulator import Emulator, EmulatorConfig


def test_stop_right_after_start_is_clean(monkeypatch: pytest.MonkeyPatch) -> None:
    errors: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: errors.append(args.exc_value))
    started = time.monotonic()
    for _ in range(50):
        Emulator(EmulatorConfig()).start().stop()
    assert errors == []
    assert time.monotonic() - started < 10  # a stop lost during start-up used to wait out a 5 s timeout
