"""Online story clustering: place each new article in the story it reports, or start one.

    for each article, in arrival order:
        vector  = TF-IDF of headline + body (IDF learnt from the stream), names boosted
        stories = live stories sharing its strongest terms (inverted index; no scan)
        score   = cosine(vector, story centroid) x recency of the story
        join the best story if score >= threshold, else start a new story
        if the article also matches a second story whose centroid is close to the joined
        one, the two report one event: merge them (the older story id survives)

Recency counts the articles the stream has seen since the story's last one: a story's pull
halves for every ``half_life_articles`` articles that went elsewhere. A story still being
written about stays in reach however long it runs; one that went quiet stops pulling in
weak matches, so a later event of the same kind starts its own story. Stories with no
article for ``window`` are forgotten, so memory and the cost of one placement depend on the
news of the window, not on history. docs/clustering.md says how the knobs were calibrated.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rapidfuzz import fuzz

from aggregator.clustering import text as textmod
from aggregator.clustering.stories import ExpiringMap, Story, StoryIndex
from aggregator.clustering.vectors import DocumentFrequencies, Vector, weigh
from aggregator.types import ClusterDoc, Placement


@dataclass(frozen=True)
class ClusterSettings:
    # stories with no article for this long are closed and forgotten
    window: timedelta = timedelta(days=3)
    # minimum recency-damped cosine between an article and a story centroid to join it
    threshold: float = 0.08
    # a story's pull halves for every this many articles placed elsewhere since its last one
    half_life_articles: int = 100
    # two stories merge when one article matches both and their centroids are this close
    merge_threshold: float = 0.15
    # extra weight of words written as names in a body (people, places, organisations)
    name_boost: float = 3.0
    # the headline counts as this many occurrences of each of its words
    title_weight: float = 2.0
    # cost bounds: terms kept per article and per story, terms probed in the index,
    # stories read per probed term, stories scored
    doc_terms: int = 60
    story_terms: int = 200
    probe_terms: int = 12
    probe_cap: int = 50
    max_candidates: int = 20
    headlines_kept: int = 8


class Clusterer:
    """Stateful online clusterer; one instance per stream (not thread-safe)."""

    def __init__(self, settings: ClusterSettings | None = None):
        self.settings = settings or ClusterSettings()
        self.frequencies = DocumentFrequencies()
        self.index = StoryIndex(probe_cap=self.settings.probe_cap)
        self._story_of = ExpiringMap()  # article id -> story id it was placed in
        self._alias = ExpiringMap()  # absorbed story id -> the story that absorbed it
        self._now: datetime | None = None  # latest publication time seen
        self._tick = 0  # articles seen: the clock that recency is measured on

    # -- public interface ---------------------------------------------------------------

    def add(self, doc: ClusterDoc, *, duplicate_of: str | None = None) -> Placement:
        """Place one new article: join the best live story or start one."""
        when = self._advance(doc.published)
        vector, title_vector = self._vectorise(doc)
        scored = self._score_candidates(vector)
        story, score = self._choose(vector, scored, duplicate_of)
        new_story = story is None
        if story is None:
            story = self.index.create(self._new_story_id(doc.id), when)
        evidence = {} if new_story else self._evidence(doc, vector, story, when)
        self._join(story, doc, vector, title_vector, when)
        merges = () if new_story else self._merge_bridged(story, scored)
        story = self.index.stories[self._resolve(story.id)]
        return Placement(
            story_id=story.id,
            score=round(score, 4),
            new_story=new_story,
            duplicate_of=duplicate_of,
            evidence=evidence,
            merges=merges,
            story_title=story.title or None,
        )

    def restore(self, doc: ClusterDoc, story_id: str) -> None:
        """Replay a stored placement at start-up (window's articles in time order)."""
        when = self._advance(doc.published)
        vector, title_vector = self._vectorise(doc)
        story = self.index.stories.get(self._resolve(story_id))
        if story is None:
            story = self.index.create(story_id, when)
        self._join(story, doc, vector, title_vector, when)

    def story_title(self, story_id: str) -> str | None:
        story = self.index.stories.get(self._resolve(story_id))
        return (story.title or None) if story is not None else None

    def story_of(self, article_id: str) -> str | None:
        """Current story of an article still in the window (merges followed)."""
        story_id = self._story_of.get(article_id)
        return self._resolve(story_id) if story_id is not None else None

    def __len__(self) -> int:
        """Live stories."""
        return len(self.index)

    # -- steps ----------------------------------------------------------------------------

    def _advance(self, published: datetime | None) -> datetime | None:
        """Move the clocks; an article without a date happened "now"."""
        self._tick += 1
        if published is not None and (self._now is None or published > self._now):
            self._now = published
            cutoff = published - self.settings.window
            self.index.expire(cutoff)
            self._story_of.expire(cutoff)
            self._alias.expire(cutoff)
        return published if published is not None else self._now

    def _vectorise(self, doc: ClusterDoc) -> tuple[Vector, Vector]:
        """(vector of headline + body, vector of the headline alone)."""
        s = self.settings
        title_terms = Counter(textmod.terms(doc.title))
        body = doc.text or ""
        counts: dict[str, float] = dict(Counter(textmod.terms(body)))
        for term, n in title_terms.items():
            counts[term] = counts.get(term, 0.0) + s.title_weight * n
        self.frequencies.add(counts)
        boosts = dict.fromkeys(textmod.names(body), s.name_boost) if body else None
        vector = weigh(counts, self.frequencies, boosts=boosts, max_terms=s.doc_terms)
        return vector, weigh(title_terms, self.frequencies)

    def _score_candidates(self, vector: Vector) -> list[tuple[float, Story]]:
        """Best-first (score, story) for the live stories sharing the article's top terms."""
        s = self.settings
        probe = sorted(vector, key=lambda t: (-vector[t], t))[: s.probe_terms]
        overlap: dict[str, float] = {}
        for term, story_id in self.index.candidates(probe):
            overlap[story_id] = overlap.get(story_id, 0.0) + vector[term]
        best = sorted(overlap, key=lambda sid: (-overlap[sid], sid))[: s.max_candidates]
        scored = []
        for story_id in best:
            story = self.index.stories[story_id]
            scored.append((story.similarity(vector) * self._recency(story), story))
        # ties go to the older story, not to whichever the index met first
        scored.sort(key=lambda x: (-x[0], x[1].seq))
        return scored

    def _choose(
        self, vector: Vector, scored: list[tuple[float, Story]], duplicate_of: str | None
    ) -> tuple[Story | None, float]:
        """The story to join and the score; (None, 1.0) to start a new one."""
        forced = self._story_for_article(duplicate_of) if duplicate_of else None
        if forced is not None:
            return forced, forced.similarity(vector)
        if scored and scored[0][0] >= self.settings.threshold:
            return scored[0][1], scored[0][0]
        return None, 1.0

    def _recency(self, story: Story) -> float:
        half_life = self.settings.half_life_articles
        if half_life <= 0:
            return 1.0
        return float(0.5 ** ((self._tick - story.last_tick) / half_life))

    def _join(
        self,
        story: Story,
        doc: ClusterDoc,
        vector: Vector,
        title_vector: Vector,
        when: datetime | None,
    ) -> None:
        s = self.settings
        self.index.touch(story, vector, when, s.story_terms)
        story.last_tick = self._tick
        story.add_headline(doc.title.strip(), title_vector or vector, s.headlines_kept)
        self._story_of.put(doc.id, story.id, self._now)

    def _merge_bridged(
        self, story: Story, scored: list[tuple[float, Story]]
    ) -> tuple[tuple[str, str], ...]:
        """Merge the stories this article also matched when they are close to its story.

        Online clustering splits an event when its first articles happen to share few words;
        an article that matches both halves is the evidence that they are one story.
        """
        s = self.settings
        merges = []
        for score, other in scored:
            if score < s.threshold or other.id == story.id or other.id not in self.index.stories:
                continue
            if story.closeness(other) < s.merge_threshold:
                continue
            survivor, absorbed = (story, other) if story.older_than(other) else (other, story)
            self.index.merge(survivor, absorbed, s.story_terms)
            for title, vector in absorbed.headlines:
                survivor.add_headline(title, vector, s.headlines_kept)
            survivor.last_tick = max(survivor.last_tick, absorbed.last_tick)
            self._alias.put(absorbed.id, survivor.id, self._now)
            merges.append((absorbed.id, survivor.id))
            story = survivor
        return tuple(merges)

    # -- helpers ----------------------------------------------------------------------------

    def _resolve(self, story_id: str) -> str:
        for _ in range(1000):  # chains are short; the bound only guards against a cycle
            target = self._alias.get(story_id)
            if target is None:
                break
            story_id = target
        return story_id

    def _story_for_article(self, article_id: str) -> Story | None:
        story_id = self.story_of(article_id)
        return self.index.stories.get(story_id) if story_id is not None else None

    def _new_story_id(self, doc_id: str) -> str:
        """The first article's id: stable, and readable in exports."""
        story_id, n = doc_id, 1
        while story_id in self.index.stories or self._alias.get(story_id) is not None:
            n += 1
            story_id = f"{doc_id}~{n}"
        return story_id

    def _evidence(
        self, doc: ClusterDoc, vector: Vector, story: Story, when: datetime | None
    ) -> dict[str, Any]:
        shared = sorted(
            (t for t in vector if t in story.centroid),
            key=lambda t: (-vector[t] * story.centroid[t], t),
        )[:8]
        evidence: dict[str, Any] = {
            "shared_terms": shared,
            "cosine": round(story.similarity(vector), 4),
            "recency": round(self._recency(story), 4),
            "title_similarity": round(fuzz.token_set_ratio(doc.title, story.title) / 100, 3),
            "story_size": story.size,
        }
        if when is not None and story.last_time is not None:
            hours = (when - story.last_time).total_seconds() / 3600
            evidence["hours_since_story"] = round(hours, 1)
        return evidence
