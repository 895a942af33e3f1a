"""Google's error body (``{"error": {"code", "message", "status"}}``, google.rpc.Status over HTTP) and the
RFC 3339 timestamps both Vertex APIs use."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ftclient.emulator.http import ApiError


class GoogleError(ApiError):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status, message, code=code)

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.status, "message": self.message, "status": self.code}}


def rfc3339(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
