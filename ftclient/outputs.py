"""Files ftclient writes for the user: atomically, and never over a file it did not write.

Why: a prepared dataset or a report lands in a folder the user names, which may already hold the user's
own ``train.jsonl`` or ``report.md`` (or the very input being prepared). Each file is written to a fresh
temporary name beside its target, opened with ``O_EXCL | O_NOFOLLOW`` (so a planted symlink or a second
writer cannot redirect it), then renamed into place; on any failure (a full disk included) the temporary
file is removed, so nothing half-written and no ``.*.tmp`` debris is left behind.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from ftclient.errors import UserInputError

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)


def open_temp(path: Path) -> tuple[Path, BinaryIO]:
    """A new, uniquely named temporary file beside ``path``; its name starts with a dot and ends in .tmp."""
    for _ in range(100):
        temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(temp, _FLAGS, 0o666)
        except FileExistsError:
            continue
        return temp, os.fdopen(fd, "wb")
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path))  # pragma: no cover


@contextmanager
def atomic_writer(path: Path) -> Iterator[BinaryIO]:
    """Write ``path`` through a temporary file that replaces it only when the block ends without error."""
    temp, handle = open_temp(path)
    try:
        with handle:
            yield handle
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write ``data`` (text is UTF-8) to ``path`` atomically; raises a UserInputError on an OS failure."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        with atomic_writer(path) as handle:
            handle.write(payload)
    except OSError as exc:
        raise cannot_write(path, exc) from exc


def cannot_write(path: Path, exc: OSError) -> UserInputError:
    """The error for a file that could not be written: what the OS said and what to do."""
    reason = exc.strerror or str(exc)
    hint = (
        "free some disk space and run the command again"
        if exc.errno in (errno.ENOSPC, errno.EDQUOT)
        else "check that the folder exists and is writable, or pass another --out folder"
    )
    return UserInputError(f"cannot write {path}: {reason}; nothing was left half-written", hint=hint)


def sha256_of(path: Path) -> str | None:
    """The file's sha256, or None when it cannot be read."""
    from ftclient.dataset.manifest import file_sha256

    try:
        return file_sha256(path)
    except OSError:
        return None


def foreign_files(folder: Path, names: Iterable[str], owned: Mapping[str, str | None]) -> list[str]:
    """Of ``names`` in ``folder``, those that exist and are not known to be ftclient's own.

    ``owned`` maps a file name to the sha256 ftclient recorded when it wrote it (None: known to be
    ftclient's, whatever its content). A file whose content changed since then counts as the user's.
    """
    found: list[str] = []
    for name in names:
        path = folder / name
        if not (path.exists() or path.is_symlink()):
            continue
        if name not in owned:
            found.append(name)
            continue
        expected = owned[name]
        if path.is_symlink() or not path.is_file() or (expected is not None and sha256_of(path) != expected):
            found.append(name)
    return found


def refuse_foreign(folder: Path, foreign: list[str], *, what: str, force_flag: str | None) -> None:
    """Raise the error for a folder that holds files ftclient did not write (see ``foreign_files``)."""
    if not foreign:
        return
    listed = ", ".join(foreign)
    hint = "pass another --out folder" + (f", or {force_flag} to replace them" if force_flag else "")
    raise UserInputError(
        f"{folder} already holds {listed}, which ftclient did not write (or which changed since); "
        f"{what} would replace {'it' if len(foreign) == 1 else 'them'}",
        hint=hint,
    )


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name the same file (both must exist)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
