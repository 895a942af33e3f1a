"""The emulator's request pipeline: the fault layer, authentication and ``/_emulator/*``.

Everything provider-specific lives in a provider app (``ftclient.emulator.openai``) that registers its
routes on the router; this module owns what every provider shares: authentication, faults, the
configured latency and failure rate, request ids, statistics and the control endpoints. The sockets are
``ftclient.emulator.aioserver``'s; ``dispatch`` turns a parsed request into an ``Outcome`` (what to send,
and whether to delay, dribble or drop it).
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from ftclient.emulator.clock import Clock, parse_when
from ftclient.emulator.config import EmulatorConfig
from ftclient.emulator.faults import Fault, FaultSet, make_fault
from ftclient.emulator.http import ApiError, Request, Response, Router, json_response
from ftclient.emulator.ratelimit import RateLimiter, format_duration
from ftclient.emulator.stats import Stats

API_PREFIX = "/v1"
CONTROL_PREFIX = "/_emulator"
BANNER = "ftclient emulator: a local stand-in for the provider's API; nothing here is a real model."


class ProviderApp(Protocol):
    def register(self, router: Router) -> None: ...
    def stats(self) -> dict[str, Any]: ...
    def fail_job(self, job_id: str, params: dict[str, Any]) -> None: ...
    def save(self) -> None: ...


@dataclass
class Outcome:
    """What to do on the wire: the response, and whether the fault layer wants it delayed, dribbled
    out slowly, or dropped before (``drop``) or after (``drop_after``) the handler ran."""

    response: Response | None
    delay_s: float = 0.0
    drop: bool = False
    slow_body_s: float = 0.0
    slow_chunks: int = 10
    notes: list[str] = field(default_factory=list)


class Services:
    """What provider apps share with the server: config, clock, rate limiter, stats, random source."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        # FTCLIENT_TODAY moves the client's deadline checks; the emulator starts its clock on the same day
        # unless told otherwise, so a rehearsal of a deadline sees one calendar on both sides.
        start = config.start if config.start is not None else os.environ.get("FTCLIENT_TODAY") or None
        self.clock = Clock(config.speed, start=parse_when(start) if start is not None else None)
        self.rng = random.Random(config.seed)
        self.limiter = RateLimiter(config.rpm, config.tpm, config.burst_s)
        self.stats = Stats()
        self.faults = FaultSet(random.Random(config.seed + 1))


