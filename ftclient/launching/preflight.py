"""Before anything is uploaded: which dataset, can this model be tuned this way, does the data fit, what
will it cost, and is the provider still taking jobs.

Everything here runs locally (the optional moderation screen aside) and raises ``UserInputError`` /
``DatasetError`` for what would make the provider refuse the job, so nothing is spent on a launch that
cannot work.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftclient import calendar
from ftclient.errors import DatasetError, NotFoundLocallyError, Problem, UnknownModelError, UserInputError

if TYPE_CHECKING:
    from ftclient.config import Settings
    from ftclient.launching.config import LaunchConfig
    from ftclient.providers.base import Provider
    from ftclient.registry import Registry

MAX_PROBLEMS = 200


@dataclass(frozen=True)
class DatasetRef:
    """A prepared dataset folder, resolved and checked against its manifest."""

    path: Path
    manifest: Mapping[str, Any]
    dataset_sha256: str
    train: Path
    train_sha256: str
    validation: Path | None
    validation_sha256: str | None

    @property
    def method(self) -> str:
        return str(self.manifest.get("method") or "supervised")

    @property
    def target_model(self) -> str | None:
        target = self.manifest.get("target") or {}
        return target.get("model") if isinstance(target, Mapping) else None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def resolve_dataset(dataset: Path | str | None, settings: Settings, registry: Registry | None) -> DatasetRef:
    """``dataset`` (a folder or its manifest.json), else the latest prepared one: the registry's, else
    ``<data_dir>/.latest``."""
    folder: Path | None = None
    if dataset is not None:
        candidate = Path(dataset)
        folder = candidate.parent if candidate.name == "manifest.json" else candidate
        if not candidate.exists():
            raise UserInputError(
                f"{candidate} does not exist",
                hint="pass a folder written by `ftclient prepare`, or leave DATASET out for the latest one",
            )
        if candidate.suffix == ".jsonl" and candidate.is_file():
            raise UserInputError(
                f"{candidate} is a data file, not a prepared dataset folder",
                hint=f"run `ftclient prepare {candidate}` first, then `ftclient launch` (it picks the result up)",
            )
    else:
        if registry is not None:
            for record in registry.list_datasets():
                if (record.path / "manifest.json").is_file():
                    folder = record.path
                    break
        latest = settings.data_dir / ".latest"
        if folder is None and latest.is_file():
            folder = Path(latest.read_text(encoding="utf-8").strip())
        if folder is None:
            raise NotFoundLocallyError(
                "prepared dataset", "latest", hint="run `ftclient prepare INPUT` first, or pass the dataset folder"
            )
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise NotFoundLocallyError(
            "dataset", str(folder), hint=f"{folder} has no manifest.json; pass a folder written by `ftclient prepare`"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatasetError(
            f"{manifest_path}: cannot read the manifest: {exc}",
            path=str(manifest_path),
            hint="prepare the dataset again",
        ) from exc
    files = manifest.get("files") or {}
    train = _split_file(folder, files, "train")
    if train is None:
        raise DatasetError(f"{folder} has no train.jsonl", path=str(folder), hint="prepare the dataset again")
    validation = _split_file(folder, files, "validation")
    train_sha = _checked_sha(train, files.get("train") or {})
    validation_sha = _checked_sha(validation, files.get("validation") or {}) if validation else None
    sha = manifest.get("dataset_sha256")
    if not sha:
        raise DatasetError(
            f"{manifest_path} has no dataset_sha256",
            path=str(manifest_path),
            hint="prepare the dataset again with this version of ftclient",
        )
    return DatasetRef(folder.resolve(), manifest, str(sha), train, train_sha, validation, validation_sha)


def _split_file(folder: Path, files: Mapping[str, Any], split: str) -> Path | None:
    entry = files.get(split) or {}
    name = Path(entry.get("path") or f"{split}.jsonl").name if isinstance(entry, Mapping) else f"{split}.jsonl"
    path = folder / name
    if not path.is_file() or path.stat().st_size == 0:
        return None
    return path


def _checked_sha(path: Path, entry: Mapping[str, Any]) -> str:
    actual = file_sha256(path)
    expected = entry.get("sha256")
    if expected and expected != actual:
        raise DatasetError(
            f"{path} changed after it was prepared (its sha256 no longer matches manifest.json)",
            path=str(path),
            hint="run `ftclient prepare` again so the manifest, costs and identity match the data",
        )
    return actual


# -- token scan and preflight ----------------------------------------------------------------------


@dataclass(frozen=True)
class TokenScan:
    examples: int
    tokens: int
    max_tokens: int
    max_line: int
    over_limit: tuple[tuple[int, int], ...]
    """(line, tokens) of examples longer than the model's limit."""


