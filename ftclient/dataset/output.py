"""Writing a prepared dataset: the three split files, the manifest, ``<data_dir>/.latest`` and the registry."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from array import array
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from pydantic import BaseModel

from ftclient._version import __version__
from ftclient.dataset import presets
from ftclient.dataset.manifest import (
    MANIFEST_NAME,
    FileInfo,
    Languages,
    Manifest,
    SourceInfo,
    SplitInfo,
    TargetInfo,
    dataset_identity,
    file_sha256,
)
from ftclient.dataset.readers import Table
from ftclient.dataset.split import DROPPED, SPLIT_NAMES
from ftclient.dataset.stats import CostEstimate, TokenStats, TokenTally
from ftclient.errors import FtclientError, Problem, UserInputError
from ftclient.outputs import cannot_write, foreign_files, open_temp, refuse_foreign, same_file, write_atomic

if TYPE_CHECKING:
    from ftclient.dataset.prepare import PrepareReport

LATEST_NAME = ".latest"
REPORT_NAME = "report.md"


class SplitSummary(BaseModel):
    examples: int
    tokens: TokenStats | None
    labels: dict[str, int]


@dataclass
class FolderJob:
    """What ``write_folder`` needs: the input, how rows map to examples, and per-row facts from the scan."""

    out_dir: Path
    table: Table
    plan: presets.TaskPlan
    system_prompt: str | None
    assignment: bytearray
    tokens: array[int]
    assistant: array[int]
    labels: list[str]
    label_of: array[int]
    limit: int | None
    encoding_name: str
    exact: bool


def write_folder(job: FolderJob) -> tuple[dict[str, SplitSummary], dict[str, FileInfo]]:
    """Re-read the input and write train/validation/test.jsonl (atomically, then renamed into place)."""
    out_dir, table, plan, system_prompt = job.out_dir, job.table, job.plan, job.system_prompt
    assignment, tokens, assistant, labels, label_of = (
        job.assignment,
        job.tokens,
        job.assistant,
        job.labels,
        job.label_of,
    )
    limit, encoding_name, exact = job.limit, job.encoding_name, job.exact
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserInputError(f"cannot create {out_dir}: {exc.strerror}", hint="pass another --out folder") from exc
    temps: list[Path] = []
    handles: list[BinaryIO] = []
    digests = [hashlib.sha256() for _ in SPLIT_NAMES]
    tallies = [TokenTally(encoding_name, exact=exact, limit=limit) for _ in SPLIT_NAMES]
    label_counts: list[Counter[str]] = [Counter() for _ in SPLIT_NAMES]
    finals = [out_dir / f"{name}.jsonl" for name in SPLIT_NAMES]
    try:
        for final in finals:
            temp, handle = open_temp(final)
            temps.append(temp)
            handles.append(handle)
        for raw in table.rows():
            if raw.ordinal >= len(assignment) or assignment[raw.ordinal] == DROPPED or raw.values is None:
                continue
            split_index = assignment[raw.ordinal]
            example = presets.build_example(plan, presets.row_fields(plan, raw.values), system_prompt)
            if split_index == 2:
                example = presets.as_test_example(example)
            data = (json.dumps(example, ensure_ascii=False) + "\n").encode("utf-8")
            handles[split_index].write(data)
            digests[split_index].update(data)
            tallies[split_index].add(tokens[raw.ordinal], assistant[raw.ordinal])
            if label_of[raw.ordinal] >= 0:
                label_counts[split_index][labels[label_of[raw.ordinal]]] += 1
        for handle in handles:
            handle.close()
        for temp, final in zip(temps, finals, strict=True):
            os.replace(temp, final)
    except BaseException as exc:
        for handle in handles:
            with contextlib.suppress(OSError):
                handle.close()
        for temp in temps:
            temp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise cannot_write(out_dir, exc) from exc
        raise
    splits: dict[str, SplitSummary] = {}
    files: dict[str, FileInfo] = {}
    for index, name in enumerate(SPLIT_NAMES):
        final = finals[index]
        tally = tallies[index]
        splits[name] = SplitSummary(
            examples=tally.examples,
            tokens=tally.stats() if tally.examples else None,
            labels={label: label_counts[index][label] for label in labels if label_counts[index][label]},
        )
        files[name] = FileInfo(
            path=final.name,
            sha256=digests[index].hexdigest(),
            examples=tally.examples,
            tokens=tally.total,
            assistant_tokens=tally.assistant,
        )
    return splits, files


def build_manifest(
    *,
    table: Table,
    plan: presets.TaskPlan,
    labels: list[str],
    system_prompt: str | None,
    provider: str,
    model: str | None,
    seed: int,
    ratios: tuple[float, float, float],
    splits: dict[str, SplitSummary],
    files: dict[str, FileInfo],
    exact: bool,
    warnings: list[Problem],
    dropped: list[Problem],
    cost: CostEstimate | None,
) -> Manifest:
    import datetime

    languages = (
        Languages(source=plan.source_lang, target=plan.target_lang)
        if plan.task == "translate" and plan.source_lang and plan.target_lang
        else None
    )
    return Manifest(
        ftclient_version=__version__,
        created_at=datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat(),
        source=SourceInfo(
            path=str(table.path.resolve()),
            sha256=file_sha256(table.path),
            format=table.format,
            encoding=table.encoding,
            rows=_rows(dropped, splits),
        ),
        task=plan.task,
        columns=dict(plan.columns),
        system_prompt=system_prompt,
        labels=labels,
        languages=languages,
        target=TargetInfo(provider=provider, model=model),
        method="dpo" if plan.method == "dpo" else "supervised",
        split=SplitInfo(
            seed=seed,
            ratios=ratios,
            sizes={name: splits[name].examples for name in SPLIT_NAMES},
            stratified_by="label" if plan.task == "classify" else None,
        ),
        files=files,
        dataset_sha256=dataset_identity({name: info.sha256 for name, info in files.items()}),
        token_counts_exact=exact,
        warnings=[p.to_dict() for p in warnings],
        dropped=[p.to_dict() for p in dropped],
        cost=cost.model_dump(mode="json") if cost else None,
        leakage={"checked": True, "inputs_in_two_splits": 0},
    )


def _rows(dropped: list[Problem], splits: dict[str, SplitSummary]) -> int:
    blank = sum(1 for p in dropped if p.code == "blank-row")
    return sum(s.examples for s in splits.values()) + len(dropped) - blank


OUTPUT_NAMES = (*(f"{name}.jsonl" for name in SPLIT_NAMES), MANIFEST_NAME, REPORT_NAME)


def claim_folder(out_dir: Path, source: Path, *, force: bool) -> None:
    """Refuse to write where the input itself or files ftclient did not write would be replaced.

    What ftclient wrote is what the folder's ``manifest.json`` lists with its sha256 (``written_files``;
    a manifest from before that field vouches for the split files it lists and report.md). The input is
    never replaced, ``force`` or not.
    """
    for name in OUTPUT_NAMES:
        if same_file(source, out_dir / name):
            raise UserInputError(
                f"the input {source} is {out_dir / name}, which prepare would replace with its own {name}",
                hint="pass another --out folder (or move the input out of it)",
            )
    if force or not out_dir.is_dir():
        return
    refuse_foreign(
        out_dir,
        foreign_files(out_dir, OUTPUT_NAMES, _owned(out_dir)),
        what="prepare",
        force_flag="--force",
    )


def _owned(out_dir: Path) -> dict[str, str | None]:
    try:
        manifest = Manifest.load(out_dir)
    except FtclientError:
        return {}
    owned: dict[str, str | None] = {MANIFEST_NAME: None}
    if manifest.written_files:
        owned.update(manifest.written_files)
    else:
        owned.update({info.path: info.sha256 for info in manifest.files.values()})
        owned[REPORT_NAME] = None
    return owned


def write_outputs(report: PrepareReport, data_dir: Path) -> None:
    """Record the dataset, then write report.md and, last, manifest.json (which vouches for every file)."""
    from ftclient.dataset.report import markdown

    manifest, out_dir = report.manifest, report.out_dir
    notes = record_latest(manifest, out_dir, data_dir)
    report.warnings.extend(Problem("registry", note, "", severity="warning") for note in notes)
    text = markdown(report).encode("utf-8")
    manifest.written_files = {info.path: info.sha256 for info in manifest.files.values()}
    manifest.written_files[REPORT_NAME] = hashlib.sha256(text).hexdigest()
    write_atomic(out_dir / REPORT_NAME, text)
    manifest.write(out_dir)


def record_latest(manifest: Manifest, out_dir: Path, data_dir: Path) -> list[str]:
    """Write ``<data_dir>/.latest`` and record the dataset in the registry; returns notes on failures."""
    notes: list[str] = []
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise cannot_write(data_dir, exc) from exc
    write_atomic(data_dir / LATEST_NAME, str(out_dir.resolve()) + "\n")
    from ftclient.registry import Registry

    try:
        Registry().record_dataset(manifest, out_dir)
    except FtclientError as exc:
        notes.append(f"the dataset was written but not recorded in the local history: {exc.message}")
    return notes