class EmulatorCore:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.services = Services(config)
        self.router = Router()
        self.app: ProviderApp = _provider_app(config.provider, self.services)
        self.app.register(self.router)
        self._fail_rng = random.Random(config.seed + 2)
        self._fail_lock = threading.Lock()

    # -- control ---------------------------------------------------------------------------------
    def inject(
        self, route: str, fault: str, *, times: int | None = None, probability: float = 1.0, **params: Any
    ) -> Fault:
        made = make_fault(route, fault, times=times, probability=probability, **params)
        if fault == "fail_job" and params.get("job_id"):
            self.app.fail_job(str(params["job_id"]), params)
            made.fired = 1
            return made
        return self.services.faults.add(made)

    def stats(self) -> dict[str, Any]:
        snapshot = self.services.stats.snapshot()
        snapshot["emulator"] = {
            "provider": self.config.provider,
            "speed": self.config.speed,
            "clock": round(self.services.clock.now(), 3),
            "seed": self.config.seed,
            "banner": BANNER,
        }
        snapshot["rate_limits"] = self.services.limiter.state()
        snapshot["faults"] = {"active": self.services.faults.active(), "fired": dict(self.services.faults.fired)}
        snapshot.update(self.app.stats())
        return snapshot

    def _control(self, request: Request) -> Response:
        path = request.path[len(CONTROL_PREFIX) :]
        if path == "/stats" and request.method == "GET":
            return json_response(self.stats())
        if path == "/faults" and request.method == "GET":
            return json_response({"faults": self.services.faults.active()})
        if path == "/faults" and request.method == "DELETE":
            self.services.faults.clear()
            return json_response({"cleared": True})
        if path == "/faults" and request.method == "POST":
            body = request.json()
            try:
                params = dict(body.get("params") or {})
                extra = {k: v for k, v in body.items() if k not in {"route", "fault", "times", "probability", "params"}}
                made = self.inject(
                    str(body.get("route", "*")),
                    str(body.get("fault", "")),
                    times=body.get("times"),
                    probability=float(body.get("probability", 1.0)),
                    **params,
                    **extra,
                )
            except (TypeError, ValueError) as exc:
                raise ApiError(400, str(exc)) from None
            return json_response(made.describe())
        if path == "/clock" and request.method == "POST":
            return json_response({"now": self._move_clock(request.json())})
        if path == "/clock" and request.method == "GET":
            return json_response({"now": self.services.clock.now()})
        if path == "/health":
            return json_response({"ok": True, "banner": BANNER})
        raise ApiError(404, f"Unknown emulator control endpoint: {request.method} {request.path}")

    def _move_clock(self, body: dict[str, Any]) -> float:
        """``{"advance": seconds}`` or ``{"to": unix seconds | "YYYY-MM-DD" | ISO time}``, forward only."""
        clock = self.services.clock
        try:
            if body.get("to") is not None:
                return clock.jump_to(parse_when(body["to"]))
            return clock.advance(float(body.get("advance", 0)))
        except (TypeError, ValueError) as exc:
            raise ApiError(400, str(exc)) from None

    # -- the API ---------------------------------------------------------------------------------
    def dispatch(self, request: Request) -> Outcome:
        if request.path.startswith(CONTROL_PREFIX):
            try:
                return Outcome(self._control(request))
            except ApiError as exc:
                return Outcome(exc.response())
        prepare = getattr(self.app, "prepare", None)
        if prepare is not None:  # a dialect that routes by more than the path (Bedrock: the SigV4 scope)
            prepare(request)
        matched = self.router.match(request.method, request.path)
        template_key = matched[0] if matched else f"{request.method} <unmatched>"
        request.route = template_key
        outcome = Outcome(None)
        started = time.perf_counter()
        request_id = self._request_id()
        request.context["request_id"] = request_id
        try:
            response = self._api(request, matched, outcome)
        except ApiError as exc:
            # dialects whose errors are not OpenAI-shaped (Bedrock's) or carry more (Together's request id)
            shape = getattr(self.app, "error_response", None)
            response = shape(exc, request) if shape is not None else exc.response()
        if outcome.drop:
            self.services.stats.record(template_key, "dropped")
            self.services.stats.bump("dropped_connections")
            return outcome
        response.headers.setdefault("x-request-id", request_id)
        response.headers["openai-processing-ms"] = str(
            int((time.perf_counter() - started) * 1000) + int(outcome.delay_s * 1000)
        )
        response.headers["openai-version"] = "2020-10-01"
        response.headers["openai-organization"] = "ftclient-emulator"
        self.services.stats.record(template_key, response.status)
        outcome.response = response
        return outcome

    def _request_id(self) -> str:
        make = getattr(self.app, "request_id", None)
        return str(make()) if make is not None else f"req_{uuid.uuid4().hex}"

    def _api(self, request: Request, matched: tuple[str, Any, dict[str, str]] | None, outcome: Outcome) -> Response:
        auth = request.header("authorization")
        key = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        public = request.path.startswith(tuple(getattr(self.app, "public_paths", ())))
        authenticate = getattr(self.app, "authenticate", None)
        if authenticate is not None:  # a dialect with its own auth and api-version rules (Azure)
            authenticate(request)
        elif not key and not public:
            raise ApiError(
                401,
                "You didn't provide an API key. You need to provide your API key in an Authorization header "
                "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY). This is a local emulator: any "
                "non-empty key works.",
            )
        if self.config.latency_ms:
            outcome.delay_s += self.config.latency_ms / 1000.0
        concrete_key = f"{request.method} {request.path}"
        lose_after = False
        for fault in self.services.faults.draw(request.route, concrete_key):
            kind, params = fault.fault, fault.params
            if kind == "latency":
                jitter = float(params.get("jitter_ms", 0.0))
                ms = float(params.get("ms", 200.0)) + (self.services.rng.uniform(-jitter, jitter) if jitter else 0.0)
                outcome.delay_s += max(0.0, ms) / 1000.0
            elif kind == "drop_connection":
                outcome.drop = True
                return Response()
            elif kind == "slow_body":
                outcome.slow_body_s = float(params.get("seconds", 0.5))
                outcome.slow_chunks = int(params.get("chunks", 10))
            elif kind == "lose_response_after_commit":
                lose_after = True
            elif kind == "fail_job":
                request.context["fail_job"] = params
            elif kind == "fail_endpoint":
                request.context["fail_endpoint"] = params
            else:
                raise _status_fault(kind, params)
        if self.config.fail_rate:
            with self._fail_lock:
                failing = self._fail_rng.random() < self.config.fail_rate
            if failing:
                raise _status_fault("status_500", {})
        if matched is None:
            raise ApiError(404, f"Invalid URL ({request.method} {request.path})")
        _, handler, params = matched
        request.params = params
        response: Response = handler(request)
        if lose_after:
            outcome.drop = True
        return response


