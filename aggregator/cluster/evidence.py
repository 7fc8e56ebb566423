"""Second-stage evidence that an article and a story it matches report two different events.

A high cosine says two texts are about the same kind of thing. Two checks then look at what
the cosine cannot see, and veto the join (they never make one):

- **One feed's posts.** A blog, a podcast or a listings feed writes about one topic every
  day, so its posts share their vocabulary (the show, the author, "episode", "alarm")
  whatever each one is about. A story made only of one feed's posts therefore takes
  another post of that feed only on a much higher score (``own_feed_threshold``); an
  outlet's genuine follow-up on its own story repeats its names and details and clears it,
  and a story other outlets already joined is judged as usual.
- **Names of another event.** Two events of one kind (two fights of one boxer, two
  coaches fired by one club) share their topic words; what differs is who and where. When
  much of the article's name weight is on names the story never mentions AND much of the
  story's name weight is on names the article never mentions, the article reports another
  event. Either alone is common in genuine coverage (a new quote, a short piece).

A story keeps which feeds its articles came from and which of its terms were written as
names (``Traits``). The measures are returned for ``aggregator explain``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass
class Traits:
    """Feeds of a story's articles, and its name terms (articles mentioning each)."""

    sources: Counter[str] = field(default_factory=Counter)
    names: Counter[str] = field(default_factory=Counter)

    def add(self, source: str | None, names: frozenset[str]) -> None:
        if source:
            self.sources[source] += 1
        self.names.update(names)

    def absorb(self, other: Traits) -> None:
        self.sources.update(other.sources)
        self.names.update(other.names)

    def only_from(self, source: str | None) -> bool:
        """Every article of the story came from this one feed."""
        return bool(source) and len(self.sources) == 1 and source in self.sources


def novel_names(vector: Mapping[str, float], names: frozenset[str], centroid: Mapping) -> float:
    """Share of the article's name weight on names the story's centroid does not hold."""
    total = novel = 0.0
    for term in names:
        weight = vector.get(term)
        if weight:
            total += weight * weight
            if term not in centroid:
                novel += weight * weight
    return novel / total if total else 0.0


def missing_names(
    vector: Mapping[str, float], names: frozenset[str], centroid: Mapping, story: Traits
) -> float:
    """Share of the story's name weight (centroid) on names the article never mentions."""
    total = missing = 0.0
    for term in story.names:
        weight = centroid.get(term)
        if weight:
            total += weight * weight
            if term not in vector and term not in names:
                missing += weight * weight
    return missing / total if total else 0.0
