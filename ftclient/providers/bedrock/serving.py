"""Serving a custom model on Bedrock, which never serves one by its own ARN: either an on-demand custom model
deployment (per-token billing; Nova Micro/Lite/Pro in US East, deploy-custom-model-on-demand.html) or
provisioned throughput (one model unit, no commitment term, billed by the hour while it exists).

``create_endpoint`` picks on-demand where the base allows it (``hardware="provisioned"`` or ``"on-demand"``
forces one); the Endpoint's id and name are the deployment's or provisioned model's ARN, which Converse takes
as ``modelId``. Bedrock cannot stop either, only delete it: ``stop_endpoint`` deletes, which ends the billing.
``ftclient.deploy`` drives the lifecycle and its teardown guarantees (after evaluate, on error, on Ctrl-C).
Both creates carry a ``clientRequestToken``, so a create resent after a lost answer makes nothing twice.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping
from typing import Any

from ftclient.errors import RemoteNotFoundError, UserInputError
from ftclient.providers.base import Endpoint
from ftclient.providers.bedrock import wire
from ftclient.providers.bedrock.client import BedrockClients

PROVISIONED = "provisioned"
ON_DEMAND = "on-demand"
MODEL_UNITS = 1


def _hour_usd(model: str) -> float | None:
    from ftclient.pricing import bedrock_hour_usd

    return bedrock_hour_usd(wire.base_model(model))


class BedrockServing(BedrockClients):
    def serving_kind(self, model: str, hardware: str | None) -> str:
        if hardware not in (None, PROVISIONED, ON_DEMAND):
            raise UserInputError(
                f"--hardware {hardware!r}: Bedrock serves a custom model {ON_DEMAND} or {PROVISIONED}",
                hint=f"pass --hardware {ON_DEMAND} or --hardware {PROVISIONED}, or leave it out to let ftclient pick",
            )
        if hardware:
            return hardware
        on_demand = wire.base_model(model) in wire.ON_DEMAND_BASES and self.region in wire.ON_DEMAND_REGIONS
        return ON_DEMAND if on_demand else PROVISIONED

    def hourly_fee(self, model: str, hardware: str | None) -> tuple[str, float | None]:
        """(what is bought, USD per hour) before anything bills; prices are ftclient's assumptions (pricing.py)."""
        if self.serving_kind(model, hardware) == ON_DEMAND:
            return ("on-demand custom model deployment (billed per token, no hourly fee)", 0.0)
        hourly = _hour_usd(model)
        return (f"provisioned throughput, {MODEL_UNITS} model unit, no commitment (assumed price)",
                None if hourly is None else hourly * MODEL_UNITS)

    def create_endpoint(self, model: str, *, hardware: str | None = None, inactive_timeout_min: int = 30) -> Endpoint:
        """Deploy or provision ``model`` (a custom model ARN). Bedrock has no idle timeout for either:
        ``inactive_timeout_min`` is not sent, and the teardown of ``ftclient.deploy`` is what ends the bill."""
        kind = self.serving_kind(model, hardware)
        token = f"ftc-{uuid.uuid4().hex}"
        name = f"ftc-{wire.job_short_id(model)}-{uuid.uuid4().hex[:6]}"
        if kind == ON_DEMAND:
            arn = self.call("bedrock", "create_custom_model_deployment", f"deploying {model} on demand",
                            modelDeploymentName=name, modelArn=model, clientRequestToken=token,
                            tags=[{"key": "ftclient", "value": "evaluate"}])["customModelDeploymentArn"]
        else:
            arn = self.call("bedrock", "create_provisioned_model_throughput", f"provisioning throughput for {model}",
                            modelUnits=MODEL_UNITS, provisionedModelName=name, modelId=model,
                            clientRequestToken=token, tags=[{"key": "ftclient", "value": "evaluate"}],
                            )["provisionedModelArn"]
        return self.get_endpoint(str(arn))

    def _endpoint(self, data: Mapping[str, Any], *, provisioned: bool) -> Endpoint:
        raw = str(data.get("status") or "Creating")
        model = str(data.get("modelArn") or "")
        arn = str(data.get("provisionedModelArn") or data.get("customModelDeploymentArn") or "")
        created = wire.epoch(data.get("creationTime") or data.get("createdAt"))
        units = int(data.get("modelUnits") or MODEL_UNITS)
        hourly = _hour_usd(model) if provisioned else 0.0
        return Endpoint(
            id=arn,
            model=model,
            state=wire.ENDPOINT_STATES.get(raw, "PENDING"),
            hardware=f"{PROVISIONED} x{units}" if provisioned else ON_DEMAND,
            cost_per_hour_usd=None if hourly is None else round(hourly * units, 4),
            created_at=created,
            inactive_timeout_min=0,  # Bedrock stops neither kind when idle: 0 keeps deploy() from claiming one
            name=arn,
            display_name=str(data.get("provisionedModelName") or data.get("modelDeploymentName")
                             or data.get("customModelDeploymentName") or "") or None,
        )

    def get_endpoint(self, endpoint_id: str) -> Endpoint:
        if ":custom-model-deployment/" in endpoint_id:
            data = self.call("bedrock", "get_custom_model_deployment", f"reading deployment {endpoint_id}",
                             customModelDeploymentIdentifier=endpoint_id)
            return self._endpoint(data, provisioned=False)
        data = self.call("bedrock", "get_provisioned_model_throughput", f"reading provisioned model {endpoint_id}",
                         provisionedModelId=endpoint_id)
        return self._endpoint(data, provisioned=True)

    def list_endpoints(self) -> list[Endpoint]:
        provisioned = self.call("bedrock", "list_provisioned_model_throughputs", "listing provisioned throughput",
                                maxResults=100).get("provisionedModelSummaries") or []
        deployments = self.call("bedrock", "list_custom_model_deployments", "listing custom model deployments",
                                maxResults=100).get("modelDeploymentSummaries") or []
        return [*(self._endpoint(p, provisioned=True) for p in provisioned),
                *(self._endpoint(d, provisioned=False) for d in deployments)]

    def stop_endpoint(self, endpoint_id: str) -> Endpoint:
        """Delete it: Bedrock cannot pause provisioned throughput or a deployment, and deleting is what stops
        the hourly bill."""
        try:
            current = self.get_endpoint(endpoint_id)
        except RemoteNotFoundError:
            raise
        self.delete_endpoint(endpoint_id)
        return Endpoint(**{**current.__dict__, "state": "STOPPED"})

    def delete_endpoint(self, endpoint_id: str) -> None:
        with contextlib.suppress(RemoteNotFoundError):
            if ":custom-model-deployment/" in endpoint_id:
                self.call("bedrock", "delete_custom_model_deployment", f"deleting deployment {endpoint_id}",
                          customModelDeploymentIdentifier=endpoint_id)
            else:
                self.call("bedrock", "delete_provisioned_model_throughput",
                          f"deleting provisioned model {endpoint_id}", provisionedModelId=endpoint_id)
