"""The demo site's documents: each article's HTML page in its outlet's layout, and each outlet's
feed in its format (RSS 2.0 with and without full content, RSS 1.0/RDF, Atom 1.0, JSON Feed 1.1).

Every page is the top all pages share (``site_data/page.html``: doctype, language, title,
description) followed by the rest of the page in the outlet's layout (``site_data/layouts``);
both are ``string.Template`` texts filled with the same values. The demo's clustering reads
these bytes, so a change here changes the demo's stories.
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from string import Template
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from aggregator.demo.data import DemoArticle, Outlet, data_dir

__all__ = ["FEEDS", "render_page"]


# --- article pages ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """How a layout fills the top that all pages share, and writes dates for people."""

    lang: str  # the <html> element's lang attribute ("" for none)
    title: str  # the page's <title>: a template of the page's values
    viewport: bool  # whether the page declares a viewport for phones
    dates: str  # strftime format; the variety is deliberate (extraction sees it)


_LAYOUTS = {
    "classic": _Layout("en", "$title | $site", True, "%d %B %Y, %H:%M UTC"),
    "related": _Layout("en", "$title - $site", True, "%B %d, %Y %H:%M"),
    "wire": _Layout("en", "$title - $site", False, "%b %d, %Y %H:%M GMT"),
    "schema": _Layout("en-GB", "$title | $site", True, "%a %d %b %Y %H.%M GMT"),
    "blog": _Layout("en-AU", "$title &ndash; $site", False, "%d/%m/%Y %H:%M"),
    "divsoup": _Layout("", "$site :: $title", False, "%A, %B %d, %Y - %H:%M"),
}
_VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">\n'

_LI = "      <li>{link}</li>"
_SIDEBAR_ITEMS = {
    "divsoup": '<div class="tr-i"><div class="tr-n"></div><div class="tr-a">{link}</div></div>',
}


@functools.cache
def _template(name: str) -> Template:
    return Template((data_dir() / name).read_text(encoding="utf-8"))


def render_page(article: DemoArticle, others: list[DemoArticle], base_url: str) -> str:
    """The article's HTML page; ``others`` are the outlet's other articles, newest first."""
    outlet = article.outlet
    layout = _LAYOUTS[outlet.layout]
    home = f"{base_url}/{outlet.slug}"
    url = f"{base_url}{article.path}"
    attr = html.escape  # every value below lands in text or in a double-quoted attribute
    values = {
        "site": attr(outlet.name),
        "city": attr(outlet.city),
        "tagline": attr(outlet.tagline),
        "home": home,
        "canonical": url,
        "feed_url": f"{base_url}{outlet.feed_path}",
        "title": attr(article.title),
        "description": attr(article.summary),
        "author": attr(article.author),
        "section": attr(article.section),
        "section_slug": article.section.lower().replace(" ", "-"),
        "date_iso": article.published.isoformat(),
        "date_human": article.published.strftime(layout.dates),
        "year": str(article.published.year),
        "page_id": hashlib.sha1(url.encode()).hexdigest()[:10],
        "credit": attr(article.credit),
        "jsonld": _jsonld(article, url),
        "body": _body_html(article, others, base_url),
        "sidebar": _link_list(others[:5], base_url, _SIDEBAR_ITEMS.get(outlet.layout, _LI)),
        "related": _link_list(others[1:4], base_url, _LI),
    }
    return _template("page.html").substitute(
        values,
        lang_attribute=f' lang="{layout.lang}"' if layout.lang else "",
        page_title=Template(layout.title).substitute(values),
        viewport=_VIEWPORT if layout.viewport else "",
        layout=_template(f"layouts/{outlet.layout}.html").substitute(values),
    )


def _body_html(article: DemoArticle, others: list[DemoArticle], base: str) -> str:
    esc = [html.escape(p, quote=False) for p in article.paragraphs]
    layout = article.outlet.layout
    if layout == "divsoup":
        # no <p> at all: every paragraph is a bare div, split by spacer divs
        return "\n".join(f'<div class="st-p">{p}</div><div class="sp">&nbsp;</div>' for p in esc)
    paragraphs = [f"<p>{p}</p>" for p in esc]
    if layout == "related" and others and len(paragraphs) > 2:
        also = others[0]
        link = f'<a href="{base}{also.path}">{html.escape(also.title)}</a>'
        paragraphs.insert(2, f'<p class="also-read"><strong>Also read:</strong> {link}</p>')
    return "\n".join(paragraphs)


def _link_list(articles: list[DemoArticle], base: str, item: str) -> str:
    rows = []
    for a in articles:
        link = f'<a href="{base}{a.path}">{html.escape(a.title)}</a>'
        rows.append(item.format(link=link))
    return "\n".join(rows)


def _jsonld(article: DemoArticle, url: str) -> str:
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": article.title,
        "description": article.summary,
        "datePublished": article.published.isoformat(),
        "dateModified": article.published.isoformat(),
        "author": {"@type": "Person", "name": article.author},
        "publisher": {"@type": "Organization", "name": article.outlet.name},
        "mainEntityOfPage": url,
        "articleSection": article.section,
        "inLanguage": article.outlet.language,
    }
    # "</" inside a <script> element would end it early
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")


# --- feeds --------------------------------------------------------------------------------


def _entry_link(article: DemoArticle, base_url: str) -> str:
    url = f"{base_url}{article.path}"
    return f"{url}?{article.outlet.tracking}" if article.outlet.tracking else url


def _content_html(article: DemoArticle) -> str:
    parts = [f"<p>{html.escape(p, quote=False)}</p>" for p in article.paragraphs]
    if article.credit:
        parts.append(f"<p><em>{html.escape(article.credit, quote=False)}</em></p>")
    return "\n".join(parts)


def _rfc822(when: datetime) -> str:
    return format_datetime(when, usegmt=True)


def _el(tag: str, text: str, attrs: str = "") -> str:
    return f"<{tag}{attrs}>{escape(text)}</{tag}>"


def _element(open_tag: str, children: Iterable[str], close_tag: str, depth: int) -> str:
    """An XML element `depth` levels deep with its children one a line, one level deeper (two
    spaces a level); the caller puts the open tag where it goes, and a child's own inner
    lines are left as they are (they may be escaped text)."""
    pad = "  " * depth
    return open_tag + "".join(f"\n{pad}  {child}" for child in children) + f"\n{pad}{close_tag}"


def _xml(root: str) -> str:
    return f'<?xml version="1.0" encoding="utf-8"?>\n{root}\n'


def render_rss20(outlet: Outlet, articles: list[DemoArticle], base_url: str) -> str:
    items = []
    for a in articles:
        # permalink guids where the links are clean, opaque ids where they carry tracking
        if outlet.tracking and outlet.full_content:
            guid = _el("guid", f"{outlet.slug}-{a.slug}", ' isPermaLink="false"')
        else:
            guid = _el("guid", f"{base_url}{a.path}", ' isPermaLink="true"')
        parts = [
            _el("title", a.title),
            _el("link", _entry_link(a, base_url)),
            guid,
            _el("pubDate", _rfc822(a.published)),
            _el("dc:creator", a.author),
            _el("category", a.section),
            _el("description", a.summary),
        ]
        if outlet.full_content:
            parts.append(_el("content:encoded", _content_html(a)))
        items.append(_element("<item>", parts, "</item>", 2))
    head = [
        _el("title", outlet.name),
        _el("link", f"{base_url}/{outlet.slug}/"),
        _el("description", outlet.tagline),
        _el("language", outlet.language),
        _el("lastBuildDate", _rfc822(articles[0].published)),
        _el("ttl", "15"),
        f'<atom:link href="{base_url}{outlet.feed_path}" rel="self" type="application/rss+xml"/>',
    ]
    channel = _element("<channel>", [*head, *items], "</channel>", 1)
    rss = (
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">'
    )
    return _xml(_element(rss, [channel], "</rss>", 0))


def render_rss10(outlet: Outlet, articles: list[DemoArticle], base_url: str) -> str:
    links = [_entry_link(a, base_url) for a in articles]
    listed = [f"<rdf:li rdf:resource={quoteattr(link)}/>" for link in links]
    seq = _element("<rdf:Seq>", listed, "</rdf:Seq>", 3)
    items = []
    for a, link in zip(articles, links, strict=True):
        parts = [
            _el("title", a.title),
            _el("link", link),
            _el("description", a.summary),
            _el("dc:date", a.published.isoformat()),
            _el("dc:creator", a.author),
            _el("dc:subject", a.section),
        ]
        items.append(_element(f"<item rdf:about={quoteattr(link)}>", parts, "</item>", 1))
    head = [
        _el("title", outlet.name),
        _el("link", f"{base_url}/{outlet.slug}/"),
        _el("description", outlet.tagline),
        _el("dc:language", outlet.language),
        _el("dc:date", articles[0].published.isoformat()),
        _element("<items>", [seq], "</items>", 2),
    ]
    about = quoteattr(f"{base_url}{outlet.feed_path}")
    channel = _element(f"<channel rdf:about={about}>", head, "</channel>", 1)
    rdf = (
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        ' xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
    )
    return _xml(_element(rdf, [channel, *items], "</rdf:RDF>", 0))


def render_atom(outlet: Outlet, articles: list[DemoArticle], base_url: str) -> str:
    entries = []
    for a in articles:
        stamp = a.published.isoformat()
        parts = [
            _el("title", a.title),
            f'<link rel="alternate" type="text/html" href={quoteattr(_entry_link(a, base_url))}/>',
            _el("id", f"tag:{outlet.slug}.demo,2020:{a.slug}"),
            _el("published", stamp),
            _el("updated", stamp),
            f"<author>{_el('name', a.author)}</author>",
            f"<category term={quoteattr(a.section)}/>",
            _el("summary", a.summary),
        ]
        if outlet.full_content:
            parts.append(_el("content", _content_html(a), ' type="html"'))
        entries.append(_element("<entry>", parts, "</entry>", 1))
    head = [
        _el("title", outlet.name),
        _el("subtitle", outlet.tagline),
        f'<link rel="self" href="{base_url}{outlet.feed_path}"/>',
        f'<link rel="alternate" type="text/html" href="{base_url}/{outlet.slug}/"/>',
        _el("id", f"tag:{outlet.slug}.demo,2020:feed"),
        _el("updated", articles[0].published.isoformat()),
    ]
    feed = f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{outlet.language}">'
    return _xml(_element(feed, [*head, *entries], "</feed>", 0))


def render_jsonfeed(outlet: Outlet, articles: list[DemoArticle], base_url: str) -> str:
    items = []
    for a in articles:
        item: dict[str, Any] = {
            "id": f"{base_url}{a.path}",
            "url": _entry_link(a, base_url),
            "title": a.title,
            "summary": a.summary,
            "date_published": a.published.isoformat(),
            "authors": [{"name": a.author}],
            "tags": [a.section],
        }
        if outlet.full_content:
            item["content_html"] = _content_html(a)
        else:
            item["content_text"] = a.summary
        items.append(item)
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": outlet.name,
        "home_page_url": f"{base_url}/{outlet.slug}/",
        "feed_url": f"{base_url}{outlet.feed_path}",
        "description": outlet.tagline,
        "language": outlet.language,
        "items": items,
    }
    return json.dumps(feed, ensure_ascii=False, indent=2) + "\n"


FeedRenderer = Callable[[Outlet, list[DemoArticle], str], str]

# Outlet.feed_format -> how the feed is written, and the content type it is served with.
FEEDS: dict[str, tuple[FeedRenderer, str]] = {
    "rss20": (render_rss20, "application/rss+xml; charset=utf-8"),
    "rss10": (render_rss10, "application/rdf+xml; charset=utf-8"),
    "atom10": (render_atom, "application/atom+xml; charset=utf-8"),
    "json11": (render_jsonfeed, "application/feed+json; charset=utf-8"),
}
