"""On-demand deployments and the LoRA addons loaded on them (``deployedModels``), on the emulated clock,
billed by the GPU-second while a replica runs; and ``GET …/models`` for base and tuned models.

A deployment is ``CREATING`` for ``CREATE_S``, then ``READY`` with one replica (billing starts: Fireworks does
not bill boot time). With ``minReplicaCount`` 0 it scales to zero after ``scaleToZeroWindow`` without requests
(billing stops); a request then wakes it (503 for ``WAKE_S`` while the replica comes up). ``DELETE`` stops
billing at once: ``DELETING``, then ``DELETED`` after ``DELETE_S``. An addon is ``DEPLOYING`` until ``LOAD_S``
after both it exists and its deployment is READY, then ``DEPLOYED``; it needs ``enableAddons`` and a tuned
model of the deployment's base. Sources: docs.fireworks.ai/fine-tuning/deploying-loras, the on-demand billing
FAQ ("billed by GPU-second", "scales to 0 replicas when not in use"), the spec's deployment and addon states.
"""

from __future__ import annotations

import builtins
import uuid
from typing import TYPE_CHECKING, Any

from ftclient.emulator.fireworks import catalog
from ftclient.emulator.fireworks.jobs import ID_RULE
from ftclient.emulator.fireworks.rpc import RpcError, page
from ftclient.emulator.fireworks.state import FDeployment, rfc3339
from ftclient.emulator.http import Request, Response, Router, json_response

if TYPE_CHECKING:
    from ftclient.emulator.fireworks.app import FireworksApp

CREATE_S = 60.0
WAKE_S = 30.0
DELETE_S = 5.0
LOAD_S = 10.0
BASE = "/v1/accounts/{account_id}"


def _seconds(duration: Any, default: float) -> float:
    text = str(duration or "").strip()
    if not text:
        return default
    if not text.endswith("s"):
        raise RpcError("INVALID_ARGUMENT", f'invalid duration {text!r}: use seconds, e.g. "1800s"')
    try:
        return float(text[:-1])
    except ValueError:
        raise RpcError("INVALID_ARGUMENT", f"invalid duration {text!r}") from None


