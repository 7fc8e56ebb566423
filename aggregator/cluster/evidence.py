"""Second-stage evidence that an article and a story report two different events.

A high cosine says two texts are about the same kind of thing; two events of one kind (two
earthquakes, two coaches fired by one club, two fights of one boxer) share nearly all of
their vocabulary. What tells them apart is in the details each article states: the year it
happened, its figures (a 6.1 and a 7.2 quake), the people and places named. A story keeps,
for each of these, in how many of its articles it appears (``Traits``); an article whose
details contradict what most of the story's articles say does not join it, however high
its cosine.

The checks only veto a join; they never make one. Each returns a short reason for
``aggregator explain``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

_YEAR = re.compile(r"(?:19[5-9]|20\d)\d")
# a figure that identifies one event: a decimal ("6.1", "4.75") or a number of 3+ digits
# that is not a year ("2000", "350")
_SPECIFIC = re.compile(r"\d+\.\d+|\d{3,}")


def years(terms: Iterable[str]) -> frozenset[str]:
    return frozenset(t for t in terms if _YEAR.fullmatch(t))


def figures(terms: Iterable[str]) -> frozenset[str]:
    return frozenset(t for t in terms if _SPECIFIC.fullmatch(t) and not _YEAR.fullmatch(t))


@dataclass
class Traits:
    """What a story's articles state, each counted once per article that states it."""

    members: int = 0
    sources: Counter[str] = field(default_factory=Counter)
    years: Counter[str] = field(default_factory=Counter)
    figures: Counter[str] = field(default_factory=Counter)
    names: Counter[str] = field(default_factory=Counter)

    def add(self, source: str | None, article: ArticleTraits) -> None:
        self.members += 1
        if source:
            self.sources[source] += 1
        self.years.update(article.years)
        self.figures.update(article.figures)
        self.names.update(article.names)

    def absorb(self, other: Traits) -> None:
        self.members += other.members
        self.sources.update(other.sources)
        self.years.update(other.years)
        self.figures.update(other.figures)
        self.names.update(other.names)

    def only_from(self, source: str | None) -> bool:
        """Every article of the story came from this one feed."""
        return bool(source) and len(self.sources) == 1 and source in self.sources


@dataclass(frozen=True)
class ArticleTraits:
    years: frozenset[str]
    figures: frozenset[str]
    names: frozenset[str]


def of_article(terms: Iterable[str], names: frozenset[str]) -> ArticleTraits:
    listed = list(terms)
    return ArticleTraits(years(listed), figures(listed), names)


def _held(counts: Counter[str], members: int, share: float) -> set[str]:
    """The values stated by at least ``share`` of the story's articles (and by two of them)."""
    need = max(2.0, share * members) if members >= 2 else 1.0
    return {value for value, n in counts.items() if n >= need}


def conflict(article: ArticleTraits, story: Traits, share: float) -> str | None:
    """Why the article reports another event than the story, or None.

    A year the story's articles agree on that the article never mentions, while the
    article names years of its own, is another event of the same kind (the 2008 and the
    2012 title fight). The same for specific figures.
    """
    if story.members == 0:
        return None
    for kind, mine, theirs in (
        ("years", article.years, story.years),
        ("figures", article.figures, story.figures),
    ):
        if not mine:
            continue
        held = _held(theirs, story.members, share)
        if held and not (held & mine) and not (mine & set(theirs)):
            return f"{kind} {','.join(sorted(mine)[:3])} vs {','.join(sorted(held)[:3])}"
    return None
