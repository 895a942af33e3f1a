"""What the Bedrock dialect's handlers share: AWS-shaped errors, timestamps and ``nextToken`` pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ftclient.emulator.http import ApiError, Request


def aws_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> ApiError:
    """An error of the service model's error shapes (``ValidationException`` ...): the code travels in the
    ``x-amzn-ErrorType`` header and the body is ``{"message": ...}`` (see ``BedrockApp.error_response``)."""
    return ApiError(status, message, type="aws", code=code, headers=headers)


def iso(when: float) -> str:
    return dt.datetime.fromtimestamp(when, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def page(items: list[dict[str, Any]], request: Request, default: int = 100) -> tuple[list[dict[str, Any]], str | None]:
    """One page of ``items`` by ``maxResults`` and an opaque ``nextToken`` (the offset)."""
    try:
        limit = max(1, min(1000, int(request.arg("maxResults") or default)))
        start = int(request.arg("nextToken") or 0)
    except ValueError:
        raise aws_error(400, "ValidationException", "maxResults and nextToken must be what the API gave") from None
    chunk = items[start : start + limit]
    return chunk, (str(start + limit) if start + limit < len(items) else None)
