"""One article's page: fetched (address-guarded and polite, by the fetcher) and extracted in
a worker; the new article built from its feed entry and its page, with what dedupe and
clustering will need of it; and the pages earlier polls deferred past their page cap.

The pipeline (``__init__.py``) decides which entries are new and which pages a poll may fetch;
this module does the fetching for it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from aggregator.cluster.clusterer import Clusterer
from aggregator.config.model import FeedConfig
from aggregator.errors import FetchError
from aggregator.extract.body import Extractor, choose_text
from aggregator.fetch.fetcher import Fetcher
from aggregator.identity.keys import content_hash
from aggregator.identity.urls import is_http_url
from aggregator.pipeline.prepare import feed_text, prepared
from aggregator.pipeline.records import FeedOutcome, Prepared, cluster_doc
from aggregator.store import Store
from aggregator.timing import StageTimer
from aggregator.types import Extracted, NewArticle, PageFill, ParsedEntry, PendingPage

log = logging.getLogger(__name__)


@dataclass
class Pages:
    """Fetches and extracts pages for the pipeline, with the pipeline's own parts."""

    store: Store
    fetcher: Fetcher | None
    extractor: Extractor | None
    clusterer: Clusterer

    async def article(
        self,
        feed: FeedConfig,
        entry: ParsedEntry,
        canonical: str | None,
        key: str,
        title: str,
        feed_prepared: Prepared | None,
        now: datetime,
        timer: StageTimer,
        *,
        fetch_page: bool = True,
    ) -> tuple[NewArticle, Prepared | None]:
        """The new article, and what dedupe and clustering will need of it: ``feed_prepared``
        (prepare.py, from ``title`` and the entry's own text, done where the feed was parsed,
        or None: then the tail computes it) when the article keeps its feed's text, else
        computed here from the page's text, while other pages are still on their way, so
        the ordered tail of the poll has less to do."""
        own_text = feed_text(entry)
        text, text_source = own_text, "feed" if own_text else "none"
        author, image, language, published = entry.author, entry.image, None, None
        fetched_page = False
        if fetch_page and entry.url and self.wanted(feed, entry.url):
            extracted = await self.extract(feed, entry.url, own_text, title, timer)
            if extracted is not None:
                text, text_source = choose_text(extracted, own_text)
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
            return article, feed_prepared
        with timer.stage("prepare"):
            ready = prepared(cluster_doc(article), self.clusterer.settings.title_weight)
        return article, ready

    def wanted(self, feed: FeedConfig, url: str | None) -> bool:
        return bool(feed.extract and url and is_http_url(url) and self.extractor is not None)

    async def extract(
        self, feed: FeedConfig, url: str, feed_text: str, title: str, timer: StageTimer
    ) -> Extracted | None:
        """The article page's extraction; None when it could not be fetched or is no page."""
        assert self.fetcher is not None and self.extractor is not None
        try:
            with timer.stage("fetch_page"):
                page = await self.fetcher.fetch_page(url, listed_by=feed.url)
        except FetchError as exc:
            log.info("page not fetched, using the feed's text: %s", exc)
            return None
        if page.content_type and "html" not in page.content_type.lower():
            return None
        with timer.stage("extract"):
            return await self.extractor.extract(
                page.content, url=page.final_url, feed_text=feed_text, feed_title=title
            )

    async def deferred(
        self, feed: FeedConfig, outcome: FeedOutcome, timer: StageTimer, budget: int
    ) -> None:
        """Pages earlier polls deferred, fetched within what is left of this poll's page cap
        (politely: the fetcher's per-host limits and spacing hold), even when the feed itself
        was unchanged. They are written with the feed's outcome."""
        if not (feed.extract and self.extractor is not None) or budget <= 0:
            return
        with timer.stage("store"):
            pending = self.store.pending_pages(feed.url, budget)

        async def fill(item: PendingPage) -> None:
            extracted = await self.extract(feed, item.url, item.feed_text, item.title, timer)
            if extracted is None:
                outcome.unfetched.append(item.key)
                return
            text, source = choose_text(extracted, item.feed_text)
            outcome.filled.append(
                PageFill(
                    item.key,
                    text,
                    source,
                    content_hash(item.title, text),
                    extracted.author,
                    extracted.image,
                    extracted.language,
                )
            )

        await asyncio.gather(*(fill(item) for item in pending))
