"""The per-poll page cap defers pages, never drops them: one feed of 181 new entries, polled
by separate `aggregator run --once` processes (so every poll is also a restart).

After the first poll every entry is stored (with the feed's text where its page is still
waiting) and `status` shows the pages waiting; later polls drain the backlog politely, even
while the feed answers 304; after three polls every entry has its page's text.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aggregator.pipeline import MAX_PAGES_PER_POLL
from tests.support.commands import aggregator
from tests.support.hostile import publish_archive
from tests.support.localsite import LocalSite

ENTRIES = 181


def _status(config: Path, storage: Path) -> dict:
    out = aggregator("status", "--json", "--config", str(config), "--storage", str(storage))
    return json.loads(out.stdout)


@pytest.fixture(autouse=True)
def _engine(database: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test on both engines: the commands find PostgreSQL in AGGREGATOR_DATABASE."""
    if database:
        monkeypatch.setenv("AGGREGATOR_DATABASE", database)


def _sources(storage: Path) -> list[str]:
    out = aggregator("export", "--storage", str(storage)).stdout
    return [json.loads(line)["text_source"] for line in out.splitlines()]


def test_pages_past_the_cap_wait_in_a_backlog_that_later_polls_drain(tmp_path: Path) -> None:
    config, storage = tmp_path / "feeds.yaml", tmp_path / "storage"
    with LocalSite() as site:
        publish_archive(site, ENTRIES)
        config.write_text(
            f"feeds:\n  - url: {site.url('/feed.xml')}\n"
            "settings:\n  host_delay: 0s\n  per_host: 4\n  window: 3650d\n"
        )
        once = ["run", "--once", "--config", str(config), "--storage", str(storage)]

        aggregator(*once)
        sources = _sources(storage)
        assert len(sources) == ENTRIES  # every entry stored at once
        assert sources.count("page") == MAX_PAGES_PER_POLL
        waiting = ENTRIES - MAX_PAGES_PER_POLL
        assert _status(config, storage)["feeds"][0]["pages_waiting"] == waiting
        assert site.count("/post/") == MAX_PAGES_PER_POLL

        aggregator(*once)  # the feed is unchanged (304): the backlog drains all the same
        assert site.count("/feed.xml") == 2
        assert _status(config, storage)["feeds"][0]["pages_waiting"] == 0

        aggregator(*once)
        assert _sources(storage) == ["page"] * ENTRIES
        assert site.count("/post/") == ENTRIES  # each page fetched once
        bodies = _status(config, storage)["feeds"][0]["bodies"]
        assert (bodies["page"], bodies["feed"], bodies["none"]) == (ENTRIES, 0, 0)
        assert bodies["median_words"] > 50


def test_a_feed_switched_to_extract_false_forgets_its_backlog(tmp_path: Path) -> None:
    config, storage = tmp_path / "feeds.yaml", tmp_path / "storage"
    with LocalSite() as site:
        publish_archive(site, ENTRIES)
        settings = "settings:\n  host_delay: 0s\n  per_host: 4\n  window: 3650d\n"
        config.write_text(f"feeds:\n  - url: {site.url('/feed.xml')}\n" + settings)
        once = ["run", "--once", "--config", str(config), "--storage", str(storage)]
        aggregator(*once)
        assert _status(config, storage)["feeds"][0]["pages_waiting"] == ENTRIES - MAX_PAGES_PER_POLL
        config.write_text(
            f"feeds:\n  - url: {site.url('/feed.xml')}\n    extract: false\n" + settings
        )
        aggregator(*once)
        assert _status(config, storage)["feeds"][0]["pages_waiting"] == 0
        assert site.count("/post/") == MAX_PAGES_PER_POLL  # no page fetched after the switch
        assert len(_sources(storage)) == ENTRIES  # every entry still stored


def test_a_feed_removed_from_feeds_yaml_leaves_no_pages_waiting(tmp_path: Path) -> None:
    from aggregator.store.sqlite import SqliteStore

    config, storage = tmp_path / "feeds.yaml", tmp_path / "storage"
    with LocalSite() as site:
        publish_archive(site, ENTRIES)
        site.add("/other.xml", b"<rss version='2.0'><channel><title>t</title></channel></rss>")
        settings = "settings:\n  host_delay: 0s\n  per_host: 4\n  window: 3650d\n"
        config.write_text(f"feeds:\n  - url: {site.url('/feed.xml')}\n" + settings)
        once = ["run", "--once", "--config", str(config), "--storage", str(storage)]
        aggregator(*once)
        config.write_text(f"feeds:\n  - url: {site.url('/other.xml')}\n" + settings)
        aggregator(*once)
        store = SqliteStore(storage)
        try:
            assert store.pending_counts() == {}  # nothing polls the removed feed any more
        finally:
            store.close()
        assert site.count("/post/") == MAX_PAGES_PER_POLL
        assert len(_sources(storage)) == ENTRIES  # its articles are kept
