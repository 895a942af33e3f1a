"""The errors ftclient raises, as one tree.

Every error a user can cause or meet carries its data as attributes (paths, line numbers, job ids,
request ids) and a stable ``reference`` name, so the CLI can render it, tests can match it and
docs/errors.md can list it. The core raises these and never prints; the CLI maps them to exit codes in
one table (``ftclient.cli.errors``).

    FtclientError
    ├── UserInputError                  bad input from the user: exit 1, nothing was sent
    │   ├── ConfigError                 settings, flags, ftclient.toml
    │   ├── DatasetError                a data file cannot be read or used (carries problems)
    │   ├── UnknownModelError           a model ftclient has no limits, encoding or price for
    │   ├── ModelShutDownError          a model past its provider's shutdown date
    │   ├── FineTuningClosedError       the provider no longer takes new fine-tuning jobs
    │   ├── UnknownProviderError
    │   └── NotFoundLocallyError        a dataset, job or evaluation the registry does not know
    ├── ProviderError                   the provider answered with an error (carries request_id)
    │   ├── AuthError                   missing or rejected credentials
    │   ├── PermissionError_            the key works but may not do this (e.g. not eligible)
    │   ├── RemoteNotFoundError         a file, job or model the provider does not know
    │   │   └── ModelRetiredError       a model past its shutdown date
    │   ├── RateLimitError              429 that outlived the retries
    │   ├── QuotaExhaustedError         429 for billing or spend limits: final, never retried
    │   ├── ProviderUnavailable         5xx or connection failures that outlived the retries
    │   └── InvalidRequestError         400/422: the provider refused the request's content
    ├── JobFailedError                  a job ended failed or cancelled: exit 3
    ├── WaitTimeout                     a wait ran out of time: exit 4
    ├── Interrupted                     Ctrl-C: exit 130; remote work goes on (the hint says how to re-attach)
    ├── RegistryError                   the local history could not be read or written
    └── EvaluationError                 an evaluation could not run or finish
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar


class FtclientError(Exception):
    """Base of every error ftclient raises on purpose.

    ``message`` says what went wrong and where; ``hint`` says what to do next. Both are plain text,
    written for the person at the terminal.
    """

    reference: ClassVar[str] = "ftclient-error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def to_dict(self) -> dict[str, Any]:
        """The error as the JSON object `--json` mode writes to stderr."""
        return {"error": self.reference, "message": self.message, "hint": self.hint}


class UserInputError(FtclientError):
    """Something the user gave (a flag, a file, a name) cannot be used; nothing was sent to a provider."""

    reference = "user-input"


class ConfigError(UserInputError):
    """A setting from a flag, ``FTCLIENT_*`` variable, ``ftclient.toml`` or ``[tool.ftclient]`` is invalid."""

    reference = "config-invalid"


@dataclass(frozen=True)
class Problem:
    """One thing wrong (``severity="error"``) or worth a look (``"warning"``) in a data file.

    ``line`` is 1-based and counts physical lines of the file, so an editor jumps straight to it;
    ``column`` is 1-based where known; ``path`` is a JSON path inside the record (``messages[2].content``)
    or a column name for tabular input.
    """

    code: str
    message: str
    hint: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: str | None = None
    severity: str = "error"
    related_lines: tuple[int, ...] = field(default=())

    @property
    def location(self) -> str:
        place = self.file or "<input>"
        if self.line is not None:
            place += f":{self.line}"
            if self.column is not None:
                place += f":{self.column}"
        if self.path:
            place += f" ({self.path})"
        return place

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
            "hint": self.hint,
            "related_lines": list(self.related_lines),
        }


class DatasetError(UserInputError):
    """A data file cannot be read or used as it is.

    ``problems`` lists every problem found, not only the first, so one run shows all that needs fixing.
    """

    reference = "dataset-invalid"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        path: str | None = None,
        problems: Sequence[Problem] = (),
    ) -> None:
        super().__init__(message, hint=hint)
        self.path = path
        self.problems = list(problems)

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["path"] = self.path
        data["problems"] = [p.to_dict() for p in self.problems]
        return data


class UnknownModelError(UserInputError):
    """ftclient has no token limit, tokenizer or price for this model; the hint lists the known ones."""

    reference = "model-unknown"

    def __init__(self, model: str, *, known: Sequence[str] = (), hint: str | None = None) -> None:
        listed = ", ".join(known[:12]) + (" …" if len(known) > 12 else "")
        super().__init__(
            f"ftclient knows no limits or tokenizer for model {model!r}",
            hint=hint or (f"use one of: {listed}" if listed else None),
        )
        self.model = model
        self.known = list(known)


class ModelShutDownError(UserInputError):
    """The provider has shut the model down (or will have by the day in question); the hint names
    models still offered."""

    reference = "model-shut-down"

    def __init__(self, model: str, shutdown: str, *, alternatives: Sequence[str] = (), source: str = "") -> None:
        listed = ", ".join(alternatives)
        super().__init__(
            f"{model} was shut down on {shutdown} and can no longer be fine-tuned"
            + (f" (source: {source})" if source else ""),
            hint=f"pick another --model: {listed}" if listed else "fine-tune on another provider (--provider together)",
        )
        self.model = model
        self.shutdown = shutdown
        self.alternatives = list(alternatives)


class FineTuningClosedError(UserInputError):
    """The provider stopped taking new fine-tuning jobs on a published date; nothing was sent."""

    reference = "fine-tuning-closed"

    def __init__(self, provider: str, since: str, *, hint: str | None = None) -> None:
        super().__init__(f"{provider} stopped accepting new fine-tuning jobs on {since}", hint=hint)
        self.provider = provider
        self.since = since


class UnknownProviderError(UserInputError):
    """No provider adapter has this name; the hint lists the available ones."""

    reference = "provider-unknown"

    def __init__(self, name: str, available: Sequence[str]) -> None:
        super().__init__(
            f"no provider named {name!r}",
            hint=f"use --provider with one of: {', '.join(available)}",
        )
        self.name = name
        self.available = list(available)


class NotFoundLocallyError(UserInputError):
    """Something the local registry or file system does not have (dataset, job, evaluation)."""

    reference = "not-found-locally"

    def __init__(self, kind: str, key: str, *, hint: str | None = None) -> None:
        super().__init__(f"no {kind} {key!r} in the local history", hint=hint)
        self.kind = kind
        self.key = key


class ProviderError(FtclientError):
    """The provider refused or failed a request. ``request_id`` is what its support desk asks for."""

    reference = "provider-error"

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        hint: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.provider = provider
        self.status = status
        self.code = code
        self.request_id = request_id
        self.retry_after_s = retry_after_s
        """How long the provider asked to wait before trying again (429/5xx), when it said so."""

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data.update(
            provider=self.provider,
            status=self.status,
            code=self.code,
            request_id=self.request_id,
            retry_after_s=self.retry_after_s,
        )
        return data


class AuthError(ProviderError):
    """The API key is missing or the provider rejected it (401). Set the provider's key variable."""

    reference = "provider-auth"


