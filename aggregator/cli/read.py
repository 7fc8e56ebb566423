"""Read-side commands: export, digest, status and explain.

They import nothing heavy and open the store read-only, so they start fast and work while the
daemon runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aggregator.cli import options
from aggregator.cli.common import reader_store, write_output
from aggregator.config.model import parse_duration
from aggregator.errors import ConfigError
from aggregator.store import BodyHealth

if TYPE_CHECKING:
    from aggregator.cli.options import Commands, Subparsers


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


def _bodies_json(health: BodyHealth | None) -> dict[str, Any]:
    health = health or BodyHealth()
    return {
        "page": health.page,
        "feed": health.feed,
        "none": health.none,
        "median_words": health.median_words,
    }


def _bodies_text(health: BodyHealth) -> str:
    """ "92% page, 8% feed, 0% none, median 640 words": which sites need attention."""
    shares = ", ".join(f"{health.share(s):.0%} {s}" for s in ("page", "feed", "none"))
    return f"{shares}, median {health.median_words} words"


def cmd_status(args: argparse.Namespace) -> int:
    with reader_store(args) as store:
        overview = store.overview()
        shared, daemons = store.shared, store.daemons()
    counts, waiting, bodies = overview.counts, overview.pages_waiting, overview.bodies
    polled_by = {url: d.id for d in daemons for url in d.feeds}
    if args.json:
        payload: dict[str, object] = {"counts": counts}
        if shared:  # several daemons share a PostgreSQL store: who polls what
            payload["daemons"] = [
                {
                    "id": d.id,
                    "host": d.host,
                    "pid": d.pid,
                    "started": d.started.isoformat() if d.started else None,
                    "last_seen": d.last_seen.isoformat() if d.last_seen else None,
                    "feeds": list(d.feeds),
                }
                for d in daemons
            ]
        payload |= {
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
                    "pages_waiting": waiting.get(s.url, 0),
                    "bodies": _bodies_json(bodies.get(s.url)),
                }
                | ({"daemon": polled_by.get(s.url)} if shared else {})
                for s in overview.feeds
            ],
        }
        print(json.dumps(payload, indent=2))
        return 0
    print(
        f"{counts['articles']} articles in {counts['stories']} stories "
        f"({counts['duplicates']} near-duplicates), {counts['feeds']} feeds"
    )
    for s in overview.feeds:
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
        if waiting.get(s.url):
            line += f", {waiting[s.url]} pages waiting"
        if s.url in bodies:
            line += f", bodies {_bodies_text(bodies[s.url])}"
        if s.next_poll:
            line += f", next poll {s.next_poll.strftime('%Y-%m-%d %H:%M')}"
        if s.url in polled_by:
            line += f", polled by {polled_by[s.url]}"
        print(line)
    for d in daemons:
        seen = d.last_seen.strftime("%Y-%m-%d %H:%M:%S") if d.last_seen else "never"
        print(f"daemon {d.id} (host {d.host}, pid {d.pid}): last seen {seen}, {len(d.feeds)} feeds")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    store = reader_store(args)
    try:
        story = store.story(args.story)
        if story is None:
            print(f"no story {args.story!r} in {store.where.describe()}", file=sys.stderr)
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


def add_parsers(sub: Subparsers) -> None:
    """COMMANDS (at the end of this module), then each one's own options."""
    parsers = options.add_commands(sub, COMMANDS)
    options.add_output(parsers["export"])
    digest = parsers["digest"]
    digest.add_argument(
        "--since", default="24h", help="period, like 24h, 3d or 'all' (default 24h)"
    )
    options.add_format(digest, help="output format")
    digest.add_argument(
        "--min-sources", type=int, default=1, help="only stories with this many outlets"
    )
    digest.add_argument("--limit", type=int, default=None, help="at most this many stories")
    digest.add_argument("--title", default="News digest", help="title of the digest")
    options.add_output(digest)
    options.add_json(parsers["status"])
    parsers["explain"].add_argument("story", help="story id (as in export's `story` field)")


COMMANDS: Commands = {
    "export": (
        cmd_export,
        "every stored article as JSON Lines",
        "Write every stored article as one JSON object per line.",
    ),
    "digest": (
        cmd_digest,
        "the stories of a period",
        "Stories of a period, biggest and newest first.",
    ),
    "status": (
        cmd_status,
        "per-feed health and store counts",
        "Per feed: last success, last error, HTTP status, articles stored.",
    ),
    "explain": (
        cmd_explain,
        "why a story's articles are grouped",
        "Show a story's articles with their similarity scores and evidence.",
    ),
}
