"""Online story clustering: place each new article in the story it reports, or start one.

    for each article, in arrival order:
        vector  = TF-IDF of headline + body, names boosted; the IDF starts from English
                  document frequencies and learns the stream's own as it grows
        stories = live stories sharing its strongest terms (inverted index; no scan)
        score   = cosine(vector, story centroid) x recency of the story, or 0 when the
                  two share names only (same place or people, nothing of what happened)
        join the best story if score >= threshold (higher for long texts than for
        headlines), else start a new story
        if the article also matches a second story whose centroid is close to the joined
        one, the two report one event: merge them (the older story id survives)

Recency counts the articles the stream has seen since the story's last one: a story's pull
halves for every ``half_life_articles`` articles that went elsewhere. A story still being
written about stays in reach however long it runs; one that went quiet stops pulling in
weak matches, so a later event of the same kind starts its own story. On a sparse stream
(a few articles a day) that count moves slowly, so the wall clock counts too: a story quiet
for more than ``quiet_after`` takes an article only on a confident pair model. Stories with
no article for ``window`` are forgotten, so memory and the cost of one placement depend on
the news of the window, not on history. docs/clustering.md says how the knobs were calibrated.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any, NamedTuple

from aggregator.cluster import corrections as correctionsmod
from aggregator.cluster import evidence as evidencemod
from aggregator.cluster import reach
from aggregator.cluster import text as textmod
from aggregator.cluster.amend import Amending
from aggregator.cluster.model import PairModel, bundled
from aggregator.cluster.settings import ClusterSettings
from aggregator.cluster.split import Member
from aggregator.cluster.stories import ExpiringMap, Story, StoryIndex
from aggregator.cluster.vectors import DocumentFrequencies, Vector, weigh
from aggregator.types import ClusterDoc, Placement
from aggregator.words import fold, tokens


class Features(NamedTuple):
    """What placing an article needs from its own text alone (``Clusterer.features``)."""

    counts: dict[str, float]  # term counts of headline (weighted) + body, outlet name gone
    title_terms: Counter[str]  # term counts of the headline alone
    names: frozenset[str]  # terms written as names in the body


class _Article(NamedTuple):
    vector: Vector  # headline + body
    title_vector: Vector  # headline alone (picks the story's title)
    names: frozenset[str]  # terms written as names in the body
    source: str | None  # its feed (outlet name)
    title: str = ""
    when: datetime | None = None


class _Candidate(NamedTuple):
    probability: float  # of reporting the same event (0 when vetoed or not scored)
    score: float  # recency-damped cosine with the centroid
    story: Story
    features: dict[str, float]


def features_of(
    doc: ClusterDoc, title_weight: float, body_tokens: list[str] | None = None
) -> Features:
    """The article's terms and names (``Clusterer.features``): a function of the article and
    one setting, so that a worker process can compute it where the text is first known.
    ``body_tokens``: ``words.tokens(words.fold(doc.text))``, when the caller has it."""
    title_terms = Counter(textmod.terms(doc.title))
    body = doc.text or ""
    if body_tokens is None:
        body_tokens = tokens(fold(body))
    counts: dict[str, float] = dict(Counter(textmod.terms_of(body_tokens)))
    for term, n in title_terms.items():
        counts[term] = counts.get(term, 0.0) + title_weight * n
    # an outlet's own name is in its bylines and datelines, whatever the event
    for term in textmod.terms(doc.source or ""):
        counts.pop(term, None)
        title_terms.pop(term, None)
    names = frozenset(textmod.names(body)) if body else frozenset()
    return Features(counts, title_terms, names)


class Clusterer(Amending):
    """Stateful online clusterer; one instance per stream (not thread-safe)."""

    def __init__(self, settings: ClusterSettings | None = None):
        self.settings = settings or ClusterSettings()
        self.frequencies = DocumentFrequencies(virtual_docs=self.settings.virtual_docs)
        self.index = StoryIndex(probe_cap=self.settings.probe_cap)
        self._story_of = ExpiringMap()  # article id -> story id it was placed in
        self._alias = ExpiringMap()  # absorbed story id -> the story that absorbed it
        self._now: datetime | None = None  # latest publication time seen
        self._tick = 0  # articles seen: the clock that recency is measured on
        self._vetoed: list[dict[str, Any]] = []  # stories the last article was kept out of
        self._apart = correctionsmod.Apart()  # stories an operator kept apart

    # -- public interface ---------------------------------------------------------------

    def add(
        self,
        doc: ClusterDoc,
        *,
        duplicate_of: str | None = None,
        features: Features | None = None,
    ) -> Placement:
        """Place one new article: join the best live story or start one.

        ``features``: ``self.features(doc)`` computed earlier (it depends on the article
        alone, so a caller can compute it while waiting for other work).
        """
        when = self._advance(doc.published)
        article = self._vectorise(doc, features)._replace(title=doc.title, when=when)
        vector = article.vector
        scored = self._score_candidates(article)
        story, score, chosen = self._choose(vector, scored, duplicate_of)
        new_story = story is None
        if story is None:
            story = self.index.create(self._new_story_id(doc.id), when)
        evidence = {}
        if not new_story:
            judged = (chosen.probability, chosen.features) if chosen is not None else None
            recency = reach.recency(self.settings, story, self._tick, self._now)
            evidence = evidencemod.explain(doc, article.vector, story, recency, when, judged)
            evidence["needed_probability"] = round(self._needed(story), 4)
        if self._vetoed:
            evidence["vetoed"] = self._vetoed
        self._join(story, doc, article, when)
        merges = () if new_story else self._merge_bridged(story, scored)
        story = self.index.stories[self._resolve(story.id)]
        moves = () if new_story else self._split(story)
        if moves:
            evidence["split"] = sorted({new for _, new in moves})
            story = self.index.stories[self._resolve(self._story_of.get(doc.id) or story.id)]
        return Placement(
            story_id=story.id,
            score=round(score, 4),
            new_story=new_story,
            duplicate_of=duplicate_of,
            evidence=evidence,
            merges=merges,
            story_title=story.title or None,
            moves=moves,
        )

    def features(self, doc: ClusterDoc) -> Features:
        """The article's terms and names: the part of ``add`` that depends on it alone."""
        return features_of(doc, self.settings.title_weight)

    def restore(self, doc: ClusterDoc, story_id: str) -> None:
        """Replay a stored placement at start-up (window's articles in time order).

        The article is counted in the document frequencies as in ``add``, so after a restart
        the IDF knows the window's news again.
        """
        when = self._advance(doc.published)
        article = self._vectorise(doc)
        story = self.index.stories.get(self._resolve(story_id))
        if story is None:
            story = self.index.create(story_id, when)
        self._join(story, doc, article, when)

    def state(self) -> dict[str, Any]:
        """Everything placement depends on besides the settings, as plain picklable parts:
        saved at shutdown so that a restart continues where this process stopped
        (aggregator/pipeline/snapshot.py) instead of replaying the window from the store."""
        index = self.index
        return {
            "docs": self.frequencies.docs,
            "df": self.frequencies.df,
            "stories": index.stories,
            "postings": index.postings,
            "expiry": index._expiry,
            "seq": index._seq,
            "story_of": self._story_of,
            "alias": self._alias,
            "now": self._now,
            "tick": self._tick,
            "apart": self._apart,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Take over a ``state()`` saved by a clusterer with the same settings and code."""
        self.frequencies.docs = state["docs"]
        self.frequencies.df = state["df"]
        index = self.index
        index.stories, index.postings = state["stories"], state["postings"]
        index._expiry, index._seq = state["expiry"], state["seq"]
        self._story_of, self._alias = state["story_of"], state["alias"]
        self._now, self._tick, self._apart = state["now"], state["tick"], state["apart"]

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
        if self._tick % reach.SWEEP_TICKS == 0:
            for story in reach.out_of_reach(
                self.settings, self.index.stories.values(), self._tick, self._now
            ):
                self.index.remove(story)
        return published if published is not None else self._now

    def _vectorise(self, doc: ClusterDoc, features: Features | None = None) -> _Article:
        s = self.settings
        counts, title_terms, names = features or self.features(doc)
        self.frequencies.add(counts)
        boosts = dict.fromkeys(names, s.name_boost)
        vector = weigh(counts, self.frequencies, boosts=boosts, max_terms=s.doc_terms)
        return _Article(vector, weigh(title_terms, self.frequencies), names, doc.source)

    def _score_candidates(self, article: _Article) -> list[_Candidate]:
        """Candidates best-first by the pair model's probability.

        The live stories sharing the article's top terms are ranked by score (cosine with
        the centroid x recency); the best ``model_candidates`` are judged by the model.
        """
        s = self.settings
        vector = article.vector
        # (-weight, term) pairs sort as the key (-weight, term) would, in C; a generic
        # generator of (term, story) pairs cost a frame switch per posting read
        probe = sorted([(-w, t) for t, w in vector.items()])[: s.probe_terms]
        overlap: dict[str, float] = {}
        get = overlap.get
        for weight, term in probe:
            for story_id in self.index.recent(term):
                overlap[story_id] = get(story_id, 0.0) - weight
        ranked_ids = sorted([(-v, sid) for sid, v in overlap.items()])[: s.max_candidates]
        best = [sid for _, sid in ranked_ids]
        ranked = []
        for story_id in best:
            story = self.index.stories[story_id]
            score = story.similarity(vector) * reach.recency(s, story, self._tick, self._now)
            if score >= s.candidate_floor:
                ranked.append((score, story))
        # ties go to the older story, not to whichever the index met first
        ranked.sort(key=lambda x: (-x[0], x[1].seq))
        ranked = ranked[: s.model_candidates]
        model = self._model()
        share = reach.by_length(s, vector, 0.0, 1.0)
        vetoed = self._vetoed = []
        scored = []
        for rank, (score, story) in enumerate(ranked):
            other = ranked[1][0] if rank == 0 and len(ranked) > 1 else ranked[0][0]
            features = evidencemod.pair_features(
                vector=vector,
                names=article.names,
                title=article.title,
                title_terms=article.title_vector,
                source=article.source,
                when=article.when,
                story=story,
                score=score,
                share=share,
                margin=score - other if len(ranked) > 1 else score,
                idf=self.frequencies.idf,
            )
            probability = model.probability(features)
            if story.traits.only_from(article.source) and score < s.own_feed_threshold:
                why = "own feed"
            elif reach.quiet(s, story, article.when) and probability < s.quiet_probability:
                why = "quiet story"
            elif article.names and s.min_content and features["content"] < s.min_content:
                why = "names in common only"
            elif (
                features["novel_names"] >= s.novel_names_veto
                and features["missing_names"] >= s.missing_names_veto
            ):
                why = "names of another event"
            elif probability < self._needed(story) and score >= reach.threshold(s, vector):
                why = f"model: p={probability:.3f}"
            else:
                why = ""
            if why:
                vetoed.append({"story": story.id, "score": round(score, 4), "why": why})
            if why and not why.startswith("model"):
                probability = 0.0
            scored.append(_Candidate(probability, score, story, features))
        scored.sort(key=lambda c: (-c.probability, c.story.seq))
        return scored

    def _model(self) -> PairModel:
        return self.settings.pair_model or bundled()

    def _choose(
        self, vector: Vector, scored: list[_Candidate], duplicate_of: str | None
    ) -> tuple[Story | None, float, _Candidate | None]:
        """The story to join, the score and the candidate; (None, 1.0, None) for a new one."""
        forced = self._story_for_article(duplicate_of) if duplicate_of else None
        if forced is not None:
            chosen = next((c for c in scored if c.story is forced), None)
            return forced, forced.similarity(vector), chosen
        if scored and scored[0].probability >= self._needed(scored[0].story):
            return scored[0].story, scored[0].score, scored[0]
        return None, 1.0, None

    def _needed(self, story: Story) -> float:
        return reach.needed(self.settings, story, self._model().join_probability)

    def _join(
        self, story: Story, doc: ClusterDoc, article: _Article, when: datetime | None
    ) -> None:
        s = self.settings
        self.index.touch(story, article.vector, when, s.story_terms)
        story.traits.add(doc.source, article.names)
        story.last_tick = self._tick
        title_vector = article.title_vector or article.vector
        if not story.seed_title:
            story.seed_title = title_vector
        story.add_headline(doc.title.strip(), title_vector, s.headlines_kept)
        self._story_of.put(doc.id, story.id, self._now)
        if s.split_stories:
            headline_names = frozenset(t for t in article.title_vector if t in article.names)
            member = Member(
                doc.id,
                article.vector,
                doc.title.strip(),
                title_vector,
                article.names,
                headline_names,
                doc.source,
                when,
            )
            story.add_member(member, s.split_max)

    def _merge_bridged(self, story: Story, scored: list[_Candidate]) -> tuple[tuple[str, str], ...]:
        """Merge the stories this article also matched when they are close to its story.

        Online clustering splits an event when its first articles happen to share few words;
        an article that the model places in both halves, whose centroids are close and
        whose names agree, is the evidence that they are one story.
        """
        s = self.settings
        merges = []
        needed = self._model().merge_probability
        for candidate in scored:
            other = candidate.story
            if candidate.probability < needed or other.id == story.id:
                continue
            if other.id not in self.index.stories:
                continue
            share = candidate.features.get("share", 1.0)
            closeness = s.merge_threshold + share * (s.long_merge_threshold - s.merge_threshold)
            if story.closeness(other) < closeness or not evidencemod.names_agree(story, other):
                continue
            if self._kept_apart(story.id, other.id):
                continue
            survivor, absorbed = (story, other) if story.older_than(other) else (other, story)
            self._fold(survivor, absorbed)
            merges.append((absorbed.id, survivor.id))
            story = survivor
        return tuple(merges)

    def _fold(self, survivor: Story, absorbed: Story) -> None:
        """One story absorbs another: terms, size, times, headlines, recency; the absorbed
        id resolves to the survivor from now on."""
        s = self.settings
        whole = len(survivor.members) == survivor.size and len(absorbed.members) == absorbed.size
        self.index.merge(survivor, absorbed, s.story_terms)
        if s.split_stories:
            members = survivor.members + absorbed.members if whole else []
            survivor.set_members(members, s.split_max)
        for title, vector in absorbed.headlines:
            survivor.add_headline(title, vector, s.headlines_kept)
        survivor.last_tick = max(survivor.last_tick, absorbed.last_tick)
        self._alias.put(absorbed.id, survivor.id, self._now)

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

    def _weighed(self, doc: ClusterDoc) -> _Article:
        """The article's vector under today's IDF, without counting it in the IDF again."""
        s = self.settings
        counts, title_terms, names = self.features(doc)
        boosts = dict.fromkeys(names, s.name_boost)
        vector = weigh(counts, self.frequencies, boosts=boosts, max_terms=s.doc_terms)
        return _Article(vector, weigh(title_terms, self.frequencies), names, doc.source)
