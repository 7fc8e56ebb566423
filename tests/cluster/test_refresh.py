"""A deferred page arriving after its article was placed: the story's memory follows."""

from __future__ import annotations

from datetime import UTC, datetime

from aggregator.cluster.clusterer import Clusterer
from aggregator.cluster.text import terms
from aggregator.types import ClusterDoc

WHEN = datetime(2026, 3, 2, 9, tzinfo=UTC)
SUMMARY = "Harbour authority reports ferry delays after the storm."
PAGE = (
    "The Halvorsen ferry line cancelled crossings to Tromsbrygge on Monday after gales "
    "damaged the pier. Engineers from Nordvik inspected pylons and expect repairs to take "
    "three weeks, the operator said. Passengers were rebooked onto coaches."
)


def test_a_filled_page_replaces_the_feed_text_in_its_story() -> None:
    clusterer = Clusterer()
    old = ClusterDoc("a1", "Ferry delays after storm", SUMMARY, WHEN, "Coast News")
    placement = clusterer.add(old)
    story = clusterer.index.stories[placement.story_id]
    assert "halvorsen" not in story.centroid

    new = ClusterDoc(old.id, old.title, PAGE, WHEN, old.source)
    assert clusterer.refresh(old, new)

    assert story.size == 1  # still one article: its text changed, not its count
    page_terms = set(terms(PAGE))
    assert (
        {"halvorsen", "tromsbrygge", "pylon"}
        <= set(story.centroid)
        <= page_terms | set(terms(old.title))
    )
    assert "harbour" not in story.centroid  # only in the feed's summary
    assert story.seed == story.centroid  # the story's first article is this one
    assert clusterer.story_of("a1") == placement.story_id


def test_an_article_outside_memory_is_left_to_the_store() -> None:
    clusterer = Clusterer()
    doc = ClusterDoc("gone", "Title", SUMMARY, WHEN, "Coast News")
    assert not clusterer.refresh(doc, ClusterDoc("gone", "Title", PAGE, WHEN, "Coast News"))
