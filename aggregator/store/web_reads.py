"""Paged and filtered reads for aggregator.web (the readers' HTTP server).

Additive only: the pipeline and the Store protocol depend on none of this. Words (``q``) and
searches go through the full-text index (:mod:`aggregator.store.search`).
"""

from __future__ import annotations

import statistics
from datetime import datetime
from typing import Any

from aggregator.store import BodyHealth
from aggregator.store.engine import Dialect
from aggregator.store.reads import STORY_SELECT, SqlReads
from aggregator.store.rows import article_from_row, story_from_row, tag_counts, to_db
from aggregator.store.search import SearchQuery, SearchResults, matches_sql, run_search
from aggregator.types import StoredArticle, StoryRecord

STORY_ORDERS = {
    # most outlets, most articles, newest first (the digest's order)
    "size": "source_count DESC, article_count DESC, last_updated DESC, id",
    # most recently updated first (for subscribable feeds)
    "recent": "last_updated DESC, source_count DESC, id",
}

# the filters, each with its named parameter
_STORY_TAGGED = "EXISTS (SELECT 1 FROM articles t WHERE t.story_id = s.id AND {})"
_STORY_FROM_FEED = (
    "EXISTS (SELECT 1 FROM articles t JOIN article_feeds f ON f.article_id = t.id "
    "WHERE t.story_id = s.id AND f.feed_url = :feed)"
)
# LIMIT for "no limit" (SQLite's -1 and PostgreSQL's ALL are not each other's)
_ALL = 2**62

_ARTICLE_FROM_FEED = (
    "EXISTS (SELECT 1 FROM article_feeds f WHERE f.article_id = a.id AND f.feed_url = :feed)"
)


