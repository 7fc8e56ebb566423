"""Prometheus metrics: what the daemon did (counters) and what the store holds (gauges).

The counters live in the daemon process and are fed one PollReport at a time; the gauges
are read from the store at scrape time, so `aggregator serve` on its own still exports them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from aggregator.errors import StorageError
from aggregator.store.engine import Location
from aggregator.store.sql import SqlStore

if TYPE_CHECKING:
    from aggregator.pipeline import PollReport

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class StoreCollector(Collector):
    """Gauges read from the store when Prometheus scrapes."""

    def __init__(self, storage: Path | Location):
        self.storage = storage

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            store = SqlStore(self.storage, readonly=True)
        except StorageError:
            return
        with store:
            overview = store.overview()
        counts, states = overview.counts, overview.feeds
        stored = GaugeMetricFamily("aggregator_stored", "Records in the store", labels=["kind"])
        for kind in ("articles", "stories", "duplicates", "feeds"):
            stored.add_metric([kind], counts.get(kind, 0))
        yield stored
        health = GaugeMetricFamily("aggregator_feeds", "Feeds by health", labels=["health"])
        failing = sum(1 for s in states if s.error_count > 0 and not s.gone)
        gone = sum(1 for s in states if s.gone)
        health.add_metric(["ok"], len(states) - failing - gone)
        health.add_metric(["failing"], failing)
        health.add_metric(["gone"], gone)
        yield health
        sources = GaugeMetricFamily(
            "aggregator_feed_bodies",
            "Stored articles per feed by where the body came from (page, feed, none)",
            labels=["feed", "source"],
        )
        median = GaugeMetricFamily(
            "aggregator_feed_body_median_words", "Median words of a feed's bodies", labels=["feed"]
        )
        for feed, body in overview.bodies.items():
            for source in ("page", "feed", "none"):
                sources.add_metric([feed, source], getattr(body, source))
            median.add_metric([feed], body.median_words)
        yield sources
        yield median
        pending = GaugeMetricFamily(
            "aggregator_pages_waiting", "Deferred article pages waiting, per feed", labels=["feed"]
        )
        for feed, n in overview.pages_waiting.items():
            pending.add_metric([feed], n)
        yield pending


class Metrics:
    def __init__(self, storage: Path | Location | None = None):
        self.registry = CollectorRegistry()
        r = self.registry
        self.polls = Counter(
            "aggregator_feed_polls", "Feed polls by outcome", ["outcome"], registry=r
        )
        self.errors = Counter(
            "aggregator_feed_errors", "Failed feed polls by error kind", ["kind"], registry=r
        )
        self.articles = Counter("aggregator_articles_stored", "New articles stored", registry=r)
        self.duplicates = Counter(
            "aggregator_near_duplicates", "Articles marked as near-duplicates", registry=r
        )
        self.stories = Counter("aggregator_stories_started", "New stories", registry=r)
        self.stage_seconds = Counter(
            "aggregator_stage_seconds", "Seconds spent per pipeline stage", ["stage"], registry=r
        )
        self.stage_calls = Counter(
            "aggregator_stage_calls", "Calls per pipeline stage", ["stage"], registry=r
        )
        self.poll_seconds = Histogram(
            "aggregator_poll_seconds",
            "Wall time of one poll",
            buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
            registry=r,
        )
        if storage is not None:
            r.register(StoreCollector(storage))

    def observe(self, report: PollReport) -> None:
        self.polls.labels("ok").inc(report.ok)
        self.polls.labels("unchanged").inc(report.not_modified)
        self.polls.labels("failed").inc(report.failed)
        for kind, n in report.error_kinds.items():
            self.errors.labels(kind).inc(n)
        self.articles.inc(report.counts.new_articles)
        self.duplicates.inc(report.counts.duplicates)
        self.stories.inc(report.counts.new_stories)
        for stage, stat in report.stages.items():
            self.stage_seconds.labels(stage).inc(stat.seconds)
            self.stage_calls.labels(stage).inc(stat.calls)
        self.poll_seconds.observe(report.seconds)

    def exposition(self) -> bytes:
        return bytes(generate_latest(self.registry))
