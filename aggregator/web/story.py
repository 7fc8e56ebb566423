"""The story page: every article of one story, who reported it when, and why each is here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from aggregator.read.digest import lead_text
from aggregator.types import StoredArticle
from aggregator.web.html import absolute, duration, layout, plural, story_href, time_tag
from aggregator.web.queries import StoryDetail, open_store
from aggregator.web.reading import ReaderMarks, reader_marks
from aggregator.web.responses import context, requested_story
from aggregator.web.safety import clean_html, outbound_link, text
from aggregator.web.session import reader

EXCERPT_CHARS = 360


def story_page_view(request: Request) -> Response:
    detail = requested_story(request, "No such story. It may have expired from the store.")
    if detail.record.id != request.path_params["story_id"]:
        # the story was merged into a bigger one: its address moves for good
        return RedirectResponse(story_href(detail.record.id), status_code=301)
    ctx = context(request)
    marks = ReaderMarks()
    if reader(request) is not None:
        with open_store(ctx.storage) as store:
            marks = reader_marks(
                request, store, [detail.record.id], [a.id for a in detail.articles]
            )
    return layout(request, detail.view.title, story_body(detail, ctx.now(), marks))


def story_body(detail: StoryDetail, now: datetime, marks: ReaderMarks | None = None) -> str:
    marks = marks or ReaderMarks()
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
        f"{time_tag(view.last_updated, now)}</p>{marks.story(detail.record.id)}{summary}"
        f"{corrected(detail, now)}"
        f"{perspectives(detail.articles)}"
        f"{timeline(detail)}"
        f"{coverage(detail, now, marks)}</article>"
    )


def corrected(detail: StoryDetail, now: datetime) -> str:
    """A note that an operator corrected this story, and how."""
    if not detail.corrections:
        return ""
    titles = {a.key: a.title for a in detail.articles}
    items = []
    for c in detail.corrections:
        if c.kind == "merge":
            what = f"story {text(c.story)} merged into {text(c.other)}"
        elif c.other == detail.record.id:
            what = f"“{text(titles.get(c.article or '', c.article or ''))}” split out of story {text(c.story)}"
        else:
            what = f'an article split out into story <a href="{story_href(c.other)}">{text(c.other)}</a>'
        items.append(f"<li>{what}, {time_tag(c.at, now)}</li>")
    return f'<aside class="corrected"><p>Corrected by an operator:</p><ul>{"".join(items)}</ul></aside>'


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


def coverage(detail: StoryDetail, now: datetime, marks: ReaderMarks | None = None) -> str:
    """Every article, syndicated copies folded under their original, with why it is here."""
    by_key = {a.key: a for a in detail.articles}
    copies: dict[str, list[StoredArticle]] = {}
    originals = []
    for a in detail.articles:
        if a.duplicate_of_key and a.duplicate_of_key in by_key:
            copies.setdefault(a.duplicate_of_key, []).append(a)
        else:
            originals.append(a)
    reading = marks or ReaderMarks()
    items = "".join(
        article_item(a, copies.get(a.key, []), now, reading.article(a)) for a in originals
    )
    note = (
        '<p class="meta">Articles join a story when their words overlap with it (cosine '
        "similarity of their text), their headlines agree, and they were published close in "
        "time; verbatim republished copies are folded under the original.</p>"
    )
    return (
        f"<section><h2>All coverage ({plural(len(detail.articles), 'article')})</h2>"
        f"{note}{items}</section>"
    )


def article_item(
    a: StoredArticle, copies: list[StoredArticle], now: datetime, reading: str = ""
) -> str:
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
        f"{time_tag(_when(a), now)}{tags}{origin}</p>{reading}"
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