class Deployments:
    def __init__(self, app: FireworksApp) -> None:
        self.app = app

    def register(self, router: Router) -> None:
        router.add("POST", f"{BASE}/deployments", self.create)
        router.add("GET", f"{BASE}/deployments", self.list)
        router.add("GET", f"{BASE}/deployments/{{deployment_id}}", self.retrieve)
        router.add("DELETE", f"{BASE}/deployments/{{deployment_id}}", self.delete)
        router.add("POST", f"{BASE}/deployedModels", self.load)
        router.add("GET", f"{BASE}/deployedModels", self.list_addons)
        router.add("GET", f"{BASE}/deployedModels/{{deployed_model_id}}", self.get_addon)
        router.add("DELETE", f"{BASE}/deployedModels/{{deployed_model_id}}", self.unload)
        router.add("GET", f"{BASE}/models", self.list_models)
        router.add("GET", f"{BASE}/models/{{model_id}}", self.get_model)

    # -- deployments -----------------------------------------------------------------------------
    def create(self, request: Request) -> Response:
        body = request.json()
        base = body.get("baseModel")
        if base not in catalog.BASES and base not in self.app.store.models:
            raise RpcError("INVALID_ARGUMENT", f"baseModel {base!r} cannot be deployed")
        accelerator = str(body.get("acceleratorType") or "NVIDIA_A100_80GB")
        if accelerator not in catalog.GPU_HOUR_USD:
            raise RpcError("INVALID_ARGUMENT", f"acceleratorType {accelerator} is not offered")
        policy = dict(body.get("autoscalingPolicy") or {})
        window = _seconds(policy.get("scaleToZeroWindow"), catalog.DEFAULT_SCALE_TO_ZERO_S)
        if window < catalog.MIN_SCALE_TO_ZERO_S:
            raise RpcError("INVALID_ARGUMENT", "scaleToZeroWindow must be at least 5 minutes")
        policy["scaleToZeroWindow"] = f"{int(window)}s"
        ident = request.arg("deploymentId") or uuid.uuid4().hex[:12]
        if not ID_RULE.match(ident):
            raise RpcError("INVALID_ARGUMENT", "deploymentId must be 1-63 lowercase letters, digits or hyphens")
        name = f"accounts/{request.params['account_id']}/deployments/{ident}"
        now = self.app.now()
        count = int(body.get("acceleratorCount") or 1)
        obj: dict[str, Any] = {
            "name": name,
            "displayName": str(body.get("displayName") or ident),
            "createTime": rfc3339(now),
            "updateTime": rfc3339(now),
            "state": "CREATING",
            "status": {"code": "OK", "message": ""},
            "baseModel": base,
            "minReplicaCount": int(body.get("minReplicaCount") or 0),
            "maxReplicaCount": int(body.get("maxReplicaCount") or max(1, int(body.get("minReplicaCount") or 0))),
            "desiredReplicaCount": 1,
            "replicaCount": 0,
            "acceleratorType": accelerator,
            "acceleratorCount": count,
            "enableAddons": bool(body.get("enableAddons")),
            "autoscalingPolicy": policy,
            "annotations": dict(body.get("annotations") or {}),
        }
        deployment = FDeployment(obj=obj, state_at=now, hourly_usd=catalog.GPU_HOUR_USD[accelerator] * count)
        deployment.history.append(("CREATING", now))
        with self.app.store.lock:
            if name in self.app.store.deployments:
                raise RpcError("ALREADY_EXISTS", f"deployment {name} already exists")
            self.app.store.deployments[name] = deployment
        self.app.services.stats.bump("deployments_created")
        self.app.changed()
        return json_response(obj)

    def get(self, name: str) -> FDeployment:
        with self.app.store.lock:
            found = self.app.store.deployments.get(name)
            if found is None:
                raise RpcError("NOT_FOUND", f"deployment {name} not found")
            self.settle(found, self.app.now())
            return found

    def _name(self, request: Request) -> str:
        return f"accounts/{request.params['account_id']}/deployments/{request.params['deployment_id']}"

    def retrieve(self, request: Request) -> Response:
        return json_response(self.get(self._name(request)).obj)

    def list(self, request: Request) -> Response:
        prefix = f"accounts/{request.params['account_id']}/deployments/"
        show_deleted = request.arg("showDeleted") == "true"
        now = self.app.now()
        with self.app.store.lock:
            items = []
            for name, deployment in self.app.store.deployments.items():
                self.settle(deployment, now)
                if name.startswith(prefix) and (show_deleted or deployment.obj["state"] != "DELETED"):
                    items.append(deployment.obj)
        return json_response(page(items, request, "deployments"))

    def delete(self, request: Request) -> Response:
        deployment = self.get(self._name(request))
        with self.app.store.lock:
            if deployment.obj["state"] not in {"DELETING", "DELETED"}:
                now = self.app.now()
                self._stop_replica(deployment, now)
                self._to(deployment, "DELETING", now)
                for name, addon in list(self.app.store.addons.items()):
                    if addon["deployment"] == deployment.obj["name"]:
                        del self.app.store.addons[name]
        self.app.changed()
        return json_response({})

    # -- lifecycle -------------------------------------------------------------------------------
    def _to(self, deployment: FDeployment, state: str, at: float) -> None:
        deployment.obj["state"] = state
        deployment.obj["updateTime"] = rfc3339(at)
        deployment.state_at = at
        deployment.history.append((state, at))

    def _start_replica(self, deployment: FDeployment, at: float) -> None:
        deployment.replica_since = at
        deployment.waking_at = None
        deployment.last_request = at
        deployment.obj["replicaCount"] = 1
        deployment.obj["desiredReplicaCount"] = 1

    def _stop_replica(self, deployment: FDeployment, at: float) -> None:
        if deployment.replica_since is not None:
            deployment.gpu_seconds += max(0.0, at - deployment.replica_since)
        deployment.replica_since = None
        deployment.waking_at = None
        deployment.obj["replicaCount"] = 0
        deployment.obj["desiredReplicaCount"] = 0

    def settle(self, deployment: FDeployment, now: float) -> None:
        """Bring the deployment up to ``now`` (caller holds the store lock)."""
        obj = deployment.obj
        if obj["state"] == "CREATING" and now >= deployment.state_at + CREATE_S:
            ready = deployment.state_at + CREATE_S
            self._to(deployment, "READY", ready)
            self._start_replica(deployment, ready)
        if obj["state"] == "DELETING" and now >= deployment.state_at + DELETE_S:
            self._to(deployment, "DELETED", deployment.state_at + DELETE_S)
        if obj["state"] != "READY":
            return
        if deployment.waking_at is not None and now >= deployment.waking_at:
            self._start_replica(deployment, deployment.waking_at)
            deployment.history.append(("SCALED_UP", deployment.waking_at))
        window = _seconds(obj["autoscalingPolicy"].get("scaleToZeroWindow"), catalog.DEFAULT_SCALE_TO_ZERO_S)
        if deployment.replica_since is not None and not obj["minReplicaCount"]:
            idle_from = max(deployment.replica_since, deployment.last_request or 0.0)
            if now >= idle_from + window:
                self._stop_replica(deployment, idle_from + window)
                deployment.history.append(("SCALED_TO_ZERO", idle_from + window))

    def wake(self, deployment: FDeployment, now: float) -> float | None:
        """Note a request; None when a replica is up, else the seconds until one is."""
        if deployment.replica_since is not None:
            deployment.last_request = now
            return None
        if deployment.waking_at is None:
            deployment.waking_at = now + WAKE_S
        return deployment.waking_at - now

    def billing(self, deployment: FDeployment, now: float) -> dict[str, Any]:
        seconds = deployment.gpu_seconds + (now - deployment.replica_since if deployment.replica_since else 0.0)
        gpu_seconds = seconds * int(deployment.obj.get("acceleratorCount") or 1)
        return {
            "name": deployment.obj["name"],
            "base_model": deployment.obj["baseModel"],
            "state": deployment.obj["state"],
            "replicas": deployment.obj["replicaCount"],
            "gpu_seconds": round(gpu_seconds, 3),
            "cost_usd": round(seconds * deployment.hourly_usd / 3600.0, 6),
            "history": [state for state, _ in deployment.history],
        }

    # -- LoRA addons -----------------------------------------------------------------------------
    def load(self, request: Request) -> Response:
        body = request.json()
        model, target = str(body.get("model") or ""), str(body.get("deployment") or "")
        deployment = self.get(target) if target.startswith("accounts/") else None
        if deployment is None or deployment.obj["state"] in {"DELETING", "DELETED", "FAILED"}:
            raise RpcError("FAILED_PRECONDITION", f"deployment {target!r} is not available")
        if not deployment.obj["enableAddons"]:
            raise RpcError("FAILED_PRECONDITION", f"deployment {target} was created without enableAddons")
        tuned = self.app.store.models.get(model)
        if tuned is None:
            raise RpcError("NOT_FOUND", f"model {model} not found")
        if tuned["peftDetails"]["baseModel"] != deployment.obj["baseModel"]:
            raise RpcError("FAILED_PRECONDITION", f"{model} was tuned from another base than {target} serves")
        now = self.app.now()
        name = f"accounts/{request.params['account_id']}/deployedModels/{uuid.uuid4().hex[:12]}"
        addon = {
            "name": name,
            "displayName": str(body.get("displayName") or model.rsplit("/", 1)[-1]),
            "createTime": rfc3339(now),
            "updateTime": rfc3339(now),
            "model": model,
            "deployment": target,
            "default": bool(body.get("default", True)),
            "state": "DEPLOYING",
            "serverless": False,
            "status": {"code": "OK", "message": ""},
            "public": False,
        }
        with self.app.store.lock:
            self.app.store.addons[name] = addon
        self.app.services.stats.bump("addons_loaded")
        self.app.changed()
        return json_response(self._addon_now(addon))

    def _addon_now(self, addon: dict[str, Any]) -> dict[str, Any]:
        deployment = self.app.store.deployments.get(addon["deployment"])
        if addon["state"] == "DEPLOYING" and deployment is not None:
            self.settle(deployment, self.app.now())
            ready = [at for state, at in deployment.history if state == "READY"]
            created = _epoch(addon["createTime"])
            if ready and self.app.now() >= max(ready[0], created) + LOAD_S:
                addon["state"] = "DEPLOYED"
        return addon

    def list_addons(self, request: Request) -> Response:
        prefix = f"accounts/{request.params['account_id']}/deployedModels/"
        wanted = (request.arg("filter") or "").partition('deployment="')[2].rstrip('"') or None
        with self.app.store.lock:
            items = [
                self._addon_now(a)
                for name, a in self.app.store.addons.items()
                if name.startswith(prefix) and (wanted is None or a["deployment"] == wanted)
            ]
        return json_response(page(items, request, "deployedModels"))

    def _addon(self, request: Request) -> dict[str, Any]:
        name = f"accounts/{request.params['account_id']}/deployedModels/{request.params['deployed_model_id']}"
        with self.app.store.lock:
            found = self.app.store.addons.get(name)
            if found is None:
                raise RpcError("NOT_FOUND", f"deployed model {name} not found")
            return self._addon_now(found)

    def get_addon(self, request: Request) -> Response:
        return json_response(self._addon(request))

    def unload(self, request: Request) -> Response:
        addon = self._addon(request)
        with self.app.store.lock:
            self.app.store.addons.pop(addon["name"], None)
        self.app.changed()
        return json_response({})

    def serving(self, model: str) -> tuple[FDeployment, dict[str, Any]] | None:
        """The READY deployment and DEPLOYED addon that answer for ``model`` (``name`` or ``name#deployment``)."""
        tuned, _, target = model.partition("#")
        with self.app.store.lock:
            for addon in self.app.store.addons.values():
                if addon["model"] != tuned or (target and addon["deployment"] != target):
                    continue
                if not target and not addon["default"]:
                    continue
                deployment = self.app.store.deployments.get(addon["deployment"])
                if deployment is None:
                    continue
                self.settle(deployment, self.app.now())
                if deployment.obj["state"] == "READY" and self._addon_now(addon)["state"] == "DEPLOYED":
                    return deployment, addon
        return None

    # -- models ----------------------------------------------------------------------------------
    def _models(self, account: str) -> builtins.list[dict[str, Any]]:
        if account == "fireworks":
            return [catalog.model_object(name, rfc3339(0)) for name in sorted(catalog.BASES)]
        prefix = f"accounts/{account}/models/"
        return [m for name, m in self.app.store.models.items() if name.startswith(prefix)]

    def list_models(self, request: Request) -> Response:
        with self.app.store.lock:
            items = self._models(request.params["account_id"])
        return json_response(page(items, request, "models"))

    def get_model(self, request: Request) -> Response:
        name = f"accounts/{request.params['account_id']}/models/{request.params['model_id']}"
        with self.app.store.lock:
            for item in self._models(request.params["account_id"]):
                if item["name"] == name:
                    return json_response(item)
        raise RpcError("NOT_FOUND", f"model {name} not found")


def _epoch(text: str) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
