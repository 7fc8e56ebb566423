"""A story that turns out to hold two events is split in two (issue 13, rounds 4 and 5).

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

then the group without the story's first article leaves it as a story of its own. When that
graph finds nothing (a single cross link makes it one piece), each article is linked to its
single most similar only, the pieces are joined by average linkage into two groups, and those
are judged the same way, further apart (``strict_across``). A group found is re-checked
member by member: each article goes to the side it is closer to on average (an article
linked across by its one nearest neighbour comes back), and the headline names must still
tell the two sides apart. Only articles
with a body are judged (``min_terms`` on average): headlines alone are too short for a
neighbour to mean much. docs/clustering.md (Rounds 4 and 5) has the figures.
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
    strict_across: float = 0.75,
    min_terms: int = 30,
) -> list[list[int]]:
    """Indices of the members to move out, one list per new story (usually none).

    ``cosines[i][j]`` (j < i): cosine of member i with member j. The graph of each article's
    ``neighbours`` most similar is read first. One cross link is enough to make it one
    piece, so when it finds nothing, the graph of each article's single most similar is
    read, its pieces joined by average linkage into two groups (``_two_groups``), which
    must then be further apart (``strict_across``). A single group found is re-checked
    member by member (``_settle``), and the two groups that result must still pass the
    headline-name condition, else nothing is split.
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

    nearest = [
        heapq.nlargest(neighbours, (j for j in range(n) if j != i), key=rows[i].__getitem__)
        for i in range(n)
    ]
    out = _groups(members, _components(_graph(nearest, neighbours)), cos, min_group, most_across)
    if not out:
        pieces = _components(_graph(nearest, 1))
        if len(pieces) > 1:
            out = _groups(members, _two_groups(pieces, rows), cos, min_group, strict_across)
    if len(out) != 1:
        return out
    # the groups that part must still each have their own headline name
    leaving = _settle(out[0], n, cos)
    gone = set(leaving)
    staying = [i for i in range(n) if i not in gone]
    ok = _leads(members, leaving, staying) and _leads(members, staying, leaving)
    return [leaving] if ok else []


def _two_groups(pieces: list[list[int]], rows: list[list[float]]) -> list[list[int]]:
    """The pieces joined, the two closest on mean cosine first, until two groups are left."""
    groups = [list(p) for p in pieces]
    # sums[a][b]: total cosine between the members of groups a and b
    sums = [[sum(rows[i][j] for i in a for j in b) for b in groups] for a in groups]
    while len(groups) > 2:
        _, a, b = max(
            (sums[a][b] / (len(groups[a]) * len(groups[b])), a, b)
            for a in range(len(groups))
            for b in range(a + 1, len(groups))
        )
        groups[a] = sorted(groups[a] + groups[b])
        for c in range(len(groups)):
            sums[a][c] += sums[b][c]
            sums[c][a] = sums[a][c]
        del groups[b], sums[b]
        for row in sums:
            del row[b]
    return groups


def _graph(nearest: list[list[int]], k: int) -> list[set[int]]:
    """Each member linked (both ways) to its ``k`` most similar."""
    linked: list[set[int]] = [set() for _ in nearest]
    for i, best in enumerate(nearest):
        for j in best[:k]:
            linked[i].add(j)
            linked[j].add(i)
    return linked


def _groups(
    members: Sequence[Member],
    parts: list[list[int]],
    cos: Callable[[int, int], float],
    min_group: int,
    most_across: float,
) -> list[list[int]]:
    """The parts of the graph (other than the first member's) that make a second event."""
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


def _settle(part: list[int], n: int, cos: Callable[[int, int], float]) -> list[int]:
    """The leaving group after each member goes to the side it is closer to on average.

    A graph component is cut where the links are, and an article of the second event
    linked to the first one only by its nearest neighbour (or a small component left
    behind) stays on the wrong side; a few rounds of "closer to which group" put it
    right. The story's first member never leaves; an empty result keeps ``part``.
    """
    leaving = set(part)
    for _ in range(5):
        moved = set()
        for i in range(1, n):
            there = [cos(i, j) for j in leaving if j != i]
            here = [cos(i, j) for j in range(n) if j not in leaving and j != i]
            if _mean(there) > _mean(here):
                moved.add(i)
        if moved == leaving:
            break
        leaving = moved
    return sorted(leaving) if leaving else part


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
