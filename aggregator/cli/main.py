"""The `aggregator` command: builds the parser from each command group and dispatches.

The groups: run.py (run, replay, demo, serve), read.py (export, digest, status, explain),
search.py (search), feeds.py (feeds ACTION), stories.py (stories ACTION) and users.py (users ACTION); what they share is in common.py, their shared options in options.py.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from aggregator.cli import feeds, migrate, read, run, search, stories, users
from aggregator.cli.common import DEFAULT_CONFIG, setup_logging
from aggregator.errors import AggregatorError

HELP_ORDER = [
    "run",
    "export",
    "digest",
    "search",
    "replay",
    "demo",
    "serve",
    "status",
    "explain",
    "stories",
    "feeds",
    "users",
    "migrate",
]


def build_parser() -> argparse.ArgumentParser:
    from aggregator import __version__

    parser = argparse.ArgumentParser(
        prog="aggregator",
        description="Poll news feeds, group coverage of each event into stories, read digests.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in (run, read, search, feeds, stories, users, migrate):
        group.add_parsers(sub)
    # --help lists the commands in the order users meet them, not by group
    listed = sub._choices_actions  # argparse keeps no public handle on this order
    listed.sort(key=lambda a: HELP_ORDER.index(a.dest) if a.dest in HELP_ORDER else len(HELP_ORDER))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    words = getattr(args, "dashed_words", None)
    if extra and words and all(e.startswith("-") and not e.startswith("--") for e in extra):
        # `aggregator search floods -football`: a search's -word is not an option
        setattr(args, words, [*getattr(args, words), *extra])
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.config_given = args.config is not None
    if args.config is None:
        args.config = str(DEFAULT_CONFIG)
    if args.command not in run.LOGS_FROM_CONFIG:
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
