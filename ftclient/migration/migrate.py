"""``ftclient.migrate(model, to=[...])``: re-tune a retiring model elsewhere and show the replacement is as good.

1. Training data: the model's original dataset (``data=``, else the one the registry says it was tuned
   on); failing both, the capture of its answers is distilled into a dataset (the old model's answers
   become the targets) with a seeded held-out part that is never trained on.
2. The old model's answers on the held-out inputs come from the capture (``capture_dir=``, else the
   newest capture ftclient made of it), or are captured now while it still answers.
3. Every target is launched as one cross-provider sweep (``ftclient.launching.cross``), after refusing
   up front when the summed estimate exceeds ``budget``; then followed to the end.
4. Each candidate answers the held-out inputs (deployed on an endpoint where its provider needs one, and
   torn down afterwards, ``ftclient.evaluate.jobs.evaluate_job``); it is scored against the ground truth
   (or, without one, the old model's answers) and for agreement with the old model, and judged by a
   non-inferiority test (``noninferiority``).
5. One report (``report``) recommends the cheapest candidate that is non-inferior.

Rerun after an interruption, it continues: the dataset is reused, launches re-attach to their jobs
(launch is idempotent per dataset and configuration), and every answer comes from the response cache.
``migration.json`` in ``out`` records where each step got to.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftclient.errors import JobFailedError, UserInputError
from ftclient.migration.capture import default_out, load_capture
from ftclient.migration.retirement import captures_of

if TYPE_CHECKING:
    from ftclient.config import Settings
    from ftclient.evaluate.types import Example
    from ftclient.providers.base import Provider
    from ftclient.registry import Registry

HOLDOUT_SHARE = 0.2
MIN_HOLDOUT = 10
VALIDATION_SHARE = 0.1
MIN_VALIDATION = 10


@dataclass
class TrainingData:
    folder: Path
    source: str
    """``original dataset (...)`` or ``distilled from the capture (...)``."""
    distilled: bool
    task: str
    labels: list[str]
    system_prompt: str | None
    target_language: str | None


@dataclass
class MigrationReport:
    model: str
    created_at: str
    out_dir: str
    training_data: dict[str, Any]
    held_out: int
    reference: str
    margin: float
    metric: str
    old_model: dict[str, Any]
    candidates: list[dict[str, Any]] = field(default_factory=list)
    recommendation: dict[str, Any] = field(default_factory=dict)
    budget: dict[str, Any] = field(default_factory=dict)
    endpoints_left_running: list[str] = field(default_factory=list)
    sweep_id: str | None = None
    notes: list[str] = field(default_factory=list)
    source_note: str = ""

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


def _slug_dir(model: str) -> Path:
    return Path("ftmigrations") / default_out(model).name


def _key(messages: Sequence[Any]) -> str:
    return json.dumps(list(messages), sort_keys=True, ensure_ascii=False)


# -- step 1: the training data ----------------------------------------------------------------------
def original_dataset(model: str, data: str | Path | None, registry: Registry) -> Path | None:
    if data is not None:
        folder = Path(data)
        if not (folder / "train.jsonl").is_file() or not (folder / "test.jsonl").is_file():
            raise UserInputError(
                f"{folder} is not a prepared dataset folder (train.jsonl and test.jsonl)",
                hint="pass the folder `ftclient prepare` wrote, or --capture DIR to distil from recorded answers",
            )
        return folder
    record = registry.find_job_by_model(model)
    if record is None or not record.dataset_path:
        return None
    folder = Path(record.dataset_path)
    folder = folder.parent if folder.is_file() else folder
    return folder if (folder / "train.jsonl").is_file() and (folder / "test.jsonl").is_file() else None


def distil(records: Sequence[dict[str, Any]], folder: Path, *, capture_manifest: dict[str, Any], seed: int) -> Path:
    """A dataset folder whose targets are the old model's answers; a seeded held-out part becomes test.jsonl.

    The held-out part keeps the ground truth as its reference when every held-out input had one, else the
    old model's answers. Written once: a rerun reuses it (same split, same files, same dataset hash).
    """
    import hashlib

    if (folder / "manifest.json").is_file():
        return folder
    usable = [r for r in records if r.get("answer") is not None]
    if len(usable) < MIN_HOLDOUT + 2 * MIN_VALIDATION:
        raise UserInputError(
            f"the capture holds {len(usable)} answers; distilling needs at least {MIN_HOLDOUT + 2 * MIN_VALIDATION}",
            hint="capture more inputs: ftclient capture MODEL --inputs SOURCE",
        )
    order = list(range(len(usable)))
    random.Random(seed).shuffle(order)
    n_test = max(MIN_HOLDOUT, int(len(usable) * HOLDOUT_SHARE))
    n_val = max(MIN_VALIDATION, int(len(usable) * VALIDATION_SHARE))
    picks = {"test": order[:n_test], "validation": order[n_test : n_test + n_val], "train": order[n_test + n_val :]}
    with_truth = all(usable[i].get("reference") is not None for i in picks["test"])
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, Any] = {}
    for split, idx in picks.items():
        path = folder / f"{split}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for i in sorted(idx):
                rec = usable[i]
                target = rec["reference"] if split == "test" and with_truth else rec["answer"]
                messages = [*rec["input"], {"role": "assistant", "content": target}]
                fh.write(json.dumps({"messages": messages}, ensure_ascii=False) + "\n")
        files[split] = {
            "path": path.name,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "examples": len(idx),
        }
    request = capture_manifest.get("request") or {}
    manifest = {
        "task": capture_manifest.get("task") or _infer_task(usable),
        "system_prompt": request.get("system_prompt"),
        "labels": capture_manifest.get("labels") or [],
        "target": {"provider": capture_manifest.get("provider", "openai"), "model": capture_manifest.get("model")},
        "method": "supervised",
        "files": files,
        "dataset_sha256": hashlib.sha256(
            "".join(files[s]["sha256"] for s in ("train", "validation", "test")).encode()
        ).hexdigest(),
        "split": {"seed": seed, "sizes": {k: len(v) for k, v in picks.items()}},
        "distilled_from": {
            "model": capture_manifest.get("model"),
            "capture": capture_manifest.get("inputs"),
            "held_out_reference": "ground truth" if with_truth else "old model's answers",
        },
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    return folder


def _infer_task(records: Sequence[dict[str, Any]]) -> str:
    from ftclient.evaluate.resolve import infer_task
    from ftclient.evaluate.types import Example

    return infer_task([Example(i, r["input"], r["answer"]) for i, r in enumerate(records)])


def training_data(
    model: str,
    *,
    data: str | Path | None,
    capture_dir: Path | None,
    out_dir: Path,
    registry: Registry,
    seed: int,
) -> TrainingData:
    from ftclient.evaluate.resolve import dataset_facts, load_manifest

    folder = original_dataset(model, data, registry)
    if folder is not None:
        how = "--data" if data is not None else "the registry"
        source, distilled = f"original dataset {folder} (found through {how})", False
    else:
        if capture_dir is None:
            raise UserInputError(
                f"no training data for {model}: ftclient does not know its dataset and holds no capture of it",
                hint=f"pass --data DATASET, or record its answers first: ftclient capture {model} --inputs SOURCE",
            )
        capture_manifest = load_manifest(capture_dir)
        folder = distil(load_capture(capture_dir), out_dir / "distilled", capture_manifest=capture_manifest, seed=seed)
        source, distilled = f"distilled from the capture in {capture_dir} (the old model's answers as targets)", True
    task, labels, system, language = dataset_facts(load_manifest(folder))
    return TrainingData(folder, source, distilled, task or "chat", labels, system, language)


# -- step 2: the old model's answers ------------------------------------------------------------------
def old_answers(
    model: str,
    examples: Sequence[Example],
    *,
    capture_dir: Path | None,
    out_dir: Path,
    settings: Settings,
    registry: Registry,
    client: Provider | None,
) -> tuple[list[str | None], str]:
    """The old model's answer to each held-out example (None where unknown) and where they came from."""
    known: dict[str, str] = {}
    where = ""
    if capture_dir is not None:
        for rec in load_capture(capture_dir):
            if rec.get("answer") is not None:
                known[_key(rec["input"])] = rec["answer"]
        where = f"capture {capture_dir}"
    missing = [e for e in examples if _key(e.messages) not in known]
    if missing and client is not None:
        from ftclient.migration.capture import capture

        inputs = out_dir / "old-model-inputs.jsonl"  # only what no capture holds: nothing is paid twice
        inputs.write_text(
            "".join(
                json.dumps({"messages": [*e.messages, {"role": "assistant", "content": e.reference}]}) + "\n"
                for e in missing
            ),
            encoding="utf-8",
        )
        result = capture(
            model,
            inputs,
            out=out_dir / "old-model",
            settings=settings,
            registry=registry,
            provider_client=client,
            handle_signals=False,
        )
        for rec in load_capture(result.out_dir):
            if rec.get("answer") is not None:
                known.setdefault(_key(rec["input"]), rec["answer"])
        where = ", ".join(filter(None, [where, f"captured now in {result.out_dir}"]))
    return [known.get(_key(e.messages)) for e in examples], where


