"""Online story clustering: grouping, separation, merges, restore, robustness.

The articles are invented for these tests (fictional places and people).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.cluster.background import english, unlisted_probability
from aggregator.cluster.clusterer import Clusterer, ClusterSettings
from aggregator.cluster.stories import Story
from aggregator.cluster.text import names, stem, terms
from aggregator.cluster.vectors import DocumentFrequencies
from aggregator.types import ClusterDoc

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.scoring import bcubed, pair_counting  # noqa: E402

T0 = datetime(2024, 5, 1, 8, tzinfo=UTC)


def doc(doc_id: str, title: str, text: str = "", hours: float = 0.0) -> ClusterDoc:
    return ClusterDoc(doc_id, title, text, T0 + timedelta(hours=hours), None)


QUAKE_VALDORIA = [
    doc(
        "v1",
        "Strong earthquake hits Valdoria, dozens feared dead",
        "A magnitude 6.4 earthquake struck the mountain province of Valdoria early on "
        "Wednesday, officials in Tarnmouth said. Rescue teams from Tarnmouth searched "
        "collapsed buildings in the town of Ostrel.",
        0,
    ),
    doc(
        "v2",
        "Valdoria quake: rescuers search rubble in Ostrel",
        "Rescuers in Ostrel dug through rubble after the 6.4 magnitude earthquake in "
        "Valdoria. Governor Mira Santel said the death toll could rise.",
        1,
    ),
    doc(
        "v3",
        "Death toll from Valdoria earthquake rises to 41",
        "Governor Mira Santel said 41 people died when the earthquake hit Valdoria province. "
        "Aftershocks shook Ostrel overnight.",
        3,
    ),
]
QUAKE_KESSAR = [
    doc(
        "k1",
        "Earthquake strikes Kessar coast, tsunami warning issued",
        "A magnitude 7.1 earthquake struck off the coast of Kessar on Thursday, and the "
        "Kessar weather agency issued a tsunami warning for the port of Lune.",
        20,
    ),
    doc(
        "k2",
        "Kessar lifts tsunami warning after 7.1 quake",
        "The Kessar weather agency lifted its tsunami warning for Lune hours after the "
        "earthquake. Fishermen in Lune reported minor damage.",
        22,
    ),
]
STADIUM = [
    doc(
        "s1",
        "Harbor City council approves new stadium budget",
        "The Harbor City council voted 7-2 to approve a budget for the new stadium by the river.",
        2,
    ),
    doc(
        "s2",
        "Stadium budget passes Harbor City council vote",
        "Harbor City council members approved the stadium budget on Wednesday, Mayor Jon Pell "
        "said.",
        4,
    ),
]
ALL = QUAKE_VALDORIA + QUAKE_KESSAR + STADIUM


def cluster(docs: list[ClusterDoc], clusterer: Clusterer | None = None) -> dict[str, str]:
    clusterer = clusterer or Clusterer()
    placed: dict[str, str] = {}
    absorbed: dict[str, str] = {}
    for d in docs:
        placement = clusterer.add(d)
        placed[d.id] = placement.story_id
        absorbed.update(dict(placement.merges))
    for article, story in placed.items():
        while story in absorbed:
            story = absorbed[story]
        placed[article] = story
    return placed


def partition(labels: dict[str, str]) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for article, story in labels.items():
        groups.setdefault(story, set()).add(article)
    return {frozenset(g) for g in groups.values()}


EXPECTED = {frozenset({"v1", "v2", "v3"}), frozenset({"k1", "k2"}), frozenset({"s1", "s2"})}


def test_same_event_grouped_and_same_kind_events_kept_apart() -> None:
    ordered = sorted(ALL, key=lambda d: d.published or T0)
    assert partition(cluster(ordered)) == EXPECTED


def test_story_ids_are_the_first_article_ids_and_placement_is_explained() -> None:
    clusterer = Clusterer()
    first = clusterer.add(QUAKE_VALDORIA[0])
    assert first.new_story and first.story_id == "v1" and first.score == 1.0
    second = clusterer.add(QUAKE_VALDORIA[1])
    assert not second.new_story and second.story_id == "v1"
    assert "valdoria" in second.evidence["shared_terms"]
    assert 0 < second.score <= 1
    json.dumps(second.evidence)  # must be storable as JSON
    assert second.story_title in {d.title for d in QUAKE_VALDORIA[:2]}
    assert clusterer.story_title("v1") == second.story_title
    assert clusterer.story_title("nope") is None


def test_duplicate_of_joins_that_articles_story() -> None:
    clusterer = Clusterer()
    clusterer.add(QUAKE_VALDORIA[0])
    clusterer.add(STADIUM[0])
    unrelated = doc("x", "Completely different words here", "", 2)
    placement = clusterer.add(unrelated, duplicate_of="s1")
    assert placement.story_id == "s1" and placement.duplicate_of == "s1"


def test_restore_then_add_places_follow_up_in_restored_story() -> None:
    clusterer = Clusterer()
    for d in QUAKE_VALDORIA[:2]:
        clusterer.restore(d, "story-17")
    clusterer.restore(STADIUM[0], "story-18")
    placement = clusterer.add(QUAKE_VALDORIA[2])
    assert placement.story_id == "story-17" and not placement.new_story
    assert clusterer.story_of("v1") == "story-17"


def test_undated_article_happens_now() -> None:
    clusterer = Clusterer()
    for d in QUAKE_VALDORIA[:2]:
        clusterer.add(d)
    undated = ClusterDoc("v9", QUAKE_VALDORIA[2].title, QUAKE_VALDORIA[2].text, None)
    assert clusterer.add(undated).story_id == "v1"


def test_stories_older_than_window_are_forgotten() -> None:
    clusterer = Clusterer(ClusterSettings(window=timedelta(days=1)))
    clusterer.add(QUAKE_VALDORIA[0])
    later = QUAKE_VALDORIA[1]
    later = ClusterDoc(later.id, later.title, later.text, T0 + timedelta(days=2), None)
    placement = clusterer.add(later)
    assert placement.new_story and len(clusterer) == 1
    assert clusterer.story_of("v1") is None


def test_bridging_article_merges_and_older_id_survives() -> None:
    # a high join threshold keeps the two halves apart until an article matches both
    settings = ClusterSettings(
        threshold=0.3, short_threshold=0.3, merge_threshold=0.05, long_merge_threshold=0.05
    )
    clusterer = Clusterer(settings)
    clusterer.add(doc("a", "Orvane mill closes", "The Orvane paper mill closed its gates.", 0))
    clusterer.add(doc("b", "Lakeside jobs lost", "Workers at Lakeside lost jobs at the mill.", 1))
    bridge = doc(
        "c",
        "Orvane paper mill closure costs Lakeside workers their jobs",
        "The Orvane paper mill closed, and Lakeside workers lost their jobs.",
        2,
    )
    placement = clusterer.add(bridge)
    assert placement.merges == (("b", "a"),)
    assert placement.story_id == "a"
    assert clusterer.story_of("b") == "a" and len(clusterer) == 1


def test_story_closeness_is_symmetric() -> None:
    a = Story("a", 1, T0, T0, centroid={"x": 1.0, "y": 2.0}, norm2=5.0)
    b = Story("b", 2, T0, T0, centroid={"y": 1.0, "z": 3.0}, norm2=10.0)
    assert a.closeness(b) == b.closeness(a)
    assert a.older_than(b) and not b.older_than(a)


def test_terms_and_names() -> None:
    assert terms("The Rescuers searched, and said: 6.4!") == ["rescuer", "search", "6.4"]
    assert stem(stem("stopped")) == stem("stopped") == "stop"
    found = names("Officials said Mira Santel met them. Then she left for Ostrel.")
    assert set(found) == {"mira", "santel", "ostrel"}


@settings(max_examples=60, deadline=None)
@given(st.permutations(range(len(ALL))))
def test_order_of_equal_time_items_does_not_change_the_partition(order: list[int]) -> None:
    same_time = [ClusterDoc(d.id, d.title, d.text, T0, None) for d in ALL]
    assert partition(cluster([same_time[i] for i in order])) == EXPECTED


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(max_size=80),
            st.text(max_size=300),
            st.one_of(st.none(), st.integers(min_value=-1000, max_value=1000)),
        ),
        max_size=12,
    )
)
def test_never_crashes_on_arbitrary_text(items: list[tuple[str, str, int | None]]) -> None:
    clusterer = Clusterer()
    for n, (title, text, hours) in enumerate(items):
        when = None if hours is None else T0 + timedelta(hours=hours)
        placement = clusterer.add(ClusterDoc(f"d{n}", title, text, when, None))
        json.dumps(placement.evidence)
        assert 0 <= placement.score <= 1.0 + 1e-9
        assert clusterer.story_of(f"d{n}") == placement.story_id


def test_scores_of_a_known_partition() -> None:
    gold = {"a": 1, "b": 1, "c": 2, "d": 2}
    assert bcubed(gold, {"a": "x", "b": "x", "c": "y", "d": "y"}).f1 == 1.0
    lumped = bcubed(gold, dict.fromkeys(gold, "x"))
    assert lumped.precision == 0.5 and lumped.recall == 1.0
    missing = bcubed(gold, {"a": "x", "b": "x"})  # c and d count as singletons
    assert missing.precision == 1.0 and missing.recall == 0.75
    assert pair_counting(gold, dict.fromkeys(gold, "x")).precision == 2 / 6


# A young stream: a handful of full-text articles from two outlets, two rate decisions on
# the same day (same vocabulary, different countries), each outlet with its own byline.
EDITORS = {"Corvane Wire": "Ana Veltri", "Harbour Post": "Tom Achebe"}


def wire(doc_id: str, source: str, title: str, text: str, hours: float) -> ClusterDoc:
    byline = f"By {source} staff. (Reporting by {source}; Editing by {EDITORS[source]})"
    return ClusterDoc(doc_id, title, f"{text} {byline}", T0 + timedelta(hours=hours), source)


YOUNG = [
    wire(
        "r1",
        "Corvane Wire",
        "Marovian central bank cuts interest rate to 5.25% as inflation eases",
        "The National Bank of Marovia cut its benchmark interest rate by a quarter point to "
        "5.25 percent on Tuesday, saying inflation had eased. Governor Lise Tarrant told "
        "reporters in Velka that the bank could cut again if the economy kept slowing. The "
        "Marovian crown rose against the euro after the decision.",
        0,
    ),
    wire(
        "f1",
        "Corvane Wire",
        "Floods force thousands from homes along the Essen river in Dravia",
        "Rescue teams in Dravia evacuated more than 3,000 people from towns along the Essen "
        "river after two days of torrential rain, officials in Kolm said. Soldiers used boats "
        "to reach families trapped in Lerov and Patz.",
        1,
    ),
    wire(
        "q1",
        "Harbour Post",
        "Quillan central bank lowers key rate to 3.5 percent",
        "The Central Bank of Quilla lowered its key interest rate by half a point to 3.5 percent "
        "on Tuesday as growth slowed. Governor Emeka Duro said in Port Sade that inflation was "
        "under control and that the Quillan shilling was stable.",
        2,
    ),
    wire(
        "r2",
        "Harbour Post",
        "Marovia cuts rates: Tarrant says more easing possible",
        "Marovia's central bank cut its interest rate to 5.25 percent, and Governor Lise Tarrant "
        "said in Velka that more cuts were possible. The Marovian crown gained after the cut.",
        3,
    ),
    wire(
        "f2",
        "Harbour Post",
        "Essen river floods: boats rescue families in Lerov",
        "Soldiers in boats rescued families trapped by floods in Lerov and Patz as the Essen "
        "river burst its banks in Dravia. More than 3,000 people left their homes, Kolm said.",
        4,
    ),
]


def test_young_stream_keeps_same_kind_events_apart() -> None:
    # with an IDF learnt from five articles alone every word looked rare and all of these
    # shared enough "rare" words (bank, rate, governor, the bylines) to become one story
    assert partition(cluster(YOUNG)) == {
        frozenset({"r1", "r2"}),
        frozenset({"f1", "f2"}),
        frozenset({"q1"}),
    }


def test_outlet_byline_is_no_evidence() -> None:
    clusterer = Clusterer()
    clusterer.add(YOUNG[0])
    placement = clusterer.add(YOUNG[1])  # same outlet, same byline, another event
    assert placement.new_story


def test_names_in_common_only_do_not_join() -> None:
    # a rule that is off by default (the pair model weighs the same measure)
    clusterer = Clusterer(ClusterSettings(min_content=0.005))
    clusterer.add(YOUNG[0])
    other = doc(
        "m1",
        "Chess open begins in Velka",
        "Grandmaster Ivo Brandt won the first round of the chess open in Velka, the capital of "
        "Marovia. Governor Lise Tarrant opened the tournament in Velka on Tuesday.",
        1,
    )
    assert clusterer.add(other).new_story


def test_common_words_are_common_from_the_first_article() -> None:
    frequencies = DocumentFrequencies()
    frequencies.add(["rate", "bank", "tarrant"])
    assert frequencies.idf("rate") < frequencies.idf("tarrant")
    assert frequencies.idf("2024") < frequencies.idf("5.25")
    table = english()
    assert table["bank"] > table["governor"] > unlisted_probability()
    assert "tarrant" not in table and "the" not in table  # stopwords are not terms


def test_stream_counts_take_over_from_the_prior() -> None:
    frequencies = DocumentFrequencies(virtual_docs=100)
    before = frequencies.idf("tarrant")
    for _ in range(500):
        frequencies.add(["tarrant"])
    assert frequencies.idf("tarrant") < frequencies.idf("bank") < before


def test_restore_brings_back_the_learnt_frequencies() -> None:
    live, restarted = Clusterer(), Clusterer()
    for d in YOUNG[:4]:
        placement = live.add(d)
        restarted.restore(d, placement.story_id)
    assert restarted.frequencies.df == live.frequencies.df
    assert restarted.frequencies.docs == live.frequencies.docs == 4
    assert restarted.add(YOUNG[4]).story_id == live.add(YOUNG[4]).story_id == "f1"


def test_features_computed_ahead_place_articles_exactly_as_without() -> None:
    docs = ALL
    ahead = Clusterer()
    features = {d.id: ahead.features(d) for d in reversed(docs)}  # any order, before placing
    fresh = Clusterer()
    assert [ahead.add(d, features=features[d.id]) for d in docs] == [fresh.add(d) for d in docs]