def _records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                try:
                    record = json.loads(line)
                except ValueError as exc:
                    raise DatasetError(
                        f"{path}:{number}: not valid JSON: {exc}",
                        path=str(path),
                        hint=f"run `ftclient validate {path}`",
                    ) from exc
                if isinstance(record, dict):
                    yield number, record


def _example_tokens(counter: Any, record: Mapping[str, Any]) -> int:
    if "messages" in record:
        return int(counter.chat(record["messages"], tools=record.get("tools"), functions=record.get("functions")))
    if "input" in record:  # DPO: the prompt with each of the two answers
        prompt = list((record.get("input") or {}).get("messages") or [])
        return sum(
            int(counter.chat(prompt + list(record.get(side) or []), tools=(record.get("input") or {}).get("tools")))
            for side in ("preferred_output", "non_preferred_output")
        )
    return int(counter.text(str(record.get("prompt", "")))) + int(counter.text(str(record.get("completion", ""))))


def scan_tokens(path: Path, model: str, provider: str, limit: int | None) -> TokenScan:
    from ftclient.tokens import TokenCounter

    counter = TokenCounter(model, provider)
    examples = tokens = max_tokens = max_line = 0
    over: list[tuple[int, int]] = []
    for number, record in _records(path):
        n = _example_tokens(counter, record)
        examples += 1
        tokens += n
        if n > max_tokens:
            max_tokens, max_line = n, number
        if limit is not None and n > limit:
            over.append((number, n))
    return TokenScan(examples, tokens, max_tokens, max_line, tuple(over))


@dataclass(frozen=True)
class Preflight:
    """What a launch of one configuration will do and cost, known before anything is sent."""

    provider: str
    model: str
    method: str
    examples: int
    validation_examples: int
    tokens_per_epoch: int
    max_example_tokens: int
    token_limit: int | None
    epochs: int
    epochs_chosen_by_provider: bool
    billed_tokens: int
    cost_usd: float | None
    price_as_of: str | None
    notes: tuple[str, ...] = ()


def _epochs(config: LaunchConfig, provider: str, examples: int) -> int:
    """The epochs the job will train: the user's, else the provider's default; refused when the provider
    caps example passes (Fireworks: 3M, docs.fireworks.ai fine-tuning limits) and they would exceed it."""
    from ftclient import pricing
    from ftclient.dataset.rules import rules_for

    chosen = config.hyperparameters.get("n_epochs")
    epochs = int(chosen) if chosen is not None else pricing.default_epochs(examples, provider=provider)
    most = rules_for(provider).max_examples
    if most is not None and examples * epochs > most:
        raise UserInputError(
            f"{examples:,} examples x {epochs} epochs = {examples * epochs:,}; "
            f"{provider} trains on at most {most:,} example passes",
            hint="train fewer epochs (--epochs) or on fewer examples",
        )
    return epochs


