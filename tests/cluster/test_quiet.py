"""A story stays open for a week; once quiet for a day it takes only a confident match.

On a sparse stream an event's follow-up can come days later (a verdict after a trial opened)
and should find its story; the next event of the same kind comes days later too, so a
quiet story asks the pair model for more (``quiet_after``, ``quiet_probability``).
The articles are invented for these tests (fictional places and people).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from aggregator.cluster.clusterer import Clusterer, ClusterSettings
from aggregator.cluster.model import PairModel
from aggregator.types import ClusterDoc

T0 = datetime(2024, 5, 1, 8, tzinfo=UTC)

TRIAL = ClusterDoc(
    "t1",
    "Trial of Dorian Vell opens in Tarnmouth over Ostrel bank collapse",
    "Prosecutors in Tarnmouth opened the fraud trial of Dorian Vell, the former chief of "
    "Ostrel Savings, on Monday. They told the jury that Vell hid losses of 40 million crowns "
    "before the bank collapsed, wiping out the savings of thousands of depositors in Ostrel. "
    "Judge Anneke Brill said the trial would last about a week. Vell denies the charges.",
    T0,
    "Meridian Wire",
)
VERDICT_TEXT = (
    "A jury in Tarnmouth found Dorian Vell, the former chief of Ostrel Savings, guilty of "
    "fraud on Friday. Prosecutors said Vell hid losses of 40 million crowns before the bank "
    "collapsed. Judge Anneke Brill will sentence him next month; depositors in Ostrel "
    "cheered outside the court."
)


def verdict(hours: float) -> ClusterDoc:
    title = "Dorian Vell found guilty of fraud over Ostrel Savings collapse"
    return ClusterDoc("t2", title, VERDICT_TEXT, T0 + timedelta(hours=hours), "Harbor Post")


def place_verdict(hours: float, settings: ClusterSettings | None = None):  # noqa: ANN201
    clusterer = Clusterer(settings)
    clusterer.add(TRIAL)
    return clusterer.add(verdict(hours))


# every candidate gets p = 0.80: enough to join an open story, not a quiet one
UNSURE = PairModel.of({"score": 0.0}, bias=1.3863)


def test_a_follow_up_days_later_joins_the_story() -> None:
    placement = place_verdict(5 * 24)
    assert placement.story_id == "t1" and not placement.new_story
    assert placement.evidence["probability"] >= ClusterSettings().quiet_probability


def test_a_story_quiet_for_longer_than_the_window_is_closed() -> None:
    placement = place_verdict(8 * 24)
    assert placement.new_story and placement.story_id == "t2"


def test_a_quiet_story_takes_only_a_confident_match() -> None:
    settings = ClusterSettings(pair_model=UNSURE)
    fresh = place_verdict(2, settings)
    assert fresh.story_id == "t1"  # p 0.8 is enough while the story is being written about
    quiet = place_verdict(2 * 24, settings)
    assert quiet.new_story and quiet.story_id == "t2"
    assert quiet.evidence["vetoed"] == [
        {"story": "t1", "score": quiet_score(), "why": "quiet story"}
    ]


def test_the_quiet_rule_can_be_turned_off_or_relaxed() -> None:
    off = ClusterSettings(pair_model=UNSURE, quiet_after=None)
    assert place_verdict(2 * 24, off).story_id == "t1"
    relaxed = dataclasses.replace(off, quiet_after=timedelta(days=1), quiet_probability=0.75)
    assert place_verdict(2 * 24, relaxed).story_id == "t1"
    later = dataclasses.replace(off, quiet_after=timedelta(days=3))
    assert place_verdict(2 * 24, later).story_id == "t1"


def test_a_quiet_story_is_not_merged_through_an_unsure_match() -> None:
    court = ClusterDoc(
        "c1",
        "Ostrel Savings depositors pack the court for the Dorian Vell trial",
        "Depositors of Ostrel Savings filled the public gallery in Tarnmouth as the trial of "
        "Dorian Vell went on. Judge Anneke Brill heard the bank's auditors.",
        T0 + timedelta(hours=40),
        "Lakeside Daily",
    )

    def stories(settings: ClusterSettings) -> tuple[str, str, tuple[tuple[str, str], ...]]:
        clusterer = Clusterer(settings)
        clusterer.add(TRIAL)
        clusterer.add(court)
        placement = clusterer.add(verdict(48))
        return clusterer.story_of("t1") or "", placement.story_id, placement.merges

    # the trial story went quiet for 40 hours: the court report starts a story of its own,
    # and the verdict, unsure, joins that one without merging the quiet story into it
    assert stories(ClusterSettings(pair_model=UNSURE)) == ("t1", "c1", ())
    # without the rule all three are one story
    assert stories(ClusterSettings(pair_model=UNSURE, quiet_after=None)) == ("t1", "t1", ())


def quiet_score() -> float:
    clusterer = Clusterer(ClusterSettings(pair_model=UNSURE, quiet_after=None))
    clusterer.add(TRIAL)
    return clusterer.add(verdict(2 * 24)).score


def _filler(n: int, when: datetime) -> ClusterDoc:
    """An article on nothing the trial story shares (its own made-up words)."""
    words = " ".join(f"zorvex{n}q{k}" for k in range(12))
    return ClusterDoc(f"f{n}", f"Qarlin{n} festival report", words, when, "Other Desk")


def test_a_story_out_of_reach_is_dropped_before_the_week_ends_on_a_busy_stream():
    settings = ClusterSettings(half_life_articles=10)  # out of reach after ~57 articles
    busy, sparse = Clusterer(settings), Clusterer(settings)
    for clusterer in (busy, sparse):
        clusterer.add(TRIAL)
    later = T0 + timedelta(days=4)
    for n in range(200):  # quiet for 4 days, and 200 articles went elsewhere
        busy.add(_filler(n, later))
    for n in range(20):  # quiet for 4 days, but only 20 went elsewhere: still in reach
        sparse.add(_filler(n, later))
    assert busy.story_of("t1") is not None  # (the article's record stays for the window)
    assert "t1" not in busy.index.stories
    assert "t1" in sparse.index.stories
    kept = Clusterer(dataclasses.replace(settings, out_of_reach_after=None))
    kept.add(TRIAL)
    for n in range(200):
        kept.add(_filler(n, later))
    assert "t1" in kept.index.stories  # only the week drops it


def test_a_story_out_of_reach_but_quiet_less_than_three_days_stays():
    clusterer = Clusterer(ClusterSettings(half_life_articles=10))
    clusterer.add(TRIAL)
    for n in range(200):
        clusterer.add(_filler(n, T0 + timedelta(days=2)))
    assert "t1" in clusterer.index.stories
