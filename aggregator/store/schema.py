"""Schema versions, for both engines.

Version 6 is the schema the SQLite-only program left (its migrations are kept below, frozen,
for stores it wrote); a fresh store of either engine is created from :mod:`.tables` at the
latest version at once. Each later version is an entry of :data:`UPGRADES`, written with
the engine-neutral tables, so both engines run the same upgrade.

The version is SQLite's ``PRAGMA user_version`` (as before) or, on PostgreSQL, the one row
of ``aggregator_schema``; upgrades run one transaction each, and on PostgreSQL under an
advisory lock so that daemons starting together do not upgrade twice.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager

from aggregator.errors import StorageError
from aggregator.store import indexer
from aggregator.store.engine import Connection, Location

# The SQLite store's first six versions, as released (frozen): a store written by an earlier
# program upgrades through them. Fresh stores, and PostgreSQL, start from tables.py instead.
LEGACY_SQLITE: tuple[str, ...] = (
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
    # pages deferred past a poll's page cap: later polls of the feed fetch them
    """
    CREATE TABLE page_backlog (
        article_key TEXT PRIMARY KEY,
        feed_url TEXT NOT NULL,
        url TEXT NOT NULL,
        queued TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX page_backlog_feed ON page_backlog(feed_url, queued);
    """,
    # operators' corrections of the clustering (aggregator stories split / merge)
    """
    CREATE TABLE corrections (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        article_key TEXT,
        story_id TEXT NOT NULL,
        other_story_id TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX corrections_story ON corrections(story_id);
    CREATE INDEX corrections_other ON corrections(other_story_id);
    """,
    # each body's length in words, written with it, so that extraction health (status,
    # /metrics) never reads the texts; earlier rows counted once here (blanks + 1)
    """
    ALTER TABLE articles ADD COLUMN words INTEGER NOT NULL DEFAULT 0;
    UPDATE articles SET words = CASE WHEN length(trim(text)) = 0 THEN 0 ELSE
        length(text) - length(replace(replace(text, char(10), ''), ' ', '')) + 1 END;
    """,
)


def _create(db: Connection, *versions: str) -> None:
    """Create the tables that ``tables.TABLES_<version>`` lists (SQLAlchemy is imported only
    here: commands that read an upgraded store never load it)."""
    from sqlalchemy.dialects import postgresql, sqlite

    from aggregator.store import tables

    dialect = postgresql.dialect() if db.pg else sqlite.dialect()
    for version in versions:
        for statement in tables.create_statements(dialect, getattr(tables, f"TABLES_{version}")):
            db.execute(statement)


# version N -> N + 1, for N >= 6; never edit a released entry, append a new one
UPGRADES: dict[int, Callable[[Connection], None]] = {
    6: lambda db: _create(db, "V7"),
    7: lambda db: _v8(db),
    8: lambda db: _search_index(db),
    9: lambda db: _create(db, "V10"),
    10: lambda db: _index_beside(db),
}
LATEST = 11


def _v8(db: Connection) -> None:
    """Readers' accounts and marks; reading one copy marks its wire copies, found by
    ``duplicate_of`` (an index fresh stores get with the articles table)."""
    _create(db, "V8")
    db.execute("CREATE INDEX IF NOT EXISTS articles_duplicate_of ON articles (duplicate_of)")


# full-text search (aggregator.store.search), each engine its own: SQLite an FTS5 index over
# the articles' own columns (external content: no second copy of the bodies) kept in step by
# triggers, PostgreSQL a weighted tsvector column with a GIN index, filled beside the writes
# (aggregator.store.indexer; until version 11 a generated column). Only edits to the indexed
# columns reindex a row: moving articles between stories does not.
_SQLITE_SEARCH = """
CREATE VIRTUAL TABLE articles_fts USING fts5(
    title, summary, text, source,
    content='articles', content_rowid='id',
    tokenize='porter unicode61 remove_diacritics 2'
);
INSERT INTO articles_fts(articles_fts) VALUES ('rebuild');
CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
    INSERT INTO articles_fts(rowid, title, summary, text, source)
    VALUES (new.id, new.title, new.summary, new.text, new.source);
END;
CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
    INSERT INTO articles_fts(articles_fts, rowid, title, summary, text, source)
    VALUES ('delete', old.id, old.title, old.summary, old.text, old.source);
END;
CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, summary, text, source
ON articles BEGIN
    INSERT INTO articles_fts(articles_fts, rowid, title, summary, text, source)
    VALUES ('delete', old.id, old.title, old.summary, old.text, old.source);
    INSERT INTO articles_fts(rowid, title, summary, text, source)
    VALUES (new.id, new.title, new.summary, new.text, new.source);
END;
"""
_PG_SEARCH = (
    "ALTER TABLE articles ADD COLUMN fts tsvector",
    "CREATE INDEX articles_fts ON articles USING gin (fts)",
    *indexer.SCHEMA,
)


def _search_index(db: Connection) -> None:
    """Version 9: the search index; ``source:`` finds outlets by ``lower(source)``."""
    for statement in _PG_SEARCH if db.pg else statements(_SQLITE_SEARCH):
        db.execute(statement)
    db.execute("CREATE INDEX IF NOT EXISTS articles_source_lower ON articles (lower(source))")


def _index_beside(db: Connection) -> None:
    """Version 11: PostgreSQL's search column is filled beside the writes (the values it
    holds are kept); nothing changes on SQLite."""
    if db.pg:
        db.execute("ALTER TABLE articles ALTER COLUMN fts DROP EXPRESSION")
        for statement in indexer.SCHEMA:
            db.execute(statement)


# held while PostgreSQL's schema is checked and upgraded (any fixed number would do)
_SCHEMA_LOCK = 0x61676701


def user_version(db: Connection) -> int:
    """The schema version the database is at (0: empty)."""
    if not db.pg:
        return int(db.execute("PRAGMA user_version").fetchone()[0])
    # pg_tables, not to_regclass(): the latter may answer from a catalog cache that has not
    # seen the tables another daemon created while this one waited for the schema lock
    row = db.execute(
        "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() "
        "AND tablename = 'aggregator_schema'"
    ).fetchone()
    if not row[0]:
        return 0
    return int(db.execute("SELECT version FROM aggregator_schema").fetchone()[0])


def _set_version(db: Connection, version: int) -> None:
    if not db.pg:
        db.execute(f"PRAGMA user_version = {version}")
        return
    db.execute("CREATE TABLE IF NOT EXISTS aggregator_schema (version INTEGER NOT NULL)")
    db.execute("DELETE FROM aggregator_schema")
    db.execute("INSERT INTO aggregator_schema (version) VALUES (?)", (version,))


def migrate(
    db: Connection,
    atomic: Callable[[], AbstractContextManager[Connection]],
    where: Location,
) -> None:
    """Bring the database to :data:`LATEST`, one transaction (``atomic()``) per version.

    A database written by a newer program is refused rather than guessed at.
    """
    version = user_version(db)
    if version > LATEST:
        raise StorageError(
            f"{where.describe()}: database schema version {version} is newer than this "
            f"program knows ({LATEST}); upgrade the aggregator"
        )
    while version < LATEST:
        with atomic() as tx:
            if tx.pg:
                tx.execute("SELECT pg_advisory_xact_lock(?)", (_SCHEMA_LOCK,))
            version = user_version(tx)  # another process may have upgraded meanwhile
            if version >= LATEST:
                break
            if version == 0:
                _create(tx, "V6", "V7", "V8", "V10")
                _search_index(tx)
                version = LATEST
            elif version < len(LEGACY_SQLITE):
                for statement in LEGACY_SQLITE[version].split(";"):
                    if statement.strip():
                        tx.execute(statement)
                version += 1
            else:
                UPGRADES[version](tx)
                version += 1
            _set_version(tx, version)


def statements(script: str) -> list[str]:
    """``script`` cut into whole statements: a trigger's body keeps its inner semicolons."""
    found: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                found.append(pending.strip())
            pending = ""
    if pending.strip(" \n;"):
        found.append(pending.strip())
    return found
