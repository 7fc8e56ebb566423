"""Generated news for the benchmarks: feeds and article pages, and a fast server for them.

Everything is derived from the request path, so the server keeps no state but counters and
any number of feeds costs nothing to "create":

    /f/<round>/<feed>-<items>.xml     RSS 2.0 feed <feed> of round <round> with <items> entries
    /a/<round>/<feed>/<item>.html     the article page of one entry
    /_stats                           JSON: requests by kind, the server's CPU seconds
    /_prerender/<round>/<feeds>-<items>   render that round's feeds and pages now, so that
                                      serving them later costs the server only the sending
                                      (a real outlet's server is not on our machine)
    /_prerender/<round>/<feeds>-<items>/feeds   ... its feeds only

Articles come in events: in each round, feeds 4k..4k+3 report event (k, item), so stories
gather about four outlets; every fourth feed runs wire copy (a near-duplicate of its group's
first article with a new opening line). Pages look like news sites: navigation, scripts,
a byline, 6-9 paragraphs (~330 words), related teasers, reader comments and a footer (~90 KB;
the real pages of ../shared/corpus/pages have a median of 180 KB, mostly script).

The server (``python bench/gen.py serve --hosts 50``) is plain asyncio HTTP/1.1 with
keep-alive, answers ETag / Last-Modified validators with 304, listens on 127.0.1.1 ..
127.0.1.<hosts> (one port for all) so that per-host politeness can be spread the way many
outlets spread it, and prints its port on stdout. It runs in its own process, so its CPU is
not the aggregator's and bench.py reports it apart.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import hashlib
import json
import random
import re
import socket
import sys
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape

# the generated news happens in the hour before this instant (pages and feeds agree on it)
EPOCH = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
GROUP = 4  # outlets per event
_SYLLABLES = [
    "ka",
    "ri",
    "to",
    "mu",
    "sen",
    "da",
    "lo",
    "vi",
    "ne",
    "ar",
    "tis",
    "bel",
    "gor",
    "han",
    "mi",
    "pe",
    "sul",
    "ran",
    "dor",
    "fe",
    "li",
    "qua",
    "zen",
    "ob",
    "ut",
    "ster",
    "mon",
    "cal",
    "dri",
    "pha",
    "ven",
]
_FUNCTION = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "a",
    "is",
    "that",
    "for",
    "on",
    "was",
    "with",
    "he",
    "it",
    "as",
    "at",
    "by",
    "from",
    "his",
    "an",
    "be",
    "has",
    "had",
    "said",
    "were",
    "which",
    "are",
    "this",
    "but",
    "have",
    "not",
    "they",
    "after",
    "who",
    "been",
    "its",
    "their",
    "more",
    "also",
    "one",
    "two",
]
_FEED_PATH = re.compile(r"^/f/(\d+)/(\d+)-(\d+)\.xml$")
_PAGE_PATH = re.compile(r"^/a/(\d+)/(\d+)/(\d+)\.html$")
_PRERENDER_PATH = re.compile(r"^/_prerender/(\d+)/(\d+)-(\d+)(/feeds)?$")


# --- text ------------------------------------------------------------------------------------


@functools.cache
def vocabulary() -> tuple[str, ...]:
    """3,000 pseudo-words, deterministic (frequent ones first: draws are skewed to the start)."""
    rng = random.Random(1)
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < 3000:
        word = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return tuple(words)


def _rng(*parts: object) -> random.Random:
    digest = hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


@functools.lru_cache(maxsize=4096)
def event_terms(round_: int, group: int, item: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(names, topic words) of one event: what its articles share."""
    rng = _rng("event", round_, group, item)
    words = vocabulary()
    names = tuple(rng.choice(words).capitalize() for _ in range(4))
    topic = tuple(rng.choice(words) for _ in range(10))
    return names, topic


