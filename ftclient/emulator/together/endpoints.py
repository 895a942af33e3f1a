"""Dedicated endpoints: ``/hardware``, ``/endpoints`` and their states on the emulated clock, billed by the
minute while the hardware is held, and stopped after ``inactive_timeout`` idle minutes.

``PENDING`` -> ``STARTING`` (after ``PENDING_S``) -> ``STARTED`` (after ``STARTING_S``). ``PATCH
{"state": "STOPPED"}`` -> ``STOPPING`` -> ``STOPPED`` (after ``STOPPING_S``); ``{"state": "STARTED"}`` on a
stopped endpoint starts it again. Billing runs from ``STARTING`` until ``STOPPED``, rounded up to whole
minutes at ``cents_per_minute`` of the hardware. ``DELETE`` stops billing at once. An endpoint created by a
request the ``fail_endpoint`` fault matched goes ``PENDING`` -> ``ERROR`` (its hardware could not be
provisioned; the spec's ``DedicatedEndpoint.state`` lists ``ERROR``), unbilled, and starts again like a
stopped one.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from typing import TYPE_CHECKING, Any

from ftclient.emulator.http import ApiError, Request, Response, Router, json_response
from ftclient.emulator.together import catalog
from ftclient.emulator.together.state import TEndpoint, iso

if TYPE_CHECKING:
    from ftclient.emulator.together.app import TogetherApp

PENDING_S = 5.0
STARTING_S = 60.0
STOPPING_S = 10.0
BILLED_STATES = frozenset({"STARTING", "STARTED", "STOPPING"})


class Endpoints:
    def __init__(self, app: TogetherApp) -> None:
        self.app = app

    def register(self, router: Router) -> None:
        router.add("GET", "/v1/hardware", self.hardware)
        router.add("POST", "/v1/endpoints", self.create)
        router.add("GET", "/v1/endpoints", self.list)
        router.add("GET", "/v1/endpoints/{endpointId}", self.retrieve)
        router.add("PATCH", "/v1/endpoints/{endpointId}", self.update)
        router.add("DELETE", "/v1/endpoints/{endpointId}", self.delete)

    def hardware(self, request: Request) -> Response:
        model = request.arg("model")
        if model is not None and not self._hostable(model):
            raise ApiError(404, f"Model {model} cannot be hosted on a dedicated endpoint.", param="model")
        return json_response({"object": "list", "data": catalog.hardware_entries(model, iso(self.app.now()))})

    def _hostable(self, model: str) -> bool:
        return self.app.tuned_job(model) is not None or (model in catalog.SERVERLESS and catalog.hostable(model))

    def create(self, request: Request) -> Response:
        body = request.json()
        for name in ("model", "hardware", "autoscaling"):
            if not body.get(name):
                raise ApiError(400, f"{name} is required.", param=name)
        model, hardware = str(body["model"]), str(body["hardware"])
        if not self._hostable(model):
            raise ApiError(400, f"Model {model} cannot be deployed on a dedicated endpoint.", param="model")
        if hardware not in catalog.HARDWARE:
            raise ApiError(400, f"Unknown hardware {hardware!r}.", param="hardware")
        scaling = body["autoscaling"]
        if not isinstance(scaling, dict) or not {"min_replicas", "max_replicas"} <= set(scaling):
            raise ApiError(400, "autoscaling needs min_replicas and max_replicas.", param="autoscaling")
        timeout = body.get("inactive_timeout")
        if timeout is not None and (not isinstance(timeout, int) or timeout < 0):
            raise ApiError(400, "inactive_timeout must be a whole number of minutes.", param="inactive_timeout")
        now = self.app.now()
        endpoint_id = f"endpoint-{uuid.uuid4()}"
        short = hashlib.sha256(endpoint_id.encode()).hexdigest()[:8]
        obj: dict[str, Any] = {
            "object": "endpoint",
            "id": endpoint_id,
            "name": f"{self.app.account}/{model.rsplit('/', 1)[-1]}-{short}",
            "display_name": str(body.get("display_name") or model),
            "model": model,
            "hardware": hardware,
            "type": "dedicated",
            "owner": self.app.account,
            "state": "PENDING",
            "autoscaling": {"min_replicas": scaling["min_replicas"], "max_replicas": scaling["max_replicas"]},
            "created_at": iso(now),
            "inactive_timeout": timeout,
        }
        endpoint = TEndpoint(
            obj=obj,
            state_at=now,
            cents_per_minute=catalog.HARDWARE[hardware][0],
            fails=request.context.get("fail_endpoint") is not None,
        )
        endpoint.history.append(("PENDING", now))
        if body.get("state") == "STOPPED":
            self._to(endpoint, "STOPPED", now)
        with self.app.store.lock:
            self.app.store.endpoints[endpoint_id] = endpoint
        self.app.services.stats.bump("endpoints_created")
        self.app.changed()
        return json_response(public(obj))

    def get(self, endpoint_id: str) -> TEndpoint:
        with self.app.store.lock:
            endpoint = self.app.store.endpoints.get(endpoint_id)
            if endpoint is None or endpoint.deleted:
                raise ApiError(404, f"Endpoint not found: {endpoint_id}", param="endpointId")
            self.settle(endpoint, self.app.now())
            return endpoint

    def list(self, request: Request) -> Response:
        wanted = request.arg("type")
        with self.app.store.lock:
            items = []
            for endpoint in self.app.store.endpoints.values():
                if endpoint.deleted or (wanted and endpoint.obj["type"] != wanted):
                    continue
                self.settle(endpoint, self.app.now())
                items.append(public(endpoint.obj))
            return json_response({"object": "list", "data": items})

    def retrieve(self, request: Request) -> Response:
        return json_response(public(self.get(request.params["endpointId"]).obj))

    def update(self, request: Request) -> Response:
        body = request.json()
        endpoint = self.get(request.params["endpointId"])
        now = self.app.now()
        with self.app.store.lock:
            if "display_name" in body:
                endpoint.obj["display_name"] = str(body["display_name"])
            if "inactive_timeout" in body:
                endpoint.obj["inactive_timeout"] = body["inactive_timeout"]
            state = body.get("state")
            if state == "STOPPED" and endpoint.obj["state"] in {"PENDING", "STARTING", "STARTED"}:
                self._to(endpoint, "STOPPING", now)
            elif state == "STARTED" and endpoint.obj["state"] in {"STOPPED", "ERROR"}:
                endpoint.fails = False
                self._to(endpoint, "PENDING", now)
            elif state not in (None, "STARTED", "STOPPED"):
                raise ApiError(400, "state must be STARTED or STOPPED.", param="state")
        self.app.changed()
        return json_response(public(endpoint.obj))

    def delete(self, request: Request) -> Response:
        endpoint = self.get(request.params["endpointId"])
        with self.app.store.lock:
            now = self.app.now()
            self._bill_until(endpoint, now)
            endpoint.billed_from = None
            endpoint.deleted = True
            endpoint.obj["state"] = "STOPPED"
            endpoint.history.append(("DELETED", now))
        self.app.changed()
        return Response(status=204, body=b"", content_type="text/plain")

    # -- lifecycle -------------------------------------------------------------------------------
    def _to(self, endpoint: TEndpoint, state: str, at: float) -> None:
        if state in BILLED_STATES and endpoint.billed_from is None:
            endpoint.billed_from = at
        if state not in BILLED_STATES:
            self._bill_until(endpoint, at)
            endpoint.billed_from = None
        endpoint.obj["state"] = state
        endpoint.state_at = at
        endpoint.history.append((state, at))
        if state == "STARTED":
            endpoint.last_request = at

    @staticmethod
    def _bill_until(endpoint: TEndpoint, at: float) -> None:
        if endpoint.billed_from is not None:
            endpoint.billed_s += max(0.0, at - endpoint.billed_from)
            endpoint.billed_from = at

    def settle(self, endpoint: TEndpoint, now: float) -> None:
        """Bring the endpoint's state up to ``now`` (caller holds the store lock)."""
        while not endpoint.deleted:
            state = endpoint.obj["state"]
            if state == "PENDING" and now >= endpoint.state_at + PENDING_S:
                self._to(endpoint, "ERROR" if endpoint.fails else "STARTING", endpoint.state_at + PENDING_S)
            elif state == "STARTING" and now >= endpoint.state_at + STARTING_S:
                self._to(endpoint, "STARTED", endpoint.state_at + STARTING_S)
            elif state == "STOPPING" and now >= endpoint.state_at + STOPPING_S:
                self._to(endpoint, "STOPPED", endpoint.state_at + STOPPING_S)
            elif state == "STARTED" and self._idle_deadline(endpoint) is not None:
                deadline = self._idle_deadline(endpoint)
                assert deadline is not None
                if now < deadline:
                    return
                self._to(endpoint, "STOPPING", deadline)
                endpoint.history.append(("INACTIVE_TIMEOUT", deadline))
            else:
                return

    @staticmethod
    def _idle_deadline(endpoint: TEndpoint) -> float | None:
        timeout = endpoint.obj.get("inactive_timeout")
        if not timeout or endpoint.last_request is None:
            return None
        return endpoint.last_request + 60.0 * float(timeout)

    def serving(self, name: str) -> TEndpoint | None:
        """The endpoint whose name is ``name`` (any state), brought up to date; None if there is none."""
        with self.app.store.lock:
            for endpoint in self.app.store.endpoints.values():
                if not endpoint.deleted and endpoint.obj["name"] == name:
                    self.settle(endpoint, self.app.now())
                    return endpoint
        return None

    def billing(self, endpoint: TEndpoint, now: float) -> dict[str, Any]:
        running = endpoint.billed_s + (max(0.0, now - endpoint.billed_from) if endpoint.billed_from else 0.0)
        minutes = math.ceil(running / 60.0 - 1e-9) if running > 0 else 0
        return {
            "id": endpoint.obj["id"],
            "name": endpoint.obj["name"],
            "model": endpoint.obj["model"],
            "state": "DELETED" if endpoint.deleted else endpoint.obj["state"],
            "inactive_timeout": endpoint.obj.get("inactive_timeout"),
            "billed_minutes": minutes,
            "cost_usd": round(minutes * endpoint.cents_per_minute / 100.0, 4),
            "history": [state for state, _ in endpoint.history],
        }


def public(obj: dict[str, Any]) -> dict[str, Any]:
    """An endpoint as the API shows it: ``inactive_timeout`` is accepted on create and update and acted on,
    but the spec's ``DedicatedEndpoint`` has no such field, so it is not sent back."""
    return {k: v for k, v in obj.items() if k != "inactive_timeout"}
