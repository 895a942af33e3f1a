"""Serving a tuned LoRA on Fireworks: an on-demand deployment of its base model with addons enabled, and the
LoRA loaded on it as a ``deployedModel`` (the "multi-LoRA" path of docs.fireworks.ai/fine-tuning/deploying-loras;
LoRA models cannot be served serverless). Deployments bill by GPU-second while a replica runs.

What keeps the bill bounded: the deployment scales to zero after ``inactive_timeout_min`` idle minutes
(``autoscalingPolicy.scaleToZeroWindow``, at least 5 minutes per Fireworks' docs), and ``stop_endpoint``
deletes it. ``ftclient.deploy`` drives the lifecycle.

Idempotency: the deployment id is chosen here (``?deploymentId=``), so a create resent after a lost answer
gets 409 and the deployment made by the first try is used; the LoRA load has no caller-chosen id, so before
loading, the deployment's addons are listed and an existing one is used.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping
from typing import Any

from ftclient.errors import ProviderError, RemoteNotFoundError
from ftclient.providers.base import Endpoint
from ftclient.providers.fireworks import wire
from ftclient.providers.fireworks.http import FireworksHTTP, is_conflict

DEFAULT_ACCELERATOR = "NVIDIA_A100_80GB"
MIN_SCALE_TO_ZERO_MIN = 5
"""``scaleToZeroWindow`` must be at least 5 minutes (docs.fireworks.ai, deployment autoscaling)."""


class FireworksServing(FireworksHTTP):
    """Deployments and the LoRA addons loaded on them, as ftclient Endpoints."""

    def _hourly(self, accelerator: str | None) -> float | None:
        from ftclient.pricing import fireworks_gpu_hour_usd

        return fireworks_gpu_hour_usd(accelerator or DEFAULT_ACCELERATOR)

    def base_of(self, model: str) -> str:
        """The base model a tuned LoRA was trained from (``peftDetails.baseModel`` of the model resource)."""
        found = self._json(f"reading model {model}", "GET", f"/models/{wire.short_id(model)}")
        base = (found.get("peftDetails") or {}).get("baseModel")
        return str(base or model)

    def create_endpoint(self, model: str, *, hardware: str | None = None, inactive_timeout_min: int = 30) -> Endpoint:
        """A deployment of ``model``'s base with the LoRA loaded, one replica at most, scaled to zero after
        ``inactive_timeout_min`` idle minutes."""
        tuned = self.resource("models", model)
        base = self.base_of(tuned)
        deployment_id = wire.deployment_id_for(tuned, uuid.uuid4().hex[:6])
        window = max(MIN_SCALE_TO_ZERO_MIN, int(inactive_timeout_min)) * 60
        body = {
            "displayName": f"ftclient {wire.short_id(tuned)}"[:63],
            "baseModel": base,
            "minReplicaCount": 0,
            "maxReplicaCount": 1,
            "acceleratorType": hardware or DEFAULT_ACCELERATOR,
            "acceleratorCount": 1,
            "enableAddons": True,
            "autoscalingPolicy": {"scaleToZeroWindow": f"{window}s"},
            "annotations": {"ftclient-model": tuned},
        }
        try:
            deployment = self._json(
                f"creating a deployment for {tuned}",
                "POST",
                "/deployments",
                params={"deploymentId": deployment_id},
                json=body,
            )
        except ProviderError as exc:
            if not is_conflict(exc):
                raise
            deployment = self._deployment(deployment_id)
        addon = self._load(tuned, str(deployment.get("name") or self.resource("deployments", deployment_id)))
        return self._endpoint(deployment, addon)

    def _load(self, model: str, deployment: str) -> dict[str, Any]:
        """Load the LoRA on the deployment unless it is loaded already (look before sending again)."""
        found = self._addon(deployment)
        if found is not None:
            return found
        body = {"model": model, "deployment": deployment, "default": True, "displayName": wire.short_id(model)[:63]}
        try:
            result: dict[str, Any] = self._json(
                f"loading {model} on {wire.short_id(deployment)}", "POST", "/deployedModels", retry=False, json=body
            )
        except ProviderError:
            found = self._addon(deployment)
            if found is None:
                raise
            return found
        return result

    def _addon(self, deployment: str) -> dict[str, Any] | None:
        answer = self._json(
            "listing the models loaded on deployments",
            "GET",
            "/deployedModels",
            params={"filter": f'deployment="{deployment}"', "pageSize": 200},
        )
        for item in answer.get("deployedModels") or []:
            if item.get("deployment") == deployment:
                return dict(item)
        return None

    def _deployment(self, deployment_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._json(
            f"reading deployment {deployment_id}", "GET", f"/deployments/{wire.short_id(deployment_id)}"
        )
        return result

    def _endpoint(self, deployment: Mapping[str, Any], addon: Mapping[str, Any] | None) -> Endpoint:
        return wire.endpoint_from(deployment, addon, hourly_usd=self._hourly(deployment.get("acceleratorType")))

    def get_endpoint(self, endpoint_id: str) -> Endpoint:
        """The deployment and its LoRA; a READY deployment whose LoRA load never arrived gets it now."""
        deployment = self._deployment(endpoint_id)
        name = str(deployment.get("name") or self.resource("deployments", endpoint_id))
        addon = self._addon(name)
        model = (deployment.get("annotations") or {}).get("ftclient-model")
        if addon is None and model and deployment.get("state") in {"CREATING", "READY"}:
            addon = self._load(str(model), name)
        return self._endpoint(deployment, addon)

    def list_endpoints(self) -> list[Endpoint]:
        answer = self._json("listing deployments", "GET", "/deployments", params={"pageSize": 200})
        addons = self._json("listing loaded models", "GET", "/deployedModels", params={"pageSize": 200})
        by_deployment = {a.get("deployment"): a for a in addons.get("deployedModels") or []}
        return [
            self._endpoint(d, by_deployment.get(d.get("name")))
            for d in answer.get("deployments") or []
            if d.get("state") != "DELETED"
        ]

    def stop_endpoint(self, endpoint_id: str) -> Endpoint:
        """Unload the LoRA and delete the deployment: deleting is what stops GPU billing on Fireworks (a
        deployment scaled to zero costs nothing either, but would wake on the next request)."""
        deployment = self._deployment(endpoint_id)
        name = str(deployment.get("name") or self.resource("deployments", endpoint_id))
        addon = self._addon(name)
        if addon is not None:
            addon_id = wire.short_id(str(addon.get("name") or ""))
            with contextlib.suppress(RemoteNotFoundError):
                self._send(f"unloading {addon.get('model')}", "DELETE", f"/deployedModels/{addon_id}")
        self.delete_endpoint(endpoint_id)
        stopped = {**deployment, "state": "DELETING"}
        return self._endpoint(stopped, None)

    def delete_endpoint(self, endpoint_id: str) -> None:
        with contextlib.suppress(RemoteNotFoundError):
            self._send(f"deleting deployment {endpoint_id}", "DELETE", f"/deployments/{wire.short_id(endpoint_id)}")