def _sentence(rng: random.Random, names: tuple[str, ...], topic: tuple[str, ...]) -> str:
    words = vocabulary()
    out = []
    for _ in range(rng.randint(12, 22)):
        roll = rng.random()
        if roll < 0.35:
            out.append(rng.choice(_FUNCTION))
        elif roll < 0.50:
            out.append(rng.choice(topic))
        elif roll < 0.56:
            out.append(rng.choice(names))
        else:
            out.append(words[int(len(words) * rng.random() ** 2)])  # Zipf-like
    return " ".join(out).capitalize() + "."


@functools.lru_cache(maxsize=8192)
def article(round_: int, feed: int, item: int) -> tuple[str, list[str]]:
    """(headline, paragraphs) of one article."""
    group = feed // GROUP
    names, topic = event_terms(round_, group, item)
    wire = feed % GROUP == GROUP - 1
    # a wire copy repeats the group's first outlet word for word, after its own opening line
    source = group * GROUP if wire else feed
    rng = _rng("article", round_, source, item)
    headline = f"{names[0]} {' '.join(topic[:4])} {names[1]}".capitalize()
    if not wire:
        headline = f"{headline} {rng.choice(topic[4:])}"
    paragraphs = [
        " ".join(_sentence(rng, names, topic) for _ in range(rng.randint(2, 4)))
        for _ in range(rng.randint(6, 9))
    ]
    if wire:
        opener = _rng("opener", round_, feed, item)
        paragraphs[0] = _sentence(opener, names, topic)
    return headline, paragraphs


def published(round_: int, feed: int, item: int) -> datetime:
    """Publication time: within the hour before EPOCH + round hours; later items are newer."""
    base = EPOCH + timedelta(hours=round_)
    return base - timedelta(seconds=(feed * 37 + (50 - item) * 61) % 3600)


# --- documents -----------------------------------------------------------------------------


def host_of(feed: int, hosts: int) -> str:
    return f"127.0.1.{1 + feed % hosts}"


def feed_url(round_: int, feed: int, items: int, *, hosts: int, port: int) -> str:
    return f"http://{host_of(feed, hosts)}:{port}/f/{round_}/{feed}-{items}.xml"


def feed_xml(round_: int, feed: int, items: int, base: str) -> bytes:
    """An RSS 2.0 feed: title, link, guid, date, author and a summary of each entry."""
    entries = []
    for item in range(items):
        headline, paragraphs = article(round_, feed, item)
        link = f"{base}/a/{round_}/{feed}/{item}.html"
        summary = " ".join(paragraphs[0].split()[:45]) + "…"
        entries.append(
            "<item>"
            f"<title>{escape(headline)}</title><link>{link}</link>"
            f'<guid isPermaLink="false">r{round_}-f{feed}-i{item}</guid>'
            f"<pubDate>{format_datetime(published(round_, feed, item), usegmt=True)}</pubDate>"
            f"<author>desk{feed}@outlet{feed}.example (News desk)</author>"
            f"<category>world</category><description>{escape(summary)}</description>"
            "</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>Outlet {feed}</title><link>{base}/</link>"
        f"<description>News from outlet {feed}</description><language>en</language>"
        + "".join(entries)
        + "</channel></rss>"
    ).encode()


def _links(rng: random.Random, base: str, count: int, prefix: str) -> str:
    words = vocabulary()
    return "".join(
        f'<li><a href="{base}/{prefix}/{rng.randrange(10**6)}">'
        f"{' '.join(rng.choice(words) for _ in range(rng.randint(1, 3))).title()}</a></li>"
        for _ in range(count)
    )


def _teasers(rng: random.Random, base: str, count: int) -> str:
    words = vocabulary()
    return "".join(
        f'<div class="teaser"><a href="{base}/story/{rng.randrange(10**6)}">'
        f"{' '.join(rng.choice(words) for _ in range(6)).capitalize()}</a>"
        f"<p>{' '.join(rng.choice(words) for _ in range(22)).capitalize()}.</p></div>"
        for _ in range(count)
    )


