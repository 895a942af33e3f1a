"""Provider adapters, found by name. Adapters are imported only when asked for, so the SDKs they wrap
stay off the CLI's start-up path."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ftclient.errors import UnknownProviderError

if TYPE_CHECKING:
    from ftclient.config import Settings
    from ftclient.providers.base import Provider

PROVIDERS: dict[str, str] = {
    "openai": "ftclient.providers.openai:OpenAIProvider",
    "together": "ftclient.providers.together:TogetherProvider",
    "fireworks": "ftclient.providers.fireworks:FireworksProvider",
    "azure": "ftclient.providers.azure:AzureProvider",
}


def get_provider(name: str, settings: Settings | None = None) -> Provider:
    """Build the adapter for ``name``; credentials come from the environment, never from ``settings``."""
    try:
        target = PROVIDERS[name]
    except KeyError:
        raise UnknownProviderError(name, sorted(PROVIDERS)) from None
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise UnknownProviderError(name, [n for n in PROVIDERS if n != name]) from None
    cls = getattr(module, class_name)
    provider: Provider = cls.from_settings(settings)
    return provider
