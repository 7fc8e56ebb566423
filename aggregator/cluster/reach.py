"""How far an article's pull reaches a story: the score it needs (by its length), the
story's recency, stories quiet for a while, established stories, and stories no article can
reach any more.

Plain functions of the clusterer's settings and clocks (``tick``: articles seen; ``now``:
the newest publication time), kept apart from the clusterer's bookkeeping.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime

from aggregator.cluster.settings import ClusterSettings
from aggregator.cluster.stories import Story
from aggregator.cluster.vectors import Vector

# how often (in articles) the stories out of reach are looked for (``out_of_reach``)
SWEEP_TICKS = 100


def by_length(s: ClusterSettings, vector: Vector, short: float, long: float) -> float:
    """``short`` for a headline alone, ``long`` for an article with a body; linear between."""
    span = max(s.long_terms - s.short_terms, 1)
    share = min(max((len(vector) - s.short_terms) / span, 0.0), 1.0)
    return short + share * (long - short)


def threshold(s: ClusterSettings, vector: Vector) -> float:
    """The score a story needs to take this article.

    Two long texts about different events share many ordinary words by chance (places,
    institutions, "inflation"), two headlines hardly ever do; a match between headlines
    is also lower, their centroid being spread over many phrasings of one event.
    """
    return by_length(s, vector, s.short_threshold, s.threshold)


def quiet(s: ClusterSettings, story: Story, when: datetime | None) -> bool:
    """The story had no article for ``quiet_after`` before this one (both dated)."""
    if s.quiet_after is None or when is None or story.last_time is None:
        return False
    return when - story.last_time > s.quiet_after


def established(s: ClusterSettings, story: Story) -> bool:
    """The story has ``established_size`` articles or more and the split stage still judges
    it (it keeps every article as a member, and they hold ``split_min_terms`` on average):
    a wrong join there can be undone."""
    size = s.established_size
    return (
        size is not None
        and s.split_stories
        and story.size >= size
        and len(story.members) == story.size
        and sum(len(m.vector) for m in story.members) >= s.split_min_terms * story.size
    )


def needed(s: ClusterSettings, story: Story, join_probability: float) -> float:
    """The pair model's probability an article needs to join ``story``: the model's own, or
    ``established_probability`` for an established story."""
    if established(s, story):
        return min(join_probability, s.established_probability)
    return join_probability


def recency(s: ClusterSettings, story: Story, tick: int, now: datetime | None) -> float:
    """The story's pull: halved every ``half_life_articles`` placed elsewhere (and every
    ``half_life`` without an article, when set)."""
    factor = 1.0
    if s.half_life_articles > 0:
        factor *= 0.5 ** ((tick - story.last_tick) / s.half_life_articles)
    if s.half_life is not None and now is not None and story.last_time is not None:
        factor *= 0.5 ** max((now - story.last_time) / s.half_life, 0.0)
    return float(factor)


def out_of_reach(
    s: ClusterSettings, stories: Iterable[Story], tick: int, now: datetime | None
) -> list[Story]:
    """The stories quiet for ``out_of_reach_after`` that no article can reach any more:
    their recency is under ``candidate_floor``, so no candidate list keeps them, and it only
    decays. (Dropped, a wire copy of one of their articles starts a story of its own, as it
    did when the window was 3 days.)"""
    if s.out_of_reach_after is None or now is None or s.half_life_articles <= 0:
        return []
    quiet_since = now - s.out_of_reach_after
    ticks = s.half_life_articles * math.log2(1 / s.candidate_floor)
    return [
        story
        for story in stories
        if tick - story.last_tick > ticks
        and story.last_time is not None
        and story.last_time < quiet_since
    ]
