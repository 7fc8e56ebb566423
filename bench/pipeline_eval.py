"""Clustering quality through the WHOLE pipeline: labelled articles served as outlets' feeds.

Each record of a ../shared/corpus/clusters file becomes an article page on a local site
(127.0.0.1), listed in its outlet's RSS feed (records without a source are spread over a
few synthetic outlets). `aggregator run --once` polls the feeds, fetches and extracts the
pages, dedupes, clusters and stores; `aggregator export` gives the stories, scored with
BCubed and pair-counting against the labels.

    .venv/bin/python bench/pipeline_eval.py ../shared/corpus/clusters/ecbplus.jsonl
    .venv/bin/python bench/pipeline_eval.py --one-day --min-f1 0.90 --min-precision 0.93 \
        ../shared/corpus/clusters/ecbplus.jsonl

By default each article keeps its own outlet and date (``arrivals``: the corpus's order).
``--one-day`` is a busy news day instead: every article goes to one of 16 outlets and gets a
publication time drawn at random over ONE day (``--seed``), so every event of the file is
live at once and two events of the same kind run side by side.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aggregator.read.replay import arrivals, read_records  # noqa: E402
from bench.scoring import bcubed, pair_counting  # noqa: E402
from tests.support.localsite import LocalSite  # noqa: E402

SYNTHETIC_OUTLETS = 8
# feeds.yaml's settings for outlets on a local server: pages come from the feed's own host
# (127.0.0.1), which the address guard trusts; no politeness spacing; old dates stay in window
LOCAL_SETTINGS = [
    "settings:",
    "  concurrency: 32",
    "  per_host: 8",
    "  host_delay: 0s",
    "  window: 3650d",
    "  max_feed_bytes: 100MB",
]
ONE_DAY_OUTLETS = 16
DAY = datetime(2024, 3, 12, tzinfo=UTC)


def outlet_of(record: dict) -> str:
    source = record.get("source")
    if source:
        return "o-" + hashlib.sha1(str(source).encode()).hexdigest()[:10]
    return f"outlet-{int(hashlib.sha1(str(record['id']).encode()).hexdigest(), 16) % SYNTHETIC_OUTLETS}"


def page(record: dict) -> str:
    paragraphs = [p for p in str(record.get("text") or "").split("\n") if p.strip()]
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(record['title'])}</title>"
        f"</head><body><nav><a href='/'>Home</a> <a href='/world'>World</a></nav><main><article>"
        f"<h1>{escape(record['title'])}</h1>{body}</article></main>"
        f"<footer>Copyright. All rights reserved.</footer></body></html>"
    )


def imputed_times(records: list[dict]) -> dict[str, datetime]:
    """Each record's arrival time as replay sees it (aggregator.read.replay.arrivals): real feeds
    date their entries; the corpus often does not."""
    return {str(r["id"]): t for r, t in arrivals(records) if t is not None}


def one_day(records: list[dict], seed: int) -> tuple[dict[str, str], dict[str, datetime]]:
    """Record id -> one of 16 outlets and a time drawn uniformly over one day (seeded)."""
    rng = random.Random(seed)
    outlets, times = {}, {}
    for r in records:
        key = str(r["id"])
        outlets[key] = f"outlet-{rng.randrange(ONE_DAY_OUTLETS) + 1:02d}"
        times[key] = DAY + timedelta(seconds=round(rng.uniform(0, 86_400)))
    return outlets, times


def feed(outlet: str, base: str, records: list[dict], times: dict[str, datetime]) -> str:
    items = []
    for r in records:
        when = times.get(str(r["id"]))
        date = f"<pubDate>{format_datetime(when)}</pubDate>" if when else ""
        lead = str(r.get("text") or "").split("\n")[0]
        items.append(
            f"<item><title>{escape(r['title'])}</title>"
            f"<link>{base}/{outlet}/{escape(str(r['id']))}.html</link>"
            f'<guid isPermaLink="false">{escape(str(r["id"]))}</guid>{date}'
            f"<description>{escape(lead)}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{outlet}</title><link>{base}/{outlet}/</link><description>x</description>"
        + "".join(items)
        + "</channel></rss>"
    )


def run(
    path: Path, keep: Path | None, *, day_seed: int | None = None
) -> tuple[float, float, float]:
    """Serve, run --once, export and score one file; (BCubed F1, BCubed precision, pair F1).

    ``day_seed``: the one-day stream (16 outlets, times over one day) drawn with this seed.
    """
    records = read_records(path)
    if day_seed is None:
        times = imputed_times(records)
        outlets = {str(r["id"]): outlet_of(r) for r in records}
    else:
        outlets, times = one_day(records, day_seed)
    by_outlet: dict[str, list[dict]] = {}
    for r in records:
        by_outlet.setdefault(outlets[str(r["id"])], []).append(r)
    work = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="pipeline-eval-"))
    work.mkdir(parents=True, exist_ok=True)
    with LocalSite() as site:
        lines = ["feeds:"]
        for outlet, items in sorted(by_outlet.items()):
            for r in items:
                site.add(f"/{outlet}/{r['id']}.html", page(r))
            url = site.add(
                f"/{outlet}/feed.xml",
                feed(outlet, site.base_url, items, times),
                "application/rss+xml",
            )
            name = next((str(r["source"]) for r in items if r.get("source")), outlet)
            if day_seed is not None:
                name = outlet
            lines += [f"  - url: {url}", f"    name: {json.dumps(name)}"]
        lines += LOCAL_SETTINGS
        config = work / "feeds.yaml"
        config.write_text("\n".join(lines) + "\n")
        storage = work / "storage"
        started = time.monotonic()
        once = subprocess.run(
            [
                sys.executable,
                "-m",
                "aggregator",
                "run",
                "--once",
                "--config",
                str(config),
                "--storage",
                str(storage),
                "--log-level",
                "warning",
            ],
            capture_output=True,
            text=True,
        )
        seconds = time.monotonic() - started
        if once.returncode != 0:
            raise SystemExit(f"run --once failed:\n{once.stderr}")
    out = subprocess.run(
        [sys.executable, "-m", "aggregator", "export", "--storage", str(storage)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    exported = [json.loads(line) for line in out.splitlines()]
    gold = {str(r["id"]): str(r["cluster_id"]) for r in records}
    predicted = {str(e["guid"]): str(e["story"]) for e in exported}
    from_page = sum(e["text_source"] == "page" for e in exported)
    b, p = bcubed(gold, predicted), pair_counting(gold, predicted)
    print(
        f"{path.name}: {len(records)} records, {len(by_outlet)} outlets, "
        f"{len(exported)} stored ({from_page} bodies from pages), "
        f"{len(set(predicted.values()))} stories (gold {len(set(gold.values()))})"
    )
    print(f"  {once.stdout.strip()}")
    print(f"  BCubed {b}   pairs {p}   run --once {seconds:.1f}s")
    return b.f1, b.precision, p.f1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--keep", type=Path, default=None, help="work directory to keep")
    parser.add_argument("--min-f1", type=float, default=0.0, help="fail below this BCubed F1")
    parser.add_argument(
        "--min-precision", type=float, default=0.0, help="fail below this BCubed precision"
    )
    parser.add_argument(
        "--one-day",
        action="store_true",
        help=f"{ONE_DAY_OUTLETS} outlets, times spread at random over one day (all events live)",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the --one-day draw")
    args = parser.parse_args(argv)
    failed = False
    for file in args.files:
        f1, precision, _ = run(file, args.keep, day_seed=args.seed if args.one_day else None)
        if f1 < args.min_f1:
            print(f"FAIL {file.name}: BCubed F1 {f1:.3f} < {args.min_f1}")
            failed = True
        if precision < args.min_precision:
            print(f"FAIL {file.name}: BCubed precision {precision:.3f} < {args.min_precision}")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
