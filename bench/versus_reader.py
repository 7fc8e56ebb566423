"""Against lemon24/reader: the same generated feeds polled by both, side by side in one run.

    .venv/bin/python bench/versus_reader.py --feeds 400,2000 --items 30 --repeats 3

reader (https://github.com/lemon24/reader, the bench's optional extra: pip install -e
'.[bench]') is a well-kept Python feed library: it fetches, parses with feedparser and stores
entries in SQLite, and nothing more. We also dedupe and cluster every article. Extraction is
off on our side (reader fetches no pages).

For each size, each repeat starts both from empty storage and runs, as separate processes
timed from the outside (interpreter start, imports and storage open count, as a user waits
for them):

    first      every feed new: N feeds x M entries to store
    unchanged  the same feeds again: every feed answers 304 Not Modified to the validators

reader: ``make_reader(path)``, ``add_feed`` for each URL (first pass only, untimed inside
the process: reported apart), ``update_feeds(workers=16, scheduled=False)``. Ours:
``aggregator run --once`` with ``extract: false``, 16 connections, no politeness delay (both
see the same 50 loopback hosts). The ratio is ours over reader's: below 1.0 we were faster.

Not part of the test suite: nothing here asserts a speed; it reports.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from bench import gen  # noqa: E402

WORKERS = 16
HOSTS = 50  # as bench.py's FeedServer

# run in a child process: reader's own import and start-up count, as ours do
READER_RUN = """
import json, sys, time
# reader 3.26 parses with a vendored feedparser that imports `sgmllib` (the sgmllib3k
# package); the feedparser we install brings the same module as `feedparser_sgmllib`
try:
    import sgmllib
except ImportError:
    import feedparser_sgmllib
    sys.modules["sgmllib"] = feedparser_sgmllib
from reader import make_reader
db, urls = sys.argv[1], sys.argv[2]
reader = make_reader(db)
added = 0.0
if reader.get_feed_counts().total == 0:
    t0 = time.perf_counter()
    for url in open(urls).read().split():
        reader.add_feed(url)
    added = time.perf_counter() - t0
results = list(reader.update_feeds_iter(workers=WORKERS, scheduled=False))
errors = [r for r in results if isinstance(r.value, Exception)]
reader.close()
print(json.dumps({"added_s": added, "errors": len(errors), "feeds": len(results)}))
""".replace("WORKERS", str(WORKERS))


def feeds_yaml(urls: list[str]) -> str:
    lines = ["settings:", "  host_delay: 0s", f"  per_host: {WORKERS}"]
    lines += [f"  concurrency: {WORKERS}", "feeds:"]
    for n, url in enumerate(urls):
        lines += [f"  - url: {url}", f"    name: Outlet {n}", "    extract: false"]
    return "\n".join(lines) + "\n"


def timed(command: list[str]) -> tuple[float, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{command[:4]} exited {result.returncode}:\n{result.stderr[-2000:]}")
    return wall, result.stdout


def ours(config: Path, storage: Path) -> tuple[float, str]:
    command = [sys.executable, "-m", "aggregator", "run", "--once"]
    return timed(command + ["--config", str(config), "--storage", str(storage)])


def theirs(db: Path, urls: Path) -> tuple[float, dict[str, Any]]:
    wall, out = timed([sys.executable, "-c", READER_RUN, str(db), str(urls)])
    return wall, json.loads(out.strip().splitlines()[-1])


def one_size(port: int, feeds: int, items: int, repeats: int, round_: int) -> dict[str, Any]:
    """Both systems, first and unchanged pass, ``repeats`` times from empty storage."""
    urls = [gen.feed_url(round_, i, items, hosts=HOSTS, port=port) for i in range(feeds)]
    runs: dict[str, list[float]] = {"ours_first": [], "ours_unchanged": []}
    runs |= {"reader_first": [], "reader_unchanged": [], "reader_add_feeds": []}
    summaries = []
    for repeat in range(repeats):
        with tempfile.TemporaryDirectory(prefix="agg-versus-") as tmp:
            work = Path(tmp)
            config, url_file = work / "feeds.yaml", work / "urls.txt"
            config.write_text(feeds_yaml(urls), encoding="utf-8")
            url_file.write_text("\n".join(urls), encoding="utf-8")
            # alternate who goes first, so neither always meets a warmer machine
            order = ["ours", "reader"] if repeat % 2 == 0 else ["reader", "ours"]
            for kind in ("first", "unchanged"):
                for who in order:
                    if who == "ours":
                        wall, summary = ours(config, work / "storage")
                        summaries.append(summary.strip())
                    else:
                        wall, info = theirs(work / "reader.sqlite", url_file)
                        if info["errors"]:
                            raise RuntimeError(f"reader: {info['errors']} feeds failed")
                        if kind == "first":
                            runs["reader_add_feeds"].append(info["added_s"])
                    runs[f"{who}_{kind}"].append(wall)
    return {"feeds": feeds, "items": items, **runs, "summary": summaries[-2:]}


def ratio(r: dict[str, Any], kind: str) -> float:
    return float(statistics.median(r[f"ours_{kind}"]) / statistics.median(r[f"reader_{kind}"]))


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def report(results: list[dict[str, Any]]) -> str:
    rows = []
    for r in results:
        for kind, goal in (("first", 1.0), ("unchanged", 0.7)):
            value = ratio(r, kind)
            rows.append(
                f"| {r['feeds']:,} x {r['items']} | {kind} | {spread(r[f'ours_{kind}'])} "
                f"| {spread(r[f'reader_{kind}'])} | {value:.2f}x | {goal:.1f}x "
                f"| {'yes' if value <= goal else 'no'} |"
            )
    repeats = len(results[0]["ours_first"]) if results else 0
    add = ", ".join(
        f"{r['feeds']:,} feeds {statistics.median(r['reader_add_feeds']):.2f} s" for r in results
    )
    return "\n".join(
        [
            "Same generated feeds on the same 50 loopback hosts, each system a fresh process "
            "timed from outside (start-up included), extraction off, 16 connections each; "
            f"{repeats} runs from empty storage, median (min-max) s. We also dedupe and cluster "
            "every article; reader stores entries. Ratio = ours / reader.",
            "",
            "| feeds x items | pass | this project s | reader s | ratio | goal | met |",
            "|---|---|---|---|---|---|---|",
            *rows,
            "",
            f"reader's add_feed calls (inside its first pass): {add}. "
            f"Our last summaries: {' / '.join(results[-1]['summary']) if results else ''}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", default="400,2000")
    parser.add_argument("--items", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    results = run_sizes([int(n) for n in args.feeds.split(",")], args.items, args.repeats)
    print(report(results))
    return 0


def run_sizes(sizes: list[int], items: int, repeats: int) -> list[dict[str, Any]]:
    """Each size on its own server (its feeds rendered before the timing starts)."""
    from bench.bench import FeedServer  # the same server bench.py uses

    results = []
    for n in sizes:
        with FeedServer() as server:
            server.prerender(40 + n % 97, n, items, pages=False)
            results.append(one_size(server.port, n, items, repeats, 40 + n % 97))
        print(json.dumps(results[-1]), file=sys.stderr)
    return results


if __name__ == "__main__":
    raise SystemExit(main())
