"""The clustering window saved at shutdown and taken back at the next start (snapshot.py):
written, reused, rejected when stale, damaged or planted, and a restart from it places the
next articles exactly as the process that saved it would have."""

from __future__ import annotations

import logging
import pickle
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.cluster.clusterer import Clusterer, ClusterSettings
from aggregator.identity.near import NearDuplicates
from aggregator.pipeline import Pipeline
from aggregator.pipeline import snapshot as snapshotmod
from aggregator.store.sqlite import SqliteStore
from aggregator.types import NewArticle

T0 = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)
EVENTS = [
    ("Harbour strike", "Dock workers at Rotterdam walked out over pay; ships wait offshore."),
    ("Volcano erupts", "Mount Etna sent ash over Catania; flights from Sicily were halted."),
    ("Central bank rates", "The Riksbank raised its rate to 4.75 percent, citing inflation."),
    ("Chess final", "Magnus Carlsen beat Ding Liren in the Oslo rapid final on Sunday."),
]
WIRE = " ".join(f"word{n}" for n in range(60))  # one body every fourth article copies


def article(n: int) -> NewArticle:
    title, body = EVENTS[n % len(EVENTS)]
    text = f"{body} Report {n} from outlet {n % 3}. " + (WIRE if n % 4 == 1 else "")
    return NewArticle(
        key=f"a{n}",
        guid=f"a{n}",
        url=f"http://127.0.0.1/a{n}.html",
        canonical_url=f"http://127.0.0.1/a{n}.html",
        title=f"{title}: update {n}",
        feed_url=f"http://127.0.0.1/feed{n % 3}.xml",
        source=f"Outlet {n % 3}",
        published=T0 + timedelta(minutes=7 * n),
        fetched=T0 + timedelta(hours=12),
        text=text,
        text_source="feed",
    )


def pipeline(store: SqliteStore, **settings: object) -> Pipeline:
    path = store.directory / snapshotmod.FILE_NAME
    clusterer = Clusterer(ClusterSettings(**settings))  # type: ignore[arg-type]
    return Pipeline(store, None, None, clusterer, NearDuplicates(), snapshot=path)


def placements(store: SqliteStore) -> dict[str, str | None]:
    return {a.key: a.story_id for a in store.articles()}


@pytest.fixture
def saved(tmp_path: Path):
    """A store of 24 articles whose pipeline saved its window at the end."""
    store = SqliteStore(tmp_path / "store")
    first = pipeline(store)
    first.ingest([article(n) for n in range(24)])
    assert first.save_snapshot()
    yield store
    store.close()


def test_the_window_is_saved_and_taken_back_without_replaying_the_store(saved):
    assert (saved.directory / snapshotmod.FILE_NAME).exists()
    again = pipeline(saved)
    assert again.warm_up() == 0  # nothing replayed
    assert len(again.clusterer) > 1
    assert again.clusterer.story_of("a5") == placements(saved)["a5"]
    assert len(again.near_duplicates) == len([n for n in range(24) if n % 4 == 1])


def test_a_restart_from_the_snapshot_places_as_the_process_that_saved_it(tmp_path):
    later = [article(n) for n in range(24, 40)]
    # one process that never stops ...
    kept = SqliteStore(tmp_path / "kept")
    running = pipeline(kept)
    running.ingest([article(n) for n in range(24)])
    running.ingest(later)
    # ... and one that saved its window, stopped and started again from it
    restarted = SqliteStore(tmp_path / "restarted")
    first = pipeline(restarted)
    first.ingest([article(n) for n in range(24)])
    first.save_snapshot()
    second = pipeline(restarted)
    counts = second.ingest(later)
    try:
        assert second.warm_up() == 0
        assert counts.new_articles == 16
        assert placements(restarted) == placements(kept)
        assert second.clusterer.state()["tick"] == running.clusterer.state()["tick"]
    finally:
        kept.close()
        restarted.close()


def test_a_snapshot_older_than_the_store_is_rebuilt_from_it(saved, caplog):
    crashed = pipeline(saved)  # stores an article, then dies without saving
    crashed.ingest([article(24)])
    again = pipeline(saved)
    with caplog.at_level(logging.INFO, logger="aggregator.pipeline.snapshot"):
        restored = again.warm_up()
    assert restored == 25  # the whole window, from the store
    assert "the store changed since" in caplog.text
    assert again.clusterer.story_of("a24") == placements(saved)["a24"]


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # cut short
        lambda data: data[:-40] + bytes(40),  # payload overwritten
        lambda data: b"not a pickle at all",
    ],
)
def test_a_damaged_snapshot_is_rebuilt_from_the_store(saved, damage, caplog):
    path = saved.directory / snapshotmod.FILE_NAME
    path.write_bytes(damage(path.read_bytes()))
    again = pipeline(saved)
    with caplog.at_level(logging.INFO, logger="aggregator.pipeline.snapshot"):
        assert again.warm_up() == 24
    assert "rebuilding the window from the store" in caplog.text
    assert again.clusterer.story_of("a5") == placements(saved)["a5"]


class Planted:
    def __reduce__(self):  # unpickling would call this
        return (Path("planted").touch, ())


def test_a_planted_file_cannot_run_code(saved, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = saved.directory / snapshotmod.FILE_NAME
    path.write_bytes(pickle.dumps({"format": snapshotmod.FORMAT, "x": Planted()}))
    assert pipeline(saved).warm_up() == 24
    assert not (tmp_path / "planted").exists()


def test_a_snapshot_of_other_settings_is_rebuilt(saved):
    assert pipeline(saved, threshold=0.31).warm_up() == 24


def test_corrections_made_after_the_snapshot_are_applied_on_top(saved):
    stories = sorted(set(placements(saved).values()))
    absorbed, survivor = stories[0], stories[1]
    saved.merge_stories(absorbed, survivor)
    again = pipeline(saved)
    again.warm_up()
    article_of_absorbed = next(k for k, s in placements(saved).items() if s == absorbed)
    assert again.clusterer.story_of(article_of_absorbed) == saved.resolve_story_id(absorbed)


def test_nothing_is_saved_when_the_window_was_never_loaded(tmp_path):
    store = SqliteStore(tmp_path)
    try:
        assert not pipeline(store).save_snapshot()
        assert not (tmp_path / snapshotmod.FILE_NAME).exists()
    finally:
        store.close()
