"""PostgreSQL against SQLite: the store's cost per article in one process, and the lease
overhead per poll. Starts a throw-away PostgreSQL (Debian's, as the tests do).

    python bench/pg_bench.py [--articles 2000] [--corpus ../shared/corpus/clusters/ecbplus.jsonl]

Two measures, each run on both engines (the store path twice, best of two; the replay in
REPLAY_PAIRS pairs, averaged):
- store path: lookup + add_article + add_listing per article, each its own transaction (the
  worst case: a daemon turn that stores one article; polls store theirs in batches)
  (inside ``placing()``, which on PostgreSQL takes the placement lock and reads what other
  daemons stored);
- replay: a corpus file through dedupe, clustering and storage (``aggregator replay``'s path),
  when --corpus is given;
- leases: the check a daemon makes before each poll (``FeedLeases.acquire``), per feed;
- statements (round trips) per article and per lease check, counted.
The throw-away server runs with fsync off (as in the tests): figures for the client's side.
Both times include PostgreSQL's search index, which a thread fills beside the writes
(aggregator/store/indexer.py): the clock stops once it has caught up.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from aggregator.store import leases  # noqa: E402
from aggregator.store.engine import location  # noqa: E402
from aggregator.store.sql import SqlStore  # noqa: E402
from aggregator.types import NewArticle, Placement  # noqa: E402
from tests.support.postgres import PostgresCluster, available  # noqa: E402

T0 = datetime(2026, 11, 10, tzinfo=UTC)


def _article(n: int) -> NewArticle:
    return NewArticle(
        key=f"k{n}",
        guid=f"g{n}",
        url=f"http://x.example/{n}",
        canonical_url=f"http://x.example/{n}",
        title=f"Title {n}",
        feed_url=f"http://f.example/{n % 50}.xml",
        source="S",
        published=T0 + timedelta(minutes=n),
        fetched=T0,
        text="body text " * 80,
        text_source="page",
        tags=("a",),
    )


def count_round_trips(store: SqlStore) -> list[int]:
    """A counter of the statements the store sends (one round trip each; several sent at
    once count once), from now on: [count]."""
    db, sent = store._db, [0]
    for name in ("execute", "executemany", "batch"):
        method = getattr(db, name, None)
        if method is not None:

            def counted(*args: Any, _method: Callable[..., Any] = method) -> Any:
                sent[0] += 1
                return _method(*args)

            setattr(db, name, counted)
    return sent


def store_path(store: SqlStore, n: int) -> tuple[float, float, float]:
    """ms per article: wall and this process's CPU; round trips per article."""
    sent = count_round_trips(store)
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(n):
        a = _article(i)
        with store.placing():
            store.lookup(a.guid, a.canonical_url, (a.key,))
            story = Placement(f"s{i // 3}", 0.5, i % 3 == 0, story_title="T")
            store.add_article(a, story, None)
            store.add_listing(a.key, "http://f.example/other.xml")
    store.drain()  # PostgreSQL's search index, filled beside the writes, counts too
    return (
        1000 * (time.perf_counter() - wall) / n,
        1000 * (time.process_time() - cpu) / n,
        sent[0] / n,
    )


def replay(corpus: Path, url: str | None) -> tuple[float, float, int]:
    from aggregator.cli.common import build_pipeline
    from aggregator.config.model import Settings
    from aggregator.read.replay import arrivals, read_records, to_article

    now = datetime.now(UTC)
    articles = [to_article(r, arrived=a or now) for r, a in arrivals(read_records(corpus))]
    with tempfile.TemporaryDirectory() as tmp, SqlStore(location(Path(tmp), url)) as store:
        pipeline = build_pipeline(Settings(), store, fetching=False)
        wall, cpu = time.perf_counter(), time.process_time()
        pipeline.ingest(articles, presorted=True)
        store.drain()
        n = len(articles)
        return 1000 * (time.perf_counter() - wall) / n, 1000 * (time.process_time() - cpu) / n, n


