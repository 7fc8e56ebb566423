"""The store on both engines (SQLite, and PostgreSQL when installed): migrations, one
transaction per article, merges that keep ids."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from aggregator.errors import StorageError
from aggregator.store import FeedState
from aggregator.store.engine import location
from aggregator.store.schema import LATEST
from aggregator.store.sql import SqlStore
from aggregator.store.sqlite import SqliteStore
from aggregator.types import NewArticle, Placement

T0 = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)


def article(
    key: str, *, minutes: int = 0, url: str | None = None, guid: str | None = None
) -> NewArticle:
    return NewArticle(
        key=key,
        guid=guid,
        url=url,
        canonical_url=url,
        title=f"Title {key}",
        feed_url="http://127.0.0.1/feed.xml",
        source="Feed",
        published=T0 + timedelta(minutes=minutes),
        fetched=T0 + timedelta(hours=1),
        text=f"Body of {key}",
        text_source="page",
        tags=("world",),
    )


def placement(
    story: str, *, merges: tuple[tuple[str, str], ...] = (), title: str = "Story"
) -> Placement:
    return Placement(story_id=story, score=0.5, new_story=False, merges=merges, story_title=title)


@pytest.fixture
def store(tmp_path, database):
    s = SqlStore(location(tmp_path, database))
    yield s
    s.close()


def test_migrations_set_the_schema_version_and_wal(store):
    assert store.schema_version() == LATEST
    if not store.shared:
        assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_newer_schema_is_refused(tmp_path):
    SqliteStore(tmp_path).close()
    with sqlite3.connect(tmp_path / "aggregator.sqlite3") as db:
        db.execute(f"PRAGMA user_version = {LATEST + 1}")
    with pytest.raises(StorageError, match="newer than this program"):
        SqliteStore(tmp_path)


def test_readonly_store_on_a_missing_database_says_so(tmp_path):
    with pytest.raises(StorageError, match="no database here yet"):
        SqliteStore(tmp_path / "none", readonly=True)


def test_article_story_and_listing_round_trip(store):
    store.add_article(article("a1", url="https://x.example/1", guid="g1"), placement("s1"), None)
    store.add_article(article("a2", minutes=5, url="https://y.example/2"), placement("s1"), "a1")
    store.add_listing("a1", "http://127.0.0.1/other.xml")
    stored = {a.key: a for a in store.articles()}
    assert stored["a2"].duplicate_of == "https://x.example/1"
    assert set(stored["a1"].feeds) == {"http://127.0.0.1/feed.xml", "http://127.0.0.1/other.xml"}
    (story,) = store.stories()
    assert (story.id, story.article_count, story.source_count) == ("s1", 2, 1)
    assert story.first_published == T0 and story.last_updated == T0 + timedelta(minutes=5)
    assert [r.key for r in store.lookup("g1", None)] == ["a1"]
    assert [r.key for r in store.lookup(None, "https://y.example/2")] == ["a2"]


def test_merge_keeps_the_surviving_id_and_records_the_absorbed_one(store):
    store.add_article(article("a1"), placement("old"), None)
    store.add_article(article("a2", minutes=1), placement("young"), None)
    store.add_article(article("a3", minutes=2), placement("old", merges=(("young", "old"),)), None)
    assert [s.id for s in store.stories()] == ["old"]
    assert store.resolve_story_id("young") == "old"
    assert store.story("young").id == "old"
    assert {a.story_id for a in store.articles()} == {"old"}


def test_articles_moved_by_a_split_go_to_their_new_story(store):
    # the clusterer found two events in story "s1" (cluster/split.py): a2 and the new a3 leave
    store.add_article(article("a1"), placement("s1"), None)
    store.add_article(article("a2", minutes=5), placement("s1", title="Title a2"), None)
    moves = (("a2", "a2"), ("a3", "a2"))
    split = Placement(
        story_id="a2", score=0.5, new_story=False, story_title="Title a3", moves=moves
    )
    store.add_article(article("a3", minutes=9), split, None)
    assert {a.key: a.story_id for a in store.articles()} == {"a1": "s1", "a2": "a2", "a3": "a2"}
    stories = {s.id: s for s in store.stories()}
    assert (stories["s1"].article_count, stories["s1"].title) == (1, "Title a1")
    assert stories["s1"].last_updated == T0
    assert stories["a2"].article_count == 2
    assert stories["a2"].first_published == T0 + timedelta(minutes=5)
    assert store.stories_apart() == [("s1", "a2")]  # a window rebuilt from here keeps them apart
    assert store.corrections() == []  # not an operator's correction


def test_a_window_rebuilt_from_the_store_keeps_a_split_apart(tmp_path, database):
    from aggregator.cli.common import build_pipeline
    from aggregator.config.model import Settings

    with SqlStore(location(tmp_path, database)) as store:
        store.add_article(article("a1"), placement("s1"), None)
        store.add_article(article("a2", minutes=5), placement("s1"), None)
        split = Placement(story_id="a2", score=0.5, new_story=False, moves=(("a2", "a2"),))
        store.add_article(article("a3", minutes=9), split, None)
    with SqlStore(location(tmp_path, database)) as store:  # a restart, no snapshot saved
        pipeline = build_pipeline(Settings(), store, fetching=False)
        pipeline.warm_up()
        clusterer = pipeline.tail.clusterer
        assert clusterer._kept_apart("s1", "a2") and clusterer._kept_apart("a2", "s1")
        assert not clusterer._kept_apart("s1", "other")


def test_a_daemon_learns_of_a_split_another_daemon_made(tmp_path, pg_url):
    """Two daemons on one PostgreSQL store: B's memory holds a story that A's clusterer then
    splits; B moves the articles too, at its next look, and keeps the two stories apart."""
    from aggregator.cli.common import build_pipeline
    from aggregator.config.model import Settings

    with (
        SqlStore(location(tmp_path / "a", pg_url)) as a,
        SqlStore(location(tmp_path / "b", pg_url)) as b,
    ):
        for n, key in enumerate(("a1", "a2", "a3")):
            a.add_article(article(key, minutes=n), placement("s1"), None)
        daemon_b = build_pipeline(Settings(), b, fetching=False)
        daemon_b.warm_up()
        clusterer = daemon_b.tail.clusterer
        assert [clusterer.story_of(k) for k in ("a1", "a2", "a3")] == ["s1"] * 3
        split = Placement(
            story_id="a2", score=0.5, new_story=False, moves=(("a2", "a2"), ("a3", "a2"))
        )
        a.add_article(article("a4", minutes=9), split, None)  # A's clusterer split s1
        daemon_b.tail.apply_corrections()  # B's next look (before each batch it places)
        assert [clusterer.story_of(k) for k in ("a1", "a2", "a3")] == ["s1", "a2", "a2"]
        assert clusterer._kept_apart("s1", "a2")
        daemon_b.tail.apply_corrections()  # a second look moves nothing again
        assert [clusterer.story_of(k) for k in ("a1", "a2", "a3")] == ["s1", "a2", "a2"]


def test_a_failed_write_leaves_nothing_behind(store):
    store.add_article(article("a1"), placement("s1"), None)
    with pytest.raises(StorageError), store.atomic():
        store.add_article(article("a2"), placement("s2"), None)
        store._query("SELECT * FROM no_such_table")
    assert [a.key for a in store.articles()] == ["a1"]
    assert [s.id for s in store.stories()] == ["s1"]


def test_feed_state_round_trip(store):
    state = FeedState(
        url="http://127.0.0.1/f.xml", name="F", etag='"x"', last_success=T0, error_count=2
    )
    store.save_feed_state(state)
    again = store.feed_state(state.url)
    assert again is not None and again.etag == '"x"' and again.last_success == T0
    assert again.error_count == 2


def test_recent_docs_are_in_time_order_within_the_window(store):
    store.add_article(article("late", minutes=30), placement("s1"), None)
    store.add_article(article("early", minutes=10), placement("s1"), None)
    store.add_article(article("old", minutes=-60 * 24 * 5), placement("s0"), None)
    docs = [d.id for d, _ in store.recent_docs(T0 - timedelta(days=1))]
    assert docs == ["early", "late"]


def test_prune_deletes_old_articles_and_empty_stories_and_keeps_the_rest_consistent(store):
    store.add_article(article("old1", minutes=-3000), placement("s-old"), None)
    store.add_article(article("old2", minutes=-2900), placement("s-mixed"), None)
    store.add_article(article("new1", minutes=10), placement("s-mixed"), "old2")
    store.add_article(article("new2", minutes=20), placement("s-new"), None)
    store.add_article(
        article("new3", minutes=30), placement("s-new", merges=(("s-old", "s-new"),)), None
    )
    result = store.prune(T0)
    assert result["articles"] == 2
    assert sorted(a.key for a in store.articles()) == ["new1", "new2", "new3"]
    assert {s.id for s in store.stories()} == {"s-mixed", "s-new"}
    new1 = next(a for a in store.articles() if a.key == "new1")
    assert new1.duplicate_of is None  # its original is gone
    assert store.resolve_story_id("s-old") == "s-new"  # the merge record still resolves
    assert store.integrity_check() == "ok"
    if not store.shared:  # PostgreSQL checks foreign keys on every statement
        fk = store._db.execute("PRAGMA foreign_key_check").fetchall()
        assert fk == []
