"""The clusterer's memory: live stories, the inverted index that finds candidates, expiry.

A story keeps the sum of its articles' unit vectors (its centroid, cut to its strongest
terms), a few headlines to pick a representative one from, and its first and last times.
The index maps a term to the live stories whose centroid holds it, most recently updated
last, so a lookup reads a bounded tail of each list whatever the number of stories.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice

from aggregator.cluster import split as splitmod
from aggregator.cluster.evidence import Traits
from aggregator.cluster.split import Member
from aggregator.cluster.vectors import Vector, dot


@dataclass
class Story:
    id: str
    seq: int  # creation order; breaks ties between equal first times
    first_time: datetime | None
    last_time: datetime | None
    centroid: Vector = field(default_factory=dict)
    norm2: float = 0.0
    size: int = 0
    headlines: list[tuple[str, Vector]] = field(default_factory=list)
    title: str = ""
    last_tick: int = 0  # stream position (articles seen) of its last article
    traits: Traits = field(default_factory=Traits)  # feeds, years, figures, names stated
    seed: Vector = field(default_factory=dict)  # its first article's vector
    seed_title: Vector = field(default_factory=dict)  # ... and headline
    # its first articles while it has at most ``split_max`` (split.py), and their cosines:
    # member_cosines[i][j], j < i
    members: list[Member] = field(default_factory=list)
    member_cosines: list[list[float]] = field(default_factory=list)

    def add_member(self, member: Member, most: int) -> None:
        """Keep a new article for the split check (after ``StoryIndex.touch``) while the
        story has at most ``most`` and all of them kept; else keep none."""
        if len(self.members) != self.size - 1 or self.size > most:
            self.forget_members()
            return
        self.member_cosines.append(splitmod.similarities(self.members, member))
        self.members.append(member)

    def set_members(self, members: list[Member], most: int) -> None:
        """The story's articles changed as a whole (a merge, a split): all of them or none."""
        self.forget_members()
        if len(members) != self.size or self.size > most:
            return
        for member in members:
            self.member_cosines.append(splitmod.similarities(self.members, member))
            self.members.append(member)

    def forget_members(self) -> None:
        """The story grew past the split check (or changed under it): not judged again."""
        self.members, self.member_cosines = [], []

    def similarity(self, vector: Vector, leave_out: Collection[str] = ()) -> float:
        """Cosine between a unit vector and the centroid (the part from terms not left out)."""
        if self.norm2 <= 0:
            return 0.0
        if leave_out:
            centroid = self.centroid
            shared = sum(w * centroid.get(t, 0.0) for t, w in vector.items() if t not in leave_out)
            return shared / math.sqrt(self.norm2)
        return dot(vector, self.centroid) / math.sqrt(self.norm2)

    def closeness(self, other: Story) -> float:
        """Cosine between two centroids (symmetric)."""
        if self.norm2 <= 0 or other.norm2 <= 0:
            return 0.0
        return dot(self.centroid, other.centroid) / math.sqrt(self.norm2 * other.norm2)

    def older_than(self, other: Story) -> bool:
        """Started earlier (by first article time, then creation order)."""
        mine = (self.first_time is None, self.first_time or datetime.min, self.seq)
        theirs = (other.first_time is None, other.first_time or datetime.min, other.seq)
        return mine < theirs

    def absorb_vector(self, vector: Vector) -> None:
        centroid = self.centroid
        for term, weight in vector.items():
            old = centroid.get(term, 0.0)
            centroid[term] = old + weight
            self.norm2 += 2 * old * weight + weight * weight
        self.size += 1

    def trim(self, max_terms: int) -> list[str]:
        """Cut the centroid to its strongest terms; returns the terms dropped."""
        if len(self.centroid) <= max_terms + max_terms // 2:
            return []
        ranked = sorted(self.centroid.items(), key=lambda kv: (-kv[1], kv[0]))
        self.centroid = dict(ranked[:max_terms])
        self.norm2 = sum(w * w for w in self.centroid.values())
        return [t for t, _ in ranked[max_terms:]]

    def add_headline(self, title: str, vector: Vector, keep: int) -> None:
        """Remember a headline and pick the one closest to the centroid as the story's title."""
        if title and vector:
            self.headlines.append((title, vector))
        if not self.headlines:
            return
        scored = sorted(self.headlines, key=lambda h: (-dot(h[1], self.centroid), len(h[0]), h[0]))
        self.headlines = scored[:keep]
        self.title = self.headlines[0][0]


