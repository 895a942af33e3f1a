"""ftclient: prepare, launch and evaluate fine-tuning jobs on hosted LLM providers.

The public Python API. Names are imported on first use, so ``import ftclient`` stays cheap::

    import ftclient

    report = ftclient.prepare("tickets.csv", task="classify")
    job = ftclient.launch(report.out_dir)
    job.wait()
    result = ftclient.evaluate(job.id)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ftclient._version import __version__
from ftclient.errors import (
    ConfigError,
    DatasetError,
    EvaluationError,
    FtclientError,
    JobFailedError,
    ProviderError,
    UserInputError,
    WaitTimeout,
)

if TYPE_CHECKING:
    from ftclient.dataset.prepare import prepare
    from ftclient.dataset.validate import validate
    from ftclient.evaluate import evaluate
    from ftclient.jobs import Job, launch
    from ftclient.migration.capture import capture
    from ftclient.migration.inventory import inventory
    from ftclient.migration.migrate import migrate
    from ftclient.registry import Registry

_LAZY = {
    "prepare": "ftclient.dataset.prepare",
    "validate": "ftclient.dataset.validate",
    "launch": "ftclient.jobs",
    "Job": "ftclient.jobs",
    "evaluate": "ftclient.evaluate",
    "Registry": "ftclient.registry",
    "capture": "ftclient.migration.capture",
    "migrate": "ftclient.migration.migrate",
    "inventory": "ftclient.migration.inventory",
}

__all__ = [
    "ConfigError",
    "DatasetError",
    "EvaluationError",
    "FtclientError",
    "Job",
    "JobFailedError",
    "ProviderError",
    "Registry",
    "UserInputError",
    "WaitTimeout",
    "__version__",
    "capture",
    "evaluate",
    "inventory",
    "launch",
    "migrate",
    "prepare",
    "validate",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ftclient' has no attribute {name!r}")
