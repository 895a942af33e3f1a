"""The management plane (Azure Resource Manager): ``/subscriptions/{sub}/resourceGroups/{rg}/providers/
Microsoft.CognitiveServices/accounts/{account}/deployments[/{name}]`` with PUT (create), GET, DELETE and list,
``api-version`` 2025-09-01 as in the stored ``cognitiveservices.json``.

A deployment is ``Creating`` for a minute of emulated time, then ``Succeeded``; only then does the data plane
answer through it. Hosting is billed at the sku's hourly rate, by the started minute, from creation until
deletion (Azure bills the fee whether or not the deployment is used); a Developer deployment has no fee and is
removed after 24 hours, any deployment after 15 idle days."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ftclient.emulator.azure import catalog
from ftclient.emulator.http import ApiError, Request, Response, Router, json_response

if TYPE_CHECKING:
    from ftclient.emulator.azure.app import AzureApp

PREFIX = (
    "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.CognitiveServices"
    "/accounts/{account}/deployments"
)


@dataclass
class AzureDeployment:
    path: str
    obj: dict[str, Any]
    created: float
    sku: str
    deleted: float | None = None
    last_used: float | None = None

    def billed_minutes(self, now: float) -> int:
        """Started minutes from creation to deletion: the fee is quoted per hour, and the sources do not say
        how finely Azure meters it; the emulator prorates by the started minute."""
        end = self.deleted if self.deleted is not None else now
        return max(1, math.ceil(max(0.0, end - self.created) / 60.0 - 1e-9))

    def cost(self, now: float) -> float:
        return round(self.billed_minutes(now) * catalog.SKU_HOURLY_USD.get(self.sku, 0.0) / 60.0, 6)


def arm_error(status: int, code: str, message: str) -> ApiError:
    """ARM's envelope is ``{"error": {"code", "message"}}``; ApiError adds type/param (null)."""
    return ApiError(status, message, type="error", code=code)