def _comments(rng: random.Random, count: int) -> str:
    words = vocabulary()
    return "".join(
        f'<div class="comment"><span class="user">reader{rng.randrange(999)}</span>'
        f"<p>{' '.join(rng.choice(words) for _ in range(rng.randint(8, 30))).capitalize()}.</p></div>"
        for _ in range(count)
    )


@functools.lru_cache(maxsize=1024)
def _furniture(feed: int, base: str) -> tuple[str, str, str]:
    """(head, top, bottom) of an outlet's pages: the same on every page, as on real sites."""
    rng = _rng("site", feed)
    script = "var cfg = {" + ",".join(f'"k{i}": {rng.randrange(10**9)}' for i in range(2500)) + "};"
    style = "".join(f".c{i}{{margin:{i % 9}px;color:#{i:06x}}}" for i in range(400))
    head = (
        f'<link rel="stylesheet" href="/static/site.css"><script>{script}</script>'
        f"<style>{style}</style>"
    )
    top = (
        f'<header class="site-header"><div class="logo"><a href="{base}/">Outlet {feed}</a></div>'
        f'<nav class="nav"><ul>{_links(rng, base, 120, "section")}</ul></nav></header>'
        '<div class="promo" aria-hidden="true">Subscribe today for unlimited access</div>'
    )
    bottom = (
        f'<aside class="related"><h2>Related stories</h2>{_teasers(rng, base, 12)}</aside>'
        f'<section class="comments"><h2>Comments</h2>{_comments(rng, 8)}</section></main>'
        f"<footer><ul>{_links(rng, base, 40, 'about')}</ul>"
        f"<p>© 2026 Outlet {feed}. All rights reserved.</p></footer>"
    )
    return head, top, bottom


def page_html(round_: int, feed: int, item: int, base: str) -> bytes:
    """An article page with the furniture of a real news site around the article (~80 KB;
    real pages are larger still, mostly script)."""
    headline, paragraphs = article(round_, feed, item)
    head, top, bottom = _furniture(feed, base)
    when = published(round_, feed, item).isoformat()
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    ld = json.dumps({"@type": "NewsArticle", "headline": headline, "datePublished": when})
    title = escape(headline)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} | Outlet {feed}</title>
