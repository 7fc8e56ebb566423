"""Storage behind one small interface.

The pipeline and the read side only talk to :class:`Store`; ``sql.py`` implements it once
for SQLite (the default) and PostgreSQL (several daemons sharing one database), with
``tables.py`` (the schema), ``schema.py`` (its versions), ``engine.py`` (connections and the
engines' few differences), ``reads.py``, ``web_reads.py``, ``corrections.py`` and
``leases.py`` (several daemons).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from aggregator.types import (
    ClusterDoc,
    Correction,
    NewArticle,
    PageFill,
    PendingPage,
    Placement,
    StoredArticle,
    StoryRecord,
)


@dataclass(frozen=True)
class FeedState:
    """What the store remembers of one feed between polls."""

    url: str
    name: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    last_polled: datetime | None = None
    last_success: datetime | None = None
    last_status: int | None = None
    last_error: str | None = None
    error_kind: str | None = None
    error_count: int = 0
    redirected_to: str | None = None
    entries: int = 0
    articles: int = 0
    title: str | None = None
    next_poll: datetime | None = None
    gone: bool = False  # the server said 410 Gone
    declared_seconds: float | None = None  # how often the feed asks to be polled
    change_interval: float | None = None  # seconds, moving average between changes
    last_changed: datetime | None = None
    retry_after: float | None = None


@dataclass(frozen=True)
class ExistingRef:
    """An article already stored, as the identity check needs to see it."""

    key: str
    guid: str | None
    canonical_url: str | None
    title: str
    feed_url: str | None
    url: str | None = None  # as the feed listed it (with its fragment)


@dataclass(frozen=True)
class BodyHealth:
    """Where one feed's article bodies came from: which sites need attention."""

    page: int = 0  # extracted from the article's page
    feed: int = 0  # the feed's own text (page missing, thin or not fetched)
    none: int = 0  # headline only
    median_words: int = 0

    @property
    def total(self) -> int:
        return self.page + self.feed + self.none

    def share(self, source: str) -> float:
        return getattr(self, source) / self.total if self.total else 0.0


@dataclass(frozen=True)
class Overview:
    """The store at a glance, for status, /sources and /metrics: counts and each feed's state,
    where its bodies came from, and its pages waiting."""

    counts: dict[str, int]
    feeds: list[FeedState]
    bodies: dict[str, BodyHealth]  # by feed URL
    pages_waiting: dict[str, int]  # by feed URL


@dataclass(frozen=True)
class Account:
    """A reader's account (``aggregator users``): what the apps and pages know of it."""

    id: int
    name: str
    created: datetime
    fever: bool = False  # has a Fever API key (set with the password, when asked for)


class Store(Protocol):
    def close(self) -> None: ...
    @property
    def shared(self) -> bool: ...  # several daemons may write here at once (PostgreSQL)

    # -- feeds
    def feed_state(self, url: str) -> FeedState | None: ...
    def save_feed_state(self, state: FeedState) -> None: ...
    def feed_states(self) -> list[FeedState]: ...

    # -- write side
    def lookup(
        self, guid: str | None, canonical_url: str | None, keys: Sequence[str] = ()
    ) -> list[ExistingRef]: ...
    def add_listing(self, key: str, feed_url: str) -> None: ...
    def add_article(
        self, article: NewArticle, placement: Placement, duplicate_of_key: str | None
    ) -> int: ...
    def recent_docs(self, since: datetime) -> Iterator[tuple[ClusterDoc, str]]: ...
    def placing(self) -> AbstractContextManager[list[tuple[ClusterDoc, str]]]: ...
    def latest_time(self) -> datetime | None: ...
    def prune(self, before: datetime) -> dict[str, int]: ...

    # -- pages deferred past a poll's page cap
    def queue_pages(self, feed_url: str, pages: Sequence[tuple[str, str]]) -> None: ...
    def pending_pages(self, feed_url: str, limit: int) -> list[PendingPage]: ...
    def fill_page(self, fill: PageFill) -> None: ...
    def page_failed(self, key: str, max_attempts: int) -> None: ...
    def pending_counts(self) -> dict[str, int]: ...
    def drop_pending(self, feed_url: str) -> None: ...

    # -- operators' corrections of the clustering
    def split_article(self, ref: str, canonical: str | None = None) -> Correction: ...
    def merge_stories(self, story: str, other: str) -> Correction: ...
    def corrections(self, after: int = 0) -> list[Correction]: ...
    def stories_apart(self, since: datetime | None = None) -> list[tuple[str, str]]: ...
    def story_corrections(self, story_id: str) -> list[Correction]: ...
    def article_doc(self, key: str) -> ClusterDoc | None: ...

    # -- read side
    def articles(self) -> Iterator[StoredArticle]: ...
    def story_articles(self, story_id: str) -> list[StoredArticle]: ...
    def resolve_story_id(self, story_id: str) -> str: ...
    def stories(self, since: datetime | None = None) -> list[StoryRecord]: ...
    def story(self, story_id: str) -> StoryRecord | None: ...
    def counts(self) -> dict[str, int]: ...


class AccountStore(Protocol):
    """Readers' accounts, their apps' tokens and their read and starred marks.

    Passwords go in plain and are kept as argon2 hashes (:mod:`.passwords`); tokens are kept
    as digests. Marks are per article: reading one copy of a syndicated article marks its
    wire copies, reading a story marks the articles it holds now.
    """

    # -- accounts
    def add_user(self, name: str, password: str, *, fever: bool = False) -> Account: ...
    def users(self) -> list[Account]: ...
    def user(self, name: str) -> Account | None: ...
    def remove_user(self, name: str) -> None: ...
    def set_password(self, name: str, password: str, *, fever: bool = False) -> Account: ...
    def check_password(self, name: str, password: str) -> Account | None: ...

    # -- tokens (apps' logins; revoked with the account or a new password)
    def issue_token(self, user: Account, kind: str) -> str: ...
    def token_user(self, token: str, kind: str) -> Account | None: ...
    def fever_user(self, api_key: str) -> Account | None: ...
    # web sessions: tokens that expire unless refreshed
    def session_user(
        self, token: str, kind: str, since: datetime
    ) -> tuple[Account, datetime] | None: ...
    def refresh_token(self, token: str) -> None: ...
    def revoke_token(self, token: str) -> int: ...
    def expire_tokens(self, user: Account, kind: str, before: datetime) -> int: ...

    # -- marks
    def mark_read(self, user: Account, article_ids: Sequence[int], read: bool = True) -> int: ...
    def mark_story_read(self, user: Account, story_id: str, read: bool = True) -> int: ...
    def mark_starred(
        self, user: Account, article_ids: Sequence[int], starred: bool = True
    ) -> int: ...
    def read_ids(self, user: Account, article_ids: Sequence[int]) -> set[int]: ...
    def starred_ids(self, user: Account, article_ids: Sequence[int]) -> set[int]: ...
    def story_unread_counts(self, user: Account, story_ids: Sequence[str]) -> dict[str, int]: ...
    def starred_articles(
        self, user: Account, *, limit: int, offset: int = 0
    ) -> tuple[list[StoredArticle], int]: ...
