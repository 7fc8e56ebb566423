"""The config cache: feeds.yaml as last validated, so that a start whose file has not changed
skips reading it with ruamel and checking it with pydantic (with their imports, ~0.25 s of a
400-feed `run --once` and ~1.5 s at 10,000 feeds).

One file per feeds.yaml path, under ``$XDG_CACHE_HOME/newsroom-aggregator/config/`` (else
``~/.cache/...``): the pickled `Config` with the key it was made under. The key covers all that
the result depends on: the file's bytes and absolute path (a relative ``storage`` is anchored
on its directory), the home directory (``~`` in ``storage``) and the code that reads it (the
size and modification time of each module of ``aggregator/config``, of the URL helpers it
calls, and of the installed pydantic, pydantic-core and ruamel.yaml, found without importing
them: an upgrade reinstalls their files). Anything else, a stale or broken entry included, reads the file afresh; only a file
that validated is cached. Where the directory cannot be written (a read-only home), nothing is
cached and nothing fails.

Pickles are only loaded from a directory and file that this user owns and nobody else may
write, so the cache holds no more trust than feeds.yaml itself.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import pickle
import stat
import sys
from pathlib import Path
from typing import NamedTuple

import aggregator

log = logging.getLogger(__name__)

FORMAT = b"config-cache 1"
_PACKAGE = Path(aggregator.__file__).resolve().parent
# the modules whose code decides what a feeds.yaml reads as
_CODE = [*sorted((_PACKAGE / "config").glob("*.py")), _PACKAGE / "identity" / "urls.py"]
_LIBRARIES = ("pydantic", "pydantic_core", "ruamel.yaml")


class Key(NamedTuple):
    file: Path  # where this config's entry lives
    digest: bytes  # of everything the validated result depends on


def directory() -> Path | None:
    base = os.environ.get("XDG_CACHE_HOME")
    try:
        root = Path(base) if base else Path.home() / ".cache"
    except RuntimeError:  # no home directory to speak of
        return None
    return root / "newsroom-aggregator" / "config"


def key(path: Path, data: bytes) -> Key | None:
    folder = directory()
    if folder is None:
        return None
    where = str(Path(path).absolute()).encode()
    digest = hashlib.sha256(FORMAT)
    for part in (where, os.path.expanduser("~").encode(), aggregator.__version__.encode()):
        digest.update(len(part).to_bytes(8, "big") + part)
    digest.update(sys.version.encode())
    for module in [*_CODE, *_library_files()]:
        try:
            info = module.stat()
        except OSError:
            continue
        digest.update(f"{module}:{info.st_size}:{info.st_mtime_ns};".encode())
    digest.update(hashlib.sha256(data).digest())
    name = hashlib.sha256(where).hexdigest()[:32] + ".pickle"
    return Key(folder / name, digest.digest())


def get(entry: Key | None) -> object | None:
    """The value stored under ``entry``, or None (missing, stale, unsafe or unreadable)."""
    if entry is None:
        return None
    try:
        with open(entry.file, "rb") as handle:
            if not (_private(os.fstat(handle.fileno())) and _private(entry.file.parent.stat())):
                return None
            stored_key, value = pickle.load(handle)
    except FileNotFoundError:
        return None
    except Exception as exc:  # a truncated or foreign file: read feeds.yaml instead
        log.debug("config cache %s unreadable: %s", entry.file, exc)
        return None
    return value if stored_key == entry.digest else None


def put(entry: Key | None, value: object) -> None:
    """Store ``value`` under ``entry``, replacing this path's older entry; never fails."""
    if entry is None:
        return
    folder = entry.file.parent
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(folder.stat()):
            return
        import tempfile  # only on a miss

        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                pickle.dump((entry.digest, value), out, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, entry.file)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except Exception as exc:  # read-only home, full disk: the next start reads the file
        log.debug("config cache not written to %s: %s", folder, exc)


def _library_files() -> list[Path]:
    """The installed libraries' package files, located without importing them."""
    found = []
    for name in _LIBRARIES:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is not None and spec.origin:
            found.append(Path(spec.origin))
    return found


def _private(info: os.stat_result) -> bool:
    """Owned by this user and writable by nobody else."""
    mine = not hasattr(os, "getuid") or info.st_uid == os.getuid()
    return mine and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
