"""An established story takes a follow-up the pair model is less sure of (round 7).

A story of ``established_size`` articles or more, all still judged by the split stage, takes
an article at ``established_probability`` instead of the model's join probability; a young
story, a story the split stage no longer judges, or the rule turned off still ask for the
model's. The articles are invented for these tests (fictional places and people).
"""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime, timedelta

from aggregator.cluster import reach
from aggregator.cluster.clusterer import Clusterer, ClusterSettings
from aggregator.cluster.model import PairModel
from aggregator.types import ClusterDoc

T0 = datetime(2024, 6, 3, 9, tzinfo=UTC)

BODY = (
    "Firefighters in Corvale fought a blaze at the Halden timber mill for a {n}th hour on "
    "Tuesday, fire chief Mara Quenby said. The fire started in the drying sheds and spread to "
    "the sawmill; about {k} workers were evacuated and the Corvale road was closed. Quenby said "
    "the cause was not known and investigators from Teller County would begin work once the "
    "site cooled."
)

# every candidate gets p = 0.40: under the model's 0.5, over the established story's 0.3
UNSURE = PairModel.of({"score": 0.0}, bias=math.log(0.4 / 0.6))


def report(n: int) -> ClusterDoc:
    return ClusterDoc(
        f"mill-{n}",
        f"Halden timber mill fire in Corvale burns for a {n}th hour",
        BODY.format(n=n + 2, k=40 + n),
        T0 + timedelta(minutes=10 * n),
        f"outlet-{n}",
    )


def place_after(earlier: int, settings: ClusterSettings):  # noqa: ANN201
    clusterer = Clusterer(settings)
    for n in range(earlier):
        clusterer.restore(report(n), "mill-0")
    return clusterer.add(report(earlier))


def test_an_established_story_takes_a_less_sure_follow_up() -> None:
    placement = place_after(6, ClusterSettings(pair_model=UNSURE))
    assert placement.story_id == "mill-0" and not placement.new_story
    assert placement.evidence["probability"] < UNSURE.join_probability
    assert placement.evidence["needed_probability"] == ClusterSettings().established_probability


def test_a_young_story_asks_for_the_model_probability() -> None:
    placement = place_after(2, ClusterSettings(pair_model=UNSURE))
    assert placement.new_story and placement.story_id == "mill-2"
    assert [v["why"] for v in placement.evidence["vetoed"]] == ["model: p=0.400"]


def test_a_story_the_split_stage_no_longer_judges_asks_for_the_model_probability() -> None:
    settings = ClusterSettings(pair_model=UNSURE, split_max=4)
    assert place_after(6, settings).new_story
    assert place_after(
        6, dataclasses.replace(settings, split_max=24, split_stories=False)
    ).new_story


def test_the_rule_can_be_turned_off() -> None:
    settings = ClusterSettings(pair_model=UNSURE, established_size=None)
    assert place_after(6, settings).new_story


def test_established_counts_articles_and_members() -> None:
    settings = ClusterSettings()
    clusterer = Clusterer(settings)
    for n in range(6):
        clusterer.restore(report(n), "mill-0")
        story = clusterer.index.stories["mill-0"]
        assert reach.established(settings, story) == (n + 1 >= settings.established_size)
    story.forget_members()
    assert not reach.established(settings, story)


def test_a_story_of_headlines_is_not_established() -> None:
    # the split stage does not judge headlines alone (too short for a nearest neighbour),
    # so it could not undo a wrong join there
    settings = ClusterSettings()
    clusterer = Clusterer(settings)
    for n in range(8):
        clusterer.restore(dataclasses.replace(report(n), text=""), "mill-0")
    story = clusterer.index.stories["mill-0"]
    assert story.size == 8 and len(story.members) == 8
    assert not reach.established(settings, story)
