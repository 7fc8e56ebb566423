"""The hostile world of tests/e2e/test_hostile_run.py (also used at full size by bench/soak.py):
synthetic articles, RSS writing, hostile payloads and servers, and the store soundness checks
the crash, concurrency and soak runs share."""

from __future__ import annotations

import contextlib
import json
import random
import socket
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path
from types import TracebackType

from tests.support.hostile_server import HostileServer
from tests.support.localsite import LocalSite

# ----------------------------------------------------------------------------- content


def _pseudo_words(count: int, seed: int = 3) -> list[str]:
    """Made-up words: articles drawn from a large vocabulary share little but stop words."""
    rng = random.Random(seed)
    onsets, vowels = "bcdfghjklmnprstvwz", "aeiou"
    words = {
        "".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(rng.randint(2, 4)))
        for _ in range(count)
    }
    return sorted(words)


_WORDS = _pseudo_words(20_000)
_GLUE = ["the", "of", "and", "in", "to", "on", "for", "with", "at", "by", "from", "after"]


def synthetic_article(tag: str, i: int) -> tuple[str, list[str]]:
    """A title and paragraphs unlike any other article's (their own seeded words), so the
    clusterer gives each article a story of its own."""
    rng = random.Random(f"{tag}-{i}")
    topic = [w.title() for w in rng.sample(_WORDS, 5)]
    title = f"{topic[0]} {topic[1]} says {topic[2]} will visit {topic[3]} in {topic[4]}"
    paragraphs = []
    for p in range(4):
        words = [*topic, *rng.sample(_WORDS, 20)]
        rng.shuffle(words)
        sentence = [w if k % 3 else f"{w} {rng.choice(_GLUE)}" for k, w in enumerate(words)]
        paragraphs.append(" ".join(sentence).capitalize() + f" (ref {tag}-{i}-{p}).")
    return title, paragraphs


def article_page(title: str, paragraphs: list[str]) -> str:
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return (
        f"<!doctype html><html lang='en'><head><title>{escape(title)}</title></head><body>"
        f"<nav>Home | World | Sport</nav><article><h1>{escape(title)}</h1>{body}</article>"
        "<footer>Copyright</footer></body></html>"
    )


@dataclass(frozen=True)
class Item:
    title: str
    link: str | None
    guid: str
    description: str
    published: str = "Tue, 10 Nov 2026 07:10:00 GMT"


def rss(title: str, items: list[Item]) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>',
        f"<title>{escape(title)}</title><link>http://example.test/</link>",
        "<description>fixture</description>",
    ]
    for it in items:
        link = f"<link>{escape(it.link)}</link>" if it.link else ""
        parts.append(
            f"<item><title>{escape(it.title)}</title>{link}"
            f'<guid isPermaLink="false">{escape(it.guid)}</guid>'
            f"<pubDate>{it.published}</pubDate>"
            f"<description>{escape(it.description)}</description></item>"
        )
    parts.append("</channel></rss>\n")
    return "".join(parts).encode("utf-8")


def publish_outlet(site: LocalSite, tag: str, count: int, *, start: int = 0) -> tuple[str, list]:
    """A feed of `count` synthetic articles with their pages on `site`; (feed URL, guids)."""
    items = []
    for i in range(start, start + count):
        title, paragraphs = synthetic_article(tag, i)
        link = site.add(f"/{tag}/{i}.html", article_page(title, paragraphs))
        minute = i % 60
        hour = (i // 60) % 24
        published = f"Tue, 10 Nov 2026 {hour:02d}:{minute:02d}:00 GMT"
        items.append(Item(title, link, f"{tag}-{i}", paragraphs[0], published))
    feed_url = site.add(f"/{tag}.xml", rss(f"{tag} outlet", items), "application/rss+xml")
    return feed_url, [it.guid for it in items]


# hostile documents


def entity_bomb() -> bytes:
    lol = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    )
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss [{lol}]>\n<rss version="2.0"><channel>'
        "<title>laughs</title><item><title>&lol9;</title><guid>bomb-1</guid>"
        "<description>&lol9;</description></item></channel></rss>"
    ).encode()


def external_entities(secret: Path) -> bytes:
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">'
        f'<!ENTITY % p SYSTEM "file://{secret}"> %p;]>\n'
        '<rss version="2.0"><channel><title>xxe</title>'
        "<item><title>leak &xxe; here</title><guid>xxe-1</guid>"
        "<description>secret: &xxe;</description></item></channel></rss>"
    ).encode()


def binary_garbage(size: int) -> bytes:
    return random.Random(7).randbytes(size)


