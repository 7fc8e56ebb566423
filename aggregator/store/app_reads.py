"""What readers' apps ask of the store (Google Reader and Fever APIs), in SQL.

Apps list *items*: stored articles with their wire copies folded into the original (an item
is an article whose ``duplicate_of`` is NULL), each with the user's read and starred marks
and its story. A stream is a set of items:

    all            every item (Google Reader's reading-list)
    feed URL       items listed in that feed, or whose wire copy it listed
    label TAG      items carrying the feed tag (the folder the apps show)
    story TITLE    items of the live stories with that title ("Story: ..." labels)
    starred, read  items the user starred, or read

Every function runs on a :class:`~aggregator.store.engine.Connection`, the same SQL on both
engines; the one test the engines spell apart (a tag in the JSON tags column) is the
dialect's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aggregator.store.accounts import set_marks
from aggregator.store.engine import Connection
from aggregator.store.rows import Row, from_db, tag_counts, to_db

_ALL = 2**62  # LIMIT for "no limit" (SQLite's -1 and PostgreSQL's ALL differ)

STREAM_KINDS = ("all", "feed", "label", "story", "starred", "read")


@dataclass(frozen=True)
class Stream:
    kind: str = "all"
    value: str = ""


@dataclass(frozen=True)
class ItemQuery:
    """Which items of a stream, in which order, which page."""

    stream: Stream = Stream()
    read: bool | None = None  # False: unread only (xt=read); True: read only
    starred: bool | None = None
    since: datetime | None = None  # ot
    until: datetime | None = None  # nt
    oldest_first: bool = False
    limit: int = 20
    offset: int = 0
    after_id: int | None = None  # Fever's since_id
    before_id: int | None = None  # Fever's max_id


@dataclass(frozen=True)
class AppItem:
    id: int
    title: str
    url: str | None
    feed_url: str | None
    source: str | None
    author: str | None
    text: str
    sort_time: datetime
    fetched: datetime
    story_id: str | None
    story_title: str | None
    tags: tuple[str, ...]
    read: bool
    starred: bool


@dataclass(frozen=True)
class Subscription:
    url: str
    title: str
    tags: tuple[str, ...]


_ITEM = "a.duplicate_of IS NULL"
_READ = "EXISTS (SELECT 1 FROM read_marks r WHERE r.user_id = :user AND r.article_id = a.id)"
_STARRED = "EXISTS (SELECT 1 FROM star_marks m WHERE m.user_id = :user AND m.article_id = a.id)"
_STREAMS = {
    "all": "1 = 1",
    "feed": "a.id IN (SELECT coalesce(x.duplicate_of, x.id) FROM articles x "
    "JOIN article_feeds f ON f.article_id = x.id WHERE f.feed_url = :value)",
    "label": "",  # the engine's own JSON test (Dialect.has_tag)
    "story": "a.story_id IN (SELECT s.id FROM stories s "
    "WHERE s.title = :value AND s.merged_into IS NULL)",
    "starred": _STARRED,
    "read": _READ,
}


def _where(db: Connection, user_id: int, q: ItemQuery) -> tuple[str, dict[str, Any]]:
    kind = q.stream.kind
    clauses = [_ITEM, db.dialect.has_tag("a.tags", "value") if kind == "label" else _STREAMS[kind]]
    params: dict[str, Any] = {"user": user_id, "value": q.stream.value}
    for flag, test in ((q.read, _READ), (q.starred, _STARRED)):
        if flag is not None:
            clauses.append(test if flag else f"NOT {test}")
    for name, op, value in (
        ("since", ">=", q.since),
        ("until", "<=", q.until),
        ("after_id", ">", q.after_id),
        ("before_id", "<", q.before_id),
    ):
        if value is not None:
            column = "a.sort_time" if name in ("since", "until") else "a.id"
            clauses.append(f"{column} {op} :{name}")
            params[name] = to_db(value) if isinstance(value, datetime) else value
    return " AND ".join(clauses), params


def item_ids(db: Connection, user_id: int, q: ItemQuery) -> list[int]:
    """One page of a stream's item ids, newest first (or oldest first)."""
    where, params = _where(db, user_id, q)
    direction = "ASC" if q.oldest_first else "DESC"
    rows = db.execute(
        f"SELECT a.id FROM articles a WHERE {where} "
        f"ORDER BY a.sort_time {direction}, a.id {direction} LIMIT :limit OFFSET :offset",
        {
            **params,
            "limit": _ALL if q.limit is None or q.limit < 0 else q.limit,
            "offset": q.offset,
        },
    ).fetchall()
    return [int(r[0]) for r in rows]


