"""HTML pages for readers: front page, story page, sources, API overview, errors.

Plain server-rendered HTML with one same-origin stylesheet: no script, no external asset,
nothing a reader's browser fetches from anyone but this server. Every value from the store
goes through :func:`safety.text` (escape) or :func:`safety.outbound_link` (URL vetted).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from aggregator.read.digest import DigestStory, lead_text
from aggregator.store import FeedState
from aggregator.types import StoredArticle, iso_utc
from aggregator.web.queries import (
    MIN_SOURCES,
    PERIODS,
    StoryDetail,
    StoryFilter,
    StoryPage,
    open_store,
    paging,
    story_detail,
    story_filter,
    story_page,
)
from aggregator.web.responses import cached, context
from aggregator.web.safety import clean_html, outbound_link, text
from aggregator.web.style import VERSION

PAGE_SIZE = 30
CARD_OUTLETS = 8  # outlets listed on a front-page card before "+N more"
EXCERPT_CHARS = 360

HTML = "text/html; charset=utf-8"


def routes() -> list[Route]:
    return [
        Route("/", front_page, methods=["GET"]),
        Route("/stories/{story_id:path}", story_page_view, methods=["GET"]),
        Route("/sources", sources_page, methods=["GET"]),
        Route("/api", api_page, methods=["GET"]),
    ]


# ---------------------------------------------------------------------- small pieces
def story_href(story_id: str) -> str:
    return "/stories/" + quote(story_id, safe="")


def ago(dt: datetime | None, now: datetime) -> str:
    if dt is None:
        return "time unknown"
    seconds = (now - dt).total_seconds()
    if seconds < 0:
        return "just now" if seconds > -300 else dt.strftime("%d %b %H:%M")
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 48 * 3600:
        return f"{int(seconds // 3600)} h ago"
    if seconds < 30 * 86400:
        return f"{int(seconds // 86400)} days ago"
    return dt.strftime("%d %b %Y")


def absolute(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M UTC")


def time_tag(dt: datetime | None, now: datetime) -> str:
    if dt is None:
        return "<time>time unknown</time>"
    return f'<time datetime="{iso_utc(dt)}" title="{absolute(dt)}">{ago(dt, now)}</time>'


def duration(seconds: float) -> str:
    """``+2 h 05 min`` style offsets for the timeline."""
    minutes = int(round(seconds / 60))
    if minutes < 60:
        return f"+{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"+{hours} h {minutes:02d}"
    return f"+{hours // 24} d {hours % 24} h"


_PLURALS = {"story": "stories"}


def plural(n: int, word: str) -> str:
    return f"{n} {word if n == 1 else _PLURALS.get(word, word + 's')}"


def layout(
    request: Request,
    title: str,
    body: str,
    *,
    status: int = 200,
    alternates: Sequence[tuple[str, str, str]] = (),
) -> Response:
    """The page around ``body``. ``alternates``: (type, title, href) feed links to advertise."""
    site = context(request).title
    links = "".join(
        f'<link rel="alternate" type="{text(kind)}" title="{text(label)}" href="{text(href)}">'
        for kind, label, href in alternates
    )
    page_title = site if title == site else f"{title} · {site}"
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{text(page_title)}</title>"
        f'<link rel="stylesheet" href="/static/style.css?v={VERSION}">{links}</head><body>'
        f'<header class="top"><div class="wrap"><a class="brand" href="/">{text(site)}</a>'
        '<nav><a href="/">Stories</a><a href="/sources">Sources</a><a href="/api">API</a></nav>'
        f'</div></header><main class="wrap">{body}</main>'
        '<footer class="wrap">Grouped coverage from the feeds this server follows. '
        "No tracking, no scripts.</footer></body></html>\n"
    )
    return cached(request, html, HTML, status=status)


def error_page(request: Request, status: int, message: str) -> Response:
    body = (
        f'<h1 class="story">{text(_STATUS_TITLES.get(status, "Error"))}</h1>'
        f'<p class="empty">{text(message)}</p><p><a href="/">← All stories</a></p>'
    )
    return layout(request, _STATUS_TITLES.get(status, "Error"), body, status=status)


_STATUS_TITLES = {400: "Bad request", 404: "Not found", 503: "Not available yet"}


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
    limit, offset = paging(request.query_params, default_limit=PAGE_SIZE, pages=True)
    now = ctx.now()
    with open_store(ctx.storage) as store:
        page = story_page(store, flt, now=now, limit=limit, offset=offset, cache=ctx.stories)
        tags = store.tag_counts()
        feeds = store.feed_states()
    feed_links = _feed_links(flt)
    cards = "".join(story_card(s, now) for s in page.stories)
    if not cards:
        cards = '<p class="empty">No stories match. Try a longer period or fewer filters.</p>'
    subscribe = " ".join(f'<a href="{text(h)}">{text(label)}</a>' for _, label, h in feed_links)
    body = (
        filters_form(flt, tags, feeds)
        + f'<p class="status">{plural(page.total, "story")} · {text(flt.describe())} · '
        f"Subscribe: {subscribe}</p>" + f'<div class="stories">{cards}</div>' + pager(flt, page)
    )
    return layout(request, ctx.title, body, alternates=feed_links)


def filters_form(flt: StoryFilter, tags: list[tuple[str, int]], feeds: list[FeedState]) -> str:
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
        'placeholder="Search stories" aria-label="Search stories">'
        "<button type=submit>Show</button>"
        f'<select name="since" aria-label="Period">{options(periods, flt.since)}</select>'
        f'<select name="tag" aria-label="Tag">{options(tag_choices, flt.tag)}</select>'
        f'<select name="feed" aria-label="Source">{options(feed_choices, flt.feed)}</select>'
        f'<select name="min_sources" aria-label="Minimum outlets">'
        f"{options(mins, str(flt.min_sources))}</select></form>"
    )


def story_card(story: DigestStory, now: datetime) -> str:
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
        f'<h2><a href="{text(href)}">{text(story.title)}</a></h2>'
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


def pager(flt: StoryFilter, page: StoryPage) -> str:
    if page.total <= page.limit:
        return ""
    number = page.offset // page.limit + 1
    pages = (page.total + page.limit - 1) // page.limit
    extra: dict[str, str | int] = {} if page.limit == PAGE_SIZE else {"limit": page.limit}
    prev = (
        f'<a rel="prev" href="/{text(flt.query({**extra, "page": number - 1}))}">← Bigger</a>'
        if number > 1
        else "<span></span>"
    )
    nxt = (
        f'<a rel="next" href="/{text(flt.query({**extra, "page": number + 1}))}">More →</a>'
        if page.has_next
        else "<span></span>"
    )
    return f'<nav class="pager">{prev}<span class="here">Page {number} of {pages}</span>{nxt}</nav>'


# ---------------------------------------------------------------------- story page
def story_page_view(request: Request) -> Response:
    ctx = context(request)
    story_id = request.path_params["story_id"]
    with open_store(ctx.storage) as store:
        detail = story_detail(store, story_id)
    if detail is None:
        raise HTTPException(404, "No such story. It may have expired from the store.")
    if detail.record.id != story_id:
        # the story was merged into a bigger one: its address moves for good
        return RedirectResponse(story_href(detail.record.id), status_code=301)
    return layout(request, detail.view.title, story_body(detail, ctx.now()))


def story_body(detail: StoryDetail, now: datetime) -> str:
    view = detail.view
    first = view.first_report
    first_html = ""
    if first is not None:
        first_html = (
            f" · first reported {time_tag(first.published, now)} by "
            f"<strong>{text(first.source or 'unknown')}</strong>"
        )
    summary = f'<p class="lead">{text(view.summary)}</p>' if view.summary else ""
    return (
        '<p><a href="/">← All stories</a></p><article class="story">'
        f"<h1>{text(view.title)}</h1>"
        f'<p class="meta"><strong>{plural(view.source_count, "outlet")}</strong> · '
        f"{plural(view.article_count, 'article')}{first_html} · updated "
        f"{time_tag(view.last_updated, now)}</p>{summary}"
        f"{perspectives(detail.articles)}"
        f"{timeline(detail)}"
        f"{coverage(detail, now)}</article>"
    )


def perspectives(articles: Sequence[StoredArticle]) -> str:
    """Which feed tags (regions, languages...) covered the story, and through which outlets."""
    outlets: dict[str, list[str]] = {}
    for a in articles:
        for tag in a.tags:
            names = outlets.setdefault(tag, [])
            name = a.source or a.feed_url or "unknown"
            if name not in names:
                names.append(name)
    if not outlets:
        return ""
    rows = sorted(outlets.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    items = "".join(
        f'<li><a class="chip" href="/?{text(urlencode({"tag": tag}))}">{text(tag)}</a> '
        f"{plural(len(names), 'outlet')}: {text(', '.join(names))}</li>"
        for tag, names in rows
    )
    return f'<section><h2>Coverage by perspective</h2><ul class="persp">{items}</ul></section>'


def _when(a: StoredArticle) -> datetime:
    return a.published or a.fetched


def timeline(detail: StoryDetail) -> str:
    """An SVG of who reported when (one row per outlet), and the same as a list."""
    articles = detail.articles
    start = _when(articles[0])
    span = max((_when(a) - start).total_seconds() for a in articles) or 1.0
    names = [name for name, _ in detail.view.outlets] or [
        a.source or a.feed_url or "unknown" for a in articles
    ]
    row = {name: i for i, name in enumerate(dict.fromkeys(names))}
    left, width, height = 170, 420, 24 * len(row) + 30
    parts = [
        f'<svg class="tl" viewBox="0 0 {left + width + 20} {height}" role="img" '
        f'aria-label="Timeline of coverage">'
    ]
    for name, i in row.items():
        y = 20 + 24 * i
        parts.append(f'<line x1="{left}" y1="{y}" x2="{left + width}" y2="{y}"/>')
        parts.append(f'<text class="name" x="6" y="{y + 4}">{text(_clip(name, 22))}</text>')
    for a in articles:
        name = a.source or a.feed_url or "unknown"
        x = left + width * (_when(a) - start).total_seconds() / span
        y = 20 + 24 * row.get(name, 0)
        kind = ' class="copy"' if a.duplicate_of_key else ""
        parts.append(
            f'<circle{kind} cx="{x:.1f}" cy="{y}" r="6"><title>{text(name)}: {text(a.title)} '
            f"({absolute(_when(a))})</title></circle>"
        )
    bottom = height - 6
    parts.append(f'<text x="{left}" y="{bottom}">{absolute(start)}</text>')
    parts.append(
        f'<text x="{left + width}" y="{bottom}" text-anchor="end">'
        f"{text(duration(span) if span > 1 else '')}</text></svg>"
    )
    items = "".join(
        f'<li><span class="off">{"start" if _when(a) == start else duration((_when(a) - start).total_seconds())}'
        f"</span><span><strong>{text(a.source or 'unknown')}</strong>: "
        f'<a href="#article-{a.id}">{text(a.title)}</a>'
        f"{' (copy)' if a.duplicate_of_key else ''}</span></li>"
        for a in articles
    )
    return f'<section><h2>Timeline</h2>{"".join(parts)}<ol class="timeline">{items}</ol></section>'


def _clip(value: str, n: int) -> str:
    return value if len(value) <= n else value[: n - 1] + "…"


def coverage(detail: StoryDetail, now: datetime) -> str:
    """Every article, syndicated copies folded under their original, with why it is here."""
    by_key = {a.key: a for a in detail.articles}
    copies: dict[str, list[StoredArticle]] = {}
    originals = []
    for a in detail.articles:
        if a.duplicate_of_key and a.duplicate_of_key in by_key:
            copies.setdefault(a.duplicate_of_key, []).append(a)
        else:
            originals.append(a)
    items = "".join(article_item(a, copies.get(a.key, []), now) for a in originals)
    note = (
        '<p class="meta">Articles join a story when their words overlap with it (cosine '
        "similarity of their text), their headlines agree, and they were published close in "
        "time; verbatim republished copies are folded under the original.</p>"
    )
    return (
        f"<section><h2>All coverage ({plural(len(detail.articles), 'article')})</h2>"
        f"{note}{items}</section>"
    )


def article_item(a: StoredArticle, copies: list[StoredArticle], now: datetime) -> str:
    excerpt = lead_text(a.text or a.summary, EXCERPT_CHARS)
    origin = " · from the feed" if a.text_source == "feed" else ""
    tags = f" · {text(', '.join(a.tags))}" if a.tags else ""
    copies_html = ""
    if copies:
        rows = "".join(
            f"<li><strong>{text(c.source or 'unknown')}</strong> "
            f"{outbound_link(c.url, c.title)} {time_tag(_when(c), now)}</li>"
            for c in copies
        )
        copies_html = (
            f"<details><summary>Also published by {plural(len(copies), 'outlet')}"
            f"</summary><ul>{rows}</ul></details>"
        )
    body = clean_html(f"<p>{text(excerpt)}</p>") if excerpt else ""
    return (
        f'<article class="item" id="article-{a.id}">'
        f"<h3>{outbound_link(a.url, a.title)}</h3>"
        f'<p class="meta"><strong>{text(a.source or "unknown")}</strong> · '
        f"{time_tag(_when(a), now)}{tags}{origin}</p>"
        f'<div class="excerpt">{body}</div>{copies_html}{why(a, copies)}</article>'
    )


def why(a: StoredArticle, copies: list[StoredArticle]) -> str:
    """The clusterer's reasons for putting the article here (score and evidence)."""
    if not a.evidence:
        summary = "Started this story" if a.score in (None, 1.0) else f"Score {a.score:.2f}"
        return f'<details class="why"><summary>Why it is here: {summary}</summary></details>'
    score = f"score {a.score:.2f}" if a.score is not None else "no score"
    rows = "".join(
        f"<dt>{text(key.replace('_', ' '))}</dt><dd>{text(_evidence_value(value))}</dd>"
        for key, value in a.evidence.items()
    )
    return (
        f'<details class="why"><summary>Why it is here: {score}</summary>'
        f'<dl class="why">{rows}</dl></details>'
    )


