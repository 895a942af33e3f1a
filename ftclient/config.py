"""Settings resolution: flags > environment > ftclient.toml / [tool.ftclient] > defaults.

Only non-secret settings live here. Credentials are read from the environment by each provider adapter
at the moment it needs them and are never stored, logged or written by ftclient.
"""

from __future__ import annotations

import os
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ftclient.errors import ConfigError

DEFAULT_PROVIDER = "openai"
DEFAULT_MODEL = "gpt-4.1-mini-2025-04-14"


PROFILE_KINDS = ("openai-compatible",)
CAPABILITY_FLAGS = ("job_metadata", "batch", "pause_resume", "needs_deployment", "moderation", "checkpoints")


@dataclass(frozen=True)
class ProviderProfile:
    """A ``[providers.NAME]`` table: a service speaking OpenAI's fine-tuning API on its own base URL, run
    through the OpenAI adapter under its own name. Names the variable holding the key, never the key."""

    name: str
    kind: str
    base_url: str
    api_key_env: str
    capabilities: Mapping[str, bool] = field(default_factory=dict)
    prices: Mapping[str, float] = field(default_factory=dict)
    """Base model -> training dollars per million tokens, as the service publishes them."""
    models: tuple[str, ...] = ()
    """The base models it tunes; empty = not checked before launching."""


@dataclass(frozen=True)
class Settings:
    """Resolved, non-secret settings. Every field can come from a flag, ``FTCLIENT_<NAME>`` or a file."""

    home: Path
    """Where the registry lives. ``FTCLIENT_HOME`` overrides the platform's user data directory."""
    provider: str = DEFAULT_PROVIDER
    model: str = DEFAULT_MODEL
    data_dir: Path = Path("ftdata")
    """Where ``prepare`` writes dataset folders, relative to the working directory."""
    reports_dir: Path = Path("ftreports")
    """Where ``evaluate`` writes reports."""
    seed: int = 42
    max_retries: int = 4
    """HTTP retries per request, in the one retry layer of each call path."""
    retry_backoff_s: float = 0.5
    """The first pause before a retry; it doubles on each further retry (capped at 8 s). A server's
    Retry-After, when it sends one, takes precedence."""
    request_timeout_s: float = 120.0
    poll_interval_s: float = 5.0
    """The shortest pause between status polls while following a job."""
    profiles: Mapping[str, ProviderProfile] = field(default_factory=dict)
    """Providers defined in the settings file (``[providers.NAME]``); only from the file."""

    @property
    def registry_path(self) -> Path:
        return self.home / "registry.db"


