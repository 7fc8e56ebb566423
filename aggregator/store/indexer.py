"""PostgreSQL's search index, filled beside the writes rather than inside them.

Computing an article's weighted tsvector costs the server ~0.8 ms for a body of 2 KB (the
English parser and stemmer), more than the rest of the article's write. As a generated
column it ran inside the write's transaction, which on PostgreSQL holds the placement lock:
every daemon sharing the database waited for it, and the writer waited too. Now the column
is plain: articles are stored without it, and :class:`SearchIndexer` fills it on a
connection of its own, in a background thread woken after each commit that stored articles,
in small batches (rows taken with ``SKIP LOCKED``, so that daemons sharing a database never
index a row twice or wait on each other). Closing the store drains it. Search never misses
an article meanwhile: a row not indexed yet is matched on its document computed on the fly
(:func:`document`; a partial index finds those rows). An edit of an indexed column sets the
column back to NULL (a trigger), to be indexed again.

A failed pass (the server restarting) is logged and retried at the next wake; whatever is
left is picked up by the next indexer of any daemon.
"""

from __future__ import annotations

import contextlib
import logging
import threading

from aggregator.errors import StorageError
from aggregator.store.engine import Connection, Location, connect, driver_errors

log = logging.getLogger(__name__)

BATCH = 50  # rows per statement: a writer that edits one of them waits at most ~40 ms
RETRY_SECONDS = 30.0  # a pass that failed is tried again at least this often


def document(alias: str = "") -> str:
    """The weighted tsvector of an article (``alias``: the table's alias, e.g. ``a``)."""
    prefix = f"{alias}." if alias else ""
    weights = (("title", "A"), ("summary", "B"), ("source", "C"), ("text", "D"))
    return " || ".join(
        f"setweight(to_tsvector('english', coalesce({prefix}{column}, '')), '{weight}')"
        for column, weight in weights
    )


INDEX_BATCH = (
    f"UPDATE articles SET fts = {document()} WHERE id IN (SELECT id FROM articles "
    f"WHERE fts IS NULL ORDER BY id LIMIT {BATCH} FOR UPDATE SKIP LOCKED)"
)

# version 11 and fresh stores: the column, its GIN index, the partial index of the rows
# waiting, and the trigger that makes an edited row wait again
SCHEMA = (
    "CREATE INDEX articles_unindexed ON articles (id) WHERE fts IS NULL",
    """CREATE FUNCTION articles_fts_stale() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.fts := NULL;
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER articles_fts_stale BEFORE UPDATE OF title, summary, text, source
    ON articles FOR EACH ROW WHEN (
        OLD.title IS DISTINCT FROM NEW.title OR OLD.summary IS DISTINCT FROM NEW.summary
        OR OLD.text IS DISTINCT FROM NEW.text OR OLD.source IS DISTINCT FROM NEW.source)
    EXECUTE FUNCTION articles_fts_stale()""",
)


def index_pending(db: Connection) -> int:
    """Index every row waiting that no other indexer holds; how many were indexed."""
    done = 0
    while True:
        indexed = db.execute(INDEX_BATCH).rowcount
        done += indexed
        if indexed < BATCH:
            return done


class SearchIndexer:
    """A background thread that indexes the rows waiting, each time it is woken."""

    def __init__(self, where: Location):
        self._where = where
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        """Rows were committed without their index: index them soon."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="search-indexer", daemon=True)
            self._thread.start()
        self._wake.set()

    def close(self) -> None:
        """Index what is waiting, then stop."""
        if self._thread is None:
            return
        self._stopping = True
        self._wake.set()
        self._thread.join()
        self._thread = None

    def _run(self) -> None:
        db: Connection | None = None
        errors: tuple[type[BaseException], ...] = (*driver_errors(), OSError, StorageError)
        while True:
            self._wake.wait(RETRY_SECONDS)
            self._wake.clear()
            last = self._stopping  # a wake after this pass began gets a pass of its own
            try:
                db = db or connect(self._where)
                index_pending(db)
            except errors as exc:
                log.warning("search index: %s (retried later)", exc)
                if db is not None:
                    with contextlib.suppress(*errors):
                        db.close()
                db = None
            if last:
                break
        if db is not None:
            with contextlib.suppress(*errors):
                db.close()
