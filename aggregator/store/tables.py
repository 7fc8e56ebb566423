"""The schema, written once (SQLAlchemy Core ``Table``s) for both engines.

SQLAlchemy renders the DDL for SQLite and PostgreSQL (:func:`create_statements`); the
queries themselves run through :mod:`aggregator.store.engine`. Times stay ISO 8601 UTC text
and tags/evidence JSON text on both engines, so :mod:`aggregator.store.rows` serves both and
a store copied from one engine to the other compares equal row for row.

Changing a table here means a new entry in :data:`aggregator.store.schema.UPGRADES`.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    text,
)
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.schema import CreateIndex, CreateTable

metadata = MetaData()


def _int(name: str, default: int = 0) -> Column[int]:
    return Column(name, Integer, nullable=False, server_default=text(str(default)))


feeds = Table(
    "feeds",
    metadata,
    Column("url", Text, primary_key=True),
    Column("name", Text),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("content_hash", Text),
    Column("last_polled", Text),
    Column("last_success", Text),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("error_kind", Text),
    _int("error_count"),
    Column("redirected_to", Text),
    _int("entries"),
    Column("title", Text),
    Column("next_poll", Text),
    _int("gone"),
    Column("declared_seconds", Float),
    Column("change_interval", Float),
    Column("last_changed", Text),
    Column("retry_after", Float),
)

stories = Table(
    "stories",
    metadata,
    Column("id", Text, primary_key=True),
    Column("title", Text, nullable=False),
    Column("created", Text, nullable=False),
    Column("first_published", Text),
    Column("last_updated", Text),
    Column("merged_into", Text, ForeignKey("stories.id")),
)

articles = Table(
    "articles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", Text, nullable=False, unique=True),
    Column("guid", Text),
    Column("url", Text),
    Column("canonical_url", Text),
    Column("title", Text, nullable=False),
    Column("feed_url", Text),
    Column("source", Text),
    Column("published", Text),
    Column("fetched", Text, nullable=False),
    Column("sort_time", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("text_source", Text, nullable=False),
    Column("summary", Text, nullable=False, server_default=text("''")),
    Column("author", Text),
    Column("image", Text),
    Column("language", Text),
    Column("content_hash", Text),
    Column("tags", Text, nullable=False, server_default=text("'[]'")),
    Column("story_id", Text, ForeignKey("stories.id")),
    Column("duplicate_of", Integer, ForeignKey("articles.id")),
    Column("score", Float),
    Column("evidence", Text, nullable=False, server_default=text("'{}'")),
    _int("words"),
    Index("articles_guid", "guid"),
    Index("articles_canonical", "canonical_url"),
    Index("articles_story", "story_id"),
    Index("articles_sort_time", "sort_time"),
    Index("articles_story_outlet", "story_id", "source", "feed_url"),
    Index("articles_tags", "tags"),
    Index("articles_duplicate_of", "duplicate_of"),  # since version 8
)

article_feeds = Table(
    "article_feeds",
    metadata,
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    Column("feed_url", Text, nullable=False),
    Column("first_seen", Text, nullable=False),
    PrimaryKeyConstraint("article_id", "feed_url"),
    Index("article_feeds_feed", "feed_url"),
)

story_merges = Table(
    "story_merges",
    metadata,
    Column("absorbed", Text, primary_key=True),
    Column("surviving", Text, nullable=False),
    Column("at", Text, nullable=False),
)

# the two stories of each split the clusterer made (cluster/split.py): never merged again,
# also when the clustering window is rebuilt from the store (since version 10)
stories_apart = Table(
    "stories_apart",
    metadata,
    Column("story_id", Text, nullable=False),
    Column("other_story_id", Text, nullable=False),
    Column("at", Text, nullable=False),
    PrimaryKeyConstraint("story_id", "other_story_id"),
)

page_backlog = Table(
    "page_backlog",
    metadata,
    Column("article_key", Text, primary_key=True),
    Column("feed_url", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("queued", Text, nullable=False),
    _int("attempts"),
    Index("page_backlog_feed", "feed_url", "queued"),
)

corrections = Table(
    "corrections",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("article_key", Text),
    Column("story_id", Text, nullable=False),
    Column("other_story_id", Text, nullable=False),
    Column("at", Text, nullable=False),
    Index("corrections_story", "story_id"),
    Index("corrections_other", "other_story_id"),
    sqlite_autoincrement=True,
)

# -- version 7: several daemons sharing one database (PostgreSQL)
# which daemon polls which feed, until when (see aggregator.store.leases)
feed_leases = Table(
    "feed_leases",
    metadata,
    Column("feed_url", Text, primary_key=True),
    Column("holder", Text, nullable=False),
    Column("expires", Float, nullable=False),  # seconds since the epoch, the database's clock
    Column("taken", Text, nullable=False),
    Index("feed_leases_holder", "holder"),
)

# each daemon's heartbeat, for `aggregator status`
daemons = Table(
    "daemons",
    metadata,
    Column("id", Text, primary_key=True),
    Column("host", Text, nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started", Text, nullable=False),
    Column("last_seen", Text, nullable=False),
)

# -- version 8: readers' accounts (aggregator users), their apps' tokens, and what each has
# read and starred: one row per article, so an article that joins a story later arrives unread
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("fever_key", Text, unique=True),
    Column("created", Text, nullable=False),
)

user_tokens = Table(
    "user_tokens",
    metadata,
    Column("token_hash", Text, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("created", Text, nullable=False),
    Index("user_tokens_user", "user_id"),
)


def _marks(name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        Column(
            "article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), nullable=False
        ),
        Column("at", Text, nullable=False),
        PrimaryKeyConstraint("user_id", "article_id"),
        Index(f"{name}_article", "article_id"),
    )


read_marks = _marks("read_marks")
star_marks = _marks("star_marks")

# the tables as of each version that created tables; copy order (parents before children)
TABLES_V6 = (feeds, stories, articles, article_feeds, story_merges, page_backlog, corrections)
TABLES_V7 = (feed_leases, daemons)
TABLES_V8 = (users, user_tokens, read_marks, star_marks)
TABLES_V10 = (stories_apart,)
# what `aggregator migrate` copies, parents before children (not the daemons' leases)
COPIED = TABLES_V6 + TABLES_V8 + TABLES_V10


def create_statements(dialect: Dialect, tables: tuple[Table, ...]) -> list[str]:
    """The CREATE TABLE and CREATE INDEX statements of ``tables``, in ``dialect``'s SQL."""
    statements = []
    for table in tables:
        statements.append(str(CreateTable(table).compile(dialect=dialect)))
        statements.extend(
            str(CreateIndex(index).compile(dialect=dialect))
            for index in sorted(table.indexes, key=lambda i: str(i.name))
        )
    return statements
