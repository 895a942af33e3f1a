"""The boto3 clients behind the Bedrock adapter, and every AWS failure turned into an ftclient error.

boto3 is an optional extra (``pip install 'ftclient[bedrock]'``), imported in this package only: without it,
building the adapter is a user error naming that command. boto3 checks every request against the service's
model before sending it, which is the contract the emulator's tests lean on.

Retries: boto3's own are switched off (one attempt per call) and ftclient's one retry layer
(``providers.retries.RetryLayer``) retries throttling, 5xx and dropped connections, pausing as the server asks
(``retry-after-ms``/``retry-after``) with an injectable sleep. Job creation is not retried here (the launch's
find-before-retry loop is its layer) and neither is Converse (the evaluation runner paces and retries chat).
Credentials come from boto3's usual chain (``AWS_ACCESS_KEY_ID`` ..., profiles,
roles); ``AWS_ENDPOINT_URL`` points every client at another endpoint (the emulator).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ftclient.errors import (
    AuthError,
    InvalidRequestError,
    PermissionError_,
    ProviderError,
    ProviderUnavailable,
    RateLimitError,
    RemoteNotFoundError,
    UserInputError,
)
from ftclient.providers.retries import RetryLayer, request_settings

if TYPE_CHECKING:
    from ftclient.config import Settings

INSTALL_HINT = "pip install 'ftclient[bedrock]'"
DEFAULT_REGION = "us-east-1"

_BY_CODE: dict[str, type[ProviderError]] = {
    "ThrottlingException": RateLimitError,
    "TooManyRequestsException": RateLimitError,
    "SlowDown": RateLimitError,
    "ValidationException": InvalidRequestError,
    "ConflictException": InvalidRequestError,
    "ServiceQuotaExceededException": InvalidRequestError,
    "ResourceNotFoundException": RemoteNotFoundError,
    "NoSuchKey": RemoteNotFoundError,
    "NoSuchUpload": RemoteNotFoundError,
    "404": RemoteNotFoundError,
    "NotFound": RemoteNotFoundError,
    "AccessDeniedException": PermissionError_,
    "AccessDenied": PermissionError_,
    "UnrecognizedClientException": AuthError,
    "InvalidSignatureException": AuthError,
    "ExpiredTokenException": AuthError,
}


def load_boto3() -> Any:
    try:
        import boto3
    except ModuleNotFoundError as exc:
        if exc.name not in ("boto3", "botocore"):
            raise
        raise UserInputError(
            "the bedrock provider needs the AWS SDK (boto3), which is not installed",
            hint=INSTALL_HINT,
        ) from None
    return boto3


class BedrockClients:
    """Lazily built boto3 clients (s3, bedrock, bedrock-runtime) sharing one session and endpoint."""

    name = "bedrock"

    def __init__(
        self,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        bucket: str | None = None,
        role_arn: str | None = None,
        max_retries: int = 4,
        timeout_s: float = 120.0,
        retry_backoff_s: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        session: Any = None,
    ) -> None:
        self._boto3 = load_boto3()
        self.region = region or DEFAULT_REGION
        self.endpoint_url = endpoint_url
        self.bucket = bucket
        self.role_arn = role_arn
        self.max_retries = max_retries
        self.timeout_s = timeout_s
        self.retry_backoff_s = retry_backoff_s
        self._sleep = sleep
        self._session = session or self._boto3.session.Session(region_name=self.region)
        self._clients: dict[str, Any] = {}
        self.endpoint = endpoint_url or f"https://bedrock.{self.region}.amazonaws.com"

    @classmethod
    def env_options(cls, settings: Settings | None) -> dict[str, Any]:
        env = os.environ
        return {
            "region": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
            "endpoint_url": env.get("AWS_ENDPOINT_URL") or None,
            "bucket": env.get("FTCLIENT_BEDROCK_BUCKET") or None,
            "role_arn": env.get("FTCLIENT_BEDROCK_ROLE_ARN") or None,
            **request_settings(settings),
        }

    def client(self, service: str) -> Any:
        found = self._clients.get(service)
        if found is None:
            from botocore.config import Config

            config = Config(
                retries={"mode": "standard", "total_max_attempts": 1},  # ftclient's RetryLayer retries
                read_timeout=self.timeout_s,
                connect_timeout=min(self.timeout_s, 30.0),
                s3={"addressing_style": "path"},
                # checksums only where the API requires them: plain bodies, which every S3 look-alike reads
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            )
            kwargs: dict[str, Any] = {"config": config}
            if self.endpoint_url:
                kwargs["endpoint_url"] = self.endpoint_url
            found = self._session.client(service, **kwargs)
            self._clients[service] = found
        return found

    def need_bucket(self) -> str:
        if not self.bucket:
            raise UserInputError(
                "no S3 bucket for the training data: FTCLIENT_BEDROCK_BUCKET is not set",
                hint="export FTCLIENT_BEDROCK_BUCKET=<a bucket in the job's region that the role can read>",
            )
        return self.bucket

    def need_role(self) -> str:
        if not self.role_arn:
            raise UserInputError(
                "no IAM role for the customization job: FTCLIENT_BEDROCK_ROLE_ARN is not set",
                hint="export FTCLIENT_BEDROCK_ROLE_ARN=arn:aws:iam::<account>:role/<a role Bedrock may assume "
                "that reads and writes the bucket>",
            )
        return self.role_arn

    def call(self, service: str, operation: str, what: str, *, retry: bool = True, **params: Any) -> Any:
        """``client.<operation>(**params)``, with AWS's errors as ftclient's, retried when ``retry``."""
        method: Callable[..., Any] = getattr(self.client(service), operation)
        return self.retrying(what, lambda: method(**params), retry=retry)

    def retrying(self, what: str, action: Callable[[], Any], *, retry: bool = True) -> Any:
        layer = RetryLayer(self.max_retries if retry else 0, self.retry_backoff_s, self._sleep)
        return layer.run(lambda: self.guard(what, action))

    def guard(self, what: str, action: Callable[[], Any]) -> Any:
        from boto3.exceptions import S3UploadFailedError
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectionError,
            NoCredentialsError,
            ParamValidationError,
        )

        try:
            return action()
        except S3UploadFailedError as exc:  # the transfer manager's wrapper around a failed part or put
            raise ProviderUnavailable(f"{what}: {exc}", provider=self.name) from None
        except ClientError as exc:
            raise self._client_error(what, exc) from None
        except NoCredentialsError:
            raise AuthError(
                f"{what}: no AWS credentials found",
                provider=self.name,
                hint="set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), as for the AWS CLI",
            ) from None
        except ParamValidationError as exc:
            raise InvalidRequestError(f"{what}: {exc}", provider=self.name) from None
        except ConnectionError as exc:
            raise ProviderUnavailable(
                f"{what}: could not reach {self.endpoint} ({type(exc).__name__})",
                provider=self.name,
                hint="check the network, AWS_REGION and AWS_ENDPOINT_URL",
            ) from None
        except BotoCoreError as exc:
            raise ProviderUnavailable(f"{what}: {exc}", provider=self.name) from None

    def _client_error(self, what: str, exc: Any) -> ProviderError:
        error = exc.response.get("Error") or {}
        meta = exc.response.get("ResponseMetadata") or {}
        code = str(error.get("Code") or "")
        status = int(meta.get("HTTPStatusCode") or 0) or None
        cls = _BY_CODE.get(code)
        if cls is None:
            cls = ProviderUnavailable if (status or 500) >= 500 else InvalidRequestError
        headers = meta.get("HTTPHeaders") or {}
        return cls(
            f"{what}: {code or status}: {error.get('Message') or 'no message'}",
            provider=self.name,
            status=status,
            code=code or None,
            request_id=meta.get("RequestId"),
            retry_after_s=_retry_after(headers),
        )

    def close(self) -> None:
        for client in self._clients.values():
            close = getattr(client, "close", None)
            if callable(close):
                close()
        self._clients.clear()


def _retry_after(headers: dict[str, str]) -> float | None:
    """The pause the server asked for: ``retry-after-ms`` (milliseconds) first, else ``retry-after`` (seconds)."""
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        try:
            return float(value) / scale if value is not None else None
        except ValueError:
            continue
    return None
