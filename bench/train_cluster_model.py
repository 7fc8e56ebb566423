"""Train the clusterer's pair model (aggregator/cluster/pair_model.json) on the dev corpora.

    python bench/train_cluster_model.py            # writes aggregator/cluster/pair_model.json
    python bench/train_cluster_model.py --out /tmp/model.json --folds 3

Training examples are the clusterer's own online decisions: each dev stream (ECB+ replayed,
ECB+ as one-day streams of 16 outlets, UCI replayed) is clustered article by article, and
every (article, candidate story) pair the model judges gives one example: its measures
(``evidence.pair_features``) and whether the article's event is the story's majority
event. The streams are clustered first with a hand-set model (the old cosine threshold),
then again with the model learnt from that, so the examples look like what the learnt
model meets (``ROUNDS``). Weights: L2-regularised logistic regression by Newton's method,
pure Python.

The join probability is chosen by cross-validation over topics: ECB+ topics (both events of
one kind) and UCI events go to ``--folds`` folds; for each fold a model is trained on the
other folds' examples and the held-out fold's streams are clustered with it at each
probability of ``PROBABILITIES``. The chosen one maximises the mean BCubed F1 of the
held-out streams among those whose mean precision reaches ``--min-precision`` (precision
first), else it is the most precise. The same data
gives the same file (fixed seeds, sorted features, no randomness in the fit).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from aggregator.cluster.clusterer import Clusterer, ClusterSettings, _Candidate  # noqa: E402
from aggregator.cluster.model import MODEL_FILE, PairModel  # noqa: E402
from aggregator.read.replay import read_records, replay_order  # noqa: E402
from bench.cluster_eval import FILES, Tally, gold_labels, one_day_records, placed  # noqa: E402
from bench.scoring import bcubed  # noqa: E402

ONE_DAY_SEEDS = (1, 2)
ROUNDS = 2
PROBABILITIES = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
L2 = 1.0
# the old rule: join at a recency-damped cosine of 0.08 (headline) to 0.3 (body)
HAND_SET = PairModel.of({"score": 20.0, "share": -4.4}, -1.6)

Example = tuple[str, dict[str, float], int, float]  # (topic, measures, same event?, weight)
# the one-day streams are the hard case the model is for (every event live at once); the
# replays are easier and much larger (UCI: 3,318 headlines)
WEIGHTS = {"replay": 1.0, "one-day": 1.0}


def topic_of(record: dict[str, Any]) -> str:
    """ECB+: the topic number (both events of one kind); UCI: the event."""
    return str(record["cluster_id"]).split("_")[0]


def fold_of(topic: str, folds: int) -> int:
    return zlib.crc32(topic.encode()) % folds


def streams(records: dict[str, list[dict[str, Any]]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The dev streams (kind, records in arrival order)."""
    out = [("replay", replay_order(rs)) for rs in records.values()]
    if "ecb" in records:
        out += [
            ("one-day", replay_order(one_day_records(records["ecb"], s))) for s in ONE_DAY_SEEDS
        ]
    return out


class _Recording(Clusterer):
    """A clusterer that keeps the candidates it judged for the last article."""

    last: list[_Candidate] = []

    def _score_candidates(self, article: Any) -> list[_Candidate]:
        self.last = super()._score_candidates(article)
        return self.last


def run(
    stream: list[dict[str, Any]],
    model: PairModel,
    examples: Callable[[Example], None] | None = None,
) -> dict[str, str]:
    """Cluster one stream with ``model``; record examples; record id -> final story id."""
    clusterer = _Recording(ClusterSettings(pair_model=model))
    gold = gold_labels(stream)
    tally = Tally(gold)
    for record, doc, placement in placed(stream, clusterer):
        if examples is not None:
            for candidate in clusterer.last:
                majority = tally.majority(candidate.story.id)
                if majority is not None:
                    same = int(majority == gold[doc.id])
                    examples((topic_of(record), candidate.features, same, 1.0))
        tally.add(doc.id, placement)
    return tally.final()


def collect(stream_list: list[tuple[str, list[dict[str, Any]]]], model: PairModel) -> list[Example]:
    found: list[Example] = []
    for kind, stream in stream_list:
        weight = WEIGHTS[kind]
        run(stream, model, lambda e, w=weight: found.append(e[:3] + (w,)))
    return found


