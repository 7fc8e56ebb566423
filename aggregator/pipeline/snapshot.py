"""The clustering window saved at shutdown, so that the next start need not rebuild it.

Rebuilding the clusterer's and dedupe's memory from the store replays every article of the
window (10,000 at 100,000 stored: ~20 s of CPU). Instead ``save`` writes both memories to one
file in the storage directory when a pass or the daemon ends, and ``load`` takes them back at
the next start, in well under a second, only when all of these still hold:

    the file reads back whole (its payload's CRC matches the header's)
    the same format, the same clustering and dedupe code (a digest of their sources) and
    the same settings
    the store's window stamp (aggregator/store/stamp.py) is the one saved: no article was
    stored, deleted or moved to another story since

Anything else (no file, a crash after writes, another version, a file cut short or edited) is
logged and the window is rebuilt from the store as before: the snapshot is a cache, never the
truth. A restart from it continues exactly where the process that saved it stopped: the next
articles are placed as that process would have placed them (tests/pipeline/test_snapshot.py).

Unpickling runs only the classes the memories are made of (``_ALLOWED``), so a file planted in
the storage directory cannot run code.
"""

from __future__ import annotations

import gc
import hashlib
import io
import logging
import os
import pickle
import zlib
from collections.abc import Callable
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from aggregator import cluster, identity, words
from aggregator.cluster.clusterer import Clusterer
from aggregator.identity.near import NearDuplicates

log = logging.getLogger(__name__)

FILE_NAME = "window.snapshot"
FORMAT = 1

# module -> class names the payload may hold (everything else refuses to load)
_ALLOWED = {
    "builtins": {"set", "frozenset", "dict", "list", "tuple"},
    "collections": {"Counter", "deque", "OrderedDict"},
    "datetime": {"datetime", "timezone", "timedelta"},
    "aggregator.cluster.stories": {"Story", "ExpiringMap"},
    "aggregator.cluster.evidence": {"Traits"},
    "aggregator.cluster.split": {"Member"},
    "aggregator.cluster.corrections": {"Apart"},
}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if name not in _ALLOWED.get(module, ()):
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a snapshot")
        return super().find_class(module, name)


@lru_cache(maxsize=1)
def code_digest() -> str:
    """Digest of the sources whose objects the snapshot holds or whose logic built them."""
    digest = hashlib.blake2b(str(FORMAT).encode(), digest_size=16)
    files = sorted(Path(cluster.__file__).parent.glob("*.py"))
    files += [Path(cluster.__file__).with_name("pair_model.json")]
    files += [Path(identity.__file__).with_name("near.py"), Path(words.__file__)]
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def settings_key(clusterer: Clusterer, near: NearDuplicates, window: timedelta) -> str:
    return repr((clusterer.settings, near.window, near.threshold, window))


def save(
    path: Path,
    stamp: str,
    clusterer: Clusterer,
    near: NearDuplicates,
    window: timedelta,
    extra: dict[str, Any],
) -> None:
    """Write the memories and what they must match, atomically (a temporary file renamed)."""
    payload = pickle.dumps(
        {"clusterer": clusterer.state(), "near": near.state(), "extra": extra},
        protocol=pickle.HIGHEST_PROTOCOL,
    )
    header = {
        "format": FORMAT,
        "code": code_digest(),
        "settings": settings_key(clusterer, near, window),
        "stamp": stamp,
        "crc": zlib.crc32(payload),
    }
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as out:
        pickle.dump(header, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.write(payload)
    # no fsync: a file that a crash leaves half-written fails its CRC and is rebuilt
    os.replace(tmp, path)


def load(
    path: Path,
    stamp: Callable[[], str],
    clusterer: Clusterer,
    near: NearDuplicates,
    window: timedelta,
) -> dict[str, Any] | None:
    """Fill ``clusterer`` and ``near`` from the file when it matches; its ``extra``, else None
    (the two are left untouched)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("%s: not read (%s); rebuilding the window from the store", path, exc)
        return None
    why = ""
    try:
        stream = io.BytesIO(data)
        header = _Unpickler(stream).load()
        payload = data[stream.tell() :]
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            why = "another format"
        elif header.get("code") != code_digest():
            why = "written by another version"
        elif header.get("settings") != settings_key(clusterer, near, window):
            why = "other settings"
        elif zlib.crc32(payload) != header.get("crc"):
            why = "damaged"
        elif header.get("stamp") != stamp():
            why = "the store changed since"
        else:
            # millions of small objects: no cyclic collection while they are created
            enabled = gc.isenabled()
            gc.disable()
            try:
                state = _Unpickler(io.BytesIO(payload)).load()
                clusterer.load_state(state["clusterer"])
                near.load_state(state["near"])
            finally:
                if enabled:
                    gc.enable()
            return dict(state["extra"])
    except Exception as exc:  # a damaged file can fail anywhere in unpickling
        why = f"unreadable ({type(exc).__name__}: {exc})"
    log.info("%s: not used, %s; rebuilding the window from the store", path, why)
    return None
