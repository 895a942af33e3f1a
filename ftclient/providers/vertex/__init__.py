"""Google Vertex AI behind ftclient's provider protocol: supervised tuning of Gemini models.

SDKs (the optional extra ``ftclient[vertex]``, imported only here): google-genai for tuning jobs
(``client.tunings``: POST/GET ``v1/projects/*/locations/*/tuningJobs``, ``:cancel``) and for
``generateContent``; google-cloud-storage for the training files. Endpoints go over aiplatform v1's REST API
(``serving``), which google-genai does not cover.

Settings: ``GOOGLE_CLOUD_PROJECT``, ``GOOGLE_CLOUD_LOCATION`` (default ``us-central1``),
``FTCLIENT_VERTEX_BUCKET`` (the bucket training files go to). Credentials: Application Default Credentials
(``gcloud auth application-default login``, ``GOOGLE_APPLICATION_CREDENTIALS``, or the attached service
account). ``FTCLIENT_VERTEX_ENDPOINT`` points both SDKs and the REST calls at another server (the local
emulator); no Google credentials are used then.

Jobs carry ftclient's metadata as labels (Vertex copies them to the tuned model and its endpoint) and as JSON
in the description; ``find_jobs`` lists by label, which is how a create whose answer was lost is found
before anything is sent again. Never retried here: job creation and ``chat``.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ftclient.errors import InvalidRequestError, UserInputError
from ftclient.providers.base import (
    Capabilities,
    ChatRequest,
    ChatResult,
    Checkpoint,
    JobEvent,
    JobInfo,
    JobSpec,
    ModerationResult,
)
from ftclient.providers.retries import RetryLayer, request_settings
from ftclient.providers.vertex import sdk, wire
from ftclient.providers.vertex.files import VertexFiles
from ftclient.providers.vertex.serving import VertexServing, refuse

if TYPE_CHECKING:
    from ftclient.config import Settings

DEFAULT_LOCATION = "us-central1"
EMULATOR_TOKEN = "ftclient-emulator"
"""google-genai cannot send a request without a bearer token; against the emulator it sends this one."""
FORMAT = "gemini"


class VertexProvider(VertexFiles, VertexServing):
    """Tuning jobs, Cloud Storage files, endpoints and generateContent on Vertex AI."""

    capabilities = Capabilities(
        methods=frozenset({"supervised"}),
        pause_resume=False,
        checkpoints=False,
        batch=False,
        needs_deployment=True,  # the tuned model answers from an endpoint, which ftclient tears down after use
        job_metadata=True,  # labels, see find_jobs
        moderation=False,
        max_file_bytes=1024**3,  # "Maximum training dataset file size: 1GB for JSONL" (gemini-tuning page)
        max_upload_bytes=1024**3,
        training_metrics=False,  # the tuning job API reports states and data statistics, no loss per step
    )

    def __init__(
        self,
        *,
        project: str | None,
        location: str | None = None,
        bucket: str | None = None,
        endpoint: str | None = None,
        max_retries: int = 4,
        timeout_s: float = 120.0,
        retry_backoff_s: float = 0.5,
        poll_s: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        # the SDKs first: without the extra, what to install is the first thing to fix, not the settings
        genai = sdk.load("google.genai")  # fail now, with the install hint, not halfway through a launch
        sdk.load("google.cloud.storage")
        if not project:
            raise UserInputError("no Google Cloud project: GOOGLE_CLOUD_PROJECT is not set",
                                 hint="export GOOGLE_CLOUD_PROJECT=<your project id>")
        VertexServing.__init__(self, api_key=None, max_retries=max_retries, timeout_s=timeout_s,
                               retry_backoff_s=retry_backoff_s, sleep=sleep)
        self.project = project
        self.location = location or DEFAULT_LOCATION
        self.bucket_name = bucket
        self.poll_s = poll_s
        self._deploying = {}
        self.emulated = bool(endpoint)
        self.endpoint = (endpoint or f"https://{self.location}-aiplatform.googleapis.com").rstrip("/")
        self.storage_endpoint = (endpoint or "https://storage.googleapis.com").rstrip("/")
        self._genai_client: Any = None
        self._storage_client: Any = None
        self._credentials: Any = None
        self._token = self._access_token
        self._genai = genai

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> VertexProvider:
        env = os.environ
        return cls(
            project=env.get("GOOGLE_CLOUD_PROJECT") or None,
            location=env.get("GOOGLE_CLOUD_LOCATION") or None,
            bucket=env.get("FTCLIENT_VERTEX_BUCKET") or None,
            endpoint=env.get("FTCLIENT_VERTEX_ENDPOINT") or None,
            **request_settings(settings),
            poll_s=settings.poll_interval_s if settings else 5.0,
        )

    # -- clients -----------------------------------------------------------------------------------
    def _google_credentials(self) -> Any:
        if self._credentials is None:
            if self.emulated:
                oauth2 = sdk.load("google.oauth2.credentials")
                self._credentials = oauth2.Credentials(token=EMULATOR_TOKEN)
            else:
                auth = sdk.load("google.auth")
                self._credentials, _ = sdk.call("loading Application Default Credentials", lambda: auth.default(
                    scopes=["https://www.googleapis.com/auth/cloud-platform"]), endpoint=self.endpoint)
        return self._credentials

    def _access_token(self) -> str | None:
        if self.emulated:
            return None
        credentials = self._google_credentials()
        if not credentials.valid:
            requests = sdk.load("google.auth.transport.requests")
            sdk.call("refreshing the Google access token", lambda: credentials.refresh(requests.Request()),
                     endpoint=self.endpoint)
        return str(credentials.token)

    @property
    def _client_genai(self) -> Any:
        if self._genai_client is None:
            types = sdk.load("google.genai.types")
            options = types.HttpOptions(api_version="v1", timeout=int(self.timeout_s * 1000),
                                        base_url=self.endpoint if self.emulated else None)
            self._genai_client = self._genai.Client(vertexai=True, project=self.project, location=self.location,
                                                    credentials=self._google_credentials(), http_options=options)
        return self._genai_client

    @property
    def _storage(self) -> Any:
        if self._storage_client is None:
            storage = sdk.load("google.cloud.storage")
            if self.emulated:
                credentials = sdk.load("google.auth.credentials").AnonymousCredentials()
                self._storage_client = storage.Client(project=self.project, credentials=credentials,
                                                      client_options={"api_endpoint": self.storage_endpoint})
            else:
                self._storage_client = storage.Client(project=self.project, credentials=self._google_credentials())
        return self._storage_client

    def _retry(self, what: str, fn: Callable[[], Any]) -> Any:
        """The one retry layer of an idempotent SDK call."""
        return RetryLayer(self.max_retries, self.retry_backoff_s, self._sleep).run(
            lambda: sdk.call(what, fn, endpoint=self.endpoint)
        )

    def _types(self) -> Any:
        return sdk.load("google.genai.types")

    def _job_name(self, job_id: str) -> str:
        return job_id if job_id.startswith("projects/") else f"{self.parent}/tuningJobs/{job_id}"

    # -- native format -----------------------------------------------------------------------------
    def dataset_format(self, model: str, method: str) -> str | None:
        """Gemini tuning reads ``contents``/``systemInstruction`` lines (dataset/formats/vertex.py)."""
        return FORMAT

    # -- jobs --------------------------------------------------------------------------------------
    def check_spec(self, spec: JobSpec, *, online: bool) -> None:
        from ftclient.pricing import known_models

        if spec.method != "supervised":
            raise UserInputError(f"Vertex AI tunes Gemini with supervised tuning here, not {spec.method!r}",
                                 hint="drop --method, or pick another provider for DPO")
        if wire.short_id(spec.model) not in known_models("vertex"):
            raise UserInputError(f"{spec.model} is not a Gemini model ftclient knows Vertex tunes",
                                 hint=f"use one of: {', '.join(known_models('vertex'))}")
        for key in spec.hyperparameters:
            if key not in {"n_epochs", "learning_rate_multiplier", "adapter_size"}:
                raise UserInputError(f"Vertex AI has no hyperparameter {key!r}",
                                     hint="Vertex takes epochs, the learning-rate multiplier and the adapter size")
        if spec.seed is not None:
            raise UserInputError("Vertex AI's supervised tuning takes no training seed", hint="drop --seed")
        if spec.wandb_project:
            raise UserInputError("Vertex AI reports tuning metrics to Vertex AI Experiments, not Weights & Biases",
                                 hint="drop --wandb-project")
        if spec.suffix and len(spec.suffix) > 128:
            # cloud.google.com/vertex-ai/docs/general/resource-naming: model names are at most 128 characters
            raise UserInputError(f"suffix of {len(spec.suffix)} characters: Vertex names a model in at most 128",
                                 hint="shorten --suffix")
        if not self.bucket_name:
            raise UserInputError("no Cloud Storage bucket for the training files: FTCLIENT_VERTEX_BUCKET is not set",
                                 hint="export FTCLIENT_VERTEX_BUCKET=<a bucket in the same project>")

    def _config(self, spec: JobSpec) -> Any:
        types = self._types()
        hyper = spec.hyperparameters
        config: dict[str, Any] = {
            "labels": wire.labels_of(spec.metadata) or None,
            "description": wire.description_of(spec.metadata) if spec.metadata else None,
            "tuned_model_display_name": spec.suffix or None,
            "epoch_count": int(hyper["n_epochs"]) if hyper.get("n_epochs") not in (None, "auto") else None,
            "learning_rate_multiplier": float(hyper["learning_rate_multiplier"])
            if hyper.get("learning_rate_multiplier") not in (None, "auto") else None,
            "adapter_size": hyper.get("adapter_size"),
        }
        if spec.validation_file:
            config["validation_dataset"] = types.TuningValidationDataset(gcs_uri=spec.validation_file)
        return types.CreateTuningJobConfig(**{k: v for k, v in config.items() if v is not None})

    def preview_create(self, spec: JobSpec) -> dict[str, Any]:
        body: dict[str, Any] = {
            "baseModel": spec.model,
            "supervisedTuningSpec": {"trainingDatasetUri": spec.training_file,
                                     **({"validationDatasetUri": spec.validation_file} if spec.validation_file else {}),
                                     "hyperParameters": {k: v for k, v in {
                                         "epochCount": spec.hyperparameters.get("n_epochs"),
                                         "learningRateMultiplier": spec.hyperparameters.get("learning_rate_multiplier"),
                                         "adapterSize": spec.hyperparameters.get("adapter_size")}.items()
                                         if v not in (None, "auto")}},
            "labels": wire.labels_of(spec.metadata),
            "description": wire.description_of(spec.metadata),
        }
        if spec.suffix:
            body["tunedModelDisplayName"] = spec.suffix
        return {"method": "POST", "url": f"{self.endpoint}/v1/{self.parent}/tuningJobs", "json": body}

    def create_job(self, spec: JobSpec) -> JobInfo:
        """One ``tuningJobs.create``, never resent here (``launching.create`` looks for the job by its run
        label before it tries again)."""
        types = self._types()
        client = self._client_genai
        with warnings.catch_warnings():  # google-genai marks its tuning calls experimental on every call
            warnings.simplefilter("ignore")
            job = sdk.call(
                f"creating a tuning job on {spec.model}",
                lambda: client.tunings.tune(base_model=spec.model,
                                            training_dataset=types.TuningDataset(gcs_uri=spec.training_file),
                                            config=self._config(spec)),
                endpoint=self.endpoint,
            )
        return wire.job_info(job)

    def find_jobs(self, metadata: Mapping[str, str]) -> list[JobInfo]:
        """Jobs labelled with every given pair (``tuningJobs.list`` with a label filter, checked again here)."""
        wanted = wire.labels_of(metadata)
        query = " AND ".join(f'labels.{k}="{v}"' for k, v in sorted(wanted.items()))
        jobs = self._list(query, 200)
        return [j for j in jobs if all(wire.labels_of(j.metadata).get(k) == v for k, v in wanted.items())]

    def _list(self, query: str | None, limit: int) -> list[JobInfo]:
        types = self._types()
        client = self._client_genai

        def page() -> list[Any]:
            pager = client.tunings.list(config=types.ListTuningJobsConfig(page_size=min(limit, 100), filter=query))
            found: list[Any] = []
            for job in pager:
                found.append(job)
                if len(found) >= limit:
                    break
            return found

        jobs = [wire.job_info(j) for j in self._retry("listing tuning jobs", page)]
        jobs.sort(key=lambda j: j.created_at, reverse=True)
        return jobs

    def get_job(self, job_id: str) -> JobInfo:
        client = self._client_genai
        name = self._job_name(job_id)
        return wire.job_info(self._retry(f"reading tuning job {wire.short_id(name)}",
                                         lambda: client.tunings.get(name=name)))

    def list_jobs(self, limit: int = 20) -> list[JobInfo]:
        return self._list(None, limit)

    def list_events(self, job_id: str, after: str | None = None) -> list[JobEvent]:
        """Vertex keeps no event log for a tuning job (its loss curves go to Vertex AI Experiments): the events
        are the job's milestones from its timestamps, data statistics and outcome."""
        info = self.get_job(job_id)
        events = _milestones(info)
        ids = [e.id for e in events]
        return events[ids.index(after) + 1:] if after in ids else events

    def list_checkpoints(self, job_id: str) -> list[Checkpoint]:
        return []

    def cancel_job(self, job_id: str) -> JobInfo:
        client = self._client_genai
        name = self._job_name(job_id)
        self._retry(f"cancelling tuning job {wire.short_id(name)}", lambda: client.tunings.cancel(name=name))
        return self.get_job(name)

    def pause_job(self, job_id: str) -> JobInfo:
        raise refuse("cannot pause a tuning job; cancel it, or let it finish")

    def resume_job(self, job_id: str) -> JobInfo:
        raise refuse("cannot resume a tuning job; launch it again")

    # -- inference ---------------------------------------------------------------------------------
    async def chat(self, request: ChatRequest) -> ChatResult:
        """One ``generateContent``: on the endpoint for a tuned model (``request.model`` is its resource name),
        on the publisher model for a base. Not retried here: the evaluation runner paces and retries."""
        types = self._types()
        system, contents = wire.contents_of(request.messages)
        config = types.GenerateContentConfig(
            system_instruction=system,
            temperature=request.temperature,
            max_output_tokens=request.max_tokens,
            seed=request.seed,
        )
        client = self._client_genai
        started = time.perf_counter()
        try:
            response = await client.aio.models.generate_content(model=request.model, contents=contents, config=config)
        except Exception as exc:
            raise sdk.translate(f"asking {wire.short_id(request.model)}", exc, endpoint=self.endpoint) from exc
        latency = time.perf_counter() - started
        usage = response.usage_metadata
        candidate = (response.candidates or [None])[0]
        finish = getattr(getattr(candidate, "finish_reason", None), "value", None)
        parts = candidate.content.parts if candidate is not None and candidate.content is not None else None
        text = "".join(p.text or "" for p in parts or [] if not getattr(p, "thought", False))
        return ChatResult(
            text=text,
            model=request.model,
            prompt_tokens=int(usage.prompt_token_count or 0) if usage else 0,
            completion_tokens=int(usage.candidates_token_count or 0) if usage else 0,
            latency_s=latency,
            request_id=response.response_id,
            finish_reason={"STOP": "stop", "MAX_TOKENS": "length"}.get(str(finish), str(finish).lower()
                                                                       if finish else None),
        )

    def moderate(self, texts: Sequence[str]) -> list[ModerationResult]:
        raise InvalidRequestError("Vertex AI has no moderation endpoint ftclient can screen training data with",
                                  provider=self.name, hint="launch without --moderate")

    async def aclose(self) -> None:
        """Close the asynchronous sessions ``chat`` opened on this event loop (the evaluation runner calls this
        before its loop ends); the next use opens new clients."""
        await VertexServing.aclose(self)
        if self._genai_client is not None:
            await self._genai_client.aio.aclose()
            self._genai_client.close()
            self._genai_client = None

    def close(self) -> None:
        VertexServing.close(self)
        if self._genai_client is not None:
            self._genai_client.close()
            self._genai_client = None


def _milestones(info: JobInfo) -> list[JobEvent]:
    events = [JobEvent(id=f"{info.id}:created", created_at=info.created_at, level="info",
                       message=f"Tuning job created on {info.model}")]
    stats = info.extra.get("tuning_data_stats") or {}
    if stats:
        events.append(JobEvent(
            id=f"{info.id}:data", created_at=info.created_at, level="info",
            message=f"Dataset read: {stats.get('examples')} examples, {stats.get('billable_tokens')} billable tokens, "
            f"{stats.get('steps')} steps",
            data={k: int(v) for k, v in stats.items()},
        ))
    if info.terminal:
        when = info.finished_at or info.created_at
        if info.status == "succeeded":
            message = f"Tuning succeeded: {info.fine_tuned_model} on {info.extra.get('endpoint')}"
        else:
            message = f"Tuning {info.status}" + (f": {info.error_message}" if info.error_message else "")
        events.append(JobEvent(id=f"{info.id}:{info.raw_status}", created_at=when,
                               level="error" if info.status == "failed" else "info", message=message))
    return events


