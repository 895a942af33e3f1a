"""Microsoft Entra ID tokens from ``azure-identity`` (the optional extra ``ftclient[azure]``), refreshed before
they expire: the data plane's token (scope ``https://cognitiveservices.azure.com/.default``) goes to the SDK as
its ``azure_ad_token_provider``, which asks for it on every request; the management plane's (scope
``https://management.azure.com/.default``) goes on every ARM request. A token lives about an hour, less than a
long evaluation: fetched once, it would leave the deployment's delete at the end refused.

The credential is anything with azure-identity's ``get_token(*scopes)`` returning an object with ``token`` and
``expires_on`` (Unix seconds), ``DefaultAzureCredential`` unless one is given (its environment, managed identity,
Azure CLI... chain, see the azure-identity documentation)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from ftclient.errors import AuthError

DATA_SCOPE = "https://cognitiveservices.azure.com/.default"
ARM_SCOPE = "https://management.azure.com/.default"
REFRESH_MARGIN_S = 300.0
"""A token this close to its expiry is fetched again (azure-core refreshes in the same window)."""


def default_credential() -> Any:
    """azure-identity's ``DefaultAzureCredential``, or an AuthError that says how to get a credential."""
    try:
        from azure.identity import DefaultAzureCredential  # type: ignore[import-not-found]
    except ImportError:
        raise AuthError(
            "no Azure credential: no key or token is set and azure-identity is not installed",
            provider="azure",
            hint="export AZURE_OPENAI_API_KEY (data plane) and AZURE_MANAGEMENT_TOKEN=$(az account get-access-token "
            "--query accessToken -o tsv) (deployments), or pip install 'ftclient[azure]' to use your Azure login",
        ) from None
    return DefaultAzureCredential()


class RefreshingToken:
    """A callable giving a valid bearer token for ``scope``, fetched from the credential again once it is within
    ``REFRESH_MARGIN_S`` of expiring. Thread-safe: the SDK's sync and async clients may share it."""

    def __init__(
        self,
        scope: str,
        *,
        credential: Any | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.scope = scope
        self._credential = credential
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_on = 0.0

    @property
    def current(self) -> str | None:
        """The token last handed out (to scrub it from error messages), None before the first."""
        return self._token

    def __call__(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._expires_on - REFRESH_MARGIN_S:
                if self._credential is None:
                    self._credential = default_credential()
                try:
                    got = self._credential.get_token(self.scope)
                except Exception as exc:  # azure-identity raises its own ClientAuthenticationError family
                    raise AuthError(
                        f"azure-identity could not get a token for {self.scope} ({type(exc).__name__})",
                        provider="azure",
                        hint="run `az login` (or set the credential's environment variables), or export "
                        "AZURE_OPENAI_API_KEY / AZURE_MANAGEMENT_TOKEN",
                    ) from None
                self._token, self._expires_on = str(got.token), float(got.expires_on)
            return self._token
