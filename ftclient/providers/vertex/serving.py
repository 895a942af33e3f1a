"""Endpoints for tuned Gemini models, over aiplatform v1's REST API (google-genai has no endpoint calls).

A job's tuned model lands on an endpoint of its own when the job succeeds (``tunedModel.endpoint``); Vertex
copies the job's labels to it, so an endpoint carrying ftclient's run label was made by a job ftclient
launched. ``create_endpoint`` returns that endpoint when it still serves the model. Otherwise (it was torn
down after an earlier evaluation, or the job was not ftclient's and its endpoint is the user's to keep) a new
endpoint is created under an id chosen here (``?endpointId=``, so a resent create gets 409 instead of a
second endpoint) and the model deployed to it; the endpoint is ``STARTING`` while that long-running
``:deployModel`` runs. ``stop_endpoint`` undeploys every model (following each long-running
``:undeployModel`` to its end: Vertex refuses to delete an endpoint that still holds a model) and deletes the
emptied endpoint: an endpoint with nothing deployed serves nothing, and the tuned model stays in the Model
Registry to deploy again.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from dataclasses import replace
from typing import Any

from ftclient.errors import InvalidRequestError, ProviderError, RemoteNotFoundError
from ftclient.providers.base import Endpoint
from ftclient.providers.rest import RestHTTP
from ftclient.providers.vertex import sdk, wire
from ftclient.providers.vertex.wire import endpoint_of, short_id

RUN_LABEL = "ftclient_run"
MAX_OPERATION_POLLS = 120
"""How many times a deploy or undeploy operation is looked at before giving up (at ``poll_s`` apart)."""


class VertexServing(RestHTTP):
    name = "vertex"
    hints = sdk.HINTS
    base_url_var = "FTCLIENT_VERTEX_ENDPOINT"
    project: str
    location: str
    poll_s: float
    _token: Any
    _deploying: dict[str, str]
    """Endpoint name -> its pending ``:deployModel`` operation, while that runs."""

    @property
    def parent(self) -> str:
        return f"projects/{self.project}/locations/{self.location}"

    def _headers(self) -> dict[str, str]:
        token = self._token() if callable(self._token) else None
        return {"Authorization": f"Bearer {token}"} if token else {}

    def _url(self, path: str) -> str:
        return f"{self.endpoint}/v1/{path.lstrip('/')}"

    def _name(self, kind: str, ident: str) -> str:
        return ident if ident.startswith("projects/") else f"{self.parent}/{kind}/{ident}"

    # -- DeployingProvider -------------------------------------------------------------------------
    def create_endpoint(self, model: str, *, hardware: str | None = None, inactive_timeout_min: int = 30) -> Endpoint:
        """The endpoint serving ``model`` that its ftclient job created; else a new endpoint with the model on it.
        (Vertex endpoints for tuned Gemini models take no hardware and no inactivity timeout.)"""
        bare = model.split("@", maxsplit=1)[0]
        found = self._json(f"reading model {short_id(bare)}", "GET", self._name("models", bare))
        for ref in found.get("deployedModels") or []:
            try:
                data = self._json("reading its endpoint", "GET", str(ref.get("endpoint")))
            except RemoteNotFoundError:
                continue
            if (data.get("labels") or {}).get(RUN_LABEL):
                return endpoint_of(data, bare)
        ident = "ftc-" + hashlib.sha256(bare.encode()).hexdigest()[:12] + "-" + uuid.uuid4().hex[:6]
        body = {"displayName": f"ftclient {short_id(bare)}"[:128], "labels": {"ftclient_model": wire.label(bare)}}
        try:
            self._json(f"creating an endpoint for {short_id(bare)}", "POST", f"{self.parent}/endpoints",
                       params={"endpointId": ident}, json=body)
        except ProviderError as exc:
            if exc.status != 409:
                raise
        name = f"{self.parent}/endpoints/{ident}"
        operation = self._json(f"deploying {short_id(bare)}", "POST", f"{name}:deployModel", retry=False,
                               json={"deployedModel": {"model": bare,
                                                       "displayName": f"ftclient {short_id(bare)}"[:128]},
                                     "trafficSplit": {"0": 100}})
        if not operation.get("done"):
            self._deploying[name] = str(operation.get("name"))
        return self.get_endpoint(name)

    def get_endpoint(self, endpoint_id: str) -> Endpoint:
        """The endpoint; ``STARTING`` while a deployment ftclient asked for is under way, ``ERROR`` when it failed."""
        name = self._name("endpoints", endpoint_id)
        data = self._json(f"reading endpoint {short_id(name)}", "GET", name)
        pending = self._deploying.get(name)
        if pending is None or data.get("deployedModels"):
            self._deploying.pop(name, None)
            return endpoint_of(data)
        operation = self._json("following the deployment", "GET", pending)
        if not operation.get("done"):
            return replace(endpoint_of(data), state="STARTING")
        self._deploying.pop(name, None)
        if operation.get("error"):
            return replace(endpoint_of(data), state="ERROR")
        return endpoint_of(self._json(f"reading endpoint {short_id(name)}", "GET", name))

    def _wait(self, operation: dict[str, Any], what: str) -> None:
        """Follow a long-running operation until it is done; its error becomes a ProviderError."""
        polls = 0
        while not operation.get("done"):
            polls += 1
            if polls > MAX_OPERATION_POLLS:
                raise ProviderError(f"{what} is still running at Vertex AI", provider="vertex", code="timeout",
                                    hint="it finishes on its own; `ftclient endpoints stop <id>` again deletes "
                                    "the endpoint once it is empty")
            self._sleep(self.poll_s)
            operation = self._json(f"following {what}", "GET", str(operation.get("name")))
        error = operation.get("error")
        if error:
            raise ProviderError(f"{what} failed: {error.get('message') or error}", provider="vertex",
                                code=str(error.get("code")), hint="run `ftclient endpoints stop <id>` again")

    def list_endpoints(self) -> list[Endpoint]:
        endpoints: list[Endpoint] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"pageSize": 100, **({"pageToken": token} if token else {})}
            page = self._json("listing endpoints", "GET", f"{self.parent}/endpoints", params=params)
            endpoints += [endpoint_of(e) for e in page.get("endpoints") or []]
            token = page.get("nextPageToken") or None
            if not token:
                return endpoints

    def stop_endpoint(self, endpoint_id: str) -> Endpoint:
        """Undeploy every model from the endpoint, then delete it: nothing serves, nothing is billed."""
        name = self._name("endpoints", endpoint_id)
        data = self._json(f"reading endpoint {short_id(name)}", "GET", name)
        for deployed in data.get("deployedModels") or []:
            what = f"undeploying {deployed.get('id')} from {short_id(name)}"
            with contextlib.suppress(RemoteNotFoundError):
                self._wait(self._json(what, "POST", f"{name}:undeployModel",
                                      json={"deployedModelId": str(deployed.get("id"))}), what)
        self.delete_endpoint(name)
        return endpoint_of({**data, "deployedModels": []})

    def delete_endpoint(self, endpoint_id: str) -> None:
        name = self._name("endpoints", endpoint_id)
        what = f"deleting endpoint {short_id(name)}"
        with contextlib.suppress(RemoteNotFoundError):
            self._wait(self._json(what, "DELETE", name), what)

    def error_body(self, response: Any) -> tuple[str | None, str]:
        """Google's ``{"error": {"code", "message", "status"}}``: the status word is the code."""
        try:
            inner = response.json().get("error") or {}
        except (ValueError, AttributeError):
            return None, response.text[:300]
        if not isinstance(inner, dict):
            return None, str(inner)[:300]
        return (str(inner.get("status")) if inner.get("status") else None), str(inner.get("message") or inner)


def refuse(what: str) -> InvalidRequestError:
    return InvalidRequestError(f"Vertex AI {what}", provider="vertex", hint="see docs/providers.md (Vertex AI)")
