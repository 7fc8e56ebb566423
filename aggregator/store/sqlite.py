"""SQLite implementation of the Store protocol.

One connection per Store object, WAL mode so readers never block the writer, numbered
migrations keyed by ``PRAGMA user_version``, every write through :meth:`SqliteStore.atomic`,
and sqlite3 errors wrapped into :class:`StorageError` at this boundary.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aggregator.errors import StorageError
from aggregator.store import ExistingRef, FeedState
from aggregator.types import ClusterDoc, NewArticle, Placement, StoredArticle, StoryRecord

DB_NAME = "aggregator.sqlite3"

# Each entry upgrades the schema by one version; never edit a released entry, append a new one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE feeds (
        url TEXT PRIMARY KEY,
        name TEXT,
        etag TEXT,
        last_modified TEXT,
        content_hash TEXT,
        last_polled TEXT,
        last_success TEXT,
        last_status INTEGER,
        last_error TEXT,
        error_kind TEXT,
        error_count INTEGER NOT NULL DEFAULT 0,
        redirected_to TEXT,
        entries INTEGER NOT NULL DEFAULT 0,
        title TEXT
    );
    CREATE TABLE stories (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        created TEXT NOT NULL,
        first_published TEXT,
        last_updated TEXT,
        merged_into TEXT REFERENCES stories(id)
    );
    CREATE TABLE articles (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        guid TEXT,
        url TEXT,
        canonical_url TEXT,
        title TEXT NOT NULL,
        feed_url TEXT,
        source TEXT,
        published TEXT,
        fetched TEXT NOT NULL,
        sort_time TEXT NOT NULL,
        text TEXT NOT NULL,
        text_source TEXT NOT NULL,
        summary TEXT NOT NULL DEFAULT '',
        author TEXT,
        image TEXT,
        language TEXT,
        content_hash TEXT,
        tags TEXT NOT NULL DEFAULT '[]',
        story_id TEXT REFERENCES stories(id),
        duplicate_of INTEGER REFERENCES articles(id),
        score REAL,
        evidence TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX articles_guid ON articles(guid);
    CREATE INDEX articles_canonical ON articles(canonical_url);
    CREATE INDEX articles_story ON articles(story_id);
    CREATE INDEX articles_sort_time ON articles(sort_time);
    CREATE TABLE article_feeds (
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        feed_url TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        PRIMARY KEY (article_id, feed_url)
    );
    CREATE TABLE story_merges (
        absorbed TEXT PRIMARY KEY,
        surviving TEXT NOT NULL,
        at TEXT NOT NULL
    );
    """,
    """
    ALTER TABLE feeds ADD COLUMN next_poll TEXT;
    ALTER TABLE feeds ADD COLUMN gone INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE feeds ADD COLUMN declared_seconds REAL;
    ALTER TABLE feeds ADD COLUMN change_interval REAL;
    ALTER TABLE feeds ADD COLUMN last_changed TEXT;
    ALTER TABLE feeds ADD COLUMN retry_after REAL;
    """,
    # read side for the web: story sizes from an index alone, tag lists, per-feed filters
    """
    CREATE INDEX articles_story_outlet ON articles(story_id, source, feed_url);
    CREATE INDEX articles_tags ON articles(tags);
    CREATE INDEX article_feeds_feed ON article_feeds(feed_url);
    """,
)


