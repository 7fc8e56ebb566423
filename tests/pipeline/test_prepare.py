"""Entries prepared where their feed is parsed: the same terms, names and shingles the tail
would compute from the article itself, one per entry, in the feed's order."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

import aggregator.pipeline as pipeline_module
from aggregator.cluster.clusterer import Clusterer
from aggregator.config.model import FeedConfig
from aggregator.identity.near import shingles
from aggregator.pipeline.decide import entry_title
from aggregator.pipeline.prepare import feed_text, parse_prepared, prepared
from aggregator.pipeline.records import IngestCounts
from aggregator.types import ClusterDoc
from tests.support.mock_pipeline import mock_pipeline

BODY = " ".join(
    f"Firefighters in Lyon said on Tuesday that the blaze at the Mat-Maid dairy, {n} km "
    "from the river, was under control after crews from Villeurbanne worked through the night."
    for n in range(4)
)
FEED = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Lyon Daily</title><link>https://lyon.example/</link>
<item><title>Dairy fire in Lyon under control</title><link>https://lyon.example/a</link>
<description>Short teaser.</description>
<content:encoded xmlns:content="http://purl.org/rss/1.0/modules/content/">&lt;p&gt;{BODY}&lt;/p&gt;</content:encoded>
</item>
<item><link>https://lyon.example/b</link><description>Crews from Villeurbanne stay on site
at the Mat-Maid dairy in Lyon.</description></item>
</channel></rss>""".encode()

CHANNEL = (
    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Lyon</title>'
    "<link>http://lyon.test/</link>{items}</channel></rss>"
)
ITEM = (
    "<item><title>Report {n} on the dairy fire in Lyon</title>"
    "<link>http://lyon.test/{n}</link><guid>lyon-{n}</guid>"
    "<pubDate>Tue, 12 Mar 2024 0{n}:00:00 GMT</pubDate>"
    "<description>Crews from Villeurbanne fought the fire at the Mat-Maid dairy.</description>"
    "</item>"
)


def test_each_entry_is_prepared_as_the_tail_would_prepare_its_article() -> None:
    clusterer = Clusterer()
    weight = clusterer.settings.title_weight
    parsed, ready = parse_prepared(
        FEED,
        url="https://lyon.example/feed.xml",
        content_type="application/rss+xml",
        headers=None,
        source="Lyon Daily",
        title_weight=weight,
    )
    assert len(ready) == len(parsed.entries) == 2
    for entry, prep in zip(parsed.entries, ready, strict=True):
        doc = ClusterDoc("key", entry_title(entry), feed_text(entry), None, "Lyon Daily")
        assert prep == prepared(doc, weight)
        assert prep.features == clusterer.features(doc)
        assert prep.shingles == shingles(doc.text)
    body, untitled = ready
    assert body.shingles  # a body long enough to be matched as a copy
    assert {"villeurbanne", "mat", "maid"} <= body.features.names
    # the outlet's own name is in its datelines, whatever the event: not a term of it
    assert dict(body.features.title_terms) == {"dairy": 1, "fire": 1, "control": 1}
    assert "lyon" not in body.features.counts and "daily" not in body.features.counts
    # the entry without a title is prepared under the start of its text, as it is stored
    assert entry_title(parsed.entries[1]).startswith("Crews from Villeurbanne")
    assert not untitled.shingles


def test_a_feed_is_prepared_in_its_worker_only_the_first_time_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A feed read before mostly lists stored entries: its new articles are prepared in the
    tail instead, and are stored and placed all the same."""
    items = [ITEM.format(n=n) for n in range(3)]
    weights: list[float | None] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        weights.append(kwargs["title_weight"])
        parsed, ready = parse_prepared(*args, **kwargs)
        assert len(ready) == len(parsed.entries)
        assert all((p is None) == (kwargs["title_weight"] is None) for p in ready)
        return parsed, ready

    monkeypatch.setattr(pipeline_module, "parse_prepared", spy)

    def handler(request: httpx.Request) -> httpx.Response:
        body = CHANNEL.format(items="".join(items))
        return httpx.Response(200, text=body, headers={"content-type": "application/rss+xml"})

    async def poll() -> IngestCounts:
        async with mock_pipeline(tmp_path, handler) as pipeline:
            report = await pipeline.poll([FeedConfig(url="http://lyon.test/feed.xml")])
        assert report.counts is not None
        return report.counts

    first = asyncio.run(poll())
    items.append(ITEM.format(n=3))
    second = asyncio.run(poll())
    assert weights == [Clusterer().settings.title_weight, None]
    assert (first.new_articles, second.new_articles) == (3, 1)
    with sqlite3.connect(tmp_path / "aggregator.sqlite3") as db:
        placed = db.execute("SELECT count(*) FROM articles WHERE story_id IS NOT NULL")
        assert placed.fetchone()[0] == 4
