"""The emulator's knobs, one dataclass shared by the Python entry point and ``ftclient emulator``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ftclient.emulator.clock import parse_when

SUPPORTED_PROVIDERS = ("openai", "together", "fireworks", "azure", "bedrock", "vertex")


@dataclass(frozen=True)
class EmulatorConfig:
    """How the emulator behaves.

    ``speed`` multiplies the emulated clock (100 makes a ten-minute job finish in six seconds);
    ``rpm``/``tpm`` switch on OpenAI-style rate limiting (``None`` = unlimited) and ``burst_s`` is the
    window the limits are enforced over (1 s: a 600 RPM limit admits 10 requests per second, the strict
    "quantized" reading; 60 s: a full minute's worth at once). ``latency_ms`` is added to every API
    response, ``fail_rate`` turns that fraction of API requests into 500s, ``seed`` makes the random
    choices repeatable and ``state_dir`` keeps files, jobs and batches across restarts. ``start`` sets the
    emulated clock's starting time (Unix seconds, ``YYYY-MM-DD`` or an ISO time; default: now): the OpenAI
    dialect enforces dated rules (model shutdowns, the end of job creation on 2027-01-06) on that clock, so
    a test can pin or cross them.
    """

    speed: float = 1.0
    rpm: int | None = None
    tpm: int | None = None
    latency_ms: float = 0.0
    fail_rate: float = 0.0
    seed: int = 0
    state_dir: Path | str | None = None
    provider: str = "openai"
    host: str = "127.0.0.1"
    port: int = 0
    burst_s: float = 1.0
    allow_remote: bool = False
    start: float | str | None = None
    """Where the emulated clock starts (Unix seconds, ``YYYY-MM-DD`` or ISO time); None = now."""
    batch_queue_tokens: int | None = None
    """Prompt tokens a model may hold in batches in progress at once (OpenAI's enqueued-token limit);
    None = no limit."""

    def __post_init__(self) -> None:
        if self.provider not in SUPPORTED_PROVIDERS:
            raise ValueError(f"the emulator speaks {', '.join(SUPPORTED_PROVIDERS)}; not {self.provider!r}")
        if self.speed <= 0:
            raise ValueError(f"speed must be > 0, got {self.speed}")
        if not 0.0 <= self.fail_rate <= 1.0:
            raise ValueError(f"fail_rate must be between 0 and 1, got {self.fail_rate}")
        for name in ("rpm", "tpm", "batch_queue_tokens"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be a positive integer or None, got {value}")
        if self.start is not None:
            parse_when(self.start)  # raises ValueError with what to give instead
        if self.burst_s <= 0:
            raise ValueError(f"burst_s must be > 0, got {self.burst_s}")
        if not self.allow_remote and not is_loopback(self.host):
            raise ValueError(
                f"refusing to listen on {self.host!r}: the emulator serves loopback only "
                "(pass allow_remote=True / --allow-remote to expose it)"
            )


def is_loopback(host: str) -> bool:
    return host in {"localhost", "::1"} or host.startswith("127.")
