"""The ordered tail of the pipeline: the second loop of the pseudocode in __init__.py.

New articles are deduped, clustered and stored one at a time, in time order, after the recent
window was restored into the clusterer (once); then each feed's listings and state. All of it
is generators of steps, each step atomic (no await inside), so polls whose storing interleaves
never store an article twice; `yielding` runs the steps on the event loop, which the daemon
shares with the readers, giving it a turn between them.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aggregator.cluster.clusterer import Clusterer
from aggregator.identity.keys import match_existing
from aggregator.identity.near import NearDuplicates
from aggregator.pipeline import snapshot as snapshotmod
from aggregator.pipeline.heap import settle_heap
from aggregator.pipeline.records import FeedOutcome, IngestCounts, Prepared, cluster_doc
from aggregator.store import Store
from aggregator.timing import StageTimer
from aggregator.types import NewArticle, PageFill

log = logging.getLogger(__name__)

# Storing runs on the event loop, which the daemon shares with the readers' HTTP server: a
# poll that brought 1,000 articles would hold it for seconds (a few ms per article for dedupe,
# clustering and the write), so storing gives the loop a turn this often (seconds).
YIELD_EVERY = 0.02
# a deferred page that failed this many polls in a row is given up: the feed's text stays
MAX_PAGE_ATTEMPTS = 3
# how far behind this machine's clock another daemon's may be (the time of its splits)
SPLIT_CLOCK_SLACK = timedelta(minutes=10)


class Ingest:
    """The clusterer's and dedupe's memory of recent articles, and the store they are kept in
    step with."""

    def __init__(
        self,
        store: Store,
        clusterer: Clusterer,
        near_duplicates: NearDuplicates,
        window: timedelta,
        snapshot: Path | None = None,
    ):
        self.store = store
        self.clusterer = clusterer
        self.near_duplicates = near_duplicates
        self.window = window
        self.snapshot = snapshot  # where the window is saved between runs (snapshot.py)
        self._warm = False
        self._corrections_seen = 0  # the last correction the clusterer knows
        # the clusterer's splits known (a shared store: other daemons' come from the store)
        self._apart_known: set[tuple[str, str]] = set()
        self._apart_seen: datetime | None = None  # the last look at them

    def warming(self) -> Iterator[None]:
        """Take the clusterer's recent stories back from the snapshot, else rebuild them from
        the store (once): one step per restored article."""
        if self._warm:
            return
        self._warm = True
        if self._load_snapshot():
            self.apply_corrections()  # those recorded since it was saved
            settle_heap(collect_young=False)
            return
        # corrections made before the restore are in the stored placements already; those
        # made while it runs are applied after it
        earlier = self.store.corrections()
        self._corrections_seen = earlier[-1].id if earlier else 0
        # the operators' splits and the clusterer's own (cluster/split.py); the stories come
        # back under their ids of today: follow merges made since
        apart = [(c.story, c.other) for c in earlier if c.kind == "split"]
        self._apart_seen = datetime.now(UTC)
        self._apart_known.update(self.store.stories_apart())
        for story, other in apart + sorted(self._apart_known):
            self.clusterer.keep_apart(
                self.store.resolve_story_id(story), self.store.resolve_story_id(other)
            )
        latest = self.store.latest_time()
        if latest is not None:
            restored = 0
            for doc, story_id in self.store.recent_docs(latest - self.window):
                self.clusterer.restore(doc, story_id)
                self.near_duplicates.add(doc)
                restored += 1
                yield
            log.debug("restored %d recent articles into the clusterer", restored)
        self.apply_corrections()
        settle_heap()

    def _stamp(self) -> Callable[[], str] | None:
        """The store's window stamp, when this store can give one (SqliteStore)."""
        stamp = getattr(self.store, "window_stamp", None)
        return None if stamp is None else lambda: str(stamp(self.window))

    def _load_snapshot(self) -> bool:
        stamp = self._stamp()
        if self.snapshot is None or stamp is None:
            return False
        c, near, window = self.clusterer, self.near_duplicates, self.window
        extra = snapshotmod.load(self.snapshot, stamp, c, near, window)
        if extra is None:
            return False
        self._corrections_seen = int(extra.get("corrections_seen", 0))
        log.debug("clustering window taken back from %s", self.snapshot)
        return True

    def save_snapshot(self) -> bool:
        """Save the window for the next start (when it was loaded: else there is nothing new
        to save, and the file on disk still matches the store or is rejected)."""
        stamp = self._stamp()
        if self.snapshot is None or stamp is None or not self._warm:
            return False
        extra = {"corrections_seen": self._corrections_seen}
        c, near, window = self.clusterer, self.near_duplicates, self.window
        try:
            snapshotmod.save(self.snapshot, stamp(), c, near, window, extra)
        except OSError as exc:  # the next start rebuilds the window, as without a snapshot
            log.warning("%s: not saved (%s)", self.snapshot, exc)
            return False
        return True

    def apply_corrections(self) -> None:
        """The operators' corrections recorded since the last look (`aggregator stories split
        | merge`, maybe while the daemon runs), in the clusterer's memory too."""
        if not self._warm:
            return  # the restore will read them
        self._apply_splits()
        for correction in self.store.corrections(self._corrections_seen):
            self._corrections_seen = correction.id
            if correction.kind == "merge":
                self.clusterer.merge(correction.story, correction.other)
            elif correction.kind == "split" and correction.article:
                doc = self.store.article_doc(correction.article)
                if doc is not None:
                    moved = self.store.story_articles(correction.other)
                    copies = [a.key for a in moved if a.key != doc.id]
                    self.clusterer.split(doc, correction.story, correction.other, copies)
                else:
                    self.clusterer.keep_apart(correction.story, correction.other)

    def _apply_splits(self) -> None:
        """Stories that another daemon's clusterer split (split.py) since the last look, on a
        shared store: the articles it moved move in this memory too, else this daemon would
        go on placing the second event's articles in the first one's story. (A lone
        daemon's splits are all its own.) Each look reads the pairs recorded since the last
        one, less SPLIT_CLOCK_SLACK: the time is the splitting machine's clock."""
        if not self.store.shared:
            return
        now = datetime.now(UTC)
        since = None if self._apart_seen is None else self._apart_seen - SPLIT_CLOCK_SLACK
        self._apart_seen = now
        for story, other in self.store.stories_apart(since):
            if (story, other) in self._apart_known:
                continue
            self._apart_known.add((story, other))
            docs = [self.store.article_doc(a.key) for a in self.store.story_articles(other)]
            moved = self.clusterer.move([d for d in docs if d is not None], story, other)
            if moved:
                log.info("story %s was split by another daemon: %d articles moved", story, moved)

    def storing(
        self, outcomes: Sequence[FeedOutcome], timer: StageTimer, counts: IngestCounts
    ) -> Iterator[None]:
        """The feeds' new articles, then each feed's listings and state: one step per article
        or feed."""
        articles = [a for o in outcomes for a in o.articles]
        prepared = {k: p for o in outcomes for k, p in o.prepared.items()}
        yield from self.ingesting(articles, False, timer, counts, prepared)
        for outcome in outcomes:
            with timer.stage("store"):
                for key in outcome.listings:
                    self.store.add_listing(key, outcome.feed.url)
                if outcome.deferred:
                    self.store.queue_pages(outcome.feed.url, outcome.deferred)
                for fill in outcome.filled:
                    self.filling(fill)
                for key in outcome.unfetched:
                    self.store.page_failed(key, MAX_PAGE_ATTEMPTS)
                # a feed's state only after its articles: a crash before this re-polls it
                self.store.save_feed_state(outcome.state)
            yield

    def filling(self, fill: PageFill) -> None:
        """Store a deferred page's body; the clusterer's memory of its article follows."""
        old = self.store.article_doc(fill.key) if self._warm else None
        if not self._warm and self.snapshot is not None:
            # the saved window holds the feed's text for this article, and its stamp does not
            # see a body change: the next start rebuilds the window from the store instead
            self.snapshot.unlink(missing_ok=True)
        self.store.fill_page(fill)
        if old is not None:
            self.clusterer.refresh(old, dataclasses.replace(old, text=fill.text))

    def ingesting(
        self,
        articles: Iterable[NewArticle],
        presorted: bool,
        timer: StageTimer,
        counts: IngestCounts,
        prepared: dict[str, Prepared] | None = None,
    ) -> Iterator[None]:
        """New articles in time order, one step per article (after the window's restore)."""
        items = list(articles)
        if items:
            yield from self.warming()
            self.apply_corrections()
        if not presorted:
            items.sort(key=lambda a: a.published or a.fetched)  # stable: feed order on ties
        prepared = prepared or {}
        for article in items:
            self._ingest_one(article, timer, counts, prepared.get(article.key))
            yield

    def forget(self) -> None:
        """Drop the clusterer's and dedupe's memory, to be restored from the store at the next
        article: after a write failed (the memory holds a placement the store does not)."""
        self.clusterer.__init__(self.clusterer.settings)  # type: ignore[misc]
        self.near_duplicates.__init__(  # type: ignore[misc]
            window=self.near_duplicates.window, threshold=self.near_duplicates.threshold
        )
        self._warm = False

    def _ingest_one(
        self,
        article: NewArticle,
        timer: StageTimer,
        counts: IngestCounts,
        prepared: Prepared | None = None,
    ) -> None:
        try:
            with self.store.placing() as others:
                # articles other daemons stored meanwhile (PostgreSQL) join the window first
                for doc, story_id in others:
                    if self.clusterer.story_of(doc.id) is None:
                        self.clusterer.restore(doc, story_id)
                        self.near_duplicates.add(doc)
                self._place(article, timer, counts, prepared)
        except BaseException:
            self.forget()
            raise

    def _place(
        self,
        article: NewArticle,
        timer: StageTimer,
        counts: IngestCounts,
        prepared: Prepared | None,
    ) -> None:
        with timer.stage("dedupe"):
            existing = self.store.lookup(article.guid, article.canonical_url, (article.key,))
            if article.feed_url:
                # the poll already told this feed's entries apart from what it had stored;
                # what may have arrived since is the same article from another feed
                existing = [
                    r for r in existing if r.feed_url != article.feed_url or r.key == article.key
                ]
            ref = match_existing(
                feed_url=article.feed_url,
                guid=article.guid,
                canonical_url=article.canonical_url,
                title=article.title,
                existing=existing,
                url=article.url,
                keys=(article.key,),
            )
        if ref is not None:
            if article.feed_url:
                with timer.stage("store"):
                    self.store.add_listing(ref.key, article.feed_url)
            counts.already_known += 1
            return
        doc = cluster_doc(article)
        with timer.stage("dedupe"):
            duplicate_of = self.near_duplicates.find(doc, prepared and prepared.shingles)
        with timer.stage("cluster"):
            placement = self.clusterer.add(
                doc, duplicate_of=duplicate_of, features=prepared and prepared.features
            )
        with timer.stage("dedupe"):
            self.near_duplicates.add(doc)
        with timer.stage("store"):
            self.store.add_article(article, placement, duplicate_of)
        counts.new_articles += 1
        counts.duplicates += duplicate_of is not None
        counts.new_stories += placement.new_story
        counts.merges += len(placement.merges)


