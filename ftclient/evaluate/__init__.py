"""Evaluation: a tuned model against its base model on the held-out test split, with paired significance.

``evaluate(job_or_model, ...)`` returns an :class:`EvaluationReport`; the pieces (runner, rate limiter,
metrics, significance tests, report rendering) are importable from their modules for other uses.
"""

from __future__ import annotations

from ftclient.evaluate.api import evaluate
from ftclient.evaluate.types import (
    Answer,
    Comparison,
    EvaluationReport,
    Example,
    ExampleDiff,
    JudgeResult,
    ModelResult,
)

__all__ = [
    "Answer",
    "Comparison",
    "EvaluationReport",
    "Example",
    "ExampleDiff",
    "JudgeResult",
    "ModelResult",
    "evaluate",
]
