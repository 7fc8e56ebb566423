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

import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz

if TYPE_CHECKING:
    from aggregator.cluster.stories import Story
    from aggregator.types import ClusterDoc


@dataclass
class Traits:
    """Feeds of a story's articles, and its name terms (articles mentioning each)."""

    sources: Counter[str] = field(default_factory=Counter)
    names: Counter[str] = field(default_factory=Counter)

    def add(self, source: str | None, names: frozenset[str]) -> None:
        if source:
            self.sources[source] += 1
        self.names.update(names)

    def remove(self, source: str | None, names: frozenset[str]) -> None:
        """An article left the story (split.py)."""
        if source:
            self.sources[source] -= 1
        self.names.subtract(names)
        self.sources = +self.sources
        self.names = +self.names

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


def name_conflict(
    vector: Mapping[str, float],
    names: frozenset[str],
    centroid: Mapping,
    norm: float,
    story: Traits,
) -> float:
    """How strongly each side holds a name the other never mentions (the weaker of the two).

    "Klitschko stops Thompson" against a story on "Klitschko stopped Rahman": the article's
    "Thompson" is not in the story and the story's "Rahman" is not in the article. One such
    name on each side is another event of the same kind; a name new on one side only is a
    new detail.
    """
    mine = max(
        (vector.get(t, 0.0) for t in names if t not in centroid and t not in story.names),
        default=0.0,
    )
    if not mine or norm <= 0:
        return 0.0
    theirs = max(
        (centroid.get(t, 0.0) for t in story.names if t not in vector and t not in names),
        default=0.0,
    )
    return min(mine, theirs / norm)


def _figures(terms: Mapping[str, float] | set[str]) -> set[str]:
    """Figures of two characters or more ("6.1", "2009", "25"): what a headline counts."""
    return {t for t in terms if len(t) > 1 and t[0].isdigit()}


def figure_conflict(title_terms: Mapping[str, float], story: Story) -> float:
    """1 when the headline states figures, the story's headlines do too, and none agree."""
    mine = _figures(title_terms)
    if not mine:
        return 0.0
    theirs: set[str] = set()
    for _, vector in story.headlines:
        theirs |= _figures(vector)
    return 1.0 if theirs and not mine & theirs else 0.0


def title_conflict(
    vector: Mapping[str, float],
    title_terms: Mapping[str, float],
    story: Story,
    idf: Callable[[str], float],
) -> float:
    """The rarest headline word on each side that the other side never uses (the weaker).

    A headline names what is new about an event: "Klitschko stops Thompson" against a story
    that began with "Klitschko stopped Rahman". Rare words are names and figures; a
    paraphrase differs in ordinary words ("rushes a fix", "releases an update").
    """
    centroid = story.centroid
    seen = set(centroid)
    for _, headline in story.headlines:
        seen.update(headline)
    mine = max((idf(t) for t in title_terms if t not in seen), default=0.0)
    if not mine:
        return 0.0
    theirs = max(
        (idf(t) for t in story.seed_title if t not in vector and t not in title_terms),
        default=0.0,
    )
    return min(mine, theirs) / 10


def pair_features(
    *,
    vector: Mapping[str, float],
    names: frozenset[str],
    title: str,
    title_terms: Mapping[str, float],
    source: str | None,
    when: datetime | None,
    story: Story,
    score: float,
    share: float,
    margin: float,
    idf: Callable[[str], float],
) -> dict[str, float]:
    """The measures the pair model (``model.PairModel``) weighs for one (article, story).

    ``score``: recency-damped cosine; ``share``: 0 for a headline alone, 1 for a body;
    ``margin``: this story's score minus the best other candidate's.
    """
    centroid = story.centroid
    norm = math.sqrt(story.norm2) if story.norm2 > 0 else 0.0
    cosine = story.similarity(dict(vector))
    content = story.similarity(dict(vector), names) if names else cosine
    seed = sum(w * story.seed.get(t, 0.0) for t, w in vector.items())
    values = {
        "score": score,
        "score_long": score * share,
        "share": share,
        "cosine": cosine,
        "content": content,
        "names_part": cosine - content,
        "seed": seed,
        "title": fuzz.token_set_ratio(title, story.title) / 100 if story.title else 0.0,
        "novel_names": novel_names(vector, names, centroid),
        "missing_names": missing_names(vector, names, centroid, story.traits),
        "name_conflict": name_conflict(vector, names, centroid, norm, story.traits),
        "figure_conflict": figure_conflict(title_terms, story),
        "log_size": math.log(story.size) if story.size > 0 else 0.0,
        "own_feed_only": float(story.traits.only_from(source)),
        "same_feed": float(bool(source) and source in story.traits.sources),
        "margin": margin,
    }
    values["title_conflict"] = title_conflict(vector, title_terms, story, idf)
    values["names_both"] = min(values["novel_names"], values["missing_names"])
    if when is not None and story.first_time is not None and story.last_time is not None:
        if when < story.first_time:
            hours = (story.first_time - when).total_seconds() / 3600
        else:
            hours = max((when - story.last_time).total_seconds() / 3600, 0.0)
        values["gap"] = math.log1p(hours) / math.log1p(72)
    # a headline and a body are matched differently (a headline's cosine with a story is
    # lower, its wording closer to the story's title): these measures get a weight of their
    # own for bodies
    for name in _BY_LENGTH:
        if name in values:
            values[name + "_long"] = values[name] * share
    return values


_BY_LENGTH = ("cosine", "seed", "title", "margin", "log_size", "gap")


def names_agree(one: Story, other: Story, most: float = 0.5) -> bool:
    """False when each story puts ``most`` of its name weight on names the other lacks.

    Two stories of one event may each have a detail of its own; two events of one kind
    differ in their people and places on both sides.
    """
    return min(_foreign_names(one, other), _foreign_names(other, one)) < most


def _foreign_names(one: Story, other: Story) -> float:
    total = foreign = 0.0
    for term in one.traits.names:
        weight = one.centroid.get(term)
        if weight:
            total += weight * weight
            if term not in other.centroid and term not in other.traits.names:
                foreign += weight * weight
    return foreign / total if total else 0.0


def explain(
    doc: ClusterDoc,
    vector: Mapping[str, float],
    story: Story,
    recency: float,
    when: datetime | None,
    judged: tuple[float, Mapping[str, float]] | None,
) -> dict[str, Any]:
    """Why an article joined a story, for ``aggregator explain`` (``Placement.evidence``):
    the terms they share, the similarities, and the pair model's probability and measures."""
    shared = sorted(
        (t for t in vector if t in story.centroid),
        key=lambda t: (-vector[t] * story.centroid[t], t),
    )[:8]
    evidence: dict[str, Any] = {
        "shared_terms": shared,
        "cosine": round(story.similarity(dict(vector)), 4),
        "recency": round(recency, 4),
        "title_similarity": round(fuzz.token_set_ratio(doc.title, story.title) / 100, 3),
        "story_size": story.size,
        "own_feed_only": story.traits.only_from(doc.source),
    }
    if judged is not None:
        probability, features = judged
        evidence["probability"] = round(probability, 4)
        evidence["features"] = {k: round(v, 4) for k, v in sorted(features.items())}
        evidence["novel_names"] = round(features["novel_names"], 3)
        evidence["missing_names"] = round(features["missing_names"], 3)
    if when is not None and story.last_time is not None:
        hours = (when - story.last_time).total_seconds() / 3600
        evidence["hours_since_story"] = round(hours, 1)
    return evidence
