"""The bundled demo site: what it serves, how it serves it, and the quality of its sample news."""

from __future__ import annotations

import html
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import httpx
import pytest
from rapidfuzz import fuzz
from ruamel.yaml import YAML

from aggregator.demo.site import DemoSite

NOW = datetime(2025, 6, 11, 12, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with DemoSite(now=NOW) as s:
        yield s


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as c:  # generous: only a safety net on a busy machine
        yield c


def _entry_links(site: DemoSite, client: httpx.Client) -> list[str]:
    links: list[str] = []
    for url in site.feed_urls():
        body = client.get(url).content
        if url.endswith(".json"):
            links += [item["url"] for item in json.loads(body)["items"]]
        else:
            links += [entry.link for entry in feedparser.parse(body).entries]
    return links


def _all_urls(site: DemoSite) -> list[str]:
    pages = [f"{site.base_url}{a.path}" for a in site.articles]
    return [*site.feed_urls(), *pages, f"{site.base_url}/robots.txt"]


# --- serving ----------------------------------------------------------------------------


def test_binds_an_ephemeral_port_on_loopback(site: DemoSite) -> None:
    host_port = site.base_url.removeprefix("http://")
    host, port = host_port.rsplit(":", 1)
    assert host == "127.0.0.1"
    assert int(port) > 0


def test_every_feed_parses(site: DemoSite, client: httpx.Client) -> None:
    formats = set()
    for url in site.feed_urls():
        resp = client.get(url)
        assert resp.status_code == 200
        if url.endswith(".json"):
            assert resp.headers["content-type"].startswith("application/feed+json")
            feed = json.loads(resp.content)
            assert feed["version"] == "https://jsonfeed.org/version/1.1"
            assert feed["items"] and all(i["url"] and i["title"] for i in feed["items"])
            formats.add("json11")
        else:
            assert "xml" in resp.headers["content-type"]
            parsed = feedparser.parse(resp.content)
            assert not parsed.bozo, (url, parsed.get("bozo_exception"))
            assert parsed.entries
            assert all(e.get("link") and e.get("title") for e in parsed.entries)
            assert all(e.get("published_parsed") or e.get("updated_parsed") for e in parsed.entries)
            formats.add(parsed.version)
    assert {"rss20", "rss10", "atom10", "json11"} <= formats


def test_every_linked_page_is_html(site: DemoSite, client: httpx.Client) -> None:
    links = _entry_links(site, client)
    assert len(links) == len(site.articles)
    assert any("utm_source=rss" in link for link in links)  # exercises canonicalisation
    for link in links:
        resp = client.get(link)
        assert resp.status_code == 200, link
        assert resp.headers["content-type"].startswith("text/html")
        assert resp.text.lstrip().startswith("<!DOCTYPE html>")


def test_conditional_requests_get_304(site: DemoSite, client: httpx.Client) -> None:
    for url in _all_urls(site):
        first = client.get(url)
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304, url
        assert again.content == b""
        since = client.get(url, headers={"If-Modified-Since": modified})
        assert since.status_code == 304, url
        older = client.get(url, headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
        assert older.status_code == 200
        stale = client.get(url, headers={"If-None-Match": '"something-else"'})
        assert stale.status_code == 200
        assert stale.content == first.content  # rendered once: byte-for-byte stable


def test_head_robots_and_404(site: DemoSite, client: httpx.Client) -> None:
    robots = client.get(f"{site.base_url}/robots.txt")
    assert robots.status_code == 200
    assert robots.headers["content-type"].startswith("text/plain")
    head = client.head(site.feed_urls()[0])
    assert head.status_code == 200 and head.content == b""
    for path in ("/", "/nowhere", "/meridian-wire/", "/meridian-wire/no-such-story.html"):
        assert client.get(f"{site.base_url}{path}").status_code == 404


def test_labels_never_leak_into_served_bytes(site: DemoSite, client: httpx.Client) -> None:
    labels = set(site.labels().values())
    for url in _all_urls(site):
        body = client.get(url).text
        leaked = [label for label in labels if label in body]
        assert not leaked, (url, leaked)
        assert '"event"' not in body


def test_feeds_yaml_lists_every_feed(site: DemoSite) -> None:
    config = YAML(typ="safe").load(io.StringIO(site.feeds_yaml()))
    feeds = config["feeds"]
    assert [f["url"] for f in feeds] == site.feed_urls()
    for feed in feeds:
        assert feed["name"] and len(feed["tags"]) == 2  # [region, language]


# --- times --------------------------------------------------------------------------------


def test_times_are_relative_to_now_and_keep_their_spread() -> None:
    early = DemoSite(now=NOW - timedelta(days=100))
    late = DemoSite(now=NOW)
    try:
        newest, oldest = late.articles[-1].published, late.articles[0].published
        assert NOW - timedelta(hours=1) < newest <= NOW
        assert timedelta(days=1.5) <= newest - oldest <= timedelta(days=2.5)
        # the same order and gaps, only shifted
        assert [a.key for a in early.articles] == [a.key for a in late.articles]
        gaps = {
            b.published - a.published for a, b in zip(early.articles, late.articles, strict=True)
        }
        assert gaps == {timedelta(days=100)}
    finally:
        early.stop()
        late.stop()


# --- the sample news ----------------------------------------------------------------------


def test_counts(site: DemoSite) -> None:
    assert len(site.outlets) >= 6
    assert len({o.layout for o in site.outlets}) >= 6
    assert len(site.articles) >= 60
    events: dict[str, set[str]] = {}
    for a in site.articles:
        events.setdefault(a.event, set()).add(a.outlet.slug)
    assert len(events) >= 12
    assert all(len(outlets) >= 3 for outlets in events.values()), events
    assert any(o.full_content for o in site.outlets)
    assert any(not o.full_content for o in site.outlets)


def test_bodies_are_realistic_lengths(site: DemoSite) -> None:
    for a in site.articles:
        words = len(" ".join(a.paragraphs).split())
        assert 150 <= words <= 500, (a.key, words)


def test_airstrike_story_has_many_outlets_and_a_verbatim_wire_copy(
    site: DemoSite, client: httpx.Client
) -> None:
    story = [a for a in site.articles if a.event == "af-pk-strikes"]
    assert len({a.outlet.slug for a in story}) >= 4
    text = " ".join(" ".join(a.paragraphs) for a in story)
    for place in ("Miranshah", "Spinwam", "Nangarhar", "Kandahar"):
        assert place in text

    copies = [a for a in story if a.copy_of]
    assert copies
    copy = copies[0]
    original = next(a for a in site.articles if a.key == copy.copy_of)
    assert original.outlet != copy.outlet
    assert copy.paragraphs == original.paragraphs
    copy_page = client.get(f"{site.base_url}{copy.path}").text
    original_page = client.get(f"{site.base_url}{original.path}").text
    for paragraph in original.paragraphs:
        escaped = html.escape(paragraph, quote=False)
        assert escaped in copy_page and escaped in original_page
    assert site.duplicates()[f"{site.base_url}{copy.path}"] == f"{site.base_url}{original.path}"

    # the outlets that wrote their own reports used their own words
    own = [a for a in story if not a.copy_of]
    firsts = {a.paragraphs[0] for a in own}
    assert len(firsts) == len(own)


def test_hard_negatives_are_alike_but_separate(site: DemoSite) -> None:
    def titles(event: str) -> list[str]:
        return [a.title for a in site.articles if a.event == event]

    for one, other in (("quake-nepal", "quake-peru"), ("rate-pakistan", "rate-kenya")):
        assert titles(one) and titles(other)
        best = max(fuzz.token_set_ratio(x, y) for x in titles(one) for y in titles(other))
        assert best >= 70, (one, other, best)
        # on different days, as real look-alikes usually are
        last = max(a.published for a in site.articles if a.event == one)
        first = min(a.published for a in site.articles if a.event == other)
        assert first - last >= timedelta(hours=12)


def test_no_weekday_names_in_bodies(site: DemoSite) -> None:
    # the timeline is shifted to `now`, so a weekday in the text would soon be wrong
    weekday = re.compile(r"\b(Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\b")
    for a in site.articles:
        assert not weekday.search(" ".join(a.paragraphs)), a.key


# --- the real default feeds list ----------------------------------------------------------


def test_project_feeds_yaml() -> None:
    config = YAML(typ="safe").load((ROOT / "feeds.yaml").read_text(encoding="utf-8"))
    assert set(config) == {"settings", "feeds"}
    assert config["settings"] == {"storage": "./storage", "interval": "30m"}
    feeds = config["feeds"]
    assert 15 <= len(feeds) <= 25
    assert len({f["url"] for f in feeds}) == len(feeds)
    for feed in feeds:
        assert set(feed) <= {"url", "name", "tags", "interval"}
        assert feed["url"].startswith("https://")
        assert feed["name"]
        region, language = feed["tags"]
        assert region and language == "en"
        assert re.fullmatch(r"\d+[smhd]", str(feed.get("interval", "30m")))
    assert sum(f["tags"][0] == "south-asia" for f in feeds) >= 8
