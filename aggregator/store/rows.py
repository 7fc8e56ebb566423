"""Rows <-> records: what the tables hold, as the rest of the program sees it.

Times are stored as ISO 8601 UTC text ("...Z"), tags and evidence as JSON text. Nothing here
runs a query: the functions read rows by column name, so they serve any backend whose rows
do (``sqlite3.Row``, and :class:`aggregator.store.engine.Row` on PostgreSQL).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any, Protocol

from aggregator.store import ExistingRef, FeedState
from aggregator.types import ClusterDoc, NewArticle, Placement, StoredArticle, StoryRecord


class Row(Protocol):
    """A result row whose columns are read by name."""

    def __getitem__(self, key: Any, /) -> Any: ...
    def __iter__(self) -> Iterator[Any]: ...
    def keys(self) -> list[str]: ...


def to_db(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_db(value: str | None) -> datetime | None:
    if not value:
        return None
    # fromisoformat is ~50x faster than strptime and reads the "Z" we write (Python 3.11+);
    # the web orders and caches every story of a period, thousands of rows per request
    return datetime.fromisoformat(value)


def tag_counts(rows: Iterable[Row]) -> dict[str, int]:
    """Articles per tag from rows of ``tags, n`` (a JSON list and how many articles carry it,
    grouped by the list): few distinct lists exist, about one per feed, so the store counts
    them and the lists are split here."""
    counts: dict[str, int] = {}
    for row in rows:
        for tag in json.loads(row["tags"] or "[]"):
            counts[tag] = counts.get(tag, 0) + int(row["n"])
    return counts


def utc_now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------------- feeds
# every FeedState field is a column of ``feeds`` but ``articles``, which is counted
_FEED_TIMES = ("last_polled", "last_success", "next_poll", "last_changed")


def feed_to_row(state: FeedState) -> dict[str, Any]:
    values = {f.name: getattr(state, f.name) for f in fields(state) if f.name != "articles"}
    for name in _FEED_TIMES:
        values[name] = to_db(values[name])
    values["gone"] = int(values["gone"])  # an integer column on both engines
    return values


def feed_from_row(row: Row, articles: int) -> FeedState:
    values = {f.name: row[f.name] for f in fields(FeedState) if f.name != "articles"}
    for name in _FEED_TIMES:
        values[name] = from_db(values[name])
    values["gone"] = bool(values["gone"])
    return FeedState(**values, articles=articles)


# ---------------------------------------------------------------------- articles
# StoredArticle fields read from the column of the same name, as stored: all but these
_ARTICLE_CONVERTED = {
    "published",
    "fetched",
    "duplicate_of",
    "duplicate_of_key",
    "evidence",
    "feeds",
    "tags",
}
_ARTICLE_AS_STORED = [f.name for f in fields(StoredArticle) if f.name not in _ARTICLE_CONVERTED]


def article_to_row(
    article: NewArticle, placement: Placement, duplicate_of: int | None
) -> dict[str, Any]:
    """The ``articles`` row of a new article (``duplicate_of``: the original's row id)."""
    # every NewArticle field is a column of the same name
    as_is = {f.name: getattr(article, f.name) for f in fields(article)}
    return {
        **as_is,
        "published": to_db(article.published),
        "fetched": to_db(article.fetched),
        "sort_time": sort_time(article),
        "words": len(article.text.split()),
        "tags": json.dumps(list(article.tags)),
        "story_id": placement.story_id,
        "duplicate_of": duplicate_of,
        "score": placement.score,
        "evidence": json.dumps(placement.evidence, default=str),
    }


def sort_time(article: NewArticle) -> str | None:
    """What articles and stories are ordered by: publication, else when it was fetched."""
    return to_db(article.published or article.fetched)


def article_from_row(r: Row) -> StoredArticle:
    """An article as selected with its original's link (``dup_*``) and feeds (``listed_in``)."""
    return StoredArticle(
        **{name: r[name] for name in _ARTICLE_AS_STORED},
        published=from_db(r["published"]),
        fetched=from_db(r["fetched"]) or utc_now(),
        duplicate_of=r["dup_canonical"] or r["dup_url"] or r["dup_key"],
        duplicate_of_key=r["dup_key"],
        evidence=json.loads(r["evidence"] or "{}"),
        feeds=tuple((r["listed_in"] or "").split("\n")) if r["listed_in"] else (),
        tags=tuple(json.loads(r["tags"] or "[]")),
    )


def ref_from_row(r: Row) -> ExistingRef:
    return ExistingRef(r["key"], r["guid"], r["canonical_url"], r["title"], r["feed_url"], r["url"])


def doc_from_row(r: Row) -> ClusterDoc:
    """What the clusterer needs of a stored article."""
    return ClusterDoc(
        id=r["key"],
        title=r["title"],
        text=r["text"],
        published=from_db(r["sort_time"]),
        source=r["source"],
    )


# ---------------------------------------------------------------------- stories
def story_from_row(r: Row) -> StoryRecord:
    """A story as selected with its ``article_count`` and ``source_count``."""
    return StoryRecord(
        id=r["id"],
        title=r["title"],
        first_published=from_db(r["first_published"]),
        last_updated=from_db(r["last_updated"]),
        article_count=r["article_count"],
        source_count=r["source_count"],
        merged_into=r["merged_into"],
    )
