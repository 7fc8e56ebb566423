"""Cost of near-duplicate detection and clustering on long streams.

    python bench/cluster_scale.py                    # 1k, 10k, 100k articles (~1-2 minutes)
    python bench/cluster_scale.py --sizes 1000,10000 --rate 4000

The stream is made from the dev corpora by perturbation: every pass over the corpora gets new
ids, later times (``--rate`` articles per day, so the window fills and memory must level
off) and about one word in eight of each headline and body swapped for another corpus word,
so passes are similar news, not copies. Each size runs in a fresh process; memory is the
growth of the peak resident set over the process after the corpora were loaded.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# The project root replaces this script's folder on the path: ``bench`` has no __init__.py,
# so a module named bench.py in this folder would otherwise shadow the ``bench`` package.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from aggregator.cluster.clusterer import Clusterer, ClusterSettings  # noqa: E402
from aggregator.identity.near import NearDuplicates  # noqa: E402
from aggregator.read.replay import read_records, replay_order, to_doc  # noqa: E402
from aggregator.types import ClusterDoc  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "clusters"
START = datetime(2024, 1, 1, tzinfo=UTC)


def _perturb(text: str, pool: list[str], rng: random.Random) -> str:
    words = text.split(" ")
    for i in range(len(words)):
        if rng.random() < 0.125:
            words[i] = rng.choice(pool)
    return " ".join(words)


def stream(size: int, rate_per_day: float, seed: int = 1) -> Iterator[ClusterDoc]:
    """``size`` perturbed articles in time order, generated lazily."""
    rng = random.Random(seed)
    records: list[dict[str, Any]] = []
    for name in ("ecbplus.jsonl", "uci.jsonl"):
        records.extend(replay_order(read_records(CORPUS / name)))
    pool = [w for r in records[::7] for w in (r.get("title") or "").split(" ") if w]
    step = timedelta(days=1) / rate_per_day
    for n in range(size):
        base = to_doc(records[n % len(records)])
        yield ClusterDoc(
            id=f"a{n}",
            title=_perturb(base.title, pool, rng),
            text=_perturb(base.text, pool, rng) if base.text else "",
            published=START + n * step,
            source=base.source,
        )


def measure(size: int, rate: float) -> dict[str, Any]:
    docs = stream(size, rate)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    dupes, clusterer = NearDuplicates(), Clusterer()
    place_ms: list[float] = []
    dedupe_ms: list[float] = []
    for doc in docs:
        t0 = time.perf_counter()
        original = dupes.find(doc)
        dupes.add(doc)
        t1 = time.perf_counter()
        clusterer.add(doc, duplicate_of=original)
        t2 = time.perf_counter()
        dedupe_ms.append((t1 - t0) * 1000)
        place_ms.append((t2 - t1) * 1000)
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "size": size,
        "cluster_median_ms": statistics.median(place_ms),
        "cluster_p99_ms": _quantile(place_ms, 0.99),
        "dedupe_median_ms": statistics.median(dedupe_ms),
        "dedupe_p99_ms": _quantile(dedupe_ms, 0.99),
        "live_stories": len(clusterer),
        "peak_rss_growth_mb": (rss_after - rss_before) / 1024,  # ru_maxrss is in KiB on Linux
    }


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--rate", type=float, default=4000.0, help="articles per day")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child process mode
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one, args.rate)))
        return 0
    print(f"rate {args.rate:.0f} articles/day, window {ClusterSettings().window.days} days")
    print(
        f"{'articles':>9} {'cluster med':>11} {'p99':>7} {'dedupe med':>10} {'p99':>7}"
        f" {'live stories':>12} {'peak RSS +MB':>12}"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(size), "--rate", str(args.rate)],
            check=True,
            capture_output=True,
            text=True,
        )
        r = json.loads(out.stdout)
        print(
            f"{r['size']:>9} {r['cluster_median_ms']:>9.3f}ms {r['cluster_p99_ms']:>5.2f}ms"
            f" {r['dedupe_median_ms']:>8.3f}ms {r['dedupe_p99_ms']:>5.2f}ms"
            f" {r['live_stories']:>12} {r['peak_rss_growth_mb']:>12.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
