"""Commands that write to the store: run (the daemon, or one pass with --once), replay and
demo; and serve, which shares the daemon's web server.

run, replay and serve set up logging from the config themselves (LOGS_FROM_CONFIG).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from aggregator.cli import options
from aggregator.cli.common import (
    DEFAULT_STORAGE,
    build_pipeline,
    close_pipeline,
    load_optional_config,
    log,
    setup_logging,
    store_location,
)
from aggregator.config.model import Config, Settings, load_config, parse_config
from aggregator.errors import StorageError
from aggregator.store.engine import Location
from aggregator.store.sql import SqlStore

if TYPE_CHECKING:
    from aggregator.cli.options import Commands, Subparsers
    from aggregator.daemon.leases import FeedLeases
    from aggregator.pipeline import FeedOutcome, Pipeline

LOGS_FROM_CONFIG = frozenset({"run", "replay", "serve"})


def cmd_run(args: argparse.Namespace) -> int:
    from aggregator.daemon.lock import StorageLock

    config = load_config(Path(args.config))
    setup_logging(args.log_level or config.settings.log_level, config.settings.log_format)
    where = store_location(args, config)
    with StorageLock(where.directory, "run --once" if args.once else "run"):
        store = SqlStore(where)
        try:
            extracting = any(feed.extract for feed in config.feeds)
            pipeline = build_pipeline(config.settings, store, extracting=extracting)
            if args.once:
                return asyncio.run(_run_once(pipeline, config))
            return asyncio.run(_run_daemon(pipeline, config, where))
        finally:
            store.close()


async def _run_once(pipeline: Pipeline, config: Config) -> int:
    feeds, renewing = list(config.feeds), None
    leases = _leases(pipeline, config)
    try:
        if leases is not None:
            # a shared store: the feeds that daemons hold are theirs to poll
            taken = leases.take_free([feed.url for feed in feeds])
            feeds = [feed for feed in feeds if feed.url in taken]
            renewing = asyncio.create_task(_renew(leases))
        pipeline.retire_feeds(config.feeds)
        report = await pipeline.poll(feeds, progress=progress_printer(len(feeds)), alone=True)
    finally:
        if renewing is not None:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
        await close_pipeline(pipeline)
        if leases is not None:
            leases.release()
    if config.settings.retention is not None:
        pipeline.store.prune(datetime.now(UTC) - config.settings.retention)
    pipeline.save_snapshot()  # the next start takes the window back from it
    print(report.summary())
    if len(feeds) < len(config.feeds):
        held = len(config.feeds) - len(feeds)
        print(f"{held} feeds left to the daemons polling them (aggregator status)")
    return 0


def _leases(pipeline: Pipeline, config: Config) -> FeedLeases | None:
    """This process's side of the feed leases, on a store shared by several daemons."""
    if not (isinstance(pipeline.store, SqlStore) and pipeline.store.shared):
        return None
    from aggregator.daemon.leases import FeedLeases

    # a lease outlives about two poll timeouts without renewal
    return FeedLeases(pipeline.store, ttl=2 * config.settings.timeout.total_seconds())


async def _renew(leases: FeedLeases) -> None:
    """Renew a one-off pass's leases a few times per TTL, for as long as it polls."""
    while True:
        await asyncio.sleep(leases.ttl / 4)
        try:
            leases.renew()
        except StorageError as exc:  # the server restarting: the next turn tries again
            log.warning("leases not renewed: %s", exc)


def progress_printer(total: int) -> Callable[[FeedOutcome], None] | None:
    """A one-line progress display on a terminal (nothing when stderr is not a tty)."""
    if not sys.stderr.isatty() or total == 0:
        return None
    done = 0

    def show(outcome: FeedOutcome) -> None:
        nonlocal done
        done += 1
        width = 30
        filled = width * done // total
        name = (outcome.feed.name or outcome.feed.url)[:30]
        sys.stderr.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} feeds  {name:<30}"
        )
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


