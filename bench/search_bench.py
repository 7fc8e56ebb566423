"""How fast full-text search answers at 100,000 stored articles.

Fills a store with bench.py's generated coverage (``prefill``: stories of four articles over
30 days, bodies of 300 words drawn from a 3,000-word vocabulary, titles of six topic words)
through the store's own write API, so the search index is kept by its triggers as in
production; then times each query through the store (``SqliteStore.search``, a read-only
connection as the web opens one) and, with ``--http``, through ``/api/search`` on the real
server.

    .venv/bin/python bench/search_bench.py                       # 100,000 articles
    .venv/bin/python bench/search_bench.py --storage /tmp/s100k --reuse   # skip the fill

Prints one line per query: matching stories, median and 95th percentile in ms. Nothing here
asserts a speed; the issue's bound is a median of 50 ms at 100,000 articles.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aggregator.read.search_query import parse_query  # noqa: E402
from aggregator.store.sqlite import DB_NAME, SqliteStore  # noqa: E402
from bench import gen  # noqa: E402
from bench.bench import prefill, timed  # noqa: E402


def queries() -> list[tuple[str, str]]:
    """(what it shows, query): selective, phrase, common-word and filter-only searches."""
    words = gen.vocabulary()
    # a story of prefill: its topic words are words[(story * 7 + k) % 3000], words 700-705,
    # past the 400 that every body draws from; its articles are from outlets 0-3
    story = 100
    topic = [words[(story * 7 + k) % len(words)] for k in range(6)]
    rare = topic
    return [
        ("one topic word", rare[0]),
        ("two topic words", f"{rare[0]} {rare[1]}"),
        ("phrase of a title", f'"{topic[0]} {topic[1]}"'),
        ("word, excluded word", f"{rare[0]} -{rare[1]}"),
        ("word + source + since", f'{rare[0]} source:"Outlet 1" since:30d'),
        ("word, excluded tag", f"{rare[0]} -tag:sport"),
        ("common word (every body)", words[0]),
        ("two common words", f"{words[0]} {words[1]}"),
        ("filters only: source + since", 'source:"Outlet 7" since:7d'),
    ]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def store_latency(storage: Path, repeats: int) -> list[dict[str, Any]]:
    """Each query through a read-only store: parse, search, page of 20 stories."""
    rows = []
    with SqliteStore(storage, readonly=True) as store:
        for label, text in queries():

            def one(text: str = text) -> int:
                return store.search(parse_query(text, gen.EPOCH), limit=20).total

            times = timed(one, repeats)
            rows.append({"query": label, "text": text, "stories": one(), "ms": times})
    return rows


def http_latency(storage: Path, repeats: int) -> list[dict[str, Any]]:
    """Each query as GET /api/search over real HTTP (one store opened per request)."""
    import httpx

    from aggregator.web import create_app
    from aggregator.web.app import ServerThread

    rows = []
    with (
        ServerThread(create_app(storage, clock=lambda: gen.EPOCH)) as server,
        httpx.Client(base_url=server.url, timeout=60) as client,
    ):
        for label, text in queries():
            path = "/api/search?" + urlencode({"q": text})
            times = timed(lambda path=path: client.get(path).raise_for_status(), repeats)
            rows.append({"query": label, "text": text, "ms": times})
    return rows


def report(title: str, rows: list[dict[str, Any]]) -> str:
    lines = [f"{title}", f"{'query':<32} {'stories':>8} {'p50 ms':>8} {'p95 ms':>8}"]
    for r in rows:
        stories = str(r.get("stories", ""))
        lines.append(
            f"{r['query']:<32} {stories:>8} {statistics.median(r['ms']):>8.1f} "
            f"{percentile(r['ms'], 0.95):>8.1f}"
        )
    every = [t for r in rows for t in r["ms"]]
    lines.append(
        f"{'all queries':<32} {'':>8} {statistics.median(every):>8.1f} "
        f"{percentile(every, 0.95):>8.1f}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--storage", type=Path, default=None, help="default: a temporary one")
    parser.add_argument("--reuse", action="store_true", help="search the store already there")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--http", action="store_true", help="also time /api/search")
    args = parser.parse_args(argv)
    storage = args.storage or Path(tempfile.mkdtemp(prefix="agg-search-"))
    if not (args.reuse and (storage / DB_NAME).exists()):
        started = time.perf_counter()
        with SqliteStore(storage) as store:
            prefill(store, args.articles)
        print(f"filled {args.articles} articles in {time.perf_counter() - started:.0f} s")
    print(
        report("store.search (parse + search + page of 20)", store_latency(storage, args.repeats))
    )
    if args.http:
        print(report("GET /api/search", http_latency(storage, args.repeats)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
