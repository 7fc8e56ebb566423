"""Subscribable digests: Atom, RSS 2.0 and JSON Feed of stories, per filter.

One entry per story, its id the story's URN (stable for life; merged stories keep the
survivor's), its updated time the story's last coverage, so readers see an entry change as
coverage grows. The feed's own dates derive from the stories, never from the clock, so two
polls of an unchanged store give byte-identical documents (and a 304 with the ETag).

    /feed.atom?tag=europe&min_sources=3
    /feed.rss?since=24h
    /feed.json?q=earthquake
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from aggregator.read.digest import Digest, DigestStory
from aggregator.read.render import FeedLinks, render_atom, render_jsonfeed, render_rss
from aggregator.web.html import plural, story_href
from aggregator.web.queries import StoryFilter, open_store, paging, story_filter, story_page
from aggregator.web.responses import Endpoint, cached, context
from aggregator.web.safety import clean_html, outbound_link, text

DEFAULT_LIMIT = 50
# A fixed date for a feed with no story yet, so that even an empty feed is stable.
EMPTY_FEED_DATE = datetime(2000, 1, 1, tzinfo=UTC)

Renderer = Callable[[Digest, str, FeedLinks], str]
_FORMATS: dict[str, tuple[Renderer, str]] = {
    "atom": (render_atom, "application/atom+xml; charset=utf-8"),
    "rss": (render_rss, "application/rss+xml; charset=utf-8"),
    "json": (render_jsonfeed, "application/feed+json; charset=utf-8"),
}


def atom_feed(request: Request) -> Response:
    return _feed(request, "atom")


def rss_feed(request: Request) -> Response:
    return _feed(request, "rss")


def json_feed(request: Request) -> Response:
    return _feed(request, "json")


def feed_id(flt: StoryFilter) -> str:
    """Stable per filter, whatever host name or parameter order the reader used."""
    params = flt.params()
    key = "&".join(f"{k}={quote(v, safe='')}" for k, v in sorted(params.items())) or "all"
    return f"urn:newsroom-aggregator:digest:{key}"


def _feed(request: Request, fmt: str) -> Response:
    ctx = context(request)
    flt = story_filter(request.query_params)
    limit, _ = paging(request.query_params, default_limit=DEFAULT_LIMIT)
    with open_store(ctx.storage) as store:
        # a subscription wants what changed lately first, not the biggest of the period
        page = story_page(
            store, flt, now=ctx.now(), limit=limit, offset=0, order="recent", cache=ctx.stories
        )
    updated = [s.last_updated for s in page.stories if s.last_updated]
    digest = Digest(
        generated=max(updated, default=EMPTY_FEED_DATE),
        since=None,
        stories=page.stories,
    )
    base = str(request.base_url).rstrip("/")
    links = FeedLinks(
        feed_id=feed_id(flt),
        self_url=str(request.url),
        home_url=f"{base}/{flt.query()}",
        story_url=lambda story_id: base + story_href(story_id),
        entry_html=lambda story: entry_html(story, base + story_href(story.id)),
    )
    title = ctx.title if not flt.params() else f"{ctx.title}: {flt.describe()}"
    renderer, media_type = _FORMATS[fmt]
    return cached(request, renderer(digest, title, links), media_type)


def entry_html(story: DigestStory, page_url: str) -> str:
    """One entry's body: outlets with their times, the lead, the articles, perspectives."""
    outlets = ", ".join(
        f"{name} ({when.strftime('%H:%M UTC')})" if when else name for name, when in story.outlets
    )
    articles = "".join(
        f"<li><strong>{text(a.source or 'unknown')}</strong>: {outbound_link(a.url, a.title)}"
        + (
            f" <small>(also published by {text(', '.join(c[0] or 'unknown' for c in a.copies))})"
            "</small>"
            if a.copies
            else ""
        )
        + "</li>"
        for a in story.articles
    )
    tags = ", ".join(f"{tag} ({n})" for tag, n in story.tags)
    parts = [
        f"<p><strong>{plural(story.source_count, 'outlet')}</strong>, "
        f"{plural(story.article_count, 'article')}: {text(outlets)}</p>",
        f"<p>{text(story.summary)}</p>" if story.summary else "",
        f"<ul>{articles}</ul>",
        f"<p>Coverage by tag: {text(tags)}</p>" if tags else "",
        f'<p><a href="{text(page_url)}">Full coverage</a></p>',
    ]
    return clean_html("".join(parts))


ENDPOINTS: dict[str, Endpoint] = {
    "/feed.atom": atom_feed,
    "/feed.rss": rss_feed,
    "/feed.json": json_feed,
}
