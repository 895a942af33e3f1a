"""Provider adapters, found by name. Adapters are imported only when asked for, so the SDKs they wrap
stay off the CLI's start-up path.

Adapters are found through the ``ftclient.providers`` entry-point group (``name = "module:Class"``), which
ftclient's own pyproject declares for the built-in ones: a separately installed package adds a provider by
declaring its adapter there (docs/providers.md). ``BUILTIN`` is the fallback when package metadata is
missing (running from a source tree that was never installed).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from ftclient.errors import UnknownProviderError

if TYPE_CHECKING:
    from ftclient.config import ProviderProfile, Settings
    from ftclient.providers.base import Provider

GROUP = "ftclient.providers"

BUILTIN: dict[str, str] = {
    "openai": "ftclient.providers.openai:OpenAIProvider",
    "together": "ftclient.providers.together:TogetherProvider",
    "fireworks": "ftclient.providers.fireworks:FireworksProvider",
    "azure": "ftclient.providers.azure:AzureProvider",
    "bedrock": "ftclient.providers.bedrock:BedrockProvider",
    "vertex": "ftclient.providers.vertex:VertexProvider",
}


PROFILE_ADAPTERS = {"openai-compatible": "ftclient.providers.openai:OpenAIProvider"}
"""``[providers.NAME]`` profile kind -> the adapter that runs it."""


def available(settings: Settings | None = None) -> dict[str, str]:
    """Every provider name -> ``module:Class``: the built-ins, then those installed packages declare, then
    the profiles of the settings file (neither can take over a name already taken)."""
    found = dict(BUILTIN)
    for entry in entry_points(group=GROUP):
        found.setdefault(entry.name, entry.value)
    for name, profile in profiles(settings).items():
        found.setdefault(name, PROFILE_ADAPTERS[profile.kind])
    return found


def profiles(settings: Settings | None = None) -> Mapping[str, ProviderProfile]:
    """The ``[providers.NAME]`` profiles of ``settings``, or of the settings file in the working directory."""
    if settings is not None:
        return settings.profiles
    from ftclient.config import resolve
    from ftclient.errors import ConfigError

    try:
        return resolve().profiles
    except ConfigError:
        return {}


def is_builtin(name: str) -> bool:
    return name in BUILTIN


def get_provider(name: str, settings: Settings | None = None) -> Provider:
    """Build the adapter for ``name``; credentials come from the environment, never from ``settings``."""
    known = BUILTIN if name in BUILTIN else available(settings)
    profile = None if name in BUILTIN else profiles(settings).get(name)
    try:
        target = known[name]
    except KeyError:
        raise UnknownProviderError(name, sorted(known)) from None
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise UnknownProviderError(name, [n for n in known if n != name]) from None
    cls = getattr(module, class_name)
    made = (
        cls.from_profile(profile, settings)
        if profile is not None and known[name] == PROFILE_ADAPTERS[profile.kind]
        else cls.from_settings(settings)
    )
    provider: Provider = made
    return provider
