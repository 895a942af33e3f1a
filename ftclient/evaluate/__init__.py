"""Evaluation: a tuned model against its base model on the held-out test split, with paired significance.

``evaluate(job_or_model, ...)`` returns an :class:`EvaluationReport`; the pieces (runner, rate limiter,
metrics, significance tests, report rendering) are importable from their modules for other uses.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

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


class _CallableModule(ModuleType):
    """``ftclient.evaluate`` names both this package and the function. Once any submodule has been
    imported, Python binds the attribute ``ftclient.evaluate`` to the package, so the package itself must
    be callable for ``ftclient.evaluate(job_id)`` to keep working."""

    def __call__(self, *args: Any, **kwargs: Any) -> EvaluationReport:
        return evaluate(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
