"""The same store on both engines: every read the web and the pipeline make gives the same
answer on SQLite and PostgreSQL; stores written by the SQLite-only program upgrade in place."""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import replace
from datetime import timedelta

import pytest

from aggregator.errors import CorrectionError, StorageError
from aggregator.store import FeedState
from aggregator.store.engine import location
from aggregator.store.schema import LATEST, LEGACY_SQLITE
from aggregator.store.search import SearchQuery
from aggregator.store.sql import SqlStore
from aggregator.types import PageFill
from tests.store.test_store import T0, article, placement


def fill(store: SqlStore) -> None:
    """A little of everything: stories, copies, merges, tags, listings, pages, corrections."""
    a1 = replace(article("a1", url="https://x.example/1", guid="g1"), tags=("world", "EU"))
    store.add_article(a1, placement("s1", title="Floods"), None)
    store.add_article(article("a2", minutes=5, url="https://y.example/2"), placement("s1"), "a1")
    other = replace(article("b1", minutes=7), feed_url="http://127.0.0.1/b.xml", source="B")
    store.add_article(other, placement("s1"), None)
    store.add_article(article("c1", minutes=9), placement("s2", title="Budget"), None)
    store.add_article(article("d1", minutes=11), placement("s3"), None)
    store.add_article(
        article("d2", minutes=12), placement("s3", merges=(("s2", "s3"),), title="Talks"), None
    )
    store.add_listing("a1", "http://127.0.0.1/other.xml")
    store.add_listing("a1", "http://127.0.0.1/other.xml")  # twice: a no-op
    store.save_feed_state(FeedState(url="http://127.0.0.1/feed.xml", etag='"e"', gone=True))
    store.queue_pages("http://127.0.0.1/feed.xml", [("c1", "https://p/c1"), ("d1", "https://p/d1")])
    store.queue_pages("http://127.0.0.1/feed.xml", [("c1", "https://p/c1")])
    store.page_failed("d1", 3)
    store.fill_page(PageFill("c1", "A long body of c1", "page", None, "Ann", None, "en"))
    store.split_article("b1")
    store.merge_stories("s1", "b1")


def answers(store: SqlStore) -> dict[str, object]:
    def ids(found: tuple[list, int]) -> tuple[list[str], int]:  # type: ignore[type-arg]
        items, total = found
        return [getattr(x, "key", None) or x.id for x in items], total

    return {
        "counts": store.counts(),
        "stories": [(s.id, s.title, s.article_count, s.source_count) for s in store.stories()],
        "articles": [
            (a.key, a.story_id, a.duplicate_of, sorted(a.feeds)) for a in store.articles()
        ],
        "resolve": store.resolve_story_id("b1"),
        "tagged": ids(store.find_stories(tag="EU")),
        "by_feed": ids(store.find_stories(feed="http://127.0.0.1/other.xml", limit=None)),
        "words": ids(store.find_stories(match=SearchQuery(include=("BODY", "c1")))),
        "two_sources": ids(store.find_stories(min_sources=2, order="recent")),
        "past_the_end": ids(store.find_stories(limit=5, offset=50)),
        "find_articles": ids(
            store.find_articles(match=SearchQuery(include=("title",)), limit=3, offset=1)
        ),
        # each engine ranks by its own measure: which stories and articles match is the same
        "search": sorted(
            (found.story.id, sorted(h.article.key for h in found.hits))
            for found in store.search(SearchQuery(include=("body",)), limit=50).stories
        ),
        "by_story": {
            k: [a.key for a in v] for k, v in store.stories_articles(["s1", "s3"]).items()
        },
        "tags": store.tag_counts(),
        "health": store.body_health(),
        "pending": [
            (p.key, p.attempts) for p in store.pending_pages("http://127.0.0.1/feed.xml", 9)
        ],
        "pending_counts": store.pending_counts(),
        "feeds": [(f.url, f.etag, f.gone, f.articles) for f in store.feed_states()],
        "corrections": [(c.kind, c.story, c.other, c.article) for c in store.corrections()],
        "story_corrections": [c.kind for c in store.story_corrections("s1")],
        "marker": store.change_marker(),
        "recent": [(d.id, s) for d, s in store.recent_docs(T0 - timedelta(days=1))],
    }


