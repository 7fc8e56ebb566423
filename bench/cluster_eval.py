"""Story clustering quality on the labelled corpora (and a CI gate).

    python bench/cluster_eval.py                       # both dev files, in-process
    python bench/cluster_eval.py --min-f1-ecb 0.90 --min-f1-uci 0.88   # exit 1 below target
    python bench/cluster_eval.py --export out.jsonl --gold ../shared/corpus/clusters/uci.jsonl
    python bench/cluster_eval.py --sweep                # F1 at thresholds around the default
    python bench/cluster_eval.py --split-half           # tune on half the events, test on the rest
    python bench/cluster_eval.py --jitter 12            # times moved by up to +-12 h (robustness)
    python bench/cluster_eval.py --prefix 50 100 200    # also the first N articles of each file
    python bench/cluster_eval.py --demo                 # also the bundled demo (real pipeline)
    python bench/cluster_eval.py --apart 2 4 6          # ECB+ twins N days apart (window check)

Each file is replayed online, in ``replay_order``, through ``NearDuplicates`` and
``Clusterer`` exactly as the pipeline calls them, each article seen once. ``--prefix N``
adds the first N articles of each file in that order as a file of its own: a young stream,
where the statistics learnt from the stream are still thin. ``--demo`` runs
``aggregator demo`` (local site, fetching, extraction, the whole pipeline) in a temporary
folder, scores the stories it stored against the demo's event labels (``demo*``), and adds
the extracted articles as a file (``demo``) that every other option then treats like the
corpora.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import subprocess
import sys
import tempfile
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
# The project root replaces this script's folder on the path: ``bench`` has no __init__.py,
# so a module named bench.py in this folder would otherwise shadow the ``bench`` package.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from aggregator.cluster.clusterer import Clusterer, ClusterSettings  # noqa: E402
from aggregator.cluster.model import PairModel, bundled  # noqa: E402
from aggregator.identity.near import NearDuplicates  # noqa: E402
from aggregator.read.replay import parse_time, read_records, replay_order, to_doc  # noqa: E402
from aggregator.types import ClusterDoc, Placement  # noqa: E402
from bench.scoring import Scores, bcubed, pair_counting  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "clusters"
FILES = {"ecb": CORPUS / "ecbplus.jsonl", "uci": CORPUS / "uci.jsonl"}


def placed(
    stream: Iterable[dict[str, Any]], clusterer: Clusterer
) -> Iterator[tuple[dict[str, Any], ClusterDoc, Placement]]:
    """Each record placed online as the pipeline places it (its near-duplicate found first)."""
    dupes = NearDuplicates(window=clusterer.settings.window)
    for record in stream:
        doc = to_doc(record)
        original = dupes.find(doc)
        dupes.add(doc)
        yield record, doc, clusterer.add(doc, duplicate_of=original)


class Tally:
    """Where each record ends (merges and the split stage's moves followed), and, given the
    gold labels, how many articles of each event each story holds."""

    def __init__(self, gold: Mapping[str, str] | None = None):
        self.gold = gold
        self.story_of: dict[str, str] = {}
        self.absorbed_into: dict[str, str] = {}
        self.members: dict[str, Counter[str]] = {}

    def add(self, doc_id: str, placement: Placement) -> None:
        gold, members = self.gold, self.members
        for absorbed, surviving in placement.merges:
            self.absorbed_into[absorbed] = surviving
            if gold is not None:
                members.setdefault(surviving, Counter()).update(members.pop(absorbed, Counter()))
        if gold is not None:
            members.setdefault(placement.story_id, Counter())[gold[doc_id]] += 1
        self.story_of[doc_id] = placement.story_id
        for moved, new_story in placement.moves:  # out of the story it was in
            if moved == doc_id:
                continue  # placed in its new story above
            if gold is not None:
                members[_final(self.story_of[moved], self.absorbed_into)][gold[moved]] -= 1
                members.setdefault(new_story, Counter())[gold[moved]] += 1
            self.story_of[moved] = new_story

    def majority(self, story_id: str) -> str | None:
        """The event most of the story's articles report (None: a story not seen)."""
        counts = self.members.get(story_id)
        return max(sorted(counts), key=lambda g: counts[g]) if counts else None

    def final(self) -> dict[str, str]:
        """Record id -> the story it is in at the end."""
        return {doc_id: _final(s, self.absorbed_into) for doc_id, s in self.story_of.items()}


def cluster_records(
    records: Iterable[dict[str, Any]], settings: ClusterSettings | None = None
) -> dict[str, str]:
    """Record id -> final story id, replaying the records online as the pipeline does."""
    tally = Tally()
    clusterer = Clusterer(settings or ClusterSettings())
    for _, doc, placement in placed(replay_order(list(records)), clusterer):
        tally.add(doc.id, placement)
    return tally.final()


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


def report(name: str, gold: dict[str, str], predicted: dict[str, str]) -> Scores:
    """Print BCubed and pair-counting scores; return BCubed."""
    b = bcubed(gold, predicted)
    p = pair_counting(gold, predicted)
    stories = len(set(predicted.get(i, f"<{i}>") for i in gold))
    events = len(set(gold.values()))
    print(f"{name:8} BCubed {b}  pairs {p}  stories={stories} events={events} n={len(gold)}")
    return b


FACTORS = (0.5, 0.75, 0.875, 1.0, 1.125, 1.25, 1.5, 2.0)


def scaled(base: ClusterSettings, factor: float) -> ClusterSettings:
    """Both join thresholds (headlines, long texts) multiplied by ``factor``."""
    return dataclasses.replace(
        base,
        threshold=round(base.threshold * factor, 4),
        short_threshold=round(base.short_threshold * factor, 4),
    )


def sweep(records: dict[str, list[dict[str, Any]]], base: ClusterSettings, mix: int | None) -> None:
    """F1 with both thresholds scaled around the chosen ones: how sharp is the optimum?"""
    corpora = {name: rs for name, rs in records.items() if name in FILES}
    names = list(records) + ([f"{name}~{mix}" for name in corpora] if mix else [])
    print("short/long   " + "  ".join(f"{name:>7}" for name in names))
    for factor in FACTORS:
        settings = scaled(base, factor)
        f1s = [bcubed(gold_labels(rs), cluster_records(rs, settings)).f1 for rs in records.values()]
        if mix:
            f1s += [mixed_f1(rs, mix, settings) for rs in corpora.values()]
        shown = f"{settings.short_threshold:.3f}/{settings.threshold:.3f}"
        print(f"{shown:11}  " + "  ".join(f"{f:7.3f}" for f in f1s))


def split_half(records: dict[str, list[dict[str, Any]]], base: ClusterSettings) -> None:
    """Pick the threshold scale on half of the events of each file, score it on the other."""
    halves: dict[int, dict[str, list[dict[str, Any]]]] = {0: {}, 1: {}}
    for name, rs in records.items():
        for half in (0, 1):
            # by a hash of the event label: no event is in both halves
            halves[half][name] = [
                r for r in rs if zlib.crc32(str(r["cluster_id"]).encode()) % 2 == half
            ]
    for tune, test in ((0, 1), (1, 0)):
        best = max(FACTORS, key=lambda f: _mean_f1(halves[tune], scaled(base, f)))
        tuned = _mean_f1(halves[tune], scaled(base, best))
        held = {
            name: bcubed(gold_labels(rs), cluster_records(rs, scaled(base, best))).f1
            for name, rs in halves[test].items()
        }
        default = {
            name: bcubed(gold_labels(rs), cluster_records(rs, base)).f1
            for name, rs in halves[test].items()
        }
        shown = "  ".join(f"{n} {f:.3f} (default {default[n]:.3f})" for n, f in held.items())
        print(
            f"tuned on half {tune}: thresholds x{best} (mean F1 {tuned:.3f}); half {test}: {shown}"
        )


def _mean_f1(records: dict[str, list[dict[str, Any]]], settings: ClusterSettings) -> float:
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


MIX_SEEDS = (1, 2, 3, 4, 5)


def mixed(records: list[dict[str, Any]], k: int, seed: int) -> list[dict[str, Any]]:
    """``k`` topics drawn at random, their articles shuffled over one day: a young stream.

    In the corpora the events mostly follow one another, so a stream's first articles are
    about one or two events. Here a few events run at once, as on a real news day. A topic is
    the part of the event label before "_" (ECB+: both events of one kind, its hard
    negatives, come together), else the event itself.
    """
    rng = random.Random(seed)
    topics = sorted({str(r["cluster_id"]).split("_")[0] for r in records})
    chosen = set(rng.sample(topics, min(k, len(topics))))
    picked = [r for r in records if str(r["cluster_id"]).split("_")[0] in chosen]
    rng.shuffle(picked)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    step = timedelta(days=1) / max(len(picked), 1)
    return [{**r, "published": (start + i * step).isoformat()} for i, r in enumerate(picked)]


def mixed_f1(records: list[dict[str, Any]], k: int, settings: ClusterSettings) -> float:
    """Mean BCubed F1 over the mixes of ``MIX_SEEDS``."""
    f1s = []
    for seed in MIX_SEEDS:
        rs = mixed(records, k, seed)
        f1s.append(bcubed(gold_labels(rs), cluster_records(rs, settings)).f1)
    return sum(f1s) / len(f1s)


def one_day_records(records: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """The one-day stream of ``pipeline_eval.py --one-day`` in-process: each record goes to
    one of 16 outlets with a time drawn over one day (same draw for the same seed)."""
    from bench.pipeline_eval import one_day

    outlets, times = one_day(records, seed)
    return [
        {**r, "source": outlets[str(r["id"])], "published": times[str(r["id"])].isoformat()}
        for r in records
    ]


def apart_records(
    records: list[dict[str, Any]], days: float, seed: int = 1
) -> list[dict[str, Any]]:
    """ECB+ with the two events of each topic ``days`` apart: a sparse stream where the next
    event of a kind (another quake, another arrest) comes while the first one's story is open.

    Topics follow one another three weeks apart; each event's articles are spread over one
    day (file order kept within it). In the corpus the twins are years apart, so no window
    lets them meet: this is what a longer window risks.
    """
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    topics = sorted({str(r["cluster_id"]).split("_")[0] for r in records}, key=_topic_order)
    block = {t: start + timedelta(days=21 * k) for k, t in enumerate(topics)}
    out = []
    for r in records:
        label = str(r["cluster_id"])
        later = days if label.endswith("plus") else 0.0
        offset = timedelta(days=later, hours=rng.uniform(0, 24))
        out.append({**r, "published": (block[label.split("_")[0]] + offset).isoformat()})
    return out


def _topic_order(topic: str) -> tuple[int, str]:
    return (int(topic), topic) if topic.isdigit() else (1 << 30, topic)


def prefix(records: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """The first ``n`` records in replay order: the stream as it looked when it was young."""
    return replay_order(records)[:n]


def demo_records() -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Run ``aggregator demo`` in a scratch folder and read back what it stored.

    Returns the stored articles as corpus records (``cluster_id`` = the demo's event label,
    ``text`` = the body the pipeline extracted from the page) and the stories the pipeline
    itself gave them (record id -> story id).
    """
    from aggregator.demo.data import load_articles

    _, articles = load_articles()
    event_of = {a.path: a.event for a in articles}
    with tempfile.TemporaryDirectory(prefix="cluster-eval-demo-") as folder:
        for command in ("demo", "export"):
            done = subprocess.run(
                [sys.executable, "-m", "aggregator", command, "--storage", folder],
                capture_output=True,
                text=True,
                cwd=ROOT,
                timeout=300,
                check=False,
            )
            if done.returncode != 0:
                raise SystemExit(f"aggregator {command} failed:\n{done.stderr}")
    records, stories = [], {}
    for line in done.stdout.splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        record_id = str(row["key"])
        records.append(
            {
                "id": record_id,
                "cluster_id": event_of[urlsplit(row["canonical_url"]).path],
                "title": row["title"],
                "text": row["text"],
                "source": row["source"],
                "published": row["published"],
                "url": row["canonical_url"],
            }
        )
        stories[record_id] = str(row["story"])
    return records, stories


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--min-f1-ecb", type=float, default=None)
    parser.add_argument("--min-f1-uci", type=float, default=None)
    parser.add_argument("--export", type=Path, help="score an `aggregator export` file instead")
    parser.add_argument("--gold", type=Path, action="append", help="gold file(s) for --export")
    parser.add_argument("--sweep", action="store_true", help="F1 with thresholds scaled")
    parser.add_argument("--threshold", type=float, help="override the long-text threshold")
    parser.add_argument("--split-half", action="store_true", help="tune/test on halves of events")
    parser.add_argument("--jitter", type=float, metavar="HOURS", help="move times by +-HOURS")
    parser.add_argument(
        "--prefix", type=int, nargs="+", metavar="N", help="also score the first N articles"
    )
    parser.add_argument(
        "--mix", type=int, metavar="K", help="also K topics interleaved over a day (mean of 5)"
    )
    parser.add_argument("--demo", action="store_true", help="also score the bundled demo")
    parser.add_argument(
        "--one-day",
        type=int,
        nargs="+",
        metavar="SEED",
        help="also ECB+ as a one-day stream of 16 outlets, in-process (seeded)",
    )
    parser.add_argument(
        "--apart",
        type=float,
        nargs="+",
        metavar="DAYS",
        help="also ECB+ with each topic's two events DAYS apart (sparse stream)",
    )
    parser.add_argument("--model", type=Path, help="pair model file instead of the bundled one")
    parser.add_argument("--join-probability", type=float, help="override the model's")
    parser.add_argument("--min-f1-demo", type=float, default=None)
    for name in ("ecb", "uci", "demo"):
        parser.add_argument(f"--min-precision-{name}", type=float, default=None)
    args = parser.parse_args(argv)

    settings = ClusterSettings()
    if args.threshold is not None:
        settings = dataclasses.replace(settings, threshold=args.threshold)
    if args.model or args.join_probability is not None:
        model = PairModel.from_json(args.model.read_text()) if args.model else bundled()
        if args.join_probability is not None:
            p = args.join_probability
            model = dataclasses.replace(model, join_probability=p, merge_probability=p)
        settings = dataclasses.replace(settings, pair_model=model)
    records = {name: read_records(path) for name, path in FILES.items() if path.exists()}
    if args.jitter:
        records = {name: jittered(rs, args.jitter) for name, rs in records.items()}
    for n in args.prefix or ():
        records.update(
            {f"{name}@{n}": prefix(rs, n) for name, rs in list(records.items()) if "@" not in name}
        )
    for seed in args.one_day or ():
        records.update(
            {f"ecb^{seed}": one_day_records(records["ecb"], seed)} if "ecb" in records else {}
        )
    for days in args.apart or ():
        records.update(
            {f"ecb>{days:g}d": apart_records(records["ecb"], days)} if "ecb" in records else {}
        )
    failed = False
    if args.demo:
        records["demo"], pipeline_stories = demo_records()
        gold = gold_labels(records["demo"])
        failed |= below("demo*", report("demo*", gold, pipeline_stories), args)

    if args.export:
        predicted = read_export(args.export)
        gold_files = args.gold or [p for p in FILES.values() if p.exists()]
        for path in gold_files:
            gold = gold_labels(read_records(path))
            if any(i in predicted for i in gold):  # only the files this export replayed
                report(path.stem[:5], gold, predicted)
        return 0

    if args.sweep:
        sweep(records, settings, args.mix)
        return 0
    if args.split_half:
        split_half(records, settings)
        return 0

    for name, rs in list(records.items()):
        if args.mix and name in FILES:
            f1 = mixed_f1(rs, args.mix, settings)
            print(f"{name}~{args.mix}".ljust(8) + f" BCubed F1={f1:.3f} (mean of {len(MIX_SEEDS)})")
    for name, rs in records.items():
        failed |= below(name, report(name, gold_labels(rs), cluster_records(rs, settings)), args)
    return 1 if failed else 0


def below(name: str, scores: Scores, args: argparse.Namespace) -> bool:
    """Print and return whether BCubed F1 or precision is under its --min-... option."""
    key = name.rstrip("*").split("^")[0]
    failed = False
    for measure, value in (("f1", scores.f1), ("precision", scores.precision)):
        minimum = getattr(args, f"min_{measure}_{key}", None)
        if minimum is not None and value < minimum:
            print(f"FAIL {name}: BCubed {measure} {value:.3f} < {minimum}")
            failed = True
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
