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
    base.py       SqlBase(WebReads): opening, atomic(), placing(), reconnecting
    sql.py        SqlStore(SqlBase): feeds, the writes, pages waiting, corrections
    leases.py     several daemons on PostgreSQL: feed leases, heartbeats, placement lock
    copy.py       copying a store (aggregator migrate)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from aggregator.store import ExistingRef, FeedState, Overview, corrections, stamp
from aggregator.store.base import SqlBase
from aggregator.store.engine import Connection
from aggregator.store.leases import Holder, holders
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
from aggregator.store.sql_accounts import SqlAccounts
from aggregator.types import ClusterDoc, Correction, NewArticle, PageFill, PendingPage, Placement


class SqlStore(SqlBase, SqlAccounts):
    """The store at ``where``: ``<storage>/aggregator.sqlite3``, or a PostgreSQL database:
    feeds, the writes, pages waiting, corrections and retention; readers' accounts."""

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
        # PostgreSQL inside the caller's transaction (placing()), for a placement that merges
        # and moves nothing: the write is one statement, atomic by itself, that writes nothing
        # when the key is stored already, so it needs no savepoint of its own (a round trip's
        # commands less per article)
        alone = self._db.pg and self._depth > 0 and not (placement.merges or placement.moves)
        with self._in_callers() if alone else self.atomic() as db:
            self._holding(db, article.feed_url, nested=not alone)
            if db.pg and placement.merges:
                # another daemon may have merged away a story this daemon's memory still has
                placement = _resolved(db, placement)
            for absorbed, surviving in placement.merges:
                corrections.merge_into(db, absorbed, surviving, utc_now())
            if db.pg:
                article_id = _write_in_one(db, article, placement, duplicate_of_key)
                self.unindexed()
            else:
                article_id = self._write_steps(db, article, placement, duplicate_of_key)
            if article_id is None:
                raise _AlreadyStored  # undoes the story's and merges' writes above, if any
            self._seen_id = max(self._seen_id, article_id)
            if placement.moves:
                corrections.move_articles(db, placement.moves, utc_now())
        return article_id

    def _write_steps(
        self,
        db: Connection,
        article: NewArticle,
        placement: Placement,
        duplicate_of_key: str | None,
    ) -> int | None:
        """SQLite (no round trips to save): the story's upsert, the article and its listing,
        one statement each; the new article's id, None if its key was stored already."""
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
        if article_id is not None and article.feed_url:
            db.execute(
                _LIST_ARTICLE + "VALUES (?, ?, ?)" + _LISTED,
                (article_id, article.feed_url, to_db(article.fetched)),
            )
        return article_id

    def _upsert_story(self, db: Connection, placement: Placement, sort_time: str | None) -> None:
        title = placement.story_title
        db.execute(
            "INSERT INTO stories (id, title, created, first_published, last_updated) "
            "VALUES (:id, :title, :created, :time, :time) " + _story_conflict(db),
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
            self.unindexed()  # PostgreSQL: the new text is indexed beside the write
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

    def stories_apart(self, since: datetime | None = None) -> list[tuple[str, str]]:
        with self._errors():
            return corrections.stories_apart(self._db, since)

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
                "DELETE FROM stories_apart WHERE story_id NOT IN (SELECT id FROM stories) "
                "OR other_story_id NOT IN (SELECT id FROM stories)"
            )
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


class _AlreadyStored(Exception):
    """An article's key was taken by another writer between the lookup and the insert."""


def _story_conflict(db: Connection) -> str:
    """What writing a story already stored changes: the title when a new one is given, and
    its span widened to the new article's time."""
    least, greatest = db.dialect.least, db.dialect.greatest
    return f"""ON CONFLICT(id) DO UPDATE SET
        title = coalesce(:new_title, stories.title),
        first_published = {least}(
            coalesce(stories.first_published, excluded.first_published),
            coalesce(excluded.first_published, stories.first_published)),
        last_updated = {greatest}(
            coalesce(stories.last_updated, excluded.last_updated),
            coalesce(excluded.last_updated, stories.last_updated))"""


def _write_in_one(
    db: Connection, article: NewArticle, placement: Placement, duplicate_of_key: str | None
) -> int | None:
    """PostgreSQL: the story's upsert, the article and its listing in one statement (one
    round trip per article); the new article's id, None if its key was stored already.

    The story id is the one the placement names, merge records followed in the statement:
    another daemon may have merged away a story this daemon's memory still has."""
    values = article_to_row(article, placement, None)
    exprs = {name: f":{name}" for name in values}
    exprs["story_id"] = "(SELECT id FROM target)"
    exprs["duplicate_of"] = "(SELECT id FROM articles WHERE key = :duplicate_of_key)"
    feed = article.feed_url
    listing = (
        f", l AS ({_LIST_ARTICLE}SELECT id, :listed_feed, :listed_seen FROM a{_LISTED})"
        if feed
        else ""
    )
    sql = f"""WITH RECURSIVE chain(id, hops) AS (
            SELECT CAST(:story_id AS text), 0
            UNION ALL
            SELECT s.merged_into, c.hops + 1 FROM stories s JOIN chain c ON s.id = c.id
            WHERE s.merged_into IS NOT NULL AND c.hops < 100),
        target AS (SELECT id FROM chain ORDER BY hops DESC LIMIT 1),
        story AS (INSERT INTO stories (id, title, created, first_published, last_updated)
            SELECT id, :story_title, :created, :sort_time, :sort_time FROM target
            WHERE NOT EXISTS (SELECT 1 FROM articles WHERE key = :key)
            {_story_conflict(db)}),
        a AS (INSERT INTO articles ({", ".join(exprs)}) VALUES ({", ".join(exprs.values())})
            ON CONFLICT (key) DO NOTHING RETURNING id){listing}
        SELECT id FROM a"""
    params = {
        **values,
        "duplicate_of_key": duplicate_of_key,
        "story_title": placement.story_title or "",
        "new_title": placement.story_title,
        "created": to_db(utc_now()),
        "listed_feed": feed,
        "listed_seen": to_db(article.fetched),
    }
    return db.insert_id(sql, params, returning=False)


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