class StoryIndex:
    """Live stories by id, candidate lookup by term, and expiry by last activity."""

    def __init__(self, *, probe_cap: int):
        self.probe_cap = probe_cap
        self.stories: dict[str, Story] = {}
        self.postings: dict[str, dict[str, None]] = {}
        self._expiry: list[tuple[datetime, int, str]] = []
        self._seq = 0

    def __len__(self) -> int:
        return len(self.stories)

    def create(self, story_id: str, when: datetime | None) -> Story:
        self._seq += 1
        story = Story(id=story_id, seq=self._seq, first_time=when, last_time=when)
        self.stories[story_id] = story
        if when is not None:
            heapq.heappush(self._expiry, (when, story.seq, story.id))
        return story

    def touch(self, story: Story, vector: Vector, when: datetime | None, max_terms: int) -> None:
        """Record that ``vector`` joined ``story`` at ``when``; keep the index in step."""
        if not story.size:
            story.seed = vector  # shared with the story's first member, not copied
        story.absorb_vector(vector)
        for term in vector:
            posting = self.postings.setdefault(term, {})
            posting.pop(story.id, None)  # re-insert: most recently updated goes last
            posting[story.id] = None
        for term in story.trim(max_terms):
            self.unpost(term, story.id)
        if when is not None:
            if story.first_time is None or when < story.first_time:
                story.first_time = when
            if story.last_time is None or when > story.last_time:
                story.last_time = when
                heapq.heappush(self._expiry, (when, story.seq, story.id))

    def candidates(self, terms: list[str]) -> Iterator[tuple[str, str]]:
        """(term, story id) for the most recently active stories holding each term."""
        for term in terms:
            posting = self.postings.get(term)
            if posting:
                for story_id in islice(reversed(posting), self.probe_cap):
                    yield term, story_id

    def recent(self, term: str) -> Iterator[str]:
        """The most recently active stories holding ``term`` (``candidates`` for one term)."""
        posting = self.postings.get(term)
        return islice(reversed(posting), self.probe_cap) if posting else iter(())

    def merge(self, survivor: Story, absorbed: Story, max_terms: int) -> None:
        """Fold ``absorbed`` into ``survivor`` (centroid, size, times) and forget it."""
        self.remove(absorbed)
        size = survivor.size + absorbed.size
        self.touch(survivor, absorbed.centroid, absorbed.last_time, max_terms)
        survivor.size = size
        survivor.traits.absorb(absorbed.traits)
        if absorbed.first_time is not None and (
            survivor.first_time is None or absorbed.first_time < survivor.first_time
        ):
            survivor.first_time = absorbed.first_time

    def remove(self, story: Story) -> None:
        del self.stories[story.id]
        for term in story.centroid:
            self.unpost(term, story.id)

    def expire(self, cutoff: datetime) -> list[str]:
        """Drop the stories whose last article is older than ``cutoff``; returns their ids."""
        dropped = []
        while self._expiry and self._expiry[0][0] < cutoff:
            when, _, story_id = heapq.heappop(self._expiry)
            story = self.stories.get(story_id)
            if story is not None and story.last_time == when:
                self.remove(story)
                dropped.append(story_id)
        return dropped

    def unpost(self, term: str, story_id: str) -> None:
        posting = self.postings.get(term)
        if posting is not None:
            posting.pop(story_id, None)
            if not posting:
                del self.postings[term]


class ExpiringMap:
    """A dict whose entries are forgotten once older than the window (insertion-time order)."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}
        self._order: deque[tuple[datetime, str]] = deque()

    def put(self, key: str, value: str, now: datetime | None) -> None:
        self.data[key] = value
        if now is not None:
            self._order.append((now, key))

    def get(self, key: str) -> str | None:
        return self.data.get(key)

    def expire(self, cutoff: datetime) -> None:
        while self._order and self._order[0][0] < cutoff:
            _, key = self._order.popleft()
            self.data.pop(key, None)
