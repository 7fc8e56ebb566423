"""The order of the stages: the only place in the project that knows it.

    for each feed, concurrently (the fetcher keeps it polite):
        response = fetch feed, conditional GET          # 304 or the same bytes: done, nothing parsed
        feed = parse(response), in a worker process      # RSS / Atom / RDF / JSON Feed
            and, the feed's first time, each entry's terms, names and shingles, there too
        for each entry: known already (guid / canonical URL)? remember this feed listed it; skip
        for each new entry: fetch its page (address-guarded), extract the body in a worker;
                            the feed's own text when that fails; a page's terms, names and
                            shingles, while other pages are still on their way; past the
                            poll's page cap, the page is deferred (the feed's text until then)
        pages deferred by earlier polls, within the cap's rest, even when the feed is unchanged
    for each new article, one at a time, in time order (the loop gets a turn every 20 ms):
        stored meanwhile (another feed listed it too)? remember the listing; skip
        near-duplicate of a recent article (wire copy)? -> duplicate_of
        place it in a story (online clusterer)
        store article, story and merges in one transaction
    store each feed's deferred pages (queued, or their bodies), its listings, and its state
    (validators, errors) only after its articles are stored

Stages never call each other; they get plain records and return plain records. Here: the
polls, up to each feed's outcome; ingest.py: the ordered tail (the second loop); records.py:
the records the pipeline hands out; decide.py: what needs no I/O (a feed's next state, which
of its entries are read); pages.py: one article's page, fetched and extracted, and the
pages earlier polls deferred; prepare.py: what dedupe and clustering need of an article alone.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aggregator.cluster.clusterer import Clusterer
from aggregator.config.model import FeedConfig
from aggregator.errors import FeedError, ParseError, WorkerDied
from aggregator.extract.body import Extractor
from aggregator.fetch.fetcher import Fetcher
from aggregator.identity.keys import article_key, legacy_key, match_existing
from aggregator.identity.near import NearDuplicates
from aggregator.identity.urls import canonical_url, entry_link
from aggregator.pipeline.decide import (
    change_estimate,
    changed_state,
    entry_title,
    failed_state,
    fetched_state,
    host_turns,
    newest_indexes,
    next_poll,
)
from aggregator.pipeline.heap import settle_heap
from aggregator.pipeline.ingest import YIELD_EVERY, Ingest, batched, give_turn, yielding
from aggregator.pipeline.pages import Pages
from aggregator.pipeline.prepare import parse_prepared
from aggregator.pipeline.records import FeedOutcome, IngestCounts, PollReport, Prepared, cluster_doc
from aggregator.store import FeedState, Store
from aggregator.timing import StageTimer
from aggregator.types import FetchResult, NewArticle, ParsedEntry, ParsedFeed

__all__ = [
    "MAX_ENTRIES_PER_POLL",
    "MAX_PAGES_PER_POLL",
    "FeedOutcome",
    "IngestCounts",
    "Pipeline",
    "PollReport",
    "Prepared",
    "change_estimate",
    "cluster_doc",
    "entry_title",
    "newest_indexes",
    "utcnow",
]

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

# A feed may list thousands of new entries at once (the first poll of an archive feed, or a
# hostile one: 50,000 items linking to its own host). At one page per host_delay that would
# hold the poll, and every feed polled with it, for hours; so only the newest entries of one
# poll get their page fetched and the others keep the feed's own text. Past a larger cap the
# oldest entries are not read at all: clustering and storing 50,000 at once takes minutes.
MAX_PAGES_PER_POLL = 100
MAX_ENTRIES_PER_POLL = 5_000


# Each feed's poll starts with some synchronous work (its stored state, the request) before
# its first wait: 10,000 feeds started in one go held the loop for 3 s. They start in
# batches of this many, the loop getting a turn between batches.
START_BATCH = 50

# Feeds being polled at once; the others wait their turn as items of a list. A started poll
# holds its frames, request and cookie jar while it waits for a connection (~100 objects):
# 10,000 started together kept a million objects alive, and each pass of the cyclic collector
# over them held the event loop 100-200 ms (bench/bench.py, "Steady state"). Many times the
# client's connections, so that hosts at their politeness limits leave others work to do.
IN_FLIGHT = 256

# The one-off paths (replay, run --once) have no event loop to give turns to: their writes
# are committed in runs of this many seconds (a commit per article was half of PostgreSQL's
# round trips; other daemons wait at most this long for the placement lock).
BATCH_SECONDS = 0.25


def utcnow() -> datetime:
    return datetime.now(UTC)


class Pipeline:
    def __init__(
        self,
        store: Store,
        fetcher: Fetcher | None,
        extractor: Extractor | None,
        clusterer: Clusterer,
        near_duplicates: NearDuplicates,
        *,
        window: timedelta = timedelta(days=7),
        min_interval: timedelta = timedelta(minutes=5),
        max_interval: timedelta = timedelta(days=1),
        clock: Clock = utcnow,
        snapshot: Path | None = None,
    ):
        self.store = store
        self.fetcher = fetcher
        self.extractor = extractor
        self.clusterer = clusterer
        self.near_duplicates = near_duplicates
        self.window = window
        self.min_interval = min_interval
        self.max_interval = max_interval
        self.clock = clock
        self.tail = Ingest(store, clusterer, near_duplicates, window, snapshot)
        self.pages = Pages(store, fetcher, extractor, clusterer)

    # ------------------------------------------------------------------ start-up
    def warm_up(self) -> int:
        """Rebuild the clusterer's recent stories from the store (once); the number restored."""
        return sum(1 for _ in self.tail.warming())

    def save_snapshot(self) -> bool:
        """Save the clustering window for the next start (pipeline/snapshot.py); False when
        there was nothing to save (never loaded) or nowhere to."""
        return self.tail.save_snapshot()

    async def warm_up_async(self) -> int:
        """warm_up, giving the event loop a turn every 20 ms (100k stored articles restore
        10k into the clusterer, ~18 s of CPU: readers must not wait that long)."""
        restored = 0

        def counted() -> Iterator[None]:
            nonlocal restored
            for step in self.tail.warming():
                restored += 1
                yield step

        await yielding(counted())
        return restored

    def retire_feeds(self, configured: Iterable[FeedConfig]) -> int:
        """Forget the deferred pages no poll will fetch; how many feeds had some.

        Those of feeds no longer in feeds.yaml (nothing polls them) and of feeds switched to
        ``extract: false`` (their polls fetch no page): they would show as waiting in
        /metrics and `status` forever. The feeds' articles are kept, with the feed's text.
        """
        wanted = {feed.url for feed in configured if feed.extract}
        gone = [url for url in self.store.pending_counts() if url not in wanted]
        for url in gone:
            self.store.drop_pending(url)
        return len(gone)

    # ------------------------------------------------------------------ polling
    async def poll(
        self,
        feeds: Sequence[FeedConfig],
        progress: Callable[[FeedOutcome], None] | None = None,
        *,
        alone: bool = False,
    ) -> PollReport:
        """Poll the feeds, then store what they brought. The storing gives the event loop a
        turn, and commits, every YIELD_EVERY (a daemon's other polls and readers wait
        meanwhile); ``alone``: nothing else runs in this process (``run --once``), so it
        commits every BATCH_SECONDS instead (each commit costs SQLite a few ms: its search
        index is flushed then)."""
        started = time.monotonic()
        # no warm_up() here: a pass that finds nothing new must not load the window
        timer = StageTimer()
        # one read for the whole poll: most feeds have no deferred pages, and 10,000 feeds
        # answering 304 must not cost 10,000 backlog queries
        with timer.stage("store"):
            waiting = self.store.pending_counts()

        in_flight = asyncio.Semaphore(IN_FLIGHT)

        async def one(feed: FeedConfig) -> FeedOutcome:
            try:
                outcome = await self._poll_feed(feed, timer)
                if outcome.status != "failed" and waiting.get(feed.url):
                    await self.pages.deferred(
                        feed, outcome, timer, MAX_PAGES_PER_POLL - outcome.pages_tried
                    )
            finally:
                in_flight.release()
            if progress is not None:
                progress(outcome)
            return outcome

        tasks: dict[int, asyncio.Task[FeedOutcome]] = {}
        try:
            for i in host_turns(feeds):
                await in_flight.acquire()
                tasks[i] = asyncio.create_task(one(feeds[i]))
                if len(tasks) % START_BATCH == 0:
                    await give_turn()
        except BaseException:  # cancelled while starting: the started polls go too
            for task in tasks.values():
                task.cancel()
            raise
        # stored in feeds.yaml's order, whatever order they were polled in
        outcomes = await asyncio.gather(*(tasks[i] for i in range(len(feeds))))
        report = PollReport(feeds=len(feeds))
        for outcome in outcomes:
            report.count(outcome)
        counts = IngestCounts()
        # one commit per run of steps between the loop's turns, where the store has them
        batch = getattr(self.store, "atomic", None)
        every = BATCH_SECONDS if alone else YIELD_EVERY
        await yielding(self.tail.storing(outcomes, timer, counts), every, batch=batch)
        if counts.new_articles:
            settle_heap()  # the new stories join the window out of the collector's way
        report.counts = counts
        report.seconds = time.monotonic() - started
        report.stages = timer.stages
        return report

    async def _poll_feed(self, feed: FeedConfig, timer: StageTimer) -> FeedOutcome:
        assert self.fetcher is not None, "polling needs a fetcher"
        with timer.stage("store"):
            state = self.store.feed_state(feed.url) or FeedState(url=feed.url)
        now = self.clock()
        state = replace(state, name=feed.name, last_polled=now)
        # a feed that moved permanently is fetched at its new address from then on
        url = state.redirected_to or feed.url
        try:
            with timer.stage("fetch_feed"):
                response = await self.fetcher.fetch_feed(
                    url, etag=state.etag, last_modified=state.last_modified
                )
        except FeedError as exc:
            return self._failed(feed, state, exc)
        state = replace(state, last_status=response.status)
        if response.permanent_redirect and response.permanent_redirect != url:
            log.warning(
                "%s: moved permanently to %s; update feeds.yaml",
                feed.url,
                response.permanent_redirect,
            )
            state = replace(state, redirected_to=response.permanent_redirect)
        ok_state = fetched_state(state, response, now)
        if response.not_modified:
            return self._outcome(feed, ok_state, "not-modified")
        digest = hashlib.sha256(response.content).hexdigest()
        if digest == state.content_hash:
            return self._outcome(feed, ok_state, "not-modified")
        # a feed read before mostly lists stored entries: not worth preparing them all
        first_read = state.content_hash is None
        try:
            with timer.stage("parse"):
                parsed, feed_prepared = await self._parse(response, feed, first_read)
        except FeedError as exc:
            return self._failed(feed, state, exc)
        for warning in parsed.warnings:
            log.info("%s: %s", feed.url, warning)
        outcome = self._outcome(feed, changed_state(ok_state, parsed, digest, now), "ok")
        fresh: list[tuple[ParsedEntry, str | None, str, str, Prepared | None]] = []
        keys: set[str] = set()
        identify_started = time.perf_counter()  # canonical URLs, exact-duplicate lookups
        keep = newest_indexes(parsed.entries, MAX_ENTRIES_PER_POLL)
        if len(keep) < len(parsed.entries):
            log.warning(
                "%s lists %d entries: only the newest %d are read",
                feed.url,
                len(parsed.entries),
                len(keep),
            )
        entries = [e for i, e in enumerate(parsed.entries) if i in keep]
        entry_prepared = [p for i, p in enumerate(feed_prepared) if i in keep]
        canonicals = [canonical_url(e.url) if e.url else None for e in entries]
        entry_links = [
            entry_link(e.url, c) if e.url else None
            for e, c in zip(entries, canonicals, strict=True)
        ]
        links = Counter(link for link in entry_links if link is not None)
        for entry, canonical, link, prep in zip(
            entries, canonicals, entry_links, entry_prepared, strict=True
        ):
            title = entry_title(entry)
            key = article_key(feed.url, entry.guid, link, title, entry.content or entry.summary)
            own = (key, legacy_key(feed.url, entry.guid, canonical, title))
            ref = match_existing(
                feed_url=feed.url,
                guid=entry.guid,
                canonical_url=canonical,
                title=title,
                existing=self.store.lookup(entry.guid, canonical, own),
                url=entry.url,
                shared_link=link is not None and links[link] > 1,
                keys=own,
            )
            if ref is not None:
                outcome.listings.append(ref.key)
                continue
            if key in keys:
                continue
            keys.add(key)
            fresh.append((entry, canonical, key, title, prep))
        timer.add("identify", time.perf_counter() - identify_started)
        with_page = newest_indexes([item[0] for item in fresh], MAX_PAGES_PER_POLL)
        for i, (entry, _, key, _, _) in enumerate(fresh):
            if self.pages.wanted(feed, entry.url):
                if i in with_page:
                    outcome.pages_tried += 1
                else:  # past the cap: a later poll fetches it (the feed's text until then)
                    outcome.deferred.append((key, entry.url or ""))
        if outcome.deferred:
            log.info("%s: %d pages deferred to later polls", feed.url, len(outcome.deferred))
        made = await asyncio.gather(
            *(
                self.pages.article(feed, *item, now, timer, fetch_page=i in with_page)
                for i, item in enumerate(fresh)
            )
        )
        outcome.articles = [article for article, _ in made]
        outcome.prepared = {article.key: prep for article, prep in made if prep is not None}
        return outcome

    async def _parse(
        self, response: FetchResult, feed: FeedConfig, prepare: bool
    ) -> tuple[ParsedFeed, list[Prepared | None]]:
        """parse_feed, and with ``prepare`` each entry prepared for dedupe and clustering
        (prepare.py), off the event loop: in the extraction workers when there are any (a
        thread would hold the loop's interpreter lock), else in a thread. A pass whose feeds
        all answer 304 never loads feedparser (~60 ms of start-up): parse_prepared imports
        it."""
        job = functools.partial(
            parse_prepared,
            response.content,
            url=response.final_url,
            content_type=response.content_type,
            headers=response.headers,
            source=feed.name,
            title_weight=self.clusterer.settings.title_weight if prepare else None,
        )
        if self.extractor is None:
            return await asyncio.to_thread(job)
        try:
            return await self.extractor.run(job)
        except WorkerDied:
            # a worker died under some job (an extraction may have taken the whole pool
            # down); this feed gets one more try on the fresh pool before it is blamed
            pass
        try:
            return await self.extractor.run(job)
        except WorkerDied as exc:
            raise ParseError(response.final_url, f"the parsing worker died ({exc})") from exc

    def _failed(self, feed: FeedConfig, state: FeedState, exc: FeedError) -> FeedOutcome:
        log.warning("feed failed: %s", exc)
        return self._outcome(feed, failed_state(state, exc), "failed", exc)

    def _outcome(
        self, feed: FeedConfig, state: FeedState, status: str, error: FeedError | None = None
    ) -> FeedOutcome:
        """The outcome, with the time of the next poll decided from what this one learnt."""
        polled = state.last_polled or self.clock()
        at = next_poll(
            feed,
            state,
            failed=status == "failed",
            polled=polled,
            min_interval=self.min_interval,
            max_interval=self.max_interval,
        )
        return FeedOutcome(feed, replace(state, next_poll=at), status=status, error=error)

    # ------------------------------------------------------------------ storing
    def store_outcomes(
        self, outcomes: Iterable[FeedOutcome], timer: StageTimer | None = None
    ) -> IngestCounts:
        counts = IngestCounts()
        steps = self.tail.storing(list(outcomes), timer or StageTimer(), counts)
        for _ in batched(steps, BATCH_SECONDS, getattr(self.store, "atomic", None)):
            pass
        return counts

    def ingest(
        self,
        articles: Iterable[NewArticle],
        *,
        presorted: bool = False,
        timer: StageTimer | None = None,
    ) -> IngestCounts:
        """Dedupe, cluster and store new articles, one at a time, in time order; their writes
        committed together, in runs of BATCH_SECONDS."""
        counts = IngestCounts()
        steps = self.tail.ingesting(articles, presorted, timer or StageTimer(), counts)
        for _ in batched(steps, BATCH_SECONDS, getattr(self.store, "atomic", None)):
            pass
        return counts
