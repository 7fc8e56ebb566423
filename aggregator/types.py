"""Frozen records that cross stage boundaries, named by their role.

    FetchResult   what came back from an HTTP request (fetch)
    ParsedFeed    what a feed document says (parse), holding ParsedEntry records
    Extracted     what an article page says (extract)
    ClusterDoc    what the near-duplicate detector and the clusterer see of an article
    Placement     what the clusterer decided for one article
    NewArticle    what is about to be written to the store (pipeline -> store)
    StoredArticle what the store knows of an article (store -> readers)
    StoryRecord   what the store knows of a story (store -> readers)

Times are timezone-aware UTC datetimes everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class FetchResult:
    url: str  # the URL asked for
    final_url: str  # after redirects
    status: int  # HTTP status of the last response (304 when not modified)
    content: bytes = b""
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    # the URL a permanent redirect (301/308) of the first hop pointed to, if any
    permanent_redirect: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True)
class ParsedEntry:
    guid: str | None  # the entry's id / guid as given by the feed
    url: str | None  # the entry's link, made absolute
    title: str  # plain text, may be ""
    published: datetime | None  # UTC
    updated: datetime | None  # UTC
    summary: str  # plain text of the summary / description
    content: str  # plain text of the full content, if the feed carries it
    author: str | None = None
    image: str | None = None


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    link: str | None  # the site's home page, if given
    entries: tuple[ParsedEntry, ...]
    format: str  # e.g. "rss20", "atom10", "json11"
    ttl_seconds: int | None = None  # what the feed says about how often to poll
    warnings: tuple[str, ...] = ()  # non-fatal problems (bozo) worth logging


@dataclass(frozen=True)
class Extracted:
    text: str  # main text, paragraphs separated by "\n"
    title: str | None = None
    author: str | None = None
    date: datetime | None = None
    image: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class PendingPage:
    """A stored article whose page was deferred (a poll brought more new entries than it may
    fetch pages for): it keeps the feed's text until a later poll fetches the page."""

    key: str
    url: str
    title: str
    feed_text: str
    attempts: int = 0


@dataclass(frozen=True)
class PageFill:
    """A deferred page, fetched and extracted: the body that replaces the feed's text."""

    key: str
    text: str
    text_source: str  # "page", "feed" or "none", as choose_text decided
    content_hash: str
    author: str | None = None
    image: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class ClusterDoc:
    id: str  # unique article key (stable; the store's article key)
    title: str
    text: str  # body text ("" when only a headline is known)
    published: datetime | None  # UTC; None when unknown
    source: str | None = None  # outlet name


@dataclass(frozen=True)
class Placement:
    story_id: str
    score: float  # similarity to the story it joined (1.0 for a new story)
    new_story: bool
    duplicate_of: str | None = None  # id of the article this one copies, if any
    evidence: dict[str, Any] = field(default_factory=dict)
    # stories absorbed into others because of this article: (absorbed_id, surviving_id)
    merges: tuple[tuple[str, str], ...] = ()
    # the surviving story's representative title after this article joined
    story_title: str | None = None
    # articles moved out of this story into new ones because it held two events
    # (article_id, new_story_id); the article itself may be one of them
    moves: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class NewArticle:
    key: str  # unique article key
    guid: str | None
    url: str | None  # as listed in the feed
    canonical_url: str | None
    title: str
    feed_url: str | None
    source: str | None  # feed / outlet name
    published: datetime | None
    fetched: datetime
    text: str
    text_source: str  # "page", "feed" or "none"
    summary: str = ""
    author: str | None = None
    image: str | None = None
    language: str | None = None
    content_hash: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class StoredArticle:
    id: int
    key: str
    guid: str | None
    url: str | None
    canonical_url: str | None
    title: str
    feed_url: str | None
    source: str | None
    published: datetime | None
    fetched: datetime
    text: str
    text_source: str
    summary: str
    author: str | None
    image: str | None
    language: str | None
    story_id: str | None
    duplicate_of: str | None  # canonical URL (or key) of the article this one copies
    duplicate_of_key: str | None
    score: float | None
    evidence: dict[str, Any]
    feeds: tuple[str, ...]  # every feed that listed it
    tags: tuple[str, ...]


@dataclass(frozen=True)
class StoryRecord:
    id: str
    title: str
    first_published: datetime | None
    last_updated: datetime | None
    article_count: int
    source_count: int
    merged_into: str | None = None


@dataclass(frozen=True)
class Correction:
    """An operator's correction of the clustering, kept and respected by later placement.

    split: ``article`` left ``story`` for a story of its own, ``other`` (and never rejoins
    ``story`` by itself); merge: ``story`` was absorbed into ``other``.
    """

    id: int
    kind: str  # "split" or "merge"
    story: str
    other: str
    at: datetime
    article: str | None = None  # the article key (split)


def iso_utc(dt: datetime | None) -> str | None:
    """A UTC time as ISO 8601 with a "Z" (the form exports, the API and feeds use)."""
    return dt.isoformat().replace("+00:00", "Z") if dt else None
