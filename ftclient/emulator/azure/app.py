"""The Azure OpenAI provider app: both planes on one port, with Azure's checks in front of them.

- Data plane (``/openai/...``): ``api-version`` is required on every call (400 without, as on the dated
  surface); auth is the ``api-key`` header or ``Authorization: Bearer`` (Entra ID), else 401.
- Management plane (``/subscriptions/...``): ARM takes only ``Authorization: Bearer``, and its own
  ``api-version`` (2025-09-01).
Nothing here is a real model: tuned models answer by nearest neighbour over their training examples.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from ftclient.emulator.azure import catalog, state
from ftclient.emulator.azure.dataplane import DataPlane
from ftclient.emulator.azure.management import Management, arm_error
from ftclient.emulator.azure.models import Models
from ftclient.emulator.http import ApiError, Request, Router

if TYPE_CHECKING:
    from ftclient.emulator.server import Services


class AzureApp:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.lock = threading.RLock()
        self.data = DataPlane(self)
        self.management = Management(self)
        self.models = Models(self)
        self.clock_high_water = state.load(self)
        behind = self.clock_high_water - services.clock.now()
        if behind > 0:  # a restart never moves the resource's clock backwards
            services.clock.advance(behind)

    def register(self, router: Router) -> None:
        self.data.register(router)
        self.management.register(router)
        self.models.register(router)

    def now(self) -> float:
        return self.services.clock.now()

    def changed(self) -> None:
        """After a request that changed the resource: saved to ``state_dir`` when there is one."""
        self.save()

    def save(self) -> None:
        self.clock_high_water = max(self.clock_high_water, self.now())
        state.save(self, self.clock_high_water)

    def authenticate(self, request: Request) -> None:
        bearer = request.header("authorization")
        has_bearer = bearer.lower().startswith("bearer ") and bool(bearer[7:].strip())
        version = request.arg("api-version")
        if request.path.startswith("/subscriptions/"):
            if not has_bearer:
                raise arm_error(
                    401,
                    "AuthenticationFailed",
                    "Authentication failed. The 'Authorization' header is missing (ARM takes a Bearer token).",
                )
            if not version:
                raise arm_error(400, "MissingApiVersionParameter", "The api-version query parameter is required.")
            if version not in catalog.MANAGEMENT_API_VERSIONS:
                raise arm_error(
                    400,
                    "InvalidApiVersionParameter",
                    f"The api-version '{version}' is invalid. Supported: "
                    + ", ".join(sorted(catalog.MANAGEMENT_API_VERSIONS)),
                )
            return
        if not has_bearer and not request.header("api-key").strip():
            raise ApiError(
                401,
                "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid "
                "key for an active subscription (header 'api-key') and use a correct regional API endpoint.",
                type="error",
                code="401",
            )
        if not version:
            raise ApiError(400, "Missing required query parameter 'api-version'.", type="error", code="BadRequest")
        if version not in catalog.DATA_API_VERSIONS:
            raise ApiError(
                404, f"Resource not found: api-version {version!r} is not supported.", type="error", code="404"
            )

    def fail_job(self, job_id: str, params: dict[str, Any]) -> None:
        with self.lock:
            job = self.data.jobs.get(job_id)
            if job is None:
                raise ValueError(f"no Azure fine-tuning job {job_id!r} to fail")
            job.fail = {k: v for k, v in params.items() if k != "job_id"}

    def stats(self) -> dict[str, Any]:
        with self.lock:
            statuses: dict[str, int] = {}
            for job in self.data.jobs.values():
                self.data.advance(job)
                statuses[job.obj["status"]] = statuses.get(job.obj["status"], 0) + 1
            return {
                "jobs": statuses,
                "files": len(self.data.files),
                "tuned_models": sorted(n for n in self.data.tuned),
                "deployments": self.management.billing(),
            }
