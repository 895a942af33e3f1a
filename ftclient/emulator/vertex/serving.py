"""The tuned model, its endpoint, and ``generateContent``.

A succeeded job registers its model (``models/{id}@1``) and deploys it to a new endpoint; the endpoint answers
``generateContent`` by nearest neighbour over the job's training examples for as long as the model is
deployed there. ``:undeployModel`` takes it off ``UNDEPLOY_S`` later (the endpoint then answers 400
FAILED_PRECONDITION), and ``DELETE`` removes an endpoint that has nothing deployed (Vertex refuses to delete
one that has). A base model (``publishers/google/models/{model}:generateContent``) answers with the weak
baseline. Tokens served are counted per endpoint; no hours are billed (see ``catalog``). ``:deployModel`` and
``:undeployModel`` answer with a pending ``google.longrunning.Operation`` (``GET …/operations/{id}`` follows
it); creating and deleting an endpoint finish at once.
"""

from __future__ import annotations

import threading
import uuid
from typing import TYPE_CHECKING, Any

from ftclient.emulator.http import Request, Response, Router, json_response
from ftclient.emulator.openai.learner import NearestNeighbour, baseline_answer, prompt_text
from ftclient.emulator.vertex import catalog
from ftclient.emulator.vertex.errors import GoogleError, rfc3339
from ftclient.emulator.vertex.tuning import PARENT

if TYPE_CHECKING:
    from ftclient.emulator.vertex.app import VertexApp
    from ftclient.emulator.vertex.tuning import Job

DEFAULT_OUTPUT_ESTIMATE = 256
DEPLOY_S = 60.0
"""Emulated seconds a ``:deployModel`` takes (real ones take minutes)."""
UNDEPLOY_S = 20.0


