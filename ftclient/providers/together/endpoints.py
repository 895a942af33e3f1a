"""Tuned models on Together answer only from a dedicated endpoint (``capabilities.needs_deployment``), which
bills by the minute while it runs; see ``ftclient.deploy`` for the lifecycle, which always sets an inactivity
timeout.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ftclient.errors import ProviderUnavailable
from ftclient.providers.base import Endpoint
from ftclient.providers.together import wire
from ftclient.providers.together.http import TogetherHTTP

DEFAULT_INACTIVE_TIMEOUT_MIN = 30


class TogetherEndpoints(TogetherHTTP):
    """Hardware, and dedicated endpoints to host a model on."""

    _hourly: dict[str, float | None]
    """Price per hour by hardware id, as last listed: endpoints name their hardware but not its price."""

    def list_hardware(self, model: str) -> list[dict[str, Any]]:
        """Hardware that can host ``model``, with its price per minute (404: the model cannot be hosted)."""
        data = self._json(f"listing hardware for {model}", "GET", "/hardware", params={"model": model})
        items: list[dict[str, Any]] = list(data.get("data") or [])
        for item in items:
            self._hourly[str(item.get("id"))] = wire.hourly_usd(item)
        return items

    def create_endpoint(
        self, model: str, *, hardware: str | None = None, inactive_timeout_min: int = DEFAULT_INACTIVE_TIMEOUT_MIN
    ) -> Endpoint:
        """A dedicated endpoint for ``model`` on ``hardware`` (default: the cheapest available), one replica,
        stopped by Together after ``inactive_timeout_min`` idle minutes (always set: at least 1). Sent once,
        never retried: a second endpoint bills twice."""
        options = self.list_hardware(model)
        if hardware is None:
            usable = [h for h in options if (h.get("availability") or {}).get("status", "available") == "available"]
            if not usable:
                raise ProviderUnavailable(
                    f"no hardware is available right now to host {model}",
                    provider=self.name,
                    hint="try again later, or pick hardware with --hardware",
                )
            usable.sort(key=lambda h: wire.hourly_usd(h) or math.inf)
            hardware = str(usable[0]["id"])
        body = {
            "model": model,
            "hardware": hardware,
            "autoscaling": {"min_replicas": 1, "max_replicas": 1},
            "display_name": f"ftclient {model.rsplit('/', 1)[-1]}"[:100],
            "state": "STARTED",
            "inactive_timeout": max(1, int(inactive_timeout_min)),
        }
        obj = self._json(f"creating an endpoint for {model}", "POST", "/endpoints", retry=False, json=body)
        endpoint = self._endpoint(obj)
        if endpoint.inactive_timeout_min is None:
            # The endpoint object has no inactive_timeout (spec DedicatedEndpoint); it took the one sent.
            endpoint = replace(endpoint, inactive_timeout_min=max(1, int(inactive_timeout_min)))
        return endpoint

    def get_endpoint(self, endpoint_id: str) -> Endpoint:
        return self._endpoint(self._json(f"reading endpoint {endpoint_id}", "GET", f"/endpoints/{endpoint_id}"))

    def list_endpoints(self) -> list[Endpoint]:
        data = self._json("listing endpoints", "GET", "/endpoints", params={"type": "dedicated"})
        return [self._endpoint(e) for e in data.get("data") or []]

    def start_endpoint(self, endpoint_id: str) -> Endpoint:
        return self._patch_state(endpoint_id, "STARTED", "starting")

    def stop_endpoint(self, endpoint_id: str) -> Endpoint:
        return self._patch_state(endpoint_id, "STOPPED", "stopping")

    def _patch_state(self, endpoint_id: str, state: str, verb: str) -> Endpoint:
        obj = self._json(f"{verb} endpoint {endpoint_id}", "PATCH", f"/endpoints/{endpoint_id}", json={"state": state})
        return self._endpoint(obj)

    def delete_endpoint(self, endpoint_id: str) -> None:
        self._send(f"deleting endpoint {endpoint_id}", "DELETE", f"/endpoints/{endpoint_id}")

    def _endpoint(self, data: Mapping[str, Any]) -> Endpoint:
        hardware = str(data.get("hardware") or "")
        return wire.endpoint_from_dict(data, cost_per_hour_usd=self._hourly.get(hardware))
