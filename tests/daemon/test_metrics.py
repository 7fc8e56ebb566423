"""Prometheus /metrics: counters from poll reports, gauges from the store."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.testclient import TestClient

from aggregator.daemon.metrics import Metrics
from aggregator.pipeline import IngestCounts, PollReport
from aggregator.store import FeedState
from aggregator.store.sqlite import SqliteStore
from aggregator.timing import StageStat
from aggregator.types import NewArticle, Placement
from aggregator.web import create_app

T0 = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)


def fill(directory):
    store = SqliteStore(directory)
    store.add_article(
        NewArticle(
            key="a1",
            guid="a1",
            url=None,
            canonical_url=None,
            title="T",
            feed_url="f",
            source="S",
            published=T0,
            fetched=T0,
            text="x",
            text_source="feed",
        ),
        Placement(story_id="s1", score=1.0, new_story=True, story_title="T"),
        None,
    )
    store.save_feed_state(FeedState(url="f", error_count=3, last_error="boom"))
    store.save_feed_state(FeedState(url="g", gone=True, error_count=1))
    store.save_feed_state(FeedState(url="h"))
    store.close()


def test_metrics_export_poll_counters_and_store_gauges(tmp_path):
    fill(tmp_path)
    metrics = Metrics(tmp_path)
    metrics.observe(
        PollReport(
            feeds=3,
            ok=1,
            not_modified=1,
            failed=1,
            error_kinds={"fetch": 1},
            counts=IngestCounts(new_articles=5, duplicates=1, new_stories=2),
            stages={"extract": StageStat(calls=5, seconds=0.5)},
            seconds=1.5,
        )
    )
    with TestClient(create_app(tmp_path, metrics=metrics)) as client:
        response = client.get("/metrics")
    assert response.status_code == 200
    text = response.text
    assert 'aggregator_feed_polls_total{outcome="failed"} 1.0' in text
    assert 'aggregator_feed_errors_total{kind="fetch"} 1.0' in text
    assert "aggregator_articles_stored_total 5.0" in text
    assert 'aggregator_stage_seconds_total{stage="extract"} 0.5' in text
    assert 'aggregator_stored{kind="articles"} 1.0' in text
    assert 'aggregator_feeds{health="failing"} 1.0' in text
    assert 'aggregator_feeds{health="gone"} 1.0' in text
    # extraction health per feed: the one article's body came from the feed, one word long
    assert 'aggregator_feed_bodies{feed="f",source="feed"} 1.0' in text
    assert 'aggregator_feed_bodies{feed="f",source="page"} 0.0' in text
    assert 'aggregator_feed_body_median_words{feed="f"} 1.0' in text


def test_serve_alone_still_exports_store_gauges(tmp_path):
    fill(tmp_path)
    with TestClient(create_app(tmp_path)) as client:
        text = client.get("/metrics").text
    assert 'aggregator_stored{kind="stories"} 1.0' in text
