"""The clusterer's knobs. docs/clustering.md says how each was calibrated on the dev corpora."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from aggregator.cluster.model import PairModel


@dataclass(frozen=True)
class ClusterSettings:
    # stories with no article for this long are closed and forgotten: a week, so that a
    # sparse stream's follow-ups (a verdict days after a trial opened, a result days after the
    # vote) still find their story; on a busy stream the recency below has long taken a quiet
    # story out of reach by then
    window: timedelta = timedelta(days=7)
    # ... and a story with no article for ``quiet_after`` takes one (or is merged) only when the
    # pair model is ``quiet_probability`` sure: the longer a story has been quiet, the likelier
    # a close match is the next event of its kind (another quake, another arrest)
    quiet_after: timedelta | None = timedelta(days=1)
    quiet_probability: float = 0.95
    # ... and a story with no article for ``out_of_reach_after`` is dropped before the window
    # ends once no article can reach it any more (its recency under ``candidate_floor``): on
    # a busy stream that is most stories quiet for 3 days, which the week would otherwise
    # keep in memory, in the snapshot and in a rebuild (None: only the window drops stories)
    out_of_reach_after: timedelta | None = timedelta(days=3)
    # minimum recency-damped cosine between an article and a story centroid to join it, for
    # an article with a body (``long_terms`` terms or more) ...
    threshold: float = 0.3
    # ... and for a headline alone (``short_terms`` terms or fewer); linear in between
    short_threshold: float = 0.08
    short_terms: int = 10
    long_terms: int = 40
    # weight of the English prior in the IDF, as a number of documents seen before the first
    virtual_docs: float = 1000.0
    # a story's pull halves for every this many articles placed elsewhere since its last one
    half_life_articles: int = 100
    # ... and for every this long without a new article (None: no decay with time)
    half_life: timedelta | None = None
    # two stories merge when one article matches both and their centroids are this close
    # (headlines; and for articles with a body)
    merge_threshold: float = 0.15
    long_merge_threshold: float = 0.5
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
    # second stage (``evidence``), checked on the stories an article would join:
    # a story made only of one feed's posts takes another post of that feed only with this
    # score (a blog shares its vocabulary between posts whatever each is about) ...
    own_feed_threshold: float = 0.7
    # ... and the others are judged by the pair model (``model.PairModel``: learnt weights of
    # the measures of ``evidence.pair_features``) on the best few candidates by score; None:
    # the bundled ``pair_model.json``. A candidate below ``candidate_floor`` is not scored.
    pair_model: PairModel | None = None
    # ... and, whatever the model says, no story takes an article that puts this share of
    # its name weight on names the story never mentioned while the story puts this share of
    # its own on names the article never mentions: the people and places of another event
    novel_names_veto: float = 0.3
    missing_names_veto: float = 0.5
    # ... nor one with names in its body that shares less than this much of the cosine
    # through other words (what happened): one place or person in common is not an event.
    # Off (0) by default: the model weighs the same measure ("content") and the rule cost
    # replayed ECB+ 0.014 of F1 on top of it
    min_content: float = 0.0
    model_candidates: int = 4
    # a story that holds two events is split (split.py): its first ``split_max`` articles are
    # kept and judged after each join; a bigger story is not judged any more
    split_stories: bool = True
    split_max: int = 24
    # ... only while its articles hold this many terms on average: headlines alone (UCI:
    # about 10) are too short for a nearest neighbour to mean much; 40 (a body throughout)
    # left mixed stories with a few short articles unjudged
    split_min_terms: int = 30
    # an established story (``established_size`` articles or more, all of them still judged
    # by the split stage) takes an article at this probability instead of the model's join
    # probability: its centroid is spread over many reports, so the model is less sure of a
    # genuine follow-up than it is with a young story, and a wrong join there is one the split
    # stage can still undo, where a report left alone starts a story of its own that the
    # event's next articles and its twin's split between them (round 7). None: off
    established_size: int | None = 6
    established_probability: float = 0.3
    candidate_floor: float = 0.02
