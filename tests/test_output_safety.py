"""prepare and evaluate never overwrite the user's files and leave nothing half-written behind."""

from __future__ import annotations

import errno
import hashlib
import io
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, FIXTURES

from ftclient.dataset.manifest import Manifest
from ftclient.dataset.prepare import prepare
from ftclient.errors import UserInputError

CHAT = FIXTURES / "datasets" / "valid_chat.jsonl"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_input_inside_out_is_never_replaced(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(EXAMPLES / "summarize_news.jsonl", src / "train.jsonl")
    before = (src / "train.jsonl").read_bytes()
    for force in (False, True):
        with pytest.raises(UserInputError, match=r"the input .*train\.jsonl.* would replace"):
            prepare(src / "train.jsonl", out=src, force=force)
        assert (src / "train.jsonl").read_bytes() == before
    assert sorted(p.name for p in src.iterdir()) == ["train.jsonl"]


def test_an_input_beside_the_outputs_is_kept_and_hashed_right(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(EXAMPLES / "summarize_news.jsonl", src / "news.jsonl")
    before = _sha(src / "news.jsonl")
    report = prepare(src / "news.jsonl", out=src)
    assert _sha(src / "news.jsonl") == before == report.manifest.source.sha256


@pytest.mark.parametrize("name", ["train.jsonl", "report.md", "manifest.json", "test.jsonl"])
def test_a_folder_with_the_users_own_files_is_refused_unless_force(tmp_path: Path, name: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / name).write_text("mine, not ftclient's\n", encoding="utf-8")
    with pytest.raises(UserInputError, match=f"{name}, which ftclient did not write") as caught:
        prepare(EXAMPLES / "support_tickets.csv", out=out)
    assert "--force" in (caught.value.hint or "")
    assert (out / name).read_text(encoding="utf-8") == "mine, not ftclient's\n"
    assert sorted(p.name for p in out.iterdir()) == [name]
    prepare(EXAMPLES / "support_tickets.csv", out=out, force=True)
    assert (out / name).read_text(encoding="utf-8") != "mine, not ftclient's\n"


def test_prepare_again_replaces_its_own_files_but_not_ones_edited_since(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = prepare(EXAMPLES / "support_tickets.csv", out=out)
    written = Manifest.load(out).written_files
    assert set(written) == {"train.jsonl", "validation.jsonl", "test.jsonl", "report.md"}
    assert all(written[name] == _sha(out / name) for name in written)
    again = prepare(EXAMPLES / "support_tickets.csv", out=out)
    assert again.manifest.dataset_sha256 == first.manifest.dataset_sha256
    with (out / "report.md").open("a", encoding="utf-8") as handle:
        handle.write("my notes\n")
    with pytest.raises(UserInputError, match=r"report\.md, which ftclient did not write"):
        prepare(EXAMPLES / "support_tickets.csv", out=out)


class _FullDisk(io.RawIOBase):
    """A file that takes 100 bytes, then fails as a full disk does."""

    def __init__(self, real: Any) -> None:
        self.real, self.taken = real, 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.taken += len(data)
        if self.taken > 100:
            raise OSError(errno.ENOSPC, "No space left on device")
        return int(self.real.write(data))

    def close(self) -> None:
        self.real.close()
        super().close()


def test_a_full_disk_leaves_no_temporary_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_open = io.open

    def full_disk_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = real_open(file, mode, *args, **kwargs)
        return _FullDisk(handle) if ("w" in mode or "a" in mode) and "b" in mode else handle

    out = tmp_path / "out"
    monkeypatch.setattr(io, "open", full_disk_open)
    with pytest.raises(UserInputError, match="No space left") as caught:
        prepare(EXAMPLES / "support_tickets.csv", out=out)
    assert "disk space" in (caught.value.hint or "")
    assert [p.name for p in out.iterdir()] == []


def test_a_planted_symlink_at_the_temporary_name_is_not_followed(tmp_path: Path) -> None:
    from ftclient.outputs import write_atomic

    target = tmp_path / "victim.txt"
    target.write_text("keep\n", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / ".report.md.tmp").symlink_to(target)  # the fixed name older versions used
    write_atomic(out / "report.md", "hello\n")
    assert target.read_text(encoding="utf-8") == "keep\n"
    assert (out / "report.md").read_text(encoding="utf-8") == "hello\n"
    assert sorted(p.name for p in out.iterdir()) == [".report.md.tmp", "report.md"]


def test_evaluate_refuses_to_write_over_a_datasets_report(tmp_path: Path) -> None:
    from ftclient.evaluate.report import claim_report_folder

    report = prepare(EXAMPLES / "support_tickets.csv", out=tmp_path / "ds")
    before = (report.out_dir / "report.md").read_bytes()
    with pytest.raises(UserInputError, match=r"report\.md, which ftclient did not write"):
        claim_report_folder(report.out_dir)
    assert (report.out_dir / "report.md").read_bytes() == before