def _provider_app(provider: str, services: Services) -> ProviderApp:
    """The provider dialect ``EmulatorConfig.provider`` names (apps may list ``public_paths``, e.g. signed
    upload URLs, that are served without an API key)."""
    if provider == "together":
        from ftclient.emulator.together.app import TogetherApp

        return TogetherApp(services)
    if provider == "azure":
        from ftclient.emulator.azure.app import AzureApp

        return AzureApp(services)
    if provider == "fireworks":
        from ftclient.emulator.fireworks.app import FireworksApp

        return FireworksApp(services)
    if provider == "bedrock":
        from ftclient.emulator.bedrock.app import BedrockApp

        return BedrockApp(services)
    if provider == "vertex":
        from ftclient.emulator.vertex.app import VertexApp

        return VertexApp(services)
    from ftclient.emulator.openai.app import OpenAIApp

    return OpenAIApp(services)


def _status_fault(kind: str, params: dict[str, Any]) -> ApiError:
    if kind == "status_429":
        # The live API does not always send retry-after: ``retry_after_s=None`` leaves it out and says when
        # to come back only through x-ratelimit-reset-*. ``code``/``type`` make other 429s, such as
        # ``insufficient_quota`` (billing) or ``daily_rate_limit_exceeded``.
        retry = params.get("retry_after_s", 1.0)
        if retry is None:
            reset = format_duration(float(params.get("reset_s", 1.0)))
            headers = {
                "x-ratelimit-remaining-requests": "0",
                "x-ratelimit-reset-requests": reset,
                "x-ratelimit-remaining-tokens": "0",
                "x-ratelimit-reset-tokens": reset,
            }
        else:
            headers = {"retry-after": str(max(1, round(float(retry)))), "retry-after-ms": str(int(float(retry) * 1000))}
        return ApiError(
            429,
            str(params.get("message", "Rate limit reached (injected by the emulator). Please try again.")),
            type=str(params.get("type", "requests")),
            code=str(params.get("code", "rate_limit_exceeded")),
            headers=headers,
        )
    if kind == "status_503":
        return ApiError(
            503,
            str(params.get("message", "The server is overloaded or not ready yet.")),
            type="server_error",
            code=None,
        )
    return ApiError(
        500,
        str(params.get("message", "The server had an error while processing your request. Sorry about that!")),
        type="server_error",
        code=None,
    )
