"""Requests, responses and errors as the emulator's route handlers see them (no sockets here)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs


class ApiError(Exception):
    """An error the API answers with: ``{"error": {"message", "type", "param", "code"}}``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def response(self) -> Response:
        response = json_response(self.body(), status=self.status)
        response.headers.update(self.headers)
        return response


def not_found(kind: str, ident: str, param: str | None = None) -> ApiError:
    return ApiError(404, f"No such {kind}: {ident}", param=param, code=None)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)
    route: str = ""
    context: dict[str, Any] = field(default_factory=dict)
    """Per-request notes from the fault layer to the handlers (e.g. "fail the job you create")."""

    @classmethod
    def build(cls, method: str, target: str, headers: dict[str, str], body: bytes) -> Request:
        path, _, query = target.partition("?")
        return cls(method.upper(), path, parse_qs(query, keep_blank_values=True), headers, body)

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    def json(self) -> dict[str, Any]:
        if not self.body:
            raise ApiError(400, "We could not parse the JSON body of your request. The body is empty.")
        try:
            data = json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(
                400,
                "We could not parse the JSON body of your request. (HINT: This likely means you aren't using "
                f"your HTTP library correctly. The OpenAI API expects a JSON payload.) ({exc})",
            ) from None
        if not isinstance(data, dict):
            raise ApiError(400, "The JSON body of your request must be an object.")
        return data

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def int_arg(self, name: str, default: int, lo: int, hi: int) -> int:
        raw = self.arg(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ApiError(400, f"Invalid '{name}': expected an integer, got {raw!r}.", param=name) from None
        if not lo <= value <= hi:
            raise ApiError(
                400,
                f"Invalid '{name}': integer out of range ({lo} to {hi}), got {value}.",
                param=name,
                code="integer_out_of_range" if value > hi else "integer_below_min_value",
            )
        return value


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(data: Any, status: int = 200) -> Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(status=status, body=body)


Handler = Callable[[Request], Response]


class Router:
    """Paths with ``{name}`` placeholders -> handlers; the template doubles as the route's name in stats."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], str, Handler]] = []

    def add(self, method: str, template: str, handler: Handler) -> None:
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        self._routes.append((method.upper(), re.compile(f"^{pattern}$"), template, handler))

    def match(self, method: str, path: str) -> tuple[str, Handler, dict[str, str]] | None:
        for route_method, pattern, template, handler in self._routes:
            if route_method != method:
                continue
            found = pattern.match(path)
            if found:
                return f"{method} {template}", handler, found.groupdict()
        return None

    def routes(self) -> Iterable[str]:
        return [f"{method} {template}" for method, _, template, _ in self._routes]


def paginate(
    items: list[dict[str, Any]],
    request: Request,
    *,
    default_limit: int,
    max_limit: int = 10_000,
    first_last: bool = True,
    empty_id: str | None = None,
) -> dict[str, Any]:
    """OpenAI's cursor page: ``after`` is the id of the last item seen; ``has_more`` says if more follow.

    ``first_id``/``last_id`` of an empty page are ``empty_id``: null where the spec allows it, "" where it
    declares a plain string (files, batches).
    """
    limit = request.int_arg("limit", default_limit, 1, max_limit)
    after = request.arg("after")
    start = 0
    if after:
        ids = [item["id"] for item in items]
        start = ids.index(after) + 1 if after in ids else len(items)
    page = items[start : start + limit]
    result: dict[str, Any] = {"object": "list", "data": page, "has_more": start + limit < len(items)}
    if first_last:
        result["first_id"] = page[0]["id"] if page else empty_id
        result["last_id"] = page[-1]["id"] if page else empty_id
    return result


def chat_request(request: Request) -> tuple[dict[str, Any], str, list[Any]]:
    """(body, model, messages) of a chat-completions request, refused the way the open-weight providers'
    OpenAI-compatible endpoints refuse it (no model, no messages; the emulator does not stream)."""
    body = request.json()
    model, messages = body.get("model"), body.get("messages")
    if not isinstance(model, str) or not model:
        raise ApiError(400, "model is required.", param="model")
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "messages must be a non-empty list.", param="messages")
    if body.get("stream"):
        raise ApiError(400, "The emulator does not stream; send stream=false.", param="stream")
    return body, model, messages
