"""What both dialects' stores share: uploaded file bytes in memory, mirrored to ``<state_dir>/files/<id>``
when the emulator persists its state, and atomic writes (a crash never leaves half a file)."""

from __future__ import annotations

import os
import threading
from pathlib import Path


def atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class FileBytes:
    """The bytes of uploaded files, behind the store's lock; read back from disk after a restart."""

    def __init__(self, state_dir: Path | None) -> None:
        self.lock = threading.RLock()
        self.state_dir = state_dir
        self.contents: dict[str, bytes] = {}
        if state_dir is not None:
            (state_dir / "files").mkdir(parents=True, exist_ok=True)

    def put_content(self, file_id: str, data: bytes) -> None:
        with self.lock:
            self.contents[file_id] = data
            if self.state_dir is not None:
                atomic_write(self.state_dir / "files" / file_id, data)

    def content(self, file_id: str) -> bytes:
        with self.lock:
            if file_id not in self.contents and self.state_dir is not None:
                path = self.state_dir / "files" / file_id
                if path.exists():
                    self.contents[file_id] = path.read_bytes()
            return self.contents.get(file_id, b"")

    def drop_content(self, file_id: str) -> None:
        with self.lock:
            self.contents.pop(file_id, None)
            if self.state_dir is not None:
                (self.state_dir / "files" / file_id).unlink(missing_ok=True)
