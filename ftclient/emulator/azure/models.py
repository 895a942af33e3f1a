"""The data plane's Models API (``GET /openai/models``, ``/openai/models/{model-id}``): the tunable base models
and the resource's finished fine-tunes, each with its capabilities and its retirement dates.

Shape from the stable spec (``azureopenai.json`` 2024-10-21, ``Models_List`` / ``Model``): ``capabilities``
(``fine_tune``, ``inference``, ``completion``, ``chat_completion``, ``embeddings``), ``lifecycle_status`` and
``deprecation`` {``fine_tune``, ``inference``} as Unix seconds; ``model`` and ``fine_tune`` (the job) for a
fine-tune only. Keys without a value are left out, as the spec types them as plain integers and strings. The
dates come from the emulator's own catalogue (``catalog.RETIREMENTS``, with their source); past its training
date a base model no longer takes new jobs (``DataPlane.create_job``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ftclient.emulator.azure import catalog
from ftclient.emulator.http import ApiError, Request, Response, Router, json_response

if TYPE_CHECKING:
    from ftclient.emulator.azure.app import AzureApp


def _capabilities(*, fine_tune: bool) -> dict[str, bool]:
    return {
        "fine_tune": fine_tune,
        "inference": True,
        "completion": False,
        "chat_completion": True,
        "embeddings": False,
    }


class Models:
    def __init__(self, app: AzureApp) -> None:
        self.app = app

    def register(self, router: Router) -> None:
        router.add("GET", "/openai/models", self.list_models)
        router.add("GET", "/openai/models/{model_id}", self.get_model)

    def base(self, name: str) -> dict[str, Any]:
        retirement = catalog.RETIREMENTS[name]
        tunable_until, answers_until = catalog.epoch_of(retirement.fine_tune), catalog.epoch_of(retirement.inference)
        return {
            "object": "model",
            "id": name,
            "created_at": catalog.epoch_of(catalog.MODEL_CREATED[name]),
            "status": "succeeded",
            "capabilities": _capabilities(fine_tune=self.app.now() < tunable_until),
            "lifecycle_status": "generally-available",
            "deprecation": {"fine_tune": tunable_until, "inference": answers_until},
        }

    def tuned(self, name: str) -> dict[str, Any] | None:
        job_id = self.app.data.tuned.get(name)
        base = catalog.base_of(name)
        if job_id is None or base is None:
            return None
        job = self.app.data.jobs[job_id].obj
        retirement = catalog.RETIREMENTS[base]
        return {
            "object": "model",
            "id": name,
            "created_at": job["finished_at"],
            "status": "succeeded",
            "model": job["model"],
            "fine_tune": job_id,
            # A fine-tune can be tuned further (continuous fine-tuning) while its base can.
            "capabilities": _capabilities(fine_tune=self.app.now() < catalog.epoch_of(retirement.fine_tune)),
            "lifecycle_status": "generally-available",
            "deprecation": {"inference": catalog.epoch_of(retirement.tuned_inference)},
        }

    def all(self) -> list[dict[str, Any]]:
        with self.app.lock:
            for job in self.app.data.jobs.values():
                self.app.data.advance(job)
            tuned = [self.tuned(name) for name in self.app.data.tuned]
        return [self.base(name) for name in catalog.MODELS] + [m for m in tuned if m is not None]

    def list_models(self, request: Request) -> Response:
        return json_response({"object": "list", "data": self.all()})

    def get_model(self, request: Request) -> Response:
        name = request.params["model_id"]
        found = next((m for m in self.all() if m["id"] == name), None)
        if found is None:
            raise ApiError(404, f"The model '{name}' does not exist.", type="error", code="modelNotFound")
        return json_response(found)
