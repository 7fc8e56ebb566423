"""`aggregator search QUERY`: the stories matching a search, best first, from the store.

The same search as the web page's box and /api/search (words, "phrases", -word, source:,
tag:, since:); read-only, so it works while the daemon runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aggregator.cli import options
from aggregator.cli.common import reader_store

if TYPE_CHECKING:
    from aggregator.cli.options import Commands, Subparsers

MAX_LIMIT = 200


def cmd_search(args: argparse.Namespace) -> int:
    from aggregator.read.search_query import parse_query
    from aggregator.read.search_results import results_text, stories_json

    query = parse_query(" ".join(args.query), datetime.now(UTC))
    with reader_store(args) as store:
        results = store.search(query, limit=args.limit, offset=args.offset)
    if args.json:
        doc = {
            "total": results.total,
            "limit": results.limit,
            "offset": results.offset,
            "stories": stories_json(results),
        }
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(results_text(results, bold=sys.stdout.isatty()))
    return 0 if results.total else 1


def _limit(value: str) -> int:
    number = int(value)
    if not 1 <= number <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"expected a number from 1 to {MAX_LIMIT}")
    return number


def _offset(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError("expected 0 or more")
    return number


def add_parsers(sub: Subparsers) -> None:
    parser = options.add_commands(sub, COMMANDS)["search"]
    # -word arguments are words to leave out, not options (see main.main)
    parser.set_defaults(dashed_words="query")
    parser.add_argument(
        "query",
        nargs="*",
        help='words, "phrases", -word, source:NAME, tag:TAG, since:2026-01-31 or since:7d',
    )
    parser.add_argument(
        "--limit",
        type=_limit,
        default=10,
        help=f"stories to show (default 10, at most {MAX_LIMIT})",
    )
    parser.add_argument("--offset", type=_offset, default=0, help="stories to skip (paging)")
    options.add_json(parser)


COMMANDS: Commands = {
    "search": (
        cmd_search,
        "full-text search over the stored articles",
        "Stories whose articles match a search, best match first, each with its best "
        "matching articles and the passage that matched. Exits 1 when nothing matches.",
    ),
}
