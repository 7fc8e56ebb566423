"""Duplicate detection.

``NearDuplicates`` finds an article whose body nearly copies an earlier one (syndicated wire
copy, a republished press release), even when the copy changed its first line, byline or
last paragraph. Bodies are cut into overlapping word 5-grams ("shingles"); a fixed quarter of
the shingles (chosen by hash, so the same in every copy) is kept and indexed, and two bodies
are near-duplicates when the kept shingles they share cover at least ``threshold`` of the
larger set. Only bodies of the last ``window`` are remembered.
"""

from __future__ import annotations

import zlib
from array import array
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aggregator.types import ClusterDoc
from aggregator.words import fold, tokens

SHINGLE_WORDS = 5
SAMPLE_MOD = 4  # keep shingles whose hash is 0 modulo this
MIN_WORDS = 40  # shorter bodies (teasers, headlines) never match: too little to tell
COMMON_LIMIT = 40  # a shingle in this many live bodies is boilerplate, not evidence


def shingles(text: str) -> frozenset[int]:
    """The sampled shingle hashes of a body; empty when the body is too short."""
    return shingles_of(tokens(fold(text)))


def shingles_of(words: list[str]) -> frozenset[int]:
    """``shingles`` of a body whose ``tokens(fold(text))`` the caller has already."""
    if len(words) < MIN_WORDS:
        return frozenset()
    grams = (" ".join(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1))
    hashes = (zlib.crc32(g.encode()) for g in grams)
    return frozenset(h for h in hashes if h % SAMPLE_MOD == 0)


def resemblance(a: frozenset[int], b: frozenset[int]) -> float:
    """Shared shingles over the larger set: symmetric, 1.0 for copies, low for a mere quote."""
    if not a or not b:
        return 0.0
    return len(a & b) / max(len(a), len(b))


# shingle hashes (crc32: unsigned 32 bits) kept as a compact array per body: a frozenset of
# ~75 ints took ~4 KB and was slow to snapshot; only its length and members are ever read
_CODE = "I" if array("I").itemsize == 4 else "L"


def _hashes(data: bytes | Iterable[int] = b"") -> array[int]:
    out = array(_CODE)
    if isinstance(data, bytes):
        out.frombytes(data)
    else:
        out.extend(data)
    return out


@dataclass
class _Entry:
    id: str
    shingles: array[int]


# a wire copy follows its original within hours; three days also cover a late re-run (the
# stories' week-long window would double the memory and the snapshot for nothing)
WINDOW = timedelta(days=3)


class NearDuplicates:
    def __init__(self, *, window: timedelta = WINDOW, threshold: float = 0.5):
        self.window = window
        self.threshold = threshold
        self._entries: dict[str, _Entry] = {}
        # shingle -> the bodies that have it: one id as it is (most shingles are in one body:
        # no list for each of ~750,000 at 10,000 bodies, a fifth of the memory and of the
        # snapshot's loading time), a list of ids in the order they were added for several
        self._postings: dict[int, str | list[str]] = {}
        self._order: deque[tuple[datetime, str]] = deque()
        self._now: datetime | None = None
        self._last: tuple[str, str, frozenset[int]] | None = None  # find() -> add() reuse

    def _shingles(self, doc: ClusterDoc, given: frozenset[int] | None = None) -> frozenset[int]:
        if given is not None:
            mine = given
        elif self._last is not None and self._last[0] == doc.id and self._last[1] is doc.text:
            return self._last[2]
        else:
            mine = shingles(doc.text)
        self._last = (doc.id, doc.text, mine)
        return mine

    def find(self, doc: ClusterDoc, prepared: frozenset[int] | None = None) -> str | None:
        """Id of the earlier article whose body this one nearly copies, else None.

        ``prepared``: ``shingles(doc.text)``, when the caller computed it earlier.
        """
        self._advance(doc.published)
        mine = self._shingles(doc, prepared)
        if not mine:
            return None
        shared: dict[str, int] = {}
        for h in mine:
            posting = self._postings.get(h)
            if posting is None:
                continue
            if isinstance(posting, str):
                shared[posting] = shared.get(posting, 0) + 1
                continue
            if len(posting) >= COMMON_LIMIT:
                continue
            for other in posting:
                shared[other] = shared.get(other, 0) + 1
        best, best_score = None, 0.0
        # earliest id first among equals: the original, not a later copy, is named
        for other in sorted(shared, key=lambda i: -shared[i]):
            theirs = self._entries[other].shingles
            score = shared[other] / max(len(mine), len(theirs))
            if score > best_score:
                best, best_score = other, score
        return best if best_score >= self.threshold else None

    def add(self, doc: ClusterDoc) -> None:
        """Remember an article's body (call after ``find``)."""
        when = self._advance(doc.published)
        mine = self._shingles(doc)
        if not mine or doc.id in self._entries:
            return
        self._entries[doc.id] = _Entry(doc.id, _hashes(mine))
        postings = self._postings
        for h in mine:
            posting = postings.get(h)
            if posting is None:
                postings[h] = doc.id
            elif isinstance(posting, str):
                postings[h] = [posting, doc.id]
            else:
                posting.append(doc.id)
        if when is not None:
            self._order.append((when, doc.id))

    def __len__(self) -> int:
        return len(self._entries)

    def state(self) -> dict[str, Any]:
        """The remembered bodies as plain picklable parts (aggregator/pipeline/snapshot.py):
        arrays as bytes, and the postings of one body as two arrays (hash, body's index), so
        that loading ~750,000 of them is a dict built in C, not as many pickled items."""
        ids = list(self._entries)
        index = {doc_id: n for n, doc_id in enumerate(ids)}
        single = [(h, p) for h, p in self._postings.items() if isinstance(p, str)]
        return {
            "ids": ids,
            "shingles": [e.shingles.tobytes() for e in self._entries.values()],
            "single_hashes": _hashes(h for h, _ in single).tobytes(),
            "single_bodies": _hashes(index[p] for _, p in single).tobytes(),
            "multi": {h: p for h, p in self._postings.items() if not isinstance(p, str)},
            "order": self._order,
            "now": self._now,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Take over a ``state()`` saved with the same settings and code."""
        ids: list[str] = state["ids"]
        self._entries = {
            doc_id: _Entry(doc_id, _hashes(data))
            for doc_id, data in zip(ids, state["shingles"], strict=True)
        }
        hashes = _hashes(state["single_hashes"])
        bodies = map(ids.__getitem__, _hashes(state["single_bodies"]))
        postings: dict[int, str | list[str]] = dict(zip(hashes, bodies, strict=True))
        postings.update(state["multi"])
        self._postings, self._order = postings, state["order"]
        self._now, self._last = state["now"], None

    def _advance(self, published: datetime | None) -> datetime | None:
        if published is not None and (self._now is None or published > self._now):
            self._now = published
            self._expire(published - self.window)
        return self._now

    def _expire(self, cutoff: datetime) -> None:
        while self._order and self._order[0][0] < cutoff:
            _, doc_id = self._order.popleft()
            entry = self._entries.pop(doc_id, None)
            if entry is None:
                continue
            for h in entry.shingles:
                posting = self._postings.get(h)
                if posting is None:
                    continue
                if isinstance(posting, str):
                    if posting == doc_id:
                        del self._postings[h]
                    continue
                posting.remove(doc_id)
                if len(posting) == 1:
                    self._postings[h] = posting[0]
