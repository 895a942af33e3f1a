"""Provider adapters, found by name. Adapters are imported only when asked for, so the SDKs they wrap
stay off the CLI's start-up path.

Adapters are found through the ``ftclient.providers`` entry-point group (``name = "module:Class"``), which
ftclient's own pyproject declares for the built-in ones: a separately installed package adds a provider by
declaring its adapter there (docs/providers.md). ``BUILTIN`` is the fallback when package metadata is
missing (running from a source tree that was never installed).
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from ftclient.errors import UnknownProviderError

if TYPE_CHECKING:
    from ftclient.config import Settings
    from ftclient.providers.base import Provider

GROUP = "ftclient.providers"

BUILTIN: dict[str, str] = {
    "openai": "ftclient.providers.openai:OpenAIProvider",
    "together": "ftclient.providers.together:TogetherProvider",
    "fireworks": "ftclient.providers.fireworks:FireworksProvider",
}


def available() -> dict[str, str]:
    """Every provider name -> ``module:Class``: the built-ins, then those installed packages declare (a
    plugin cannot take over a built-in name)."""
    found = dict(BUILTIN)
    for entry in entry_points(group=GROUP):
        found.setdefault(entry.name, entry.value)
    return found


def is_builtin(name: str) -> bool:
    return name in BUILTIN


def get_provider(name: str, settings: Settings | None = None) -> Provider:
    """Build the adapter for ``name``; credentials come from the environment, never from ``settings``."""
    known = BUILTIN if name in BUILTIN else available()
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
    provider: Provider = cls.from_settings(settings)
    return provider
