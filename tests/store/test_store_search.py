"""Full-text search on both engines (SQLite's FTS5 on a real file, PostgreSQL's tsvector):
ranking, marks, stories, folded copies, every operator, and the index kept in step with the
articles (writes, page fills, pruning, merges, and the migration that indexes a store's
earlier rows)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from aggregator.errors import QueryError
from aggregator.read.search_query import parse_query
from aggregator.store.indexer import document, index_pending
from aggregator.store.schema import LATEST
from aggregator.store.search import MARK_END, MARK_START, SearchQuery, strip_marks
from aggregator.store.sqlite import DB_NAME, SqliteStore
from aggregator.types import NewArticle, PageFill, Placement
from tests.read.test_search_query import HOSTILE

T0 = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=2)
NORTH, SOUTH, WIRE = "https://north.test/feed", "https://south.test/feed", "https://wire.test/feed"

# key: (story, source, feed, tags, hours after T0, title, body, copy of)
ARTICLES = {
    "floods": ("s-floods", "North Times", NORTH, ("europe", "es"), 0, "Floods hit Valencia",
               "The River Turia burst its banks and rescue boats reached Paiporta.", None),
    "floods-copy": ("s-floods", "Wire Daily", WIRE, ("wire",), 1, "Floods hit Valencia",
                    "The River Turia burst its banks and rescue boats reached Paiporta.", "floods"),
    "rescue": ("s-floods", "South Herald", SOUTH, ("americas",), 2, "Rescue teams in Paiporta",
               "Teams searched homes after the Valencia floods cut the rail line.", None),
    "bank": ("s-bank", "North Times", NORTH, ("europe", "no"), 3, "Central bank raises rates",
             "Norges Bank lifted its rate in Oslo; the krone rose.", None),
    "cup": ("s-cup", "South Herald", SOUTH, ("sport",), 30, "Valencia wins the cup",
            "A football final in Seville: Valencia beat Betis.", None),
    "weather": ("s-weather", "North Times", NORTH, ("europe",), 40, "Weather for the week",
                "Rain over Valencia later, sun in the north.", None),
}  # fmt: skip


def add(store: SqliteStore, key: str) -> None:
    story, source, feed, tags, hours, title, body, copy_of = ARTICLES[key]
    when = T0 + timedelta(hours=hours)
    article = NewArticle(
        key=key,
        guid=key,
        url=f"https://{source.split()[0].lower()}.test/{key}",
        canonical_url=None,
        title=title,
        feed_url=feed,
        source=source,
        published=when,
        fetched=when,
        text=body,
        text_source="page",
        tags=tags,
    )
    first = next(k for k, row in ARTICLES.items() if row[0] == story) == key
    placement = Placement(story, 0.5, first, story_title=title if first else None)
    store.add_article(article, placement, copy_of)


@pytest.fixture
def store(tmp_path, database):
    from aggregator.store.engine import location

    s = SqliteStore(location(tmp_path, database))
    if s.shared:
        # PostgreSQL indexes beside the writes: here half the rows are indexed and half still
        # wait (no indexer runs), so that every search below meets both kinds of row
        s._indexer = None
    for key in ARTICLES:
        add(s, key)
    if s.shared:
        s._db.execute(f"UPDATE articles SET fts = {document()} WHERE key IN ({HALF})")
    yield s
    s.close()


HALF = ", ".join(f"'{key}'" for key in list(ARTICLES)[::2])


def search(store: SqliteStore, typed: str, **kw):
    return store.search(parse_query(typed, NOW), **kw)


def stories(store: SqliteStore, typed: str) -> list[str]:
    return [found.story.id for found in search(store, typed).stories]


def keys(store: SqliteStore, typed: str) -> list[str]:
    return [hit.article.key for found in search(store, typed).stories for hit in found.hits]


def test_titles_rank_above_bodies_and_results_are_stories(store):
    # "Valencia" is in the titles of floods and cup, in the bodies of rescue and weather
    results = search(store, "valencia")
    assert [f.story.id for f in results.stories][:2] in (
        ["s-floods", "s-cup"],
        ["s-cup", "s-floods"],
    )
    assert [f.story.id for f in results.stories][-1] == "s-weather"
    assert results.total == 3  # floods (with the rescue), cup, weather
    floods = results.stories[[f.story.id for f in results.stories].index("s-floods")]
    assert [h.article.key for h in floods.hits] == ["floods", "rescue"]  # title first
    assert floods.story.title and floods.story.source_count == 3


def test_matches_are_marked_in_titles_and_snippets(store):
    [found] = search(store, "turia").stories
    [hit] = found.hits
    assert f"{MARK_START}Turia{MARK_END}" in hit.snippet
    assert strip_marks(hit.snippet).startswith("The River Turia burst")
    [found] = search(store, "floods").stories
    assert f"{MARK_START}Floods{MARK_END} hit Valencia" == found.hits[0].title


def test_wire_copies_fold_into_their_original(store):
    [found] = search(store, "turia").stories
    assert [h.article.key for h in found.hits] == ["floods"]
    assert found.hits[0].copies == 1 and found.matches == 1
    # when the original is filtered out, the copy stands for itself
    assert keys(store, "turia source:wire") == ["floods-copy"]


def test_stemming_phrases_and_exclusions(store):
    assert "s-floods" in stories(store, "flood")  # "Floods"
    assert stories(store, '"central bank"') == ["s-bank"]
    assert stories(store, '"bank central"') == []
    assert "s-cup" not in stories(store, "valencia -football")
    assert stories(store, 'valencia -"football final" -rain') == ["s-floods"]


def test_source_tag_and_since(store):
    assert set(stories(store, "valencia source:south")) == {"s-floods", "s-cup"}
    assert stories(store, 'valencia source:"north times" -source:wire') == ["s-floods", "s-weather"]
    assert stories(store, "valencia source:nor") == []  # a name's words, not any prefix
    assert stories(store, "valencia tag:sport") == ["s-cup"]
    assert set(stories(store, "valencia -tag:sport")) == {"s-floods", "s-weather"}
    assert set(stories(store, "valencia tag:europe tag:es")) == {"s-floods"}
    assert set(stories(store, "valencia since:2026-11-11")) == {"s-cup", "s-weather"}
    assert stories(store, "valencia since:10h") == ["s-weather"]  # NOW - 10 h = T0 + 38 h


def test_filters_alone_list_newest_first(store):
    assert keys(store, "source:north") == ["weather", "bank", "floods"]
    assert keys(store, "-valencia") == ["bank"]  # the copy's original is in the floods story


def test_feed_min_sources_and_paging(store):
    query = parse_query("valencia", NOW)
    from dataclasses import replace

    assert {f.story.id for f in store.search(replace(query, feed=SOUTH)).stories} == {
        "s-floods",
        "s-cup",
    }
    assert [f.story.id for f in store.search(replace(query, min_sources=3)).stories] == ["s-floods"]
    everything = [f.story.id for f in store.search(query).stories]
    page = store.search(query, limit=2, offset=2)
    assert [f.story.id for f in page.stories] == everything[2:4]
    assert page.total == len(everything) and not page.has_next
    past = store.search(query, limit=2, offset=10)
    assert past.stories == () and past.total == len(everything)


def test_story_and_article_lists_take_the_same_search(store):
    found, total = store.find_stories(match=parse_query("rescue boats", NOW))
    assert [s.id for s in found] == ["s-floods"] and total == 1
    articles, total = store.find_articles(match=parse_query("turia", NOW))
    assert {a.key for a in articles} == {"floods", "floods-copy"}  # lists keep copies


@pytest.mark.parametrize("typed", HOSTILE)
def test_hostile_queries_never_fail_in_the_store(store, typed):
    try:
        query = parse_query(typed, NOW)
    except QueryError:
        return
    store.search(query)
    store.find_stories(match=query)


# ---------------------------------------------------------------------- index in step
def test_page_fills_prunes_and_merges_keep_the_index_in_step(store):
    store.fill_page(PageFill("weather", "Snow in Granada tonight.", "page", "h"))
    assert stories(store, "granada") == ["s-weather"]
    assert "s-weather" not in stories(store, "rain")
    store.merge_stories("s-floods", "s-weather")  # articles move: the index stays as it was
    assert stories(store, "granada") == ["s-floods"]
    store.prune(T0 + timedelta(hours=20))  # the floods' and bank's articles go
    assert stories(store, "turia") == []
    assert stories(store, "cup") == ["s-cup"]
    if not store.shared:  # FTS5's own check (PostgreSQL computes its column itself)
        assert store._db.execute(
            "INSERT INTO articles_fts(articles_fts, rank) VALUES ('integrity-check', 1)"
        )


def test_the_migration_indexes_earlier_rows(tmp_path):
    store = SqliteStore(tmp_path)
    for key in ("floods", "bank"):
        add(store, key)
    store.close()
    # as a store written before search existed: no index, schema one version behind
    with sqlite3.connect(tmp_path / DB_NAME) as db:
        for trigger in ("insert", "delete", "update"):
            db.execute(f"DROP TRIGGER articles_fts_{trigger}")
        db.execute("DROP TABLE articles_fts")
        db.execute("DROP INDEX articles_source_lower")
        db.execute("DROP TABLE stories_apart")  # (version 10)
        db.execute("PRAGMA user_version = 8")
    with SqliteStore(tmp_path, readonly=True) as reader:  # a reader upgrades it
        assert reader.schema_version() == LATEST
        assert [f.story.id for f in reader.search(SearchQuery(include=("krone",))).stories] == [
            "s-bank"
        ]


# ------------------------------------------------------------- PostgreSQL's indexer
def _waiting(store: SqliteStore) -> int:
    return int(store._db.execute("SELECT count(*) FROM articles WHERE fts IS NULL").fetchone()[0])


def test_postgresql_indexes_what_a_store_wrote_before_it_closes(pg_url, tmp_path):
    from aggregator.store.engine import location

    store = SqliteStore(location(tmp_path, pg_url))
    for key in ARTICLES:
        add(store, key)
    store.close()  # the indexer drains
    with SqliteStore(location(tmp_path, pg_url)) as again:
        assert _waiting(again) == 0
        assert stories(again, "paiporta") == ["s-floods"]


def test_an_edited_body_waits_for_the_indexer_and_is_found_meanwhile(pg_url, tmp_path):
    from aggregator.store.engine import location

    store = SqliteStore(location(tmp_path, pg_url))
    store._indexer = None  # the test runs the indexer's pass itself
    for key in ("bank", "weather"):
        add(store, key)
    assert index_pending(store._db) == 2 and _waiting(store) == 0
    store.merge_stories("s-bank", "s-weather")  # a move is not an edit
    assert _waiting(store) == 0
    store.fill_page(PageFill("weather", "Snow in Granada tonight.", "page", "h"))
    assert _waiting(store) == 1  # the trigger: the old document is gone with the old text
    assert stories(store, "granada") == ["s-bank"] and stories(store, "rain") == []
    assert stories(store, "granada -rain") == ["s-bank"]  # an exclusion reads the waiting row
    assert index_pending(store._db) == 1 and _waiting(store) == 0
    assert stories(store, "granada") == ["s-bank"] and stories(store, "rain") == []
    store.close()


def test_a_store_of_version_10_keeps_its_index_and_indexes_beside_the_writes(pg_url, tmp_path):
    from aggregator.store.engine import location

    where = location(tmp_path, pg_url)
    with SqliteStore(where) as store:
        store._indexer = None
        add(store, "bank")
        # back to version 10: the search column generated by the server itself
        for statement in (
            "DROP TRIGGER articles_fts_stale ON articles",
            "DROP FUNCTION articles_fts_stale",
            "DROP INDEX articles_unindexed",
            "ALTER TABLE articles DROP COLUMN fts",
            f"ALTER TABLE articles ADD COLUMN fts tsvector GENERATED ALWAYS AS ({document()}) "
            "STORED",
            "CREATE INDEX articles_fts ON articles USING gin (fts)",
            "UPDATE aggregator_schema SET version = 10",
        ):
            store._db.execute(statement)
    with SqliteStore(where) as store:
        assert store.schema_version() == LATEST
        generated = store._db.execute(
            "SELECT attgenerated FROM pg_attribute "
            "WHERE attrelid = 'articles'::regclass AND attname = 'fts'"
        ).fetchone()[0]
        assert generated == ""  # a plain column now
        assert _waiting(store) == 0  # the earlier row kept its document
        store._indexer = None
        add(store, "cup")
        assert _waiting(store) == 1
        assert stories(store, "seville") == ["s-cup"] and stories(store, "krone") == ["s-bank"]