def ids_by_id(db: Connection, user_id: int, q: ItemQuery) -> list[int]:
    """Fever's paging: items by id, ascending (``after_id``) or descending (``before_id``)."""
    where, params = _where(db, user_id, q)
    direction = "DESC" if q.before_id is not None and q.after_id is None else "ASC"
    rows = db.execute(
        f"SELECT a.id FROM articles a WHERE {where} ORDER BY a.id {direction} LIMIT :limit",
        {**params, "limit": q.limit},
    ).fetchall()
    return [int(r[0]) for r in rows]


def count_items(db: Connection, user_id: int, q: ItemQuery) -> int:
    where, params = _where(db, user_id, q)
    return int(db.execute(f"SELECT count(*) FROM articles a WHERE {where}", params).fetchone()[0])


def items(db: Connection, user_id: int, ids: list[int]) -> list[AppItem]:
    """The items with these ids, in the order given (unknown ids and wire copies left out)."""
    found: dict[int, AppItem] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join(f":i{n}" for n in range(len(chunk)))
        rows = db.execute(
            "SELECT a.id, a.title, a.url, a.feed_url, a.source, a.author, a.text, a.sort_time, "
            f"a.fetched, a.story_id, s.title AS story_title, a.tags, {_READ} AS is_read, "
            f"{_STARRED} AS is_starred FROM articles a LEFT JOIN stories s ON s.id = a.story_id "
            f"WHERE {_ITEM} AND a.id IN ({marks})",
            {"user": user_id, **{f"i{n}": i for n, i in enumerate(chunk)}},
        ).fetchall()
        for r in rows:
            found[int(r["id"])] = _item_from_row(r)
    return [found[i] for i in ids if i in found]


def _item_from_row(r: Row) -> AppItem:
    sort_time, fetched = from_db(r["sort_time"]), from_db(r["fetched"])
    assert sort_time is not None and fetched is not None
    return AppItem(
        id=int(r["id"]),
        title=r["title"],
        url=r["url"],
        feed_url=r["feed_url"],
        source=r["source"],
        author=r["author"],
        text=r["text"],
        sort_time=sort_time,
        fetched=fetched,
        story_id=r["story_id"],
        story_title=r["story_title"],
        tags=tuple(json.loads(r["tags"] or "[]")),
        read=bool(r["is_read"]),
        starred=bool(r["is_starred"]),
    )


def mark_stream_read(
    db: Connection, user_id: int, q: ItemQuery, now: datetime, read: bool = True
) -> int:
    """Mark every item of the query (no paging) read, wire copies with them."""
    where, params = _where(db, user_id, q)
    rows = db.execute(f"SELECT a.id FROM articles a WHERE {where}", params).fetchall()
    return set_marks(db, "read", user_id, [int(r[0]) for r in rows], read, now)


def subscriptions(db: Connection) -> list[Subscription]:
    """The operator's feeds with the tags of their newest article (the apps' folders)."""
    tags = {
        r["feed_url"]: tuple(json.loads(r["tags"] or "[]"))
        for r in db.execute(
            "SELECT a.feed_url, a.tags FROM articles a WHERE a.id IN "
            "(SELECT max(b.id) FROM articles b WHERE b.feed_url IS NOT NULL GROUP BY b.feed_url)"
        )
    }
    rows = db.execute("SELECT url, name, title FROM feeds ORDER BY url").fetchall()
    return [
        Subscription(r["url"], r["name"] or r["title"] or r["url"], tags.get(r["url"], ()))
        for r in rows
    ]


def unread_counts(
    db: Connection, user_id: int
) -> tuple[int, dict[str, tuple[int, datetime | None]], dict[str, int]]:
    """Unread items in all, per feed URL (with the newest one's time) and per tag."""
    unread = (
        "NOT EXISTS (SELECT 1 FROM read_marks r WHERE r.user_id = :user "
        "AND r.article_id = coalesce(x.duplicate_of, x.id))"
    )
    params = {"user": user_id}
    per_feed = {
        r["feed_url"]: (int(r["n"]), from_db(r["newest"]))
        for r in db.execute(
            "SELECT f.feed_url, count(DISTINCT coalesce(x.duplicate_of, x.id)) AS n, "
            "max(x.sort_time) AS newest FROM articles x "
            f"JOIN article_feeds f ON f.article_id = x.id WHERE {unread} GROUP BY f.feed_url",
            params,
        )
    }
    a_unread = unread.replace("x.", "a.")
    per_tag = tag_counts(
        db.execute(
            f"SELECT a.tags, count(*) AS n FROM articles a WHERE {_ITEM} AND {a_unread} "
            "GROUP BY a.tags",
            params,
        )
    )
    total = int(
        db.execute(
            f"SELECT count(*) FROM articles a WHERE {_ITEM} AND {a_unread}", params
        ).fetchone()[0]
    )
    return total, per_feed, per_tag
