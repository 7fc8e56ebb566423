"""bench.py's PostgreSQL sections, on one throw-away cluster (tests/support/postgres.py):
the store in one process against SQLite with the lease check per poll (pg_bench.py), and
1 against 3 daemons (pg_daemons.py). Without PostgreSQL installed they say why, and skip."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench import pg_bench, pg_daemons
from tests.support.postgres import PostgresCluster, available

ENGINES = "PostgreSQL against SQLite, in one process"
DAEMONS = "Several daemons on one PostgreSQL"


@dataclass(frozen=True)
class PgSizes:
    articles: int  # store path
    leases: int  # feeds held, for the lease check
    ingest: tuple[int, int]  # daemons' first ingest: feeds, articles each
    unchanged: int  # daemons' re-poll of unchanged feeds


PG_FULL = PgSizes(2_000, 1_000, (100, 10), 10_000)
PG_QUICK = PgSizes(500, 200, (30, 5), 1_000)


@contextmanager
def cluster() -> Iterator[PostgresCluster | str]:
    """A running throw-away cluster, or why there is none."""
    if reason := available():
        yield reason
        return
    pg = PostgresCluster()
    try:
        pg.start()
        yield pg
    finally:
        pg.destroy()


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def engines(pg: PostgresCluster | str, sizes: PgSizes, corpus: Path | None) -> str:
    if isinstance(pg, str):
        return f"Skipped: {pg}."
    rows = pg_bench.measure(pg, sizes.articles, sizes.leases, corpus)
    return (
        f"bench/pg_bench.py's measures. Store path: lookup + add_article + add_listing per "
        f"article, each its own transaction inside `placing()` ({sizes.articles:,} generated "
        "articles; the worst case, a daemon turn that stores one article), best of two. "
        "Replay: a corpus file through dedupe, clustering and storage (`aggregator replay`'s "
        "path, end to end in one process, committed in runs of 0.25 s), "
        f"{pg_bench.REPLAY_PAIRS} pairs one after the other, averaged. Both clocks stop once "
        "PostgreSQL's search index, filled beside the writes, has caught up. The throw-away "
        "server runs with fsync off, on this machine (loopback round trips). Lease check: "
        "`FeedLeases.acquire` in its own "
        "transaction, as a daemon makes before each poll of a feed it holds. Statements are "
        "counted: each is one round trip (several sent at once count once).\n\n"
        + _table(["measure", "SQLite", "PostgreSQL", "ratio"], rows)
    )


def daemons(
    pg: PostgresCluster | str,
    sizes: PgSizes,
    feed_urls: Callable[[int, int, int], list[str]],
    prerender: Callable[[int, int, int], None],
) -> str:
    """``feed_urls(round, feeds, items)``: the generated feeds' URLs (bench.FeedServer)."""
    if isinstance(pg, str):
        return f"Skipped: {pg}."
    feeds, items = sizes.ingest
    prerender(40, feeds, items)
    first = pg_daemons.compare(pg, feed_urls(40, feeds, items), unchanged=False)
    prerender(41, sizes.unchanged, 2)
    again = pg_daemons.compare(pg, feed_urls(41, sizes.unchanged, 2), unchanged=True)
    rows = pg_daemons.report("first ingest", first) + pg_daemons.report("unchanged", again)
    return (
        "`aggregator run` processes on this machine, each with its own --storage and the same "
        "--database and feeds.yaml (politeness off, concurrency 16 each), timed from their "
        "start until every feed was polled once: start-up (imports, extraction workers, "
        "connecting, restoring the clustering window) until the first feed's poll was saved, "
        "then polling; the rates are over the polling. First ingest: "
        f"{feeds:,} feeds x {items} new articles with pages; unchanged: {sizes.unchanged:,} "
        "feeds stored beforehand by one `run --once` (pages off), every one answering 304. "
        "Each pass on its own copy of the prepared database.\n\n" + _table(pg_daemons.HEADER, rows)
    )