def invalid_utf8() -> bytes:
    # declared UTF-8, with lone continuation bytes, an overlong form and a truncated sequence
    return (
        b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>bad \xff'
        b"</title><item><title>caf\xc3 \x80\xc0\xaf broken \xe2\x82</title><guid>utf8-1</guid>"
        b"<description>text \xfe\xfe end</description></item></channel></rss>"
    )


def huge_feed(site_url: str, entries: int) -> bytes:
    """`entries` short items linking to pages on the feed's own host (50,000 fit in 10 MB)."""
    items = "".join(
        f"<item><title>Entry {i} of a huge feed</title><link>{site_url}/h/{i}</link>"
        f"<guid>huge-{i}</guid></item>"
        for i in range(entries)
    )
    return f'<rss version="2.0"><channel><title>huge</title>{items}</channel></rss>'.encode()


def nested_html(depth: int) -> bytes:
    return (
        b"<!doctype html><html><head><title>deep</title></head><body>"
        + b"<div><span>" * depth
        + b"deep text"
        + b"</span></div>" * (depth // 2)  # and never all closed
        + b"</body></html>"
    )


class Tarpit:
    """Answers headers and the start of a page, then keeps the connection open and silent
    until stopped: "a page that never closes its connection"."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.stopped = threading.Event()
        self.connections = 0
        self._sock = socket.create_server((host, 0))
        self._sock.settimeout(0.1)
        self.port = int(self._sock.getsockname()[1])
        self._thread = threading.Thread(target=self._serve, daemon=True, name=f"tarpit-{host}")

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._hold, args=(conn,), daemon=True).start()

    def _hold(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.settimeout(5)
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html><body><p>Hello")
            self.stopped.wait()

    def __enter__(self) -> Tarpit:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self._sock.close()
        self._thread.join(timeout=5)


# ----------------------------------------------------------------------------- the world


@dataclass
class HostileWorld:
    """Every server of the hostile run; a context manager that starts and stops them all.

    `good_feeds` x `per_feed` ordinary articles on 127.0.0.2; `huge_entries` in the huge feed
    (50,000 in the soak); `garbage_bytes` of random bytes served as a feed.
    """

    workdir: Path
    good_feeds: int = 3
    per_feed: int = 8
    huge_entries: int = 5_000
    garbage_bytes: int = 10_000_000  # 10 MB: exactly the default max_feed_bytes, so it is parsed
    nesting: int = 100_000
    feeds: list[tuple[str, str]] = field(default_factory=list)  # (name, url) for feeds.yaml
    good_guids: list[str] = field(default_factory=list)
    page_attack_guids: dict[str, str] = field(default_factory=dict)  # guid -> attack name
    feed_attacks: dict[str, str] = field(default_factory=dict)  # url -> attack name
    sites: dict[str, LocalSite] = field(default_factory=dict)  # attack name -> its static site
    secret: str = "CANARY-d41d8cd9"
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def __enter__(self) -> HostileWorld:
        try:
            self._build()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stack.close()

    def _start(self, server):  # noqa: ANN001, ANN202 - any of the three server kinds
        return self._stack.enter_context(server)

    def _build(self) -> None:
        good = self._start(LocalSite("127.0.0.2"))
        for k in range(self.good_feeds):
            url, guids = publish_outlet(good, f"good{k}", self.per_feed)
            self.feeds.append((f"Good {k}", url))
            self.good_guids += guids
        secret_file = self.workdir / "secret.txt"
        secret_file.write_text(self.secret)
        for k, (name, make) in enumerate(self._attacks(secret_file)):
            host = f"127.0.0.{10 + k}"
            hostile = self._start(HostileServer(host))
            static = self._start(LocalSite(host))
            tarpit = self._start(Tarpit(host))
            target = make(hostile, static, tarpit)
            self.sites[name] = static
            self.feeds.append((f"Feed attack {name}", target))
            self.feed_attacks[target] = name
            # the same behaviour as an article page, listed by an honest feed on its host
            guid = f"page-attack-{name}"
            title = f"An article whose page is the {name} attack"
            item = Item(title, target, guid, f"Feed text kept when the {name} page fails.")
            feed = static.add("/links.xml", rss(f"links {name}", [item]), "application/rss+xml")
            self.feeds.append((f"Page attack {name}", feed))
            self.page_attack_guids[guid] = name

    def _attacks(self, secret: Path) -> list[tuple[str, object]]:
        garbage = binary_garbage(self.garbage_bytes)
        return [
            ("drip", lambda h, s, t: h.url("/drip?bytes=100000")),
            ("endless", lambda h, s, t: h.url("/endless")),
            ("gzip-bomb", lambda h, s, t: h.url("/gzip-bomb")),
            ("brotli-bomb", lambda h, s, t: h.url("/brotli-bomb")),
            ("redirect-loop", lambda h, s, t: h.url("/loop/a")),
            ("stall", lambda h, s, t: h.url("/stall?seconds=100000")),
            ("never-closes", lambda h, s, t: t.url("/article")),
            ("429", lambda h, s, t: h.url("/status/429?retry_after=3600")),
            ("entity-bomb", lambda h, s, t: s.add("/bomb.xml", entity_bomb(), "application/xml")),
            (
                "external-entities",
                lambda h, s, t: s.add("/xxe.xml", external_entities(secret), "application/xml"),
            ),
            (
                "binary-garbage",
                lambda h, s, t: s.add("/garbage", garbage, "application/rss+xml"),
            ),
            ("invalid-utf8", lambda h, s, t: s.add("/bad-utf8.xml", invalid_utf8(), "text/xml")),
            (
                "huge-feed",
                lambda h, s, t: s.add(
                    "/huge.xml", huge_feed(s.base_url, self.huge_entries), "application/rss+xml"
                ),
            ),
            (
                "deep-nesting",
                lambda h, s, t: s.add("/deep.html", nested_html(self.nesting), "text/html"),
            ),
        ]

    def config(self, path: Path, *, settings: dict[str, str] | None = None) -> Path:
        lines = ["feeds:"]
        for name, url in self.feeds:
            lines += [f"  - url: {json.dumps(url)}", f"    name: {json.dumps(name)}"]
        lines.append("settings:")
        for key, value in (settings or {}).items():
            lines.append(f"  {key}: {value}")
        if not settings:
            lines.append("  log_level: warning")
        path.write_text("\n".join(lines) + "\n")
        return path


# ----------------------------------------------------------------------------- checks


def check_store(db: Path) -> dict[str, int]:
    """Integrity and orphan counts of a store (all must be "ok"/0 for a sound store)."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        one = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "integrity_ok": int(one("PRAGMA integrity_check") == "ok"),
            "foreign_key_violations": len(conn.execute("PRAGMA foreign_key_check").fetchall()),
            "articles": one("SELECT count(*) FROM articles"),
            "duplicate_keys": one(
                "SELECT count(*) FROM (SELECT key FROM articles GROUP BY key HAVING count(*) > 1)"
            ),
            "duplicate_guids": one(
                "SELECT count(*) FROM (SELECT guid FROM articles WHERE guid IS NOT NULL "
                "GROUP BY feed_url, guid HAVING count(*) > 1)"
            ),
            "articles_without_story": one(
                "SELECT count(*) FROM articles a WHERE a.story_id IS NULL "
                "OR NOT EXISTS (SELECT 1 FROM stories s WHERE s.id = a.story_id)"
            ),
            "articles_in_merged_story": one(
                "SELECT count(*) FROM articles a JOIN stories s ON s.id = a.story_id "
                "WHERE s.merged_into IS NOT NULL"
            ),
            "orphan_listings": one(
                "SELECT count(*) FROM article_feeds f "
                "WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.id = f.article_id)"
            ),
            "articles_without_listing": one(
                "SELECT count(*) FROM articles a WHERE a.feed_url IS NOT NULL AND NOT EXISTS "
                "(SELECT 1 FROM article_feeds f WHERE f.article_id = a.id)"
            ),
            "dangling_duplicates": one(
                "SELECT count(*) FROM articles a WHERE a.duplicate_of IS NOT NULL AND NOT EXISTS "
                "(SELECT 1 FROM articles d WHERE d.id = a.duplicate_of)"
            ),
            "empty_live_stories": one(
                "SELECT count(*) FROM stories s WHERE s.merged_into IS NULL AND NOT EXISTS "
                "(SELECT 1 FROM articles a WHERE a.story_id = s.id)"
            ),
        }


SOUND = {
    "integrity_ok": 1,
    "foreign_key_violations": 0,
    "duplicate_keys": 0,
    "duplicate_guids": 0,
    "articles_without_story": 0,
    "articles_in_merged_story": 0,
    "orphan_listings": 0,
    "articles_without_listing": 0,
    "dangling_duplicates": 0,
    "empty_live_stories": 0,
}


def unsound(checks: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in checks.items() if k in SOUND and v != SOUND[k]}


def publish_archive(site: LocalSite, entries: int) -> None:
    """One feed (/feed.xml) of ``entries`` new entries, an hour apart, each with its page
    (/post/N.html): the first poll of an archive feed, past the per-poll page cap."""
    start = datetime(2026, 11, 1, tzinfo=UTC)
    items = []
    for i in range(entries):
        title, paragraphs = synthetic_article("archive", i)
        path = f"/post/{i}.html"
        site.add(path, article_page(title, paragraphs))
        when = format_datetime(start + timedelta(hours=i))
        items.append(Item(title, site.url(path), f"post-{i}", paragraphs[0][:80], when))
    site.add("/feed.xml", rss("Archive", items), "application/rss+xml")
