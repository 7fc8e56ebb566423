"""The only module that knows the order of the stages.

    for each feed, concurrently (the fetcher keeps it polite):
        response = fetch feed, conditional GET          # 304 or the same bytes: done, nothing parsed
        feed = parse(response), in a worker process      # RSS / Atom / RDF / JSON Feed
        for each entry: known already (guid / canonical URL)? remember this feed listed it; skip
        for each new entry: fetch its page (address-guarded), extract the body in a worker;
                            the feed's own text when that fails; then its terms, names and
                            shingles, while other pages are still on their way
    for each new article, one at a time, in time order (the loop gets a turn every 20 ms):
        stored meanwhile (another feed listed it too)? remember the listing; skip
        near-duplicate of a recent article (wire copy)? -> duplicate_of
        place it in a story (online clusterer)
        store article, story and merges in one transaction
    store each feed's state (validators, errors) only after its articles are stored

Stages never call each other; they get plain records and return plain records.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from aggregator.cluster.clusterer import Clusterer, Features
from aggregator.config.model import FeedConfig
from aggregator.errors import FeedError, FetchError, ParseError, WorkerDied
from aggregator.extract.body import Extractor, choose_text
from aggregator.fetch.fetcher import Fetcher
from aggregator.fetch.polling import PollFacts, max_age_seconds, next_delay, updated_change_interval
from aggregator.identity.keys import article_key, content_hash, match_existing
from aggregator.identity.near import NearDuplicates, shingles
from aggregator.identity.urls import canonical_url, is_http_url
from aggregator.parse.feed import parse_feed
from aggregator.store import FeedState, Store
from aggregator.timing import StageStat, StageTimer
from aggregator.types import ClusterDoc, FetchResult, NewArticle, ParsedEntry, ParsedFeed

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

# A feed may list thousands of new entries at once (the first poll of an archive feed, or a
# hostile one: 50,000 items linking to its own host). At one page per host_delay that would
# hold the poll, and every feed polled with it, for hours; so only the newest entries of one
# poll get their page fetched and the others keep the feed's own text. Past a larger cap the
# oldest entries are not read at all: clustering and storing 50,000 at once takes minutes.
MAX_PAGES_PER_POLL = 100
MAX_ENTRIES_PER_POLL = 5_000


# Storing runs on the event loop, which the daemon shares with the readers' HTTP server: a
# poll that brought 1,000 articles would hold it for seconds (a few ms per article for dedupe,
# clustering and the write), so storing gives the loop a turn this often (seconds).
YIELD_EVERY = 0.02
# Each feed's poll starts with some synchronous work (its stored state, the request) before
# its first wait: 10,000 feeds started in one go held the loop for 3 s. They start in
# batches of this many, the loop getting a turn between batches.
START_BATCH = 50


def utcnow() -> datetime:
    return datetime.now(UTC)


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


@dataclass
class IngestCounts:
    new_articles: int = 0
    duplicates: int = 0
    new_stories: int = 0
    merges: int = 0
    already_known: int = 0


@dataclass
class PollReport:
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

    def summary(self) -> str:
        c = self.counts
        line = (
            f"polled {self.feeds} feeds ({self.ok} ok, {self.not_modified} unchanged, "
            f"{self.failed} failed): {self.entries} entries, {c.new_articles} new articles, "
            f"{c.duplicates} near-duplicates, {c.new_stories} new stories in {self.seconds:.1f}s"
        )
        return line


class Pipeline:
    def __init__(
        self,
        store: Store,
        fetcher: Fetcher | None,
        extractor: Extractor | None,
        clusterer: Clusterer,
        near_duplicates: NearDuplicates,
        *,
        window: timedelta = timedelta(days=3),
        min_interval: timedelta = timedelta(minutes=5),
        max_interval: timedelta = timedelta(days=1),
        clock: Clock = utcnow,
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
        self._warm = False

    # ------------------------------------------------------------------ start-up
    def warm_up(self) -> int:
        """Rebuild the clusterer's recent stories from the store (once); the number restored."""
        return sum(1 for _ in self._warming())

    async def warm_up_async(self) -> int:
        """warm_up, giving the event loop a turn every 20 ms (100k stored articles restore
        10k into the clusterer, ~18 s of CPU: readers must not wait that long)."""
        restored = 0

        def counted() -> Iterator[None]:
            nonlocal restored
            for step in self._warming():
                restored += 1
                yield step

        await _yielding(counted())
        return restored

    def _warming(self) -> Iterator[None]:
        """One step per restored article."""
        if self._warm:
            return
        self._warm = True
        latest = self.store.latest_time()
        if latest is None:
            return
        restored = 0
        for doc, story_id in self.store.recent_docs(latest - self.window):
            self.clusterer.restore(doc, story_id)
            self.near_duplicates.add(doc)
            restored += 1
            yield
        log.debug("restored %d recent articles into the clusterer", restored)

    # ------------------------------------------------------------------ polling
    async def poll(
        self, feeds: Sequence[FeedConfig], progress: Callable[[FeedOutcome], None] | None = None
    ) -> PollReport:
        started = time.monotonic()
        # no warm_up() here: a pass that finds nothing new must not load the window
        timer = StageTimer()

        async def one(feed: FeedConfig) -> FeedOutcome:
            outcome = await self._poll_feed(feed, timer)
            if progress is not None:
                progress(outcome)
            return outcome

        tasks: list[asyncio.Task[FeedOutcome]] = []
        try:
            for feed in feeds:
                tasks.append(asyncio.create_task(one(feed)))
                if len(tasks) % START_BATCH == 0:
                    await asyncio.sleep(0)
        except BaseException:  # cancelled while starting: the started polls go too
            for task in tasks:
                task.cancel()
            raise
        outcomes = await asyncio.gather(*tasks)
        report = PollReport(feeds=len(feeds))
        for outcome in outcomes:
            if outcome.status == "failed":
                report.failed += 1
                report.errors.append(str(outcome.error))
                kind = outcome.error.kind if outcome.error else "unknown"
                report.error_kinds[kind] = report.error_kinds.get(kind, 0) + 1
            elif outcome.status == "not-modified":
                report.not_modified += 1
            else:
                report.ok += 1
            report.entries += len(outcome.articles) + len(outcome.listings)
        counts = IngestCounts()
        await _yielding(self._storing(outcomes, timer, counts))
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
        ok_state = replace(
            state,
            last_success=now,
            last_error=None,
            error_kind=None,
            error_count=0,
            gone=False,
            retry_after=None,
            # a 304 carries no ttl: keep what the feed said last time unless the server says now
            declared_seconds=max_age_seconds(response.headers.get("cache-control"))
            or (state.declared_seconds if response.not_modified else None),
            etag=response.etag or (state.etag if response.not_modified else None),
            last_modified=response.last_modified
            or (state.last_modified if response.not_modified else None),
        )
        if response.not_modified:
            return self._outcome(feed, ok_state, "not-modified")
        digest = hashlib.sha256(response.content).hexdigest()
        if digest == state.content_hash:
            return self._outcome(feed, ok_state, "not-modified")
        try:
            with timer.stage("parse"):
                parsed = await self._parse(response)
        except FeedError as exc:
            return self._failed(feed, state, exc)
        for warning in parsed.warnings:
            log.info("%s: %s", feed.url, warning)
        declared = [s for s in (ok_state.declared_seconds, parsed.ttl_seconds) if s]
        ok_state = replace(
            ok_state,
            content_hash=digest,
            entries=len(parsed.entries),
            title=parsed.title,
            declared_seconds=float(max(declared)) if declared else None,
        )
        if state.last_changed is not None:
            observed = (now - state.last_changed).total_seconds()
            ok_state = replace(
                ok_state, change_interval=updated_change_interval(state.change_interval, observed)
            )
        ok_state = replace(ok_state, last_changed=now)
        outcome = self._outcome(feed, ok_state, "ok")
        fresh: list[tuple[ParsedEntry, str | None, str, str]] = []
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
        for entry in (e for i, e in enumerate(parsed.entries) if i in keep):
            canonical = canonical_url(entry.url) if entry.url else None
            title = entry_title(entry)
            ref = match_existing(
                feed_url=feed.url,
                guid=entry.guid,
                canonical_url=canonical,
                title=title,
                existing=self.store.lookup(entry.guid, canonical),
            )
            if ref is not None:
                outcome.listings.append(ref.key)
                continue
            key = article_key(feed.url, entry.guid, canonical, title)
            if key in keys:
                continue
            keys.add(key)
            fresh.append((entry, canonical, key, title))
        timer.add("identify", time.perf_counter() - identify_started)
        with_page = newest_indexes([item[0] for item in fresh], MAX_PAGES_PER_POLL)
        made = await asyncio.gather(
            *(
                self._article(feed, *item, now, timer, fetch_page=i in with_page)
                for i, item in enumerate(fresh)
            )
        )
        outcome.articles = [article for article, _ in made]
        outcome.prepared = {article.key: prep for article, prep in made if prep is not None}
        return outcome

    async def _parse(self, response: FetchResult) -> ParsedFeed:
        """parse_feed off the event loop: in the extraction workers when there are any (a
        thread would hold the loop's interpreter lock), else in a thread."""
        job = functools.partial(
            parse_feed,
            response.content,
            url=response.final_url,
            content_type=response.content_type,
            headers=response.headers,
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
        failed = replace(
            state,
            last_error=exc.message,
            error_kind=exc.kind,
            error_count=state.error_count + 1,
            last_status=exc.status if exc.status is not None else state.last_status,
            gone=exc.status == 410,
            retry_after=getattr(exc, "retry_after", None),
        )
        return self._outcome(feed, failed, "failed", exc)

    def _outcome(
        self, feed: FeedConfig, state: FeedState, status: str, error: FeedError | None = None
    ) -> FeedOutcome:
        """The outcome, with the time of the next poll decided from what this one learnt."""
        facts = PollFacts(
            interval=feed.interval,
            min_interval=min(self.min_interval, feed.interval),
            max_interval=max(self.max_interval, feed.interval),
            failed=status == "failed",
            error_count=state.error_count,
            retry_after=state.retry_after,
            gone=state.gone,
            declared_seconds=state.declared_seconds,
            change_interval=change_estimate(state),
        )
        next_poll = (state.last_polled or self.clock()) + next_delay(facts)
        return FeedOutcome(feed, replace(state, next_poll=next_poll), status=status, error=error)

    async def _article(
        self,
        feed: FeedConfig,
        entry: ParsedEntry,
        canonical: str | None,
        key: str,
        title: str,
        now: datetime,
        timer: StageTimer,
        *,
        fetch_page: bool = True,
    ) -> tuple[NewArticle, Prepared | None]:
        """The new article, and what dedupe and clustering will need of it when its page was
        fetched (computed here, while other pages are still on their way, the ordered tail of
        the poll has less to do; an article from the feed alone has not waited for anything,
        so its share stays in the tail, which gives the event loop its turns)."""
        feed_text = entry.content if len(entry.content) >= len(entry.summary) else entry.summary
        text, text_source = feed_text, "feed" if feed_text else "none"
        author, image, language, published = entry.author, entry.image, None, None
        fetched_page = False
        if (
            fetch_page
            and feed.extract
            and entry.url
            and is_http_url(entry.url)
            and self.extractor is not None
        ):
            assert self.fetcher is not None
            try:
                with timer.stage("fetch_page"):
                    page = await self.fetcher.fetch_page(entry.url, listed_by=feed.url)
            except FetchError as exc:
                log.info("page not fetched, using the feed's text: %s", exc)
            else:
                if not page.content_type or "html" in page.content_type.lower():
                    with timer.stage("extract"):
                        extracted = await self.extractor.extract(
                            page.content, url=page.final_url, feed_text=feed_text, feed_title=title
                        )
                    text, text_source = choose_text(extracted, feed_text)
                    fetched_page = True
                    author = author or extracted.author
                    image = image or extracted.image
                    language = extracted.language
                    published = extracted.date
        article = NewArticle(
            key=key,
            guid=entry.guid,
            url=entry.url,
            canonical_url=canonical,
            title=title,
            feed_url=feed.url,
            source=feed.name,
            published=entry.published or entry.updated or published,
            fetched=now,
            text=text,
            text_source=text_source,
            summary=entry.summary,
            author=author,
            image=image,
            language=language,
            content_hash=content_hash(title, text),
            tags=tuple(feed.tags),
        )
        if not fetched_page:
            return article, None
        with timer.stage("prepare"):
            doc = cluster_doc(article)
            prepared = Prepared(self.clusterer.features(doc), shingles(doc.text))
        return article, prepared

    # ------------------------------------------------------------------ storing
    def store_outcomes(
        self, outcomes: Iterable[FeedOutcome], timer: StageTimer | None = None
    ) -> IngestCounts:
        counts = IngestCounts()
        for _ in self._storing(list(outcomes), timer or StageTimer(), counts):
            pass
        return counts

    def ingest(
        self,
        articles: Iterable[NewArticle],
        *,
        presorted: bool = False,
        timer: StageTimer | None = None,
    ) -> IngestCounts:
        """Dedupe, cluster and store new articles, one at a time, in time order."""
        counts = IngestCounts()
        for _ in self._ingesting(articles, presorted, timer or StageTimer(), counts):
            pass
        return counts

    def _storing(
        self, outcomes: Sequence[FeedOutcome], timer: StageTimer, counts: IngestCounts
    ) -> Iterator[None]:
        """store_outcomes, one step per article or feed; each step is atomic (no await
        inside), so polls whose storing interleaves never store an article twice."""
        articles = [a for o in outcomes for a in o.articles]
        prepared = {k: p for o in outcomes for k, p in o.prepared.items()}
        yield from self._ingesting(articles, False, timer, counts, prepared)
        for outcome in outcomes:
            with timer.stage("store"):
                for key in outcome.listings:
                    self.store.add_listing(key, outcome.feed.url)
                # a feed's state only after its articles: a crash before this re-polls it
                self.store.save_feed_state(outcome.state)
            yield

    def _ingesting(
        self,
        articles: Iterable[NewArticle],
        presorted: bool,
        timer: StageTimer,
        counts: IngestCounts,
        prepared: dict[str, Prepared] | None = None,
    ) -> Iterator[None]:
        items = list(articles)
        if items:
            yield from self._warming()
        if not presorted:
            items.sort(key=lambda a: a.published or a.fetched)  # stable: feed order on ties
        prepared = prepared or {}
        for article in items:
            self._ingest_one(article, timer, counts, prepared.get(article.key))
            yield

    def _ingest_one(
        self,
        article: NewArticle,
        timer: StageTimer,
        counts: IngestCounts,
        prepared: Prepared | None = None,
    ) -> None:
        with timer.stage("dedupe"):
            ref = match_existing(
                feed_url=article.feed_url,
                guid=article.guid,
                canonical_url=article.canonical_url,
                title=article.title,
                existing=self.store.lookup(article.guid, article.canonical_url),
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


def cluster_doc(article: NewArticle) -> ClusterDoc:
    return ClusterDoc(
        id=article.key,
        title=article.title,
        text=article.text,
        published=article.published or article.fetched,
        source=article.source,
    )


async def _yielding(steps: Iterator[None], every: float = YIELD_EVERY) -> None:
    """Run the steps, giving the event loop a turn whenever `every` seconds have passed."""
    deadline = time.perf_counter() + every
    for _ in steps:
        if time.perf_counter() >= deadline:
            await asyncio.sleep(0)
            deadline = time.perf_counter() + every


def newest_indexes(entries: Sequence[ParsedEntry], limit: int) -> set[int]:
    """Indexes of the `limit` newest entries (undated ones rank by feed order, after dated)."""
    if len(entries) <= limit:
        return set(range(len(entries)))
    epoch = datetime.min.replace(tzinfo=UTC)

    def newest_first(i: int) -> tuple[datetime, int]:
        return (entries[i].published or entries[i].updated or epoch, -i)

    return set(sorted(range(len(entries)), key=newest_first, reverse=True)[:limit])


def change_estimate(state: FeedState) -> float | None:
    """How often the feed changes, in seconds: the moving average of observed changes, or
    longer while it has been quiet for longer than that (so a dormant feed slows down)."""
    if state.last_changed is None or state.last_polled is None:
        return state.change_interval
    quiet = (state.last_polled - state.last_changed).total_seconds()
    estimate = max(state.change_interval or 0.0, quiet)
    return estimate or state.change_interval


def entry_title(entry: ParsedEntry) -> str:
    """The entry's title, or the start of its text when the feed gives none (RSS allows that)."""
    if entry.title.strip():
        return entry.title.strip()
    text = (entry.summary or entry.content).strip()
    if not text:
        return entry.url or "(untitled)"
    words = text.split()
    short = " ".join(words[:12])
    return short + ("…" if len(words) > 12 else "")