def default_home(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get("FTCLIENT_HOME"):
        return Path(env["FTCLIENT_HOME"]).expanduser()
    if sys.platform == "win32":
        base = Path(env.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(env.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "ftclient"


def _file_settings(cwd: Path) -> tuple[dict[str, Any], Path | None]:
    """Read ``ftclient.toml`` (preferred) or ``[tool.ftclient]`` from ``pyproject.toml`` in ``cwd``."""
    for name in ("ftclient.toml", "pyproject.toml"):
        path = cwd / name
        if not path.is_file():
            continue
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}", hint=f"fix or remove {path}") from exc
        if name == "pyproject.toml":
            data = data.get("tool", {}).get("ftclient", {})
            if not data:
                continue
        return dict(data), path
    return {}, None


def _profiles(table: Any, origin: str) -> dict[str, ProviderProfile]:
    """The ``[providers.NAME]`` tables, checked: every mistake names the file, the table and the fix."""
    if not isinstance(table, dict):
        raise ConfigError(f"{origin}: providers must be a table of [providers.NAME] tables",
                          hint="see docs/providers.md#openai-compatible-services")
    found: dict[str, ProviderProfile] = {}
    allowed = {"kind", "base_url", "api_key_env", "capabilities", "prices", "models"}
    for name, body in table.items():
        where = f"{origin}: [providers.{name}]"
        if not isinstance(body, dict):
            raise ConfigError(f"{where} is not a table", hint="write it as [providers.NAME] with kind, base_url, ...")
        if name in ("openai", "together", "fireworks", "vertex"):
            raise ConfigError(f"{where}: {name} is a built-in provider", hint="give the profile another name")
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise ConfigError(
                f"{where}: unknown key(s) {', '.join(unknown)}", hint=f"known: {', '.join(sorted(allowed))}"
            )
        if body.get("kind") not in PROFILE_KINDS:
            raise ConfigError(f"{where}: kind = {body.get('kind')!r} is not supported",
                              hint=f'set kind = "{PROFILE_KINDS[0]}"')
        for key in ("base_url", "api_key_env"):
            if not isinstance(body.get(key), str) or not body[key]:
                raise ConfigError(f"{where}: {key} is missing", hint=f"set {key} (see docs/providers.md)")
        capabilities = body.get("capabilities", {})
        wrong = (
            [k for k, v in capabilities.items() if k not in CAPABILITY_FLAGS or not isinstance(v, bool)]
            if isinstance(capabilities, dict)
            else ["capabilities"]
        )
        if wrong:
            raise ConfigError(
                f"{where}: capabilities: {', '.join(wrong)} is not one of {', '.join(CAPABILITY_FLAGS)} "
                "set to true or false",
                hint="e.g. capabilities = { job_metadata = true }",
            )
        prices = body.get("prices", {})
        if not isinstance(prices, dict) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in prices.values()
        ):
            raise ConfigError(f"{where}: prices must map model names to dollars per million training tokens",
                              hint='e.g. prices = { "meta-llama/Llama-3.1-8B-Instruct" = 0.4 }')
        models = body.get("models", [])
        if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
            raise ConfigError(f"{where}: models must be a list of model names", hint='e.g. models = ["org/model"]')
        found[name] = ProviderProfile(
            name=name,
            kind=body["kind"],
            base_url=body["base_url"],
            api_key_env=body["api_key_env"],
            capabilities=dict(capabilities),
            prices={k: float(v) for k, v in prices.items()},
            models=tuple(models),
        )
    return found


def _coerce(name: str, value: Any, kind: Any, origin: str) -> Any:
    try:
        if kind in (Path, "Path"):
            return Path(str(value)).expanduser()
        if kind in (int, "int"):
            return int(value)
        if kind in (float, "float"):
            return float(value)
        return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{origin}: {name} = {value!r} is not a valid {getattr(kind, '__name__', kind)}",
            hint=f"set {name} to a valid value or remove it",
        ) from exc


def resolve(
    flags: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Merge the four sources. ``flags`` holds only options the user actually gave (None = not given)."""
    env = os.environ if environ is None else environ
    file_values, file_path = _file_settings(cwd or Path.cwd())
    profiles = _profiles(file_values.pop("providers"), str(file_path)) if "providers" in file_values else {}
    known = {f.name: f.type for f in fields(Settings) if f.name != "profiles"}
    unknown = sorted(set(file_values) - set(known))
    if unknown:
        raise ConfigError(
            f"{file_path}: unknown setting(s) {', '.join(unknown)}",
            hint=f"known settings: {', '.join(sorted(known))}",
        )
    settings = Settings(home=default_home(env))
    changes: dict[str, Any] = {}
    for name, kind in known.items():
        if flags and flags.get(name) is not None:
            changes[name] = _coerce(name, flags[name], kind, f"--{name.replace('_', '-')}")
        elif env.get(f"FTCLIENT_{name.upper()}"):
            changes[name] = _coerce(name, env[f"FTCLIENT_{name.upper()}"], kind, f"FTCLIENT_{name.upper()}")
        elif name in file_values:
            changes[name] = _coerce(name, file_values[name], kind, str(file_path))
    return replace(settings, profiles=profiles, **changes)
