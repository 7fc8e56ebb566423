"""Replacing feeds.yaml safely: the whole new text or nothing, never a half-written file.

The new bytes go to a temporary file next to the target, are fsynced, take the old file's
permission bits (and owner, when allowed), and replace it with one os.replace; the directory
is fsynced after, so the rename itself survives a crash.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from aggregator.errors import ConfigError


def write_atomic(path: Path, data: bytes, *, expect: bytes | None) -> None:
    """Replace the file at `path` (through symlinks) with `data` in one step, keeping its
    permission bits (and owner, when allowed); refuse if it changed since we read `expect`
    (None: it did not exist)."""
    target = Path(os.path.realpath(path))
    try:
        before: os.stat_result | None = target.stat()
    except FileNotFoundError:
        before = None
    mode = stat.S_IMODE(before.st_mode) if before else 0o666 & ~_umask()
    try:
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise ConfigError(f"cannot write: {exc.strerror or exc}", path=str(path)) from exc
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, mode)
        if before is not None:
            # root editing a file the service owns: keep the service's ownership
            with contextlib.suppress(PermissionError):
                os.chown(temp, before.st_uid, before.st_gid)
        _refuse_if_changed(target, expect)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    _fsync_dir(target.parent)


def _refuse_if_changed(target: Path, expect: bytes | None) -> None:
    try:
        now: bytes | None = target.read_bytes()
    except FileNotFoundError:
        now = None
    if now != expect:
        raise ConfigError("changed by someone else while being edited; try again", path=str(target))


def _umask() -> int:
    # The only way to read the umask is to set it; a CLI command is single-threaded here.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a directory be opened
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
