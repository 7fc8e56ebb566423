"""Request parameters -> validated filters, and the store reads one request needs.

The same parameter names serve the pages, the API and the feeds, so a reader can turn any
filtered page into a subscription by changing the path:

    since        a period like 24h or 7d, or "all"
    tag          a feed tag (region, language, ...): stories that outlet tagged so covered
    feed         a feed URL: stories with coverage from that feed
    min_sources  stories covered by at least this many outlets
    q            a search (words, "phrases", -word, source:, tag:, since:; see
                 aggregator.read.search_query): stories with an article matching it
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from aggregator.config.durations import parse_duration
from aggregator.errors import QueryError
from aggregator.read.digest import DigestStory, story_view
from aggregator.read.search_query import parse_query
from aggregator.store.engine import Location
from aggregator.store.search import SearchQuery
from aggregator.store.sql import SqlStore
from aggregator.types import Correction, StoredArticle, StoryRecord

DEFAULT_SINCE = "3d"  # recent stories first (the clustering window, 7 days, keeps them open)
PERIODS: tuple[tuple[str, str], ...] = (
    ("24h", "Last 24 hours"),
    ("3d", "Last 3 days"),
    ("7d", "Last week"),
    ("30d", "Last 30 days"),
    ("all", "All time"),
)
MIN_SOURCES = (1, 2, 3, 5, 10)
MAX_LIMIT = 200
MAX_PARAM_CHARS = 500


class BadRequest(ValueError):
    """A request parameter that cannot be used; answered with 400 and this message."""


@dataclass(frozen=True)
class StoryFilter:
    since: str = DEFAULT_SINCE  # a duration like "24h", or "all"
    tag: str = ""
    feed: str = ""
    min_sources: int = 1
    q: str = ""

    def since_time(self, now: datetime) -> datetime | None:
        return None if self.since == "all" else now - parse_duration(self.since)

    def search(self, now: datetime) -> SearchQuery | None:
        """``q`` parsed (None without one); ``since:7d`` in it counts back from ``now``."""
        if not self.q:
            return None
        try:
            return parse_query(self.q, now)
        except QueryError as exc:
            raise BadRequest(f"q: {exc}") from None

    def params(self, default_since: str = DEFAULT_SINCE) -> dict[str, str]:
        """The filter as query parameters, defaults left out, in a stable order."""
        out: dict[str, str] = {}
        if self.since != default_since:
            out["since"] = self.since
        if self.tag:
            out["tag"] = self.tag
        if self.feed:
            out["feed"] = self.feed
        if self.min_sources > 1:
            out["min_sources"] = str(self.min_sources)
        if self.q:
            out["q"] = self.q
        return out

    def query(self, extra: Mapping[str, str | int] | None = None) -> str:
        """``?since=...&tag=...`` (or ""), with ``extra`` parameters appended."""
        params: dict[str, str | int] = {**self.params(), **(extra or {})}
        return "?" + urlencode(params) if params else ""

    def describe(self) -> str:
        """A short human description, for feed titles and the page status line."""
        parts = []
        if self.q:
            parts.append(f"“{self.q}”")
        if self.tag:
            parts.append(self.tag)
        if self.feed:
            parts.append(f"from {self.feed}")
        if self.min_sources > 1:
            parts.append(f"{self.min_sources}+ outlets")
        parts.append(period_label(self.since))
        return " · ".join(parts)


def period_label(since: str) -> str:
    for value, label in PERIODS:
        if value == since:
            return label
    return "all time" if since == "all" else f"last {since}"


def _param(params: Mapping[str, str], name: str) -> str:
    value = params.get(name, "").strip()
    if len(value) > MAX_PARAM_CHARS:
        raise BadRequest(f"{name}: longer than {MAX_PARAM_CHARS} characters")
    return value


def _int_param(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = _param(params, name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name}: expected a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise BadRequest(f"{name}: expected a number from {low} to {high}")
    return value


def story_filter(params: Mapping[str, str], *, default_since: str = DEFAULT_SINCE) -> StoryFilter:
    """Validate the filter parameters of a request."""
    q = " ".join(_param(params, "q").split())
    since = _param(params, "since")
    if not since:
        # a search looks through everything unless the reader narrows it
        since = "all" if q else default_since
    if since != "all":
        try:
            parse_duration(since)
        except ValueError as exc:
            raise BadRequest(f"since: {exc} (or 'all')") from None
    flt = StoryFilter(
        since=since,
        tag=_param(params, "tag"),
        feed=_param(params, "feed"),
        min_sources=_int_param(params, "min_sources", 1, 1, 1000),
        q=q,
    )
    flt.search(datetime.now(UTC))  # a search that cannot be read is a 400 before any work
    return flt


def paging(
    params: Mapping[str, str], *, default_limit: int, pages: bool = False
) -> tuple[int, int]:
    """(limit, offset) from ``limit``/``offset`` (API) or ``page`` (web pages, 1-based)."""
    limit = _int_param(params, "limit", default_limit, 1, MAX_LIMIT)
    if pages:
        page = _int_param(params, "page", 1, 1, 100_000)
        return limit, (page - 1) * limit
    return limit, _int_param(params, "offset", 0, 0, 10_000_000)


# ---------------------------------------------------------------------- store reads
@contextmanager
def open_store(storage: Path | Location) -> Iterator[SqlStore]:
    """A read-only connection for one request (sqlite3 connections stay in their thread)."""
    store = SqlStore(storage, readonly=True)
    try:
        yield store
    finally:
        store.close()


@dataclass(frozen=True)
class StoryPage:
    stories: tuple[DigestStory, ...]
    total: int  # stories matching the filter, on every page
    limit: int
    offset: int

    @property
    def has_next(self) -> bool:
        return self.offset + self.limit < self.total


class StoryCache:
    """Ordered story lists per filter, kept until the store changes.

    Ordering every story of a period by size reads the whole coverage index (tens of ms at
    5,000 stories), and readers paging and feed readers polling ask the same question again
    and again between two writes.
    """

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[object, ...], list[StoryRecord]] = OrderedDict()
        self._marker: tuple[int, ...] | None = None

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def get(
        self,
        store: SqlStore,
        key: tuple[object, ...],
        compute: Callable[[], list[StoryRecord]],
    ) -> list[StoryRecord]:
        marker = store.change_marker()
        with self._lock:
            if marker != self._marker:
                self._entries.clear()
                self._marker = marker
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
        # computed outside the lock: two threads may both compute, and that is fine
        found = compute()
        with self._lock:
            if marker == self._marker:
                self._entries[key] = found
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        return found


def story_page(
    store: SqlStore,
    flt: StoryFilter,
    *,
    now: datetime,
    limit: int,
    offset: int,
    order: str = "size",
    cache: StoryCache | None = None,
    keep: Callable[[list[StoryRecord]], list[StoryRecord]] | None = None,
) -> StoryPage:
    """One page of stories as readers see them: biggest and newest first by default.

    ``keep`` narrows every matching story down before paging (a reader's unread ones)."""
    # to the minute, so that requests within a minute share a cache entry
    since = flt.since_time(now.replace(second=0, microsecond=0))
    match = flt.search(now.replace(second=0, microsecond=0))

    def matching(limit: int | None, offset: int) -> tuple[list[StoryRecord], int]:
        return store.find_stories(
            since=since,
            tag=flt.tag or None,
            feed=flt.feed or None,
            min_sources=flt.min_sources,
            match=match,
            order=order,
            limit=limit,
            offset=offset,
        )

    if cache is None and keep is None:
        records, total = matching(limit, offset)
    else:
        key = (since, flt.tag, flt.feed, flt.min_sources, match, order)
        if cache is None:
            every = matching(None, 0)[0]
        else:
            every = cache.get(store, key, lambda: matching(None, 0)[0])
        if keep is not None:
            every = keep(every)
        records, total = every[offset : offset + limit], len(every)
    articles = store.stories_articles([r.id for r in records])
    views = tuple(story_view(r, articles[r.id]) for r in records)
    return StoryPage(views, total, limit, offset)


@dataclass(frozen=True)
class StoryDetail:
    record: StoryRecord
    view: DigestStory
    articles: tuple[StoredArticle, ...]  # every article, copies included, oldest first
    corrections: tuple[Correction, ...] = ()  # operators' splits and merges, oldest first


def story_detail(store: SqlStore, story_id: str) -> StoryDetail | None:
    """A story with all its articles; follows merges (check ``record.id`` for a redirect)."""
    record = store.story(story_id)
    if record is None:
        return None
    articles = store.story_articles(record.id)
    if not articles:
        return None
    ordered = sorted(articles, key=lambda a: (a.published or a.fetched, a.id))
    corrections = tuple(store.story_corrections(record.id))
    return StoryDetail(record, story_view(record, articles), tuple(ordered), corrections)
