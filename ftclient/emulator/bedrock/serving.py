"""Serving a custom model: provisioned throughput (billed by the hour while it exists) and, for the bases that
allow it, an on-demand custom model deployment (billed per token, no hourly fee).

Provisioned throughput: ``Creating`` -> ``InService`` after ``PROVISIONING_S`` emulated seconds; billed per
model unit per started hour from creation until deletion, on the emulator clock, at the catalogue's
(assumed) hourly price. Without a commitment term at most ``catalog.MAX_PROVISIONED_UNITS_NO_COMMITMENT``
unit. Custom model deployments: ``Creating`` -> ``Active`` after ``DEPLOYING_S``; only for bases the
catalogue marks on-demand (deploy-custom-model-on-demand.html). Both creates honour ``clientRequestToken``.
"""

from __future__ import annotations

import math
import threading
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ftclient.emulator.bedrock import catalog
from ftclient.emulator.bedrock.wire import aws_error, iso, page
from ftclient.emulator.http import ApiError, Request, Response, Router, json_response

if TYPE_CHECKING:
    from ftclient.emulator.bedrock.app import BedrockApp

PROVISIONING_S = 600.0
DEPLOYING_S = 120.0


@dataclass
class Provisioned:
    ident: str
    name: str
    model_arn: str
    units: int
    created: float
    token: str | None
    hourly_usd: float
    deleted: float | None = None

    @property
    def arn(self) -> str:
        return f"arn:aws:bedrock:{catalog.REGION}:{catalog.ACCOUNT}:provisioned-model/{self.ident}"

    def status(self, now: float) -> str:
        return "InService" if now >= self.created + PROVISIONING_S else "Creating"

    def hours(self, now: float) -> int:
        """Started hours from creation to deletion (or now): what the hourly bill counts."""
        end = self.deleted if self.deleted is not None else now
        return max(1, math.ceil((end - self.created) / 3600.0))


@dataclass
class Deployment:
    ident: str
    name: str
    model_arn: str
    created: float
    token: str | None

    @property
    def arn(self) -> str:
        return f"arn:aws:bedrock:{catalog.REGION}:{catalog.ACCOUNT}:custom-model-deployment/{self.ident}"

    def status(self, now: float) -> str:
        return "Active" if now >= self.created + DEPLOYING_S else "Creating"


