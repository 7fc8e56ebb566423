"""Operators' corrections in the clusterer's memory: an article split out of its story, two
stories merged, and the pairs of stories that must stay apart.

The store records each correction (``aggregator stories split|merge``); the pipeline hands
them to the clusterer at start-up and before each batch it places, so a running daemon
respects a correction made while it runs. An article split out of a story never rejoins it
by itself: its new story and the old one are never merged by the clusterer.
"""

from __future__ import annotations

from aggregator.cluster.stories import Story
from aggregator.cluster.vectors import Vector


def remove_vector(story: Story, vector: Vector) -> None:
    """Take one article's vector out of a story's centroid (the inverse of absorbing it)."""
    centroid = story.centroid
    for term, weight in vector.items():
        left = centroid.get(term, 0.0) - weight
        if left > 1e-9:
            centroid[term] = left
        else:
            centroid.pop(term, None)
    story.norm2 = sum(w * w for w in centroid.values())
    story.size = max(story.size - 1, 0)


class Apart:
    """Pairs of story ids an operator kept apart (a split article's new story and its old)."""

    def __init__(self) -> None:
        self._pairs: set[frozenset[str]] = set()

    def add(self, a: str, b: str) -> None:
        self._pairs.add(frozenset((a, b)))

    def __contains__(self, pair: tuple[str, str]) -> bool:
        return frozenset(pair) in self._pairs

    def __len__(self) -> int:
        return len(self._pairs)
