"""The read side of the store: articles, stories and counts, on either engine.

:class:`SqlReads` holds the queries; :class:`~aggregator.store.sql.SqlStore` adds
the connection, :meth:`~aggregator.store.sql.SqlStore.atomic` and the writes. A
read-only store (one CLI command, one web request) only ever runs what is here and in
:mod:`aggregator.store.web_reads`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from aggregator.store.engine import Connection, Dialect, Location, Params, is_disconnect, wrapped
from aggregator.store.rows import Row, article_from_row, story_from_row, to_db
from aggregator.types import StoredArticle, StoryRecord


def article_select(dialect: Dialect) -> str:
    """An article with what links it to others: its original's addresses, the feeds listing
    it."""
    return f"""
    SELECT a.*, d.canonical_url AS dup_canonical, d.url AS dup_url, d.key AS dup_key,
           (SELECT {dialect.listagg("feed_url")} FROM article_feeds f
             WHERE f.article_id = a.id) AS listed_in
    FROM articles a LEFT JOIN articles d ON d.id = a.duplicate_of
"""


# a story with its size; callers add WHERE and GROUP BY s.id
STORY_SELECT = """
    SELECT s.id, s.title, s.first_published, s.last_updated, s.merged_into,
           count(a.id) AS article_count,
           count(DISTINCT coalesce(a.source, a.feed_url)) AS source_count
    FROM stories s JOIN articles a ON a.story_id = s.id
"""


def follow_merges(db: Connection, story_id: str) -> str | None:
    """The story that holds an id's articles now, merge records followed; None when no story
    has this id."""
    seen: set[str] = set()
    current = story_id
    while current not in seen:
        seen.add(current)
        row = db.execute("SELECT merged_into FROM stories WHERE id = ?", (current,)).fetchone()
        if row is None:
            return None if current == story_id else current
        if not row[0]:
            return current
        current = row[0]
    return current


class SqlReads:
    """Queries over one connection, driver errors wrapped into StorageError."""

    where: Location
    _db: Connection
    _broken = False  # the server went away: the next use connects anew

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Driver errors become StorageError naming the database: the store's boundary."""
        try:
            with wrapped(self.where):
                yield
        except Exception as exc:
            if exc.__cause__ is not None and is_disconnect(exc.__cause__):
                self._broken = True
            raise

    @property
    def _article_select(self) -> str:
        return article_select(self._db.dialect)

    def reconnect(self) -> None:
        """Connect anew when the server went away (SqlStore)."""

    def _query(self, sql: str, params: Params = ()) -> list[Row]:
        if self._broken:
            self.reconnect()
        with self._errors():
            return list(self._db.execute(sql, params).fetchall())

    def _select_articles(self, where: str, params: Params = ()) -> list[StoredArticle]:
        return [article_from_row(r) for r in self._query(self._article_select + where, params)]

    def _select_stories(self, where: str, params: Params = ()) -> list[StoryRecord]:
        return [story_from_row(r) for r in self._query(STORY_SELECT + where, params)]

    # ------------------------------------------------------------------ articles
    def articles(self) -> Iterator[StoredArticle]:
        # streamed, not a list: exports read every article of the store
        with self._errors():
            for row in self._db.stream(self._article_select + " ORDER BY a.sort_time, a.id"):
                yield article_from_row(row)

    def story_articles(self, story_id: str) -> list[StoredArticle]:
        story_id = self.resolve_story_id(story_id)
        return self._select_articles(
            " WHERE a.story_id = ? ORDER BY a.sort_time, a.id", (story_id,)
        )

    # ------------------------------------------------------------------ stories
    def resolve_story_id(self, story_id: str) -> str:
        """Follow merge records to the story that holds an id's articles now."""
        with self._errors():
            return follow_merges(self._db, story_id) or story_id

    def stories(self, since: datetime | None = None) -> list[StoryRecord]:
        where = "WHERE s.merged_into IS NULL"
        params: tuple[Any, ...] = ()
        if since is not None:
            where += " AND s.last_updated >= ?"
            params = (to_db(since),)
        return self._select_stories(where + " GROUP BY s.id", params)

    def story(self, story_id: str) -> StoryRecord | None:
        story_id = self.resolve_story_id(story_id)
        found = self._select_stories(" WHERE s.id = ? GROUP BY s.id", (story_id,))
        return found[0] if found else None

    def counts(self) -> dict[str, int]:
        row = self._query(
            """SELECT (SELECT count(*) FROM articles) AS articles,
                      (SELECT count(*) FROM stories WHERE merged_into IS NULL
                         AND EXISTS (SELECT 1 FROM articles a WHERE a.story_id = stories.id))
                        AS stories,
                      (SELECT count(*) FROM articles WHERE duplicate_of IS NOT NULL) AS duplicates,
                      (SELECT count(*) FROM feeds) AS feeds"""
        )[0]
        return {k: int(row[k]) for k in row.keys()}  # noqa: SIM118 - a Row, not a dict
