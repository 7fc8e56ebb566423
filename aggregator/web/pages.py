"""HTML pages for readers: front page, sources and API overview (the story page is in
:mod:`aggregator.web.story`, what all pages share in :mod:`aggregator.web.html`).

Plain server-rendered HTML with one same-origin stylesheet: no script, no external asset,
nothing a reader's browser fetches from anyone but this server. Every value from the store
goes through :func:`safety.text` (escape) or :func:`safety.outbound_link` (URL vetted).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from aggregator.read.digest import DigestStory
from aggregator.store import BodyHealth, FeedState
from aggregator.store.search import SearchResults
from aggregator.web.forms import here, hidden
from aggregator.web.html import layout, plural, story_href, time_tag
from aggregator.web.queries import (
    MIN_SOURCES,
    PERIODS,
    StoryFilter,
    StoryPage,
    open_store,
    paging,
    story_filter,
    story_page,
)
from aggregator.web.reading import keep_unread, reader_marks, unread_only
from aggregator.web.responses import Endpoint, context
from aggregator.web.safety import outbound_link, text
from aggregator.web.search import PAGE_SIZE as SEARCH_PAGE_SIZE
from aggregator.web.search import results_html, run_search
from aggregator.web.session import reader
from aggregator.web.story import story_page_view

PAGE_SIZE = 30
CARD_OUTLETS = 8  # outlets listed on a front-page card before "+N more"


def _feed_links(flt: StoryFilter) -> list[tuple[str, str, str]]:
    # a subscription keeps the page's filter, not its paging
    query = flt.query()
    return [
        ("application/atom+xml", "Atom", f"/feed.atom{query}"),
        ("application/rss+xml", "RSS", f"/feed.rss{query}"),
        ("application/feed+json", "JSON Feed", f"/feed.json{query}"),
    ]


# ---------------------------------------------------------------------- front page
def front_page(request: Request) -> Response:
    ctx = context(request)
    flt = story_filter(request.query_params)
    if flt.q:
        return search_page(request, flt)
    limit, offset = paging(request.query_params, default_limit=PAGE_SIZE, pages=True)
    now = ctx.now()
    user, unread = reader(request), unread_only(request)
    if request.query_params.get("unread") == "1" and user is None:
        return RedirectResponse("/login?" + urlencode({"next": here(request)}), status_code=303)
    with open_store(ctx.storage) as store:
        keep = keep_unread(store, user) if unread and user else None
        page = story_page(
            store, flt, now=now, limit=limit, offset=offset, cache=ctx.stories, keep=keep
        )
        tags = store.tag_counts()
        feeds = store.feed_states()
        marks = reader_marks(request, store, [s.id for s in page.stories])
    feed_links = _feed_links(flt)
    cards = "".join(story_card(s, now, marks.card(s.id)) for s in page.stories)
    if not cards:
        cards = '<p class="empty">No stories match. Try a longer period or fewer filters.</p>'
        if unread:
            cards = '<p class="empty">Nothing unread here. <a href="/">All stories</a></p>'
    subscribe = " ".join(f'<a href="{text(h)}">{text(label)}</a>' for _, label, h in feed_links)
    counted = plural(page.total, "story") + (" with unread articles" if unread else "")
    extra = {"unread": "1"} if unread else {}
    body = (
        filters_form(flt, tags, feeds, extra)
        + f'<p class="status">{counted} · {text(flt.describe())} · '
        f"Subscribe: {subscribe}</p>"
        + marks.page([s.id for s in page.stories])
        + f'<div class="stories">{cards}</div>'
        + pager(flt, page, extra)
    )
    return layout(request, ctx.title, body, alternates=feed_links)


def search_page(request: Request, flt: StoryFilter) -> Response:
    """The search box's results: matching stories, best first, with marked passages."""
    ctx = context(request)
    limit, offset = paging(request.query_params, default_limit=SEARCH_PAGE_SIZE, pages=True)
    now = ctx.now()
    with open_store(ctx.storage) as store:
        results = run_search(store, flt, now, limit, offset)
        tags = store.tag_counts()
        feeds = store.feed_states()
    body = (
        filters_form(flt, tags, feeds)
        + results_html(results, flt, now)
        + pager(flt, results, default_limit=SEARCH_PAGE_SIZE, previous="← Better matches")
    )
    return layout(request, f"Search: {flt.q}", body)