class Management:
    def __init__(self, app: AzureApp) -> None:
        self.app = app
        self.deployments: dict[str, AzureDeployment] = {}

    def register(self, router: Router) -> None:
        router.add("GET", PREFIX, self.list_all)
        router.add("PUT", PREFIX + "/{name}", self.create)
        router.add("GET", PREFIX + "/{name}", self.get)
        router.add("DELETE", PREFIX + "/{name}", self.delete)

    def _key(self, request: Request) -> str:
        p = request.params
        return f"{p['subscription']}/{p['group']}/{p['account']}/{p['name']}".lower()

    def settle(self, deployment: AzureDeployment) -> None:
        now = self.app.now()
        if deployment.deleted is not None:
            return
        state = deployment.obj["properties"]
        if state["provisioningState"] == "Creating" and now >= deployment.created + catalog.DEPLOY_CREATING_S:
            state["provisioningState"] = "Succeeded"
        lifetime = catalog.DEVELOPER_LIFETIME_S if deployment.sku == "Developer" else None
        if lifetime is not None and now >= deployment.created + lifetime:
            deployment.deleted = deployment.created + lifetime
        idle_since = deployment.last_used or deployment.created
        if now >= idle_since + catalog.IDLE_DELETE_S:
            deployment.deleted = idle_since + catalog.IDLE_DELETE_S

    def _live(self, key: str) -> AzureDeployment:
        found = self.deployments.get(key)
        if found is not None:
            self.settle(found)
        if found is None or found.deleted is not None:
            raise arm_error(404, "DeploymentNotFound", f"The deployment '{key.rsplit('/', 1)[-1]}' was not found.")
        return found

    def create(self, request: Request) -> Response:
        body = request.json()
        sku = body.get("sku") or {}
        model = ((body.get("properties") or {}).get("model")) or {}
        name, sku_name = str(model.get("name") or ""), str(sku.get("name") or "")
        if model.get("format") != "OpenAI" or not name:
            raise arm_error(400, "InvalidResourceProperties", "properties.model needs format 'OpenAI' and a name.")
        if sku_name not in catalog.SKU_HOURLY_USD:
            raise arm_error(
                400, "InvalidSkuName", f"sku {sku_name!r} is not one of {', '.join(catalog.SKU_HOURLY_USD)}."
            )
        tuned = name if name in self.app.data.tuned else None
        if tuned is None:
            raise arm_error(400, "DeploymentModelNotSupported", f"The model '{name}' is not a fine-tuned model here.")
        base = catalog.base_of(name)
        if sku_name == "Developer" and (base is None or not catalog.MODELS[base].developer_tier):
            raise arm_error(400, "InvalidSkuName", f"The Developer tier does not serve fine-tunes of {base}.")
        key = self._key(request)
        with self.app.lock:
            existing = self.deployments.get(key)
            if existing is not None and existing.deleted is None:
                existing.obj["sku"] = {"name": sku_name, "capacity": int(sku.get("capacity") or 1)}
                return json_response(existing.obj, status=200)
            path = request.path
            obj = {
                "id": path,
                "name": request.params["name"],
                "type": "Microsoft.CognitiveServices/accounts/deployments",
                "sku": {"name": sku_name, "capacity": int(sku.get("capacity") or 1)},
                "properties": {
                    "model": {"format": "OpenAI", "name": name, "version": str(model.get("version") or "1")},
                    "provisioningState": "Creating",
                },
                "systemData": {"createdAt": _iso(self.app.now())},
            }
            self.deployments[key] = AzureDeployment(path, obj, self.app.now(), sku_name)
        self.app.changed()
        return json_response(obj, status=201)

    def get(self, request: Request) -> Response:
        with self.app.lock:
            return json_response(self._live(self._key(request)).obj)

    def list_all(self, request: Request) -> Response:
        prefix = request.path.lower().split("/providers/")[0]
        with self.app.lock:
            items = []
            for deployment in self.deployments.values():
                self.settle(deployment)
                if deployment.deleted is None and deployment.path.lower().startswith(prefix):
                    items.append(deployment.obj)
        return json_response({"value": items})

    def delete(self, request: Request) -> Response:
        key = self._key(request)
        with self.app.lock:
            found = self.deployments.get(key)
            if found is not None:
                self.settle(found)
            if found is None or found.deleted is not None:
                return Response(status=204, content_type="text/plain")
            found.deleted = self.app.now()
        self.app.changed()
        # ARM answers a delete with no body; labelled JSON, an empty body is a malformed JSON answer.
        return Response(status=200, content_type="text/plain")

    def serving(self, name: str) -> str:
        """The model a data-plane deployment name serves, or Azure's 404 ``DeploymentNotFound``. The emulated
        resource comes with a deployment of each tunable base named after it (a base model needs one too on a
        real resource), so tuned and base models can be compared."""
        if name in catalog.MODELS:
            return name
        with self.app.lock:
            for deployment in self.deployments.values():
                self.settle(deployment)
                if deployment.obj["name"] == name and deployment.deleted is None:
                    if deployment.obj["properties"]["provisioningState"] != "Succeeded":
                        break
                    deployment.last_used = self.app.now()
                    return str(deployment.obj["properties"]["model"]["name"])
        raise ApiError(
            404,
            "The API deployment for this resource does not exist. If you created the deployment within the last "
            "5 minutes, please wait a moment and try again.",
            type="error",
            code="DeploymentNotFound",
        )

    def billing(self) -> dict[str, Any]:
        now = self.app.now()
        rows = []
        for d in self.deployments.values():
            self.settle(d)
            rows.append(
                {
                    "name": d.obj["name"],
                    "model": d.obj["properties"]["model"]["name"],
                    "sku": d.sku,
                    "state": "Deleted" if d.deleted is not None else d.obj["properties"]["provisioningState"],
                    "minutes": d.billed_minutes(now),
                    "hourly_usd": catalog.SKU_HOURLY_USD.get(d.sku, 0.0),
                    "cost_usd": d.cost(now),
                }
            )
        return {
            "running": sum(1 for r in rows if r["state"] != "Deleted"),
            "hosting_usd": round(sum(r["cost_usd"] for r in rows), 6),
            "list": rows,
        }


def _iso(at: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(at, dt.UTC).isoformat().replace("+00:00", "Z")
