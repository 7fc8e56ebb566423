"""One `aggregator run --once` against a world of hostile servers and feeds (issue: "prove it
holds"). Every server listens on a 127.x address of its own, started here.

The world (also used by bench/soak.py at full size):

    127.0.0.2             good outlets: feeds whose items link to ordinary article pages
    127.0.0.<10+k>        one hostile behaviour k each, served twice:
                            as a feed listed in feeds.yaml            (the fetch/parse of feeds)
                            as the page of an item of a small feed    (the fetch/extract of pages)
                          on the same address, so the address guard lets the page through

The run must end in bounded time (< 3 minutes, the issue's figure), under 1 GiB of memory for
the whole process tree, and still store every good entry. This module also holds the helpers
the crash, concurrency and soak runs share: synthetic articles, RSS writing, and a subprocess
runner that measures wall time and peak memory.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from types import TracebackType

import pytest

from aggregator.pipeline import MAX_PAGES_PER_POLL
from tests.support.hostile_server import HostileServer
from tests.support.localsite import LocalSite

ROOT = Path(__file__).resolve().parents[2]
GiB = 1024**3
RUN_LIMIT_SECONDS = 180  # the bound for one pass over the hostile world

# ----------------------------------------------------------------------------- running


@dataclass
class Measured:
    """A finished `aggregator` subprocess with its wall time and peak memory."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    maxrss: int  # bytes: ru_maxrss of the child and the descendants it reaped (wait4)
    tree_rss: int  # bytes: the largest sum of RSS over the child's whole process tree, sampled


def aggregator_env() -> dict[str, str]:
    # proxies from the environment must never see 127.x traffic
    return {**os.environ, "NO_PROXY": "*", "no_proxy": "*", "PYTHONPATH": str(ROOT)}


def aggregator_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "aggregator", *args]