<meta property="og:title" content="{title}"><meta property="og:type" content="article">
<meta property="article:published_time" content="{when}">
<meta name="author" content="Reporter {feed % 17}">
<script type="application/ld+json">{ld}</script>{head}</head>
<body>{top}<main><article class="story"><h1>{title}</h1>
<p class="byline">By Reporter {feed % 17} · <time datetime="{when}">{when}</time></p>
<div class="story-body">{body}</div></article>{bottom}</body></html>""".encode()


def etag_of(path: str) -> str:
    # the documents are a pure function of the path, so the path names the version
    return '"' + hashlib.blake2b(path.encode(), digest_size=8).hexdigest() + '"'


# --- the server ------------------------------------------------------------------------------


class Counters:
    def __init__(self) -> None:
        self.kinds: dict[str, int] = {}

    def count(self, kind: str) -> None:
        self.kinds[kind] = self.kinds.get(kind, 0) + 1


LAST_MODIFIED = format_datetime(EPOCH, usegmt=True)


# (host, path) -> body, filled by /_prerender (one round at a time)
RENDERED: dict[tuple[str, str], bytes] = {}


def prerender(
    round_: int, feeds: int, items: int, *, hosts: int, port: int, pages: bool = True
) -> int:
    RENDERED.clear()
    for feed in range(feeds):
        host = f"{host_of(feed, hosts)}:{port}"
        base = f"http://{host}"
        RENDERED[(host, f"/f/{round_}/{feed}-{items}.xml")] = feed_xml(round_, feed, items, base)
        for item in range(items if pages else 0):
            RENDERED[(host, f"/a/{round_}/{feed}/{item}.html")] = page_html(
                round_, feed, item, base
            )
    return len(RENDERED)


def respond(
    path: str, headers: dict[str, str], host: str, counters: Counters, *, hosts: int, port: int
) -> bytes:
    """The whole HTTP response (head and body) for one GET."""
    base = f"http://{host}"
    if path == "/_stats":
        stats = {**counters.kinds, "cpu": time.process_time()}
        return _response(200, "application/json", json.dumps(stats).encode())
    prerender_match = _PRERENDER_PATH.match(path)
    if prerender_match:
        round_, feeds, items = map(int, prerender_match.groups()[:3])
        pages = prerender_match.group(4) is None
        rendered = prerender(round_, feeds, items, hosts=hosts, port=port, pages=pages)
        return _response(200, "application/json", json.dumps({"rendered": rendered}).encode())
    feed_match = _FEED_PATH.match(path)
    page_match = _PAGE_PATH.match(path)
    if feed_match is None and page_match is None:
        counters.count("not_found")
        return _response(404, "text/plain", b"not found")
    tag = etag_of(path)
    kind = "feed" if feed_match else "page"
    if headers.get("if-none-match") == tag:
        counters.count(f"{kind}_304")
        return _response(304, "", b"", etag=tag)
    counters.count(f"{kind}_200")
    body = RENDERED.get((host, path))
    if body is None and feed_match:
        round_, feed, items = map(int, feed_match.groups())
        body = feed_xml(round_, feed, items, base)
    elif body is None:
        assert page_match is not None
        round_, feed, item = map(int, page_match.groups())
        body = page_html(round_, feed, item, base)
    ctype = "application/rss+xml" if feed_match else "text/html; charset=utf-8"
    return _response(200, ctype, body, etag=tag)


def _response(status: int, ctype: str, body: bytes, *, etag: str | None = None) -> bytes:
    reason = {200: "OK", 304: "Not Modified", 404: "Not Found"}[status]
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}"]
    if ctype:
        lines.append(f"Content-Type: {ctype}")
    if etag:
        lines += [f"ETag: {etag}", f"Last-Modified: {LAST_MODIFIED}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _handle(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    counters: Counters,
    hosts: int,
    port: int,
) -> None:
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            lines = head.decode("latin-1").split("\r\n")
            _method, target, _version = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            host = headers.get("host", "127.0.0.1")
            path = target.split("?", 1)[0]
            writer.write(respond(path, headers, host, counters, hosts=hosts, port=port))
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                return
    except (ConnectionError, ValueError):
        return
    finally:
        writer.close()


def bind_hosts(hosts: int) -> list[socket.socket]:
    """Listening sockets on 127.0.1.1 .. 127.0.1.<hosts>, all on one port."""
    first = socket.create_server(("127.0.1.1", 0), backlog=1024)
    port = first.getsockname()[1]
    return [first] + [
        socket.create_server((f"127.0.1.{i}", port), backlog=1024) for i in range(2, hosts + 1)
    ]


async def serve(hosts: int) -> None:
    counters = Counters()
    sockets = bind_hosts(hosts)
    port = sockets[0].getsockname()[1]
    handle = functools.partial(_handle, counters=counters, hosts=hosts, port=port)
    servers = [await asyncio.start_server(handle, sock=sock) for sock in sockets]
    print(sockets[0].getsockname()[1], flush=True)
    # stop when the parent closes our stdin (it ended, or it is done with us)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    for server in servers:
        server.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="serve generated feeds and pages until stdin closes")
    p.add_argument("--hosts", type=int, default=50, help="listen on 127.0.1.1 .. 127.0.1.N")
    p = sub.add_parser("show", help="print one generated document")
    p.add_argument("path", help="e.g. /f/0/3-10.xml or /a/0/3/1.html")
    args = parser.parse_args(argv)
    if args.command == "serve":
        if not 1 <= args.hosts <= 254:
            parser.error("--hosts must be 1..254")
        asyncio.run(serve(args.hosts))
        return 0
    response = respond(args.path, {}, "127.0.1.1:8000", Counters(), hosts=50, port=8000)
    sys.stdout.write(response.split(b"\r\n\r\n", 1)[1].decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
