"""Deployments through Azure Resource Manager (the management plane), over ``httpx2``: a tuned model answers
nothing until a deployment serves it, and a Standard deployment bills an hourly hosting fee whether or not it
is used. ``ftclient.deploy`` drives the lifecycle (create, wait for ``Succeeded``, delete afterwards).

ARM takes a bearer token, never the data-plane key: ``AZURE_MANAGEMENT_TOKEN`` (e.g. from ``az account
get-access-token``), else a token from ``azure-identity``'s default credential when that package is installed,
fetched again before it expires (``identity.RefreshingToken``). Paths and
``api-version`` 2025-09-01 are those of ``cognitiveservices.json`` (azure-rest-api-specs, stable/2025-09-01).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable
from typing import Any

from ftclient.errors import RemoteNotFoundError, UserInputError
from ftclient.providers.azure import wire
from ftclient.providers.azure.identity import ARM_SCOPE, RefreshingToken
from ftclient.providers.base import Endpoint
from ftclient.providers.rest import RestHTTP
from ftclient.providers.retries import Hints, scrub

MANAGEMENT_API_VERSION = "2025-09-01"
DEFAULT_MANAGEMENT_URL = "https://management.azure.com"


class AzureManagement(RestHTTP):
    name = "azure"
    hints = Hints(
        auth="check AZURE_MANAGEMENT_TOKEN (az account get-access-token) or your Azure login",
        permission="deploying needs Microsoft.CognitiveServices/accounts/deployments/write on the account",
        unavailable="Azure Resource Manager is having trouble; run the same command again later",
    )
    base_url_var = "AZURE_MANAGEMENT_URL"

    def __init__(
        self,
        *,
        token: str | None,
        management_url: str | None,
        subscription: str | None,
        resource_group: str | None,
        account: str | None,
        max_retries: int,
        timeout_s: float,
        retry_backoff_s: float,
        credential: Any | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(api_key=token, max_retries=max_retries, timeout_s=timeout_s, retry_backoff_s=retry_backoff_s)
        self._token_source = None if token else RefreshingToken(ARM_SCOPE, credential=credential, clock=clock)
        self.endpoint = (management_url or DEFAULT_MANAGEMENT_URL).rstrip("/")
        self.subscription, self.resource_group, self.account = subscription, resource_group, account

    def _headers(self) -> dict[str, str]:
        token = self._api_key or (self._token_source() if self._token_source is not None else "")
        return {"Authorization": f"Bearer {token}"}

    def _scrub(self, text: str) -> str:
        return scrub(super()._scrub(text), self._token_source.current if self._token_source is not None else None)

    def _prefix(self) -> str:
        missing = [
            var
            for var, value in (
                ("AZURE_SUBSCRIPTION_ID", self.subscription),
                ("AZURE_RESOURCE_GROUP", self.resource_group),
                ("AZURE_OPENAI_ACCOUNT", self.account),
            )
            if not value
        ]
        if missing:
            raise UserInputError(
                f"deploying on Azure needs {', '.join(missing)}",
                hint="export the subscription id, resource group and Azure OpenAI account name of the resource",
            )
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}/providers/"
            f"Microsoft.CognitiveServices/accounts/{self.account}/deployments"
        )

    def _arm(self, what: str, method: str, name: str | None = None, **kwargs: Any) -> Any:
        path = self._prefix() + (f"/{name}" if name else "")
        response = self._send(what, method, path, params={"api-version": MANAGEMENT_API_VERSION}, **kwargs)
        return response.json() if response.content else {}

    def create_endpoint(self, model: str, *, hardware: str | None = None, inactive_timeout_min: int = 30) -> Endpoint:
        """PUT a deployment of ``model`` (sku ``hardware``: Standard, GlobalStandard or Developer; default the
        Developer tier where it serves the model). Azure removes a deployment after 15 idle days, a Developer
        one after 24 hours; ftclient deletes it when the evaluation ends. A PUT is idempotent by name."""
        sku = hardware or wire.default_sku(model)
        name = wire.deployment_name(model, uuid.uuid4().hex[:8])
        body = {
            "sku": {"name": sku, "capacity": 1},
            "properties": {"model": {"format": "OpenAI", "name": model, "version": "1"}},
        }
        return wire.endpoint_from(self._arm(f"deploying {model} ({sku})", "PUT", name, json=body))

    def get_endpoint(self, endpoint_id: str) -> Endpoint:
        return wire.endpoint_from(self._arm(f"reading deployment {endpoint_id}", "GET", endpoint_id))

    def list_endpoints(self) -> list[Endpoint]:
        answer = self._arm("listing deployments", "GET")
        return [wire.endpoint_from(d) for d in answer.get("value") or [] if ".ft-" in _model_name(d)]

    def stop_endpoint(self, endpoint_id: str) -> Endpoint:
        """Azure deployments cannot be paused: stopping the hosting fee means deleting the deployment (the
        tuned model stays and can be deployed again)."""
        current = self.get_endpoint(endpoint_id)  # a 404 here tells the caller it was gone already
        self.delete_endpoint(endpoint_id)
        return Endpoint(
            id=current.id,
            model=current.model,
            state="DELETED",
            hardware=current.hardware,
            cost_per_hour_usd=current.cost_per_hour_usd,
            created_at=current.created_at,
            name=current.name,
        )

    def delete_endpoint(self, endpoint_id: str) -> None:
        with contextlib.suppress(RemoteNotFoundError):
            self._arm(f"deleting deployment {endpoint_id}", "DELETE", endpoint_id)


def _model_name(deployment: dict[str, Any]) -> str:
    return str(((deployment.get("properties") or {}).get("model") or {}).get("name") or "")
