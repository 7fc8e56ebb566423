"""Clustering quality scores: BCubed and pair-counting precision / recall / F1.

Both take ``gold`` and ``predicted`` as mappings article id -> cluster label. Only the
articles in ``gold`` are scored; an article missing from ``predicted`` is its own singleton.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0

    def __str__(self) -> str:
        return f"P={self.precision:.3f} R={self.recall:.3f} F1={self.f1:.3f}"


def _complete(
    gold: Mapping[str, Hashable], predicted: Mapping[str, Hashable]
) -> dict[str, Hashable]:
    # A unique tuple label cannot collide with any label the clusterer gave.
    return {i: predicted.get(i, ("<singleton>", i)) for i in gold}


def bcubed(gold: Mapping[str, Hashable], predicted: Mapping[str, Hashable]) -> Scores:
    """Per-article averaged BCubed precision and recall (Bagga & Baldwin 1998)."""
    if not gold:
        return Scores(1.0, 1.0)
    pred = _complete(gold, predicted)
    both = Counter((gold[i], pred[i]) for i in gold)
    gold_sizes = Counter(gold.values())
    pred_sizes = Counter(pred.values())
    precision = recall = 0.0
    for (g, p), n in both.items():
        # each of the n articles in this cell shares n correct pairs (itself included)
        precision += n * n / pred_sizes[p]
        recall += n * n / gold_sizes[g]
    return Scores(precision / len(gold), recall / len(gold))


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def pair_counting(gold: Mapping[str, Hashable], predicted: Mapping[str, Hashable]) -> Scores:
    """Precision / recall over the pairs of articles put together."""
    pred = _complete(gold, predicted)
    both = sum(_pairs(n) for n in Counter((gold[i], pred[i]) for i in gold).values())
    in_pred = sum(_pairs(n) for n in Counter(pred.values()).values())
    in_gold = sum(_pairs(n) for n in Counter(gold.values()).values())
    return Scores(both / in_pred if in_pred else 1.0, both / in_gold if in_gold else 1.0)


def partition(labels: Mapping[str, Hashable]) -> list[set[str]]:
    """Labels -> the clusters as sets of ids (for reports and tests)."""
    groups: dict[Hashable, set[str]] = defaultdict(set)
    for item, label in labels.items():
        groups[label].add(item)
    return list(groups.values())
