"""One `aggregator run --once` against a world of hostile servers and feeds (issue: "prove it
holds"). Every server listens on a 127.x address of its own, started here.

The world (also used by bench/soak.py at full size):

    127.0.0.2             good outlets: feeds whose items link to ordinary article pages
    127.0.0.<10+k>        one hostile behaviour k each, served twice:
                            as a feed listed in feeds.yaml            (the fetch/parse of feeds)
                            as the page of an item of a small feed    (the fetch/extract of pages)
                          on the same address, so the address guard lets the page through

The run must end in bounded time (< 3 minutes, the issue's figure), under 1 GiB of memory for
the whole process tree, and still store every good entry. The world itself is in
tests/support/hostile.py, shared with the crash, concurrency and soak runs.
"""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import pytest

from aggregator.pipeline import MAX_PAGES_PER_POLL
from tests.support.commands import (
    RUN_LIMIT_SECONDS,
    GiB,
    aggregator_cmd,
    aggregator_env,
    export_records,
    run_measured,
)
from tests.support.hostile import HostileWorld, Item, article_page, check_store, rss, unsound
from tests.support.hostile_server import HostileServer
from tests.support.localsite import LocalSite

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
