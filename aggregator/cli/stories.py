"""`aggregator stories ACTION`: an operator's corrections of the clustering.

`split ARTICLE` takes an article (and its wire copies) out of its story into a story of its
own; `merge STORY STORY` joins the second story into the first. Both are recorded in the
store: they survive restarts and retention, a running daemon applies them before it places
its next articles, and an article split out never rejoins its old story by itself.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from aggregator.cli import options
from aggregator.cli.common import writer_store
from aggregator.identity.urls import canonical_url, is_http_url
from aggregator.types import Correction, iso_utc

if TYPE_CHECKING:
    from aggregator.cli.options import Commands, Subparsers


def _report(args: argparse.Namespace, correction: Correction, text: str) -> int:
    if args.json:
        payload = {
            "id": correction.id,
            "kind": correction.kind,
            "article": correction.article,
            "story": correction.story,
            "other": correction.other,
            "at": iso_utc(correction.at),
        }
        print(json.dumps(payload, indent=2))
    else:
        print(text)
    return 0


def cmd_split(args: argparse.Namespace) -> int:
    ref = args.article
    canonical = canonical_url(ref) if is_http_url(ref) else None
    with writer_store(args) as store:
        done = store.split_article(ref, canonical)
    return _report(
        args, done, f"article {done.article} left story {done.story}: now story {done.other}"
    )


def cmd_merge(args: argparse.Namespace) -> int:
    with writer_store(args) as store:
        done = store.merge_stories(args.story, args.other)
    return _report(args, done, f"story {done.story} merged into story {done.other}")


def add_parsers(sub: Subparsers) -> None:
    """`stories` with its ACTIONS (at the end of this module) and their arguments."""
    actions = options.add_group(sub, "stories", HELP, DESCRIPTION, ACTIONS)
    split = actions["split"]
    split.add_argument("article", help="the article: its key, number or link (as in export)")
    merge = actions["merge"]
    merge.add_argument("story", help="the story that stays (id as in export's `story`)")
    merge.add_argument("other", help="the story joined into it")
    for parser in actions.values():
        options.add_json(parser)


ACTIONS: Commands = {
    "split": (
        cmd_split,
        "take an article (and its wire copies) out of its story",
        "Move an article and its wire copies into a story of their own; the clusterer never "
        "merges it back into the story it left.",
    ),
    "merge": (
        cmd_merge,
        "join the second story into the first",
        "Join two stories: the second one's articles move to the first, and its id keeps "
        "resolving to the first.",
    ),
}

HELP = "correct the clustering: split an article out, merge two stories"
DESCRIPTION = (
    "Operators' corrections, kept in the store and respected by later placement "
    "(a running daemon applies them before its next articles)."
)
