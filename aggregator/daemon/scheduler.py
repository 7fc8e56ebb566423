"""The daemon: APScheduler wiring, hot reload of feeds.yaml, clean shutdown.

One interval job per feed (jittered, never two at once, missed runs coalesced). A watcher
job notices edits to feeds.yaml (and SIGHUP) and reschedules without a restart; an invalid
edit is logged and the last good config stays in force. SIGTERM/SIGINT stop scheduling and
let in-flight polls finish within a grace period; a second signal cancels them at their next
await point, which is never inside a write transaction (writes are synchronous).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from aggregator.config.model import Config, FeedConfig, load_config
from aggregator.daemon.leases import FeedLeases
from aggregator.daemon.metrics import Metrics
from aggregator.errors import ConfigError, StorageError
from aggregator.pipeline import Pipeline
from aggregator.store.leases import LeaseLost

log = logging.getLogger(__name__)


WATCH_SECONDS = 2.0
# a poll the store could not serve (PostgreSQL restarting, say) is tried again this soon
RETRY_SECONDS = 3.0


@dataclass(frozen=True)
class JobSpec:
    url: str
    seconds: float
    jitter: float


def job_spec(feed: FeedConfig, jitter: float | timedelta) -> JobSpec:
    seconds = max(1.0, feed.interval.total_seconds())
    spread = jitter.total_seconds() if isinstance(jitter, timedelta) else seconds * float(jitter)
    return JobSpec(feed.url, seconds, min(spread, seconds / 2))


class Daemon:
    def __init__(
        self,
        config: Config,
        pipeline: Pipeline,
        *,
        grace_seconds: float = 30.0,
        on_cycle: Callable[[str], None] | None = None,
        metrics: Metrics | None = None,
        leases: FeedLeases | None = None,
    ):
        self.config = config
        self.pipeline = pipeline
        self.grace_seconds = grace_seconds
        self.on_cycle = on_cycle
        self.metrics = metrics
        self.leases = leases  # several daemons on one PostgreSQL: poll only what we hold
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self._feeds: dict[str, FeedConfig] = {}
        self._specs: dict[str, JobSpec] = {}
        self._inflight: set[asyncio.Task[Any]] = set()
        self._stop = asyncio.Event()
        self._signals = 0
        self._mtime = self._config_mtime()
        self._rng = random.Random()

    # ------------------------------------------------------------------ jobs
    def _config_mtime(self) -> float | None:
        path = self.config.path
        try:
            return path.stat().st_mtime if path else None
        except OSError:
            return None

    def apply(self, config: Config) -> None:
        """Schedule added feeds, unschedule removed ones, reschedule changed ones."""
        jitter = config.settings.jitter
        wanted = {feed.url: feed for feed in config.feeds}
        for url in list(self._feeds):
            if url not in wanted:
                self.scheduler.remove_job(url)
                del self._feeds[url], self._specs[url]
                log.info("feed removed: %s (its articles are kept)", url)
        if self.pipeline.retire_feeds(config.feeds):
            log.info(
                "deferred pages no poll will fetch were dropped (feeds removed or not extracting)"
            )
        for url, feed in wanted.items():
            spec = job_spec(feed, jitter)
            if url not in self._feeds:
                self.scheduler.add_job(
                    self._poll,
                    IntervalTrigger(seconds=spec.seconds, jitter=spec.jitter or None),
                    args=[url],
                    id=url,
                    name=feed.name,
                    max_instances=1,
                    coalesce=True,
                    misfire_grace_time=int(spec.seconds),
                    next_run_time=datetime.now(UTC),
                )
                if self._feeds:
                    log.info("feed added: %s", url)
            elif spec != self._specs[url]:
                self.scheduler.reschedule_job(
                    url, trigger=IntervalTrigger(seconds=spec.seconds, jitter=spec.jitter or None)
                )
                log.info("feed rescheduled: %s every %ss", url, int(spec.seconds))
            self._feeds[url] = feed
            self._specs[url] = spec
        self.config = config

    async def _poll(self, url: str) -> None:
        feed = self._feeds.get(url)
        if feed is None or self._stop.is_set():
            return
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            if self.leases is not None and not self.leases.acquire(url, len(self._feeds)):
                return  # another daemon polls this feed
            report = await self.pipeline.poll([feed])
            if self.metrics is not None:
                self.metrics.observe(report)
            line = f"{feed.name}: {report.summary()}"
            log.info(line)
            if self.on_cycle is not None:
                self.on_cycle(line)
            self._schedule_next(url)
        except LeaseLost as exc:
            log.warning("lease lost: %s", exc)
        except StorageError as exc:
            # the store is out of reach (a database restarting): nothing of this poll was
            # kept, so the feed is polled again once the store answers
            log.warning("%s: store unavailable, retrying in %ss: %s", url, RETRY_SECONDS, exc)
            self._poll_at(url, datetime.now(UTC) + timedelta(seconds=RETRY_SECONDS))
        finally:
            if task is not None:
                self._inflight.discard(task)

    def _poll_at(self, url: str, when: datetime) -> None:
        if self.scheduler.get_job(url) is not None and not self._stop.is_set():
            self.scheduler.modify_job(url, next_run_time=when)

    async def heartbeat(self) -> None:
        """Renew this daemon's leases; poll at once the feeds whose holder went quiet.

        A coroutine, so that it runs on the event loop with every other use of the store's
        connection (APScheduler runs plain functions in worker threads)."""
        if self.leases is None:
            return
        try:
            orphaned = self.leases.heartbeat(list(self._feeds))
        except StorageError as exc:
            log.warning("heartbeat failed (store unavailable): %s", exc)
            return
        for url in orphaned:
            self._poll_at(url, datetime.now(UTC))

    def prune(self) -> None:
        retention = self.config.settings.retention
        if retention is None:
            return
        result = self.pipeline.store.prune(datetime.now(UTC) - retention)
        if result["articles"]:
            log.info(
                "retention: removed %d articles and %d empty stories older than %s",
                result["articles"],
                result["stories"],
                retention,
            )

    async def _prune_job(self) -> None:
        # on the event loop, not in APScheduler's worker thread: the store's connection
        # belongs to the loop's thread
        self.prune()

    def _schedule_next(self, url: str) -> None:
        """Move the feed's next run to the time the pipeline decided (adaptive, backoff)."""
        state = self.pipeline.store.feed_state(url)
        spec = self._specs.get(url)
        if state is None or state.next_poll is None or spec is None or self._stop.is_set():
            return
        when = state.next_poll + timedelta(seconds=self._rng.uniform(0, spec.jitter))
        if self.scheduler.get_job(url) is not None:
            self.scheduler.modify_job(url, next_run_time=max(when, datetime.now(UTC)))

    def reload(self) -> bool:
        """Re-read feeds.yaml; keep the running config when the new one is invalid."""
        path = self.config.path
        if path is None:
            return False
        self._mtime = self._config_mtime()
        try:
            config = load_config(path)
        except ConfigError as exc:
            log.error("config not reloaded, keeping the previous one: %s", exc)
            return False
        self.apply(config)
        log.info("config reloaded: %d feeds", len(config.feeds))
        return True

    async def _watch(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), WATCH_SECONDS)
            if not self._stop.is_set() and self._config_mtime() != self._mtime:
                self.reload()

    # ------------------------------------------------------------------ lifecycle
    def _on_signal(self, signum: int) -> None:
        self._signals += 1
        if self._signals == 1:
            log.info("received %s: stopping after in-flight polls", signal.Signals(signum).name)
            self._stop.set()
        else:
            log.warning("second signal: cancelling in-flight polls")
            for task in list(self._inflight):
                task.cancel()

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)
        loop.add_signal_handler(signal.SIGHUP, self.reload)
        await self.pipeline.warm_up_async()
        self.apply(self.config)
        if self.config.settings.retention is not None:
            self.scheduler.add_job(
                self._prune_job,
                IntervalTrigger(hours=6),
                id="retention",
                max_instances=1,
                coalesce=True,
                next_run_time=datetime.now(UTC),
            )
        if self.leases is not None:
            await self.heartbeat()
            self.scheduler.add_job(
                self.heartbeat,
                IntervalTrigger(seconds=max(0.5, self.leases.ttl / 4)),
                id="heartbeat",
                max_instances=1,
                coalesce=True,
            )
        self.scheduler.start()
        log.info("daemon started: %d feeds", len(self._feeds))
        if self.leases is not None:
            log.info("sharing the store as daemon %s", self.leases.id)
        watcher = asyncio.create_task(self._watch())
        await self._stop.wait()
        # pause first: APScheduler's asyncio executor cancels running jobs on shutdown, and
        # in-flight polls must be allowed to finish within the grace period
        self.scheduler.pause()
        watcher.cancel()
        if self._inflight:
            _, pending = await asyncio.wait(set(self._inflight), timeout=self.grace_seconds)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=5)
        self.scheduler.shutdown(wait=False)
        self.pipeline.save_snapshot()  # the next start takes the window back from it
        if self.leases is not None:
            with contextlib.suppress(StorageError):
                self.leases.release()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)
        log.info("daemon stopped")
