"""Stage timing on PollReport, and storing that gives the event loop its turns."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from aggregator.cluster.clusterer import Clusterer
from aggregator.identity.near import NearDuplicates
from aggregator.pipeline import IngestCounts, Pipeline, ingest
from aggregator.store.engine import location
from aggregator.store.sql import SqlStore
from aggregator.timing import StageTimer
from aggregator.types import NewArticle

T0 = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)


def article(n: int) -> NewArticle:
    return NewArticle(
        key=f"a{n}",
        guid=f"a{n}",
        url=f"http://127.0.0.1/a{n}.html",
        canonical_url=f"http://127.0.0.1/a{n}.html",
        title=f"Harbour strike day {n}",
        feed_url="http://127.0.0.1/feed.xml",
        source="Feed",
        published=T0 + timedelta(minutes=n),
        fetched=T0 + timedelta(hours=1),
        text=f"Dock workers walked out on day {n} of the harbour strike.",
        text_source="feed",
    )


@pytest.fixture
def pipeline(tmp_path, database):
    store = SqlStore(location(tmp_path, database))
    yield Pipeline(store, None, None, Clusterer(), NearDuplicates())
    store.close()


def test_stage_timer_adds_calls_and_seconds():
    ticks = iter([0.0, 1.5, 10.0, 10.25])
    timer = StageTimer(clock=lambda: next(ticks))
    with timer.stage("parse"):
        pass
    with timer.stage("parse"):
        pass
    other = StageTimer()
    other.add("parse", 0.25, calls=3)
    timer.merge(other)
    assert timer.stages["parse"].calls == 5
    assert timer.stages["parse"].seconds == pytest.approx(2.0)
    assert timer.stages["parse"].mean_ms == pytest.approx(400.0)


def test_a_stage_that_fails_is_still_counted_and_the_error_goes_on():
    ticks = iter([0.0, 0.5])
    timer = StageTimer(clock=lambda: next(ticks))
    with pytest.raises(ValueError), timer.stage("store"):
        raise ValueError("disk full")
    assert (timer.stages["store"].calls, timer.stages["store"].seconds) == (1, 0.5)


def test_ingest_times_dedupe_cluster_and_store(pipeline):
    timer = StageTimer()
    counts = pipeline.ingest([article(1), article(2)], timer=timer)
    assert counts.new_articles == 2
    assert timer.stages["cluster"].calls == 2
    assert timer.stages["store"].calls == 2
    assert timer.stages["dedupe"].calls == 6  # exact lookup, near-duplicate find and add
    assert pipeline.ingest([article(1)], timer=timer).already_known == 1


def test_storing_gives_the_loop_a_turn_between_articles(pipeline):
    """With a zero time slice, another task runs between every two articles stored."""
    seen: list[int] = []

    async def main() -> None:
        stop = asyncio.Event()

        async def watcher() -> None:
            while not stop.is_set():
                seen.append(pipeline.store.counts()["articles"])
                await asyncio.sleep(0)

        task = asyncio.create_task(watcher())
        await asyncio.sleep(0)
        steps = pipeline.tail.ingesting(
            [article(n) for n in range(3)], False, StageTimer(), IngestCounts()
        )
        await ingest.yielding(steps, every=0.0)
        stop.set()
        await task

    asyncio.run(main())
    assert {1, 2} <= set(seen)  # the watcher ran while the store was part-way through


def test_a_task_woken_during_a_stretch_runs_before_the_next_stretch():
    """A task whose timer fell due while storing ran (a reader's request, another poll, the
    lag probe) runs before the next stretch, not after it. The loop runs its ready queue in
    order: the storing task, put back first, went ahead of the timer found due in the same
    iteration, and a task woken by that timer is one hop further back again."""
    order: list[str] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        woken: asyncio.Queue[int] = asyncio.Queue()

        async def sleeper() -> None:
            while (n := await woken.get()) >= 0:
                order.append(f"woken {n}")

        task = asyncio.create_task(sleeper())
        await asyncio.sleep(0)

        def steps():
            for n in range(3):
                order.append(f"stretch {n}")
                loop.call_later(0, woken.put_nowait, n)  # due at once: the timer fires
                yield

        await ingest.yielding(steps(), every=0.0)
        woken.put_nowait(-1)
        await task

    asyncio.run(main())
    assert order == ["stretch 0", "woken 0", "stretch 1", "woken 1", "stretch 2", "woken 2"]


def test_restoring_the_window_at_start_up_gives_the_loop_turns(tmp_path, monkeypatch, database):
    """The daemon's start-up restore yields like storing does (here: a clock that says every
    step took a second), and restores what the blocking warm_up restores."""
    store = SqlStore(location(tmp_path, database))
    Pipeline(store, None, None, Clusterer(), NearDuplicates()).ingest(
        [article(n) for n in range(4)]
    )
    blocking = Pipeline(store, None, None, Clusterer(), NearDuplicates())
    yielding = Pipeline(store, None, None, Clusterer(), NearDuplicates())
    ticks = iter(range(1000))
    monkeypatch.setattr("aggregator.pipeline.ingest.time.perf_counter", lambda: float(next(ticks)))
    turns: list[int] = []

    async def main() -> int:
        stop = asyncio.Event()

        async def watcher() -> None:
            while not stop.is_set():
                turns.append(len(yielding.clusterer.frequencies.df))
                await asyncio.sleep(0)

        task = asyncio.create_task(watcher())
        restored = await yielding.warm_up_async()
        stop.set()
        await task
        return restored

    try:
        assert asyncio.run(main()) == blocking.warm_up() == 4
        assert yielding.warm_up() == 0  # once only
        assert yielding.clusterer.frequencies.df == blocking.clusterer.frequencies.df
        assert len(set(turns)) >= 3  # the watcher saw the restore part-way, several times
    finally:
        store.close()


def test_each_run_of_steps_between_turns_is_one_batch_never_open_across_a_turn(monkeypatch):
    """yielding(batch=...) wraps the steps between two turns of the loop in one transaction
    (here: a clock that says every second step took a second)."""
    ticks = iter(range(0, 10_000))
    monkeypatch.setattr("aggregator.pipeline.ingest.time.perf_counter", lambda: next(ticks) * 0.6)
    events: list[str] = []

    class Batch:
        def __enter__(self) -> None:
            events.append("begin")

        def __exit__(self, *exc: object) -> None:
            events.append("commit")

    def steps():
        for n in range(5):
            events.append(f"step{n}")
            yield

    async def main() -> None:
        async def watcher() -> None:
            while True:
                events.append("turn")
                await asyncio.sleep(0)

        task = asyncio.create_task(watcher())
        await asyncio.sleep(0)
        await ingest.yielding(steps(), every=1.0, batch=Batch)
        task.cancel()

    asyncio.run(main())
    steps_seen = [e for e in events if e.startswith("step")]
    assert steps_seen == [f"step{n}" for n in range(5)]
    # every step inside a batch, and the loop's turns only between batches
    depth = 0
    for event in events:
        depth += {"begin": 1, "commit": -1}.get(event, 0)
        assert depth in (0, 1)
        if event == "turn":
            assert depth == 0
        if event.startswith("step"):
            assert depth == 1
    assert events.count("begin") == events.count("commit") >= 2
