"""The Store protocol over SQLite (the default) or PostgreSQL, one implementation for both.

One connection per Store object (SQLite in WAL mode so readers never block the writer),
versioned migrations (:mod:`.schema`), every write through :meth:`SqlStore.atomic`, and
driver errors wrapped into :class:`StorageError` at this boundary. The layers:

    tables.py     the schema, once, for both engines (SQLAlchemy Core)
    schema.py     its versions and upgrades
    engine.py     where the store is, the connection, the engines' few differences
    rows.py       rows <-> records
    reads.py      SqlReads: the Store protocol's read side
    web_reads.py  WebReads(SqlReads): paged and filtered reads for aggregator.web
    sql.py        SqlStore(WebReads): opening, atomic(), feeds and the writes
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from aggregator.errors import StorageError
from aggregator.store import ExistingRef, FeedState, Overview, corrections
from aggregator.store.engine import Connection, Location, connect, location
from aggregator.store.leases import PLACEMENT_LOCK, Holder, check_lease, holders
from aggregator.store.reads import follow_merges
from aggregator.store.rows import (
    Row,
    article_to_row,
    doc_from_row,
    feed_from_row,
    feed_to_row,
    from_db,
    ref_from_row,
    sort_time,
    to_db,
    utc_now,
)
from aggregator.store.schema import LATEST, migrate, user_version
from aggregator.store.web_reads import WebReads
from aggregator.types import ClusterDoc, Correction, NewArticle, PageFill, PendingPage, Placement


class SqlStore(WebReads):
    """The store at ``where``: ``<storage>/aggregator.sqlite3``, or a PostgreSQL database."""

    # the daemon whose feed leases every write for a feed is checked against (several
    # daemons on PostgreSQL); None: no checks (SQLite, one-off commands)
    lease_holder: str | None = None
    _seen_id = 0  # the last article placing() knows of (PostgreSQL)

    def __init__(self, where: Location | Path, *, readonly: bool = False):
        self.where = where if isinstance(where, Location) else Location(Path(where))
        self.directory = self.where.directory
        self.path = self.where.path
        self.readonly = readonly
        self._depth = 0
        if not self.where.url and readonly:
            if not self.path.exists():
                raise StorageError(f"{self.path}: no database here yet (run the aggregator first)")
            with self._errors():
                behind = _behind(self.path)
            if behind:
                # a reader met a database the new program has not upgraded yet: the
                # migrations only add, so run them once rather than fail on a new table
                # (a reader without write access reads on; the daemon will upgrade)
                with contextlib.suppress(StorageError):
                    SqlStore(self.where).close()
        self._db = self._open()

    def _open(self) -> Connection:
        with self._errors():
            db = connect(self.where, readonly=self.readonly)
            self._db = db
            if not self.readonly:
                migrate(db, self.atomic, self.where)
            else:
                if db.pg and user_version(db) < LATEST:
                    raise StorageError(
                        f"{self.where.describe()}: no aggregator store here yet, or an older "
                        "one (run the aggregator first)"
                    )
                # A reader (one CLI command, one web request) sees one snapshot for the
                # store's life: without it, a write landing between two of its queries shows
                # a story counted with 2 articles and listed with 4. In WAL mode this never
                # blocks the writer; close() ends the transaction.
                db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" if db.pg else "BEGIN")
        self._broken = False
        if db.pg and not self.readonly and not self._seen_id:  # (not on reconnecting)
            self._seen_id = self._last_article_id()
        return db

    # ------------------------------------------------------------------ plumbing
    def __enter__(self) -> SqlStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(*_CLOSE_ERRORS):
            self._db.close()

    @property
    def shared(self) -> bool:
        """Whether several daemons may write here at once (PostgreSQL)."""
        return self._db.pg

    def reconnect(self) -> None:
        """A new connection if the server went away (raises StorageError while it is down)."""
        if self._broken and self._depth == 0:
            self.close()
            self._db = self._open()

    @contextmanager
    def atomic(self) -> Iterator[Connection]:
        """A transaction; nested calls become savepoints."""
        outermost = self._depth == 0
        if outermost:
            self.reconnect()
        name = f"sp{self._depth}"
        db = self._db
        with self._errors():
            db.execute(
                ("BEGIN" if db.pg else "BEGIN IMMEDIATE") if outermost else f"SAVEPOINT {name}"
            )
        self._depth += 1
        try:
            with self._errors():
                yield db
        except BaseException:
            self._depth -= 1
            with contextlib.suppress(*_CLOSE_ERRORS):
                if outermost:
                    db.execute("ROLLBACK")
                else:
                    db.execute(f"ROLLBACK TO {name}")
                    db.execute(f"RELEASE {name}")
            raise
        self._depth -= 1
        with self._errors():
            db.execute("COMMIT" if outermost else f"RELEASE {name}")

    @contextmanager
    def placing(self) -> Iterator[list[tuple[ClusterDoc, str]]]:
        """One article's dedupe, placement and write, one writer at a time.

        On PostgreSQL: a transaction holding the placement lock (the writes inside join it),
        which yields the articles other daemons stored since this store last looked (they
        belong in this daemon's clustering window too). On SQLite, where one daemon writes:
        nothing to hold, nothing from others.
        """
        if not self._db.pg:
            yield []
            return
        with self.atomic() as db:
            db.execute("SELECT pg_advisory_xact_lock(?)", (PLACEMENT_LOCK,))
            rows = db.execute(
                "SELECT id, key, title, text, sort_time, source, story_id FROM articles "
                "WHERE id > ? AND story_id IS NOT NULL ORDER BY id",
                (self._seen_id,),
            ).fetchall()
            if rows:
                self._seen_id = int(rows[-1]["id"])
            yield [(doc_from_row(r), r["story_id"]) for r in rows]

    def _last_article_id(self) -> int:
        return int(self._query("SELECT coalesce(max(id), 0) FROM articles")[0][0])

    def _holding(self, db: Connection, feed_url: str | None) -> None:
        """LeaseLost if another daemon took the feed (checked in the write's transaction)."""
        if self.lease_holder and feed_url and db.pg:
            check_lease(db, self.lease_holder, feed_url)

    def schema_version(self) -> int:
        return user_version(self._db)

    def integrity_check(self) -> str:
        if self._db.pg:
            return "ok"  # PostgreSQL checks its pages itself
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])

    # ------------------------------------------------------------------ feeds
    def feed_state(self, url: str) -> FeedState | None:
        rows = self._query("SELECT * FROM feeds WHERE url = ?", (url,))
        return self._feed_from_row(rows[0]) if rows else None

    def feed_states(self) -> list[FeedState]:
        return [self._feed_from_row(r) for r in self._query("SELECT * FROM feeds ORDER BY url")]

    def _feed_from_row(self, row: Row) -> FeedState:
        articles = self._query(
            "SELECT count(*) FROM article_feeds WHERE feed_url = ?", (row["url"],)
        )[0][0]
        return feed_from_row(row, articles)

    def save_feed_state(self, state: FeedState) -> None:
        values = feed_to_row(state)
        with self.atomic() as db:
            self._holding(db, state.url)
            db.execute(_insert("feeds", values, upsert_on="url"), values)

    # ------------------------------------------------------------------ write side
    def lookup(
        self, guid: str | None, canonical_url: str | None, keys: Sequence[str] = ()
    ) -> list[ExistingRef]:
        """Stored articles that may be this entry: by guid, canonical URL or key."""
        if not guid and not canonical_url and not keys:
            return []
        marks = ",".join("?" * len(keys)) or "NULL"
        rows = self._query(
            "SELECT key, guid, canonical_url, title, feed_url, url FROM articles "
            f"WHERE guid = ? OR canonical_url = ? OR key IN ({marks})",
            (guid, canonical_url, *keys),
        )
        return [ref_from_row(r) for r in rows]

    def add_listing(self, key: str, feed_url: str) -> None:
        with self.atomic() as db:
            self._holding(db, feed_url)
            db.execute(
                _LIST_ARTICLE + "SELECT id, ?, ? FROM articles WHERE key = ?" + _LISTED,
                (feed_url, to_db(utc_now()), key),
            )

    def add_article(
        self, article: NewArticle, placement: Placement, duplicate_of_key: str | None
    ) -> int:
        """Write one article with its story and merges, all in one transaction.

        An article whose key is stored already (another writer was first: the unique key
        decides, not an earlier read) is only listed under this feed; nothing else changes.
        """
        try:
            return self._add_article(article, placement, duplicate_of_key)
        except _AlreadyStored:
            if article.feed_url:
                self.add_listing(article.key, article.feed_url)
            return int(self._query("SELECT id FROM articles WHERE key = ?", (article.key,))[0][0])

    def _add_article(
        self, article: NewArticle, placement: Placement, duplicate_of_key: str | None
    ) -> int:
        with self.atomic() as db:
            self._holding(db, article.feed_url)
            if db.pg:
                # another daemon may have merged away a story this daemon's memory still has
                placement = _resolved(db, placement)
            for absorbed, surviving in placement.merges:
                corrections.merge_into(db, absorbed, surviving, utc_now())
            self._upsert_story(db, placement, sort_time(article))
            dup_id = None
            if duplicate_of_key:
                row = db.execute(
                    "SELECT id FROM articles WHERE key = ?", (duplicate_of_key,)
                ).fetchone()
                dup_id = row[0] if row else None
            values = article_to_row(article, placement, dup_id)
            article_id = db.insert_id(
                _insert("articles", values) + " ON CONFLICT (key) DO NOTHING", values
            )
            if article_id is None:
                raise _AlreadyStored  # undoes the story's and merges' writes above
            self._seen_id = max(self._seen_id, article_id)
            if article.feed_url:
                db.execute(
                    _LIST_ARTICLE + "VALUES (?, ?, ?)" + _LISTED,
                    (article_id, article.feed_url, to_db(article.fetched)),
                )
        return article_id

    def _upsert_story(self, db: Connection, placement: Placement, sort_time: str | None) -> None:
        title = placement.story_title
        least, greatest = db.dialect.least, db.dialect.greatest
        db.execute(
            f"""INSERT INTO stories (id, title, created, first_published, last_updated)
               VALUES (:id, :title, :created, :time, :time)
               ON CONFLICT(id) DO UPDATE SET
                 title = coalesce(:new_title, stories.title),
                 first_published = {least}(
                     coalesce(stories.first_published, excluded.first_published),
                     coalesce(excluded.first_published, stories.first_published)),
                 last_updated = {greatest}(
                     coalesce(stories.last_updated, excluded.last_updated),
                     coalesce(excluded.last_updated, stories.last_updated))""",
            {
                "id": placement.story_id,
                "title": title or "",
                "created": to_db(utc_now()),
                "time": sort_time,
                "new_title": title,
            },
        )

    def recent_docs(self, since: datetime) -> Iterator[tuple[ClusterDoc, str]]:
        """Articles of the clustering window, oldest first, to rebuild the clusterer."""
        if self._db.pg:  # placing() hands over what others store from here on
            self._seen_id = self._last_article_id()
        rows = self._query(
            "SELECT key, title, text, sort_time, source, story_id FROM articles "
            "WHERE sort_time >= ? AND story_id IS NOT NULL ORDER BY sort_time, id",
            (to_db(since),),
        )
        for r in rows:
            yield doc_from_row(r), r["story_id"]

    def latest_time(self) -> datetime | None:
        row = self._query("SELECT max(sort_time) FROM articles")[0]
        return from_db(row[0])

    # ------------------------------------------------------------------ retention
    # ------------------------------------------------------------ deferred pages
    def queue_pages(self, feed_url: str, pages: Sequence[tuple[str, str]]) -> None:
        """Defer the pages of stored articles (key, page URL); an article queued twice (or no
        longer stored) is left as it is."""
        now = to_db(utc_now())
        with self.atomic() as db:
            self._holding(db, feed_url)
            db.executemany(
                "INSERT INTO page_backlog (article_key, feed_url, url, queued) "
                "SELECT key, ?, ?, ? FROM articles WHERE key = ? "
                "ON CONFLICT (article_key) DO NOTHING",
                [(feed_url, url, now, key) for key, url in pages],
            )

    def pending_pages(self, feed_url: str, limit: int) -> list[PendingPage]:
        """The feed's deferred pages, oldest queued first."""
        rows = self._query(
            "SELECT b.article_key, b.url, b.attempts, a.title, a.text, a.text_source "
            "FROM page_backlog b JOIN articles a ON a.key = b.article_key "
            "WHERE b.feed_url = ? ORDER BY b.queued, a.id LIMIT ?",
            (feed_url, max(0, limit)),
        )
        return [
            PendingPage(
                r["article_key"],
                r["url"],
                r["title"],
                r["text"] if r["text_source"] == "feed" else "",
                r["attempts"],
            )
            for r in rows
        ]

    def fill_page(self, fill: PageFill) -> None:
        """A deferred page arrived: its body replaces the feed's text; off the backlog."""
        with self.atomic() as db:
            db.execute(
                "UPDATE articles SET text = ?, text_source = ?, content_hash = ?, words = ?, "
                "author = COALESCE(author, ?), image = COALESCE(image, ?), "
                "language = COALESCE(language, ?) WHERE key = ?",
                (
                    fill.text,
                    fill.text_source,
                    fill.content_hash,
                    len(fill.text.split()),
                    fill.author,
                    fill.image,
                    fill.language,
                    fill.key,
                ),
            )
            db.execute("DELETE FROM page_backlog WHERE article_key = ?", (fill.key,))

    def page_failed(self, key: str, max_attempts: int) -> None:
        """One more failed try; after ``max_attempts`` the article keeps the feed's text."""
        with self.atomic() as db:
            db.execute(
                "UPDATE page_backlog SET attempts = attempts + 1 WHERE article_key = ?", (key,)
            )
            db.execute(
                "DELETE FROM page_backlog WHERE article_key = ? AND attempts >= ?",
                (key, max_attempts),
            )

    # ------------------------------------------------------------ operators' corrections
    def split_article(self, ref: str, canonical: str | None = None) -> Correction:
        with self.atomic() as db:
            return corrections.split_article(db, ref, canonical, utc_now())

    def merge_stories(self, story: str, other: str) -> Correction:
        with self.atomic() as db:
            return corrections.merge_stories(db, story, other, utc_now())

    def corrections(self, after: int = 0) -> list[Correction]:
        with self._errors():
            return corrections.corrections_since(self._db, after)

    def story_corrections(self, story_id: str) -> list[Correction]:
        story_id = self.resolve_story_id(story_id)
        with self._errors():
            return corrections.story_corrections(self._db, story_id)

    def article_doc(self, key: str) -> ClusterDoc | None:
        """What the clusterer knows of one stored article."""
        rows = self._query(
            "SELECT key, title, text, sort_time, source, story_id FROM articles WHERE key = ?",
            (key,),
        )
        return doc_from_row(rows[0]) if rows else None

    def daemons(self) -> list[Holder]:
        """The daemons sharing this store and the feeds each holds (none on SQLite)."""
        if not self._db.pg:
            return []
        with self._errors():
            return holders(self._db)

    def overview(self) -> Overview:
        """Counts, feeds, body health and pages waiting, in one read."""
        return Overview(
            self.counts(), self.feed_states(), self.body_health(), self.pending_counts()
        )

    def drop_pending(self, feed_url: str) -> None:
        """Forget a feed's deferred pages (its articles keep the feed's text)."""
        with self.atomic() as db:
            db.execute("DELETE FROM page_backlog WHERE feed_url = ?", (feed_url,))

    def pending_counts(self) -> dict[str, int]:
        """Deferred pages waiting, per feed URL."""
        rows = self._query("SELECT feed_url, COUNT(*) AS n FROM page_backlog GROUP BY feed_url")
        return {r["feed_url"]: int(r["n"]) for r in rows}

    def prune(self, before: datetime) -> dict[str, int]:
        """Delete articles older than `before` and the stories left empty, in one transaction.

        Copies of a deleted original keep their text but lose the link (duplicate_of NULL);
        merge records stay, so old story ids still resolve while their survivor exists.
        """
        cutoff = to_db(before)
        with self.atomic() as db:
            db.execute(
                "UPDATE articles SET duplicate_of = NULL WHERE duplicate_of IN "
                "(SELECT id FROM articles WHERE sort_time < ?)",
                (cutoff,),
            )
            articles = db.execute("DELETE FROM articles WHERE sort_time < ?", (cutoff,)).rowcount
            # a live story left without articles goes, with the ids merged into it
            # (merge chains are flattened when written, so one level is enough)
            db.execute("CREATE TEMP TABLE IF NOT EXISTS dead_stories (id TEXT PRIMARY KEY)")
            db.execute("DELETE FROM dead_stories")
            db.execute(
                "INSERT INTO dead_stories SELECT id FROM stories s WHERE merged_into IS NULL "
                "AND NOT EXISTS (SELECT 1 FROM articles a WHERE a.story_id = s.id)"
            )
            stories = db.execute(
                "DELETE FROM stories WHERE id IN (SELECT id FROM dead_stories) "
                "OR merged_into IN (SELECT id FROM dead_stories)"
            ).rowcount
            db.execute("DELETE FROM story_merges WHERE surviving NOT IN (SELECT id FROM stories)")
            db.execute(
                "DELETE FROM page_backlog WHERE article_key NOT IN (SELECT key FROM articles)"
            )
        vacuumed = 0
        if self._db.pg:
            return {"articles": articles, "stories": stories, "vacuumed": vacuumed}
        pages, free = (
            self._query("PRAGMA page_count")[0][0],
            self._query("PRAGMA freelist_count")[0][0],
        )
        if articles and pages and free / pages > 0.25:
            # worth it only when a quarter of the file is free pages
            self._db.execute("VACUUM")
            vacuumed = 1
        return {"articles": articles, "stories": stories, "vacuumed": vacuumed}


