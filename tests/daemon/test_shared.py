"""Several real daemons on one PostgreSQL store, with faults: a daemon SIGKILLed mid-ingest,
PostgreSQL stopped and restarted mid-run, a daemon paused (SIGSTOP) past its lease.

Every feed is polled by one daemon at a time, every article is stored once, and nothing is
lost. Skipped (saying why) only where PostgreSQL is not installed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from tests.support.localsite import LocalSite
from tests.support.postgres import running_cluster

WAIT = 90.0  # safety net only: every wait ends as soon as its condition holds
FEEDS, ITEMS = 6, 5
WORDS = "harbour strike council budget river flood vaccine trial rocket launch court ruling"


class SharedDaemon:
    """`aggregator run` on its own storage directory, sharing the database at ``url``."""

    def __init__(self, config: Path, storage: Path, url: str):
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "aggregator", "run", "--config", str(config)]
            + ["--storage", str(storage), "--database", url, "--log-level", "info"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "NO_PROXY": "*"},
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def logged(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wait_until(condition, what: str, daemons: list[SharedDaemon] = ()) -> None:  # type: ignore[no-untyped-def,assignment]
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    logs = "\n".join("".join(d.lines[-40:]) for d in daemons)
    raise AssertionError(f"never happened: {what}\n{logs}")


def publish(site: LocalSite, feeds: int = FEEDS, items: int = ITEMS) -> list[str]:
    """``feeds`` feeds of ``items`` articles each, every article a page of its own."""
    words = WORDS.split()
    urls = []
    for f in range(feeds):
        entries = []
        for i in range(items):
            path = f"/f{f}/a{i}.html"
            topic = f"{words[(f * items + i) % len(words)]} {words[(f + 3 * i) % len(words)]}"
            body = " ".join(f"{topic} report {f} {i} paragraph {n} of the day." for n in range(30))
            site.add(path, f"<html><head><title>{topic} {f}-{i}</title></head><body>"
                     f"<article><h1>{topic} {f}-{i}</h1><p>{body}</p></article></body></html>")  # fmt: skip
            entries.append(
                f"<item><title>{topic} {f}-{i}</title><link>{site.url(path)}</link>"
                f"<guid>{site.url(path)}</guid><description>{topic} summary {f} {i}</description>"
                f"<pubDate>Mon, 30 Nov 2026 0{i}:00:00 GMT</pubDate></item>"
            )
        rss = (
            f"<?xml version='1.0'?><rss version='2.0'><channel><title>Feed {f}</title>"
            f"<link>{site.base_url}</link>{''.join(entries)}</channel></rss>"
        )
        urls.append(site.add(f"/f{f}/rss.xml", rss, "application/rss+xml"))
    return urls


def write_config(path: Path, urls: list[str]) -> Path:
    feeds = "".join(f"  - url: {u}\n    interval: 1h\n" for u in urls)
    path.write_text(
        f"feeds:\n{feeds}settings:\n  host_delay: 0s\n  per_host: 8\n  timeout: 3s\n"
        "  http: {enabled: false}\n"
    )
    return path


def query(url: str, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    try:
        with psycopg.connect(url, connect_timeout=3) as db:
            return db.execute(sql).fetchall()
    except psycopg.Error:
        return []  # no tables yet, or the server restarting


def articles(url: str) -> int:
    rows = query(url, "SELECT count(*) FROM articles")
    return int(rows[0][0]) if rows else 0


def assert_each_article_once(url: str) -> None:
    assert articles(url) == FEEDS * ITEMS
    (dups,) = query(
        url, "SELECT count(*) FROM (SELECT guid FROM articles GROUP BY guid HAVING count(*) > 1) d"
    )
    assert dups[0] == 0
    (orphans,) = query(
        url,
        "SELECT count(*) FROM articles a LEFT JOIN stories s ON s.id = a.story_id "
        "WHERE s.id IS NULL",
    )
    assert orphans[0] == 0
    polled = query(url, "SELECT count(*) FROM feeds WHERE last_success IS NOT NULL")
    assert polled[0][0] == FEEDS


def test_three_daemons_one_killed_mid_ingest_lose_nothing_and_store_nothing_twice(tmp_path, pg_url):
    with LocalSite() as site:
        urls = publish(site)
        for f in range(FEEDS):
            for i in range(ITEMS):
                site.delays[f"/f{f}/a{i}.html"] = 1.0  # polls stay in flight for a while
        config = write_config(tmp_path / "feeds.yaml", urls)
        daemons = [SharedDaemon(config, tmp_path / f"d{n}", pg_url) for n in range(3)]
        try:
            wait_until(lambda: site.count("/f") > FEEDS, "pages requested", daemons)
            held = query(pg_url, "SELECT holder, count(*) FROM feed_leases GROUP BY holder")
            victim_id = max(held, key=lambda row: row[1])[0]
            victim = next(d for d in daemons if f":{d.proc.pid}:" in victim_id)
            victim.proc.send_signal(signal.SIGKILL)  # mid-ingest: its pages are loading
            victim.proc.wait()
            wait_until(lambda: articles(pg_url) >= FEEDS * ITEMS, "every article", daemons)
            time.sleep(1.0)  # any second copy would have been written by now
            assert_each_article_once(pg_url)
            assert any(d.logged("sharing the store") for d in daemons if d is not victim)
        finally:
            for d in daemons:
                d.stop()


def test_postgresql_restarting_mid_run_daemons_wait_and_go_on(tmp_path):
    with running_cluster() as cluster, LocalSite() as site:
        url = cluster.create_database("news")
        urls = publish(site)
        for f in range(FEEDS):
            site.delays[f"/f{f}/a0.html"] = 2.0
        config = write_config(tmp_path / "feeds.yaml", urls)
        daemons = [SharedDaemon(config, tmp_path / f"d{n}", url) for n in range(2)]
        try:
            wait_until(lambda: site.count("/f0/a0.html") > 0, "a page requested", daemons)
            cluster.stop("fast")  # mid-poll: the pages are still loading
            wait_until(
                lambda: any(d.logged("store unavailable") for d in daemons),
                "a daemon noticed the store was gone",
                daemons,
            )
            time.sleep(2.0)
            cluster.start()
            wait_until(lambda: articles(url) >= FEEDS * ITEMS, "every article", daemons)
            time.sleep(1.0)
            assert_each_article_once(url)
            for d in daemons:  # none gave up
                assert d.proc.poll() is None, "".join(d.lines)
        finally:
            for d in daemons:
                d.stop()


def test_a_daemon_paused_past_its_lease_does_not_write_over_the_new_holder(tmp_path, pg_url):
    with LocalSite() as site:
        urls = publish(site, feeds=1)
        for i in range(ITEMS):
            site.delays[f"/f0/a{i}.html"] = 1.5
        config = write_config(tmp_path / "feeds.yaml", urls)
        first = SharedDaemon(config, tmp_path / "first", pg_url)
        second: SharedDaemon | None = None
        try:
            wait_until(lambda: site.count("/f0/a") > 0, "the first daemon's page requests", [first])
            first.proc.send_signal(signal.SIGSTOP)  # mid-poll, holding the feed's lease
            paused = datetime.now(UTC)
            second = SharedDaemon(config, tmp_path / "second", pg_url)
            wait_until(lambda: articles(pg_url) >= ITEMS, "the second daemon's poll", [second])
            wait_until(lambda: second.logged("new articles"), "the second daemon's poll", [second])
            holder = query(pg_url, "SELECT holder FROM feed_leases")[0][0]
            assert f":{second.proc.pid}:" in holder
            first.proc.send_signal(signal.SIGCONT)
            wait_until(lambda: first.logged("lease lost"), "the first daemon stood down", [first])
            (polled,) = query(pg_url, "SELECT last_polled FROM feeds")
            assert datetime.fromisoformat(polled[0]) >= paused.replace(microsecond=0)
            assert articles(pg_url) == ITEMS
            listed = query(pg_url, "SELECT count(*) FROM article_feeds")
            assert listed[0][0] == ITEMS
        finally:
            first.stop()
            if second is not None:
                second.stop()


@pytest.fixture(autouse=True)
def _needs_postgres(postgres_cluster: object) -> None:
    """Every test here needs PostgreSQL (skips, saying why, where it is not installed)."""


def test_run_once_on_a_shared_store_leaves_the_feeds_a_daemon_holds(tmp_path, pg_url, capsys):
    from aggregator.cli.main import main
    from aggregator.store import leases
    from aggregator.store.engine import location
    from aggregator.store.sql import SqlStore

    with LocalSite() as site:
        urls = publish(site, feeds=2)
        config = write_config(tmp_path / "feeds.yaml", urls)
        with SqlStore(location(tmp_path / "daemon", pg_url)) as store, store.atomic() as db:
            leases.heartbeat(db, "other", "elsewhere", 1, 3600.0)
            assert leases.acquire(db, "other", urls[0], 3600.0)
        storage = tmp_path / "once"
        args = ["run", "--once", "--config", str(config), "--storage", str(storage)]
        assert main([*args, "--database", pg_url]) == 0
        assert "1 feeds left to the daemons polling them" in capsys.readouterr().out
        assert site.count("/f0/") == 0  # the daemon's feed: not fetched
        assert site.count("/f1/rss.xml") == 1
    assert articles(pg_url) == ITEMS
    held = dict(query(pg_url, "SELECT feed_url, holder FROM feed_leases WHERE expires > 0"))
    assert held == {urls[0]: "other"}  # run --once gave its lease back, the daemon's stays
    assert query(pg_url, "SELECT id FROM daemons") == [("other",)]
