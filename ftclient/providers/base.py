"""The provider protocol: what the core needs from a hosted fine-tuning service.

The core (jobs, evaluation) speaks only in the types below; an adapter translates them to and from its
provider's API and turns every provider or transport failure into an ``ftclient.errors.ProviderError``
subclass, keeping the request id. Nothing outside an adapter sees a provider SDK type.

Statuses are normalised to OpenAI's vocabulary (``JOB_STATUSES``); the provider's own word is kept in
``JobInfo.raw_status`` so nothing is lost in translation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

JobStatus = Literal[
    "validating_files", "queued", "running", "pausing", "paused", "succeeded", "failed", "cancelled", "unknown"
]
JOB_STATUSES: tuple[str, ...] = (
    "validating_files",
    "queued",
    "running",
    "pausing",
    "paused",
    "succeeded",
    "failed",
    "cancelled",
    "unknown",
)
TERMINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled"})

Method = Literal["supervised", "dpo"]


@dataclass(frozen=True)
class Capabilities:
    """What a provider can do, so the core can refuse early instead of failing at the provider."""

    methods: frozenset[str]
    pause_resume: bool = False
    checkpoints: bool = True
    batch: bool = False
    """Has a half-price asynchronous batch inference API."""
    needs_deployment: bool = False
    """A tuned model must be deployed on an endpoint (billed by time) before it answers."""
    job_metadata: bool = False
    """Jobs carry free key/value metadata that can be listed by (used for idempotent create)."""
    moderation: bool = False
    max_file_bytes: int = 512 * 1024**2
    """Largest file the simple upload takes; larger ones use the multipart flow."""
    max_upload_bytes: int = 8 * 1024**3
    model_listing: bool = False
    """Lists its models, tuned ones included (``ModelListingProvider``), with shutdown dates where given."""
    training_metrics: bool = True
    """A job's events carry its training metrics (step, loss) while it runs."""


@dataclass(frozen=True)
class RemoteFile:
    id: str
    bytes: int
    filename: str
    purpose: str
    status: str
    """``uploaded``, ``processed`` or ``error`` (providers without processing report ``processed``)."""
    created_at: int
    status_details: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Fields of the provider's file object that ftclient has no name for, kept as sent."""


@dataclass(frozen=True)
class JobSpec:
    """Everything needed to create one job. ``hyperparameters`` uses ftclient's names:
    ``n_epochs``, ``batch_size``, ``learning_rate_multiplier``, ``beta`` (DPO) and provider-specific
    extras (``lora``, ``warmup_ratio``, ``train_on_inputs``, ...); absent means the provider's default."""

    model: str
    training_file: str
    validation_file: str | None = None
    method: str = "supervised"
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    suffix: str | None = None
    seed: int | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    wandb_project: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class JobInfo:
    id: str
    provider: str
    status: str
    """One of ``JOB_STATUSES``."""
    model: str
    created_at: int
    raw_status: str = ""
    fine_tuned_model: str | None = None
    finished_at: int | None = None
    estimated_finish: int | None = None
    trained_tokens: int | None = None
    training_file: str | None = None
    validation_file: str | None = None
    method: str = "supervised"
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    suffix: str | None = None
    seed: int | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    result_files: Sequence[str] = ()
    error_code: str | None = None
    error_message: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Keys the provider sent that ftclient has no field for (kept, not dropped: e.g. OpenAI's
    ``usage_metrics``, ``shared_with_openai``, ``eval_id``)."""

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


@dataclass(frozen=True)
class JobEvent:
    id: str
    created_at: int
    level: str
    message: str
    type: str = "message"
    data: Mapping[str, Any] = field(default_factory=dict)
    """For ``type="metrics"``: ``step``, ``total_steps``, ``train_loss``, ``valid_loss``, ..."""


@dataclass(frozen=True)
class Checkpoint:
    id: str
    created_at: int
    model: str
    """The checkpoint's model name, usable for inference like the final model."""
    step: int
    metrics: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class RateLimitState:
    """What the provider's rate-limit headers said on the last response (None = not sent)."""

    limit_requests: int | None = None
    remaining_requests: int | None = None
    reset_requests_s: float | None = None
    limit_tokens: int | None = None
    remaining_tokens: int | None = None
    reset_tokens_s: float | None = None


