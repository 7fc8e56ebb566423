"""Feed leases and the unique article key on PostgreSQL, two daemons' stores side by side
(the real processes are in tests/daemon/test_shared.py)."""

from __future__ import annotations

import json

import pytest

from aggregator.cli.main import main
from aggregator.store import FeedState, leases
from aggregator.store.engine import location
from aggregator.store.leases import LeaseLost
from aggregator.store.sql import SqlStore
from tests.store.test_store import article, placement

FEED = "http://127.0.0.1/feed.xml"


@pytest.fixture
def two(tmp_path, pg_url):
    a, b = (SqlStore(location(tmp_path / n, pg_url)) for n in ("a", "b"))
    yield a, b
    a.close()
    b.close()


def take(store: SqlStore, daemon: str, url: str = FEED, ttl: float = 60.0) -> bool:
    store.lease_holder = daemon
    with store.atomic() as db:
        leases.heartbeat(db, daemon, "host", 1, ttl)
        return leases.acquire(db, daemon, url, ttl)


def test_a_held_lease_is_not_taken_and_an_expired_one_is(two):
    a, b = two
    assert take(a, "A")
    assert take(a, "A")  # renewing is taking again
    assert not take(b, "B")
    with a.atomic() as db:
        db.execute("UPDATE feed_leases SET expires = 0")  # A went quiet
        assert leases.orphaned(db, "B") == [FEED]
    assert take(b, "B")
    assert not take(a, "A")


def test_a_writer_that_lost_its_lease_writes_nothing(two):
    a, b = two
    assert take(a, "A", ttl=0.0)  # expires at once
    assert take(b, "B")
    with pytest.raises(LeaseLost, match="now polled by daemon B"):
        a.save_feed_state(FeedState(url=FEED, etag='"stale"'))
    with pytest.raises(LeaseLost):
        a.add_article(article("k1"), placement("s1"), None)
    b.save_feed_state(FeedState(url=FEED, etag='"fresh"'))
    assert b.feed_state(FEED).etag == '"fresh"'
    assert b.counts()["articles"] == 0


def test_a_lease_is_checked_once_per_transaction_and_holds_until_it_commits(two):
    a, b = two
    assert take(a, "A", ttl=0.0)  # expires at once: b could take it, but for a's lock
    checks = []
    execute = a._db.execute

    def counted(sql, params=()):  # type: ignore[no-untyped-def]
        checks.extend(["lease"] if "FROM feed_leases" in sql else [])
        return execute(sql, params)

    a._db.execute = counted  # type: ignore[method-assign]
    with a.atomic():
        a.add_article(article("k1"), placement("s1"), None)
        a.add_article(article("k2", minutes=1), placement("s1"), None)
        a.save_feed_state(FeedState(url=FEED, etag='"a"'))
    assert checks == ["lease"]
    a.add_article(article("k3", minutes=2), placement("s1"), None)
    assert checks == ["lease", "lease"]  # a new transaction checks again
    assert take(b, "B")
    with pytest.raises(LeaseLost):
        a.add_article(article("k4", minutes=3), placement("s1"), None)
    assert [x.key for x in b.articles()] == ["k1", "k2", "k3"]


def test_the_unique_key_decides_who_stores_an_article(two):
    a, b = two
    first = a.add_article(article("k1"), placement("s1"), None)
    again = b.add_article(article("k1"), placement("other"), None)  # b's lookup came too early
    assert again == first
    assert [s.id for s in a.stories()] == ["s1"]  # the loser's story was not written


def test_placing_hands_over_what_other_daemons_stored(two):
    a, b = two
    with b.placing() as others:
        assert others == []
    a.add_article(article("k1"), placement("s1"), None)
    with b.placing() as others:
        assert [(doc.id, story) for doc, story in others] == [("k1", "s1")]
    with b.placing() as others:
        assert others == []


def test_a_story_another_daemon_merged_away_gets_the_article_where_it_went(two):
    a, b = two
    b.add_article(article("k1"), placement("s1"), None)  # b remembers s1 and s2
    b.add_article(article("k2", minutes=1), placement("s2"), None)
    a.add_article(article("k3", minutes=2), placement("s3"), None)
    a.add_article(article("k4", minutes=3), placement("s2", merges=(("s1", "s2"),)), None)
    a.add_article(article("k5", minutes=4), placement("s3", merges=(("s2", "s3"),)), None)
    b.add_article(article("k6", minutes=5), placement("s1", title="New title"), None)  # stale
    assert {x.key: x.story_id for x in b.articles()}["k6"] == "s3"  # two merges followed
    assert [(s.id, s.article_count, s.title) for s in b.stories()] == [("s3", 6, "New title")]


def test_placements_in_one_transaction_take_the_lock_and_read_the_others_once(two):
    a, b = two
    a.add_article(article("k1"), placement("s1"), None)
    with b.atomic():
        with b.placing() as others:
            assert [doc.id for doc, _ in others] == ["k1"]
            b.add_article(article("k2", minutes=1), placement("s1"), None)
        sent: list[str] = []
        batch = b._db.batch
        b._db.batch = lambda *sql: sent.extend(sql) or batch(*sql)  # type: ignore[method-assign]
        with b.placing() as others:
            assert others == []  # nobody else can store while b holds the lock
            b.add_article(article("k3", minutes=2), placement("s1"), None)
        b._db.batch = batch  # type: ignore[method-assign]
        assert not any("pg_advisory_xact_lock" in sql for sql in sent)
    with a.placing() as others:  # the lock was given back with the commit
        assert [doc.id for doc, _ in others] == ["k2", "k3"]


def test_status_shows_which_daemon_holds_which_feed(two, tmp_path, pg_url, capsys):
    a, _ = two
    a.save_feed_state(FeedState(url=FEED))
    assert take(a, "host:42:beef")
    assert main(["status", "--storage", str(tmp_path), "--database", pg_url]) == 0
    out = capsys.readouterr().out
    assert "polled by host:42:beef" in out and "daemon host:42:beef (host host, pid 1)" in out
    assert main(["status", "--json", "--storage", str(tmp_path), "--database", pg_url]) == 0

    status = json.loads(capsys.readouterr().out)
    assert status["daemons"][0]["feeds"] == [FEED]
    assert status["feeds"][0]["daemon"] == "host:42:beef"