def test_both_engines_answer_alike(tmp_path, postgres_cluster):
    results = []
    for url in (None, postgres_cluster.create_database()):
        with SqlStore(location(tmp_path / ("pg" if url else "sqlite"), url)) as store:
            fill(store)
            results.append(answers(store))
        with SqlStore(location(tmp_path / ("pg" if url else "sqlite"), url), readonly=True) as r:
            assert answers(r) == results[-1]
    for name in results[0]:
        assert results[0][name] == results[1][name], name


def test_corrections_and_prune_on_both_engines(store_any):
    fill(store_any)
    with pytest.raises(CorrectionError):
        store_any.merge_stories("s1", "s1")
    result = store_any.prune(T0 + timedelta(minutes=8))
    assert result["articles"] == 3
    assert sorted(a.key for a in store_any.articles()) == ["c1", "d1", "d2"]


@pytest.fixture
def store_any(tmp_path, database):
    with SqlStore(location(tmp_path, database)) as s:
        yield s


def _legacy_store(path, versions: int) -> None:
    """A database as the SQLite-only program wrote it, at schema version ``versions``."""
    db = sqlite3.connect(path)
    for number in range(versions):
        for statement in LEGACY_SQLITE[number].split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute(f"PRAGMA user_version = {number + 1}")
        if number == 0:
            db.execute("INSERT INTO feeds (url, etag) VALUES ('http://f/feed.xml', '\"v1\"')")
            db.execute(
                "INSERT INTO stories (id, title, created, last_updated) "
                "VALUES ('s1', 'Old', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')"
            )
            db.execute(
                "INSERT INTO articles (key, title, fetched, sort_time, text, text_source, "
                "story_id, feed_url) VALUES ('k1', 'Old title', '2026-01-01T00:00:00Z', "
                "'2026-01-01T00:00:00Z', 'three word body', 'page', 's1', 'http://f/feed.xml')"
            )
            db.execute(
                "INSERT INTO article_feeds VALUES (1, 'http://f/feed.xml', '2026-01-01T00:00:00Z')"
            )
    db.commit()
    db.close()


def _columns(path) -> dict[str, list[str]]:
    db = sqlite3.connect(path)
    names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    found = {
        n: [c[1] for c in db.execute(f"PRAGMA table_info({n})")]
        for n in names
        if not n.startswith("sqlite_")
    }
    db.close()
    return found


@pytest.mark.parametrize("versions", range(1, len(LEGACY_SQLITE) + 1))
def test_a_store_of_the_sqlite_only_program_upgrades_without_loss(tmp_path, versions):
    old = tmp_path / "old"
    old.mkdir()
    _legacy_store(old / "aggregator.sqlite3", versions)
    with SqlStore(old) as store:
        assert store.schema_version() == LATEST
        (a,) = store.articles()
        assert (a.key, a.title, a.story_id, a.feeds) == (
            "k1",
            "Old title",
            "s1",
            ("http://f/feed.xml",),
        )
        assert store.feed_state("http://f/feed.xml").etag == '"v1"'
        assert store.body_health()["http://f/feed.xml"].median_words == 3
        assert [s.id for s in store.stories()] == ["s1"]
    SqlStore(tmp_path / "fresh").close()
    assert _columns(old / "aggregator.sqlite3") == _columns(
        tmp_path / "fresh" / "aggregator.sqlite3"
    )


def test_a_reader_upgrades_an_old_store_once(tmp_path):
    _legacy_store(tmp_path / "aggregator.sqlite3", 4)
    with SqlStore(tmp_path, readonly=True) as store:
        assert [a.key for a in store.articles()] == ["k1"]
        assert store.schema_version() == LATEST


def test_an_empty_database_is_no_store_for_readers(pg_url, tmp_path):
    with pytest.raises(StorageError, match="no aggregator store here yet"):
        SqlStore(location(tmp_path, pg_url), readonly=True)


