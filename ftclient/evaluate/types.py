"""The typed evaluation report returned by ``ftclient.evaluate`` and written as report.json.

Plain dataclasses, so a report is easy to build in tests, cheap to import and serialises with
``dataclasses.asdict``; ``EvaluationReport.from_dict`` reads a report.json back.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Example:
    """One test example: the prompt messages and the reference answer (the last assistant message)."""

    index: int
    messages: list[dict[str, Any]]
    reference: str


@dataclass
class Answer:
    """One model's answer to one example (``error`` set when every attempt failed)."""

    index: int
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    cached: bool = False
    attempts: int = 0
    error: str | None = None
    model: str = ""
    """The model name the provider reported serving the answer."""


@dataclass
class ModelResult:
    """How one model did: task metrics, usage, cost and latency."""

    model: str
    role: str
    """``"tuned"``, ``"baseline"`` or ``"model"`` (a single model evaluated with ``--model``)."""
    metrics: dict[str, float]
    per_class: dict[str, dict[str, float]] = field(default_factory=dict)
    confusion: dict[str, Any] | None = None
    examples: int = 0
    failed: int = 0
    cached: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    """Input and output tokens at list price (half of it through ``--batch``); None if the price is unknown."""
    cost_note: str = ""
    latency_p50_s: float | None = None
    latency_p95_s: float | None = None


@dataclass
class Comparison:
    """Tuned minus baseline on one metric, with its 95% confidence interval and test."""

    metric: str
    label: str
    baseline: float
    tuned: float
    difference: float
    ci_low: float
    ci_high: float
    p_value: float | None
    test: str
    unit: str
    sentence: str
    verdict: str = ""
    """"better", "worse", "no clear difference" or "too few" (see ``ftclient.evaluate.significance``)."""
    differing: int | None = None
    """Examples on which the two models' answers score differently: all a paired test can use."""

    @property
    def significant(self) -> bool:
        """The exact test and the interval agree on a difference (reports written before verdicts were
        stored fall back to the interval)."""
        if self.verdict:
            return self.verdict in ("better", "worse")
        return self.ci_low > 0 or self.ci_high < 0


@dataclass
class ExampleDiff:
    """An example the tuning fixed (baseline wrong, tuned right) or broke (the reverse)."""

    index: int
    prompt: str
    reference: str
    baseline_answer: str
    tuned_answer: str
    baseline_score: float | None = None
    tuned_score: float | None = None


@dataclass
class JudgeResult:
    """Pairwise LLM-judge outcome: answers shown in random order, the prompt kept for the record."""

    model: str
    prompt_template: str
    tuned_wins: int
    baseline_wins: int
    ties: int
    invalid: int
    win_rate: float
    ci_low: float
    ci_high: float


@dataclass
class EvaluationReport:
    """Everything one evaluation found. ``verdict`` is the one-line answer to "is the tuned model better?"."""

    eval_id: str
    created_at: str
    task: str
    provider: str
    test_file: str
    examples: int
    models: list[ModelResult]
    comparisons: list[Comparison] = field(default_factory=list)
    verdict: str = ""
    primary_metric: str = ""
    job_id: str | None = None
    dataset_sha256: str | None = None
    labels: list[str] = field(default_factory=list)
    target_language: str | None = None
    signature: dict[str, str] = field(default_factory=dict)
    request_settings: dict[str, Any] = field(default_factory=dict)
    mcnemar: dict[str, Any] | None = None
    moved: dict[str, int] = field(default_factory=dict)
    """How many examples got better / worse (``fixed``/``broken`` list every one of them)."""
    fixed: list[ExampleDiff] = field(default_factory=list)
    broken: list[ExampleDiff] = field(default_factory=list)
    judge: JudgeResult | None = None
    references: list[str] = field(default_factory=list)
    """The reference answers, in test-file order (report.json keeps every answer, for audit and re-scoring)."""
    answers: dict[str, list[str]] = field(default_factory=dict)
    """Each model's answers by role, aligned with ``references`` ("" where an answer failed)."""
    training_curve: list[dict[str, float]] = field(default_factory=list)
    """Points ``{"step", "train_loss", "valid_loss"?}`` from the job's metrics events or result file."""
    batch: bool = False
    source_note: str = ""
    """Says so when the answers came from the local emulator rather than a real provider."""
    out_dir: str | None = None
    deployments: list[dict[str, Any]] = field(default_factory=list)
    """Dedicated endpoints started to serve a model for this evaluation: hardware, price, minutes, cost, and
    the state they were left in (providers whose tuned models must be deployed)."""
    failures: list[dict[str, Any]] = field(default_factory=list)
    """Every answer that failed after its retries: ``{"role", "model", "index", "error"}``; each counts as wrong."""
    runs: list[dict[str, Any]] = field(default_factory=list)
    """For a comparison of several jobs: one row per job (provider, tuned and base model, primary metric,
    training, inference and endpoint costs, its own report)."""

    def model(self, role: str) -> ModelResult | None:
        return next((m for m in self.models if m.role == role), None)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def report_paths(self) -> dict[str, Path]:
        if not self.out_dir:
            return {}
        base = Path(self.out_dir)
        return {kind: base / f"report.{kind}" for kind in ("json", "md", "html")}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvaluationReport:
        values = dict(data)
        values["models"] = [ModelResult(**m) for m in data.get("models", [])]
        values["comparisons"] = [Comparison(**c) for c in data.get("comparisons", [])]
        values["fixed"] = [ExampleDiff(**d) for d in data.get("fixed", [])]
        values["broken"] = [ExampleDiff(**d) for d in data.get("broken", [])]
        values["judge"] = JudgeResult(**data["judge"]) if data.get("judge") else None
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})
