"""Money and time per model: list-price cost from the usage the provider returned, latency percentiles."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ftclient.errors import FtclientError
from ftclient.evaluate.types import Answer


class Pricer:
    """Cost of one answer at list price; ``discount`` 0.5 for the Batch API. Unknown models cost None."""

    def __init__(self, provider: str, discount: float = 1.0) -> None:
        self.provider = provider
        self.discount = discount
        self._prices: dict[str, tuple[float, float] | None] = {}
        self.notes: dict[str, str] = {}

    def rates(self, model: str) -> tuple[float, float] | None:
        if model not in self._prices:
            from ftclient.pricing import price_for

            try:
                price = price_for(self.provider, model)
            except FtclientError as exc:
                self._prices[model] = None
                self.notes[model] = f"no price known for {model}: {exc.message}"
            else:
                self._prices[model] = (price.input_per_1m, price.output_per_1m)
                self.notes[model] = f"prices of {price.model} as of {price.as_of} ({price.source})" + (
                    ", Batch API discount 50%" if self.discount != 1.0 else ""
                )
        return self._prices[model]

    def __call__(self, model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
        rates = self.rates(model)
        if rates is None:
            return None
        return self.discount * (prompt_tokens * rates[0] + completion_tokens * rates[1]) / 1_000_000


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (``q`` in 0-100), None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    latency_p50_s: float | None
    latency_p95_s: float | None
    cached: int
    failed: int
    cost_note: str


def usage_summary(model: str, answers: Sequence[Answer], pricer: Pricer) -> Usage:
    """Tokens, cost (cached answers included: they were paid for once) and latency of the answers."""
    ok = [a for a in answers if a.error is None]
    prompt = sum(a.prompt_tokens for a in ok)
    completion = sum(a.completion_tokens for a in ok)
    latencies = [a.latency_s for a in ok if a.latency_s > 0]
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        cost_usd=pricer(model, prompt, completion),
        latency_p50_s=percentile(latencies, 50),
        latency_p95_s=percentile(latencies, 95),
        cached=sum(1 for a in answers if a.cached),
        failed=len(answers) - len(ok),
        cost_note=pricer.notes.get(model, ""),
    )
