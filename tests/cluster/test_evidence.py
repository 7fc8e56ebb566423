"""Second-stage evidence (aggregator/cluster/evidence.py): one feed's posts, names of another
event, and an outlet's genuine follow-up. Invented feeds, people and places."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from aggregator.cluster.clusterer import Clusterer
from aggregator.cluster.evidence import Traits, missing_names, novel_names
from aggregator.types import ClusterDoc

T0 = datetime(2024, 6, 3, 7, tzinfo=UTC)


def post(doc_id: str, title: str, text: str, hours: float, source: str | None) -> ClusterDoc:
    return ClusterDoc(doc_id, title, text, T0 + timedelta(hours=hours), source)


def stories(docs: list[ClusterDoc]) -> dict[str, str]:
    clusterer = Clusterer()
    placed, absorbed = {}, {}
    for d in docs:
        placement = clusterer.add(d)
        placed[d.id] = placement.story_id
        absorbed.update(dict(placement.merges))
    for key, story in placed.items():
        while story in absorbed:
            story = absorbed[story]
        placed[key] = story
    return placed


# One podcast feed: a new guest every day, the same show vocabulary in every post.
PODCAST = [
    post(
        f"p{n}",
        f"Tinkerers Hour episode {n}: {guest}",
        f"This week on Tinkerers Hour, host Ada Morrow talks with {guest} about {topic}. "
        "Subscribe to Tinkerers Hour podcast wherever you get your podcasts, rate the "
        "Tinkerers Hour podcast and support the show on the Tinkerers Hour members page. "
        "Tinkerers Hour is produced by Morrow Audio with music by Kestrel Lane.",
        24 * n,
        "Tinkerers Hour",
    )
    for n, (guest, topic) in enumerate(
        [
            ("Bram Oskarsen", "restoring old radios"),
            ("Lidia Farrow", "building a backyard kiln"),
            ("Teo Brannigan", "repairing mechanical clocks"),
            ("Wen Dalca", "weaving on a floor loom"),
        ],
        start=1,
    )
]


def test_one_feeds_daily_posts_stay_apart() -> None:
    placed = stories(PODCAST)
    assert len(set(placed.values())) == len(PODCAST)


def test_the_veto_is_explained() -> None:
    clusterer = Clusterer()
    clusterer.add(PODCAST[0])
    placement = clusterer.add(PODCAST[1])
    assert placement.new_story
    vetoed = placement.evidence.get("vetoed")
    assert vetoed and vetoed[0]["story"] == "p1" and vetoed[0]["why"] == "own feed"
    json.dumps(placement.evidence)


FLOOD = [
    post(
        "f1",
        "Floods cut off Merrow valley villages",
        "Heavy rain flooded the Merrow valley overnight. Regional governor Ilse Varga said "
        "rescue boats reached the villages of Dunmere and Oskby, where the Merrow river "
        "burst its banks and 300 homes were under water.",
        0,
        "Valley Courier",
    ),
    post(
        "f2",
        "Merrow valley floods: rescue boats reach Dunmere",
        "Rescue boats reached Dunmere in the flooded Merrow valley, governor Ilse Varga "
        "said. The Merrow river burst its banks after heavy rain and 300 homes in Dunmere "
        "and Oskby were under water.",
        3,
        "Valley Courier",
    ),
]


def test_an_outlets_follow_up_on_its_own_story_joins() -> None:
    clusterer = Clusterer()
    clusterer.add(FLOOD[0])
    placement = clusterer.add(FLOOD[1])
    assert not placement.new_story and placement.story_id == "f1"
    assert placement.evidence["own_feed_only"] is True


# Two title fights of one boxer on one day's stream, from different outlets: the same sport
# vocabulary, the champion in both; the opponent, the venue and the referee differ.
FIGHT_A = [
    post(
        "a1",
        "Draven Kolt stops Marco Ilves to keep his heavyweight titles",
        "Heavyweight champion Draven Kolt stopped challenger Marco Ilves in the sixth round "
        "in Rostamar on Saturday. Kolt knocked Ilves down twice before referee Pia Lund ended "
        "the title fight. Ilves, from Tallport, had never been stopped.",
        0,
        "Ring Daily",
    ),
    post(
        "a2",
        "Kolt too strong for Ilves in Rostamar",
        "Draven Kolt kept his heavyweight titles by stopping Marco Ilves in six rounds in "
        "Rostamar. Referee Pia Lund stopped the fight after Ilves went down a second time. "
        "Ilves said Kolt was the best fighter he had faced.",
        2,
        "Sports Wire",
    ),
]
FIGHT_B = [
    post(
        "b1",
        "Draven Kolt stops Sergio Baptiste to keep his heavyweight titles",
        "Heavyweight champion Draven Kolt stopped challenger Sergio Baptiste in the seventh "
        "round in Vellmark. Kolt dropped Baptiste with a left hook before referee Omar "
        "Strand waved off the title fight. Baptiste, from Corvin Bay, had won his last nine.",
        1,
        "Fight Post",
    ),
]


def test_same_kind_events_with_other_names_stay_apart() -> None:
    placed = stories(sorted(FIGHT_A + FIGHT_B, key=lambda d: d.published or T0))
    assert placed["a1"] == placed["a2"]
    assert placed["b1"] != placed["a1"]


def test_name_measures() -> None:
    vector = {"kolt": 0.6, "baptiste": 0.6, "round": 0.5}
    centroid = {"kolt": 1.0, "ilves": 1.0, "round": 1.0}
    traits = Traits()
    traits.add("Ring Daily", frozenset({"kolt", "ilves"}))
    names = frozenset({"kolt", "baptiste"})
    assert novel_names(vector, names, centroid) == 0.5  # baptiste: half the name weight
    assert missing_names(vector, names, centroid, traits) == 0.5  # ilves
    assert traits.only_from("Ring Daily") and not traits.only_from("Fight Post")
    traits.add("Fight Post", frozenset())
    assert not traits.only_from("Ring Daily")
