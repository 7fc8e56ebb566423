"""Several daemons on one PostgreSQL store: 1 against 3 `aggregator run` processes on this
machine, for a first ingest and for re-polling unchanged feeds (every feed answers 304).

Each daemon is a real process with its own --storage directory and the same --database URL
and feeds.yaml; the feeds are bench/gen.py's, served on loopback by the caller's FeedServer.
A pass is timed from the daemons' start until every feed was polled once (the feed's state is
saved after its articles, so then every article is stored); the daemons are then stopped.
"No article stored twice": rows against distinct keys and distinct article URLs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from aggregator.store.engine import location
from aggregator.store.rows import to_db
from aggregator.store.sql import SqlStore
from tests.support.postgres import PostgresCluster

CONCURRENCY = 16


@dataclass(frozen=True)
class Pass:
    """One timed pass of ``daemons`` processes over the feeds."""

    daemons: int
    feeds: int
    wall: float  # from the daemons' start to the last feed's poll
    startup: float  # until the first feed's poll (imports, connecting, leases)
    articles: int  # stored by the pass
    rows: int  # articles in the store after it
    distinct_keys: int
    distinct_urls: int
    statuses: dict[int, int]  # the feeds' last HTTP status, counted
    held: list[int]  # feeds held per daemon at the end (leases)


def write_config(path: Path, urls: Sequence[str], *, extract: bool) -> Path:
    feeds = "".join(
        f"  - url: {u}\n    name: Outlet {i}\n    extract: {str(extract).lower()}\n"
        for i, u in enumerate(urls)
    )
    path.write_text(
        f"feeds:\n{feeds}settings:\n  interval: 6h\n  host_delay: 0s\n"
        f"  per_host: {CONCURRENCY}\n  concurrency: {CONCURRENCY}\n"
        "  http: {enabled: false}\n  log_level: warning\n",
        encoding="utf-8",
    )
    return path


def _query(url: str, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, connect_timeout=10) as db:
        return db.execute(sql, params).fetchall()


def run_pass(url: str, config: Path, work: Path, daemons: int, feeds: int) -> Pass:
    """Start ``daemons`` processes; stop them once every feed was polled since the start."""
    (before,) = _query(url, "SELECT count(*) FROM articles")[0]
    started_at = to_db(datetime.now(UTC))
    started = time.perf_counter()
    procs = []
    for n in range(daemons):
        storage = work / f"daemon{n}"
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "aggregator", "run", "--config", str(config)]
                + ["--storage", str(storage), "--database", url],
                stdout=subprocess.DEVNULL,
                stderr=open(work / f"daemon{n}.log", "w"),  # noqa: SIM115 (the child's)
                env=_env(),
            )
        )
    first = None
    try:
        while True:
            polled = _query(
                url, "SELECT count(*) FROM feeds WHERE last_polled >= %s", (started_at,)
            )[0][0]
            now = time.perf_counter()
            if polled and first is None:
                first = now - started
            if polled >= feeds:
                wall = now - started
                break
            dead = [p.returncode for p in procs if p.poll() is not None]
            if dead:
                raise RuntimeError(f"a daemon stopped (exit {dead}): see {work}/daemon*.log")
            time.sleep(0.2)
        held = [
            int(r[1])
            for r in _query(url, "SELECT holder, count(*) FROM feed_leases GROUP BY holder")
        ]
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
    rows, keys, urls = _query(
        url, "SELECT count(*), count(DISTINCT key), count(DISTINCT url) FROM articles"
    )[0]
    statuses = dict(_query(url, "SELECT last_status, count(*) FROM feeds GROUP BY last_status"))
    return Pass(
        daemons, feeds, wall, first or wall, rows - before, rows, keys, urls, statuses, held
    )


def compare(
    cluster: PostgresCluster,
    urls: list[str],
    *,
    unchanged: bool,
    counts: Sequence[int] = (1, 3),
) -> list[Pass]:
    """A pass per daemon count, each on a copy of one prepared database. ``unchanged``: the
    feeds are stored first (one `run --once`, pages off), and the passes re-poll them."""
    results = []
    with tempfile.TemporaryDirectory(prefix="agg-bench-daemons-") as tmp:
        work = Path(tmp)
        config = write_config(work / "feeds.yaml", urls, extract=not unchanged)
        template = cluster.create_database()
        with SqlStore(location(work / "schema", template)):
            pass  # the schema, before the daemons race to it
        if unchanged:
            subprocess.run(
                [sys.executable, "-m", "aggregator", "run", "--once", "--config", str(config)]
                + ["--storage", str(work / "prime"), "--database", template],
                check=True,
                stdout=subprocess.DEVNULL,
                env=_env(),
            )
        for daemons in counts:
            name = f"daemons_{daemons}_{os.getpid()}_{len(results)}_{int(unchanged)}"
            with psycopg.connect(cluster.url(), autocommit=True) as db:
                db.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template.rsplit("/", 1)[1]}"')
            (work / str(daemons)).mkdir()
            results.append(
                run_pass(cluster.url(name), config, work / str(daemons), daemons, len(urls))
            )
    return results


def _env() -> dict[str, str]:
    root = str(Path(__file__).resolve().parents[1])
    return {**os.environ, "NO_PROXY": "*", "PYTHONPATH": root}


def report(title: str, passes: Sequence[Pass]) -> list[list[str]]:
    """Table rows, one per pass."""
    rows = []
    for p in passes:
        statuses = ", ".join(f"{k} x{v:,}" for k, v in sorted(p.statuses.items(), key=str))
        twice = p.rows - min(p.distinct_keys, p.distinct_urls)
        polling = max(p.wall - p.startup, 1e-3)
        rows.append(
            [
                title,
                str(p.daemons),
                f"{p.feeds:,}",
                f"{p.wall:.1f}",
                f"{p.startup:.1f}",
                f"{polling:.1f}",
                f"{p.feeds / polling:.0f}",
                f"{p.articles / polling:.1f}" if p.articles else "0",
                f"{p.articles:,}",
                f"{p.rows:,} / {p.distinct_keys:,} / {p.distinct_urls:,}"
                + (" (ok)" if twice == 0 else f" ({twice} twice!)"),
                statuses,
                " + ".join(str(n) for n in sorted(p.held, reverse=True)),
            ]
        )
    return rows


HEADER = [
    "pass",
    "daemons",
    "feeds",
    "wall s",
    "start-up s (to the first poll)",
    "polling s",
    "feeds/s (polling)",
    "articles/s (polling)",
    "new articles",
    "rows / distinct keys / distinct URLs",
    "feeds' last status",
    "feeds held per daemon",
]