def filters_form(
    flt: StoryFilter,
    tags: list[tuple[str, int]],
    feeds: list[FeedState],
    keep: dict[str, str] | None = None,
) -> str:
    def options(choices: Sequence[tuple[str, str]], selected: str) -> str:
        return "".join(
            f'<option value="{text(v)}"{" selected" if v == selected else ""}>{text(label)}</option>'
            for v, label in choices
        )

    periods = list(PERIODS)
    if flt.since not in {p for p, _ in periods}:
        periods.append((flt.since, f"Last {flt.since}"))
    tag_choices = [("", "All tags")] + [(t, f"{t} ({n})") for t, n in tags]
    if flt.tag and flt.tag not in {t for t, _ in tags}:
        tag_choices.append((flt.tag, flt.tag))
    feed_choices = [("", "All sources")] + [(f.url, f.name or f.title or f.url) for f in feeds]
    if flt.feed and flt.feed not in {f.url for f in feeds}:
        feed_choices.append((flt.feed, flt.feed))
    mins = [(str(n), "Any coverage" if n == 1 else f"{n}+ outlets") for n in MIN_SOURCES]
    if str(flt.min_sources) not in {m for m, _ in mins}:
        mins.append((str(flt.min_sources), f"{flt.min_sources}+ outlets"))
    return (
        '<form class="filters" method="get" action="/" role="search">'
        f'<input class="q" type="search" name="q" value="{text(flt.q)}" '
        'placeholder="Search: words, &quot;a phrase&quot;, -word, source:, tag:, since:7d" '
        'aria-label="Search stories">'
        "<button type=submit>Show</button>"
        f'<select name="since" aria-label="Period">{options(periods, flt.since)}</select>'
        f'<select name="tag" aria-label="Tag">{options(tag_choices, flt.tag)}</select>'
        f'<select name="feed" aria-label="Source">{options(feed_choices, flt.feed)}</select>'
        f'<select name="min_sources" aria-label="Minimum outlets">'
        f"{options(mins, str(flt.min_sources))}</select>{hidden(keep or {})}</form>"
    )


def story_card(story: DigestStory, now: datetime, reading: str = "") -> str:
    """A front-page card; ``reading``: a logged-in reader's unread count and buttons."""
    href = story_href(story.id)
    first = story.first_report
    first_html = ""
    if first is not None:
        first_html = (
            f" · first {time_tag(first.published, now)} by "
            f"<strong>{outbound_link(first.url, first.source or 'unknown')}</strong>"
        )
    outlets = story.outlets or tuple((name, None) for name in story.sources)
    items = "".join(
        f"<li>{text(name)}{time_tag(when, now) if when else ''}</li>"
        for name, when in outlets[:CARD_OUTLETS]
    )
    if len(outlets) > CARD_OUTLETS:
        items += f'<li class="more">+{len(outlets) - CARD_OUTLETS} more</li>'
    summary = f'<p class="lead">{text(story.summary)}</p>' if story.summary else ""
    return (
        f'<article class="card" id="story-{text(story.id)}">'
        f'<h2><a href="{text(href)}">{text(story.title)}</a></h2>{reading}'
        f'<p class="meta"><strong>{plural(story.source_count, "outlet")}</strong> · '
        f"{plural(story.article_count, 'article')}{first_html} · updated "
        f"{time_tag(story.last_updated, now)}</p>"
        f"{summary}"
        f'<ul class="outlets" aria-label="Outlets">{items}</ul>'
        f"{tag_chips(story.tags)}"
        f'<a class="full" href="{text(href)}">Full coverage →</a></article>'
    )


def tag_chips(tags: Sequence[tuple[str, int]]) -> str:
    if not tags:
        return ""
    chips = "".join(
        f'<li><a href="/?{text(urlencode({"tag": tag}))}" title="{plural(n, "outlet")}">'
        f'{text(tag)}<span class="n">{n}</span></a></li>'
        for tag, n in tags
    )
    return f'<ul class="chips" aria-label="Coverage by tag">{chips}</ul>'


