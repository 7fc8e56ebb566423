"""The `aggregator` command: builds the parts and passes them in.

Read-side commands (export, digest, status, explain) import nothing heavy and open the
store read-only, so they start fast and work while the daemon runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from aggregator.config.model import Config, Settings, load_config, parse_config, parse_duration
from aggregator.errors import AggregatorError, ConfigError
from aggregator.store.sqlite import SqliteStore

if TYPE_CHECKING:
    from aggregator.fetch.fetcher import FetchLimits
    from aggregator.pipeline import FeedOutcome, Pipeline

log = logging.getLogger("aggregator")

DEFAULT_CONFIG = Path("feeds.yaml")
DEFAULT_STORAGE = Path("storage")


# ---------------------------------------------------------------------- helpers
def setup_logging(level: str = "info", fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":

        class JsonFormatter(logging.Formatter):
            def format(self, record: logging.LogRecord) -> str:
                return json.dumps(
                    {
                        "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
                        "level": record.levelname.lower(),
                        "logger": record.name,
                        "message": record.getMessage(),
                    },
                    ensure_ascii=False,
                )

        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "apscheduler", "trafilatura", "hpack"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def load_optional_config(path: Path, explicit: bool) -> Config | None:
    """The config, or None when the default path does not exist (read-side commands)."""
    if not explicit and not path.exists():
        return None
    return load_config(path)


def reader_store(args: argparse.Namespace) -> SqliteStore:
    """The store, read-only, for the read-side commands (the config only says where it is)."""
    config = load_optional_config(Path(args.config), args.config_given)
    return SqliteStore(storage_dir(args, config), readonly=True)


def storage_dir(args: argparse.Namespace, config: Config | None) -> Path:
    if args.storage is not None:
        return Path(args.storage)
    if config is not None and config.settings.storage is not None:
        return Path(config.settings.storage)
    return DEFAULT_STORAGE


def build_pipeline(settings: Settings, store: SqliteStore, *, fetching: bool = True) -> Pipeline:
    from aggregator.cluster.clusterer import Clusterer, ClusterSettings
    from aggregator.identity.near import NearDuplicates
    from aggregator.pipeline import Pipeline

    fetcher = extractor = None
    if fetching:
        from aggregator.extract.body import Extractor
        from aggregator.fetch.fetcher import Fetcher, make_client

        limits = fetch_limits(settings)
        fetcher = Fetcher(make_client(limits), limits)
        extractor = Extractor()
    window = settings.window
    return Pipeline(
        store,
        fetcher,
        extractor,
        Clusterer(ClusterSettings(window=window)),
        NearDuplicates(window=window),
        window=window,
        min_interval=settings.min_interval,
        max_interval=settings.max_interval,
    )


def fetch_limits(settings: Settings) -> FetchLimits:
    from aggregator import USER_AGENT
    from aggregator.fetch.fetcher import FetchLimits

    # connect_timeout and max_redirects keep FetchLimits' defaults
    return FetchLimits(
        timeout=settings.timeout.total_seconds(),
        max_feed_bytes=settings.max_feed_bytes,
        max_page_bytes=settings.max_page_bytes,
        concurrency=settings.concurrency,
        per_host=settings.per_host,
        host_delay=settings.host_delay.total_seconds(),
        user_agent=settings.user_agent or USER_AGENT,
        allow_private=tuple(settings.allow_private),
    )


async def close_pipeline(pipeline: Pipeline) -> None:
    if pipeline.fetcher is not None:
        await pipeline.fetcher.aclose()
    if pipeline.extractor is not None:
        pipeline.extractor.close()


def write_output(text: str, output: str | None, stdout: TextIO) -> None:
    if output and output != "-":
        Path(output).write_text(text, encoding="utf-8")
    else:
        stdout.write(text)


# ---------------------------------------------------------------------- commands
def cmd_run(args: argparse.Namespace) -> int:
    from aggregator.daemon.lock import StorageLock

    config = load_config(Path(args.config))
    setup_logging(args.log_level or config.settings.log_level, config.settings.log_format)
    directory = storage_dir(args, config)
    with StorageLock(directory, "run --once" if args.once else "run"):
        store = SqliteStore(directory)
        try:
            pipeline = build_pipeline(config.settings, store)
            if args.once:
                return asyncio.run(_run_once(pipeline, config))
            return asyncio.run(_run_daemon(pipeline, config, directory))
        finally:
            store.close()


async def _run_once(pipeline: Pipeline, config: Config) -> int:
    try:
        report = await pipeline.poll(config.feeds, progress=progress_printer(len(config.feeds)))
    finally:
        await close_pipeline(pipeline)
    if config.settings.retention is not None:
        pipeline.store.prune(datetime.now(UTC) - config.settings.retention)
    print(report.summary())
    return 0


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


async def _run_daemon(pipeline: Pipeline, config: Config, directory: Path) -> int:
    from aggregator.daemon.metrics import Metrics
    from aggregator.daemon.scheduler import Daemon

    metrics = Metrics(directory)
    daemon = Daemon(config, pipeline, metrics=metrics)
    web_stop = asyncio.Event()
    web: asyncio.Task[None] | None = None
    http = config.settings.http
    if http.enabled:
        from aggregator.web import create_app, serve

        web = asyncio.create_task(
            serve(
                create_app(directory, metrics=metrics),
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
    app = create_app(storage_dir(args, config), title=args.title)
    asyncio.run(
        serve_until_signalled(
            app,
            host=args.host or settings.http.host,
            port=args.port if args.port is not None else settings.http.port,
            on_ready=lambda url: log.info("serving readers at %s", url),
        )
    )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from aggregator.read.export import export_lines

    store = reader_store(args)
    try:
        out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
        try:
            for line in export_lines(store.articles()):
                out.write(line)
        finally:
            if out is not sys.stdout:
                out.close()
    finally:
        store.close()
    return 0


def cmd_digest(args: argparse.Namespace) -> int:
    from aggregator.read.digest import build_digest
    from aggregator.read.render import render

    store = reader_store(args)
    now = datetime.now(UTC)
    try:
        since = None if args.since in ("all", "0") else now - parse_duration(args.since)
    except ValueError as exc:
        raise ConfigError(f"--since: {exc}") from None
    try:
        digest = build_digest(
            store, now=now, since=since, min_sources=args.min_sources, limit=args.limit
        )
    finally:
        store.close()
    write_output(render(digest, args.format, title=args.title), args.output, sys.stdout)
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from aggregator.daemon.lock import StorageLock
    from aggregator.read.replay import arrivals, read_records, to_article

    config = load_optional_config(Path(args.config), args.config_given)
    settings = config.settings if config else Settings()
    setup_logging(args.log_level or settings.log_level, settings.log_format)
    directory = storage_dir(args, config)
    now = datetime.now(UTC)
    articles = [
        to_article(record, arrived=arrived or now)
        for record, arrived in arrivals(read_records(Path(args.file)))
    ]
    with StorageLock(directory, "replay"):
        store = SqliteStore(directory)
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
    from aggregator.store.sqlite import DB_NAME

    setup_logging(args.log_level or "warning")
    directory = Path(args.storage) if args.storage else DEFAULT_STORAGE / "demo"
    with StorageLock(directory, "demo"):
        for suffix in ("", "-wal", "-shm"):  # the demo starts from an empty store each time
            (directory / (DB_NAME + suffix)).unlink(missing_ok=True)
        with DemoSite() as site:
            config = parse_config(site.feeds_yaml())
            # every demo outlet is on one local host: no politeness delay is needed
            settings = replace(config.settings, host_delay=timedelta(0), per_host=8)
            store = SqliteStore(directory)
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


def cmd_status(args: argparse.Namespace) -> int:
    store = reader_store(args)
    try:
        states = store.feed_states()
        counts = store.counts()
    finally:
        store.close()
    if args.json:
        payload = {
            "counts": counts,
            "feeds": [
                {
                    "url": s.url,
                    "name": s.name,
                    "last_polled": s.last_polled.isoformat() if s.last_polled else None,
                    "last_success": s.last_success.isoformat() if s.last_success else None,
                    "last_status": s.last_status,
                    "last_error": s.last_error,
                    "error_kind": s.error_kind,
                    "error_count": s.error_count,
                    "redirected_to": s.redirected_to,
                    "entries": s.entries,
                    "articles": s.articles,
                    "next_poll": s.next_poll.isoformat() if s.next_poll else None,
                    "gone": s.gone,
                }
                for s in states
            ],
        }
        print(json.dumps(payload, indent=2))
        return 0
    print(
        f"{counts['articles']} articles in {counts['stories']} stories "
        f"({counts['duplicates']} near-duplicates), {counts['feeds']} feeds"
    )
    for s in states:
        ok = s.last_success.strftime("%Y-%m-%d %H:%M") if s.last_success else "never"
        line = (
            f"- {s.name or s.url}: last success {ok}, HTTP {s.last_status}, {s.articles} articles"
        )
        if s.error_count:
            line += f", {s.error_count} errors (last: {s.error_kind}: {s.last_error})"
        if s.redirected_to:
            line += f", moved permanently to {s.redirected_to} (update feeds.yaml)"
        if s.gone:
            line += ", gone (HTTP 410): polled rarely"
        if s.next_poll:
            line += f", next poll {s.next_poll.strftime('%Y-%m-%d %H:%M')}"
        print(line)
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    store = reader_store(args)
    try:
        story = store.story(args.story)
        if story is None:
            print(f"no story {args.story!r} in {store.path}", file=sys.stderr)
            return 1
        articles = store.story_articles(story.id)
    finally:
        store.close()
    if story.id != args.story:
        print(f"{args.story} was merged into {story.id}")
    print(f"story {story.id}: {story.title}")
    print(f"{story.article_count} articles from {story.source_count} outlets")
    for a in articles:
        when = a.published.isoformat() if a.published else "?"
        print(f"- [{a.source}] {a.title} ({when})")
        if a.duplicate_of:
            print(f"    near-duplicate of {a.duplicate_of}")
        score = f"{a.score:.3f}" if a.score is not None else "-"
        print(f"    score {score}; evidence: {json.dumps(a.evidence, ensure_ascii=False)}")
    return 0


# ---------------------------------------------------------------------- feeds.yaml editing
def cmd_feeds_list(args: argparse.Namespace) -> int:
    from aggregator.config.editor import list_feeds
    from aggregator.config.model import format_duration

    feeds = list_feeds(Path(args.config))
    if args.json:
        rows = [
            {
                "url": f.url,
                "name": f.name,
                "tags": list(f.tags),
                "interval": format_duration(f.interval),
                "extract": f.extract,
                "line": f.line,
            }
            for f in feeds
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    for f in feeds:
        tags = f" [{', '.join(f.tags)}]" if f.tags else ""
        extract = "" if f.extract else ", feed text only"
        print(f"{f.name}{tags}: {f.url} (every {format_duration(f.interval)}{extract})")
    return 0


def cmd_feeds_add(args: argparse.Namespace) -> int:
    from aggregator.config.editor import add_feed

    feed = add_feed(
        Path(args.config),
        args.url,
        name=args.name,
        tags=args.tag or (),
        interval=args.interval,
        extract=args.extract,
    )
    print(f"added {feed.name}: {feed.url} ({args.config}:{feed.line})")
    return 0


def cmd_feeds_remove(args: argparse.Namespace) -> int:
    from aggregator.config.editor import remove_feed

    feed = remove_feed(Path(args.config), args.feed)
    print(f"removed {feed.name}: {feed.url}")
    return 0


def cmd_feeds_check(args: argparse.Namespace) -> int:
    from aggregator.config.editor import CheckResult, check_feeds
    from aggregator.fetch.fetcher import Fetcher, make_client

    if args.urls:  # the config, if any, still gives timeouts and the User-Agent
        config = load_optional_config(Path(args.config), args.config_given)
        urls = list(args.urls)
    else:
        config = load_config(Path(args.config))
        urls = [feed.url for feed in config.feeds]
    limits = fetch_limits(config.settings if config else Settings())

    async def check() -> list[CheckResult]:
        async with Fetcher(make_client(limits), limits) as fetcher:
            return await check_feeds(urls, fetcher)

    results = asyncio.run(check())
    if args.json:
        rows = [
            {
                "url": r.url,
                "ok": r.ok,
                "status": r.status,
                "final_url": r.final_url,
                "moved_to": r.moved_to,
                "format": r.format,
                "title": r.title,
                "entries": r.entries,
                "newest": r.newest.isoformat() if r.newest else None,
                "error": r.error,
                "error_kind": r.error_kind,
                "discovered": r.discovered,
            }
            for r in results
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        for r in results:
            print(r.describe())
    return 0 if all(r.ok for r in results) else 1


def cmd_feeds_import(args: argparse.Namespace) -> int:
    from aggregator.config.editor import import_opml

    try:
        data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", path=args.file) from exc
    added = import_opml(Path(args.config), data, source=args.file)
    for feed in added:
        print(f"added {feed.name}: {feed.url}")
    print(f"{len(added)} feeds added to {args.config}")
    return 0


def cmd_feeds_export(args: argparse.Namespace) -> int:
    from aggregator.config.editor import export_opml

    write_output(export_opml(load_config(Path(args.config))), args.output, sys.stdout)
    return 0


# ---------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    from aggregator import __version__
    from aggregator.read.render import FORMATS

    parser = argparse.ArgumentParser(
        prog="aggregator",
        description="Poll news feeds, group coverage of each event into stories, read digests.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=None, help="path to feeds.yaml (default ./feeds.yaml)")
    common.add_argument(
        "--storage", default=None, help="data directory (default: settings.storage, else ./storage)"
    )
    common.add_argument("--log-level", default=None, help="debug, info, warning or error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "run",
        parents=[common],
        help="run the daemon (or one pass with --once)",
        description="Poll every feed on its schedule and store what is new; --once polls once and exits.",
    )
    p.add_argument(
        "--once", action="store_true", help="poll every feed once, print a summary, exit"
    )
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "export",
        parents=[common],
        help="every stored article as JSON Lines",
        description="Write every stored article as one JSON object per line.",
    )
    p.add_argument("--output", "-o", default=None, help="write to this file instead of stdout")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "digest",
        parents=[common],
        help="the stories of a period",
        description="Stories of a period, biggest and newest first.",
    )
    p.add_argument("--since", default="24h", help="period, like 24h, 3d or 'all' (default 24h)")
    p.add_argument("--format", "-f", choices=FORMATS, default="text", help="output format")
    p.add_argument("--min-sources", type=int, default=1, help="only stories with this many outlets")
    p.add_argument("--limit", type=int, default=None, help="at most this many stories")
    p.add_argument("--title", default="News digest", help="title of the digest")
    p.add_argument("--output", "-o", default=None, help="write to this file instead of stdout")
    p.set_defaults(func=cmd_digest)

    p = sub.add_parser(
        "replay",
        parents=[common],
        help="feed recorded articles (JSON Lines) through the pipeline",
        description="Dedupe, cluster and store recorded articles in time order, as if from feeds.",
    )
    p.add_argument("file", help="JSON Lines file (fields as in shared/corpus/clusters)")
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser(
        "demo",
        parents=[common],
        help="the whole pipeline offline on bundled sample news",
        description="Serve bundled sample news on 127.0.0.1, run one pass, print the digest.",
    )
    p.add_argument("--format", "-f", choices=FORMATS, default="text", help="digest format")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "serve",
        parents=[common],
        help="serve readers over HTTP: web page, JSON API, feeds",
        description="Serve the stored stories read-only: web pages, a JSON API and Atom/RSS/JSON feeds.",
    )
    p.add_argument("--host", default=None, help="address to bind (default: settings.http.host)")
    p.add_argument(
        "--port", type=int, default=None, help="port (default: settings.http.port, 8080)"
    )
    p.add_argument("--title", default="News", help="site title")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "status",
        parents=[common],
        help="per-feed health and store counts",
        description="Per feed: last success, last error, HTTP status, articles stored.",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser(
        "explain",
        parents=[common],
        help="why a story's articles are grouped",
        description="Show a story's articles with their similarity scores and evidence.",
    )
    p.add_argument("story", help="story id (as in export's `story` field)")
    p.set_defaults(func=cmd_explain)
    p = sub.add_parser(
        "feeds",
        help="list, add, remove and check feeds; OPML import and export",
        description=(
            "Edit feeds.yaml in place: comments, order and formatting are kept, the result is "
            "validated before it is written, and a running daemon picks the change up."
        ),
    )
    feeds = p.add_subparsers(dest="feeds_command", required=True, metavar="ACTION")
    q = feeds.add_parser(
        "list",
        parents=[common],
        help="the feeds in feeds.yaml",
        description="List every feed with its name, tags, interval and URL.",
    )
    q.add_argument("--json", action="store_true", help="machine-readable output")
    q.set_defaults(func=cmd_feeds_list)
    q = feeds.add_parser(
        "add",
        parents=[common],
        help="add a feed (creates feeds.yaml if missing)",
        description="Append a feed to feeds.yaml; refused if its URL is already listed.",
    )
    q.add_argument("url", help="the feed's http(s) URL")
    q.add_argument("--name", default=None, help="the outlet's name (default: the URL's host)")
    q.add_argument(
        "--tag", action="append", default=None, help="a tag; repeat for several (--tag en)"
    )
    q.add_argument("--interval", default=None, help="poll interval, like 15m or 1h")
    q.add_argument(
        "--extract",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="fetch article pages and extract their bodies (default: yes)",
    )
    q.set_defaults(func=cmd_feeds_add)
    q = feeds.add_parser(
        "remove",
        parents=[common],
        help="remove a feed by URL or name",
        description="Remove the feed with this URL (compared canonically) or exactly this name.",
    )
    q.add_argument("feed", help="the feed's URL or name")
    q.set_defaults(func=cmd_feeds_remove)
    q = feeds.add_parser(
        "check",
        parents=[common],
        help="fetch and parse feeds now and report what they hold",
        description=(
            "Fetch and parse each URL given (default: every feed in feeds.yaml): HTTP status, "
            "format, title, entries, newest entry, or the error. Exit 1 if any failed."
        ),
    )
    q.add_argument("urls", nargs="*", metavar="URL", help="feeds to check (default: all listed)")
    q.add_argument("--json", action="store_true", help="machine-readable output")
    q.set_defaults(func=cmd_feeds_check)
    q = feeds.add_parser(
        "import-opml",
        parents=[common],
        help="add the feeds of an OPML file",
        description=(
            "Add every feed of an OPML file that feeds.yaml does not list yet; folder "
            "titles and categories become tags. Documents declaring XML entities are refused."
        ),
    )
    q.add_argument("file", help="the OPML file ('-' for stdin)")
    q.set_defaults(func=cmd_feeds_import)
    q = feeds.add_parser(
        "export-opml",
        parents=[common],
        help="the feeds as OPML 2.0",
        description="Write feeds.yaml's feeds as OPML 2.0; import-opml reads it back losslessly.",
    )
    q.add_argument("--output", "-o", default=None, help="write to this file instead of stdout")
    q.set_defaults(func=cmd_feeds_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.config_given = args.config is not None
    if args.config is None:
        args.config = str(DEFAULT_CONFIG)
    if args.command not in ("run", "replay", "serve"):
        setup_logging(args.log_level or "warning")
    try:
        return int(args.func(args))
    except AggregatorError as exc:
        print(f"aggregator {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
