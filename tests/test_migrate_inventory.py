"""``ftclient models`` (``ftclient.migration.inventory``): what each model entry says about a tuned model, on the
emulated OpenAI and Together with a real registry: the shutdown date and where it came from, the days left,
the job and dataset it came from, models the registry knows but the provider no longer lists, and the order."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from launch_support import TOGETHER_BASE, tuned_together_job, write_dataset

from ftclient.config import ProviderProfile, Settings
from ftclient.emulator import Emulator, EmulatorConfig, run_in_thread
from ftclient.emulator.samples import classification_examples
from ftclient.migration.inventory import build_inventory, find_entry, inventory, shutdown_of
from ftclient.providers.base import JobInfo, JobSpec
from ftclient.providers.openai import OpenAIProvider
from ftclient.providers.together import TogetherProvider
from ftclient.registry import Registry

BASE = "gpt-4o-mini-2024-07-18"
TODAY = dt.date(2026, 12, 3)
DAYS_TO_2027_01_14 = 28 + 14  # the rest of December 2026, then 14 days of January
API_SOURCE = "provider Models API (shutdown_date)"
TABLE_SOURCE = "ftclient retirement table, pricing.py as of 2026-12-03"
GONE = "ft:gpt-4.1-mini-2025-04-14:acme::gone"
"""A tuned model the registry recorded whose base the provider no longer lists it under."""
GONE_JOB = JobInfo(
    id="ftjob-gone",
    provider="openai",
    status="succeeded",
    model="gpt-4.1-mini-2025-04-14",
    created_at=1_790_000_000,
    fine_tuned_model=GONE,
)


@pytest.fixture(scope="module")
def openai_emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Emulator, JobInfo]]:
    """The emulated OpenAI on 2026-12-01 with one succeeded job, made through the adapter (no registry)."""
    data = tmp_path_factory.mktemp("upload") / "train.jsonl"
    data.write_text("".join(json.dumps(e) + "\n" for e in classification_examples()), encoding="utf-8")
    with run_in_thread(EmulatorConfig(provider="openai", speed=1e-6, start="2026-12-01")) as emu:
        adapter = OpenAIProvider(api_key="sk-inv", base_url=emu.base_url, max_retries=0)
        job = adapter.create_job(JobSpec(model=BASE, training_file=adapter.upload_file(data).id))
        emu.advance(10_000)
        job = adapter.get_job(job.id)
        adapter.close()
        assert job.fine_tuned_model and job.training_file
        assert job.finished_at == 1_796_083_200 + 310  # 2026-12-01T00:00:00Z, trained in 5 min 10 s
        yield emu, job


@pytest.fixture
def client(openai_emu: tuple[Emulator, JobInfo]) -> Iterator[OpenAIProvider]:
    adapter = OpenAIProvider(api_key="sk-inv", base_url=openai_emu[0].base_url, max_retries=0)
    yield adapter
    adapter.close()


def dataset(registry: Registry, folder: Path, salt: str = "") -> str:
    """A prepared dataset folder, recorded in the registry; its sha256."""
    write_dataset(folder, salt=salt)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    registry.record_dataset(manifest, folder)
    return str(manifest["dataset_sha256"])


def tuned_entry(job: JobInfo, **fields: Any) -> dict[str, Any]:
    """The JSON of the emulator's tuned model, as listed on 2026-12-03, with ``fields`` changed."""
    return {
        "model": job.fine_tuned_model,
        "provider": "openai",
        "tuned": True,
        "base_model": BASE,
        "created_at": "2026-12-01T00:05:10+00:00",
        "job_id": None,
        "job_source": None,
        "shutdown_date": "2027-01-14",
        "shutdown_source": API_SOURCE,
        "days_left": DAYS_TO_2027_01_14,
        "fine_tune_shutdown_date": None,
        "listed": True,
        "dataset_held": False,
        "dataset_path": None,
        "dataset_sha256": None,
        **fields,
    }


GONE_ENTRY = {
    "model": GONE,
    "provider": "openai",
    "tuned": True,
    "base_model": "gpt-4.1-mini-2025-04-14",
    "created_at": None,
    "job_id": "ftjob-gone",
    "job_source": "registry",
    "shutdown_date": "2027-01-14",
    "shutdown_source": TABLE_SOURCE,
    "days_left": DAYS_TO_2027_01_14,
    "fine_tune_shutdown_date": None,
    "listed": False,
    "dataset_held": False,
    "dataset_path": None,
    "dataset_sha256": None,
}


