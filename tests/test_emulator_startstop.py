"""Stopping the emulator, at once after start or in the middle of a request, neither hangs nor leaves errors behind."""

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


def test_stop_during_a_slow_request_leaves_no_pending_task(caplog: pytest.LogCaptureFixture) -> None:
    """A request still waiting out injected latency when the emulator stops: its handler must be finished."""
    import gc
    import logging
    import socket

    emulator = Emulator(EmulatorConfig()).start()
    emulator.inject("GET /v1/models", "latency", ms=30_000)
    with socket.create_connection((emulator.host, emulator.port)) as client:
        client.sendall(b"GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-test\r\n\r\n")
        time.sleep(0.2)  # the request is now inside its 30 s delay
        with caplog.at_level(logging.ERROR, logger="asyncio"):
            emulator.stop()
            del emulator
            gc.collect()
    assert [r.getMessage() for r in caplog.records if r.name == "asyncio"] == []