def preflight(
    dataset: DatasetRef,
    config: LaunchConfig,
    *,
    provider: str,
    methods: frozenset[str],
    official: bool,
    today: dt.date | None = None,
    scans: dict[tuple[str, str], TokenScan] | None = None,
    shutdown_date: dt.date | None = None,
) -> Preflight:
    """Check one configuration; raise what would make the provider refuse it.

    ``shutdown_date`` is the model's end as the provider's Models API states it, when it was asked; the
    dated table in ``pricing`` decides otherwise. ``today`` is injectable so tests can cross the dates."""
    from ftclient import pricing

    today = today or calendar.today()
    notes: list[str] = []
    if config.method not in methods:
        raise UserInputError(
            f"{provider} cannot fine-tune with method {config.method!r} through ftclient",
            hint=f"use --method {' or '.join(sorted(methods))}",
        )
    try:
        limits = pricing.model_limits(provider, config.model)
    except UnknownModelError as exc:
        raise UnknownModelError(
            config.model, known=exc.known, hint=(exc.hint or "") + "; see docs/providers.md for the tunable models"
        ) from exc
    if provider == "openai":
        notes.extend(_cutoff_notes(today, official))
    retiring = pricing.check_tunable(
        provider, config.model, method=config.method, today=today, shutdown_date=shutdown_date
    )
    if retiring:
        notes.append(retiring)
    if config.method not in limits.methods:
        raise UserInputError(
            f"{config.model} cannot be fine-tuned with method {config.method!r} "
            f"(it supports: {', '.join(sorted(limits.methods)) or 'none'})",
            hint="pick another --model or --method; `docs/providers.md` lists which model takes which method",
        )
    if dataset.method != config.method:
        raise UserInputError(
            f"the dataset was prepared for {dataset.method!r} but the launch asks for {config.method!r}",
            hint=f"launch with --method {dataset.method}, or prepare the data for {config.method}",
        )
    if limits.deprecation:
        notes.append(f"{limits.model}: {limits.deprecation}")
    encoding_key = limits.encoding or "estimate"
    scans = {} if scans is None else scans
    train_scan = _cached_scan(
        scans,
        path=dataset.train,
        encoding=encoding_key,
        model=config.model,
        provider=provider,
        limit=limits.max_tokens_per_example,
    )
    problems = [
        Problem(
            code="example-too-long",
            file=str(dataset.train),
            line=line,
            message=f"example has {n:,} tokens; {limits.model} trains on at most {limits.max_tokens_per_example:,}",
            hint="shorten or drop it: the provider would cut it from the end, losing the answer",
        )
        for line, n in train_scan.over_limit[:MAX_PROBLEMS]
    ]
    validation_examples = 0
    if dataset.validation is not None and config.use_validation:
        val_scan = _cached_scan(
            scans,
            path=dataset.validation,
            encoding=encoding_key,
            model=config.model,
            provider=provider,
            limit=limits.max_tokens_per_example,
        )
        validation_examples = val_scan.examples
        problems += [
            Problem(
                code="example-too-long",
                file=str(dataset.validation),
                line=line,
                message=f"example has {n:,} tokens; the limit is {limits.max_tokens_per_example:,}",
                hint="shorten or drop it",
            )
            for line, n in val_scan.over_limit[:MAX_PROBLEMS]
        ]
    from ftclient.dataset.rules import rules_for

    minimum = rules_for(provider).min_examples
    if train_scan.examples < minimum:
        problems.append(
            Problem(
                code="too-few-examples",
                file=str(dataset.train),
                message=f"{train_scan.examples} training examples; {provider} needs at least {minimum}",
                hint="add examples (50-100 is a sensible start)",
            )
        )
    if problems:
        raise DatasetError(
            f"the dataset does not fit {limits.model}: {len(problems)} problem(s)",
            path=str(dataset.path),
            problems=problems,
            hint="fix the listed lines (or choose a model with a larger limit), then launch again",
        )
    epochs = _epochs(config, provider, train_scan.examples)
    billed = train_scan.tokens * epochs
    cost, as_of = None, None
    try:
        price = pricing.price_for(provider, config.model)
        cost, as_of = price.training_cost(billed), price.as_of
        if cost is None and price.training_per_hour:
            notes.append(f"{limits.model} is billed by the hour (${price.training_per_hour:.2f}/h), not per token")
    except UnknownModelError:
        notes.append(f"no offline price for {config.model}; the provider shows the cost in its console")
    if not limits.encoding:
        notes.append("token counts are estimates: ftclient does not ship this model's tokenizer")
    return Preflight(
        provider=provider,
        model=config.model,
        method=config.method,
        examples=train_scan.examples,
        validation_examples=validation_examples,
        tokens_per_epoch=train_scan.tokens,
        max_example_tokens=train_scan.max_tokens,
        token_limit=limits.max_tokens_per_example,
        epochs=epochs,
        epochs_chosen_by_provider=config.hyperparameters.get("n_epochs") is None,
        billed_tokens=billed,
        cost_usd=cost,
        price_as_of=as_of,
        notes=tuple(dict.fromkeys(notes)),
    )


