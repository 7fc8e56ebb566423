"""The SQLite schema: numbered migrations keyed by ``PRAGMA user_version``.

A database at version N has run the first N entries of :data:`MIGRATIONS`; opening it for
writing runs the rest, each in its own transaction. This DDL is SQLite's own (``json_each``
over the ``tags`` column, ``PRAGMA`` versions): another backend keeps its schema next to its
store, with the same tables and columns so that :mod:`aggregator.store.rows` serves both.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from aggregator.errors import StorageError

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
    # readers' accounts (aggregator users), their apps' tokens, and what each has read and
    # starred: one row per article, so an article that joins a story later arrives unread
    """
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        fever_key TEXT UNIQUE,
        created TEXT NOT NULL
    );
    CREATE TABLE user_tokens (
        token_hash TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        created TEXT NOT NULL
    );
    CREATE INDEX user_tokens_user ON user_tokens(user_id);
    CREATE TABLE read_marks (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        at TEXT NOT NULL,
        PRIMARY KEY (user_id, article_id)
    );
    CREATE INDEX read_marks_article ON read_marks(article_id);
    CREATE TABLE star_marks (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        at TEXT NOT NULL,
        PRIMARY KEY (user_id, article_id)
    );
    CREATE INDEX star_marks_article ON star_marks(article_id);
    CREATE INDEX articles_duplicate_of ON articles(duplicate_of);
    """,
    # full-text search (aggregator.store.search): an FTS5 index over the articles' own
    # columns (external content: no second copy of the bodies), kept in step by triggers;
    # rebuilt once here from the rows already stored. Only edits to the indexed columns
    # reindex a row: moving articles between stories does not. Results count each article's
    # wire copies (an index on duplicate_of); source: finds outlets by lower(source).
    """
    CREATE VIRTUAL TABLE articles_fts USING fts5(
        title, summary, text, source,
        content='articles', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2'
    );
    INSERT INTO articles_fts(articles_fts) VALUES ('rebuild');
    CREATE INDEX articles_source_lower ON articles(lower(source));
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
    """,
)


def user_version(db: sqlite3.Connection) -> int:
    """How many migrations the database has run."""
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(
    db: sqlite3.Connection,
    atomic: Callable[[], AbstractContextManager[sqlite3.Connection]],
    where: Path,
) -> None:
    """Run the migrations ``db`` has not run yet, one transaction (``atomic()``) each.

    A database written by a newer program is refused rather than guessed at.
    """
    version = user_version(db)
    if version > len(MIGRATIONS):
        raise StorageError(
            f"{where}: database schema version {version} is newer than this program "
            f"knows ({len(MIGRATIONS)}); upgrade the aggregator"
        )
    for number in range(version, len(MIGRATIONS)):
        # executescript() would COMMIT on its own; run statements one by one instead
        with atomic() as tx:
            if user_version(tx) > number:
                continue  # another process (a reader upgrading, the daemon) ran it meanwhile
            for statement in statements(MIGRATIONS[number]):
                tx.execute(statement)
            tx.execute(f"PRAGMA user_version = {number + 1}")


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
