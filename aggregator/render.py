"""Digest -> output formats: text, markdown, json, html, atom, rss, jsonfeed.

Every string from a feed is untrusted: escaped for the format it goes into, never
passed through as markup.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from email.utils import format_datetime
from html import escape
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from . import PROJECT_URL, __version__
from .digest import Digest, DigestArticle, DigestStory

FORMATS = ("text", "markdown", "json", "html", "atom", "rss", "jsonfeed")


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


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat().replace("+00:00", "Z") if dt else None


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
        "published": _iso(article.published),
        "tags": list(article.tags),
        "also_published_by": [{"source": s, "url": u} for s, u in article.copies],
    }


def story_json(story: DigestStory) -> dict[str, Any]:
    return {
        "id": story.id,
        "title": story.title,
        "first_published": _iso(story.first_published),
        "last_updated": _iso(story.last_updated),
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
        "generated": _iso(digest.generated),
        "since": _iso(digest.since),
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
def story_uri(story_id: str) -> str:
    return f"urn:newsroom-aggregator:story:{story_id}"


def _entry_html(story: DigestStory) -> str:
    return _story_html(story)


def _story_link(story: DigestStory) -> str | None:
    return story.first_report.url if story.first_report else None


def render_atom(digest: Digest, title: str) -> str:
    updated = max(
        (s.last_updated for s in digest.stories if s.last_updated), default=digest.generated
    )
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"<title>{xml_escape(title)}</title>",
        f"<id>urn:newsroom-aggregator:digest:{xml_escape(title)}</id>",
        f"<updated>{_iso(updated)}</updated>",
        f'<generator uri="{PROJECT_URL}" version="{__version__}">newsroom-aggregator</generator>',
    ]
    for s in digest.stories:
        link = _story_link(s)
        out.append("<entry>")
        out.append(f"<title>{xml_escape(s.title)}</title>")
        out.append(f"<id>{story_uri(s.id)}</id>")
        out.append(f"<updated>{_iso(s.last_updated or digest.generated)}</updated>")
        if s.first_published:
            out.append(f"<published>{_iso(s.first_published)}</published>")
        if link:
            out.append(f'<link rel="alternate" href="{xml_escape(link, {chr(34): "&quot;"})}"/>')
        for source in s.sources:
            out.append(f"<author><name>{xml_escape(source)}</name></author>")
        out.append(f'<summary type="text">{xml_escape(s.summary or _outlets_line(s))}</summary>')
        out.append(f'<content type="html">{xml_escape(_entry_html(s))}</content>')
        out.append("</entry>")
    out.append("</feed>")
    return "\n".join(out) + "\n"


def render_rss(digest: Digest, title: str) -> str:
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0"><channel>',
        f"<title>{xml_escape(title)}</title>",
        f"<link>{PROJECT_URL}</link>",
        f"<description>{xml_escape(title)}: stories across outlets</description>",
        f"<lastBuildDate>{format_datetime(digest.generated)}</lastBuildDate>",
        f"<generator>newsroom-aggregator {__version__}</generator>",
    ]
    for s in digest.stories:
        link = _story_link(s)
        out.append("<item>")
        out.append(f"<title>{xml_escape(s.title)}</title>")
        out.append(f'<guid isPermaLink="false">{story_uri(s.id)}</guid>')
        if link:
            out.append(f"<link>{xml_escape(link)}</link>")
        if s.last_updated:
            out.append(f"<pubDate>{format_datetime(s.last_updated)}</pubDate>")
        out.append(f"<description>{xml_escape(_entry_html(s))}</description>")
        out.append("</item>")
    out.append("</channel></rss>")
    return "\n".join(out) + "\n"


def render_jsonfeed(digest: Digest, title: str) -> str:
    items = []
    for s in digest.stories:
        item: dict[str, Any] = {
            "id": story_uri(s.id),
            "title": s.title,
            "content_html": _entry_html(s),
            "summary": s.summary or _outlets_line(s),
            "date_published": _iso(s.first_published),
            "date_modified": _iso(s.last_updated),
            "authors": [{"name": name} for name in s.sources],
            "tags": [tag for tag, _ in s.tags],
        }
        link = _story_link(s)
        if link:
            item["url"] = link
        items.append({k: v for k, v in item.items() if v is not None})
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": title,
        "home_page_url": PROJECT_URL,
        "items": items,
    }
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