def fit(examples: Iterable[Example], names: list[str], iterations: int = 25) -> PairModel:
    """L2-regularised logistic regression by Newton's method (bias not regularised)."""
    rows = [
        ([1.0] + [values.get(n, 0.0) for n in names], label, weight)
        for _, values, label, weight in examples
    ]
    k = len(names) + 1
    w = [0.0] * k
    for _ in range(iterations):
        grad = [0.0] * k
        hess = [[0.0] * k for _ in range(k)]
        for x, y, weight in rows:
            z = sum(wi * xi for wi, xi in zip(w, x, strict=True))
            p = 1.0 / (1.0 + math.exp(-max(min(z, 30.0), -30.0)))
            r = (p - y) * weight
            s = p * (1.0 - p) * weight
            for i in range(k):
                if x[i]:
                    grad[i] += r * x[i]
                    sx = s * x[i]
                    row = hess[i]
                    for j in range(i, k):
                        if x[j]:
                            row[j] += sx * x[j]
        for i in range(k):
            for j in range(i):
                hess[i][j] = hess[j][i]
            if i:
                grad[i] += L2 * w[i]
                hess[i][i] += L2
            hess[i][i] += 1e-9
        step = _solve(hess, grad)
        w = [wi - si for wi, si in zip(w, step, strict=True)]
        if max(abs(si) for si in step) < 1e-7:
            break
    return PairModel.of(dict(zip(names, w[1:], strict=True)), w[0])


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (k is small)."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for c in range(n):
        pivot = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[pivot] = m[pivot], m[c]
        for r in range(c + 1, n):
            f = m[r][c] / m[c][c]
            if f:
                for j in range(c, n + 1):
                    m[r][j] -= f * m[c][j]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        x[r] = (m[r][n] - sum(m[r][j] * x[j] for j in range(r + 1, n))) / m[r][r]
    return x


def feature_names(examples: list[Example]) -> list[str]:
    return sorted({name for _, values, _, _ in examples for name in values})


def held_out_scores(
    records: dict[str, list[dict[str, Any]]], model: PairModel, fold: int, folds: int
) -> list[tuple[float, float]]:
    """(precision, F1) of each dev stream restricted to the fold's topics."""
    part = {
        name: [r for r in rs if fold_of(topic_of(r), folds) == fold] for name, rs in records.items()
    }
    out = []
    for _, stream in streams(part):
        scores = bcubed(gold_labels(stream), run(stream, model))
        out.append((scores.precision, scores.f1))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    parser.add_argument("--folds", type=int, default=3)
    # precision first: the held-out mean over replays and one-day streams; 0.95 (the replay
    # goal) is out of reach of the one-day streams, and the most precise choice costs a
    # third of their recall
    parser.add_argument("--min-precision", type=float, default=0.875)
    args = parser.parse_args(argv)
    records = {name: read_records(path) for name, path in FILES.items()}
    stream_list = streams(records)

    model, examples = HAND_SET, []
    for number in range(ROUNDS):
        examples += collect(stream_list, model)
        model = fit(examples, feature_names(examples))
        print(f"round {number + 1}: {len(examples)} examples", flush=True)
    names = feature_names(examples)

    table: dict[float, list[tuple[float, float]]] = {p: [] for p in PROBABILITIES}
    for fold in range(args.folds):
        train = [e for e in examples if fold_of(e[0], args.folds) != fold]
        fold_model = fit(train, names)
        for p in PROBABILITIES:
            tuned = dataclasses.replace(fold_model, join_probability=p, merge_probability=p)
            table[p] += held_out_scores(records, tuned, fold, args.folds)
    means = {}
    for p, results in table.items():
        precision = sum(r[0] for r in results) / len(results)
        f1 = sum(r[1] for r in results) / len(results)
        means[p] = (precision, f1)
        print(f"p >= {p:.2f}: held-out mean BCubed P {precision:.3f} F1 {f1:.3f}")
    precise = [p for p in PROBABILITIES if means[p][0] >= args.min_precision]
    if precise:
        best = max(precise, key=lambda p: (means[p][1], p))
    else:  # none is precise enough: the most precise
        best = max(PROBABILITIES, key=lambda p: (means[p][0], p))
    final = dataclasses.replace(fit(examples, names), join_probability=best, merge_probability=best)
    args.out.write_text(
        final.to_json(trained_on="bench/train_cluster_model.py", examples=len(examples)),
        encoding="utf-8",
    )
    print(f"join probability {best} (cross-validated over topics); wrote {args.out}")
    for name, weight in zip(final.features, final.weights, strict=True):
        print(f"  {name:16} {weight:+.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
