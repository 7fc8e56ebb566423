"""How fast the readers' server answers with many stories stored.

Fills a store with synthetic coverage through the store's own write API (``--stories``
stories, 1-12 articles each from 40 outlets over ``--days`` days, bodies of ~250 words),
starts the real server (uvicorn) on 127.0.0.1, and times each page over real HTTP.

    .venv/bin/python bench/server_bench.py --stories 5000
    .venv/bin/python bench/server_bench.py --storage /tmp/bench5k --reuse   # skip the fill

Prints one line per request: median, 95th percentile and fastest time, and the body size.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aggregator.store import FeedState  # noqa: E402
from aggregator.store.sqlite import DB_NAME, SqliteStore  # noqa: E402
from aggregator.types import NewArticle, Placement  # noqa: E402
from aggregator.web import create_app  # noqa: E402
from aggregator.web.app import ServerThread  # noqa: E402

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
REGIONS = ("europe", "asia", "africa", "americas", "oceania")
WORDS = [
    "government",
    "minister",
    "election",
    "parliament",
    "storm",
    "flood",
    "earthquake",
    "market",
    "bank",
    "rate",
    "inflation",
    "court",
    "ruling",
    "strike",
    "union",
    "talks",
    "border",
    "ceasefire",
    "vaccine",
    "hospital",
    "school",
    "budget",
    "tax",
    "energy",
    "oil",
    "gas",
    "wind",
    "solar",
    "port",
    "harbour",
    "railway",
    "airport",
    "police",
    "protest",
    "summit",
    "treaty",
    "climate",
    "drought",
    "harvest",
    "football",
    "final",
    "league",
    "coach",
    "record",
    "museum",
    "festival",
    "satellite",
    "launch",
    "science",
    "report",
]


def fill(directory: Path, stories: int, days: int, seed: int = 7) -> int:
    """Write synthetic stories; returns the number of articles."""
    rng = random.Random(seed)
    outlets = [
        (f"Outlet {i:02d}", REGIONS[i % len(REGIONS)], "en" if i % 3 else "fr") for i in range(40)
    ]
    store = SqliteStore(directory)
    count = 0
    try:
        with store.atomic():
            for name, _, _ in outlets:
                slug = name.lower().replace(" ", "-")
                store.save_feed_state(
                    FeedState(
                        url=f"https://{slug}.example/feed.xml",
                        name=name,
                        last_polled=NOW,
                        last_success=NOW,
                        last_status=200,
                    )
                )
            for s in range(stories):
                # most stories are small, a few are big (as in real news)
                size = min(12, 1 + int(rng.paretovariate(1.6)) - 1 + rng.randint(0, 2))
                start = NOW - timedelta(minutes=rng.randint(0, days * 24 * 60))
                topic = rng.sample(WORDS, 4)
                story_id = f"s{s:05d}"
                for k, (name, region, lang) in enumerate(rng.sample(outlets, size)):
                    count += 1
                    _add(store, rng, story_id, s, k, name, region, lang, topic, start, count)
    finally:
        store.close()
    return count


def _add(
    store: SqliteStore,
    rng: random.Random,
    story_id: str,
    s: int,
    k: int,
    outlet: str,
    region: str,
    lang: str,
    topic: list[str],
    start: datetime,
    n: int,
) -> None:
    slug = outlet.lower().replace(" ", "-")
    title = f"{' '.join(topic).capitalize()} report {s} from {outlet}"
    body = "\n".join(
        " ".join(rng.choice(WORDS + topic * 3) for _ in range(50)).capitalize() + "."
        for _ in range(5)
    )
    published = start + timedelta(minutes=k * rng.randint(5, 90))
    key = f"a{n:07d}"
    store.add_article(
        NewArticle(
            key=key,
            guid=key,
            url=f"https://{slug}.example/{key}.html",
            canonical_url=f"https://{slug}.example/{key}.html",
            title=title,
            feed_url=f"https://{slug}.example/feed.xml",
            source=outlet,
            published=published,
            fetched=published + timedelta(minutes=5),
            text=body,
            text_source="page",
            tags=(region, lang),
        ),
        Placement(
            story_id=story_id,
            score=1.0 if k == 0 else round(rng.uniform(0.3, 0.9), 3),
            new_story=k == 0,
            evidence={} if k == 0 else {"cosine": 0.5, "shared_terms": topic},
            story_title=title if k == 0 else None,
        ),
        None,
    )


def measure(
    client: httpx.Client, path: str, runs: int, before: Callable[[], None] = lambda: None
) -> tuple[list[float], int]:
    client.get(path)  # warm the OS page cache and SQLite's
    times = []
    size = 0
    for _ in range(runs):
        before()
        t0 = time.perf_counter()
        r = client.get(path)
        times.append(time.perf_counter() - t0)
        r.raise_for_status()
        size = len(r.content)
    return times, size


def noop() -> None:
    pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=5000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--storage", type=Path, default=None, help="default: a temporary folder")
    parser.add_argument("--reuse", action="store_true", help="use the store already there")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="server-bench-") as tmp:
        storage = args.storage or Path(tmp)
        if not (args.reuse and (storage / DB_NAME).exists()):
            (storage / DB_NAME).unlink(missing_ok=True)
            t0 = time.perf_counter()
            articles = fill(storage, args.stories, args.days)
            print(
                f"filled {args.stories} stories, {articles} articles in {time.perf_counter() - t0:.1f}s"
            )
        app = create_app(storage, clock=lambda: NOW)
        cache = app.state.web.stories  # type: ignore[attr-defined]
        with (
            ServerThread(app) as server,
            httpx.Client(base_url=server.url, timeout=60) as client,
        ):
            big = client.get("/api/stories?since=all&limit=1").json()["stories"][0]["id"]
            paths = [
                "/",
                "/?since=all",
                "/?since=all&page=100",
                "/?since=all&tag=europe",
                "/?since=all&min_sources=3",
                "/?q=harbour+strike",
                f"/stories/{big}",
                "/api/stories?since=all",
                "/api/articles?q=satellite",
                "/feed.atom?since=all",
                "/feed.json?min_sources=2",
            ]
            print(f"{'request':32} {'median':>8} {'p95':>8} {'min':>8} {'bytes':>8}")
            # "cold": the story order recomputed, as on the first request after new articles
            runs = [(p, "cold", cache.clear) for p in paths[:6]] + [(p, "", noop) for p in paths]
            for path, label, before in runs:
                times, size = measure(client, path, args.runs, before)
                ms = sorted(t * 1000 for t in times)
                p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
                print(
                    f"{path + (' (' + label + ')' if label else ''):32} {statistics.median(ms):7.1f}ms {p95:7.1f}ms {ms[0]:7.1f}ms "
                    f"{size:8d}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