def _behind(path: Path) -> bool:
    """Whether the SQLite database at ``path`` has not run every migration yet."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return int(db.execute("PRAGMA user_version").fetchone()[0]) < LATEST
    finally:
        db.close()


class _AlreadyStored(Exception):
    """An article's key was taken by another writer between the lookup and the insert."""


def _resolved(db: Connection, placement: Placement) -> Placement:
    """The placement with its story ids as they are now, merges followed."""
    story = follow_merges(db, placement.story_id) or placement.story_id
    merges = tuple(
        (a, s)
        for a, s in (
            (follow_merges(db, a) or a, follow_merges(db, s) or s) for a, s in placement.merges
        )
        if a != s
    )
    if (story, merges) == (placement.story_id, placement.merges):
        return placement
    return replace(placement, story_id=story, merges=merges)


def open_store(directory: Path, database: str | None = None, *, readonly: bool = False) -> SqlStore:
    """The store: PostgreSQL at ``database`` (or env AGGREGATOR_DATABASE), else the SQLite
    file in ``directory``."""
    return SqlStore(location(directory, database), readonly=readonly)


# errors closing or rolling back a connection that is gone already
_CLOSE_ERRORS: tuple[type[BaseException], ...] = (sqlite3.Error, OSError, StorageError)
with contextlib.suppress(ImportError):
    import psycopg

    _CLOSE_ERRORS = (*_CLOSE_ERRORS, psycopg.Error)

# both ways an article gets listed under a feed (a repeat listing is a no-op)
_LIST_ARTICLE = "INSERT INTO article_feeds (article_id, feed_url, first_seen) "
_LISTED = " ON CONFLICT (article_id, feed_url) DO NOTHING"


def _insert(table: str, values: Mapping[str, Any], *, upsert_on: str | None = None) -> str:
    """An INSERT of ``values`` (named parameters); ``upsert_on``: update on that conflict."""
    sql = f"INSERT INTO {table} ({', '.join(values)}) VALUES ({', '.join(f':{k}' for k in values)})"
    if upsert_on:
        updates = ", ".join(f"{k} = excluded.{k}" for k in values if k != upsert_on)
        sql += f" ON CONFLICT({upsert_on}) DO UPDATE SET {updates}"
    return sql
