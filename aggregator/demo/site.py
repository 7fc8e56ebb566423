"""A local news site serving bundled sample news, for `aggregator demo`, tests and evaluation.

The news in ``aggregator/demo/site_data/outlets/*.json`` was written for this project: fictional
outlets, fictional-but-plausible reports of ~15 events over two days, each outlet with its own
page layout (``site_data/layouts/*.html``) and feed format (RSS 2.0 with and without full
content, RSS 1.0/RDF, Atom 1.0, JSON Feed 1.1). One outlet republishes wire copy verbatim
under its own URL, two pairs of events are deliberately alike (two earthquakes, two central
bank rate cuts), and some feed links carry tracking parameters.

Every article is labelled with the event it reports; the labels never appear in what the
server sends, and :meth:`DemoSite.labels` hands them to tests and evaluations.

Publication times are stored on a fixed reference timeline and shifted so that the newest
article is a few minutes older than ``now``: the demo always looks fresh, while the spread and
order of the coverage are preserved. Everything is rendered once, when the site is built, so
responses are byte-for-byte stable and conditional requests get 304s.

    with DemoSite() as site:
        print(site.feeds_yaml())    # point the aggregator at site.base_url
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from string import Template
from types import TracebackType
from typing import Any
from xml.sax.saxutils import escape, quoteattr

__all__ = ["DemoArticle", "DemoSite", "Outlet", "load_articles"]

# The newest sample article appears this long before `now`.
_NEWEST_AGE = timedelta(minutes=7)

_FEED_TYPES = {
    "rss20": "application/rss+xml; charset=utf-8",
    "rss10": "application/rdf+xml; charset=utf-8",
    "atom10": "application/atom+xml; charset=utf-8",
    "json11": "application/feed+json; charset=utf-8",
}
_HTML_TYPE = "text/html; charset=utf-8"

# How each layout writes dates for people; the variety is deliberate (extraction sees it).
_HUMAN_DATES = {
    "classic": "%d %B %Y, %H:%M UTC",
    "related": "%B %d, %Y %H:%M",
    "wire": "%b %d, %Y %H:%M GMT",
    "schema": "%a %d %b %Y %H.%M GMT",
    "blog": "%d/%m/%Y %H:%M",
    "divsoup": "%A, %B %d, %Y - %H:%M",
}


@dataclass(frozen=True)
class Outlet:
    slug: str
    name: str
    city: str
    region: str
    language: str
    tagline: str
    layout: str  # a file name in site_data/layouts/, without ".html"
    feed_format: str  # a key of _FEED_TYPES
    full_content: bool  # whether the feed carries whole article bodies
    tracking: str  # query string appended to the links in the feed ("" for none)

    @property
    def feed_path(self) -> str:
        ext = "json" if self.feed_format == "json11" else "xml"
        return f"/{self.slug}/feed.{ext}"


@dataclass(frozen=True)
class DemoArticle:
    outlet: Outlet
    slug: str
    event: str  # label of the event the article reports; never served
    published: datetime  # UTC, already shifted relative to `now`
    title: str
    summary: str
    author: str
    section: str
    paragraphs: tuple[str, ...]
    credit: str = ""  # e.g. "Source: Meridian Wire" on republished copy
    copy_of: str | None = None  # "outlet/slug" of the article this one republishes

    @property
    def key(self) -> str:
        return f"{self.outlet.slug}/{self.slug}"

    @property
    def path(self) -> str:
        return f"/{self.outlet.slug}/{self.slug}.html"


# --- loading -------------------------------------------------------------------------------


def _data_dir() -> Any:
    return resources.files("aggregator.demo") / "site_data"


def _read_outlet_files() -> list[dict[str, Any]]:
    folder = _data_dir() / "outlets"
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".json"))
    return [json.loads((folder / name).read_text(encoding="utf-8")) for name in names]


def _outlet(raw: dict[str, Any]) -> Outlet:
    feed = raw["feed"]
    return Outlet(
        slug=raw["slug"],
        name=raw["name"],
        city=raw["city"],
        region=raw["region"],
        language=raw["language"],
        tagline=raw["tagline"],
        layout=raw["layout"],
        feed_format=feed["format"],
        full_content=feed["full_content"],
        tracking=feed["tracking"],
    )


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def load_articles(
    now: datetime | None = None,
) -> tuple[tuple[Outlet, ...], tuple[DemoArticle, ...]]:
    """Return ``(outlets, articles)``: the bundled sample news with times shifted to ``now``.

    Articles are sorted oldest first. Republished copies get the original's body verbatim.
    """
    files = _read_outlet_files()
    raws = {f"{f['outlet']['slug']}/{a['slug']}": a for f in files for a in f["articles"]}
    newest = max(_parse_time(a["published"]) for a in raws.values())
    shift = _anchor(now) - _NEWEST_AGE - newest
    outlets: list[Outlet] = []
    articles: list[DemoArticle] = []
    for file in files:
        outlet = _outlet(file["outlet"])
        outlets.append(outlet)
        for raw in file["articles"]:
            articles.append(_article(outlet, raw, raws, shift))
    articles.sort(key=lambda a: (a.published, a.key))
    return tuple(outlets), tuple(articles)


def _anchor(now: datetime | None) -> datetime:
    now = now or datetime.now(UTC)
    if now.tzinfo is None:  # a naive time is taken as UTC, like everywhere in the project
        now = now.replace(tzinfo=UTC)
    # whole seconds, so that Last-Modified (second precision) round-trips exactly
    return now.astimezone(UTC).replace(microsecond=0)


def _article(
    outlet: Outlet, raw: dict[str, Any], raws: dict[str, dict[str, Any]], shift: timedelta
) -> DemoArticle:
    copy_of = raw.get("copy_of")
    # a republished copy takes its body (and byline) from the original, word for word
    source = raws[copy_of] if copy_of else raw
    paragraphs = tuple(source["body"])
    return DemoArticle(
        outlet=outlet,
        slug=raw["slug"],
        event=raw["event"],
        published=_parse_time(raw["published"]) + shift,
        title=raw["title"],
        summary=raw.get("summary") or source.get("summary") or paragraphs[0],
        author=raw.get("author") or source.get("author") or outlet.name,
        section=raw.get("section") or source.get("section") or "News",
        paragraphs=paragraphs,
        credit=raw.get("credit", ""),
        copy_of=copy_of,
    )


# --- rendering: article pages -------------------------------------------------------------


def _layout(name: str) -> Template:
    text = (_data_dir() / "layouts" / f"{name}.html").read_text(encoding="utf-8")
    return Template(text)


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


def render_page(article: DemoArticle, others: list[DemoArticle], base_url: str) -> str:
    """The article's HTML page; ``others`` are the outlet's other articles, newest first."""
    outlet = article.outlet
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
        "date_human": article.published.strftime(_HUMAN_DATES[outlet.layout]),
        "year": str(article.published.year),
        "page_id": hashlib.sha1(url.encode()).hexdigest()[:10],
        "credit": attr(article.credit),
        "jsonld": _jsonld(article, url),
        "body": _body_html(article, others, base_url),
        "sidebar": _link_list(others[:5], base_url, _SIDEBAR_ITEMS.get(outlet.layout, _LI)),
        "related": _link_list(others[1:4], base_url, _LI),
    }
    return _layout(outlet.layout).substitute(values)


_LI = "      <li>{link}</li>"
_SIDEBAR_ITEMS = {
    "divsoup": '<div class="tr-i"><div class="tr-n"></div><div class="tr-a">{link}</div></div>',
}


# --- rendering: feeds ---------------------------------------------------------------------


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
        items.append("    <item>\n      " + "\n      ".join(parts) + "\n    </item>")
    home = f"{base_url}/{outlet.slug}/"
    head = [
        _el("title", outlet.name),
        _el("link", home),
        _el("description", outlet.tagline),
        _el("language", outlet.language),
        _el("lastBuildDate", _rfc822(articles[0].published)),
        _el("ttl", "15"),
        f'<atom:link href="{base_url}{outlet.feed_path}" rel="self" type="application/rss+xml"/>',
    ]
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">\n'
        "  <channel>\n    "
        + "\n    ".join(head)
        + "\n"
        + "\n".join(items)
        + "\n  </channel>\n</rss>\n"
    )


def render_rss10(outlet: Outlet, articles: list[DemoArticle], base_url: str) -> str:
    feed_url = f"{base_url}{outlet.feed_path}"
    links = [_entry_link(a, base_url) for a in articles]
    seq = "\n".join(f"        <rdf:li rdf:resource={quoteattr(link)}/>" for link in links)
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
        items.append(
            f"  <item rdf:about={quoteattr(link)}>\n    " + "\n    ".join(parts) + "\n  </item>"
        )
    channel = [
        _el("title", outlet.name),
        _el("link", f"{base_url}/{outlet.slug}/"),
        _el("description", outlet.tagline),
        _el("dc:language", outlet.language),
        _el("dc:date", articles[0].published.isoformat()),
        f"<items>\n      <rdf:Seq>\n{seq}\n      </rdf:Seq>\n    </items>",
    ]
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        ' xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
        f"  <channel rdf:about={quoteattr(feed_url)}>\n    "
        + "\n    ".join(channel)
        + "\n  </channel>\n"
        + "\n".join(items)
        + "\n</rdf:RDF>\n"
    )


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
        entries.append("  <entry>\n    " + "\n    ".join(parts) + "\n  </entry>")
    head = [
        _el("title", outlet.name),
        _el("subtitle", outlet.tagline),
        f'<link rel="self" href="{base_url}{outlet.feed_path}"/>',
        f'<link rel="alternate" type="text/html" href="{base_url}/{outlet.slug}/"/>',
        _el("id", f"tag:{outlet.slug}.demo,2020:feed"),
        _el("updated", articles[0].published.isoformat()),
    ]
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{outlet.language}">\n  '
        + "\n  ".join(head)
        + "\n"
        + "\n".join(entries)
        + "\n</feed>\n"
    )


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


_FEED_RENDERERS = {
    "rss20": render_rss20,
    "rss10": render_rss10,
    "atom10": render_atom,
    "json11": render_jsonfeed,
}


# --- serving ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Resource:
    body: bytes
    content_type: str
    last_modified: datetime

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'


def _build_resources(
    outlets: tuple[Outlet, ...], articles: tuple[DemoArticle, ...], base_url: str
) -> dict[str, _Resource]:
    res: dict[str, _Resource] = {}
    for outlet in outlets:
        own = sorted(
            (a for a in articles if a.outlet == outlet), key=lambda a: a.published, reverse=True
        )
        feed = _FEED_RENDERERS[outlet.feed_format](outlet, own, base_url)
        res[outlet.feed_path] = _Resource(
            feed.encode("utf-8"), _FEED_TYPES[outlet.feed_format], own[0].published
        )
        for a in own:
            others = [o for o in own if o is not a]
            page = render_page(a, others, base_url)
            res[a.path] = _Resource(page.encode("utf-8"), _HTML_TYPE, a.published)
    newest = max(a.published for a in articles)
    robots = "User-agent: *\nAllow: /\n"
    res["/robots.txt"] = _Resource(robots.encode(), "text/plain; charset=utf-8", newest)
    return res


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    resources: dict[str, _Resource]  # set right after binding, before serving starts
    # (path, status) of every response, for evaluations that count requests
    log: list[tuple[str, int]]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in separate writes; without TCP_NODELAY, Nagle's algorithm and
    # delayed ACKs add ~40 ms to every keep-alive response
    disable_nagle_algorithm = True
    server_version = "DemoNewsSite/1.0"

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # tests and the demo run quietly

    def _respond(self, *, send_body: bool) -> None:
        assert isinstance(self.server, _Server)
        # query strings (tracking parameters) do not change what a page is
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        res = self.server.resources.get(path)
        if res is None:
            self._send(404, b"Not found\n", "text/plain; charset=utf-8", {}, send_body)
            return
        headers = {
            "ETag": res.etag,
            "Last-Modified": format_datetime(res.last_modified, usegmt=True),
            "Cache-Control": "max-age=60",
        }
        if self._not_modified(res):
            self._send(304, b"", None, headers, send_body=False)
            return
        self._send(200, res.body, res.content_type, headers, send_body)

    def _not_modified(self, res: _Resource) -> bool:
        # If-None-Match wins over If-Modified-Since when both are sent (RFC 9110 13.1.3)
        match = self.headers.get("If-None-Match")
        if match is not None:
            tags = {t.strip().removeprefix("W/") for t in match.split(",")}
            return "*" in tags or res.etag in tags
        since = self.headers.get("If-Modified-Since")
        if since is None:
            return False
        try:
            when = parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return res.last_modified <= when

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str | None,
        headers: dict[str, str],
        send_body: bool,
    ) -> None:
        assert isinstance(self.server, _Server)
        self.server.log.append((self.path, status))
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body and body:
            self.wfile.write(body)


class DemoSite:
    """The sample news site on a local address; a context manager that starts and stops it.

    The socket is bound on construction, so ``base_url`` (and the feeds and labels that depend
    on it) are known before :meth:`start`.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, now: datetime | None = None):
        self.outlets, self.articles = load_articles(now)
        self._server = _Server((host, port), _Handler)
        bound_host, bound_port = self._server.server_address[:2]
        host_text = bound_host if isinstance(bound_host, str) else bound_host.decode()
        self.base_url = f"http://{host_text}:{bound_port}"
        self._server.resources = _build_resources(self.outlets, self.articles, self.base_url)
        self._server.log = []
        self._thread: threading.Thread | None = None

    # -- what the site holds

    @property
    def requests(self) -> list[tuple[str, int]]:
        """(path, status) of every response so far."""
        return list(self._server.log)

    def feed_urls(self) -> list[str]:
        return [f"{self.base_url}{o.feed_path}" for o in self.outlets]

    def feeds_yaml(self) -> str:
        """A feeds.yaml text listing every demo outlet's feed."""
        lines = [
            "# Feeds of the aggregator's bundled demo site (sample news written for the project).",
            f"# Served locally at {self.base_url}; generated by aggregator.demo.site.",
            "feeds:",
        ]
        for o in self.outlets:
            lines += [
                f"  - url: {self.base_url}{o.feed_path}",
                f"    name: {json.dumps(o.name)}",
                f"    tags: [{o.region}, {o.language}]",
            ]
        return "\n".join(lines) + "\n"

    def labels(self) -> dict[str, str]:
        """Article page URL (without tracking parameters) -> event label. For evaluation only."""
        return {f"{self.base_url}{a.path}": a.event for a in self.articles}

    def duplicates(self) -> dict[str, str]:
        """Page URL of each verbatim republished copy -> page URL of the original."""
        paths = {a.key: a.path for a in self.articles}
        return {
            f"{self.base_url}{a.path}": f"{self.base_url}{paths[a.copy_of]}"
            for a in self.articles
            if a.copy_of
        }

    # -- lifecycle

    def start(self) -> DemoSite:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},  # so that stop() returns promptly
                name="demo-site",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> DemoSite:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """Serve the demo site in the foreground: ``python -m aggregator.demo.site --port 8765``."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    site = DemoSite(args.host, args.port)
    print(site.feeds_yaml(), flush=True)
    try:
        site._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        site._server.server_close()


if __name__ == "__main__":
    main()
