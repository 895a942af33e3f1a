"""``/v1/models`` with shutdown dates, and the retirement rule for chat and batch requests.

The shutdown dates are the emulator's own catalogue's (``catalog.py``, with its source and date), not the
client's tables: it is a second opinion. A tuned ``ft:`` model shuts down with its base model.

Shape: the official spec (openai-openapi.yaml, ``Model`` schema, read 2026-12) gives ``shutdown_date`` as a
date string (``format: date``, e.g. ``"2026-10-23"``) or ``null`` when none is announced, so that is what the
emulator sends. A model counts as shut down from 00:00 UTC of that date.

After the shutdown the live API no longer lists the model, and a request naming it is answered like one
naming a model that does not exist: 404 with code ``model_not_found`` and ``param: null``
(``real-payloads/openai/error-404-1.json``, captured 2024-03-21 from the live API). The emulator does the
same, for ``/v1/chat/completions`` and for batch lines (they go through the same completion code).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from ftclient.emulator.http import ApiError, Request, Response, Router, json_response
from ftclient.emulator.openai import catalog

if TYPE_CHECKING:
    from ftclient.emulator.openai.app import OpenAIApp

BASE_MODEL_CREATED = 1_700_000_000

def shutdown_date(model: str) -> str | None:
    """The announced shutdown date (``YYYY-MM-DD``) of a base or tuned model, or None: a tuned model shuts
    down with its base (the deprecations page retires both together). Dates are the catalogue's
    (``catalog.SHUTDOWN_SOURCE``)."""
    snapshot = catalog.snapshot_of(model)
    end = catalog.MODELS[snapshot].shutdown_date if snapshot else None
    return end.isoformat() if end else None


def shutdown_at(model: str) -> float | None:
    """The shutdown as Unix seconds (00:00 UTC of the date), or None."""
    date = shutdown_date(model)
    if date is None:
        return None
    return dt.datetime.combine(dt.date.fromisoformat(date), dt.time(), tzinfo=dt.UTC).timestamp()


def is_shut_down(model: str, now: float) -> bool:
    at = shutdown_at(model)
    return at is not None and now >= at


def model_not_found(name: str) -> ApiError:
    """The live API's answer for a model that does not exist, was deleted or has shut down."""
    return ApiError(
        404,
        f"The model `{name}` does not exist or you do not have access to it.",
        param=None,
        code="model_not_found",
    )


class Models:
    """``GET /v1/models``, ``GET /v1/models/{model}`` and ``DELETE /v1/models/{model}``."""

    def __init__(self, app: OpenAIApp) -> None:
        self.app = app

    def register(self, router: Router) -> None:
        router.add("GET", "/v1/models", self.list_models)
        router.add("GET", "/v1/models/{model}", self.retrieve_model)
        router.add("DELETE", "/v1/models/{model}", self.delete_model)

    def ensure_serving(self, model: str) -> None:
        """Raise the live API's 404 when ``model`` has shut down on the emulated clock."""
        if is_shut_down(model, self.app.now()):
            self.app.services.stats.bump("retired_model_requests")
            raise model_not_found(model)

    def list_models(self, request: Request) -> Response:
        return json_response({"object": "list", "data": self.listed()})

    def retrieve_model(self, request: Request) -> Response:
        name = request.params["model"]
        for obj in self.listed():
            if obj["id"] == name:
                return json_response(obj)
        raise model_not_found(name)

    def listed(self) -> list[dict[str, Any]]:
        """Base models and the organisation's tuned models that have not shut down yet."""
        now = self.app.now()
        data: list[dict[str, Any]] = [
            {"id": name, "object": "model", "created": BASE_MODEL_CREATED, "owned_by": "system"}
            for name in sorted(catalog.MODELS)
        ]
        data += self.app.tuned_model_objects()
        for obj in data:
            obj["shutdown_date"] = shutdown_date(str(obj["id"]))
        return [obj for obj in data if not is_shut_down(str(obj["id"]), now)]

    def delete_model(self, request: Request) -> Response:
        name = request.params["model"]
        if not name.startswith("ft:"):
            if any(obj["id"] == name for obj in self.listed()):
                raise ApiError(
                    403,
                    "You do not have permission to delete this model: only fine-tuned models you "
                    "created can be deleted.",
                    param="model",
                    code="model_not_deletable",
                )
            raise model_not_found(name)
        if not self.app.delete_tuned_model(name):
            raise model_not_found(name)
        return json_response({"id": name, "object": "model", "deleted": True})
