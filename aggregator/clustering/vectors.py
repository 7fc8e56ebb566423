"""Sparse TF-IDF vectors with document frequencies learnt from the stream itself.

A vector is a ``dict[str, float]``; document vectors are L2-normalised. The IDF starts from
a prior of ``prior_docs`` imaginary documents that contain no term, so the first articles of
a stream already weigh a word met once above a word met everywhere; the counts are halved
whenever they pass ``max_docs`` so they follow the news and memory stays bounded.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping

Vector = dict[str, float]


class DocumentFrequencies:
    def __init__(self, *, prior_docs: float = 20.0, max_docs: int = 200_000):
        self.prior_docs = prior_docs
        self.max_docs = max_docs
        self.docs = 0.0
        self.df: dict[str, float] = {}

    def add(self, terms: Iterable[str]) -> None:
        df = self.df
        for term in set(terms):
            df[term] = df.get(term, 0.0) + 1.0
        self.docs += 1
        if self.docs > self.max_docs:
            self._halve()

    def idf(self, term: str) -> float:
        # a term never seen counts as seen once: it is as rare as it can be
        return math.log((self.docs + self.prior_docs) / max(self.df.get(term, 1.0), 1.0))

    def _halve(self) -> None:
        self.docs /= 2
        self.df = {t: n / 2 for t, n in self.df.items() if n >= 1.0}


def weigh(
    counts: Mapping[str, float],
    frequencies: DocumentFrequencies,
    *,
    boosts: Mapping[str, float] | None = None,
    max_terms: int = 0,
) -> Vector:
    """Sublinear TF x IDF, optionally boosted per term, keeping the strongest terms, unit length."""
    boosts = boosts or {}
    weights = {
        term: (1.0 + math.log(n)) * frequencies.idf(term) * boosts.get(term, 1.0)
        for term, n in counts.items()
        if n > 0
    }
    if max_terms and len(weights) > max_terms:
        # ties broken by the term so the result does not depend on dict order
        kept = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:max_terms]
        weights = dict(kept)
    return normalised(weights)


def normalised(vector: Mapping[str, float]) -> Vector:
    norm = math.sqrt(sum(w * w for w in vector.values()))
    if norm == 0:
        return {}
    return {t: w / norm for t, w in vector.items()}


def dot(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(t, 0.0) for t, w in a.items())


def counts_of(terms: Iterable[str]) -> Counter[str]:
    return Counter(terms)
