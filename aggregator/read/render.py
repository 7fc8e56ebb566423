"""Digest -> output formats: text, markdown, json, html, atom, rss, jsonfeed.

Every string from a feed is untrusted: escaped for the format it goes into, never
passed through as markup.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from html import escape
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from aggregator import PROJECT_URL, __version__
from aggregator.read import FORMATS
from aggregator.read.digest import Digest, DigestArticle, DigestStory
from aggregator.types import iso_utc


def render(digest: Digest, fmt: str, *, title: str = "News digest") -> str:
    renderers: dict[str, Callable[[Digest, str], str]] = {
        "text": render_text,
        "markdown": render_markdown,
        "json": render_json,
        "html": render_html,
        "atom": render_atom,
        "rss": render_rss,
        "jsonfeed": render_jsonfeed,
    }
    if fmt not in renderers:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return renderers[fmt](digest, title)


def _when(dt: datetime | None) -> str:
    return dt.strftime("%Y-%m-%d %H:%M UTC") if dt else "time unknown"


def _outlets_line(story: DigestStory) -> str:
    n = story.source_count
    return f"{n} outlet{'s' if n != 1 else ''}, {story.article_count} article{'s' if story.article_count != 1 else ''}"


def _copies(article: DigestArticle) -> str:
    names = [c[0] or "unknown" for c in article.copies]
    return f"also published by {', '.join(names)}" if names else ""


# ---------------------------------------------------------------------- text
def render_text(digest: Digest, title: str) -> str:
    lines = [f"{title}: {len(digest.stories)} stories (generated {_when(digest.generated)})", ""]
    for i, story in enumerate(digest.stories, 1):
        lines.append(f"{i}. {story.title}")
        lines.append(f"   {_outlets_line(story)}: {', '.join(story.sources)}")
        if story.first_report:
            fr = story.first_report
            lines.append(f"   first report: {fr.source} at {_when(fr.published)}")
        for article in story.articles:
            lines.append(f"   - [{article.source}] {article.title} ({_when(article.published)})")
            if article.url:
                lines.append(f"     {article.url}")
            if article.copies:
                lines.append(f"     {_copies(article)}")
        lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------------- markdown
def _md(text: str) -> str:
    for ch in "\\`*_[]<>#|":
        text = text.replace(ch, "\\" + ch)
    return text


def render_markdown(digest: Digest, title: str) -> str:
    lines = [
        f"# {_md(title)}",
        "",
        f"{len(digest.stories)} stories, generated {_when(digest.generated)}.",
        "",
    ]
    for story in digest.stories:
        lines.append(f"## {_md(story.title)}")
        lines.append("")
        lines.append(f"*{_outlets_line(story)}: {_md(', '.join(story.sources))}*")
        lines.append("")
        if story.summary:
            lines.append(_md(story.summary))
            lines.append("")
        for article in story.articles:
            head = f"[{_md(article.title)}](<{article.url}>)" if article.url else _md(article.title)
            line = f"- **{_md(article.source or 'unknown')}**: {head} — {_when(article.published)}"
            if article.copies:
                line += f" ({_md(_copies(article))})"
            lines.append(line)
        lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------------- json
def _article_json(article: DigestArticle) -> dict[str, Any]:
    return {
        "title": article.title,
        "url": article.url,
        "source": article.source,
        "published": iso_utc(article.published),
        "tags": list(article.tags),
        "also_published_by": [{"source": s, "url": u} for s, u in article.copies],
    }


def story_json(story: DigestStory) -> dict[str, Any]:
    return {
        "id": story.id,
        "title": story.title,
        "first_published": iso_utc(story.first_published),
        "last_updated": iso_utc(story.last_updated),
        "article_count": story.article_count,
        "source_count": story.source_count,
        "sources": list(story.sources),
        "first_report": _article_json(story.first_report) if story.first_report else None,
        "summary": story.summary,
        "tags": dict(story.tags),
        "articles": [_article_json(a) for a in story.articles],
    }


def render_json(digest: Digest, title: str) -> str:
    doc = {
        "title": title,
        "generated": iso_utc(digest.generated),
        "since": iso_utc(digest.since),
        "stories": [story_json(s) for s in digest.stories],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


# ---------------------------------------------------------------------- html
_CSS = """
body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:1rem auto;padding:0 1rem;color:#222}
h1{font-size:1.5rem}article{border-bottom:1px solid #ddd;padding:.6rem 0}
h2{font-size:1.15rem;margin:.2rem 0}.meta{color:#666;font-size:.9rem}ul{padding-left:1.2rem}
li{margin:.2rem 0}.copies{color:#666;font-size:.85rem}
"""


def _story_html(story: DigestStory) -> str:
    items = []
    for a in story.articles:
        head = (
            f'<a href="{escape(a.url)}" rel="noopener noreferrer">{escape(a.title)}</a>'
            if a.url
            else escape(a.title)
        )
        copies = f' <span class="copies">({escape(_copies(a))})</span>' if a.copies else ""
        items.append(
            f"<li><strong>{escape(a.source or 'unknown')}</strong>: {head} "
            f'<span class="meta">{escape(_when(a.published))}</span>{copies}</li>'
        )
    summary = f"<p>{escape(story.summary)}</p>" if story.summary else ""
    return (
        f'<article id="story-{escape(story.id)}"><h2>{escape(story.title)}</h2>'
        f'<div class="meta">{escape(_outlets_line(story))}: {escape(", ".join(story.sources))}</div>'
        f"{summary}<ul>{''.join(items)}</ul></article>"
    )


def render_html(digest: Digest, title: str) -> str:
    body = "\n".join(_story_html(s) for s in digest.stories)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f'<h1>{escape(title)}</h1><p class="meta">{len(digest.stories)} stories, generated '
        f"{escape(_when(digest.generated))}</p>\n{body}\n</body></html>\n"
    )


# ---------------------------------------------------------------------- feeds
@dataclass(frozen=True)
class FeedLinks:
    """Where a served feed lives (aggregator.web): self links, a stable id, story pages.

    Without it the feeds are standalone files (``aggregator digest --format atom``) whose
    entries link to the first report.
    """

    feed_id: str  # stable across polls and hosts, e.g. urn:...:digest:tag=europe
    self_url: str  # the feed's own URL, filter included
    home_url: str  # the web page that shows the same stories
    story_url: Callable[[str], str]  # story id -> the story's page
    # the HTML of one entry; None: the digest's plain story block
    entry_html: Callable[[DigestStory], str] | None = None


def story_uri(story_id: str) -> str:
    return f"urn:newsroom-aggregator:story:{story_id}"


def _entry_html(story: DigestStory, links: FeedLinks | None = None) -> str:
    if links is not None and links.entry_html is not None:
        return links.entry_html(story)
    return _story_html(story)


def _story_link(story: DigestStory, links: FeedLinks | None = None) -> str | None:
    if links is not None:
        return links.story_url(story.id)
    return story.first_report.url if story.first_report else None


def _attr(value: str) -> str:
    return xml_escape(value, {'"': "&quot;"})


def render_atom(digest: Digest, title: str, links: FeedLinks | None = None) -> str:
    updated = max(
        (s.last_updated for s in digest.stories if s.last_updated), default=digest.generated
    )
    feed_id = links.feed_id if links else f"urn:newsroom-aggregator:digest:{title}"
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"<title>{xml_escape(title)}</title>",
        f"<id>{xml_escape(feed_id)}</id>",
        f"<updated>{iso_utc(updated)}</updated>",
        f'<generator uri="{PROJECT_URL}" version="{__version__}">newsroom-aggregator</generator>',
    ]
    if links:
        out.append(f'<link rel="self" type="application/atom+xml" href="{_attr(links.self_url)}"/>')
        out.append(f'<link rel="alternate" type="text/html" href="{_attr(links.home_url)}"/>')
    for s in digest.stories:
        link = _story_link(s, links)
        out.append("<entry>")
        out.append(f"<title>{xml_escape(s.title)}</title>")
        out.append(f"<id>{story_uri(s.id)}</id>")
        out.append(f"<updated>{iso_utc(s.last_updated or digest.generated)}</updated>")
        if s.first_published:
            out.append(f"<published>{iso_utc(s.first_published)}</published>")
        if link:
            out.append(f'<link rel="alternate" href="{_attr(link)}"/>')
        if links and s.first_report and s.first_report.url:
            out.append(f'<link rel="related" href="{_attr(s.first_report.url)}"/>')
        for source in s.sources:
            out.append(f"<author><name>{xml_escape(source)}</name></author>")
        for tag, _ in s.tags:
            out.append(f'<category term="{_attr(tag)}"/>')
        out.append(f'<summary type="text">{xml_escape(s.summary or _outlets_line(s))}</summary>')
        out.append(f'<content type="html">{xml_escape(_entry_html(s, links))}</content>')
        out.append("</entry>")
    out.append("</feed>")
    return "\n".join(out) + "\n"


def render_rss(digest: Digest, title: str, links: FeedLinks | None = None) -> str:
    namespaces = ' xmlns:atom="http://www.w3.org/2005/Atom"' if links else ""
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<rss version="2.0"{namespaces}><channel>',
        f"<title>{xml_escape(title)}</title>",
        f"<link>{xml_escape(links.home_url) if links else PROJECT_URL}</link>",
        f"<description>{xml_escape(title)}: stories across outlets</description>",
        f"<lastBuildDate>{format_datetime(digest.generated)}</lastBuildDate>",
        f"<generator>newsroom-aggregator {__version__}</generator>",
    ]
    if links:
        out.append(
            f'<atom:link href="{_attr(links.self_url)}" rel="self" type="application/rss+xml"/>'
        )
    for s in digest.stories:
        link = _story_link(s, links)
        out.append("<item>")
        out.append(f"<title>{xml_escape(s.title)}</title>")
        out.append(f'<guid isPermaLink="false">{story_uri(s.id)}</guid>')
        if link:
            out.append(f"<link>{xml_escape(link)}</link>")
        if s.last_updated:
            out.append(f"<pubDate>{format_datetime(s.last_updated)}</pubDate>")
        if links:
            out.extend(f"<category>{xml_escape(tag)}</category>" for tag, _ in s.tags)
        out.append(f"<description>{xml_escape(_entry_html(s, links))}</description>")
        out.append("</item>")
    out.append("</channel></rss>")
    return "\n".join(out) + "\n"


def render_jsonfeed(digest: Digest, title: str, links: FeedLinks | None = None) -> str:
    items = []
    for s in digest.stories:
        item: dict[str, Any] = {
            "id": story_uri(s.id),
            "title": s.title,
            "content_html": _entry_html(s, links),
            "summary": s.summary or _outlets_line(s),
            "date_published": iso_utc(s.first_published),
            "date_modified": iso_utc(s.last_updated),
            "authors": [{"name": name} for name in s.sources],
            "tags": [tag for tag, _ in s.tags],
        }
        link = _story_link(s, links)
        if link:
            item["url"] = link
        if links and s.first_report and s.first_report.url:
            item["external_url"] = s.first_report.url
        items.append({k: v for k, v in item.items() if v is not None})
    doc: dict[str, Any] = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": title,
        "home_page_url": links.home_url if links else PROJECT_URL,
    }
    if links:
        doc["feed_url"] = links.self_url
    doc["items"] = items
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
