"""Exact dedupe: one article per guid / canonical URL, shared links kept apart."""

from __future__ import annotations

from aggregator.identity.keys import article_key, match_existing
from aggregator.store import ExistingRef

FEED_A = "https://a.example/feed.xml"
FEED_B = "https://b.example/feed.xml"


def ref(key, guid, url, title, feed=FEED_A):
    return ExistingRef(key=key, guid=guid, canonical_url=url, title=title, feed_url=feed)


def test_same_canonical_url_from_another_feed_is_the_same_article():
    existing = [ref("k1", None, "https://x.example/story", "Floods hit Valencia")]
    found = match_existing(
        feed_url=FEED_B,
        guid="other-guid",
        canonical_url="https://x.example/story",
        title="Floods hit Valencia",
        existing=existing,
    )
    assert found is existing[0]


def test_entries_sharing_a_link_but_different_titles_stay_distinct():
    existing = [ref("k1", "1", "https://x.example/", "Monday briefing: markets rally")]
    found = match_existing(
        feed_url=FEED_A,
        guid="2",
        canonical_url="https://x.example/",
        title="Election results in the north",
        existing=existing,
    )
    assert found is None


def test_global_guid_matches_across_feeds_but_short_guid_only_within_its_feed():
    existing = [ref("k1", "tag:x.example,2026:42", None, "A"), ref("k2", "42", None, "B")]
    assert (
        match_existing(
            feed_url=FEED_B,
            guid="tag:x.example,2026:42",
            canonical_url=None,
            title="A",
            existing=existing,
        )
        is existing[0]
    )
    assert (
        match_existing(feed_url=FEED_B, guid="42", canonical_url=None, title="Z", existing=existing)
        is None
    )
    assert (
        match_existing(feed_url=FEED_A, guid="42", canonical_url=None, title="Z", existing=existing)
        is existing[1]
    )


def test_article_key_is_stable_and_distinguishes_entries():
    a = article_key(FEED_A, "1", "https://x.example/", "One")
    assert a == article_key(FEED_A, "1", "https://x.example/", "One")
    assert a != article_key(FEED_A, "2", "https://x.example/", "Two")
