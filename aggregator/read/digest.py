"""Read side: the stories of a period, as readers get them.

Biggest (most outlets) and newest first; syndicated copies collapsed onto their original
("also published by ...").
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from aggregator.store import Store
from aggregator.types import StoredArticle, StoryRecord

SUMMARY_CHARS = 320


@dataclass(frozen=True)
class DigestArticle:
    title: str
    url: str | None
    source: str | None
    published: datetime | None
    tags: tuple[str, ...]
    # syndicated copies of this article: (source, url)
    copies: tuple[tuple[str | None, str | None], ...] = ()


@dataclass(frozen=True)
class DigestStory:
    id: str
    title: str
    first_published: datetime | None
    last_updated: datetime | None
    article_count: int
    sources: tuple[str, ...]  # outlets, in order of first report
    first_report: DigestArticle | None
    summary: str
    tags: tuple[tuple[str, int], ...]  # coverage by feed tag: (tag, outlets)
    articles: tuple[DigestArticle, ...]  # originals, oldest first, copies collapsed
    # each outlet with the time of its first article on the story, in order of first report
    outlets: tuple[tuple[str, datetime | None], ...] = ()

    @property
    def source_count(self) -> int:
        return len(self.sources)


@dataclass(frozen=True)
class Digest:
    generated: datetime
    since: datetime | None
    stories: tuple[DigestStory, ...]


def build_digest(
    store: Store,
    *,
    now: datetime,
    since: datetime | None = None,
    min_sources: int = 1,
    limit: int | None = None,
) -> Digest:
    records = [s for s in store.stories(since) if s.source_count >= min_sources]
    records.sort(
        key=lambda s: (
            s.source_count,
            s.article_count,
            s.last_updated.timestamp() if s.last_updated else 0.0,
        ),
        reverse=True,
    )
    if limit is not None:
        records = records[:limit]
    stories = tuple(story_view(r, store.story_articles(r.id)) for r in records)
    return Digest(generated=now, since=since, stories=stories)


def story_view(record: StoryRecord, articles: list[StoredArticle]) -> DigestStory:
    """Turn one stored story and its articles into what a reader sees."""
    articles = sorted(articles, key=lambda a: (a.published or a.fetched, a.id))
    copies: dict[str, list[StoredArticle]] = {}
    originals: list[StoredArticle] = []
    keys = {a.key for a in articles}
    for article in articles:
        if article.duplicate_of_key and article.duplicate_of_key in keys:
            copies.setdefault(article.duplicate_of_key, []).append(article)
        else:
            originals.append(article)
    views = tuple(
        DigestArticle(
            title=a.title,
            url=a.canonical_url or a.url,  # readers get links without tracking parameters
            source=a.source,
            published=a.published or a.fetched,
            tags=a.tags,
            copies=tuple((c.source, c.canonical_url or c.url) for c in copies.get(a.key, [])),
        )
        for a in originals
    )
    first_seen: dict[str, datetime | None] = {}
    for a in articles:
        first_seen.setdefault(a.source or a.feed_url or "unknown", a.published or a.fetched)
    sources = list(first_seen)
    tag_outlets: dict[str, set[str]] = {}
    for a in articles:
        for tag in a.tags:
            tag_outlets.setdefault(tag, set()).add(a.source or a.feed_url or "")
    tags = Counter({tag: len(outlets) for tag, outlets in tag_outlets.items()})
    lead = next(
        (a for a in originals if a.title == record.title), originals[0] if originals else None
    )
    return DigestStory(
        id=record.id,
        title=record.title or (articles[0].title if articles else ""),
        first_published=record.first_published,
        last_updated=record.last_updated,
        article_count=len(articles),
        sources=tuple(sources),
        first_report=views[0] if views else None,
        summary=lead_text(lead.text or lead.summary) if lead else "",
        tags=tuple(sorted(tags.items(), key=lambda kv: (-kv[1], kv[0]))),
        articles=views,
        outlets=tuple(first_seen.items()),
    )


def lead_text(text: str, limit: int = SUMMARY_CHARS) -> str:
    """The first paragraph(s) of a text, cut at a word boundary."""
    text = " ".join(p.strip() for p in text.split("\n") if p.strip())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"
