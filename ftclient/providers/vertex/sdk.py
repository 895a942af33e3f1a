"""The Google SDKs behind the Vertex adapter, loaded on first use, and their failures as ftclient errors.

google-genai (tuning jobs, generateContent) and google-cloud-storage (the dataset bucket) are the optional
extra ``ftclient[vertex]``; without them, choosing ``--provider vertex`` says what to install. Neither SDK
retries here (google-genai's default is one attempt; storage calls pass ``retry=None``): the adapter's own
retry layer is the only one on a call path.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

from ftclient.errors import AuthError, ProviderError, ProviderUnavailable, UserInputError
from ftclient.providers.headers import retry_after_seconds
from ftclient.providers.retries import Hints, status_error

T = TypeVar("T")
INSTALL_HINT = "pip install 'ftclient[vertex]'"
HINTS = Hints(
    auth="run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a service "
    "account key file",
    permission="the account needs the Vertex AI User role and access to FTCLIENT_VERTEX_BUCKET",
    unavailable="Vertex AI did not answer; run the same command again",
)


def load(module: str) -> Any:
    """Import one of the extra's modules, or say exactly what to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise UserInputError(
            f"the vertex provider needs google-genai and google-cloud-storage, which are not installed ({exc.name})",
            hint=INSTALL_HINT,
        ) from None


def call(what: str, fn: Callable[[], T], *, endpoint: str) -> T:
    """``fn()`` with the SDKs' errors turned into ftclient's (status, message and request id kept)."""
    try:
        return fn()
    except ProviderError:
        raise
    except Exception as exc:  # the SDKs raise their own families; anything else is re-raised as it was
        raise translate(what, exc, endpoint=endpoint) from exc


def translate(what: str, exc: BaseException, *, endpoint: str) -> BaseException:
    status, message, code = _status_of(exc)
    if status is not None:
        headers = getattr(getattr(exc, "response", None), "headers", None)
        return status_error(
            f"{what}: {message} (HTTP {status})",
            provider="vertex",
            status=status,
            code=code,
            request_id=None,
            retry_after_s=retry_after_seconds(headers) if headers is not None else None,
            hints=HINTS,
        )
    name = type(exc).__name__
    if any(word in name for word in ("Connect", "Timeout", "Transport", "Disconnected", "RemoteProtocol")):
        return ProviderUnavailable(
            f"{what}: cannot reach {endpoint} ({name})",
            provider="vertex",
            code="timeout" if "Timeout" in name else "connection",
            hint="check the network (and FTCLIENT_VERTEX_ENDPOINT if set), then run the same command again",
        )
    if name in {"DefaultCredentialsError", "RefreshError"}:
        return AuthError(
            f"{what}: no usable Google credentials ({exc})", provider="vertex", code="credentials", hint=HINTS.auth
        )
    return exc


def _status_of(exc: BaseException) -> tuple[int | None, str, str | None]:
    """(HTTP status, message, status word) of a google-genai ``APIError`` or a google-api-core error."""
    module = type(exc).__module__
    if module.startswith("google.genai"):
        code = getattr(exc, "code", None)
        return (int(code) if isinstance(code, int) else None), str(getattr(exc, "message", "") or exc), \
            (str(getattr(exc, "status", "") or "") or None)
    if module.startswith("google.api_core"):
        code = getattr(exc, "code", None)
        status = int(code) if isinstance(code, int) else None
        return status, str(getattr(exc, "message", "") or exc), None
    return None, str(exc), None