def pager(
    flt: StoryFilter,
    page: StoryPage | SearchResults,
    keep: dict[str, str] | None = None,
    default_limit: int = PAGE_SIZE,
    previous: str = "← Bigger",
) -> str:
    if page.total <= page.limit:
        return ""
    number = page.offset // page.limit + 1
    pages = (page.total + page.limit - 1) // page.limit
    extra: dict[str, str | int] = {**(keep or {})}
    if page.limit != default_limit:
        extra["limit"] = page.limit
    prev = (
        f'<a rel="prev" href="/{text(flt.query({**extra, "page": number - 1}))}">{text(previous)}</a>'
        if number > 1
        else "<span></span>"
    )
    nxt = (
        f'<a rel="next" href="/{text(flt.query({**extra, "page": number + 1}))}">More →</a>'
        if page.has_next
        else "<span></span>"
    )
    return f'<nav class="pager">{prev}<span class="here">Page {number} of {pages}</span>{nxt}</nav>'


# ---------------------------------------------------------------------- sources, API
def sources_page(request: Request) -> Response:
    ctx = context(request)
    now = ctx.now()
    with open_store(ctx.storage) as store:
        feeds = store.feed_states()
        counts = store.counts()
        bodies = store.body_health()
    rows = "".join(_source_row(f, bodies.get(f.url), now) for f in feeds)
    body = (
        '<h1 class="story">Sources</h1>'
        f'<p class="status">{plural(len(feeds), "feed")} · '
        f"{plural(counts['articles'], 'article')} in {plural(counts['stories'], 'story')}</p>"
        '<table class="sources"><thead><tr><th>Source</th><th>Last success</th>'
        f"<th>Articles</th><th>Bodies</th><th>Health</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )
    return layout(request, "Sources", body)


def _source_row(feed: FeedState, bodies: BodyHealth | None, now: datetime) -> str:
    health = feed_health(feed)
    klass = "ok" if health == "ok" else "bad"
    detail = f"<br><small>{text(feed.last_error)}</small>" if feed.last_error else ""
    stories = f"/?{urlencode({'feed': feed.url, 'since': 'all'})}"
    return (
        f'<tr><td><a href="{text(stories)}">{text(feed.name or feed.title or feed.url)}</a>'
        f"<br><small>{outbound_link(feed.url, feed.url)}</small></td>"
        f"<td>{time_tag(feed.last_success, now) if feed.last_success else 'never'}</td>"
        f"<td>{feed.articles}</td>"
        f"<td>{body_cell(bodies)}</td>"
        f'<td class="{klass}">{text(health)}{detail}</td></tr>'
    )


def body_cell(bodies: BodyHealth | None) -> str:
    """Where the feed's bodies came from: a low page share marks a site to look at."""
    if bodies is None or not bodies.total:
        return "–"
    return (
        f"{bodies.share('page'):.0%} from pages<br><small>{bodies.share('feed'):.0%} feed text, "
        f"{bodies.share('none'):.0%} none; median {bodies.median_words} words</small>"
    )


def feed_health(feed: FeedState) -> str:
    """ok, failing (errors since the last success), gone (410), or never polled."""
    if getattr(feed, "gone", False):
        return "gone"
    if feed.last_polled is None:
        return "not polled yet"
    if feed.error_count:
        return "failing"
    return "ok" if feed.last_success else "failing"


_API_ROWS = (
    ("/api/stories", "stories, paged and filtered (since, tag, feed, min_sources, q)"),
    ("/api/stories/{id}", "one story with every article, its score and evidence"),
    ("/api/articles", "articles, newest first (since, feed, q)"),
    ("/api/search", "stories matching a search (q), best first, with marked passages"),
    ("/api/feeds", "the feeds and their health"),
    ("/api/openapi.json", "the OpenAPI 3.1 description of all this"),
    ("/feed.atom, /feed.rss, /feed.json", "subscribable digests (since, tag, min_sources...)"),
)


def api_page(request: Request) -> Response:
    rows = "".join(
        f"<tr><td><code>{text(path)}</code></td><td>{text(what)}</td></tr>"
        for path, what in _API_ROWS
    )
    body = (
        '<h1 class="story">API</h1><p>Everything on these pages is also JSON. Parameters are '
        "the same as the front page's filters; lists take <code>limit</code> and "
        '<code>offset</code>. The full description: <a href="/api/openapi.json">OpenAPI</a>.</p>'
        f'<table class="sources"><tbody>{rows}</tbody></table>'
        "<p>Example:</p><pre>curl 'http://127.0.0.1:8080/api/stories?min_sources=2&amp;since=24h'"
        "</pre>"
    )
    return layout(request, "API", body)


ENDPOINTS: dict[str, Endpoint] = {
    "/": front_page,
    "/stories/{story_id:path}": story_page_view,
    "/sources": sources_page,
    "/api": api_page,
}
