"""A story that turns out to hold two events is split in two (issue 13, round 4).

On a busy day two events of one kind run at once (two arrests of one club's players, two
actors cast in one role). Their articles are as close to each other as to their own event's
on average, so sooner or later one article of the second event joins the first one's story,
and from then on the mixed story takes the articles of both. What still tells them apart is
which article each one is closest to: an article's nearest neighbour reports its own event
(98% of ECB+). So a story keeps its first articles (``Member``) and their cosines, and after
each join looks at them as a graph, each article linked to its ``neighbours`` most similar:

    the graph falls apart in two groups of ``min_group`` articles or more
    the articles of the two groups are less similar across than within (``most_across``)
    each group has a name that most of its headlines carry and few of the other's do
      (another player, another actor; one event told from two angles shares its protagonist)

then the group without the story's first article leaves it as a story of its own. Only
articles with a body are judged (``min_terms``): headlines alone are too short for a
neighbour to mean much. docs/clustering.md (Round 4) has the figures.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import NamedTuple

from aggregator.cluster.vectors import Vector, dot


class Member(NamedTuple):
    """What a story keeps of one of its articles to judge a split."""

    id: str
    vector: Vector
    title: str
    title_vector: Vector
    names: frozenset[str]  # terms written as names in the body
    headline_names: frozenset[str]  # headline terms that the body writes as names
    source: str | None
    when: datetime | None


def similarities(members: Sequence[Member], new: Member) -> list[float]:
    """The cosines of a new member with the earlier ones (one row of the triangle)."""
    return [dot(new.vector, m.vector) for m in members]


def groups_to_split(
    members: Sequence[Member],
    cosines: Sequence[Sequence[float]],
    *,
    neighbours: int = 2,
    min_group: int = 3,
    most_across: float = 0.8,
    min_terms: int = 40,
) -> list[list[int]]:
    """Indices of the members to move out, one list per new story (usually none).

    ``cosines[i][j]`` (j < i): cosine of member i with member j.
    """
    n = len(members)
    if n < 2 * min_group or sum(len(m.vector) for m in members) < min_terms * n:
        return []

    rows = [[0.0] * n for _ in range(n)]
    for i in range(n):
        row = cosines[i]
        for j in range(i):
            rows[i][j] = rows[j][i] = row[j]

    def cos(i: int, j: int) -> float:
        return rows[i][j]

    linked: list[set[int]] = [set() for _ in range(n)]
    for i in range(n):
        others = [j for j in range(n) if j != i]
        for j in heapq.nlargest(neighbours, others, key=rows[i].__getitem__):
            linked[i].add(j)
            linked[j].add(i)
    parts = _components(linked)
    keep = next(p for p in parts if 0 in p)
    out = []
    for part in parts:
        if part is keep or len(part) < min_group or len(keep) < min_group:
            continue
        if _across(part, keep, cos) > most_across:
            continue
        if not (_leads(members, part, keep) and _leads(members, keep, part)):
            continue
        out.append(part)
    return out


def _components(linked: list[set[int]]) -> list[list[int]]:
    seen: set[int] = set()
    parts = []
    for start in range(len(linked)):
        if start in seen:
            continue
        seen.add(start)
        stack, part = [start], []
        while stack:
            i = stack.pop()
            part.append(i)
            for j in linked[i]:
                if j not in seen:
                    seen.add(j)
                    stack.append(j)
        parts.append(sorted(part))
    return parts


def _across(one: list[int], other: list[int], cos: Callable[[int, int], float]) -> float:
    """Mean cosine across the two groups over the mean of their mean cosines within."""
    across = [cos(i, j) for i in one for j in other]
    within = [_mean([cos(i, j) for i in g for j in g if j < i]) for g in (one, other)]
    inner = sum(within) / 2
    return _mean(across) / inner if inner > 0 else 1.0


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _leads(members: Sequence[Member], one: list[int], other: list[int]) -> bool:
    """A name in most of ``one``'s headlines that few of ``other``'s carry."""
    mine = Counter(t for i in one for t in members[i].headline_names)
    theirs = Counter(t for i in other for t in members[i].headline_names)
    return any(
        count >= 0.5 * len(one) and theirs[term] < 0.34 * len(other) for term, count in mine.items()
    )
