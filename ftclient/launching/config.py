"""One job's configuration, its checks against the documented ranges, and sweeps of several.

A configuration's ``key`` is a hash of everything that makes two jobs "the same" (dataset, model, method,
hyperparameters, suffix, seed, validation, integrations). An identical relaunch finds its earlier job by
this key instead of creating a duplicate.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ftclient.errors import UserInputError

MAX_SEED = 2**31 - 1
_SUFFIX_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

# (low, high, low inclusive) per hyperparameter, as documented for POST /fine_tuning/jobs.
RANGES: dict[str, tuple[float, float, bool]] = {
    "n_epochs": (1, 50, True),
    "batch_size": (1, 256, True),
    "learning_rate_multiplier": (0, float("inf"), False),
    "beta": (0, 2, False),
}
"""OpenAI's documented ranges (fine-tuning API reference: n_epochs 1-50, batch_size 1-256, beta 0-2)."""
OPEN_RANGES: dict[str, tuple[float, float, bool]] = {
    "n_epochs": (1, float("inf"), True),
    "batch_size": (1, float("inf"), True),
    "learning_rate_multiplier": (0, float("inf"), False),
    "beta": (0, float("inf"), False),
}
"""For other providers only the sign is checked here; each one's per-model limits are its own (Together
publishes them at ``GET /fine-tunes/models/limits``; the adapter checks them before uploading)."""
FLAG_NAMES = {
    "n_epochs": "--epochs",
    "batch_size": "--batch-size",
    "learning_rate_multiplier": "--lr-multiplier",
    "beta": "--beta",
}
INTEGER_PARAMS = frozenset({"n_epochs", "batch_size"})


@dataclass(frozen=True)
class LaunchConfig:
    """What one job is created with; ``hyperparameters`` holds only values the user chose."""

    model: str
    method: str = "supervised"
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    suffix: str | None = None
    seed: int | None = None
    use_validation: bool = True
    wandb_project: str | None = None

    def key(self, dataset_sha256: str, provider: str) -> str:
        """Stable identity of this configuration on this dataset and provider."""
        payload = {
            "provider": provider,
            "dataset": dataset_sha256,
            "model": self.model,
            "method": self.method,
            "hyperparameters": {k: v for k, v in sorted(self.hyperparameters.items()) if v is not None},
            "suffix": self.suffix,
            "seed": self.seed,
            "validation": self.use_validation,
            "wandb": self.wandb_project,
        }
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        return f"cfg-{digest[:20]}"

    def describe(self) -> str:
        hyper = ", ".join(f"{k}={v}" for k, v in sorted(self.hyperparameters.items()))
        return f"{self.model} ({self.method}{', ' + hyper if hyper else ''})"


def check_hyperparameters(method: str, hyperparameters: Mapping[str, Any], *, provider: str = "openai") -> None:
    """Refuse values outside the documented ranges before anything is sent."""
    ranges = RANGES if provider == "openai" else OPEN_RANGES
    for name, value in hyperparameters.items():
        if value is None:
            continue
        flag = FLAG_NAMES.get(name, name)
        if name == "beta" and method != "dpo":
            raise UserInputError(
                f"{flag} applies to DPO only, but the method is {method!r}",
                hint="drop --beta, or launch with --method dpo on a preference dataset",
            )
        if name not in ranges:
            continue
        low, high, inclusive = ranges[name]
        if name in INTEGER_PARAMS and (isinstance(value, bool) or not isinstance(value, int)):
            raise UserInputError(f"{flag} must be a whole number, got {value!r}", hint=f"e.g. {flag} 3")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise UserInputError(f"{flag} must be a number, got {value!r}", hint=f"e.g. {flag} 1.0")
        if not math.isfinite(value):  # nan compares false with every bound, inf is not JSON
            raise UserInputError(f"{flag} must be a finite number, got {value}", hint=f"e.g. {flag} 1.0")
        below = value < low if inclusive else value <= low
        if below or value > high:
            lo = f"{low:g} ≤" if inclusive else f"{low:g} <"
            hi = "" if high == float("inf") else f" ≤ {high:g}"
            raise UserInputError(
                f"{flag} {value} is out of range: it must be {lo} value{hi}",
                hint=f"pick a value in that range, or leave {flag} out for the provider's default",
            )


def check_suffix_and_seed(suffix: str | None, seed: int | None) -> None:
    if suffix is not None and not _SUFFIX_RE.match(suffix):
        raise UserInputError(
            f"--suffix {suffix!r} is not usable: 1-64 characters, letters, digits, '-' and '_' only",
            hint="e.g. --suffix tickets-v2 (it becomes part of the tuned model's name)",
        )
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise UserInputError(f"--seed {seed} is out of range 0..{MAX_SEED}", hint="pick a smaller seed")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return [None]
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        return [value]
    return list(value) or [None]


def expand(
    *,
    models: Any,
    method: str,
    epochs: Any = None,
    batch_size: Any = None,
    lr_multiplier: Any = None,
    beta: Any = None,
    suffix: str | None = None,
    seed: int | None = None,
    use_validation: bool = True,
    wandb_project: str | None = None,
    provider: str = "openai",
) -> list[LaunchConfig]:
    """Every combination of the given values (a sweep when any of them is a list), each checked."""
    check_suffix_and_seed(suffix, seed)
    configs: list[LaunchConfig] = []
    for model, n_epochs, batch, lr, beta_value in itertools.product(
        _as_list(models), _as_list(epochs), _as_list(batch_size), _as_list(lr_multiplier), _as_list(beta)
    ):
        if not model:
            raise UserInputError("no model given", hint="pass --model, e.g. --model gpt-4.1-mini-2025-04-14")
        hyper = {
            k: v
            for k, v in {
                "n_epochs": n_epochs,
                "batch_size": batch,
                "learning_rate_multiplier": lr,
                "beta": beta_value,
            }.items()
            if v is not None
        }
        check_hyperparameters(method, hyper, provider=provider)
        configs.append(
            LaunchConfig(
                model=str(model),
                method=method,
                hyperparameters=hyper,
                suffix=suffix,
                seed=seed,
                use_validation=use_validation,
                wandb_project=wandb_project,
            )
        )
    unique: dict[str, LaunchConfig] = {}
    for config in configs:
        unique.setdefault(config.key("", ""), config)
    return list(unique.values())


def sweep_id_for(dataset_sha256: str, keys: Sequence[str]) -> str:
    """The same sweep launched again gets the same id (so relaunching it re-attaches to its jobs)."""
    digest = hashlib.sha256(json.dumps([dataset_sha256, sorted(keys)]).encode()).hexdigest()
    return f"sweep-{digest[:12]}"