def to_db(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_db(value: str | None) -> datetime | None:
    if not value:
        return None
    # fromisoformat is ~50x faster than strptime and reads the "Z" we write (Python 3.11+)
    return datetime.fromisoformat(value)


def _now() -> datetime:
    return datetime.now(UTC)


class SqliteStore:
    """The store in ``<storage>/aggregator.sqlite3``."""

    def __init__(self, directory: Path, *, readonly: bool = False):
        self.directory = Path(directory)
        self.path = self.directory / DB_NAME
        self._depth = 0
        try:
            if readonly:
                if not self.path.exists():
                    raise StorageError(
                        f"{self.path}: no database here yet (run the aggregator first)"
                    )
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
                self._migrate()
            else:
                # A reader (one CLI command, one web request) sees one snapshot for the
                # store's life: without it, a write landing between two of its queries shows
                # a story counted with 2 articles and listed with 4. In WAL mode this never
                # blocks the writer; close() ends the transaction.
                self._db.execute("BEGIN")
        except sqlite3.Error as exc:
            raise StorageError(f"{self.path}: {exc}") from exc

    # ------------------------------------------------------------------ plumbing
    def close(self) -> None:
        self._db.close()

    @contextmanager
    def atomic(self) -> Iterator[sqlite3.Connection]:
        """A transaction; nested calls become savepoints."""
        name = f"sp{self._depth}"
        try:
            if self._depth == 0:
                self._db.execute("BEGIN IMMEDIATE")
            else:
                self._db.execute(f"SAVEPOINT {name}")
        except sqlite3.Error as exc:
            raise StorageError(f"{self.path}: {exc}") from exc
        self._depth += 1
        try:
            yield self._db
        except BaseException:
            self._depth -= 1
            if self._depth == 0:
                self._db.execute("ROLLBACK")
            else:
                self._db.execute(f"ROLLBACK TO {name}")
                self._db.execute(f"RELEASE {name}")
            raise
        else:
            self._depth -= 1
            try:
                if self._depth == 0:
                    self._db.execute("COMMIT")
                else:
                    self._db.execute(f"RELEASE {name}")
            except sqlite3.Error as exc:
                raise StorageError(f"{self.path}: {exc}") from exc

    def _query(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StorageError(f"{self.path}: {exc}") from exc

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StorageError(
                f"{self.path}: database schema version {version} is newer than this program "
                f"knows ({len(MIGRATIONS)}); upgrade the aggregator"
            )
        for number in range(version, len(MIGRATIONS)):
            # executescript() would COMMIT on its own; run statements one by one instead
            with self.atomic() as db:
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {number + 1}")

    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

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
        return FeedState(
            url=row["url"],
            name=row["name"],
            etag=row["etag"],
            last_modified=row["last_modified"],
            content_hash=row["content_hash"],
            last_polled=from_db(row["last_polled"]),
            last_success=from_db(row["last_success"]),
            last_status=row["last_status"],
            last_error=row["last_error"],
            error_kind=row["error_kind"],
            error_count=row["error_count"],
            redirected_to=row["redirected_to"],
            entries=row["entries"],
            articles=articles,
            title=row["title"],
            next_poll=from_db(row["next_poll"]),
            gone=bool(row["gone"]),
            declared_seconds=row["declared_seconds"],
            change_interval=row["change_interval"],
            last_changed=from_db(row["last_changed"]),
            retry_after=row["retry_after"],
        )

    def save_feed_state(self, state: FeedState) -> None:
        values = {f.name: getattr(state, f.name) for f in fields(state) if f.name != "articles"}
        for name in ("last_polled", "last_success", "next_poll", "last_changed"):
            values[name] = to_db(values[name])
        columns = ", ".join(values)
        marks = ", ".join(f":{k}" for k in values)
        updates = ", ".join(f"{k} = excluded.{k}" for k in values if k != "url")
        with self.atomic() as db:
            db.execute(
                f"INSERT INTO feeds ({columns}) VALUES ({marks}) "
                f"ON CONFLICT(url) DO UPDATE SET {updates}",
                values,
            )

    # ------------------------------------------------------------------ write side
    def lookup(self, guid: str | None, canonical_url: str | None) -> list[ExistingRef]:
        if not guid and not canonical_url:
            return []
        rows = self._query(
            "SELECT key, guid, canonical_url, title, feed_url FROM articles "
            "WHERE guid = ? OR canonical_url = ?",
            (guid, canonical_url),
        )
        return [
            ExistingRef(r["key"], r["guid"], r["canonical_url"], r["title"], r["feed_url"])
            for r in rows
        ]

    def add_listing(self, key: str, feed_url: str) -> None:
        with self.atomic() as db:
            db.execute(
                "INSERT OR IGNORE INTO article_feeds (article_id, feed_url, first_seen) "
                "SELECT id, ?, ? FROM articles WHERE key = ?",
                (feed_url, to_db(_now()), key),
            )

    def add_article(
        self, article: NewArticle, placement: Placement, duplicate_of_key: str | None
    ) -> int:
        """Write one article with its story and merges, all in one transaction."""
        sort_time = to_db(article.published or article.fetched)
        with self.atomic() as db:
            for absorbed, surviving in placement.merges:
                self._merge_stories(db, absorbed, surviving)
            self._upsert_story(db, placement, sort_time)
            dup_id = None
            if duplicate_of_key:
                row = db.execute(
                    "SELECT id FROM articles WHERE key = ?", (duplicate_of_key,)
                ).fetchone()
                dup_id = row[0] if row else None
            cursor = db.execute(
                """INSERT INTO articles (key, guid, url, canonical_url, title, feed_url, source,
                       published, fetched, sort_time, text, text_source, summary, author, image,
                       language, content_hash, tags, story_id, duplicate_of, score, evidence)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    article.key,
                    article.guid,
                    article.url,
                    article.canonical_url,
                    article.title,
                    article.feed_url,
                    article.source,
                    to_db(article.published),
                    to_db(article.fetched),
                    sort_time,
                    article.text,
                    article.text_source,
                    article.summary,
                    article.author,
                    article.image,
                    article.language,
                    article.content_hash,
                    json.dumps(list(article.tags)),
                    placement.story_id,
                    dup_id,
                    placement.score,
                    json.dumps(placement.evidence, default=str),
                ),
            )
            article_id = int(cursor.lastrowid or 0)
            if article.feed_url:
                db.execute(
                    "INSERT OR IGNORE INTO article_feeds (article_id, feed_url, first_seen) "
                    "VALUES (?, ?, ?)",
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
            (placement.story_id, title or "", to_db(_now()), sort_time, sort_time, title),
        )

    def _merge_stories(self, db: sqlite3.Connection, absorbed: str, surviving: str) -> None:
        if absorbed == surviving:
            return
        db.execute("UPDATE articles SET story_id = ? WHERE story_id = ?", (surviving, absorbed))
        old = db.execute(
            "SELECT first_published, last_updated FROM stories WHERE id = ?", (absorbed,)
        ).fetchone()
        if old is not None:
            db.execute(
                """UPDATE stories SET
                     first_published = min(coalesce(first_published, ?), coalesce(?, first_published)),
                     last_updated = max(coalesce(last_updated, ?), coalesce(?, last_updated))
                   WHERE id = ?""",
                (old[0], old[0], old[1], old[1], surviving),
            )
        db.execute("UPDATE stories SET merged_into = ? WHERE id = ?", (surviving, absorbed))
        db.execute(
            "UPDATE stories SET merged_into = ? WHERE merged_into = ?", (surviving, absorbed)
        )
        db.execute(
            "INSERT OR REPLACE INTO story_merges (absorbed, surviving, at) VALUES (?, ?, ?)",
            (absorbed, surviving, to_db(_now())),
        )

    def recent_docs(self, since: datetime) -> Iterator[tuple[ClusterDoc, str]]:
        """Articles of the clustering window, oldest first, to rebuild the clusterer."""
        rows = self._query(
            "SELECT key, title, text, sort_time, source, story_id FROM articles "
            "WHERE sort_time >= ? AND story_id IS NOT NULL ORDER BY sort_time, id",
            (to_db(since),),
        )
        for r in rows:
            doc = ClusterDoc(
                id=r["key"],
                title=r["title"],
                text=r["text"],
                published=from_db(r["sort_time"]),
                source=r["source"],
            )
            yield doc, r["story_id"]

    def latest_time(self) -> datetime | None:
        row = self._query("SELECT max(sort_time) FROM articles")[0]
        return from_db(row[0])

    # ------------------------------------------------------------------ retention
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

    # ------------------------------------------------------------------ read side
    _ARTICLE_SELECT = """
        SELECT a.*, d.canonical_url AS dup_canonical, d.url AS dup_url, d.key AS dup_key,
               (SELECT group_concat(feed_url, char(10)) FROM article_feeds f
                 WHERE f.article_id = a.id) AS listed_in
        FROM articles a LEFT JOIN articles d ON d.id = a.duplicate_of
    """

    def _article_from_row(self, r: sqlite3.Row) -> StoredArticle:
        dup = r["dup_canonical"] or r["dup_url"] or r["dup_key"]
        return StoredArticle(
            id=r["id"],
            key=r["key"],
            guid=r["guid"],
            url=r["url"],
            canonical_url=r["canonical_url"],
            title=r["title"],
            feed_url=r["feed_url"],
            source=r["source"],
            published=from_db(r["published"]),
            fetched=from_db(r["fetched"]) or _now(),
            text=r["text"],
            text_source=r["text_source"],
            summary=r["summary"],
            author=r["author"],
            image=r["image"],
            language=r["language"],
            story_id=r["story_id"],
            duplicate_of=dup,
            duplicate_of_key=r["dup_key"],
            score=r["score"],
            evidence=json.loads(r["evidence"] or "{}"),
            feeds=tuple((r["listed_in"] or "").split("\n")) if r["listed_in"] else (),
            tags=tuple(json.loads(r["tags"] or "[]")),
        )

    def articles(self) -> Iterator[StoredArticle]:
        try:
            cursor = self._db.execute(self._ARTICLE_SELECT + " ORDER BY a.sort_time, a.id")
            for row in cursor:
                yield self._article_from_row(row)
        except sqlite3.Error as exc:
            raise StorageError(f"{self.path}: {exc}") from exc

    def story_articles(self, story_id: str) -> list[StoredArticle]:
        story_id = self.resolve_story_id(story_id)
        rows = self._query(
            self._ARTICLE_SELECT + " WHERE a.story_id = ? ORDER BY a.sort_time, a.id", (story_id,)
        )
        return [self._article_from_row(r) for r in rows]

    def resolve_story_id(self, story_id: str) -> str:
        """Follow merge records to the story that holds an id's articles now."""
        seen = set()
        while story_id not in seen:
            seen.add(story_id)
            row = self._query("SELECT merged_into FROM stories WHERE id = ?", (story_id,))
            if not row or not row[0][0]:
                return story_id
            story_id = row[0][0]
        return story_id

    _STORY_SELECT = """
        SELECT s.id, s.title, s.first_published, s.last_updated, s.merged_into,
               count(a.id) AS article_count,
               count(DISTINCT coalesce(a.source, a.feed_url)) AS source_count
        FROM stories s JOIN articles a ON a.story_id = s.id
    """

    def _story_from_row(self, r: sqlite3.Row) -> StoryRecord:
        return StoryRecord(
            id=r["id"],
            title=r["title"],
            first_published=from_db(r["first_published"]),
            last_updated=from_db(r["last_updated"]),
            article_count=r["article_count"],
            source_count=r["source_count"],
            merged_into=r["merged_into"],
        )

    def stories(self, since: datetime | None = None) -> list[StoryRecord]:
        where = "WHERE s.merged_into IS NULL"
        params: tuple[Any, ...] = ()
        if since is not None:
            where += " AND s.last_updated >= ?"
            params = (to_db(since),)
        rows = self._query(self._STORY_SELECT + where + " GROUP BY s.id", params)
        return [self._story_from_row(r) for r in rows]

    def story(self, story_id: str) -> StoryRecord | None:
        story_id = self.resolve_story_id(story_id)
        rows = self._query(self._STORY_SELECT + " WHERE s.id = ? GROUP BY s.id", (story_id,))
        return self._story_from_row(rows[0]) if rows else None

    def counts(self) -> dict[str, int]:
        row = self._query(
            """SELECT (SELECT count(*) FROM articles) AS articles,
                      (SELECT count(*) FROM stories WHERE merged_into IS NULL
                         AND EXISTS (SELECT 1 FROM articles a WHERE a.story_id = stories.id))
                        AS stories,
                      (SELECT count(*) FROM articles WHERE duplicate_of IS NOT NULL) AS duplicates,
                      (SELECT count(*) FROM feeds) AS feeds"""
        )[0]
        return {k: int(row[k]) for k in row.keys()}  # noqa: SIM118 - sqlite3.Row

    # ------------------------------------------------------------------ read side for the web
    # Paged and filtered reads for aggregator.web (the readers' HTTP server). Additive only:
    # nothing above depends on these. Search is a LIKE scan over titles and bodies, measured
    # fast enough at 5,000 stories (bench/server_bench.py); FTS5 would need write-side triggers.

    def find_stories(
        self,
        *,
        since: datetime | None = None,
        tag: str | None = None,
        feed: str | None = None,
        min_sources: int = 1,
        words: tuple[str, ...] = (),
        order: str = "size",
        limit: int | None = 30,
        offset: int = 0,
    ) -> tuple[list[StoryRecord], int]:
        """One page (``limit=None``: all) of live stories matching every filter, and how
        many match in all.

        ``order="size"``: most outlets, most articles, newest first (the digest's order);
        ``order="recent"``: most recently updated first (for subscribable feeds).
        """
        where, params = self._story_filters(since=since, tag=tag, feed=feed, words=words)
        params["min_sources"] = min_sources
        matching = self._STORY_SELECT + where + " GROUP BY s.id HAVING source_count >= :min_sources"
        ordering = {
            "size": "source_count DESC, article_count DESC, last_updated DESC, id",
            "recent": "last_updated DESC, source_count DESC, id",
        }[order]
        rows = self._query(
            f"SELECT m.*, count(*) OVER () AS total FROM ({matching}) m "
            f"ORDER BY {ordering} LIMIT :limit OFFSET :offset",
            {**params, "limit": -1 if limit is None else limit, "offset": offset},
        )
        if rows:
            total = int(rows[0]["total"])
        else:  # past the last page: the window function had no row to report on
            total = int(self._query(f"SELECT count(*) FROM ({matching})", params)[0][0])
        return [_web_story(r) for r in rows], total

    def _story_filters(
        self,
        *,
        since: datetime | None,
        tag: str | None,
        feed: str | None,
        words: tuple[str, ...],
    ) -> tuple[str, dict[str, Any]]:
        clauses = ["s.merged_into IS NULL"]
        params: dict[str, Any] = {}
        if since is not None:
            clauses.append("s.last_updated >= :since")
            params["since"] = to_db(since)
        if tag:
            clauses.append(
                "EXISTS (SELECT 1 FROM articles t, json_each(t.tags) j "
                "WHERE t.story_id = s.id AND j.value = :tag)"
            )
            params["tag"] = tag
        if feed:
            clauses.append(
                "EXISTS (SELECT 1 FROM articles t JOIN article_feeds f ON f.article_id = t.id "
                "WHERE t.story_id = s.id AND f.feed_url = :feed)"
            )
            params["feed"] = feed
        # every word must appear somewhere in the story's coverage (not all in one article)
        for i, word in enumerate(words):
            clauses.append(
                "EXISTS (SELECT 1 FROM articles t WHERE t.story_id = s.id AND "
                f"(t.title LIKE :w{i} ESCAPE '\\' OR t.text LIKE :w{i} ESCAPE '\\'))"
            )
            params[f"w{i}"] = _like_pattern(word)
        return " WHERE " + " AND ".join(clauses), params

    def stories_articles(self, story_ids: list[str]) -> dict[str, list[StoredArticle]]:
        """The articles of several (unmerged) stories in one query, oldest first."""
        found: dict[str, list[StoredArticle]] = {sid: [] for sid in story_ids}
        # SQLite allows 32,766 parameters; a page of stories is far below that
        for start in range(0, len(story_ids), 500):
            chunk = story_ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            rows = self._query(
                self._ARTICLE_SELECT + f" WHERE a.story_id IN ({marks}) ORDER BY a.sort_time, a.id",
                tuple(chunk),
            )
            for r in rows:
                found[r["story_id"]].append(self._article_from_row(r))
        return found

    def find_articles(
        self,
        *,
        since: datetime | None = None,
        feed: str | None = None,
        words: tuple[str, ...] = (),
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[StoredArticle], int]:
        """One page of articles, newest first, and how many match in all."""
        clauses = ["1"]
        params: dict[str, Any] = {}
        if since is not None:
            clauses.append("a.sort_time >= :since")
            params["since"] = to_db(since)
        if feed:
            clauses.append(
                "EXISTS (SELECT 1 FROM article_feeds f WHERE f.article_id = a.id "
                "AND f.feed_url = :feed)"
            )
            params["feed"] = feed
        for i, word in enumerate(words):
            clauses.append(f"(a.title LIKE :w{i} ESCAPE '\\' OR a.text LIKE :w{i} ESCAPE '\\')")
            params[f"w{i}"] = _like_pattern(word)
        where = " WHERE " + " AND ".join(clauses)
        total = int(self._query("SELECT count(*) FROM articles a" + where, params)[0][0])
        rows = self._query(
            self._ARTICLE_SELECT + where + " ORDER BY a.sort_time DESC, a.id DESC "
            "LIMIT :limit OFFSET :offset",
            {**params, "limit": limit, "offset": offset},
        )
        return [self._article_from_row(r) for r in rows], total

    def tag_counts(self) -> list[tuple[str, int]]:
        """Every feed tag with the number of articles carrying it, most used first."""
        # few distinct tag lists exist (about one per feed): count them, then split in Python
        counts: dict[str, int] = {}
        for row in self._query("SELECT tags, count(*) AS n FROM articles GROUP BY tags"):
            for tag in json.loads(row["tags"] or "[]"):
                counts[tag] = counts.get(tag, 0) + int(row["n"])
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

    def change_marker(self) -> tuple[int, ...]:
        """Changes whenever a write could change what readers see (for caching reads).

        Every story change comes with a new article (merges happen in ``add_article``);
        new listings and deletions are caught by the other two numbers.
        """
        row = self._query(
            "SELECT (SELECT coalesce(max(id), 0) FROM articles), "
            "(SELECT count(*) FROM articles), "
            "(SELECT coalesce(max(rowid), 0) FROM article_feeds)"
        )[0]
        return tuple(int(v) for v in row)


def _web_time(value: str | None) -> datetime | None:
    # what from_db does, ~50x faster (fromisoformat reads the "Z" since Python 3.11); the
    # web orders and caches every story of a period, thousands of rows per request
    return datetime.fromisoformat(value) if value else None


def _web_story(r: sqlite3.Row) -> StoryRecord:
    return StoryRecord(
        id=r["id"],
        title=r["title"],
        first_published=_web_time(r["first_published"]),
        last_updated=_web_time(r["last_updated"]),
        article_count=r["article_count"],
        source_count=r["source_count"],
        merged_into=r["merged_into"],
    )


def _like_pattern(word: str) -> str:
    """``word`` as a LIKE pattern that matches it literally anywhere (ESCAPE '\\')."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