def _tree_rss(root: int) -> int:
    """Sum of RSS (bytes) of `root` and every descendant, read from /proc (0 when gone)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry), int(stat[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(stat[21]) * page
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, ()))
    return total


def run_measured(args: list[str], *, timeout: float, sample: float = 0.25) -> Measured:
    """Run `aggregator *args`, sampling the process tree's memory until it exits.

    The timeout is a safety net (the child is killed and the call raises), not a measurement.
    """
    started = time.monotonic()
    with (
        open(os.devnull, "rb") as stdin,
        _temp_output() as out,
        _temp_output() as err,
    ):
        proc = subprocess.Popen(
            aggregator_cmd(*args), stdin=stdin, stdout=out, stderr=err, env=aggregator_env()
        )
        peak_tree = 0
        rusage = None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                rusage, proc.returncode = usage, os.waitstatus_to_exitcode(status)
                break
            peak_tree = max(peak_tree, _tree_rss(proc.pid))
            if time.monotonic() - started > timeout:
                proc.kill()
                proc.wait()
                raise AssertionError(f"aggregator {args} still running after {timeout:.0f}s")
            time.sleep(sample)
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    return Measured(
        proc.returncode, stdout, stderr, seconds, rusage.ru_maxrss * 1024, max(peak_tree, 1)
    )


@contextlib.contextmanager
def _temp_output():  # noqa: ANN202 - a file object
    import tempfile

    with tempfile.TemporaryFile() as f:
        yield f


def export_records(storage: Path) -> list[dict]:
    result = subprocess.run(
        aggregator_cmd("export", "--storage", str(storage)),
        capture_output=True,
        text=True,
        timeout=120,
        env=aggregator_env(),
        check=True,
    )
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


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


# ----------------------------------------------------------------------------- the test

# a shorter response deadline than the default 20 s keeps the suite quick; the soak runs
# the same world with the defaults
TEST_SETTINGS = {"timeout": "8s", "host_delay": "0s", "per_host": "4", "log_level": "warning"}


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    workdir = tmp_path_factory.mktemp("hostile")
    with HostileWorld(workdir, huge_entries=2_000) as world:
        config = world.config(workdir / "feeds.yaml", settings=TEST_SETTINGS)
        storage = workdir / "store"
        run = run_measured(
            ["run", "--once", "--config", str(config), "--storage", str(storage)],
            timeout=RUN_LIMIT_SECONDS + 60,
        )
        records = export_records(storage) if run.returncode == 0 else []
        yield world, run, records, storage


def test_run_over_every_hostile_server_ends_in_bounded_time_and_memory(hostile_run) -> None:
    world, run, records, storage = hostile_run
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.seconds < RUN_LIMIT_SECONDS, f"took {run.seconds:.0f}s"
    assert run.maxrss < GiB and run.tree_rss < GiB, (run.maxrss, run.tree_rss)
    assert f"polled {len(world.feeds)} feeds" in run.stdout


def test_good_feeds_are_stored_in_full(hostile_run) -> None:
    world, run, records, storage = hostile_run
    by_guid = {r["guid"]: r for r in records}
    missing = [g for g in world.good_guids if g not in by_guid]
    assert not missing
    # the good pages were fetched and extracted despite their hostile neighbours
    assert all(by_guid[g]["text_source"] == "page" for g in world.good_guids)


def test_items_whose_page_is_hostile_keep_the_feeds_text(hostile_run) -> None:
    world, run, records, storage = hostile_run
    by_guid = {r["guid"]: r for r in records}
    for guid, attack in world.page_attack_guids.items():
        assert guid in by_guid, attack
        record = by_guid[guid]
        if attack != "deep-nesting":  # a deep page is valid HTML: extraction may succeed
            assert record["text_source"] == "feed", (attack, record["text"][:200])
        assert len(record["text"]) < 100_000, attack


def test_hostile_feeds_fail_alone_and_leak_nothing(hostile_run) -> None:
    world, run, records, storage = hostile_run
    status = json.loads(
        subprocess.run(
            aggregator_cmd("status", "--storage", str(storage), "--json"),
            capture_output=True,
            text=True,
            timeout=60,
            env=aggregator_env(),
            check=True,
        ).stdout
    )
    feeds = {f["url"]: f for f in status["feeds"]}
    assert len(feeds) == len(world.feeds)
    must_fail = {
        "drip",
        "endless",
        "gzip-bomb",
        "brotli-bomb",
        "redirect-loop",
        "stall",
        "never-closes",
        "429",
        "binary-garbage",
        "deep-nesting",
    }
    for url, attack in world.feed_attacks.items():
        if attack in must_fail:
            assert feeds[url]["error_count"] == 1, (attack, feeds[url])
    assert world.secret not in json.dumps(records)
    texts = [r["title"] + r["text"] for r in records]
    assert not any("lollollol" in t for t in texts)
    huge = next(u for u, a in world.feed_attacks.items() if a == "huge-feed")
    assert sum(1 for r in records if r["feed"] == huge) == world.huge_entries
    # every entry is stored, but only the newest get their page fetched (politeness would
    # otherwise hold the run for one host_delay per entry)
    assert world.sites["huge-feed"].count("/h/") == MAX_PAGES_PER_POLL


def test_store_is_sound_after_the_hostile_run(hostile_run) -> None:
    world, run, records, storage = hostile_run
    assert not unsound(check_store(storage / "aggregator.sqlite3"))


# ----------------------------------------------------------------------------- address guard


class _V6Site(LocalSite):
    """LocalSite on [::1]: the stdlib server binds IPv4 unless its class says otherwise."""

    def __init__(self) -> None:
        import tests.support.localsite as localsite

        class V6Server(localsite.ThreadingHTTPServer):
            address_family = socket.AF_INET6

        original = localsite.ThreadingHTTPServer
        localsite.ThreadingHTTPServer = V6Server  # type: ignore[misc]
        try:
            super().__init__("::1")
        finally:
            localsite.ThreadingHTTPServer = original  # type: ignore[misc]
        self.base_url = f"http://[::1]:{self.server.server_address[1]}"


def guard_feed(feed_site: LocalSite, targets: dict[str, str]) -> str:
    items = [
        Item(f"Link to {name}", url, f"guard-{name}", f"Feed text of the {name} item.")
        for name, url in targets.items()
    ]
    return feed_site.add("/guarded.xml", rss("guard", items), "application/rss+xml")


def test_article_links_never_reach_a_guarded_host(tmp_path: Path) -> None:
    """A feed on 127.0.0.6 links to other local hosts; none of them may get a request."""
    with (
        LocalSite("127.0.0.6") as feed_site,
        HostileServer("127.0.0.5") as other,
        HostileServer("127.0.0.1") as loopback,
        _V6Site() as v6,
    ):
        v6.add("/page", article_page("v6", ["ipv6 page"]))
        # a same-host page that redirects to the guarded host: only its first hop is allowed
        bounce = feed_site.url("/bounce")
        targets = {
            "other-127-host": other.url("/page"),
            "localhost": f"http://localhost:{loopback.port}/page",
            "ipv6-loopback": v6.url("/page"),
            "file": "file:///etc/passwd",
            "javascript": "javascript:alert(1)",
            "same-host-redirect": bounce,
        }
        feed = guard_feed(feed_site, targets)
        _redirecting_bounce(feed_site, other.url("/page"))
        config = tmp_path / "feeds.yaml"
        config.write_text(
            f"feeds:\n  - url: {feed}\nsettings:\n  host_delay: 0s\n  log_level: warning\n"
        )
        run = run_measured(
            ["run", "--once", "--config", str(config), "--storage", str(tmp_path / "s")],
            timeout=RUN_LIMIT_SECONDS,
        )
        assert run.returncode == 0, run.stderr[-2000:]
        assert other.paths == [] and loopback.paths == [] and v6.requests == []
        assert feed_site.count("/bounce") == 1  # the feed's own host: allowed, once
        records = export_records(tmp_path / "s")
    assert {r["guid"] for r in records} == {f"guard-{name}" for name in targets}
    assert all(r["text_source"] == "feed" for r in records)


def _redirecting_bounce(site: LocalSite, target: str) -> None:
    """Make /bounce on `site` a 302 to `target` (LocalSite serves bodies, not headers)."""
    handler = site.server.RequestHandlerClass
    plain_get = handler.do_GET

    def do_get(self) -> None:  # noqa: ANN001
        if self.path == "/bounce":
            with site._lock:
                site.requests.append(self.path)
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        plain_get(self)

    handler.do_GET = do_get


def test_metadata_address_is_refused_before_any_connection(tmp_path: Path) -> None:
    """169.254.169.254 and friends, checked in-process: the client's transport is a
    MockTransport that records what reaches it, so a failing guard sends nothing anywhere."""
    import asyncio

    import httpx

    from aggregator.cluster.clusterer import Clusterer
    from aggregator.config.model import FeedConfig
    from aggregator.extract.body import Extractor
    from aggregator.fetch.fetcher import Fetcher, FetchLimits
    from aggregator.identity.near import NearDuplicates
    from aggregator.pipeline import Pipeline
    from aggregator.store.sqlite import SqliteStore

    feed_url = "http://feeds.example/rss.xml"
    targets = {
        "metadata": "http://169.254.169.254/latest/meta-data/",
        "metadata-v6": "http://[fd00:ec2::254]/latest/",
        "mapped-v4": "http://[::ffff:169.254.169.254]/",
        "decimal-ip": "http://2852039166/",
        "private": "http://10.0.0.1/admin",
        "redirect-to-metadata": "http://feeds.example/bounce",
    }
    feed = rss("guard", [Item(n, u, f"g-{n}", f"text {n}") for n, u in targets.items()])
    reached: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        reached.append(str(request.url))
        if str(request.url) == feed_url:
            return httpx.Response(200, content=feed, headers={"content-type": "application/xml"})
        if request.url.path == "/bounce":
            return httpx.Response(302, headers={"location": targets["metadata"]})
        return httpx.Response(200, content=b"<html><body><p>x</p></body></html>")

    async def resolver(host: str) -> list[str]:
        if host == "feeds.example":
            return ["93.184.216.34"]  # public (MockTransport never connects)
        # numeric forms ("2852039166") as getaddrinfo reads them; any name: OSError
        return [socket.inet_ntoa(socket.inet_aton(host))]

    async def run() -> None:
        limits = FetchLimits(host_delay=0)
        client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        store = SqliteStore(tmp_path)
        pipeline = Pipeline(
            store,
            Fetcher(client, limits, resolver=resolver),
            Extractor(workers=1),
            Clusterer(),
            NearDuplicates(),
        )
        try:
            await pipeline.poll([FeedConfig(url=feed_url)])
        finally:
            await pipeline.fetcher.aclose()  # type: ignore[union-attr]
            pipeline.extractor.close()  # type: ignore[union-attr]
            store.close()

    asyncio.run(run())
    assert reached == [feed_url, "http://feeds.example/bounce"]
