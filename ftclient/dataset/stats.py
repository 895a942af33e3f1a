"""Token statistics and the cost/epochs estimate, shared by validate and prepare."""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel

from ftclient.errors import UnknownModelError
from ftclient.pricing import default_epochs, price_for


class Distribution(BaseModel):
    """Per-example token counts: the extremes, the mean and three percentiles."""

    min: int
    p10: int
    p50: int
    p90: int
    max: int
    mean: float


class TokenStats(BaseModel):
    encoding: str
    exact: bool
    """False when counted with a stand-in tokenizer (the model's own is not shipped): an estimate."""
    examples: int
    total: int
    assistant: int
    billed_per_epoch: int
    """Tokens billed per epoch: each example's count, capped at the model's per-example limit."""
    per_example: Distribution | None = None
    assistant_per_example: Distribution | None = None


class CostEstimate(BaseModel):
    provider: str
    model: str
    examples: int
    epochs: int
    """OpenAI's automatic epochs for this many training examples (``n_epochs="auto"``)."""
    billed_tokens_per_epoch: int
    billed_tokens_total: int
    training_per_1m: float | None
    training_per_hour: float | None = None
    usd: float | None
    price_as_of: str
    price_source: str
    note: str | None = None


class TokenTally:
    """Streams per-example counts into a histogram (no list of every example is kept)."""

    def __init__(self, encoding: str, *, exact: bool, limit: int | None) -> None:
        self.encoding = encoding
        self.exact = exact
        self.limit = limit
        self.totals: Counter[int] = Counter()
        self.assistants: Counter[int] = Counter()
        self.examples = 0
        self.total = 0
        self.assistant = 0
        self.billed = 0

    def add(self, tokens: int, assistant: int) -> None:
        self.examples += 1
        self.total += tokens
        self.assistant += assistant
        self.billed += min(tokens, self.limit) if self.limit else tokens
        self.totals[tokens] += 1
        self.assistants[assistant] += 1

    def add_many(self, tokens: list[int], assistant: list[int]) -> None:
        """``add`` for many examples at once (the counters update in C)."""
        self.examples += len(tokens)
        self.total += sum(tokens)
        self.assistant += sum(assistant)
        limit = self.limit
        self.billed += sum(min(n, limit) for n in tokens) if limit else sum(tokens)
        self.totals.update(tokens)
        self.assistants.update(assistant)

    def merge(self, other: TokenTally) -> None:
        self.totals.update(other.totals)
        self.assistants.update(other.assistants)
        self.examples += other.examples
        self.total += other.total
        self.assistant += other.assistant
        self.billed += other.billed

    def stats(self) -> TokenStats:
        return TokenStats(
            encoding=self.encoding,
            exact=self.exact,
            examples=self.examples,
            total=self.total,
            assistant=self.assistant,
            billed_per_epoch=self.billed,
            per_example=distribution(self.totals),
            assistant_per_example=distribution(self.assistants),
        )


def distribution(histogram: Counter[int]) -> Distribution | None:
    count = sum(histogram.values())
    if not count:
        return None
    ordered = sorted(histogram.items())
    wanted = {"p10": 0.1, "p50": 0.5, "p90": 0.9}
    found: dict[str, int] = {}
    seen = 0
    for value, times in ordered:
        seen += times
        for name, q in wanted.items():
            if name not in found and seen >= q * count:
                found[name] = value
    return Distribution(
        min=ordered[0][0],
        max=ordered[-1][0],
        mean=round(sum(v * t for v, t in ordered) / count, 1),
        **found,
    )


def estimate_cost(provider: str, model: str, examples: int, billed_per_epoch: int) -> CostEstimate | None:
    """Training cost of ``examples`` training examples at the automatic epochs; None without a price."""
    try:
        price = price_for(provider, model)
    except UnknownModelError:
        return None
    epochs = default_epochs(examples, provider=provider)
    total = billed_per_epoch * epochs
    usd = price.training_cost(total)
    note = None
    if usd is None and price.training_per_hour is not None:
        note = f"{price.model} training is billed by the hour (${price.training_per_hour:.2f}/h), not by token"
    return CostEstimate(
        provider=provider,
        model=price.model,
        examples=examples,
        epochs=epochs,
        billed_tokens_per_epoch=billed_per_epoch,
        billed_tokens_total=total,
        training_per_1m=price.training_per_1m,
        training_per_hour=price.training_per_hour,
        usd=None if usd is None else round(usd, 4),
        price_as_of=price.as_of,
        price_source=price.source,
        note=note,
    )
