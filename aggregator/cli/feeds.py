"""`aggregator feeds ACTION`: list, add, remove and check the feeds of feeds.yaml; OPML import
and export. The editing itself (keeping comments and order) is config.editor's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from aggregator.cli import options
from aggregator.cli.common import fetch_limits, load_optional_config, write_output
from aggregator.config.model import Settings, load_config
from aggregator.errors import ConfigError

if TYPE_CHECKING:
    from aggregator.cli.options import Commands, Subparsers


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
    from aggregator.config.check import CheckResult, check_feeds
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


def add_parsers(sub: Subparsers) -> None:
    """`feeds` with its ACTIONS (at the end of this module) and their options."""
    actions = options.add_group(sub, "feeds", HELP, DESCRIPTION, ACTIONS)
    options.add_json(actions["list"])
    add = actions["add"]
    add.add_argument("url", help="the feed's http(s) URL")
    add.add_argument("--name", default=None, help="the outlet's name (default: the URL's host)")
    add.add_argument(
        "--tag", action="append", default=None, help="a tag; repeat for several (--tag en)"
    )
    add.add_argument("--interval", default=None, help="poll interval, like 15m or 1h")
    add.add_argument(
        "--extract",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="fetch article pages and extract their bodies (default: yes)",
    )
    actions["remove"].add_argument("feed", help="the feed's URL or name")
    check = actions["check"]
    check.add_argument(
        "urls", nargs="*", metavar="URL", help="feeds to check (default: all listed)"
    )
    options.add_json(check)
    actions["import-opml"].add_argument("file", help="the OPML file ('-' for stdin)")
    options.add_output(actions["export-opml"])


ACTIONS: Commands = {
    "list": (
        cmd_feeds_list,
        "the feeds in feeds.yaml",
        "List every feed with its name, tags, interval and URL.",
    ),
    "add": (
        cmd_feeds_add,
        "add a feed (creates feeds.yaml if missing)",
        "Append a feed to feeds.yaml; refused if its URL is already listed.",
    ),
    "remove": (
        cmd_feeds_remove,
        "remove a feed by URL or name",
        "Remove the feed with this URL (compared canonically) or exactly this name.",
    ),
    "check": (
        cmd_feeds_check,
        "fetch and parse feeds now and report what they hold",
        "Fetch and parse each URL given (default: every feed in feeds.yaml): HTTP status, "
        "format, title, entries, newest entry, or the error. Exit 1 if any failed.",
    ),
    "import-opml": (
        cmd_feeds_import,
        "add the feeds of an OPML file",
        "Add every feed of an OPML file that feeds.yaml does not list yet; folder "
        "titles and categories become tags. Documents declaring XML entities are refused.",
    ),
    "export-opml": (
        cmd_feeds_export,
        "the feeds as OPML 2.0",
        "Write feeds.yaml's feeds as OPML 2.0; import-opml reads it back losslessly.",
    ),
}

HELP = "list, add, remove and check feeds; OPML import and export"
DESCRIPTION = (
    "Edit feeds.yaml in place: comments, order and formatting are kept, the result is "
    "validated before it is written, and a running daemon picks the change up."
)
