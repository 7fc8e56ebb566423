"""The store's connection, for both engines: opening and upgrading, transactions
(:meth:`SqlBase.atomic`), reconnecting after the server went away, and placement one writer
at a time (:meth:`SqlBase.placing`). :class:`~aggregator.store.sql.SqlStore` adds the writes.
"""

from __future__ import annotations

import contextlib
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

from aggregator.errors import StorageError
from aggregator.store.engine import Connection, Location, connect
from aggregator.store.indexer import SearchIndexer
from aggregator.store.leases import PLACEMENT_LOCK, check_lease
from aggregator.store.rows import doc_from_row
from aggregator.store.schema import LATEST, migrate, user_version
from aggregator.store.web_reads import WebReads
from aggregator.types import ClusterDoc


class SqlBase(WebReads):
    """The store's connection: opening (and upgrading), transactions, reconnecting, and
    placement one writer at a time."""

    # the daemon whose feed leases every write for a feed is checked against (several
    # daemons on PostgreSQL); None: no checks (SQLite, one-off commands)
    lease_holder: str | None = None
    _seen_id = 0  # the last article placing() knows of (PostgreSQL)
    # PostgreSQL: the open transaction holds the placement lock (taken by placing() inside
    # it); until it ends no other daemon stores an article, so there is nothing to read
    _placement_held = False
    # PostgreSQL: articles were written in the open transaction without their search index
    _unindexed = False
    _indexer: SearchIndexer | None = None

    def _end_of_transaction(self) -> None:
        """What the open transaction held is given back (lock, lease rows)."""
        self._placement_held = False
        self._leases_checked.clear()

    def __init__(self, where: Location | Path, *, readonly: bool = False):
        self.where = where if isinstance(where, Location) else Location(Path(where))
        self.directory = self.where.directory
        self.path = self.where.path
        self.readonly = readonly
        self._depth = 0
        self._leases_checked: set[str] = set()  # feeds whose lease rows this transaction locked
        if not self.where.url and readonly:
            if not self.path.exists():
                raise StorageError(f"{self.path}: no database here yet (run the aggregator first)")
            with self._errors():
                behind = _behind(self.path)
            if behind:
                # a reader met a database the new program has not upgraded yet: the
                # migrations only add, so run them once rather than fail on a new table
                # (a reader without write access reads on; the daemon will upgrade)
                with contextlib.suppress(StorageError):
                    type(self)(self.where).close()
        self._db = self._open()
        if self._db.pg and not readonly:
            self._indexer = SearchIndexer(self.where)

    def unindexed(self) -> None:
        """Articles were written without their search index (PostgreSQL): once the
        transaction commits, the indexer fills it (store/indexer.py)."""
        self._unindexed = True

    def _open(self) -> Connection:
        with self._errors():
            db = connect(self.where, readonly=self.readonly)
            self._db = db
            if not self.readonly:
                migrate(db, self.atomic, self.where)
            else:
                if db.pg and user_version(db) < LATEST:
                    raise StorageError(
                        f"{self.where.describe()}: no aggregator store here yet, or an older "
                        "one (run the aggregator first)"
                    )
                # A reader (one CLI command, one web request) sees one snapshot for the
                # store's life: without it, a write landing between two of its queries shows
                # a story counted with 2 articles and listed with 4. In WAL mode this never
                # blocks the writer; close() ends the transaction.
                db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" if db.pg else "BEGIN")
        self._broken = False
        if db.pg and not self.readonly and not self._seen_id:  # (not on reconnecting)
            self._seen_id = self._last_article_id()
        return db

    # ------------------------------------------------------------------ plumbing
    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def drain(self) -> None:
        """Wait for the work done beside the writes: the search index (PostgreSQL)."""
        if self._indexer is not None:
            self._indexer.close()  # (woken again, it starts again)

    def close(self) -> None:
        self.drain()  # what this store wrote is searchable by index
        with contextlib.suppress(*_close_errors()):
            self._db.close()

    @property
    def shared(self) -> bool:
        """Whether several daemons may write here at once (PostgreSQL)."""
        return self._db.pg

    def reconnect(self) -> None:
        """A new connection if the server went away (raises StorageError while it is down)."""
        if self._broken and self._depth == 0:
            self.close()
            self._db = self._open()

    @contextmanager
    def atomic(self) -> Iterator[Connection]:
        """A transaction; nested calls become savepoints."""
        with self._transaction() as (db, _):
            yield db

    @contextmanager
    def _in_callers(self) -> Iterator[Connection]:
        """The caller's open transaction as it is (no savepoint), driver errors wrapped."""
        with self._errors():
            yield self._db

    @contextmanager
    def _transaction(self, *first: str) -> Iterator[tuple[Connection, Any]]:
        """A transaction (or savepoint) and the cursor of ``first``: statements without
        parameters sent with the BEGIN, in one round trip on PostgreSQL."""
        outermost = self._depth == 0
        if outermost:
            self.reconnect()
        name = f"sp{self._depth}"
        db = self._db
        with self._errors():
            if outermost and (first or not db.pg):
                cursor = db.batch("BEGIN" if db.pg else "BEGIN IMMEDIATE", *first)
            elif outermost:
                db.begin()
                cursor = None
            else:
                db.savepoint(name)
                cursor = db.batch(*first) if first else None
        self._depth += 1
        try:
            with self._errors():
                yield db, cursor
        except BaseException:
            self._depth -= 1
            self._end_of_transaction()  # a rolled-back savepoint gives back what it took
            with contextlib.suppress(*_close_errors()):
                if outermost:
                    db.rollback()
                else:
                    db.rollback(name)
            raise
        self._depth -= 1
        if outermost:
            self._end_of_transaction()
        with self._errors():
            if outermost:
                db.execute("COMMIT")
            else:
                db.release(name)
        if outermost and self._unindexed:
            self._unindexed = False
            if self._indexer is not None:
                self._indexer.wake()

    @contextmanager
    def placing(self) -> Iterator[list[tuple[ClusterDoc, str]]]:
        """One article's dedupe, placement and write, one writer at a time.

        On PostgreSQL: a transaction holding the placement lock (the writes inside join it),
        which yields the articles other daemons stored since this store last looked (they
        belong in this daemon's clustering window too). On SQLite, where one daemon writes:
        nothing to hold, nothing from others. BEGIN, the lock and the read go in one round
        trip; the read runs after the lock is granted (each statement its own snapshot).
        """
        if not self._db.pg:
            yield []
            return
        if self._placement_held:
            # an earlier placement in this transaction took the lock and read the others. No
            # savepoint either: an error aborts the enclosing transaction, which its caller
            # (the pipeline's batch) rolls back whole, so a savepoint per article would undo
            # nothing more; it would cost a command per article and a subtransaction, and
            # PostgreSQL's cache of those holds 64 per session (past it, every other
            # session's visibility checks read pg_subtrans)
            yield []
            return
        others = (
            "SELECT id, key, title, text, sort_time, source, story_id FROM articles "
            f"WHERE id > {int(self._seen_id)} AND story_id IS NOT NULL ORDER BY id"
        )
        with self._transaction(f"SELECT pg_advisory_xact_lock({PLACEMENT_LOCK})", others) as (
            _,
            cursor,
        ):
            rows = cursor.fetchall()
            if rows:
                self._seen_id = int(rows[-1]["id"])
            self._placement_held = self._depth > 1  # the lock outlives this savepoint
            yield [(doc_from_row(r), r["story_id"]) for r in rows]

    def _last_article_id(self) -> int:
        return int(self._query("SELECT coalesce(max(id), 0) FROM articles")[0][0])

    def _holding(self, db: Connection, feed_url: str | None, *, nested: bool = True) -> None:
        """LeaseLost if another daemon took the feed (checked in the write's transaction;
        ``nested``: the write opened a transaction level of its own inside the caller's)."""
        if self.lease_holder and feed_url and db.pg and feed_url not in self._leases_checked:
            check_lease(db, self.lease_holder, feed_url)
            if self._depth > nested:  # the row stays locked until the outer transaction ends
                self._leases_checked.add(feed_url)

    def schema_version(self) -> int:
        return user_version(self._db)

    def integrity_check(self) -> str:
        if self._db.pg:
            return "ok"  # PostgreSQL checks its pages itself
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])


def _behind(path: Path) -> bool:
    """Whether the SQLite database at ``path`` has not run every migration yet."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return int(db.execute("PRAGMA user_version").fetchone()[0]) < LATEST
    finally:
        db.close()


def _close_errors() -> tuple[type[BaseException], ...]:
    """Errors closing or rolling back a connection that is gone already (psycopg's only when
    it is loaded: a SQLite store does not pay for importing it, ~0.2 s)."""
    errors: tuple[type[BaseException], ...] = (sqlite3.Error, OSError, StorageError)
    psycopg = sys.modules.get("psycopg")
    return (*errors, psycopg.Error) if psycopg is not None else errors
