"""The AWS Bedrock provider app: S3, the bedrock control plane and bedrock-runtime on one port.

AWS reaches each service on its own host; here one port serves all three, so a request is routed by the
service in its SigV4 credential scope (``Credential=<key>/<date>/<region>/<service>/aws4_request``), as the
signature names it: ``s3`` goes to the object store (path-style: ``/<bucket>/<key>``), ``bedrock`` (the
signing name of both the control plane and the runtime) to the bedrock routes, whose paths do not overlap.
Internally the routes carry a ``/s3`` or ``/bedrock`` prefix, so faults are injected on e.g.
``POST /bedrock/model-customization-jobs``.

Authentication: the ``Authorization`` header must be a SigV4 one with a credential scope; the signature itself
is not verified (no cryptographic check: any key pair works, as with the other dialects' keys). Errors take
each protocol's own shape: S3's XML ``<Error>``, and for bedrock a JSON ``{"message"}`` body with the error
shape's name in ``x-amzn-ErrorType``, which is how botocore tells ``ValidationException`` from
``ThrottlingException``.

Nothing here is a real model: custom models answer by nearest neighbour over their training examples.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote
from xml.sax.saxutils import escape

from ftclient.emulator.bedrock.jobs import Jobs
from ftclient.emulator.bedrock.runtime import Runtime
from ftclient.emulator.bedrock.s3 import S3
from ftclient.emulator.bedrock.serving import Serving
from ftclient.emulator.bedrock.wire import aws_error
from ftclient.emulator.dialect import DialectApp, RouteGroup
from ftclient.emulator.http import ApiError, Request, Response

if TYPE_CHECKING:
    from ftclient.emulator.server import Services

SCOPE = re.compile(r"Credential=[^/,\s]+/(\d{8})/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")
_BEDROCK_CODES = {400: "ValidationException", 401: "AccessDeniedException", 403: "AccessDeniedException",
                  404: "ResourceNotFoundException", 409: "ConflictException", 429: "ThrottlingException",
                  503: "ServiceUnavailableException"}
_S3_CODES = {400: "InvalidRequest", 403: "AccessDenied", 404: "NoSuchKey", 429: "SlowDown", 503: "SlowDown"}


class MemoryStore:
    """This dialect keeps its state in memory only (``state_dir`` is not supported): nothing to catch up
    with after a restart, nothing to save."""

    clock_high_water = 0.0

    def save(self, now: float) -> None:
        return None


class BedrockApp(DialectApp[MemoryStore]):
    def __init__(self, services: Services) -> None:
        super().__init__(services, MemoryStore())
        self.s3 = S3(self)
        self.jobs = Jobs(self)
        self.serving = Serving(self)
        self.runtime = Runtime(self)

    def route_groups(self) -> Sequence[RouteGroup]:
        return (self.s3, self.jobs, self.serving, self.runtime)

    # -- routing and auth ------------------------------------------------------------------------
    def prepare(self, request: Request) -> None:
        """Route by the SigV4 scope's service: ``/s3/<bucket>/<key, one segment>`` or ``/bedrock/<path>``."""
        found = SCOPE.search(request.header("authorization"))
        service = found.group(3) if found else ""
        request.context["aws_service"] = service
        if service == "s3":
            bucket, _, key = request.path.lstrip("/").partition("/")
            request.path = f"/s3/{bucket}" + (f"/{quote(unquote(key), safe='')}" if key else "")
        elif service == "bedrock":
            request.path = f"/bedrock{request.path}"

    def authenticate(self, request: Request) -> None:
        auth = request.header("authorization")
        if not auth.startswith("AWS4-HMAC-SHA256 ") or not SCOPE.search(auth) or "Signature=" not in auth:
            raise aws_error(403, "AccessDeniedException" if not request.path.startswith("/s3/") else "AccessDenied",
                            "Missing Authentication Token: sign the request with SigV4 (any key pair works here; "
                            "the emulator checks the header, not the signature)")
        if request.context.get("aws_service") not in ("s3", "bedrock"):
            raise aws_error(403, "AccessDeniedException", "The credential scope names a service this endpoint "
                            "does not serve (s3 and bedrock only)")

    def error_response(self, exc: ApiError, request: Request) -> Response:
        headers = dict(exc.headers)
        headers["x-amzn-requestid"] = request.header("amz-sdk-invocation-id") or "emulator"
        if request.path.startswith("/s3/") or request.context.get("aws_service") == "s3":
            code = exc.code if exc.type in ("s3", "aws") and exc.code else _S3_CODES.get(exc.status, "InternalError")
            body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{escape(code)}</Code>'
                    f"<Message>{escape(exc.message)}</Message></Error>")
            return Response(exc.status, body.encode("utf-8"), "application/xml", headers)
        code = exc.code if exc.type == "aws" and exc.code else _BEDROCK_CODES.get(exc.status, "InternalServerException")
        headers["x-amzn-errortype"] = code
        return Response(exc.status, json.dumps({"message": exc.message}).encode(), "application/json", headers)

    # -- control ---------------------------------------------------------------------------------
    def fail_job(self, job_id: str, params: dict[str, Any]) -> None:
        try:
            self.jobs.fail(job_id, params)
        except ApiError:
            raise ValueError(f"no Bedrock customization job {job_id!r} to fail") from None

    def stats(self) -> dict[str, Any]:
        return {**self.jobs.stats(), "s3": self.s3.stats(), "serving": self.serving.billing()}
