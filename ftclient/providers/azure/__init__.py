"""Azure OpenAI behind ftclient's provider protocol: the OpenAI adapter with the SDK's ``AzureOpenAI`` client
for the data plane, and Azure Resource Manager (``management.py``, over ``httpx2``) for deployments.

Azure's differences from OpenAI, each handled here: an ``api-version`` on every data-plane call
(``OPENAI_API_VERSION``), the ``api-key`` header (``AZURE_OPENAI_API_KEY``), a training type on job create
(``trainingType``: standard, globalstandard or developer; ``AZURE_TRAINING_TYPE`` or ``JobSpec.extra``), job
states ``created``/``pending`` (mapped, the raw word kept in ``raw_status``), and a tuned model that answers
only through a deployment, which bills an hourly hosting fee until it is deleted (``ftclient.deploy`` deletes
it after an evaluation). Chat requests name the deployment; the SDK sends them to
``/openai/deployments/{name}/chat/completions``.

Environment: ``AZURE_OPENAI_ENDPOINT`` (the resource URL without a path; for the emulator its base URL),
``AZURE_OPENAI_API_KEY`` (or an Entra ID token in ``AZURE_OPENAI_AD_TOKEN``; with neither, azure-identity's
default credential when installed, its token refreshed before it expires), ``OPENAI_API_VERSION``
(default 2024-10-21, the newest stable data-plane spec), ``AZURE_SUBSCRIPTION_ID``, ``AZURE_RESOURCE_GROUP``,
``AZURE_OPENAI_ACCOUNT``, ``AZURE_MANAGEMENT_URL`` (default https://management.azure.com) and
``AZURE_MANAGEMENT_TOKEN`` (the ARM token; else azure-identity's default credential when installed).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import openai

from ftclient.errors import ProviderError, UserInputError
from ftclient.providers.azure import wire
from ftclient.providers.azure.identity import DATA_SCOPE, RefreshingToken
from ftclient.providers.azure.management import AzureManagement
from ftclient.providers.base import Capabilities, Endpoint, JobInfo, JobSpec, ModelInfo, ModerationResult
from ftclient.providers.credentials import checked_api_key
from ftclient.providers.openai import OpenAIProvider, _async_http_client, _http_client
from ftclient.providers.openai.wire import create_body
from ftclient.providers.retries import request_settings, scrub

if TYPE_CHECKING:
    from ftclient.config import Settings

DEFAULT_API_VERSION = "2024-10-21"


class AzureProvider(OpenAIProvider):
    """Azure OpenAI fine-tuning (files, jobs, events, checkpoints, cancel) and deployments."""

    name = "azure"
    base_url_var = "AZURE_OPENAI_ENDPOINT"
    capabilities = Capabilities(
        methods=frozenset({"supervised", "dpo"}),
        pause_resume=False,  # the v1 API has pause/resume; the stable 2024-10-21 API does not
        checkpoints=True,
        batch=False,
        needs_deployment=True,
        job_metadata=True,  # metadata is in the v1 spec (A-SPEC OpenAI.CreateFineTuningJobRequest)
        moderation=False,
        max_file_bytes=wire.MAX_FILE_BYTES - 1,
        max_upload_bytes=wire.MAX_FILE_BYTES - 1,
        model_listing=True,  # GET /openai/models with deprecation.{fine_tune,inference} (stable spec, Model)
    )

    def __init__(
        self,
        *,
        api_key: str | None = None,
        ad_token: str | None = None,
        azure_endpoint: str | None = None,
        api_version: str | None = None,
        training_type: str | None = None,
        management: AzureManagement | None = None,
        max_retries: int = 4,
        timeout_s: float = 120.0,
        retry_backoff_s: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        credential: Any | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            api_key=api_key,
            base_url=azure_endpoint or "https://<resource>.openai.azure.com",
            max_retries=max_retries,
            timeout_s=timeout_s,
            retry_backoff_s=retry_backoff_s,
            sleep=sleep,
        )
        self._configured = bool(azure_endpoint)
        self._ad_token = ad_token
        self._token_source = (
            None if api_key or ad_token else RefreshingToken(DATA_SCOPE, credential=credential, clock=clock)
        )
        self.api_version = api_version or DEFAULT_API_VERSION
        kind = (training_type or wire.DEFAULT_TRAINING_TYPE).lower()
        if kind not in wire.TRAINING_TYPES:
            raise UserInputError(
                f"training type {training_type!r} is not one Azure offers",
                hint=f"set AZURE_TRAINING_TYPE to one of {', '.join(wire.TRAINING_TYPES)}",
            )
        self.training_type = kind
        self.management = management or AzureManagement(
            token=None,
            management_url=None,
            subscription=None,
            resource_group=None,
            account=None,
            max_retries=max_retries,
            timeout_s=timeout_s,
            retry_backoff_s=retry_backoff_s,
        )

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> AzureProvider:
        env = os.environ
        requests = request_settings(settings)
        return cls(
            api_key=env.get("AZURE_OPENAI_API_KEY") or None,
            ad_token=env.get("AZURE_OPENAI_AD_TOKEN") or None,
            azure_endpoint=env.get("AZURE_OPENAI_ENDPOINT") or None,
            api_version=env.get("OPENAI_API_VERSION") or None,
            training_type=env.get("AZURE_TRAINING_TYPE") or None,
            management=AzureManagement(
                token=env.get("AZURE_MANAGEMENT_TOKEN") or None,
                management_url=env.get("AZURE_MANAGEMENT_URL") or None,
                subscription=env.get("AZURE_SUBSCRIPTION_ID") or None,
                resource_group=env.get("AZURE_RESOURCE_GROUP") or None,
                account=env.get("AZURE_OPENAI_ACCOUNT") or None,
                **requests,
            ),
            **requests,
        )

    @property
    def is_official(self) -> bool:
        return False  # OpenAI's own deadlines (api.openai.com) do not apply to Azure resources

    # -- clients ---------------------------------------------------------------------------------

    def _key(self) -> str:
        if not self._configured:
            raise UserInputError(
                "no Azure OpenAI endpoint: AZURE_OPENAI_ENDPOINT is not set",
                hint="export AZURE_OPENAI_ENDPOINT=https://<resource>.openai.azure.com (no path)",
            )
        if self._api_key:
            return checked_api_key(self._api_key, "AZURE_OPENAI_API_KEY", provider=self.name)
        return ""

    def _credentials(self) -> dict[str, Any]:
        """The client's credential: the key (sent as ``api-key``), a fixed Entra ID token, or azure-identity's
        refreshing token provider (both sent as a bearer token). A missing credential fails here, before any
        request, with how to provide one."""
        key = self._key()
        if key:
            return {"api_key": key}
        if self._ad_token:
            return {"azure_ad_token": checked_api_key(self._ad_token, "AZURE_OPENAI_AD_TOKEN", provider=self.name)}
        assert self._token_source is not None
        self._token_source()
        return {"azure_ad_token_provider": self._token_source}

    def _scrub(self, text: str) -> str:
        current = self._token_source.current if self._token_source is not None else None
        return scrub(scrub(scrub(text, self._api_key), self._ad_token), current)

    def _client(self) -> openai.OpenAI:
        if self._sync is None:
            self._sync = openai.AzureOpenAI(
                **self._credentials(),
                azure_endpoint=self.endpoint,
                api_version=self.api_version,
                max_retries=0,
                timeout=self.timeout_s,
                http_client=_http_client([self._api_key, self._ad_token]),
            )
        return self._sync

    def _aclient(self) -> openai.AsyncOpenAI:
        import asyncio

        loop = asyncio.get_running_loop()
        if self._async is None or self._async_loop is not loop:
            self._async_loop = loop
            self._async = openai.AsyncAzureOpenAI(
                **self._credentials(),
                azure_endpoint=self.endpoint,
                api_version=self.api_version,
                max_retries=0,
                timeout=self.timeout_s,
                http_client=_async_http_client([self._api_key, self._ad_token]),
            )
        return self._async

    def close(self) -> None:
        super().close()
        self.management.close()

    # -- jobs ------------------------------------------------------------------------------------

    def _body(self, spec: JobSpec) -> dict[str, Any]:
        body = create_body(spec)
        body.setdefault("trainingType", self.training_type)
        return body

    def preview_create(self, spec: JobSpec) -> dict[str, Any]:
        url = f"{self.endpoint}/openai/fine_tuning/jobs?api-version={self.api_version}"
        return {"method": "POST", "url": url, "json": self._body(spec)}

    def create_job(self, spec: JobSpec) -> JobInfo:
        """One create request, never resent here (``ftclient.launching.create`` finds a lost one by metadata)."""
        body = self._body(spec)
        extra = {k: body.pop(k) for k in ("trainingType",) if k in body}
        job = self._call(
            f"creating a fine-tuning job on {spec.model}",
            lambda: self._client().fine_tuning.jobs.create(**body, extra_body=extra),
            retry=False,
        )
        return self._job_info(job.to_dict())

    def _job_info(self, data: Mapping[str, Any]) -> JobInfo:
        info = super()._job_info(data)
        raw = str(data.get("status") or "unknown")
        status = wire.azure_status(raw)
        failed = status == "failed"
        error = data.get("error") if isinstance(data.get("error"), dict) else {}
        return replace(
            info,
            status=status,
            raw_status=raw,
            error_code=(error or {}).get("code") if failed else None,
            error_message=(error or {}).get("message") if failed else None,
        )

    def _status_error(self, exc: openai.APIStatusError, what: str) -> ProviderError:
        """OpenAI's translation with Azure's hints: its key variable, and a missing deployment for a 404."""
        error = super()._status_error(exc, what)
        if exc.status_code == 401:
            error.hint = "check AZURE_OPENAI_API_KEY (Keys and Endpoint page of the resource) and AZURE_OPENAI_ENDPOINT"
        elif exc.status_code == 404 and exc.code == "DeploymentNotFound":
            error.hint = (
                "Azure answers only through a deployment: `ftclient deploy JOB` creates one, and chat requests "
                "name the deployment, not the model"
            )
        elif exc.status_code == 404:
            error.hint = "check AZURE_OPENAI_ENDPOINT (the resource URL, no path) and OPENAI_API_VERSION"
        return error

    def moderate(self, texts: Sequence[str]) -> list[ModerationResult]:
        raise UserInputError(
            "Azure OpenAI has no moderation endpoint ftclient can call",
            hint="Azure screens training data itself (its safety evaluation); drop --moderate for azure",
        )

    # -- models ----------------------------------------------------------------------------------

    def list_models(self) -> list[ModelInfo]:
        """Base models and the resource's fine-tunes, each with the day it stops answering
        (``deprecation.inference``) and, for a base, the day it stops being tunable (``deprecation.fine_tune``)."""
        items = self._call("listing models", lambda: [m.to_dict() for m in self._client().models.list()])
        return [wire.model_info_from(item) for item in items]

    def model_shutdown_date(self, model: str) -> dt.date | None:
        """For a launch: the last day ``model`` can be tuned (``deprecation.fine_tune``; a fine-tune, which has
        none, is tuned further while its base can be), else the day it stops answering; None when the API names
        neither or cannot be asked (nothing is then said)."""
        try:
            data = self._call(f"reading model {model}", lambda: self._client().models.retrieve(model).to_dict())
        except ProviderError:
            return None
        info = wire.model_info_from(data)
        if info.fine_tune_shutdown_date is None and info.tuned and info.base_model not in (None, model):
            return self.model_shutdown_date(str(info.base_model))
        day = info.fine_tune_shutdown_date or info.shutdown_date
        return dt.date.fromisoformat(day) if day else None

    def served_through_deployment(self, model: str) -> bool:
        """A fine-tune or a checkpoint answers only through a deployment of its own (a base model through
        the deployment the resource already has for it, named as the model)."""
        return ".ft-" in model or model.startswith("ftchkpt-")

    # -- deployments (management plane) ----------------------------------------------------------

    def create_endpoint(self, model: str, *, hardware: str | None = None, inactive_timeout_min: int = 30) -> Endpoint:
        return self.management.create_endpoint(model, hardware=hardware, inactive_timeout_min=inactive_timeout_min)

    def get_endpoint(self, endpoint_id: str) -> Endpoint:
        return self.management.get_endpoint(endpoint_id)

    def list_endpoints(self) -> list[Endpoint]:
        return self.management.list_endpoints()

    def stop_endpoint(self, endpoint_id: str) -> Endpoint:
        return self.management.stop_endpoint(endpoint_id)

    def delete_endpoint(self, endpoint_id: str) -> None:
        self.management.delete_endpoint(endpoint_id)

    def hourly_fee(self, model: str, hardware: str | None = None) -> tuple[str, float | None]:
        """(sku, USD per hour) a deployment of ``model`` would bill, shown before anything is created."""
        sku = hardware or wire.default_sku(model)
        return sku, wire.HOSTING_USD_PER_HOUR.get(sku)
