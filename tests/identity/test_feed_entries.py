"""No entry of a feed is lost: each class of loss seen on real captures, served as a feed and
run through `aggregator run --once` + `export` (real processes, a local server).

    newsletter.rss      items told apart only by #fragment, all with one title
    shared_link.rss     every item links the same page, no guid, alike titles
    atom_in_xhtml.xml   an Atom feed wrapped in an XHTML document
    daily.rss           one title and one link for every item, only the text differs; and
                        an item with neither guid nor link

A second pass over the same documents (with one item added, so the feed is parsed again)
must store nothing twice.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.commands import aggregator
from tests.support.localsite import LocalSite

CAPTURES = Path(__file__).parent / "captures"
FEEDS = {
    "newsletter.rss": 5,
    "shared_link.rss": 5,
    "atom_in_xhtml.xml": 2,
    "daily.rss": 4,
}


def _config(tmp_path: Path, site: LocalSite) -> Path:
    lines = ["feeds:"]
    for name in FEEDS:
        lines += [f"  - url: {site.url('/' + name)}", "    extract: false"]
    lines += ["settings:", "  host_delay: 0s", "  window: 36500d"]
    config = tmp_path / "feeds.yaml"
    config.write_text("\n".join(lines) + "\n")
    return config


def _export(storage: Path) -> list[dict]:
    out = aggregator("export", "--storage", str(storage)).stdout
    return [json.loads(line) for line in out.splitlines()]


def _by_feed(articles: list[dict], site: LocalSite) -> dict[str, list[dict]]:
    return {name: [a for a in articles if site.url("/" + name) in a["feeds"]] for name in FEEDS}


@pytest.fixture
def site():
    with LocalSite() as local:
        for name in FEEDS:
            local.add("/" + name, (CAPTURES / name).read_bytes(), "application/xml")
        yield local


def test_every_entry_of_each_capture_is_stored_once(tmp_path: Path, site: LocalSite) -> None:
    config, storage = _config(tmp_path, site), tmp_path / "storage"
    aggregator("run", "--once", "--config", str(config), "--storage", str(storage))
    stored = _by_feed(_export(storage), site)
    assert {name: len(items) for name, items in stored.items()} == FEEDS
    assert sorted(a["url"] for a in stored["newsletter.rss"]) == [
        f"https://letters.example/entries.php#{n}" for n in range(1, 6)
    ]
    assert sorted(a["title"] for a in stored["shared_link.rss"]) == [
        f"Distro {v} released" for v in ("18.09", "19.03", "19.09", "20.03", "20.09")
    ]
    assert sorted(a["title"] for a in stored["atom_in_xhtml.xml"]) == [
        "Release 2.0 is out",
        "Release 2.1 is out",
    ]


def test_a_second_poll_stores_only_the_new_entry(tmp_path: Path, site: LocalSite) -> None:
    config, storage = _config(tmp_path, site), tmp_path / "storage"
    aggregator("run", "--once", "--config", str(config), "--storage", str(storage))
    for name, added in [
        (
            "newsletter.rss",
            "<item><title>Dispatches from the field</title>"
            "<link>https://letters.example/entries.php#6</link>"
            "<description>Letter number 6: notes on hedges.</description></item>",
        ),
        (
            "shared_link.rss",
            "<item><title>Distro 21.05 released</title>"
            "<link>https://distro.example/news.html</link>"
            "<description>Distro 21.05 is out.</description></item>",
        ),
        (
            "daily.rss",
            "<item><title>Daily note</title><link>https://notes.example/today.html</link>"
            "<description>Hail, briefly, then a rainbow.</description></item>",
        ),
    ]:
        text = (CAPTURES / name).read_text().replace("</channel>", added + "</channel>")
        site.add("/" + name, text, "application/xml")
    aggregator("run", "--once", "--config", str(config), "--storage", str(storage))
    articles = _export(storage)
    stored = _by_feed(articles, site)
    assert {name: len(items) for name, items in stored.items()} == {
        "newsletter.rss": 6,
        "shared_link.rss": 6,
        "atom_in_xhtml.xml": 2,
        "daily.rss": 5,
    }
    assert len({(a["url"], a["title"], a["text"]) for a in articles}) == len(articles)
