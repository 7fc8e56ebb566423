"""Article identity: the stable key of an entry and the exact-duplicate decision.

One stored article per guid / canonical URL across all feeds. Entries that share a link
but are clearly different (some feeds give every entry the site's home page as link) stay
distinct. Pure functions: no I/O.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from rapidfuzz import fuzz

from aggregator.store import ExistingRef

# Below this title similarity (0-100), two entries with the same link are different articles.
SAME_LINK_TITLE_SIMILARITY = 80.0


def article_key(
    feed_url: str | None, guid: str | None, canonical_url: str | None, title: str
) -> str:
    """A stable key for a new entry: the same entry in the same feed always gets the same key."""
    basis = "\n".join([feed_url or "", guid or "", canonical_url or "", title])
    return "a" + hashlib.sha1(basis.encode("utf-8")).hexdigest()[:20]


def content_hash(title: str, text: str) -> str:
    return hashlib.sha256(f"{normalise(title)}\n{normalise(text)}".encode()).hexdigest()[:32]


_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return _SPACE.sub(" ", text).strip()


def guid_is_global(guid: str) -> bool:
    """Whether a guid is meant to be unique across feeds (a URL, URN or tag URI, or long)."""
    return "://" in guid or guid.startswith(("urn:", "tag:")) or len(guid) >= 24


def titles_agree(a: str, b: str) -> bool:
    a, b = normalise(a), normalise(b)
    if not a or not b:
        return True
    return fuzz.token_sort_ratio(a, b) >= SAME_LINK_TITLE_SIMILARITY


def match_existing(
    *,
    feed_url: str | None,
    guid: str | None,
    canonical_url: str | None,
    title: str,
    existing: list[ExistingRef],
) -> ExistingRef | None:
    """The stored article this entry is, if any."""
    for ref in existing:
        if guid and ref.guid == guid and (ref.feed_url == feed_url or guid_is_global(guid)):
            return ref
    for ref in existing:
        if not canonical_url or ref.canonical_url != canonical_url:
            continue
        # Same feed, both with guids that differ: the feed says these are two entries.
        if ref.feed_url == feed_url and guid and ref.guid and guid != ref.guid:
            if not titles_agree(title, ref.title):
                continue
            if guid_is_global(guid) or guid_is_global(ref.guid):
                continue
        if titles_agree(title, ref.title):
            return ref
    return None
