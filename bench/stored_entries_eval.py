"""Entries STORED from the real feed captures: every capture served as a feed, one pass of
`aggregator run --once`, then `aggregator export`, counted against expected.jsonl.

parse_eval.py counts what the parser finds; this counts what survives the whole pipeline:
identity (article keys, exact duplicates), near-duplicate detection and storage. Two entries
one feed lists separately must be stored separately, unless they are the same article.

Each capture is a feed of its own on 127.0.0.1 with `extract: false` (bench/captures.py: the
captures link to the real web, which is never contacted). An expected entry counts as stored when one stored
article listed by that feed matches it by link and title, as parse_eval.py matches them, and
each stored article stands for one expected entry at most (so two entries merged into one
article count as one loss). An article several feeds list keeps the link of the first feed
that listed it, so for those the title alone must match; an expected entry without a title
matches any title (the pipeline makes one from the entry's text). Titles with mojibake are counted over every stored article.

    .venv/bin/python bench/stored_entries_eval.py [--corpus DIR] [--min-share 0.99] [--verbose]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from aggregator.parse.encoding import decode_document  # noqa: E402
from aggregator.parse.text import has_mojibake  # noqa: E402
from bench.captures import capture_files, content_type, ingest_captures  # noqa: E402
from bench.parse_eval import (  # noqa: E402
    DEFAULT_CORPUS,
    _link_matches,
    _title_matches,
    load_expected,
)


def stored_by_feed(articles: list[dict[str, Any]]) -> dict[str, list[Any]]:
    by_feed: dict[str, list[Any]] = {}
    for a in articles:
        feeds = a.get("feeds") or [a["feed"]]
        entry = SimpleNamespace(
            url=a.get("url"), guid=a.get("guid"), title=a.get("title") or "", shared=len(feeds) > 1
        )
        for feed in feeds:
            by_feed.setdefault(feed, []).append(entry)
    return by_feed


def title_matches(expected: str, entry: Any, encoding: str) -> bool:
    # an entry without a title is stored under one made from its text or date: any title will do
    return not expected.strip() or _title_matches(expected, entry, encoding)


def match_file(
    rows: list[dict[str, Any]], entries: list[Any], feed_url: str, encoding: str
) -> list[dict]:
    """Expected rows left unmatched after a one-to-one assignment to stored entries."""
    free = list(entries)
    missed = []
    # rows with a link first: a row without one matches any entry of the right title
    for row in sorted(rows, key=lambda r: not r.get("link")):
        title = str(row.get("title") or "")
        hit = next(
            (
                e
                for e in free
                if (e.shared or _link_matches(row.get("link"), e, feed_url))
                and title_matches(title, e, encoding)
            ),
            None,
        )
        if hit is None:
            missed.append(row)
        else:
            free.remove(hit)
    return missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--min-share", type=float, default=0.0, help="fail below this share")
    parser.add_argument("--max-mojibake", type=int, default=None, help="fail above this count")
    parser.add_argument("--verbose", action="store_true", help="list every lost entry")
    args = parser.parse_args(argv)
    names = [row["file"] for row in capture_files(args.corpus)]
    expected = load_expected(args.corpus)
    settings = [
        "  concurrency: 16",
        "  per_host: 16",
        "  window: 36500d",
        "  max_feed_bytes: 100MB",
    ]
    with tempfile.TemporaryDirectory(prefix="stored-entries-") as tmp:
        urls, articles = ingest_captures(args.corpus, dict.fromkeys(names), Path(tmp), settings)
    by_feed = stored_by_feed(articles)
    total = sum(len(expected.get(n, ())) for n in names)
    lost: dict[str, list[dict]] = {}
    for name in names:
        url = urls[name]
        kind = content_type(name)
        encoding = decode_document((args.corpus / name).read_bytes(), kind).encoding
        missed = match_file(expected.get(name, []), by_feed.get(url, []), url, encoding)
        if missed:
            lost[name] = missed
    n_lost = sum(len(v) for v in lost.values())
    share = (total - n_lost) / total if total else 0.0
    mojibake = [a["title"] for a in articles if has_mojibake(a.get("title") or "")]
    print(f"stored articles: {len(articles)} from {len(names)} captures")
    print(f"distinct expected entries stored: {total - n_lost} / {total} (share {share:.4f})")
    print(f"titles with mojibake: {len(mojibake)}")
    for name, rows in sorted(lost.items(), key=lambda kv: -len(kv[1])):
        print(f"  lost {len(rows):4d}  {name}")
        if args.verbose:
            for row in rows:
                print(f"        link={row.get('link')!r} title={row.get('title')!r}")
    ok = share >= args.min_share and (
        args.max_mojibake is None or len(mojibake) <= args.max_mojibake
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