@dataclass(frozen=True)
class ChatRequest:
    model: str
    messages: Sequence[Mapping[str, Any]]
    max_tokens: int | None = None
    temperature: float = 0.0
    seed: int | None = 0
    tools: Sequence[Mapping[str, Any]] | None = None

    def body(self) -> dict[str, Any]:
        """The chat-completions request body: OpenAI's shape, which Together and the Batch API share."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [dict(m) for m in self.messages],
            "temperature": self.temperature,
        }
        if self.max_tokens is not None:
            body["max_tokens"] = self.max_tokens
        if self.seed is not None:
            body["seed"] = self.seed
        if self.tools:
            body["tools"] = [dict(tool) for tool in self.tools]
        return body


@dataclass(frozen=True)
class ChatResult:
    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    request_id: str | None = None
    finish_reason: str | None = None
    rate_limits: RateLimitState = field(default_factory=RateLimitState)


@dataclass(frozen=True)
class ModerationResult:
    flagged: bool
    categories: Sequence[str] = ()


@dataclass(frozen=True)
class BatchInfo:
    id: str
    status: str
    """``validating``, ``in_progress``, ``finalizing``, ``completed``, ``failed``, ``expired``,
    ``cancelling``, ``cancelled``."""
    input_file: str
    output_file: str | None = None
    error_file: str | None = None
    total: int = 0
    completed: int = 0
    failed: int = 0
    error_code: str | None = None
    """The first of the batch's own errors (``errors.data[0].code``) when it failed as a whole."""
    error_message: str | None = None


@dataclass(frozen=True)
class Endpoint:
    """A dedicated deployment of a model (providers with ``needs_deployment``)."""

    id: str
    model: str
    state: str
    """``PENDING``, ``STARTING``, ``STARTED``, ``STOPPING``, ``STOPPED``, ``ERROR``."""
    hardware: str | None = None
    cost_per_hour_usd: float | None = None
    created_at: int | None = None
    inactive_timeout_min: int | None = None
    name: str | None = None
    """The name requests use as ``model`` to reach this endpoint (differs from ``model`` on Together)."""
    display_name: str | None = None


ProgressCallback = Callable[[int, int], None]
"""Called with (bytes done, bytes total) during an upload."""


@runtime_checkable
class Provider(Protocol):
    """One hosted fine-tuning service. Synchronous except ``chat``, which the evaluation runner awaits."""

    name: str
    capabilities: Capabilities

    # files
    def upload_file(
        self, path: Path, *, purpose: str = "fine-tune", on_progress: ProgressCallback | None = None
    ) -> RemoteFile: ...
    def get_file(self, file_id: str) -> RemoteFile: ...
    def download_file(self, file_id: str) -> bytes: ...

    # jobs
    def create_job(self, spec: JobSpec) -> JobInfo: ...
    def find_jobs(self, metadata: Mapping[str, str]) -> list[JobInfo]:
        """Jobs whose metadata contains every given pair: how a retried create finds its job."""
        ...

    def get_job(self, job_id: str) -> JobInfo: ...
    def list_jobs(self, limit: int = 20) -> list[JobInfo]: ...
    def list_events(self, job_id: str, after: str | None = None) -> list[JobEvent]:
        """Events oldest first; with ``after``, only those newer than that event id."""
        ...

    def list_checkpoints(self, job_id: str) -> list[Checkpoint]: ...
    def cancel_job(self, job_id: str) -> JobInfo: ...
    def pause_job(self, job_id: str) -> JobInfo: ...
    def resume_job(self, job_id: str) -> JobInfo: ...

    # inference
    async def chat(self, request: ChatRequest) -> ChatResult:
        """One completion, with no retries of its own: the evaluation runner is the retry layer."""
        ...

    def moderate(self, texts: Sequence[str]) -> list[ModerationResult]: ...

    def close(self) -> None: ...


@runtime_checkable
class BatchProvider(Protocol):
    """Providers with ``capabilities.batch``: asynchronous, discounted bulk inference."""

    def create_batch(
        self, input_file_id: str, *, endpoint: str = "/v1/chat/completions", metadata: Mapping[str, str] | None = None
    ) -> BatchInfo: ...
    def get_batch(self, batch_id: str) -> BatchInfo: ...
    def cancel_batch(self, batch_id: str) -> BatchInfo: ...


@dataclass(frozen=True)
class ModelInfo:
    """A model as the provider's models listing shows it."""

    id: str
    created_at: int | None = None
    owned_by: str | None = None
    tuned: bool = False
    base_model: str | None = None
    """For a tuned model, the base it was tuned from (as its name or the provider says)."""
    shutdown_date: str | None = None
    """``YYYY-MM-DD`` when the provider announces one (OpenAI's ``shutdown_date``, Azure's
    ``deprecation.inference``), else None: the day the model stops answering."""
    fine_tune_shutdown_date: str | None = None
    """``YYYY-MM-DD`` after which the model can no longer be tuned (Azure's ``deprecation.fine_tune``)."""
    date_field: str = "shutdown_date"
    """The provider's own name for the field ``shutdown_date`` was read from (its source)."""


@runtime_checkable
class ModelListingProvider(Protocol):
    """Providers with ``capabilities.model_listing``."""

    def list_models(self) -> list[ModelInfo]: ...


