"""Whether a model is retired, decided before anything is sent, and where its answers are once it is.

A wrong "retired" stops a migration that could have captured the old model's answers; a wrong "still
answering" sends a capture to a model that is gone. Against the OpenAI emulator over loopback, whose
catalogue lists base models with their shutdown dates; ``today`` is injected."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread
from ftclient.emulator.openai import catalog
from ftclient.errors import ModelRetiredError
from ftclient.evaluate.types import Answer
from ftclient.migration.retirement import (
    captures_of,
    check_not_retired,
    raise_if_all_retired,
    record_capture,
    retired_or_none,
)
from ftclient.providers.openai import OpenAIProvider

BASE = "gpt-4o-mini-2024-07-18"  # shuts down 2027-01-14, in the emulator's catalogue and ftclient's table
TUNED = f"ft:{BASE}:acme::Ab12"  # a tuned model retires with its base
API_SOURCE = "provider Models API (shutdown_date)"
TABLE_SOURCE = "ftclient retirement table, pricing.py as of 2026-12-03"
BEFORE, ON = dt.date(2027, 1, 13), dt.date(2027, 1, 14)


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with run_in_thread(EmulatorConfig(start="2026-12-04", speed=1e-6, seed=4)) as running:
        yield running


@pytest.fixture
def client(emu: Emulator) -> Iterator[OpenAIProvider]:
    adapter = OpenAIProvider(api_key="sk-retire", base_url=emu.base_url, max_retries=0)
    yield adapter
    adapter.close()


def capture_folder(root: Path, name: str) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "capture.jsonl").write_text("{}\n", encoding="utf-8")
    return folder


# -- before anything is sent ---------------------------------------------------------------------------------


def test_a_listed_model_is_retired_from_its_shutdown_date_on_not_a_day_before(
    client: OpenAIProvider, tmp_path: Path
) -> None:
    check_not_retired(BASE, "openai", client, tmp_path, today=BEFORE)
    with pytest.raises(ModelRetiredError) as caught:
        check_not_retired(BASE, "openai", client, tmp_path, today=ON)
    error = caught.value
    assert (
        error.message == f"{BASE} is retired: it shut down on 2027-01-14 ({API_SOURCE}) and openai no longer answers it"
    )
    assert (error.provider, error.status, error.code) == ("openai", 404, "model_not_found")
    assert error.hint == (
        "ftclient holds no capture of its answers; re-tune from its training data: "
        f"ftclient migrate {BASE} --data DATASET --to PROVIDER:MODEL"
    )


def test_the_models_api_date_outranks_the_dated_table(
    client: OpenAIProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot = "gpt-4.1-mini-2025-04-14"  # 2027-01-14 in ftclient's table
    monkeypatch.setitem(catalog.MODELS, snapshot, replace(catalog.MODELS[snapshot], shutdown_date=dt.date(2027, 3, 1)))
    check_not_retired(snapshot, "openai", client, tmp_path, today=dt.date(2027, 2, 1))  # postponed: answers
    with pytest.raises(ModelRetiredError, match=r"on 2027-03-01 \(provider Models API \(shutdown_date\)\)"):
        check_not_retired(snapshot, "openai", client, tmp_path, today=dt.date(2027, 3, 1))


def test_a_tuned_model_the_provider_no_longer_lists_is_retired_even_before_the_date(
    client: OpenAIProvider, tmp_path: Path
) -> None:
    with pytest.raises(ModelRetiredError) as caught:
        check_not_retired(TUNED, "openai", client, tmp_path, today=BEFORE)
    assert caught.value.message == (
        f"{TUNED} is retired: it shut down on 2027-01-14 ({TABLE_SOURCE}) and openai no longer answers it"
    )


def test_a_base_model_alias_need_not_be_listed_to_be_answering(client: OpenAIProvider, tmp_path: Path) -> None:
    assert "gpt-4o-mini" not in {m.id for m in client.list_models()}  # the listing names snapshots only
    check_not_retired("gpt-4o-mini", "openai", client, tmp_path, today=BEFORE)  # its date is known, not reached
    with pytest.raises(ModelRetiredError, match=r"on 2027-01-14 \(ftclient retirement table"):
        check_not_retired("gpt-4o-mini", "openai", client, tmp_path, today=ON)


def test_when_the_listing_cannot_be_read_the_dated_table_decides(
    emu: Emulator, client: OpenAIProvider, tmp_path: Path
) -> None:
    emu.inject("GET /v1/models", "status_500", times=2)
    check_not_retired(TUNED, "openai", client, tmp_path, today=BEFORE)  # not "unlisted": nothing was listed
    with pytest.raises(ModelRetiredError, match=r"on 2027-01-14 \(ftclient retirement table"):
        check_not_retired(TUNED, "openai", client, tmp_path, today=ON)


def test_a_provider_without_a_models_listing_is_not_asked_for_one(
    emu: Emulator, client: OpenAIProvider, tmp_path: Path
) -> None:
    class Unlisting(OpenAIProvider):
        capabilities = replace(OpenAIProvider.capabilities, model_listing=False)

    unlisting = Unlisting(api_key="sk-retire", base_url=emu.base_url, max_retries=0)
    check_not_retired(TUNED, "openai", unlisting, tmp_path, today=BEFORE)  # unlisted proves nothing here
    assert "GET /v1/models" not in emu.stats()["requests"]["by_route"]
    unlisting.close()


def test_models_without_a_known_shutdown_are_never_retired(client: OpenAIProvider, tmp_path: Path) -> None:
    check_not_retired("davinci-002", "openai", client, tmp_path, today=dt.date(2030, 1, 1))
    check_not_retired(TUNED, "together", client, tmp_path, today=dt.date(2030, 1, 1))  # OpenAI's dates only


# -- after a 404 ----------------------------------------------------------------------------------------------


def test_a_404_for_a_model_with_a_known_shutdown_becomes_the_retirement_error(tmp_path: Path) -> None:
    retired = retired_or_none(TUNED, "openai", tmp_path)
    assert retired is not None and retired.provider == "openai"
    assert retired.message == (
        f"{TUNED} is retired: it shut down on 2027-01-14 ({TABLE_SOURCE}) and openai no longer answers it"
    )
    assert retired_or_none("davinci-002", "openai", tmp_path) is None  # a 404 for other reasons stays one
    assert retired_or_none(TUNED, "together", tmp_path) is None


def _answers(*errors: str | None) -> list[Answer]:
    return [Answer(index=i, text="" if e else "ok", error=e) for i, e in enumerate(errors)]


def test_a_batch_refused_line_by_line_with_404s_is_the_model_retiring(tmp_path: Path) -> None:
    gone = "HTTP 404 model_not_found: The model does not exist"
    folder = capture_folder(tmp_path / "captures", "old")
    record_capture(tmp_path, TUNED, folder)
    with pytest.raises(ModelRetiredError) as caught:
        raise_if_all_retired(_answers(gone, gone), TUNED, "openai", tmp_path)
    assert caught.value.provider == "openai" and str(folder.resolve()) in (caught.value.hint or "")
    raise_if_all_retired(_answers(gone, None), TUNED, "openai", tmp_path)  # one answer came: not retired
    raise_if_all_retired(_answers(gone, "HTTP 500 server_error"), TUNED, "openai", tmp_path)
    raise_if_all_retired(_answers("http 404 lowercase is not the adapter's wording"), TUNED, "openai", tmp_path)
    raise_if_all_retired([], TUNED, "openai", tmp_path)
    raise_if_all_retired(_answers(gone), "davinci-002", "openai", tmp_path)  # no shutdown known: a plain 404


# -- where the answers are --------------------------------------------------------------------------------------


def test_the_error_points_to_the_newest_capture_that_still_exists(client: OpenAIProvider, tmp_path: Path) -> None:
    home = tmp_path / "home"
    older, newer = capture_folder(tmp_path, "older"), capture_folder(tmp_path, "newer")
    record_capture(home, TUNED, older)
    record_capture(home, TUNED, newer)
    with pytest.raises(ModelRetiredError) as caught:
        check_not_retired(TUNED, "openai", client, home, today=ON)
    where = newer.resolve()
    assert caught.value.hint == (
        f"its answers recorded before the shutdown are in {where}/capture.jsonl; migrate from them: "
        f"ftclient migrate {TUNED} --capture {where} --to PROVIDER:MODEL"
    )
    (newer / "capture.jsonl").unlink()  # deleted since: the older one is what is left
    assert captures_of(home, TUNED) == [older.resolve()]


def test_the_capture_index_keeps_each_folder_once_newest_first_per_model(tmp_path: Path) -> None:
    home = tmp_path / "not" / "yet" / "created"  # FTCLIENT_HOME need not exist before the first capture
    a, b = capture_folder(tmp_path, "a"), capture_folder(tmp_path, "b")
    record_capture(home, TUNED, a)
    record_capture(home, TUNED, b)
    record_capture(home, TUNED, a)  # captured again into the same folder: it moves to the front
    record_capture(home, BASE, b)
    assert captures_of(home, TUNED) == [a.resolve(), b.resolve()]
    assert captures_of(home, BASE) == [b.resolve()] and captures_of(home, "other") == []
    index = json.loads((home / "captures.json").read_text(encoding="utf-8"))
    assert index == {TUNED: [str(a.resolve()), str(b.resolve())], BASE: [str(b.resolve())]}
    assert sorted(p.name for p in home.iterdir()) == ["captures.json"]  # written whole, nothing left over


def test_an_unreadable_capture_index_counts_as_empty_and_is_rewritten(tmp_path: Path) -> None:
    assert captures_of(tmp_path, TUNED) == []  # none yet
    (tmp_path / "captures.json").write_text("{not json", encoding="utf-8")
    assert captures_of(tmp_path, TUNED) == []
    folder = capture_folder(tmp_path, "c")
    record_capture(tmp_path, TUNED, folder)
    assert captures_of(tmp_path, TUNED) == [folder.resolve()]