def lease_overhead(store: SqlStore, feeds: int) -> tuple[float, float]:
    """The check a daemon makes before each poll (FeedLeases.acquire, in its own
    transaction) on feeds it holds already: ms and round trips per check."""
    from aggregator.daemon.leases import FeedLeases

    held = FeedLeases(store, 60.0)
    with store.atomic() as db:
        leases.heartbeat(db, held.id, "host", 1, 60.0)
    urls = [f"http://f.example/{i}.xml" for i in range(feeds)]
    for url in urls:
        held.acquire(url, feeds)
    sent = count_round_trips(store)
    started = time.perf_counter()
    for url in urls:
        held.acquire(url, feeds)
    return 1000 * (time.perf_counter() - started) / feeds, sent[0] / feeds


def measure(
    cluster: PostgresCluster, articles: int, feeds: int, corpus: Path | None
) -> list[list[str]]:
    """The table's rows: each measure on both engines, best of two runs (by CPU)."""
    rows = []
    runs: tuple[tuple[str, Callable[[str | None], tuple[float, ...]]], ...] = (
        ("store path", lambda url: store_path_on(url, articles)),
    )
    for name, run in runs:
        figures = {}
        for engine in ("sqlite", "postgresql"):
            figures[engine] = min(
                (run(cluster.create_database() if engine == "postgresql" else None) for _ in "ab"),
                key=lambda r: r[1],
            )
        s, p = figures["sqlite"], figures["postgresql"]
        if len(p) > 2:
            rows.append(
                [f"{name}, statements (round trips) per article", f"{s[2]:.1f}", f"{p[2]:.1f}", ""]
            )
        rows.append(
            [f"{name}, wall ms/article", f"{s[0]:.2f}", f"{p[0]:.2f}", f"{p[0] / s[0]:.2f}x"]
        )
        rows.append(
            [
                f"{name}, CPU ms/article (this process)",
                f"{s[1]:.2f}",
                f"{p[1]:.2f}",
                f"{p[1] / s[1]:.2f}x",
            ]
        )
    if corpus is not None:
        rows += replay_rows(cluster, corpus)
    url = cluster.create_database()
    with tempfile.TemporaryDirectory() as tmp, SqlStore(location(Path(tmp), url)) as store:
        ms, trips = lease_overhead(store, feeds)
    rows.append([f"lease check per poll, ms ({feeds:,} feeds held)", "-", f"{ms:.2f}", ""])
    rows.append(["lease check per poll, round trips", "-", f"{trips:.1f}", ""])
    return rows


REPLAY_PAIRS = 6


def replay_rows(cluster: PostgresCluster, corpus: Path) -> list[list[str]]:
    """The replay on both engines, REPLAY_PAIRS times one after the other (a few seconds
    each: one run's figure moves by a third on a VM), as the sums' ratio and its spread."""
    pairs = [
        (replay(corpus, None), replay(corpus, cluster.create_database()))
        for _ in range(REPLAY_PAIRS)
    ]
    rows = []
    for what, i in (("wall", 0), ("CPU (this process)", 1)):
        s = sum(p[0][i] for p in pairs) / len(pairs)
        g = sum(p[1][i] for p in pairs) / len(pairs)
        each = sorted(p[1][i] / p[0][i] for p in pairs)
        rows.append(
            [
                f"replay of {corpus.name}, {what} ms/article (mean of {len(pairs)} pairs; "
                f"the pairs' ratios {each[0]:.2f}-{each[-1]:.2f}x)",
                f"{s:.2f}",
                f"{g:.2f}",
                f"{g / s:.2f}x",
            ]
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--feeds", type=int, default=1000, help="leases taken, for the overhead")
    parser.add_argument("--corpus", type=Path, default=None)
    args = parser.parse_args()
    if reason := available():
        print(f"skipped: {reason}")
        return 0
    cluster = PostgresCluster()
    cluster.start()
    try:
        rows = measure(cluster, args.articles, args.feeds, args.corpus)
    finally:
        cluster.destroy()
    print("| measure | SQLite | PostgreSQL | ratio |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


def store_path_on(url: str | None, n: int) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as tmp, SqlStore(location(Path(tmp), url)) as store:
        return store_path(store, n)


if __name__ == "__main__":
    sys.exit(main())