@runtime_checkable
class DeployingProvider(Protocol):
    """Providers with ``capabilities.needs_deployment``: tuned models answer only once deployed."""

    name: str

    def create_endpoint(
        self, model: str, *, hardware: str | None = None, inactive_timeout_min: int = 30
    ) -> Endpoint: ...
    def get_endpoint(self, endpoint_id: str) -> Endpoint: ...
    def list_endpoints(self) -> list[Endpoint]: ...
    def stop_endpoint(self, endpoint_id: str) -> Endpoint: ...
    def delete_endpoint(self, endpoint_id: str) -> None: ...


@dataclass(frozen=True)
class UploadSessionInfo:
    """A provider-side multipart upload session (OpenAI's Uploads API)."""

    id: str
    bytes: int
    part_size: int
    expires_at: int | None
    status: str
    created_at: int | None = None
    """The provider's clock when it opened the session: with ``expires_at`` it gives the session's lifetime,
    which is what a client on another clock can rely on."""


@runtime_checkable
class MultipartUploadProvider(Protocol):
    """Providers whose large files go up in parts (parallel, resumable while the session lives).

    The core drives the parts (and remembers their ids in the registry, to resume); the adapter only
    translates each step to its API.
    """

    def start_upload(
        self, *, filename: str, bytes: int, purpose: str = "fine-tune", mime_type: str = "text/jsonl"
    ) -> UploadSessionInfo: ...
    def upload_part(self, upload_id: str, data: bytes) -> str:
        """Send one part; returns its part id."""
        ...

    def complete_upload(self, upload_id: str, part_ids: Sequence[str], *, md5: str | None = None) -> RemoteFile: ...
    def cancel_upload(self, upload_id: str) -> None: ...


@runtime_checkable
class RequestPreview(Protocol):
    """Providers that can show the exact requests they would send (``launch --dry-run``) without sending."""

    endpoint: str
    """Base URL the requests go to (no credentials)."""

    def preview_upload(self, path: Path, *, purpose: str = "fine-tune",
                       filename: str | None = None) -> list[dict[str, Any]]: ...
    def preview_create(self, spec: JobSpec) -> dict[str, Any]: ...


@runtime_checkable
class NamedFileProvider(Protocol):
    """Providers whose files can be found again by name: ftclient names each upload after its content
    (``train-<sha256 prefix>.jsonl``), so a file that reached the provider just before a crash is
    found and reused instead of being sent twice."""

    def upload_named(self, path: Path, *, filename: str, purpose: str = "fine-tune",
                     on_progress: ProgressCallback | None = None) -> RemoteFile: ...
    def find_files(self, filename: str, *, purpose: str = "fine-tune") -> list[RemoteFile]:
        """Files with exactly this name and purpose, newest first."""
        ...


@runtime_checkable
class SpecChecks(Protocol):
    """Providers with rules of their own that a job spec must meet, checked before anything is uploaded:
    offline (names, lengths) when a launch is planned, online (the provider's published per-model limits)
    just before the upload."""

    def check_spec(self, spec: JobSpec, *, online: bool) -> None:
        """Raise ``UserInputError`` (or a ``ProviderError``) for what the provider would refuse."""
        ...


@runtime_checkable
class PriceConfirmation(Protocol):
    """Providers whose own price estimate can advise against a job (Together's ``allowed_to_proceed``);
    the adapter refuses such a job and says why unless told to proceed (``launch --yes``)."""

    def proceed_over_estimate(self) -> None: ...


@runtime_checkable
class ServerlessServing(Protocol):
    """Providers that serve some tuned models without a dedicated endpoint (Together: LoRA adapters on
    certain bases), so evaluating them needs no deployment."""

    def serverless_model(self, job: JobInfo) -> str | None:
        """The model name to ask for ``job``'s tuned model without deploying it; None when it needs an
        endpoint."""
        ...


@runtime_checkable
class DeployedServing(Protocol):
    """Providers where some models answer only through a deployment of their own, also outside ``evaluate``
    (Azure: a tuned model, or a checkpoint): ``capture`` deploys such a model while it asks it."""

    def served_through_deployment(self, model: str) -> bool: ...


@runtime_checkable
class NativeFormatProvider(Protocol):
    """Providers whose jobs read a JSONL schema of their own (Bedrock's conversation schema, Vertex's
    ``contents``): ``launch`` converts the canonical chat JSONL with the converter registered under the name
    returned here (``ftclient.dataset.formats``), validates the converted file by the provider's rules, and
    uploads that file instead."""

    def dataset_format(self, model: str, method: str) -> str | None:
        """The schema ``model`` trains on with ``method``; None when it takes the chat JSONL as it is."""
        ...