class PermissionError_(ProviderError):
    """The key works but may not do this (403), e.g. an organisation no longer eligible to fine-tune."""

    reference = "provider-permission"


class RemoteNotFoundError(ProviderError):
    """The provider does not know this file, job, model or endpoint (404)."""

    reference = "provider-not-found"


class ModelRetiredError(RemoteNotFoundError):
    """The model has passed its shutdown date and the provider no longer answers it; its recorded answers
    (``ftclient capture``) and training data are what is left to migrate from."""

    reference = "model-retired"


class RateLimitError(ProviderError):
    """The provider kept answering 429 after every retry; wait, or lower the request rate."""

    reference = "provider-rate-limited"


class QuotaExhaustedError(ProviderError):
    """A 429 that waiting does not cure: the account's credit, billing hard limit or a spend limit is used
    up. Final at once; the hint says where to look."""

    reference = "provider-quota-exhausted"


class ProviderUnavailable(ProviderError):
    """Server errors (5xx) or connection failures outlived every retry; the provider is down or unreachable."""

    reference = "provider-unavailable"


class InvalidRequestError(ProviderError):
    """The provider refused the request's content (400/422); the message carries its reason."""

    reference = "provider-invalid-request"


class JobFailedError(FtclientError):
    """A fine-tuning job ended ``failed`` or ``cancelled``. The CLI exits 3."""

    reference = "job-failed"

    def __init__(self, job_id: str, status: str, *, detail: str | None = None, hint: str | None = None) -> None:
        message = f"job {job_id} ended {status}" + (f": {detail}" if detail else "")
        super().__init__(message, hint=hint)
        self.job_id = job_id
        self.status = status
        self.detail = detail


class JobCancelledError(JobFailedError):
    """A fine-tuning job ended ``cancelled``: someone cancelled it (``ftclient jobs cancel``, the provider's
    console or API). Nothing needs fixing; launch again to train anew. The CLI exits 3."""

    reference = "job-cancelled"


class WaitTimeout(FtclientError):
    """A wait gave up; the remote work goes on. The CLI exits 4."""

    reference = "wait-timeout"

    def __init__(self, what: str, waited_s: float, *, hint: str | None = None) -> None:
        super().__init__(f"gave up waiting for {what} after {waited_s:.0f}s", hint=hint)
        self.what = what
        self.waited_s = waited_s


class Interrupted(FtclientError):
    """The user pressed Ctrl-C. Remote work (a job, an upload session) is left running; the CLI exits 130."""

    reference = "interrupted"


class RegistryError(FtclientError):
    """The local history (SQLite under ``FTCLIENT_HOME``) could not be read or written."""

    reference = "registry-error"


class LocalFileError(FtclientError):
    """A file or folder on this machine could not be written or read: no permission, a read-only or full
    disk, a missing folder. Make room, or pick another place (``--out``, ``FTCLIENT_HOME``), and run the
    same command again."""

    reference = "local-file"

    def __init__(self, message: str, *, path: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.path = path


class EvaluationError(FtclientError):
    """An evaluation could not run or finish (no test split, no model to evaluate, every request failed)."""

    reference = "evaluation-error"


def all_error_classes() -> list[type[FtclientError]]:
    """Every error class, parents first: docs/errors.md is generated from this list."""
    found: list[type[FtclientError]] = []

    def walk(cls: type[FtclientError]) -> None:
        found.append(cls)
        for sub in cls.__subclasses__():
            walk(sub)

    walk(FtclientError)
    return found