async def _run_daemon(pipeline: Pipeline, config: Config, directory: Location) -> int:
    from aggregator.daemon.metrics import Metrics
    from aggregator.daemon.scheduler import Daemon

    metrics = Metrics(directory)
    leases = _leases(pipeline, config)
    daemon = Daemon(config, pipeline, metrics=metrics, leases=leases)
    web_stop = asyncio.Event()
    web: asyncio.Task[None] | None = None
    http = config.settings.http
    if http.enabled:
        from aggregator.web import create_app, serve

        web = asyncio.create_task(
            serve(
                create_app(directory, metrics=metrics, http=http),
                host=http.host,
                port=http.port,
                stop=web_stop,
                on_ready=lambda url: log.info("serving readers at %s", url),
            )
        )
        await asyncio.sleep(0)
        if web.done():
            web.result()  # raises ConfigError when the address is in use
    try:
        await daemon.run()
    finally:
        web_stop.set()
        if web is not None:
            await web
        await close_pipeline(pipeline)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from aggregator.web import create_app, serve_until_signalled

    config = load_optional_config(Path(args.config), args.config_given)
    settings = config.settings if config else Settings()
    setup_logging(args.log_level or settings.log_level, settings.log_format)
    app = create_app(store_location(args, config), title=args.title, http=settings.http)
    asyncio.run(
        serve_until_signalled(
            app,
            host=args.host or settings.http.host,
            port=args.port if args.port is not None else settings.http.port,
            on_ready=lambda url: log.info("serving readers at %s", url),
        )
    )
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from aggregator.daemon.lock import StorageLock
    from aggregator.read.replay import arrivals, read_records, to_article

    config = load_optional_config(Path(args.config), args.config_given)
    settings = config.settings if config else Settings()
    setup_logging(args.log_level or settings.log_level, settings.log_format)
    where = store_location(args, config)
    now = datetime.now(UTC)
    articles = [
        to_article(record, arrived=arrived or now)
        for record, arrived in arrivals(read_records(Path(args.file)))
    ]
    with StorageLock(where.directory, "replay"):
        store = SqlStore(where)
        try:
            pipeline = build_pipeline(settings, store, fetching=False)
            counts = pipeline.ingest(articles, presorted=True)
        finally:
            store.close()
    print(
        f"replayed {len(articles)} records: {counts.new_articles} new articles, "
        f"{counts.already_known} already stored, {counts.duplicates} near-duplicates, "
        f"{counts.new_stories} new stories"
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from aggregator.daemon.lock import StorageLock
    from aggregator.demo.site import DemoSite
    from aggregator.read.digest import build_digest
    from aggregator.read.render import render
    from aggregator.store.engine import DB_NAME

    setup_logging(args.log_level or "warning")
    directory = Path(args.storage) if args.storage else DEFAULT_STORAGE / "demo"
    with StorageLock(directory, "demo"):
        for suffix in ("", "-wal", "-shm"):  # the demo starts from an empty store each time
            (directory / (DB_NAME + suffix)).unlink(missing_ok=True)
        with DemoSite() as site:
            config = parse_config(site.feeds_yaml())
            # every demo outlet is on one local host: no politeness delay is needed
            settings = replace(config.settings, host_delay=timedelta(0), per_host=8)
            store = SqlStore(directory)
            try:
                pipeline = build_pipeline(settings, store)

                async def once() -> str:
                    try:
                        return (await pipeline.poll(config.feeds)).summary()
                    finally:
                        await close_pipeline(pipeline)

                summary = asyncio.run(once())
                now = datetime.now(UTC)
                digest = build_digest(store, now=now, since=now - timedelta(days=7))
            finally:
                store.close()
    print(summary, file=sys.stderr)
    sys.stdout.write(render(digest, args.format, title="Demo digest"))
    print(
        f"\n(stored in {directory}; try: aggregator digest --storage {directory} --since 7d "
        "--format markdown)",
        file=sys.stderr,
    )
    return 0


def add_parsers(sub: Subparsers) -> None:
    """COMMANDS (at the end of this module), then each one's own options."""
    parsers = options.add_commands(sub, COMMANDS)
    parsers["run"].add_argument(
        "--once", action="store_true", help="poll every feed once, print a summary, exit"
    )
    parsers["replay"].add_argument(
        "file", help="JSON Lines file (fields as in shared/corpus/clusters)"
    )
    options.add_format(parsers["demo"], help="digest format")
    serve = parsers["serve"]
    serve.add_argument("--host", default=None, help="address to bind (default: settings.http.host)")
    serve.add_argument(
        "--port", type=int, default=None, help="port (default: settings.http.port, 8080)"
    )
    serve.add_argument("--title", default="News", help="site title")


COMMANDS: Commands = {
    "run": (
        cmd_run,
        "run the daemon (or one pass with --once)",
        "Poll every feed on its schedule and store what is new; --once polls once and exits.",
    ),
    "replay": (
        cmd_replay,
        "feed recorded articles (JSON Lines) through the pipeline",
        "Dedupe, cluster and store recorded articles in time order, as if from feeds.",
    ),
    "demo": (
        cmd_demo,
        "the whole pipeline offline on bundled sample news",
        "Serve bundled sample news on 127.0.0.1, run one pass, print the digest.",
    ),
    "serve": (
        cmd_serve,
        "serve readers over HTTP: web page, JSON API, feeds",
        "Serve the stored stories read-only: web pages, a JSON API and Atom/RSS/JSON feeds.",
    ),
}