def test_bad_urls_and_unreachable_servers_name_host_and_database(tmp_path, postgres_cluster):
    with pytest.raises(StorageError, match="only postgresql://"):
        location(tmp_path, "mysql://u@h/db")
    with pytest.raises(StorageError, match=r"postgresql://127\.0\.0\.1:1/nope: cannot connect"):
        SqlStore(location(tmp_path, "postgresql://u:secret@127.0.0.1:1/nope"))
    missing = postgres_cluster.url("no_such_db")
    with pytest.raises(StorageError, match="no_such_db: cannot connect") as caught:
        SqlStore(location(tmp_path, missing))
    assert "\n" not in str(caught.value) and "secret" not in str(caught.value)


def test_nested_transactions_keep_or_undo_their_writes(store_any):
    """Savepoints on both engines (PostgreSQL sends SAVEPOINT and RELEASE with the next
    statement)."""

    def feed(url: str) -> None:
        store_any.save_feed_state(FeedState(url=url))

    with store_any.atomic():
        feed("http://a.example/kept.xml")  # a savepoint, released
        with pytest.raises(ValueError), store_any.atomic():
            feed("http://a.example/undone.xml")
            raise ValueError
        with pytest.raises(ValueError), store_any.atomic():
            raise ValueError  # (PostgreSQL: before its SAVEPOINT was sent)
        with store_any.atomic():
            pass
        feed("http://a.example/after.xml")
    with pytest.raises(ValueError), store_any.atomic():
        feed("http://a.example/rolled-back.xml")
        raise ValueError
    with store_any.placing():
        store_any.add_article(article("p1", guid="g-p1"), placement("s9"), None)
        store_any.add_listing("p1", "http://b.example/other.xml")
    urls = [s.url for s in store_any.feed_states()]
    assert urls == ["http://a.example/after.xml", "http://a.example/kept.xml"]
    assert [a.key for a in store_any.articles()] == ["p1"]


def test_a_literal_percent_reaches_either_engine_as_written(store_any):
    db = store_any._db
    assert db.execute("SELECT '100%' AS x").fetchone()[0] == "100%"
    assert db.execute("SELECT '100%' AS x, ? AS y", (1,)).fetchone()[0] == "100%"


@pytest.mark.parametrize("inside", [True, False], ids=["in-placing", "alone"])
def test_an_article_stored_already_is_only_listed_and_touches_no_story(store_any, inside):
    store_any.add_article(article("a1"), placement("s1", title="Floods"), None)
    again = replace(article("a1", minutes=90), feed_url="http://127.0.0.1/other.xml")
    with store_any.placing() if inside else contextlib.nullcontext():
        first = store_any.add_article(again, placement("s9", title="Elsewhere"), None)
        kept = store_any.add_article(article("a2", minutes=1), placement("s1"), None)
    assert [(s.id, s.article_count) for s in store_any.stories()] == [("s1", 2)]
    assert [r[0] for r in store_any._db.execute("SELECT id FROM stories")] == ["s1"]  # no s9
    [a1] = [a for a in list(store_any.articles()) if a.key == "a1"]
    assert a1.id == first and kept != first
    assert sorted(a1.feeds) == sorted({article("a1").feed_url, "http://127.0.0.1/other.xml"})
    story = store_any.story("s1")
    assert story is not None and story.last_updated == article("a2", minutes=1).published


@pytest.mark.parametrize("readonly", [False, True], ids=["writer", "reader"])
def test_every_article_is_streamed_not_held_in_memory(tmp_path, database, readonly):
    where = location(tmp_path, database)
    with SqlStore(where) as store:
        for n in range(5):
            store.add_article(article(f"a{n}", minutes=n), placement("s1"), None)
    with SqlStore(where, readonly=readonly) as store:
        read = store.articles()
        first = next(read)
        if store.shared:  # PostgreSQL: the rest waits on the server, in a cursor of its own
            cursors = store._db.execute("SELECT count(*) FROM pg_cursors").fetchone()[0]
            assert cursors == 1
        assert [first.key, *(a.key for a in read)] == [f"a{n}" for n in range(5)]
        if store.shared:
            assert store._db.execute("SELECT count(*) FROM pg_cursors").fetchone()[0] == 0
