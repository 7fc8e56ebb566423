"""Article identity: the stable key of an entry and the exact-duplicate decision.

Across feeds, one stored article per global guid / canonical URL (tracking parameters and
fragments dropped). Inside one feed the feed's own word counts: two entries one feed lists
separately stay two articles unless they share a guid, or share link (fragment included),
title and content. So a newsletter whose items differ only by ``#fragment`` keeps every
item, and a feed that gives every entry the same link keeps every entry whose title
differs. Pure functions: no I/O.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import urlsplit

from rapidfuzz import fuzz

from aggregator.store import ExistingRef

# Below this title similarity (0-100), two entries with the same link are different articles.
SAME_LINK_TITLE_SIMILARITY = 80.0


def article_key(
    feed_url: str | None, guid: str | None, link: str | None, title: str, text: str = ""
) -> str:
    """A stable key for a new entry: the same entry in the same feed always gets the same key,
    and two entries of one feed document get one key only when they share a guid, or share
    link (with its fragment), title and text."""
    if guid:
        return _key("guid", feed_url or "", guid)
    return _key("entry", feed_url or "", link or "", normalise(title), normalise(text))


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


def fragment(url: str | None) -> str:
    try:
        return urlsplit(url or "").fragment
    except ValueError:
        return ""


def legacy_key(
    feed_url: str | None, guid: str | None, canonical_url: str | None, title: str
) -> str:
    """The key earlier versions gave an entry (before link fragments and text counted), so
    articles they stored are still recognised."""
    return _key(feed_url or "", guid or "", canonical_url or "", title)


def _key(*parts: str) -> str:
    return "a" + hashlib.sha1("\n".join(parts).encode("utf-8")).hexdigest()[:20]


def match_existing(
    *,
    feed_url: str | None,
    guid: str | None,
    canonical_url: str | None,
    title: str,
    existing: list[ExistingRef],
    url: str | None = None,
    shared_link: bool = False,
    keys: tuple[str, ...] = (),
) -> ExistingRef | None:
    """The stored article this entry is, if any.

    ``url`` is the link as the feed lists it; ``shared_link`` says that other entries of the
    same feed document list that link too, so inside that feed it says nothing of identity;
    ``keys``: the entry's own key (and the key earlier versions gave it).
    """
    for ref in existing:
        if ref.key in keys:
            return ref
    for ref in existing:
        if guid and ref.guid == guid and (ref.feed_url == feed_url or guid_is_global(guid)):
            return ref
    for ref in existing:
        if not canonical_url or ref.canonical_url != canonical_url:
            continue
        mine, theirs = fragment(url), fragment(ref.url)
        if mine and theirs and mine != theirs:
            continue  # entries.php#111 and entries.php#110: two items of one page
        if ref.feed_url != feed_url:
            if titles_agree(title, ref.title):
                return ref
        elif not shared_link and _same_entry_of_one_feed(guid, url, title, ref):
            # a link every entry of the document shares says nothing of identity: such
            # entries are matched by their keys alone (guid, or title and text), above
            return ref
    return None


def _same_entry_of_one_feed(
    guid: str | None, url: str | None, title: str, ref: ExistingRef
) -> bool:
    """An entry of the feed that first stored ``ref``, with the same canonical link."""
    if (
        guid
        and ref.guid
        and guid != ref.guid
        and (guid_is_global(guid) or guid_is_global(ref.guid))
    ):
        return False  # the feed says these are two entries
    if url and ref.url and fragment(url) != fragment(ref.url):
        return False
    return titles_agree(title, ref.title)
