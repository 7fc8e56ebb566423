"""One writer per storage directory: an advisory lock file that names its holder."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from aggregator.errors import LockedError

LOCK_NAME = "aggregator.lock"


class StorageLock:
    """Held by `run`, `run --once`, `replay` and `demo`; read-side commands don't need it."""

    def __init__(self, directory: Path, purpose: str):
        self.path = Path(directory) / LOCK_NAME
        self.purpose = purpose
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise LockedError(
                f"{self.path.parent}: already in use by {holder}; "
                "stop it first (read-side commands such as export and digest work meanwhile)"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"aggregator {self.purpose} (pid {os.getpid()})\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> StorageLock:
        self.acquire()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
