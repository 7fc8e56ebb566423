"""Operators' corrections in the clusterer's memory: an article split out of its story, two
stories merged, and the pairs of stories that must stay apart.

The store records each correction (``aggregator stories split|merge``); the pipeline hands
them to the clusterer at start-up and before each batch it places, so a running daemon
respects a correction made while it runs. An article split out of a story never rejoins it
by itself: its new story and the old one are never merged by the clusterer.
"""

from __future__ import annotations

from collections.abc import Callable

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


def remove_headline(story: Story, title: str, keep: int) -> None:
    """Forget a headline that left the story; the title is chosen again from the others."""
    story.headlines = [h for h in story.headlines if h[0] != title]
    if story.title == title:
        story.title = ""
    story.add_headline("", {}, keep)


class Apart:
    """Pairs of story ids an operator kept apart (a split article's new story and its old).

    Few (one per split), so a check reads them all, following merges: once the old story
    was merged into a third, that third and the split-out story stay apart too.
    """

    def __init__(self) -> None:
        self._pairs: set[tuple[str, str]] = set()

    def add(self, a: str, b: str) -> None:
        self._pairs.add((a, b))

    def between(self, one: str, other: str, resolve: Callable[[str], str]) -> bool:
        wanted = {one, other}
        return any({resolve(a), resolve(b)} == wanted for a, b in self._pairs)

    def __len__(self) -> int:
        return len(self._pairs)
