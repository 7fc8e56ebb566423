"""SQLite implementation of the Store protocol.

One connection per Store object, WAL mode so readers never block the writer, numbered
migrations keyed by ``PRAGMA user_version`` (:mod:`.schema`), every write through
:meth:`SqliteStore.atomic`, and sqlite3 errors wrapped into :class:`StorageError` at this
boundary. The store is built in layers, each a module a second backend can mirror:

    schema.py     the DDL and its migrations
    rows.py       rows <-> records (backend-neutral)
    reads.py      SqliteReads: the Store protocol's read side
    web_reads.py  WebReads(SqliteReads): paged and filtered reads for aggregator.web
    sqlite.py     SqliteStore(WebReads): the connection, atomic(), feeds and the writes
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aggregator.errors import StorageError
from aggregator.store import ExistingRef, FeedState, Overview, corrections, stamp
from aggregator.store.rows import (
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
from aggregator.store.schema import MIGRATIONS, migrate, user_version
from aggregator.store.web_reads import WebReads
from aggregator.types import ClusterDoc, Correction, NewArticle, PageFill, PendingPage, Placement

DB_NAME = "aggregator.sqlite3"


class SqliteStore(WebReads):
    """The store in ``<storage>/aggregator.sqlite3``."""

    def __init__(self, directory: Path, *, readonly: bool = False):
        self.directory = Path(directory)
        self.path = self.directory / DB_NAME
        self._depth = 0
        with self._errors():
            if readonly:
                if not self.path.exists():
                    raise StorageError(
                        f"{self.path}: no database here yet (run the aggregator first)"
                    )
                if _behind(self.path):
                    # a reader met a database the new program has not upgraded yet: the
                    # migrations only add, so run them once rather than fail on a new table
                    # (a reader without write access reads on; the daemon will upgrade)
                    with contextlib.suppress(StorageError):
                        SqliteStore(self.directory).close()
                self._db = sqlite3.connect(
                    f"file:{self.path}?mode=ro", uri=True, timeout=30, isolation_level=None
                )
            else:
                self.directory.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.execute("PRAGMA busy_timeout = 30000")
            if not readonly:
                self._db.execute("PRAGMA journal_mode = WAL")
                self._db.execute("PRAGMA synchronous = NORMAL")
                migrate(self._db, self.atomic, self.path)
            else:
                # A reader (one CLI command, one web request) sees one snapshot for the
                # store's life: without it, a write landing between two of its queries shows
                # a story counted with 2 articles and listed with 4. In WAL mode this never
                # blocks the writer; close() ends the transaction.
                self._db.execute("BEGIN")

    # ------------------------------------------------------------------ plumbing
    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def atomic(self) -> Iterator[sqlite3.Connection]:
        """A transaction; nested calls become savepoints."""
        outermost = self._depth == 0
        name = f"sp{self._depth}"
        with self._errors():
            self._db.execute("BEGIN IMMEDIATE" if outermost else f"SAVEPOINT {name}")
        self._depth += 1
        try:
            yield self._db
        except BaseException:
            self._depth -= 1
            if outermost:
                self._db.execute("ROLLBACK")
            else:
                self._db.execute(f"ROLLBACK TO {name}")
                self._db.execute(f"RELEASE {name}")
            raise
        self._depth -= 1
        with self._errors():
            self._db.execute("COMMIT" if outermost else f"RELEASE {name}")

    def schema_version(self) -> int:
        return user_version(self._db)

    def integrity_check(self) -> str:
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])

    # ------------------------------------------------------------------ feeds
    def feed_state(self, url: str) -> FeedState | None:
        rows = self._query("SELECT * FROM feeds WHERE url = ?", (url,))
        return self._feed_from_row(rows[0]) if rows else None

    def feed_states(self) -> list[FeedState]:
        return [self._feed_from_row(r) for r in self._query("SELECT * FROM feeds ORDER BY url")]

    def _feed_from_row(self, row: sqlite3.Row) -> FeedState:
        articles = self._query(
            "SELECT count(*) FROM article_feeds WHERE feed_url = ?", (row["url"],)
        )[0][0]
        return feed_from_row(row, articles)

    def save_feed_state(self, state: FeedState) -> None:
        values = feed_to_row(state)
        with self.atomic() as db:
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
            db.execute(
                _LIST_ARTICLE + "SELECT id, ?, ? FROM articles WHERE key = ?",
                (feed_url, to_db(utc_now()), key),
            )

    def add_article(
        self, article: NewArticle, placement: Placement, duplicate_of_key: str | None
    ) -> int:
        """Write one article with its story and merges, all in one transaction."""
        with self.atomic() as db:
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
            cursor = db.execute(_insert("articles", values), values)
            article_id = int(cursor.lastrowid or 0)
            if article.feed_url:
                db.execute(
                    _LIST_ARTICLE + "VALUES (?, ?, ?)",
                    (article_id, article.feed_url, to_db(article.fetched)),
                )
        return article_id

    def _upsert_story(
        self, db: sqlite3.Connection, placement: Placement, sort_time: str | None
    ) -> None:
        title = placement.story_title
        db.execute(
            """INSERT INTO stories (id, title, created, first_published, last_updated)
               VALUES (?, ?, ?, ?, ?)
               ON CONFLICT(id) DO UPDATE SET
                 title = coalesce(?, stories.title),
                 first_published = min(coalesce(stories.first_published, excluded.first_published),
                                       coalesce(excluded.first_published, stories.first_published)),
                 last_updated = max(coalesce(stories.last_updated, excluded.last_updated),
                                    coalesce(excluded.last_updated, stories.last_updated))""",
            (placement.story_id, title or "", to_db(utc_now()), sort_time, sort_time, title),
        )

    def recent_docs(self, since: datetime) -> Iterator[tuple[ClusterDoc, str]]:
        """Articles of the clustering window, oldest first, to rebuild the clusterer."""
        rows = self._query(
            "SELECT key, title, text, sort_time, source, story_id FROM articles "
            "WHERE sort_time >= ? AND story_id IS NOT NULL ORDER BY sort_time, id",
            (to_db(since),),
        )
        for r in rows:
            yield doc_from_row(r), r["story_id"]

    def window_stamp(self, window: timedelta) -> str:
        """What a saved clustering window must match to be taken back (stamp.py)."""
        return stamp.window_stamp(self._query, window)

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
            db.executemany(
                "INSERT OR IGNORE INTO page_backlog (article_key, feed_url, url, queued) "
                "SELECT key, ?, ?, ? FROM articles WHERE key = ?",
                [(feed_url, url, now, key) for key, url in pages],
            )

    def pending_pages(self, feed_url: str, limit: int) -> list[PendingPage]:
        """The feed's deferred pages, oldest queued first."""
        rows = self._query(
            "SELECT b.article_key, b.url, b.attempts, a.title, a.text, a.text_source "
            "FROM page_backlog b JOIN articles a ON a.key = b.article_key "
            "WHERE b.feed_url = ? ORDER BY b.queued, b.rowid LIMIT ?",
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
    """Whether the database at ``path`` has not run every migration yet."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return user_version(db) < len(MIGRATIONS)
    finally:
        db.close()


# the start of both ways an article gets listed under a feed (a repeat listing is a no-op)
_LIST_ARTICLE = "INSERT OR IGNORE INTO article_feeds (article_id, feed_url, first_seen) "


def _insert(table: str, values: Mapping[str, Any], *, upsert_on: str | None = None) -> str:
    """An INSERT of ``values`` (named parameters); ``upsert_on``: update on that conflict."""
    sql = f"INSERT INTO {table} ({', '.join(values)}) VALUES ({', '.join(f':{k}' for k in values)})"
    if upsert_on:
        updates = ", ".join(f"{k} = excluded.{k}" for k in values if k != upsert_on)
        sql += f" ON CONFLICT({upsert_on}) DO UPDATE SET {updates}"
    return sql
