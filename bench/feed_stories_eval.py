"""Stories made of one feed's posts only, on the real feed captures (and a CI gate).

A blog, a podcast or a listings feed writes about one topic every day: its posts share their
vocabulary (the author's name, the show, "stamps", "episode") whatever each one is about.
A clusterer that joins on shared words alone makes one "story" of a feed's archive: 18
Daring Fireball posts, 12 interviews with 12 different guests. This serves every capture
of ../shared/corpus/feeds (``manifest.jsonl``) as a feed of its own on a local site, runs
``aggregator run --once`` and ``aggregator export`` as a user would, and counts the stories
of two articles or more whose articles all come from ONE feed.

    .venv/bin/python bench/feed_stories_eval.py --corpus ../shared/corpus/feeds
    .venv/bin/python bench/feed_stories_eval.py --max-single-feed 20   # exit 1 above 20
    .venv/bin/python bench/feed_stories_eval.py --show 10              # the largest ones

Extraction is off for every feed (``extract: false``): the captured entries link to the
real sites, which a test must not fetch, so each article is what its feed carries (full
content or a summary), as in a reader with page fetching turned off. Each feed is named by
its ``publisher`` in the manifest (as an OPML import would name it), or by its file name.
The clustering window is the default (7 days by publication time), so only posts a few days
apart can meet. Not every one-feed story is wrong (an outlet's follow-ups on one event are
one story), but on these captures, a few news feeds among blogs, podcasts and listings of
different dates, nearly all are.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.captures import capture_files, ingest_captures  # noqa: E402

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "feeds"


def feed_names(corpus: Path) -> dict[str, str | None]:
    """Capture file -> the feed's name (the manifest's publisher, unique, else the file)."""
    names: dict[str, str | None] = {}
    used: set[str] = set()
    for row in capture_files(corpus):
        name = str(row.get("publisher") or "").strip() or Path(row["file"]).stem
        if name in used:
            name = f"{name} ({Path(row['file']).stem})"
        used.add(name)
        names[row["file"]] = name
    return names


def run(corpus: Path, keep: Path | None) -> list[dict[str, Any]]:
    """Serve the captures, run --once and export; the exported articles."""
    work = keep or Path(tempfile.mkdtemp(prefix="feed-stories-"))
    work.mkdir(parents=True, exist_ok=True)
    names = dict(sorted(feed_names(corpus).items()))
    settings = ["  concurrency: 32", "  per_host: 32"]  # the default window: 7 days
    return ingest_captures(corpus, names, work, settings)[1]


def single_feed_stories(articles: list[dict[str, Any]]) -> tuple[list[list[dict]], int]:
    """(stories of 2+ articles all from one feed, largest first; number of 2+ stories)."""
    stories: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for article in articles:
        stories[str(article["story"])].append(article)
    multi = [s for s in stories.values() if len(s) >= 2]
    single = [s for s in multi if len({a.get("feed") or a.get("source") for a in s}) == 1]
    single.sort(key=lambda s: (-len(s), str(s[0]["story"])))
    return single, len(multi)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--keep", type=Path, default=None, help="work directory to keep")
    parser.add_argument("--max-single-feed", type=int, default=None, help="fail above this")
    parser.add_argument("--show", type=int, default=5, help="list this many of the largest")
    args = parser.parse_args(argv)
    articles = run(args.corpus.resolve(), args.keep)
    single, multi = single_feed_stories(articles)
    stories = len({str(a["story"]) for a in articles})
    print(
        f"{len(articles)} articles, {stories} stories, {multi} of 2+ articles, "
        f"{len(single)} of them one feed's posts only "
        f"({sum(len(s) for s in single)} articles)"
    )
    for story in single[: args.show]:
        print(f"  {len(story):3} posts of {story[0].get('source')!r}:")
        for article in story[:4]:
            print(f"        {str(article.get('title') or '')[:90]}")
    if args.max_single_feed is not None and len(single) > args.max_single_feed:
        print(f"FAIL: {len(single)} one-feed stories > {args.max_single_feed}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