def _evidence_value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "–"
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_evidence_value(v)}" for k, v in value.items())
    return str(value)


# ---------------------------------------------------------------------- sources, API
def sources_page(request: Request) -> Response:
    ctx = context(request)
    now = ctx.now()
    with open_store(ctx.storage) as store:
        feeds = store.feed_states()
        counts = store.counts()
    rows = "".join(_source_row(f, now) for f in feeds)
    body = (
        '<h1 class="story">Sources</h1>'
        f'<p class="status">{plural(len(feeds), "feed")} · '
        f"{plural(counts['articles'], 'article')} in {plural(counts['stories'], 'story')}</p>"
        '<table class="sources"><thead><tr><th>Source</th><th>Last success</th>'
        f"<th>Articles</th><th>Health</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    return layout(request, "Sources", body)


def _source_row(feed: FeedState, now: datetime) -> str:
    health = feed_health(feed)
    klass = "ok" if health == "ok" else "bad"
    detail = f"<br><small>{text(feed.last_error)}</small>" if feed.last_error else ""
    stories = f"/?{urlencode({'feed': feed.url, 'since': 'all'})}"
    return (
        f'<tr><td><a href="{text(stories)}">{text(feed.name or feed.title or feed.url)}</a>'
        f"<br><small>{outbound_link(feed.url, feed.url)}</small></td>"
        f"<td>{time_tag(feed.last_success, now) if feed.last_success else 'never'}</td>"
        f"<td>{feed.articles}</td>"
        f'<td class="{klass}">{text(health)}{detail}</td></tr>'
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
