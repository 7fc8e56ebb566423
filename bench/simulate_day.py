"""A day of polling in a few seconds: a fast clock, a local site with healthy and failing feeds.

Feeds on 127.0.0.1: one that changes every 2 hours, one that never changes, one that asks
for a 2-hour ttl, one answering 500, one rate-limited (429, Retry-After 1h), one gone (410),
one moved permanently (301) and one HTML page instead of a feed. The real pipeline and
fetcher poll them whenever the pipeline's own next-poll decision says so, on a simulated
clock over 24 hours; then `aggregator status` shows what an operator sees.

    .venv/bin/python bench/simulate_day.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aggregator.cli.common import build_pipeline, close_pipeline  # noqa: E402
from aggregator.cli.main import main  # noqa: E402
from aggregator.config.model import parse_config  # noqa: E402
from aggregator.store.sqlite import SqliteStore  # noqa: E402
from tests.support.localsite import LocalSite  # noqa: E402

START = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)


def rss(title: str, items: list[tuple[str, datetime]], ttl: int | None = None) -> str:
    body = "".join(
        f"<item><title>{t}</title><guid>{t.replace(' ', '-')}</guid>"
        f"<pubDate>{format_datetime(when)}</pubDate><description>{t} in detail.</description></item>"
        for t, when in items
    )
    ttl_tag = f"<ttl>{ttl}</ttl>" if ttl else ""
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>http://example.invalid/</link><description>d</description>{ttl_tag}{body}"
        "</channel></rss>"
    )


def publish_changing(site: LocalSite, now: datetime) -> None:
    # a new item every two hours
    count = int((now - START).total_seconds() // 7200) + 1
    items = [(f"Bulletin number {i}", START + timedelta(hours=2 * i)) for i in range(count)]
    site.add("/changing.xml", rss("Changing", items[-20:]), "application/rss+xml")


async def simulate(site: LocalSite, storage: Path) -> Counter[str]:
    feeds = {
        "Changing": "/changing.xml",
        "Static": "/static.xml",
        "Slow ttl": "/ttl.xml",
        "Server error": "/error.xml",
        "Rate limited": "/limited.xml",
        "Gone": "/gone.xml",
        "Moved": "/moved.xml",
        "Not a feed": "/page.html",
    }
    site.add("/static.xml", rss("Static", [("Old news", START)]), "application/rss+xml")
    site.add("/ttl.xml", rss("Ttl", [("Slow news", START)], ttl=120), "application/rss+xml")
    site.add("/error.xml", "oops", "text/plain", status=500)
    site.add("/limited.xml", "slow down", "text/plain", status=429, headers={"Retry-After": "3600"})
    site.add("/gone.xml", "gone", "text/plain", status=410)
    site.add("/moved.xml", "", "text/plain", status=301, headers={"Location": "/new-home.xml"})
    site.add("/new-home.xml", rss("New home", [("Moved news", START)]), "application/rss+xml")
    site.add(
        "/page.html",
        '<html><head><link rel="alternate" type="application/rss+xml" href="/static.xml">'
        "</head><body>Home page</body></html>",
    )
    publish_changing(site, START)
    lines = ["feeds:"]
    for name, path in feeds.items():
        lines += [f"  - url: {site.url(path)}", f"    name: {name}", "    extract: false"]
    lines += ["settings:", "  interval: 15m", "  min_interval: 5m", "  max_interval: 6h"]
    lines += ["  host_delay: 0s"]
    config = parse_config("\n".join(lines) + "\n")
    now = START
    store = SqliteStore(storage)
    pipeline = build_pipeline(config.settings, store)
    pipeline.clock = lambda: now
    polls: Counter[str] = Counter()
    due = {feed.url: START for feed in config.feeds}
    try:
        while True:
            now = min(due.values())
            if now > START + timedelta(days=1):
                break
            publish_changing(site, now)
            batch = [f for f in config.feeds if due[f.url] <= now]
            await pipeline.poll(batch)
            for feed in batch:
                polls[feed.name] += 1
                state = store.feed_state(feed.url)
                assert state is not None and state.next_poll is not None
                due[feed.url] = state.next_poll
    finally:
        await close_pipeline(pipeline)
        store.close()
    return polls


def run() -> None:
    storage = Path(tempfile.mkdtemp(prefix="simulate-day-"))
    with LocalSite() as site:
        polls = asyncio.run(simulate(site, storage))
    print("polls in 24 simulated hours (default interval 15m = 96 polls):")
    for name, n in polls.items():
        print(f"  {name:<14} {n}")
    print("\n$ aggregator status")
    sys.stdout.flush()
    main(["status", "--storage", str(storage)])


if __name__ == "__main__":
    run()