def test_a_tuned_model_in_the_registry_has_its_job_dataset_and_the_models_api_shutdown_date(
    openai_emu: tuple[Emulator, JobInfo], client: OpenAIProvider, tmp_path: Path
) -> None:
    _, job = openai_emu
    registry = Registry(tmp_path / "r.db")
    sha = dataset(registry, tmp_path / "tickets")
    registry.record_job(job, dataset_sha256=sha)  # the launch knew the dataset by its hash only
    inv = build_inventory("openai", client, registry, tuned_only=True, today=TODAY)
    registry.close()
    assert inv.to_dict() == {
        "provider": "openai",
        "today": "2026-12-03",
        "models": [
            tuned_entry(
                job,
                job_id=job.id,
                job_source="registry",
                dataset_held=True,
                dataset_path=str((tmp_path / "tickets").resolve()),
                dataset_sha256=sha,
            )
        ],
        "notes": [],
    }
    assert find_entry(inv.models, str(job.fine_tuned_model)) is inv.models[0]
    assert find_entry(inv.models, BASE) is None


def test_a_dataset_known_by_its_train_file_is_found_and_not_held_once_deleted(
    openai_emu: tuple[Emulator, JobInfo], client: OpenAIProvider, tmp_path: Path
) -> None:
    _, job = openai_emu
    folder = write_dataset(tmp_path / "tickets")
    with Registry(tmp_path / "r.db") as registry:
        registry.record_job(job, dataset_path=str(folder / "train.jsonl"))
        held = build_inventory("openai", client, registry, tuned_only=True, today=TODAY).models
        (folder / "train.jsonl").unlink()
        gone = build_inventory("openai", client, registry, tuned_only=True, today=TODAY).models
    assert [(e.dataset_held, e.dataset_path, e.dataset_sha256) for e in held] == [(True, str(folder), None)]
    assert [(e.dataset_held, e.dataset_path) for e in gone] == [(False, str(folder))]  # where it was


def test_a_tuned_model_the_provider_no_longer_lists_is_kept_with_its_shutdown_date_from_the_table(
    openai_emu: tuple[Emulator, JobInfo], client: OpenAIProvider, tmp_path: Path
) -> None:
    _, job = openai_emu
    with Registry(tmp_path / "r.db") as registry:
        registry.record_job(GONE_JOB)  # recorded first: the registry lists it last
        registry.record_job(
            JobInfo(
                id="ftjob-ckpt",
                provider="openai",
                status="succeeded",
                model="gpt-4.1-mini-2025-04-14",
                created_at=1_790_000_100,
                fine_tuned_model=f"{GONE}:ckpt-step-10",
            )
        )
        registry.record_job(
            JobInfo(
                id="ft-other",
                provider="together",
                status="succeeded",
                model=TOGETHER_BASE,
                created_at=1_790_000_200,
                fine_tuned_model="acme/Meta-Llama-3.1-8B-Instruct-Reference-x1",
            )
        )
        registry.record_job(job)  # the listed one, known to the registry as well
        inv = build_inventory("openai", client, registry, tuned_only=True, today=TODAY)
    assert [e.to_dict() for e in inv.models] == [
        GONE_ENTRY,
        tuned_entry(job, job_id=job.id, job_source="registry"),
    ]


def test_a_model_missing_from_the_registry_takes_its_job_and_dataset_from_the_provider_job_list(
    openai_emu: tuple[Emulator, JobInfo], client: OpenAIProvider, tmp_path: Path
) -> None:
    _, job = openai_emu
    with Registry(tmp_path / "r.db") as registry:
        sha = dataset(registry, tmp_path / "tickets")
        registry.record_upload(
            provider="openai",
            file_id=str(job.training_file),
            sha256="a" * 64,
            filename="train.jsonl",
            bytes=10,
            dataset_sha256=sha,
        )
        other = dataset(registry, tmp_path / "other", salt="other")
        registry.record_upload(  # uploaded later, of another dataset: listed first
            provider="openai",
            file_id="file-other",
            sha256="b" * 64,
            filename="train.jsonl",
            bytes=10,
            dataset_sha256=other,
        )
        models = build_inventory("openai", client, registry, today=TODAY).models
    assert models[0].to_dict() == tuned_entry(
        job,
        job_id=job.id,
        job_source="provider job list",
        dataset_held=True,
        dataset_path=str((tmp_path / "tickets").resolve()),
        dataset_sha256=sha,
    )
    base = find_entry(models, BASE)
    assert base is not None
    assert base.to_dict() == {
        **tuned_entry(job),
        "model": BASE,
        "tuned": False,
        "base_model": None,
        "created_at": "2023-11-14T22:13:20+00:00",  # the emulator's created: 1700000000
    }


