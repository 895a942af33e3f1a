"""The control plane's errors (google.rpc ``Status``) and list pages (AIP-158), shared by the Fireworks routes."""

from __future__ import annotations

from typing import Any

from ftclient.emulator.http import ApiError, Request

RPC_NUMBERS = {
    "INVALID_ARGUMENT": 3,
    "NOT_FOUND": 5,
    "ALREADY_EXISTS": 6,
    "PERMISSION_DENIED": 7,
    "RESOURCE_EXHAUSTED": 8,
    "FAILED_PRECONDITION": 9,
    "UNAVAILABLE": 14,
}
_HTTP = {3: 400, 5: 404, 6: 409, 7: 403, 8: 429, 9: 400, 14: 503}


class RpcError(ApiError):
    """An error in the control plane's google.rpc ``Status`` shape: ``{"code": 5, "message", "details": []}``."""

    def __init__(self, code: str, message: str) -> None:
        number = RPC_NUMBERS[code]
        super().__init__(_HTTP[number], message, code=code)
        self.number = number

    def body(self) -> dict[str, Any]:
        return {"code": self.number, "message": self.message, "details": []}


def page(items: list[dict[str, Any]], request: Request, key: str) -> dict[str, Any]:
    """An AIP-158 list page: ``pageSize`` (default 50, at most 200), ``pageToken`` = the offset as text."""
    try:
        size = max(1, min(200, int(request.arg("pageSize") or 50)))
        start = int(request.arg("pageToken") or 0)
    except ValueError:
        raise RpcError("INVALID_ARGUMENT", "pageSize and pageToken must be integers.") from None
    chunk = items[start : start + size]
    result: dict[str, Any] = {key: chunk, "totalSize": len(items)}
    if start + size < len(items):
        result["nextPageToken"] = str(start + size)
    return result
