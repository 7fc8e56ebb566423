"""Where the one-day stream's precision goes, and what a perfect second stage would gain.

    python bench/cluster_errors.py                 # one-day ECB+ seeds 1-3
    python bench/cluster_errors.py --seeds 1 --oracle 1 3 5 1000
    python bench/cluster_errors.py --replay        # where replayed ECB+ loses recall

For each stream (ECB+ as ``cluster_eval.py --one-day``: 16 outlets, times over one day):

- the BCubed precision lost per ECB+ topic (both events of one kind): the twin events that
  ended in one story, and what each costs;
- ``--oracle K``: BCubed when every join of an article into a story of at most K articles
  whose majority event is not the article's is refused (a perfect check on young stories;
  K 1000: on every story), and when every merge of two stories of different majority events
  is refused: an upper bound for a second stage of that kind;
- how often an article's nearest neighbour (cosine of the clusterer's vectors, IDF of the
  whole file) among the articles of its topic reports its own event: what single-link
  evidence could tell the twins apart once both have articles.

``--replay``: ECB+ replayed with its own dates instead. The recall a perfect clusterer would
reach if a story closed after W days without an article (an event's articles chained while
each is at most W after the previous one), against the clusterer's own recall and the recall
each event loses: what is lost between pieces further apart than the window, and what is
lost inside it.

Measurements for docs/clustering.md (Rounds 4 and 5); not a gate.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from aggregator.cluster.clusterer import Clusterer, ClusterSettings, _Candidate  # noqa: E402
from aggregator.cluster.vectors import dot  # noqa: E402
from aggregator.read.replay import arrivals, read_records, replay_order, to_doc  # noqa: E402
from aggregator.types import ClusterDoc, Placement  # noqa: E402
from bench.cluster_eval import FILES, Tally, gold_labels, one_day_records, placed  # noqa: E402
from bench.scoring import Scores, bcubed  # noqa: E402


def topic(label: str) -> str:
    return label.split("_")[0]


def run(
    records: list[dict[str, Any]], oracle_size: int = 0, oracle_merges: bool = False
) -> dict[str, str]:
    """Cluster a stream; with an oracle refusing wrong joins into small stories / merges."""
    stream = replay_order(records)
    gold = gold_labels(stream)
    tally = Tally(gold)
    current: dict[str, str] = {}

    class Oracle(Clusterer):
        def add(self, doc: ClusterDoc, **kw: Any) -> Placement:
            current["gold"] = gold[doc.id]
            return super().add(doc, **kw)

        def _score_candidates(self, article: Any) -> list[_Candidate]:
            out = []
            for c in super()._score_candidates(article):
                wrong = tally.majority(c.story.id) != current["gold"]
                if c.story.size <= oracle_size and wrong:
                    c = c._replace(probability=0.0)
                out.append(c)
            out.sort(key=lambda c: (-c.probability, c.story.seq))
            return out

        def _kept_apart(self, one: str, other: str) -> bool:
            if oracle_merges and tally.majority(one) != tally.majority(other):
                return True
            return super()._kept_apart(one, other)

    for _, doc, placement in placed(stream, Oracle(ClusterSettings())):
        tally.add(doc.id, placement)
    return tally.final()


def topic_losses(gold: dict[str, str], predicted: dict[str, str]) -> dict[str, float]:
    """BCubed precision lost by the articles of each topic (sums to 1 - precision)."""
    size = Counter(predicted.values())
    loss: dict[str, float] = defaultdict(float)
    for (g, p), n in Counter((gold[i], predicted[i]) for i in gold).items():
        loss[topic(g)] += n * (1 - n / size[p]) / len(gold)
    return dict(loss)


def nearest_neighbour_accuracy(records: list[dict[str, Any]]) -> float:
    """Share of articles whose most similar article of the same topic reports their event."""
    clusterer = Clusterer()
    docs = [to_doc(r) for r in records]
    for doc in docs:
        clusterer.frequencies.add(clusterer.features(doc).counts)
    vectors = {doc.id: clusterer._weighed(doc).vector for doc in docs}
    gold = gold_labels(records)
    by_topic: dict[str, list[str]] = defaultdict(list)
    for doc_id, label in gold.items():
        by_topic[topic(label)].append(doc_id)
    right = total = 0
    for ids in by_topic.values():
        for i in ids:
            others = [j for j in ids if j != i]
            if others:
                best = max(others, key=lambda j: dot(vectors[i], vectors[j]))
                right += gold[best] == gold[i]
                total += 1
    return right / total if total else 1.0


def window_bound(records: list[dict[str, Any]], days: float) -> Scores:
    """BCubed of a perfect clusterer whose stories close after ``days`` without an article."""
    gold = gold_labels(records)
    predicted: dict[str, str] = {}
    last: dict[str, tuple[str, Any]] = {}
    for record, when in arrivals(records):
        doc_id, label = str(record["id"]), gold[str(record["id"])]
        story, previous = last.get(label, (doc_id, None))
        if previous is None or when is None or when - previous > timedelta(days=days):
            story = doc_id
        last[label] = (story, when)
        predicted[doc_id] = story
    return bcubed(gold, predicted)


def event_recall_losses(gold: dict[str, str], predicted: dict[str, str]) -> dict[str, float]:
    """BCubed recall lost by the articles of each event (sums to 1 - recall)."""
    size = Counter(gold.values())
    loss: dict[str, float] = defaultdict(float)
    for (g, _), n in Counter((gold[i], predicted[i]) for i in gold).items():
        loss[g] += n * (1 - n / size[g]) / len(gold)
    return dict(loss)


def replay_report(records: list[dict[str, Any]]) -> None:
    gold = gold_labels(records)
    predicted = run(records)
    print(f"replay ECB+: {bcubed(gold, predicted)}")
    for days in (3, 7, 14, 36500):
        print(f"  perfect, stories closed after {days} days quiet: {window_bound(records, days)}")
    losses = event_recall_losses(gold, predicted)
    shown = " ".join(f"{e}:{v:.3f}" for e, v in sorted(losses.items(), key=lambda x: -x[1]) if v)
    print(f"  recall lost per event: {shown}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--oracle", type=int, nargs="*", default=[1, 3, 5, 1000])
    parser.add_argument("--replay", action="store_true", help="replayed ECB+ recall instead")
    args = parser.parse_args(argv)
    records = read_records(FILES["ecb"])
    if args.replay:
        replay_report(records)
        return 0
    print(
        f"nearest neighbour in its topic reports its event: {nearest_neighbour_accuracy(records):.3f}"
    )
    for seed in args.seeds:
        stream = one_day_records(records, seed)
        gold = gold_labels(stream)
        predicted = run(stream)
        scores: Scores = bcubed(gold, predicted)
        losses = topic_losses(gold, predicted)
        shown = " ".join(
            f"{t}:{v:.3f}" for t, v in sorted(losses.items(), key=lambda x: -x[1]) if v
        )
        print(f"one-day seed {seed}: {scores}; precision lost per topic: {shown}")
        for k in args.oracle:
            print(f"  no wrong join into stories of <= {k}: {bcubed(gold, run(stream, k))}")
        print(f"  no wrong merge: {bcubed(gold, run(stream, 0, True))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