def test_the_listing_puts_tuned_models_first_then_the_nearest_shutdown_and_tuned_only_keeps_only_them(
    openai_emu: tuple[Emulator, JobInfo], client: OpenAIProvider, tmp_path: Path
) -> None:
    _, job = openai_emu
    june = dt.date(2026, 6, 1)  # 227 days before 2027-01-14: more than the days of models without a date
    with Registry(tmp_path / "r.db") as registry:
        registry.record_job(GONE_JOB)
        full = build_inventory("openai", client, registry, today=june)
        tuned = build_inventory("openai", client, registry, tuned_only=True, today=june)
    assert [(e.model, e.days_left) for e in full.models] == [
        (GONE, 227),
        (job.fine_tuned_model, 227),
        ("gpt-4.1-2025-04-14", 227),
        ("gpt-4.1-mini-2025-04-14", 227),
        ("gpt-4o-2024-08-06", 227),
        ("gpt-4o-mini-2024-07-18", 227),
        ("babbage-002", None),
        ("davinci-002", None),
    ]
    assert [e.model for e in tuned.models] == [GONE, job.fine_tuned_model]


def test_without_a_models_listing_tuned_models_come_from_the_job_list(tmp_path: Path) -> None:
    with run_in_thread(EmulatorConfig(provider="together", speed=1e-6, start="2026-12-01")) as emu:
        adapter = TogetherProvider(api_key="tk-inv", base_url=emu.base_url, max_retries=0)
        job = adapter.get_job(tuned_together_job(emu, adapter, tmp_path))
        with Registry(tmp_path / "r.db") as registry:
            inv = build_inventory("together", adapter, registry, today=TODAY)
        adapter.close()
    assert job.finished_at == 1_796_083_200 + 44 and job.created_at == 1_796_083_200
    assert inv.notes == ["together has no models listing ftclient uses: tuned models come from its job list"]
    assert [e.to_dict() for e in inv.models] == [
        {
            "model": job.fine_tuned_model,
            "provider": "together",
            "tuned": True,
            "base_model": TOGETHER_BASE,
            "created_at": "2026-12-01T00:00:44+00:00",  # when it finished, not when the job was created
            "job_id": job.id,
            "job_source": "provider job list",
            "shutdown_date": None,
            "shutdown_source": None,
            "days_left": None,
            "fine_tune_shutdown_date": None,
            "listed": True,
            "dataset_held": False,
            "dataset_path": None,
            "dataset_sha256": None,
        }
    ]


def test_a_profile_declaring_no_models_listing_is_read_from_its_job_list(
    openai_emu: tuple[Emulator, JobInfo], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu, job = openai_emu
    monkeypatch.setenv("ACME_API_KEY", "sk-acme")
    profile = ProviderProfile(
        name="acme",
        kind="openai-compatible",
        base_url=emu.base_url,
        api_key_env="ACME_API_KEY",
        capabilities={"model_listing": False},
    )
    adapter = OpenAIProvider.from_profile(profile)
    with Registry(tmp_path / "r.db") as registry:
        inv = build_inventory("acme", adapter, registry, today=TODAY)
    adapter.close()
    assert [(e.model, e.job_id, e.job_source) for e in inv.models] == [
        (job.fine_tuned_model, job.id, "provider job list")
    ]
    assert inv.notes == ["acme has no models listing ftclient uses: tuned models come from its job list"]


def test_inventory_opens_the_registry_and_client_its_settings_name_and_leaves_the_callers_open(
    openai_emu: tuple[Emulator, JobInfo], client: OpenAIProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu, job = openai_emu
    monkeypatch.setenv("OPENAI_BASE_URL", emu.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-inv")
    settings = Settings(home=tmp_path / "home", provider="openai", max_retries=0)
    settings.home.mkdir()
    with Registry(settings.registry_path) as registry:
        registry.record_job(GONE_JOB)
    emu.inject("GET /v1/fine_tuning/jobs", "status_500", times=1)
    try:  # the job list fails once and, with no retries set, no job is known for the listed model
        opened = inventory(settings=settings, tuned_only=True, today=TODAY)
    finally:
        emu.clear_faults()
    assert opened.provider == "openai" and opened.today == "2026-12-03"
    assert [e.to_dict() for e in opened.models] == [GONE_ENTRY, tuned_entry(job)]

    with Registry(tmp_path / "mine.db") as mine:
        given = inventory("openai", today=dt.date(2027, 1, 4), registry=mine, provider_client=client)
        assert mine.list_models() == []  # still open
    assert (given.today, len(given.models)) == ("2027-01-04", 7)  # the six base models too
    assert (given.models[0].model, given.models[0].days_left) == (job.fine_tuned_model, 10)


def test_shutdown_of_names_the_models_api_field_or_the_dated_table() -> None:
    assert shutdown_of("openai", "ft:gpt-4o-mini-2024-07-18:acme::x", "2027-02-01") == ("2027-02-01", API_SOURCE)
    assert shutdown_of("openai", "gpt-4o-mini", None) == ("2027-01-14", TABLE_SOURCE)
    assert shutdown_of("together", TOGETHER_BASE, None) == (None, None)
