"""Tuned models on Together answer only from a dedicated endpoint (``capabilities.needs_deployment``), which
bills by the minute while it runs; see ``ftclient.deploy`` for the lifecycle, which always sets an inactivity
timeout.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ftclient.errors import ProviderError, ProviderUnavailable, RateLimitError
from ftclient.providers.base import Endpoint
from ftclient.providers.together import wire
from ftclient.providers.together.http import TogetherHTTP

DEFAULT_INACTIVE_TIMEOUT_MIN = 30
DISPLAY_PREFIX = "ftclient-"
"""Display names of endpoints ftclient creates: the prefix, a token unique to the create, the model."""
CREATE_ATTEMPTS = 3


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
        stopped by Together after ``inactive_timeout_min`` idle minutes (always set: at least 1). Never resent
        blindly, since a second endpoint bills twice: its display name carries a token, and after an unclear
        outcome (a lost response, a 5xx) the endpoint is looked up by that name before another try."""
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
        label = f"{DISPLAY_PREFIX}{uuid.uuid4().hex[:12]} {model.rsplit('/', 1)[-1]}"[:100]
        body = {
            "model": model,
            "hardware": hardware,
            "autoscaling": {"min_replicas": 1, "max_replicas": 1},
            "display_name": label,
            "state": "STARTED",
            "inactive_timeout": max(1, int(inactive_timeout_min)),
        }
        last: ProviderError | None = None
        for attempt in range(CREATE_ATTEMPTS):
            if attempt:
                # The outcome of the last try is unknown (a lost response, a 5xx): the endpoint may exist and
                # bill. Look for it by the token in its display name before sending again.
                self._sleep(self.retry_backoff_s * 2.0 ** (attempt - 1))
                found = self._labelled(label)
                if found is not None:
                    return found
            try:
                obj = self._json(f"creating an endpoint for {model}", "POST", "/endpoints", retry=False, json=body)
            except (ProviderUnavailable, RateLimitError) as exc:
                last = exc
                continue
            endpoint = self._endpoint(obj)
            if endpoint.inactive_timeout_min is None:
                # The endpoint object has no inactive_timeout (spec DedicatedEndpoint); it took the one sent.
                endpoint = replace(endpoint, inactive_timeout_min=max(1, int(inactive_timeout_min)))
            return endpoint
        assert last is not None
        found = self._labelled(label)
        if found is not None:
            return found
        last.hint = (
            f"the endpoint may still have been created (display name {label!r}): check `ftclient endpoints "
            "list` or the provider's console, and stop it there if it is running"
        )
        raise last

    def _labelled(self, label: str) -> Endpoint | None:
        """The endpoint whose display name is ``label`` (a create's token), if the provider has one."""
        data = self._json(
            "looking for an endpoint ftclient just created", "GET", "/endpoints", params={"type": "dedicated"}
        )
        for item in data.get("data") or []:
            if item.get("display_name") == label:
                return self._endpoint(item)
        return None

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
