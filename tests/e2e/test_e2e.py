"""End to end: a real HTTP server on 127.0.0.1, the real `aggregator` command as a subprocess,
a real SQLite file in a temporary storage folder."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.commands import aggregator
from tests.support.localsite import LocalSite
from tests.support.sample_news import event_of, publish


def export(storage: Path) -> list[dict]:
    out = aggregator("export", "--storage", str(storage)).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.fixture
def site():
    with LocalSite() as s:
        yield s


def write_config(path: Path, feeds: dict[str, str]) -> Path:
    lines = ["feeds:"]
    for name, url in feeds.items():
        lines += [f"  - url: {url}", f"    name: {name.title()} Times", "    tags: [test, en]"]
    lines += ["settings:", "  host_delay: 0s", "  http: {port: 0}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_run_once_stores_every_article_with_its_body(site, tmp_path):
    feeds = publish(site)
    config = write_config(tmp_path / "feeds.yaml", feeds)
    storage = tmp_path / "store"
    result = aggregator("run", "--once", "--config", str(config), "--storage", str(storage))
    assert "6 new articles" in result.stdout
    records = export(storage)
    assert len(records) == 6
    contract = {
        "url",
        "canonical_url",
        "title",
        "feed",
        "source",
        "published",
        "text",
        "story",
        "duplicate_of",
    }
    for r in records:
        assert contract <= r.keys()
        assert "utm_" not in r["canonical_url"] and "utm_source=rss" in r["url"]
        assert r["feed"] in feeds.values()
        assert r["source"] in ("North Times", "South Times")
        assert r["published"].startswith("2026-11-1")
        # the body comes from the page, not the one-paragraph feed description
        assert r["text_source"] == "page"
        assert "cookies" not in r["text"] and "Most read" not in r["text"]
    floods = [r for r in records if "valencia" in r["url"] or "spain" in r["url"]]
    assert all(len(r["text"].split()) > 40 for r in floods)


def test_stories_group_events_and_collapse_the_wire_copy(site, tmp_path):
    config = write_config(tmp_path / "feeds.yaml", publish(site))
    storage = tmp_path / "store"
    aggregator("run", "--once", "--config", str(config), "--storage", str(storage))
    records = export(storage)
    by_event: dict[str, set[str]] = {}
    for r in records:
        by_event.setdefault(event_of(r["url"]), set()).add(r["story"])
    # each event is one story, and different events (two rate decisions) are different stories
    assert all(len(stories) == 1 for stories in by_event.values()), by_event
    assert len({next(iter(s)) for s in by_event.values()}) == len(by_event)
    wire = next(r for r in records if "wire-valencia" in r["url"])
    original = next(r for r in records if "/north/valencia-floods" in r["url"])
    assert wire["duplicate_of"] == original["canonical_url"]
    assert original["duplicate_of"] is None

    digest = json.loads(
        aggregator("digest", "--storage", str(storage), "--since", "all", "--format", "json").stdout
    )
    floods = next(s for s in digest["stories"] if "Valencia" in s["title"])
    assert floods["source_count"] == 2
    copies = [a for a in floods["articles"] if a["also_published_by"]]
    assert copies and copies[0]["also_published_by"][0]["source"] == "South Times"
    # biggest first: the floods (2 outlets, 3 articles) lead
    assert digest["stories"][0]["id"] == floods["id"]

    text = aggregator("digest", "--storage", str(storage), "--since", "all").stdout
    assert "also published by South Times" in text
    markdown = aggregator(
        "digest", "--storage", str(storage), "--since", "all", "--format", "markdown"
    ).stdout
    assert markdown.startswith("# News digest") and "## " in markdown


def test_second_run_on_unchanged_feeds_stores_nothing_and_fetches_no_page(site, tmp_path):
    config = write_config(tmp_path / "feeds.yaml", publish(site))
    storage = tmp_path / "store"
    aggregator("run", "--once", "--config", str(config), "--storage", str(storage))
    pages_before = site.count("/north/") + site.count("/south/")
    result = aggregator("run", "--once", "--config", str(config), "--storage", str(storage))
    assert "0 new articles" in result.stdout
    assert "2 unchanged" in result.stdout
    # only the two feeds were asked for again (conditional GET), no article page
    assert site.count("/north/") + site.count("/south/") == pages_before + 2
    assert len(export(storage)) == 6


def test_minimal_config_and_a_broken_feed_does_not_stop_the_others(site, tmp_path):
    feeds = publish(site, with_wire_copy=False)
    site.add("/broken.xml", "<html><body>Not a feed</body></html>", "text/html")
    config = tmp_path / "feeds.yaml"
    config.write_text(
        f"feeds:\n  - url: {feeds['north']}\n  - url: {site.url('/broken.xml')}\n"
        f"  - url: {site.url('/missing.xml')}\n"
    )
    storage = tmp_path / "store"
    result = aggregator("run", "--once", "--config", str(config), "--storage", str(storage))
    assert "2 failed" in result.stdout
    records = export(storage)
    assert len(records) == 3 and all(r["text"] for r in records)
    assert all(r["source"] == "127.0.0.1" for r in records)  # name defaults to the host
    status = json.loads(aggregator("status", "--storage", str(storage), "--json").stdout)
    errors = {f["url"]: f for f in status["feeds"]}
    assert errors[site.url("/missing.xml")]["last_status"] == 404
    assert errors[site.url("/broken.xml")]["error_count"] == 1


def test_invalid_config_exits_non_zero_naming_the_line(tmp_path):
    config = tmp_path / "feeds.yaml"
    config.write_text("feeds:\n  - url: https://example.org/rss.xml\n    colour: blue\n")
    result = aggregator(
        "run", "--once", "--config", str(config), "--storage", str(tmp_path), check=False
    )
    assert result.returncode != 0
    assert "feeds.yaml:3" in result.stderr and "colour" in result.stderr


def test_replay_clusters_recorded_articles(tmp_path):
    records = [
        {
            "id": "r1",
            "cluster_id": "a",
            "title": "Earthquake of magnitude 6.1 strikes central Chile",
            "text": "A magnitude 6.1 earthquake struck central Chile near Talca on Monday, shaking buildings in Santiago.",
            "source": "Wire",
            "published": "2026-11-02T10:00:00Z",
            "url": "https://a.example/1",
        },
        {
            "id": "r2",
            "cluster_id": "a",
            "title": "Strong 6.1 quake shakes central Chile, no damage reported",
            "text": "A strong earthquake of magnitude 6.1 hit central Chile near Talca, officials in Santiago said.",
            "source": "Daily",
            "published": "2026-11-02T11:00:00Z",
            "url": "https://b.example/2",
        },
        {
            "id": "r3",
            "cluster_id": "b",
            "title": "Chess champion wins tournament in Oslo",
            "text": "The reigning chess world champion won the Oslo invitational tournament on Sunday.",
            "source": "Daily",
            "published": "2026-11-03T09:00:00Z",
            "url": "https://b.example/3",
        },
    ]
    path = tmp_path / "records.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    storage = tmp_path / "store"
    result = aggregator("replay", str(path), "--storage", str(storage))
    assert "3 new articles" in result.stdout
    out = {r["guid"]: r for r in export(storage)}
    assert out["r1"]["story"] == out["r2"]["story"] != out["r3"]["story"]
    again = aggregator("replay", str(path), "--storage", str(storage))
    assert "0 new articles" in again.stdout


def test_daemon_polls_then_stops_cleanly_on_sigterm(site, tmp_path):
    config = write_config(tmp_path / "feeds.yaml", publish(site))
    storage = tmp_path / "store"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aggregator",
            "run",
            "--config",
            str(config),
            "--storage",
            str(storage),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_PROXY": "*"},
    )
    try:
        db = storage / "aggregator.sqlite3"
        deadline = time.monotonic() + 90
        count = 0
        while time.monotonic() < deadline and count < 6:
            if db.exists():
                try:
                    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
                        count = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
                except sqlite3.OperationalError:
                    pass
            time.sleep(0.2)
        assert count == 6, "the daemon did not store the feeds' articles"
        second = aggregator(
            "run", "--once", "--config", str(config), "--storage", str(storage), check=False
        )
        assert second.returncode != 0 and "already in use" in second.stderr
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert "daemon stopped" in stderr
    assert "serving readers at http://127.0.0.1:" in stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_demo_prints_the_airstrike_story_with_its_outlets_and_the_wire_copy_collapsed(tmp_path):
    result = aggregator("demo", "--storage", str(tmp_path / "demo"), "--format", "json")
    digest = json.loads(result.stdout)
    strikes = [
        s
        for s in digest["stories"]
        if any("Waziristan" in a["title"] or "air strikes" in a["title"] for a in s["articles"])
    ]
    assert len(strikes) == 1, [s["title"] for s in strikes]
    story = strikes[0]
    assert story["source_count"] >= 4
    assert {"Hindukush Herald", "The Indus Chronicle", "Meridian Wire"} <= set(story["sources"])
    copies = [c for a in story["articles"] for c in a["also_published_by"]]
    assert copies, "the verbatim wire copy is collapsed onto its original"
    # hard negatives stay apart: the two earthquakes are two stories
    quakes = [s for s in digest["stories"] if "quake" in s["title"].lower()]
    assert len(quakes) == 2
    # readers' links carry no tracking parameters
    assert "utm_" not in result.stdout