class WebReads(SqlReads):
    """What the web's pages, API and feeds ask of the store, a page at a time."""

    def find_stories(
        self,
        *,
        since: datetime | None = None,
        tag: str | None = None,
        feed: str | None = None,
        min_sources: int = 1,
        match: SearchQuery | None = None,
        order: str = "size",
        limit: int | None = 30,
        offset: int = 0,
    ) -> tuple[list[StoryRecord], int]:
        """One page (``limit=None``: all) of live stories matching every filter, and how
        many match in all.

        ``order="size"``: most outlets, most articles, newest first (the digest's order);
        ``order="recent"``: most recently updated first (for subscribable feeds).
        """
        dialect = self._db.dialect
        where = _Where(dialect, "s.merged_into IS NULL")
        where.since("s.last_updated", since)
        where.add_if(tag, _STORY_TAGGED.format(dialect.has_tag("t.tags", "tag")), tag=tag)
        where.add_if(feed, _STORY_FROM_FEED, feed=feed)
        # one of the story's articles matches the whole search
        where.match(match, "s.id IN (SELECT m.story_id FROM ({}) m)")
        params = {**where.params, "min_sources": min_sources}
        matching = (
            STORY_SELECT
            + where.sql()
            + " GROUP BY s.id HAVING count(DISTINCT coalesce(a.source, a.feed_url)) >= :min_sources"
        )
        rows = self._query(
            f"SELECT m.*, count(*) OVER () AS total FROM ({matching}) m "
            f"ORDER BY {STORY_ORDERS[order]} LIMIT :limit OFFSET :offset",
            {**params, "limit": _ALL if limit is None else limit, "offset": offset},
        )
        if rows:
            total = int(rows[0]["total"])
        else:  # past the last page: the window function had no row to report on
            total = int(self._query(f"SELECT count(*) FROM ({matching}) m", params)[0][0])
        return [story_from_row(r) for r in rows], total

    def stories_articles(self, story_ids: list[str]) -> dict[str, list[StoredArticle]]:
        """The articles of several (unmerged) stories in one query, oldest first."""
        found: dict[str, list[StoredArticle]] = {sid: [] for sid in story_ids}
        # SQLite allows 32,766 parameters; a page of stories is far below that
        for start in range(0, len(story_ids), 500):
            chunk = story_ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            rows = self._query(
                self._article_select + f" WHERE a.story_id IN ({marks}) ORDER BY a.sort_time, a.id",
                tuple(chunk),
            )
            for r in rows:
                found[r["story_id"]].append(article_from_row(r))
        return found

    def find_articles(
        self,
        *,
        since: datetime | None = None,
        feed: str | None = None,
        match: SearchQuery | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[StoredArticle], int]:
        """One page of articles, newest first, and how many match in all."""
        where = _Where(self._db.dialect, "1 = 1")
        where.since("a.sort_time", since)
        where.add_if(feed, _ARTICLE_FROM_FEED, feed=feed)
        where.match(match, "a.id IN (SELECT m.id FROM ({}) m)")
        total = int(
            self._query("SELECT count(*) FROM articles a" + where.sql(), where.params)[0][0]
        )
        articles = self._select_articles(
            where.sql() + " ORDER BY a.sort_time DESC, a.id DESC LIMIT :limit OFFSET :offset",
            {**where.params, "limit": limit, "offset": offset},
        )
        return articles, total

    def search(self, query: SearchQuery, *, limit: int = 20, offset: int = 0) -> SearchResults:
        """One page of the stories matching a reader's search, best first, each with its
        best matching articles marked (wire copies folded)."""
        return run_search(self._query, query, limit=limit, offset=offset, dialect=self._db.dialect)

    def tag_counts(self) -> list[tuple[str, int]]:
        """Every feed tag with the number of articles carrying it, most used first."""
        counts = tag_counts(self._query("SELECT tags, count(*) AS n FROM articles GROUP BY tags"))
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

    def body_health(self) -> dict[str, BodyHealth]:
        """Per feed URL: bodies by source (page, feed, none) and their median length in words."""
        sources: dict[str, dict[str, int]] = {}
        words: dict[str, list[int]] = {}
        for row in self._query(
            "SELECT feed_url, text_source, words AS w FROM articles WHERE feed_url IS NOT NULL"
        ):
            feed = row["feed_url"]
            by_source = sources.setdefault(feed, {})
            by_source[row["text_source"]] = by_source.get(row["text_source"], 0) + 1
            words.setdefault(feed, []).append(int(row["w"]))
        return {
            feed: BodyHealth(
                page=counts.get("page", 0),
                feed=counts.get("feed", 0),
                none=counts.get("none", 0),
                median_words=int(statistics.median(words[feed])),
            )
            for feed, counts in sources.items()
        }

    def change_marker(self) -> tuple[int, ...]:
        """Changes whenever a write could change what readers see (for caching reads).

        Every story change comes with a new article (merges happen in ``add_article``);
        new listings and deletions are caught by the other two numbers (listings are only
        ever deleted with their article).
        """
        row = self._query(
            "SELECT (SELECT coalesce(max(id), 0) FROM articles), "
            "(SELECT count(*) FROM articles), "
            "(SELECT count(*) FROM article_feeds)"
        )[0]
        return tuple(int(v) for v in row)


class _Where:
    """A WHERE clause built filter by filter, with its named parameters."""

    def __init__(self, dialect: Dialect, first: str) -> None:
        self.like = dialect.like
        self.dialect = dialect
        self.clauses = [first]
        self.params: dict[str, Any] = {}

    def add(self, clause: str, **params: Any) -> None:
        self.clauses.append(clause)
        self.params.update(params)

    def add_if(self, value: object, clause: str, **params: Any) -> None:
        """``clause`` when its filter was asked for (``value`` neither empty nor None)."""
        if value:
            self.add(clause, **params)

    def since(self, column: str, since: datetime | None) -> None:
        if since is not None:
            self.add(f"{column} >= :since", since=to_db(since))

    def match(self, query: SearchQuery | None, within: str) -> None:
        """The articles matching a search, wire copies included (their SELECT placed in
        ``within``)."""
        if query is not None:
            sql, params = matches_sql(query, fold=False, dialect=self.dialect)
            self.add(within.format(sql), **params)

    def sql(self) -> str:
        return " WHERE " + " AND ".join(self.clauses)
