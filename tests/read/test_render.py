"""Digest and output formats: order, collapsed copies, escaping, feeds that parse."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import feedparser
import pytest

from aggregator.read.digest import build_digest, lead_text
from aggregator.read.render import render
from aggregator.store.sqlite import SqliteStore
from aggregator.types import NewArticle, Placement

T0 = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)
EVIL = 'Quake <script>alert(1)</script><img src=x onerror="alert(2)">'


def add(store, key, story, source, *, minutes=0, title=None, dup=None):
    store.add_article(
        NewArticle(
            key=key,
            guid=key,
            url=f"https://{source.lower()}.example/{key}",
            canonical_url=f"https://{source.lower()}.example/{key}",
            title=title or f"Story {story} by {source}",
            feed_url=f"https://{source.lower()}.example/feed",
            source=source,
            published=T0 + timedelta(minutes=minutes),
            fetched=T0 + timedelta(hours=2),
            text=f"Lead paragraph of {key}.\nSecond paragraph.",
            text_source="page",
            tags=("world", "en"),
        ),
        Placement(
            story_id=story,
            score=0.9,
            new_story=False,
            story_title=title or f"Story {story} by {source}",
        ),
        dup,
    )


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(tmp_path)
    add(s, "a1", "big", "Alpha", title=EVIL)
    add(s, "a2", "big", "Beta", minutes=10)
    add(s, "a3", "big", "Gamma", minutes=20, dup="a1")
    add(s, "b1", "small", "Alpha", minutes=90)
    yield s
    s.close()


def test_biggest_story_first_with_copies_collapsed(store):
    digest = build_digest(store, now=T0 + timedelta(hours=3))
    assert [s.id for s in digest.stories] == ["big", "small"]
    big = digest.stories[0]
    assert big.sources == ("Alpha", "Beta", "Gamma") and big.article_count == 3
    assert len(big.articles) == 2  # the copy is folded into its original
    assert big.articles[0].copies == (("Gamma", "https://gamma.example/a3"),)
    assert big.first_report is not None and big.first_report.source == "Alpha"
    assert big.tags == (("en", 3), ("world", 3))


def test_min_sources_and_since_filter(store):
    assert [s.id for s in build_digest(store, now=T0, min_sources=2).stories] == ["big"]
    assert [s.id for s in build_digest(store, now=T0, since=T0 + timedelta(hours=1)).stories] == [
        "small"
    ]


@pytest.mark.parametrize("fmt", ["html", "atom", "rss", "jsonfeed", "markdown"])
def test_markup_formats_never_carry_executable_markup_from_feeds(store, fmt):
    out = render(build_digest(store, now=T0), fmt)
    # markdown escapes "<" with a backslash; the others with entities
    assert not re.search(r"(?<!\\)<(script|img)", out)


def test_jsonfeed_content_html_is_escaped(store):
    feed = json.loads(render(build_digest(store, now=T0), "jsonfeed"))
    html = "".join(i["content_html"] for i in feed["items"])
    assert "&lt;script&gt;" in html and "<script>" not in html


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_plain_formats_keep_the_title_as_text(store, fmt):
    assert "Quake <script>" in render(build_digest(store, now=T0), fmt).replace("\\u003c", "<")


def test_feed_formats_parse_with_stable_ids(store):
    digest = build_digest(store, now=T0 + timedelta(hours=3))
    for fmt in ("atom", "rss"):
        parsed = feedparser.parse(render(digest, fmt))
        assert not parsed.bozo, parsed.bozo_exception
        assert [e.id for e in parsed.entries] == [
            "urn:newsroom-aggregator:story:big",
            "urn:newsroom-aggregator:story:small",
        ]
        assert "<script>" not in parsed.entries[0].title
    feed = json.loads(render(digest, "jsonfeed"))
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert [i["id"] for i in feed["items"]][0] == "urn:newsroom-aggregator:story:big"


def test_lead_text_cuts_at_a_word():
    assert lead_text("one two three", limit=100) == "one two three"
    cut = lead_text("word " * 100, limit=20)
    assert cut.endswith("…") and len(cut) <= 21