class Serving:
    def __init__(self, app: BedrockApp) -> None:
        self.app = app
        self.provisioned: dict[str, Provisioned] = {}
        self.deleted: list[Provisioned] = []
        self.deployments: dict[str, Deployment] = {}
        self.lock = threading.RLock()

    def register(self, router: Router) -> None:
        router.add("POST", "/bedrock/provisioned-model-throughput", self.create_provisioned)
        router.add("GET", "/bedrock/provisioned-model-throughputs", self.list_provisioned)
        router.add("GET", "/bedrock/provisioned-model-throughput/{pt}", self.get_provisioned)
        router.add("DELETE", "/bedrock/provisioned-model-throughput/{pt}", self.delete_provisioned)
        base = "/bedrock/model-customization/custom-model-deployments"
        router.add("POST", base, self.create_deployment)
        router.add("GET", base, self.list_deployments)
        router.add("GET", f"{base}/{{deployment}}", self.get_deployment)
        router.add("DELETE", f"{base}/{{deployment}}", self.delete_deployment)

    def _custom_model(self, identifier: str) -> dict[str, Any]:
        found = self.app.jobs.model(identifier)
        if found is None:
            raise aws_error(404, "ResourceNotFoundException", f"Could not find the custom model {identifier}")
        return found

    # -- provisioned throughput ------------------------------------------------------------------
    def _provisioned(self, identifier: str) -> Provisioned:
        ident = unquote(identifier)
        with self.lock:
            for pt in self.provisioned.values():
                if ident in (pt.arn, pt.ident, pt.name):
                    return pt
        raise aws_error(404, "ResourceNotFoundException", f"Could not find the provisioned model {ident}")

    def _pt_view(self, pt: Provisioned) -> dict[str, Any]:
        now = self.app.now()
        base = catalog.base_of(str(self.app.jobs.models.get(pt.model_arn, {}).get("baseModelArn", ""))) or ""
        return {
            "modelUnits": pt.units,
            "desiredModelUnits": pt.units,
            "provisionedModelName": pt.name,
            "provisionedModelArn": pt.arn,
            "modelArn": pt.model_arn,
            "desiredModelArn": pt.model_arn,
            "foundationModelArn": catalog.foundation_arn(base),
            "status": pt.status(now),
            "creationTime": iso(pt.created),
            "lastModifiedTime": iso(min(now, pt.created + PROVISIONING_S)),
        }

    def create_provisioned(self, request: Request) -> Response:
        body = request.json()
        token = body.get("clientRequestToken")
        with self.lock:
            if token:
                for pt in self.provisioned.values():
                    if pt.token == token:
                        return json_response({"provisionedModelArn": pt.arn}, status=201)
            model = self._custom_model(str(body.get("modelId", "")))
            units = body.get("modelUnits")
            if not isinstance(units, int) or units < 1:
                raise aws_error(400, "ValidationException", "modelUnits must be a positive integer")
            if body.get("commitmentDuration") is None and units > catalog.MAX_PROVISIONED_UNITS_NO_COMMITMENT:
                raise aws_error(400, "ServiceQuotaExceededException",
                                f"Without a commitment term at most {catalog.MAX_PROVISIONED_UNITS_NO_COMMITMENT} "
                                "model unit can be provisioned for a custom model")
            if any(pt.name == body.get("provisionedModelName") for pt in self.provisioned.values()):
                raise aws_error(400, "ValidationException", "A provisioned model with this name already exists")
            base = catalog.base_of(model["baseModelArn"]) or ""
            pt = Provisioned(uuid.uuid4().hex[:12], str(body["provisionedModelName"]), model["modelArn"], units,
                             self.app.now(), token, catalog.FOUNDATION[base][3])
            self.provisioned[pt.ident] = pt
        return json_response({"provisionedModelArn": pt.arn}, status=201)

    def get_provisioned(self, request: Request) -> Response:
        return json_response(self._pt_view(self._provisioned(request.params["pt"])))

    def list_provisioned(self, request: Request) -> Response:
        with self.lock:
            views = [self._pt_view(pt) for pt in sorted(self.provisioned.values(), key=lambda p: -p.created)]
        items, token = page(views, request)
        out: dict[str, Any] = {"provisionedModelSummaries": items}
        if token:
            out["nextToken"] = token
        return json_response(out)

    def delete_provisioned(self, request: Request) -> Response:
        with self.lock:
            pt = self._provisioned(request.params["pt"])
            pt.deleted = self.app.now()
            self.deleted.append(self.provisioned.pop(pt.ident))
        return json_response({})

    def serving_provisioned(self, identifier: str) -> Provisioned | None:
        try:
            return self._provisioned(identifier)
        except ApiError:  # not one of these: the caller tries the other kinds
            return None

    # -- on-demand deployments -------------------------------------------------------------------
    def _deployment(self, identifier: str) -> Deployment:
        ident = unquote(identifier)
        with self.lock:
            for deployment in self.deployments.values():
                if ident in (deployment.arn, deployment.ident, deployment.name):
                    return deployment
        raise aws_error(404, "ResourceNotFoundException", f"Could not find the custom model deployment {ident}")

    def _deployment_view(self, deployment: Deployment, *, summary: bool = False) -> dict[str, Any]:
        now = self.app.now()
        return {
            "customModelDeploymentArn": deployment.arn,
            "modelDeploymentName" if not summary else "customModelDeploymentName": deployment.name,
            "modelArn": deployment.model_arn,
            "createdAt": iso(deployment.created),
            "status": deployment.status(now),
            "lastUpdatedAt": iso(min(now, deployment.created + DEPLOYING_S)),
        }

    def create_deployment(self, request: Request) -> Response:
        body = request.json()
        token = body.get("clientRequestToken")
        with self.lock:
            if token:
                for deployment in self.deployments.values():
                    if deployment.token == token:
                        return json_response({"customModelDeploymentArn": deployment.arn}, status=202)
            model = self._custom_model(str(body.get("modelArn", "")))
            base = catalog.base_of(model["baseModelArn"]) or ""
            if not catalog.FOUNDATION[base][2] or catalog.REGION not in catalog.ON_DEMAND_REGIONS:
                raise aws_error(400, "ValidationException",
                                f"On-demand deployment is not supported for custom models of {base}; "
                                "buy provisioned throughput instead")
            deployment = Deployment(uuid.uuid4().hex[:12], str(body.get("modelDeploymentName")), model["modelArn"],
                                    self.app.now(), token)
            self.deployments[deployment.ident] = deployment
        return json_response({"customModelDeploymentArn": deployment.arn}, status=202)

    def get_deployment(self, request: Request) -> Response:
        return json_response(self._deployment_view(self._deployment(request.params["deployment"])))

    def list_deployments(self, request: Request) -> Response:
        with self.lock:
            views = [self._deployment_view(d, summary=True)
                     for d in sorted(self.deployments.values(), key=lambda d: -d.created)]
        items, token = page(views, request)
        out: dict[str, Any] = {"modelDeploymentSummaries": items}
        if token:
            out["nextToken"] = token
        return json_response(out)

    def delete_deployment(self, request: Request) -> Response:
        with self.lock:
            deployment = self._deployment(request.params["deployment"])
            del self.deployments[deployment.ident]
        return json_response({})

    def serving_deployment(self, identifier: str) -> Deployment | None:
        try:
            return self._deployment(identifier)
        except ApiError:  # not one of these: the caller tries the other kinds
            return None

    def billing(self) -> dict[str, Any]:
        now = self.app.now()
        with self.lock:
            bills: list[dict[str, Any]] = [
                {
                    "provisioned_model": pt.arn,
                    "model_units": pt.units,
                    "status": "Deleted" if pt.deleted is not None else pt.status(now),
                    "hours_billed": pt.hours(now),
                    "hourly_usd_per_unit": pt.hourly_usd,
                    "cost_usd": round(pt.hours(now) * pt.units * pt.hourly_usd, 2),
                }
                for pt in [*self.provisioned.values(), *self.deleted]
            ]
            return {
                "provisioned_running": len(self.provisioned),
                "provisioned_cost_usd": round(sum(b["cost_usd"] for b in bills), 2),
                "provisioned": bills,
                "deployments_active": len(self.deployments),
                "price_note": "hourly prices are the emulator catalogue's assumptions",
            }