def _cached_scan(
    scans: dict[tuple[str, str], TokenScan],
    *,
    path: Path,
    encoding: str,
    model: str,
    provider: str,
    limit: int | None,
) -> TokenScan:
    key = (str(path), f"{encoding}:{limit}")
    if key not in scans:
        scans[key] = scan_tokens(path, model, provider, limit)
    return scans[key]


def _cutoff_notes(today: dt.date, official: bool) -> list[str]:
    """OpenAI's end of new jobs (2027-01-06): a note before it, a FineTuningClosedError from that day on.

    An OpenAI-compatible endpoint that is not api.openai.com (another vendor, the emulator) keeps its own
    calendar, so only a note is given there; the emulator enforces OpenAI's dates itself."""
    from ftclient.pricing import OPENAI_JOB_CREATION_ENDS, check_openai_job_creation

    cutoff = OPENAI_JOB_CREATION_ENDS.isoformat()
    days = (OPENAI_JOB_CREATION_ENDS - today).days
    refusal = (
        "a 4xx saying the organisation is not eligible to fine-tune is final: ftclient reports it and does not retry"
    )
    if days > 0:
        return [f"OpenAI takes no new fine-tuning jobs from {cutoff} ({days} days left); {refusal}"]
    if official:
        check_openai_job_creation(today)
    return [f"OpenAI itself stopped taking new jobs on {cutoff}; this endpoint is not OpenAI's"]


# -- moderation ------------------------------------------------------------------------------------


def example_text(record: Mapping[str, Any]) -> str:
    """Everything a person wrote in one training example, as the moderation endpoint should see it."""
    from ftclient.tokens import content_text

    parts: list[str] = []
    messages = list(record.get("messages") or [])
    messages += list((record.get("input") or {}).get("messages") or [])
    messages += list(record.get("preferred_output") or []) + list(record.get("non_preferred_output") or [])
    for message in messages:
        if isinstance(message, Mapping):
            parts.append(content_text(message.get("content")))
    for key in ("prompt", "completion"):
        if record.get(key):
            parts.append(str(record[key]))
    return "\n".join(p for p in parts if p)


def screen(provider: Provider, path: Path, *, on_batch: Callable[[int, int], None] | None = None) -> list[Problem]:
    """Flagged lines of ``path`` according to the provider's moderation endpoint."""
    lines: list[int] = []
    texts: list[str] = []
    for number, record in _records(path):
        lines.append(number)
        texts.append(example_text(record)[:32_000])
    results = provider.moderate(texts)
    if on_batch:
        on_batch(len(texts), len(texts))
    return [
        Problem(
            code="moderation-flagged",
            file=str(path),
            line=line,
            message="flagged by moderation" + (f": {', '.join(result.categories)}" if result.categories else ""),
            hint="remove or rewrite this example: jobs whose data is flagged fail after hours of validation",
        )
        for line, result in zip(lines, results, strict=False)
        if result.flagged
    ]


def moderation_error(problems: Sequence[Problem], path: Path) -> DatasetError:
    return DatasetError(
        f"{len(problems)} training example(s) in {path.name} were flagged by moderation",
        path=str(path),
        problems=problems,
        hint="remove or rewrite the flagged lines, then launch again",
    )