def _write_state(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def migrate(
    model: str,
    *,
    to: str | Sequence[str],
    data: str | Path | None = None,
    capture_dir: str | Path | None = None,
    budget: float | None = None,
    margin: float | None = None,
    out: str | Path | None = None,
    epochs: int | None = None,
    provider: str = "openai",
    settings: Settings | None = None,
    registry: Registry | None = None,
    clients: dict[str, Provider] | None = None,
    on_step: Callable[[str], None] | None = None,
    resamples: int = 2000,
    job_timeout_s: float | None = None,
) -> MigrationReport:
    """Re-tune ``model`` on every ``to`` target (``provider:model``) and recommend a replacement.

    See the module docstring. Returns the report and writes report.json/.md/.html into ``out``
    (default ``ftmigrations/<model>``).
    """
    from ftclient.config import resolve
    from ftclient.evaluate.resolve import read_test_file
    from ftclient.launching.cross import pair, split_names
    from ftclient.migration.candidates import evaluate_candidates, launch_targets
    from ftclient.migration.report import build_report, write_report
    from ftclient.registry import Registry

    say = on_step or (lambda _msg: None)
    settings = settings or resolve()
    own_registry = registry is None
    registry = registry or Registry(settings.registry_path)
    client_for = _Clients(settings, clients or {})
    out_dir = Path(out) if out is not None else _slug_dir(model)
    out_dir.mkdir(parents=True, exist_ok=True)
    state_path = out_dir / "migration.json"
    state: dict[str, Any] = json.loads(state_path.read_text(encoding="utf-8")) if state_path.is_file() else {}
    try:
        targets = split_names(to)
        pairs = pair([], targets)
        capture_path = _capture_path(model, capture_dir, settings)
        train = training_data(
            model, data=data, capture_dir=capture_path, out_dir=out_dir, registry=registry, seed=settings.seed
        )
        say(f"training data: {train.source}")
        state.update(model=model, targets=targets, dataset=str(train.folder), distilled=train.distilled)
        _write_state(state_path, state)
        test_file = train.folder / "test.jsonl"
        examples = read_test_file(test_file, train.system_prompt)
        old_client = _alive_client(model, provider, client_for, settings)
        olds, old_source = old_answers(
            model,
            examples,
            capture_dir=capture_path,
            out_dir=out_dir,
            settings=settings,
            registry=registry,
            client=old_client,
        )
        if all(a is None for a in olds):
            raise UserInputError(
                f"no record of {model}'s answers on the {len(examples)} held-out inputs, and it no longer answers",
                hint=f"pass --capture DIR with a capture that covers {test_file}",
            )
        launched = launch_targets(
            train.folder,
            pairs,
            budget=budget,
            epochs=epochs,
            settings=settings,
            registry=registry,
            say=say,
            client_for=client_for,
            timeout_s=job_timeout_s,
        )
        state.update(jobs=launched.jobs, sweep_id=launched.sweep_id, estimate_usd=launched.estimate_usd)
        _write_state(state_path, state)
        failed = [j for j in launched.jobs if j["status"] != "succeeded"]
        if len(failed) == len(launched.jobs):
            first = failed[0]
            raise JobFailedError(first["job_id"], first["status"], hint="see `ftclient jobs show` for the reason")
        candidates = evaluate_candidates(
            launched.jobs,
            examples,
            olds,
            train=train,
            test_file=test_file,
            out_dir=out_dir,
            margin=margin,
            settings=settings,
            registry=registry,
            client_for=client_for,
            say=say,
            resamples=resamples,
        )
        report = build_report(
            model,
            out_dir=out_dir,
            train=train,
            examples=examples,
            olds=olds,
            old_source=old_source,
            candidates=candidates,
            margin=margin,
            budget=budget,
            launched=launched,
            registry=registry,
            clients={name: client_for(name) for name, _ in pairs},
        )
        write_report(report, out_dir)
        state.update(report=str(out_dir / "report.json"), finished_at=dt.datetime.now(dt.UTC).isoformat())
        _write_state(state_path, state)
        return report
    finally:
        client_for.close()
        if own_registry:
            registry.close()


class _Clients:
    """Provider adapters by name: the caller's, else made once and closed at the end."""

    def __init__(self, settings: Settings, given: dict[str, Provider]) -> None:
        self.settings = settings
        self.given = dict(given)
        self.made: dict[str, Provider] = {}

    def __call__(self, name: str) -> Provider:
        from ftclient.providers import get_provider

        if name in self.given:
            return self.given[name]
        if name not in self.made:
            self.made[name] = get_provider(name, self.settings)
        return self.made[name]

    def close(self) -> None:
        for client in self.made.values():
            client.close()


def _capture_path(model: str, capture_dir: str | Path | None, settings: Settings) -> Path | None:
    if capture_dir is not None:
        return Path(capture_dir)
    found = captures_of(settings.home, model)
    return found[0] if found else None


def _alive_client(
    model: str, provider: str, client_for: Callable[[str], Provider], settings: Settings
) -> Provider | None:
    """The old model's provider when the model still answers, else None (nothing more can be captured)."""
    from ftclient.errors import FtclientError, ModelRetiredError
    from ftclient.migration.retirement import check_not_retired

    try:
        client = client_for(provider)
        check_not_retired(model, provider, client, settings.home)
    except ModelRetiredError:
        return None
    except FtclientError:
        return None
    return client