def batched(
    steps: Iterator[None],
    every: float = YIELD_EVERY,
    batch: Callable[[], AbstractContextManager[object]] | None = None,
) -> Iterator[None]:
    """Run the steps in runs of about `every` seconds, yielding between two runs.

    ``batch``: a transaction (the store's ``atomic``) around each run, so that its writes
    are committed together: 12,000 articles or 2,000 feeds' states were as many commits (on
    PostgreSQL the placement lock is then taken once per run, not per article). No
    transaction stays open across a yield."""
    while True:
        deadline = time.perf_counter() + every
        with batch() if batch is not None else contextlib.nullcontext():
            for _ in steps:
                if time.perf_counter() >= deadline:
                    break
            else:
                return
        yield


async def yielding(
    steps: Iterator[None],
    every: float = YIELD_EVERY,
    batch: Callable[[], AbstractContextManager[object]] | None = None,
) -> None:
    """Run the steps (in ``batch``'s transactions), giving the event loop a turn whenever
    `every` seconds have passed."""
    for _ in batched(steps, every, batch):
        await give_turn()


async def give_turn() -> None:
    """Let the event loop run what else is due before this task goes on: callbacks, timers
    that fell due meanwhile, and the tasks those timers wake.

    One ``sleep(0)`` is not enough: the loop runs its ready queue in order, and this task,
    put back first, went ahead of the timers found due in the same iteration; a task woken
    by such a timer (a sleeping task, a reader's request waiting on a future) is one hop
    further back again. It then waited for the next stretch too: the 10,000-feed steady
    state's longest stall was two 20 ms stretches of storing and more. Three turns put this
    task behind both hops."""
    for _ in range(3):
        await asyncio.sleep(0)
