"""Story clustering quality on the labelled corpora (and a CI gate).

    python bench/cluster_eval.py                       # both dev files, in-process
    python bench/cluster_eval.py --min-f1-ecb 0.90 --min-f1-uci 0.88   # exit 1 below target
    python bench/cluster_eval.py --export out.jsonl --gold ../shared/corpus/clusters/uci.jsonl
    python bench/cluster_eval.py --sweep                # F1 at thresholds around the default
    python bench/cluster_eval.py --split-half           # tune on half the events, test on the rest
    python bench/cluster_eval.py --jitter 12            # times moved by up to +-12 h (robustness)

Each file is replayed online, in ``replay_order``, through ``NearDuplicates`` and
``Clusterer`` exactly as the pipeline calls them, each article seen once.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys
import zlib
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aggregator.cluster import Clusterer, ClusterSettings  # noqa: E402
from aggregator.dedupe import NearDuplicates  # noqa: E402
from aggregator.replay import parse_time, read_records, replay_order, to_doc  # noqa: E402
from bench.scoring import bcubed, pair_counting  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "clusters"
FILES = {"ecb": CORPUS / "ecbplus.jsonl", "uci": CORPUS / "uci.jsonl"}


def cluster_records(
    records: Iterable[dict[str, Any]], settings: ClusterSettings | None = None
) -> dict[str, str]:
    """Record id -> final story id, replaying the records online as the pipeline does."""
    settings = settings or ClusterSettings()
    dupes = NearDuplicates(window=settings.window)
    clusterer = Clusterer(settings)
    story_of: dict[str, str] = {}
    absorbed_into: dict[str, str] = {}
    for record in replay_order(list(records)):
        doc = to_doc(record)
        original = dupes.find(doc)
        dupes.add(doc)
        placement = clusterer.add(doc, duplicate_of=original)
        story_of[doc.id] = placement.story_id
        for absorbed, surviving in placement.merges:
            absorbed_into[absorbed] = surviving
    return {doc_id: _final(story, absorbed_into) for doc_id, story in story_of.items()}


def _final(story: str, absorbed_into: dict[str, str]) -> str:
    while story in absorbed_into:
        story = absorbed_into[story]
    return story


def gold_labels(records: Iterable[dict[str, Any]]) -> dict[str, str]:
    return {str(r["id"]): str(r["cluster_id"]) for r in records}


def read_export(path: Path) -> dict[str, str]:
    """An ``aggregator export`` file -> record id (``guid``) -> story id."""
    labels = {}
    for row in read_records_loose(path):
        if row.get("guid") is not None and row.get("story") is not None:
            labels[str(row["guid"])] = str(row["story"])
    return labels


def read_records_loose(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise SystemExit(f"{path}:{number}: invalid JSON: {exc.msg}") from exc
    return rows


def report(name: str, gold: dict[str, str], predicted: dict[str, str]) -> float:
    b = bcubed(gold, predicted)
    p = pair_counting(gold, predicted)
    stories = len(set(predicted.get(i, f"<{i}>") for i in gold))
    events = len(set(gold.values()))
    print(f"{name:5} BCubed {b}  pairs {p}  stories={stories} events={events} n={len(gold)}")
    return b.f1


def sweep(records: dict[str, list[dict[str, Any]]], base: ClusterSettings) -> None:
    """F1 at thresholds around the chosen one: how sharp is the optimum?"""
    factors = (0.5, 0.75, 0.875, 1.0, 1.125, 1.25, 1.5, 2.0)
    print("threshold  " + "  ".join(f"{name:>6}" for name in records))
    for factor in factors:
        settings = dataclasses.replace(base, threshold=round(base.threshold * factor, 4))
        f1s = [bcubed(gold_labels(rs), cluster_records(rs, settings)).f1 for rs in records.values()]
        print(f"{settings.threshold:9.3f}  " + "  ".join(f"{f:6.3f}" for f in f1s))


THRESHOLDS = (0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1, 0.12, 0.14, 0.17, 0.2)


def split_half(records: dict[str, list[dict[str, Any]]], base: ClusterSettings) -> None:
    """Pick the threshold on half of the events of each file, score it on the other half."""
    halves: dict[int, dict[str, list[dict[str, Any]]]] = {0: {}, 1: {}}
    for name, rs in records.items():
        for half in (0, 1):
            # by a hash of the event label: no event is in both halves
            halves[half][name] = [
                r for r in rs if zlib.crc32(str(r["cluster_id"]).encode()) % 2 == half
            ]
    for tune, test in ((0, 1), (1, 0)):
        best = max(THRESHOLDS, key=lambda t: _mean_f1(halves[tune], base, t))
        tuned = _mean_f1(halves[tune], base, best)
        held = {
            name: bcubed(
                gold_labels(rs), cluster_records(rs, dataclasses.replace(base, threshold=best))
            ).f1
            for name, rs in halves[test].items()
        }
        default = {
            name: bcubed(gold_labels(rs), cluster_records(rs, base)).f1
            for name, rs in halves[test].items()
        }
        shown = "  ".join(f"{n} {f:.3f} (default {default[n]:.3f})" for n, f in held.items())
        print(f"tuned on half {tune}: threshold {best} (mean F1 {tuned:.3f}); half {test}: {shown}")


def _mean_f1(records: dict[str, list[dict[str, Any]]], base: ClusterSettings, t: float) -> float:
    settings = dataclasses.replace(base, threshold=t)
    f1s = [bcubed(gold_labels(rs), cluster_records(rs, settings)).f1 for rs in records.values()]
    return sum(f1s) / len(f1s)


def jittered(records: list[dict[str, Any]], hours: float, seed: int = 7) -> list[dict[str, Any]]:
    """Dated records moved by a random offset of up to +-``hours``: coverage of one event
    spread out and interleaved with other events, as in a live stream."""
    rng = random.Random(seed)
    out = []
    for r in records:
        when = parse_time(r.get("published"))
        if when is not None:
            offset = timedelta(seconds=rng.uniform(-hours, hours) * 3600)
            r = {**r, "published": (when + offset).isoformat()}
        out.append(r)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--min-f1-ecb", type=float, default=None)
    parser.add_argument("--min-f1-uci", type=float, default=None)
    parser.add_argument("--export", type=Path, help="score an `aggregator export` file instead")
    parser.add_argument("--gold", type=Path, action="append", help="gold file(s) for --export")
    parser.add_argument("--sweep", action="store_true", help="F1 at thresholds around default")
    parser.add_argument("--threshold", type=float, help="override the clustering threshold")
    parser.add_argument("--split-half", action="store_true", help="tune/test on halves of events")
    parser.add_argument("--jitter", type=float, metavar="HOURS", help="move times by +-HOURS")
    args = parser.parse_args(argv)

    settings = ClusterSettings()
    if args.threshold is not None:
        settings = dataclasses.replace(settings, threshold=args.threshold)
    records = {name: read_records(path) for name, path in FILES.items() if path.exists()}
    if args.jitter:
        records = {name: jittered(rs, args.jitter) for name, rs in records.items()}

    if args.export:
        predicted = read_export(args.export)
        gold_files = args.gold or [p for p in FILES.values() if p.exists()]
        for path in gold_files:
            gold = gold_labels(read_records(path))
            if any(i in predicted for i in gold):  # only the files this export replayed
                report(path.stem[:5], gold, predicted)
        return 0

    if args.sweep:
        sweep(records, settings)
        return 0
    if args.split_half:
        split_half(records, settings)
        return 0

    failed = False
    for name, rs in records.items():
        f1 = report(name, gold_labels(rs), cluster_records(rs, settings))
        minimum = {"ecb": args.min_f1_ecb, "uci": args.min_f1_uci}[name]
        if minimum is not None and f1 < minimum:
            print(f"FAIL {name}: BCubed F1 {f1:.3f} < {minimum}")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
