"""Is a model still answering? And where are its recorded answers once it is not?

A retired model is one whose shutdown date (the provider's ``shutdown_date``, else ftclient's dated table)
has passed, or that the provider no longer lists (or answers with 404) while a shutdown date is known for
it. The error then says so and points to the model's capture (``ftclient capture`` keeps an index of its
captures under ``FTCLIENT_HOME``), the one record of its answers that is left.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ftclient import calendar
from ftclient.errors import ModelRetiredError, ProviderError
from ftclient.evaluate.types import Answer
from ftclient.migration.inventory import shutdown_of
from ftclient.providers.base import ModelListingProvider

if TYPE_CHECKING:
    from ftclient.providers.base import Provider

INDEX_NAME = "captures.json"


def _index_path(home: Path) -> Path:
    return home / INDEX_NAME


def record_capture(home: Path, model: str, folder: Path) -> None:
    """Remember that ``folder`` holds a capture of ``model`` (newest first)."""
    path = _index_path(home)
    index: dict[str, list[str]] = {}
    if path.is_file():
        try:
            index = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            index = {}
    where = str(folder.resolve())
    index[model] = [where, *[p for p in index.get(model, []) if p != where]]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(index, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def captures_of(home: Path, model: str) -> list[Path]:
    """Folders that hold a capture of ``model`` and still exist, newest first."""
    path = _index_path(home)
    if not path.is_file():
        return []
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return []
    return [Path(p) for p in index.get(model, []) if (Path(p) / "capture.jsonl").is_file()]


def retired_error(model: str, provider: str, home: Path, *, date: str | None, source: str | None) -> ModelRetiredError:
    found = captures_of(home, model)
    when = f" on {date} ({source})" if date else ""
    if found:
        hint = (
            f"its answers recorded before the shutdown are in {found[0]}/capture.jsonl; migrate from them: "
            f"ftclient migrate {model} --capture {found[0]} --to PROVIDER:MODEL"
        )
    else:
        hint = (
            "ftclient holds no capture of its answers; re-tune from its training data: "
            f"ftclient migrate {model} --data DATASET --to PROVIDER:MODEL"
        )
    return ModelRetiredError(
        f"{model} is retired: it shut down{when} and {provider} no longer answers it",
        provider=provider,
        status=404,
        code="model_not_found",
        hint=hint,
    )


def check_not_retired(
    model: str, provider_name: str, client: Provider, home: Path, today: dt.date | None = None
) -> None:
    """Raise :class:`ModelRetiredError` before anything is sent when the model is known to be gone."""
    today = today or calendar.today()
    listed_date: str | None = None
    listed_field = "shutdown_date"
    listed = True
    if client.capabilities.model_listing and isinstance(client, ModelListingProvider):
        try:
            models = {m.id: m for m in client.list_models()}
        except ProviderError:
            models = None
        if models is not None:
            listed = model in models
            listed_date = models[model].shutdown_date if listed else None
            listed_field = models[model].date_field if listed else listed_field
    date, source = shutdown_of(provider_name, model, listed_date, listed_field)
    if date is None:
        return
    gone = not listed and model.startswith("ft:")  # aliases of base models need not be listed
    if dt.date.fromisoformat(date) <= today or gone:
        raise retired_error(model, provider_name, home, date=date, source=source)


def retired_or_none(model: str, provider_name: str, home: Path) -> ModelRetiredError | None:
    """After a 404 for ``model``: the retirement error when a shutdown date is known for it, else None."""
    date, source = shutdown_of(provider_name, model, None)
    if date is None:
        return None
    return retired_error(model, provider_name, home, date=date, source=source)


def raise_if_all_retired(answers: Iterable[Answer], model: str, provider: str, home: Path) -> None:
    """Every answer refused with a 404 (batch lines: the Batch API reports a retired model per line) for a
    model with a known shutdown date: raise the retirement error rather than report empty answers."""
    errors = [a.error for a in answers]
    if errors and all(e is not None and "HTTP 404" in e for e in errors):
        retired = retired_or_none(model, provider, home)
        if retired is not None:
            raise retired