class Serving:
    def __init__(self, app: VertexApp) -> None:
        self.app = app
        self.models: dict[str, dict[str, Any]] = {}
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.learners: dict[str, NearestNeighbour] = {}
        """Model name (without version) -> its learner."""
        self.tokens: dict[str, int] = {}
        self.operations: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def register(self, router: Router) -> None:
        router.add("POST", f"{PARENT}/endpoints", self.create)
        router.add("POST", f"{PARENT}/endpoints/{{endpoint}}:deployModel", self.deploy)
        router.add("GET", f"{PARENT}/endpoints", self.list)
        router.add("GET", f"{PARENT}/endpoints/{{endpoint}}", self.get)
        router.add("GET", f"{PARENT}/endpoints/{{endpoint}}/operations/{{operation}}", self.get_operation)
        router.add("DELETE", f"{PARENT}/endpoints/{{endpoint}}", self.delete)
        router.add("POST", f"{PARENT}/endpoints/{{endpoint}}:undeployModel", self.undeploy)
        router.add("POST", f"{PARENT}/endpoints/{{endpoint}}:generateContent", self.generate)
        router.add("POST", f"{PARENT}/publishers/{{publisher}}/models/{{model}}:generateContent", self.generate_base)
        router.add("GET", f"{PARENT}/models/{{model}}", self.get_model)

    # -- publishing --------------------------------------------------------------------------------
    def publish(self, job: Job, at: float) -> tuple[str, str]:
        """Register ``job``'s tuned model and deploy it to a new endpoint: (model@version, endpoint)."""
        parent = job.obj["name"].split("/tuningJobs/")[0]
        model = f"{parent}/models/{self.app.next_id()}"
        endpoint = f"{parent}/endpoints/{self.app.next_id()}"
        deployed_id = str(self.app.next_id())
        display = job.obj.get("tunedModelDisplayName") or job.obj["name"].rsplit("/", 1)[-1]
        when = rfc3339(at)
        self.models[model] = {
            "name": model,
            "displayName": display,
            "versionId": "1",
            "createTime": when,
            "updateTime": when,
            "deployedModels": [{"endpoint": endpoint, "deployedModelId": deployed_id}],
            **({"labels": dict(job.obj["labels"])} if job.obj.get("labels") else {}),
        }
        self.endpoints[endpoint] = {
            "name": endpoint,
            "displayName": display,
            "createTime": when,
            "updateTime": when,
            "etag": uuid.uuid4().hex,
            "deployedModels": [{"id": deployed_id, "model": model, "modelVersionId": "1", "displayName": display,
                                "createTime": when}],
            "trafficSplit": {deployed_id: 100},
            # the job's labels go to "generated resources such as Model and Endpoint" (TuningJob.labels)
            **({"labels": dict(job.obj["labels"])} if job.obj.get("labels") else {}),
        }
        answers = [(prompt_text(prompt), answer) for prompt, answer in job.examples]
        self.learners[model] = NearestNeighbour(answers or [("", "")])
        self.app.services.stats.bump("endpoints_created")
        return f"{model}@1", endpoint

    # -- endpoints ---------------------------------------------------------------------------------
    def _name(self, request: Request, kind: str, key: str) -> str:
        return (f"projects/{request.params['project']}/locations/{request.params['location']}/"
                f"{kind}/{request.params[key]}")

    def _endpoint(self, request: Request) -> dict[str, Any]:
        self.app.settle()
        name = self._name(request, "endpoints", "endpoint")
        found = self.endpoints.get(name)
        if found is None:
            raise GoogleError(404, "NOT_FOUND", f"Endpoint {name} not found.")
        return found

    def get(self, request: Request) -> Response:
        return json_response(self._endpoint(request))

    def list(self, request: Request) -> Response:
        self.app.settle()
        parent = f"projects/{request.params['project']}/locations/{request.params['location']}/"
        items = [e for name, e in sorted(self.endpoints.items()) if name.startswith(parent)]
        return json_response({"endpoints": items} if items else {})

    def create(self, request: Request) -> Response:
        """``endpoints.create``, with the caller's ``endpointId`` when given (409 when it is taken)."""
        body = request.json()
        parent = f"projects/{request.params['project']}/locations/{request.params['location']}"
        ident = request.arg("endpointId") or request.arg("endpoint_id") or str(self.app.next_id())
        name = f"{parent}/endpoints/{ident}"
        if not body.get("displayName"):
            raise GoogleError(400, "INVALID_ARGUMENT", "displayName is required.")
        when = rfc3339(self.app.now())
        endpoint: dict[str, Any] = {"name": name, "displayName": str(body["displayName"]), "createTime": when,
                                    "updateTime": when,
                    "etag": uuid.uuid4().hex}
        if isinstance(body.get("labels"), dict) and body["labels"]:
            endpoint["labels"] = dict(body["labels"])
        with self._lock:
            if name in self.endpoints:
                raise GoogleError(409, "ALREADY_EXISTS", f"Endpoint {name} already exists.")
            self.endpoints[name] = endpoint
        self.app.services.stats.bump("endpoints_created")
        return json_response(self._operation(name, "Endpoint", endpoint))

    def deploy(self, request: Request) -> Response:
        """``:deployModel`` of a tuned model registered here: a long-running operation that puts the model on
        the endpoint ``DEPLOY_S`` emulated seconds later."""
        endpoint = self._endpoint(request)
        wanted = (request.json().get("deployedModel") or {})
        model = str(wanted.get("model") or "").split("@")[0]
        if model not in self.models:
            raise GoogleError(400, "INVALID_ARGUMENT", f"Model {wanted.get('model')!r} does not exist.")
        deployed_id = str(self.app.next_id())
        display = str(wanted.get("displayName") or self.models[model]["displayName"])

        def apply(at: float) -> dict[str, Any]:
            when = rfc3339(at)
            deployed = {"id": deployed_id, "model": model, "modelVersionId": "1", "displayName": display,
                        "createTime": when}
            endpoint.setdefault("deployedModels", []).append(deployed)
            endpoint["trafficSplit"] = {d["id"]: 100 // len(endpoint["deployedModels"])
                                        for d in endpoint["deployedModels"]}
            endpoint["updateTime"] = when
            self.models[model].setdefault("deployedModels", []).append(
                {"endpoint": endpoint["name"], "deployedModelId": deployed_id})
            return {"deployedModel": deployed}

        return json_response(self._later(endpoint["name"], "DeployModelResponse", DEPLOY_S, apply))

    def undeploy(self, request: Request) -> Response:
        """``:undeployModel``: a long-running operation; the model serves until it is done (``UNDEPLOY_S``)."""
        endpoint = self._endpoint(request)
        wanted = str(request.json().get("deployedModelId") or "")
        if not any(d["id"] == wanted for d in endpoint.get("deployedModels") or []):
            raise GoogleError(404, "NOT_FOUND", f"Deployed model {wanted} not found on {endpoint['name']}.")

        def apply(at: float) -> dict[str, Any]:
            kept = [d for d in endpoint.get("deployedModels") or [] if d["id"] != wanted]
            gone = [d for d in endpoint.get("deployedModels") or [] if d["id"] == wanted]
            endpoint["updateTime"] = rfc3339(at)
            if kept:
                endpoint["deployedModels"] = kept
                endpoint["trafficSplit"] = {d["id"]: 100 // len(kept) for d in kept}
            else:  # an empty endpoint lists no deployed models and no traffic split
                endpoint.pop("deployedModels", None)
                endpoint.pop("trafficSplit", None)
            for deployed in gone:
                model = self.models.get(str(deployed["model"]).split("@")[0])
                if model is not None:
                    model["deployedModels"] = [r for r in model.get("deployedModels", [])
                                               if r["deployedModelId"] != wanted]
            self.app.services.stats.bump("models_undeployed")
            return {}

        return json_response(self._later(endpoint["name"], "UndeployModelResponse", UNDEPLOY_S, apply))

    def delete(self, request: Request) -> Response:
        endpoint = self._endpoint(request)
        if endpoint.get("deployedModels"):
            raise GoogleError(400, "FAILED_PRECONDITION",
                              f"Endpoint {endpoint['name']} has deployed models; undeploy them before deleting it.")
        with self._lock:
            self.endpoints.pop(endpoint["name"], None)
        self.app.services.stats.bump("endpoints_deleted")
        return json_response(self._operation(endpoint["name"], None, {}))

    def _operation(self, parent: str, response: str | None, fields: dict[str, Any]) -> dict[str, Any]:
        kind = f"google.cloud.aiplatform.v1.{response}" if response else "google.protobuf.Empty"
        body = {"@type": f"type.googleapis.com/{kind}", **fields}
        return {"name": f"{parent}/operations/{self.app.next_id()}", "done": True, "response": body}

    def _later(self, parent: str, response: str, delay_s: float, apply: Any) -> dict[str, Any]:
        """A pending operation: ``apply(at)`` runs when the clock passes now + ``delay_s``."""
        name = f"{parent}/operations/{self.app.next_id()}"
        with self._lock:
            self.operations[name] = {"name": name, "done": False, "due": self.app.now() + delay_s,
                                     "apply": apply, "response": response}
        return {"name": name, "done": False}

    def settle(self, now: float) -> None:
        """Finish the operations whose time has come (the caller holds the app lock)."""
        with self._lock:
            due = sorted((op for op in self.operations.values() if not op["done"] and op["due"] <= now),
                         key=lambda op: op["due"])
            for op in due:
                fields = op.pop("apply")(op["due"])
                op["done"] = True
                kind = f"google.cloud.aiplatform.v1.{op['response']}"
                op["result"] = {"@type": f"type.googleapis.com/{kind}", **fields}

    def get_operation(self, request: Request) -> Response:
        self.app.settle()
        name = f"{self._name(request, 'endpoints', 'endpoint')}/operations/{request.params['operation']}"
        with self._lock:
            op = self.operations.get(name)
            if op is None:
                raise GoogleError(404, "NOT_FOUND", f"Operation {name} not found.")
            body: dict[str, Any] = {"name": name, "done": op["done"]}
            if op["done"]:
                body["response"] = op["result"]
        return json_response(body)

    def get_model(self, request: Request) -> Response:
        self.app.settle()
        name = self._name(request, "models", "model").split("@")[0]
        found = self.models.get(name)
        if found is None:
            raise GoogleError(404, "NOT_FOUND", f"Model {name} not found.")
        return json_response(found)

    # -- generateContent ---------------------------------------------------------------------------
    def generate(self, request: Request) -> Response:
        endpoint = self._endpoint(request)
        deployed = endpoint.get("deployedModels") or []
        if not deployed:
            raise GoogleError(400, "FAILED_PRECONDITION",
                              f"Endpoint {endpoint['name']} has no deployed model to serve the request.")
        model = str(deployed[0]["model"]).split("@")[0]
        learner = self.learners[model]
        return self._answer(request, endpoint["name"], model, lambda messages: learner.answer(messages)[0])

    def generate_base(self, request: Request) -> Response:
        publisher, model = request.params["publisher"], request.params["model"]
        if publisher != "google" or model not in catalog.TUNABLE:
            raise GoogleError(404, "NOT_FOUND", f"Publisher Model publishers/{publisher}/models/{model} was not found.")
        return self._answer(request, f"publishers/google/models/{model}", model, baseline_answer)

    def _answer(self, request: Request, pool: str, version: str, answer_of: Any) -> Response:
        body = request.json()
        messages = _messages(body)
        prompt_tokens = sum(4 + catalog.estimate_tokens(str(m["content"])) for m in messages)
        config = body.get("generationConfig") or {}
        max_out = config.get("maxOutputTokens")
        admission = self.app.services.limiter.admit(pool, prompt_tokens + int(max_out or DEFAULT_OUTPUT_ESTIMATE))
        if not admission.ok:
            error = GoogleError(429, "RESOURCE_EXHAUSTED", admission.message)
            error.headers = admission.headers
            raise error
        text = str(answer_of(messages))
        completion = catalog.estimate_tokens(text)
        finish = "STOP"
        if isinstance(max_out, int) and 0 < max_out < completion:
            text, completion, finish = text[: max_out * 4], max_out, "MAX_TOKENS"
        stats = self.app.services.stats
        stats.bump("completions")
        stats.bump("prompt_tokens", prompt_tokens)
        stats.bump("completion_tokens", completion)
        with self._lock:
            self.tokens[pool] = self.tokens.get(pool, 0) + prompt_tokens + completion
        return json_response({
            "candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": finish,
                            "index": 0}],
            "usageMetadata": {"promptTokenCount": prompt_tokens, "candidatesTokenCount": completion,
                              "totalTokenCount": prompt_tokens + completion},
            "modelVersion": version,
            "createTime": rfc3339(self.app.now()),
            "responseId": uuid.uuid4().hex[:24],
        })


def _messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The request's system instruction and turns as chat messages, for the learner."""
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise GoogleError(400, "INVALID_ARGUMENT", "contents is required and must not be empty.")
    messages: list[dict[str, Any]] = []
    system = body.get("systemInstruction")
    if isinstance(system, dict):
        text = "\n".join(str(p.get("text", "")) for p in system.get("parts") or [] if isinstance(p, dict))
        messages.append({"role": "system", "content": text})
    for index, content in enumerate(contents):
        if not isinstance(content, dict) or content.get("role", "user") not in ("user", "model"):
            raise GoogleError(400, "INVALID_ARGUMENT", f"contents[{index}].role must be user or model.")
        text = "\n".join(str(p.get("text", "")) for p in content.get("parts") or [] if isinstance(p, dict))
        messages.append({"role": "assistant" if content.get("role") == "model" else "user", "content": text})
    return messages
