"""Sparse TF-IDF vectors with document frequencies learnt from the stream itself.

A vector is a ``dict[str, float]``; document vectors are L2-normalised. The IDF starts from a
virtual corpus of ``virtual_docs`` English news articles (``background``): from the first
article on, "rate" and "bank" are common words and "krone" is a rare one, while a stream's own
counts take over as it grows past the virtual corpus. The counts are halved whenever they pass
``max_docs`` so they follow the news and memory stays bounded.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from itertools import repeat
from operator import mul

from aggregator.cluster import background as backgroundmod

Vector = dict[str, float]

# Figures are not in the background table; their prior comes from their shape. Small whole
# numbers and years are in many articles, a figure like "6.1" or "4.75" is specific.
_SMALL_NUMBER = re.compile(r"\d{1,2}")
_YEAR = re.compile(r"(?:19|20)\d\d")
_SMALL_NUMBER_ZIPF = 5.5
_YEAR_ZIPF = 5.0
# terms whose prior is remembered (the news's vocabulary of a few days fits many times over)
_MEMO_LIMIT = 500_000


class DocumentFrequencies:
    def __init__(
        self,
        *,
        background: Mapping[str, float] | None = None,
        virtual_docs: float = 1000.0,
        max_docs: int = 200_000,
    ):
        self.background = backgroundmod.english() if background is None else background
        self.virtual_docs = virtual_docs
        self.max_docs = max_docs
        self.docs = 0.0
        self.df: dict[str, float] = {}
        self._unlisted = backgroundmod.unlisted_probability()
        self._small = backgroundmod.document_probability(_SMALL_NUMBER_ZIPF)
        self._year = backgroundmod.document_probability(_YEAR_ZIPF)
        self._seen_before: dict[str, float] = {}  # term -> virtual_docs x prior, memoised

    def add(self, terms: Iterable[str]) -> None:
        df = self.df
        for term in set(terms):
            df[term] = df.get(term, 0.0) + 1.0
        self.docs += 1
        if self.docs > self.max_docs:
            self._halve()

    def idf(self, term: str) -> float:
        prior = self._seen_before.get(term)
        if prior is None:
            if len(self._seen_before) >= _MEMO_LIMIT:
                self._seen_before.clear()
            prior = self._seen_before[term] = self.virtual_docs * self.prior(term)
        # the floor only matters with no virtual corpus: a term never seen counts as seen once
        seen = max(self.df.get(term, 0.0) + prior, 1e-9 if prior else 1.0)
        return math.log((self.docs + self.virtual_docs) / seen)

    def prior(self, term: str) -> float:
        """Share of the virtual corpus's documents that hold ``term``."""
        if term[:1].isdigit():
            if _SMALL_NUMBER.fullmatch(term):
                return self._small
            return self._year if _YEAR.fullmatch(term) else self._unlisted
        return self.background.get(term, self._unlisted)

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
    # the products in a's order, as a generator would give them, without a frame per term
    # (placement computes ~25 of these per article: a third of its time was this loop)
    return sum(map(mul, a.values(), map(b.get, a, repeat(0.0))))


def counts_of(terms: Iterable[str]) -> Counter[str]:
    return Counter(terms)
