"""What the pipeline hands out: one feed's outcome, what storing did, and the poll's report.

Plain records, so the daemon, the CLI and the metrics read a poll without knowing its stages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from aggregator.cluster.clusterer import Features
from aggregator.config.model import FeedConfig
from aggregator.errors import FeedError
from aggregator.store import FeedState
from aggregator.timing import StageStat
from aggregator.types import ClusterDoc, NewArticle, PageFill


class Prepared(NamedTuple):
    """The part of dedupe and clustering that depends on one article alone."""

    features: Features
    shingles: frozenset[int]


@dataclass
class FeedOutcome:
    """What one feed's poll produced, before anything is written."""

    feed: FeedConfig
    state: FeedState  # the state to store once the articles are in
    articles: list[NewArticle] = field(default_factory=list)
    listings: list[str] = field(default_factory=list)  # keys of known articles this feed lists
    # article key -> its terms, names and shingles, computed while other pages were arriving
    prepared: dict[str, Prepared] = field(default_factory=dict)
    status: str = "ok"  # ok | not-modified | failed
    error: FeedError | None = None
    # pages past this poll's cap, deferred to later polls: (article key, page URL)
    deferred: list[tuple[str, str]] = field(default_factory=list)
    pages_tried: int = 0  # pages this poll fetched for its new entries
    filled: list[PageFill] = field(default_factory=list)  # deferred pages fetched this time
    unfetched: list[str] = field(default_factory=list)  # keys of deferred pages that failed


@dataclass
class IngestCounts:
    """What storing a batch of articles did (bench/bench.py writes these fields out in order)."""

    new_articles: int = 0
    duplicates: int = 0
    new_stories: int = 0
    merges: int = 0
    already_known: int = 0


@dataclass
class PollReport:
    """What one poll of a set of feeds did: the daemon's metrics and the CLI's summary line.

    Feeds by status (ok, unchanged, failed), entries listed, what storing did, and the time
    spent, overall and per stage.
    """

    feeds: int = 0
    ok: int = 0
    not_modified: int = 0
    failed: int = 0
    entries: int = 0
    counts: IngestCounts = field(default_factory=IngestCounts)
    errors: list[str] = field(default_factory=list)
    error_kinds: dict[str, int] = field(default_factory=dict)  # failed feeds by error kind
    seconds: float = 0.0
    # calls and seconds per stage (see aggregator/timing.py for what the seconds mean)
    stages: dict[str, StageStat] = field(default_factory=dict)

    def count(self, outcome: FeedOutcome) -> None:
        """Tally one feed's outcome; what storing its articles did goes to `counts` afterwards."""
        if outcome.status == "failed":
            self.failed += 1
            self.errors.append(str(outcome.error))
            kind = outcome.error.kind if outcome.error else "unknown"
            self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1
        elif outcome.status == "not-modified":
            self.not_modified += 1
        else:
            self.ok += 1
        self.entries += len(outcome.articles) + len(outcome.listings)

    def summary(self) -> str:
        c = self.counts
        line = (
            f"polled {self.feeds} feeds ({self.ok} ok, {self.not_modified} unchanged, "
            f"{self.failed} failed): {self.entries} entries, {c.new_articles} new articles, "
            f"{c.duplicates} near-duplicates, {c.new_stories} new stories in {self.seconds:.1f}s"
        )
        return line


def cluster_doc(article: NewArticle) -> ClusterDoc:
    """What dedupe and the clusterer see of an article."""
    return ClusterDoc(
        id=article.key,
        title=article.title,
        text=article.text,
        published=article.published or article.fetched,
        source=article.source,
    )
