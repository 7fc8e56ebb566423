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


def test_links_that_differ_only_by_fragment_are_two_entries_of_one_feed():
    # a newsletter: every item on one page, told apart by #fragment, all with one title
    existing = [
        ExistingRef(
            "k1",
            None,
            "https://n.example/entries.php",
            "Weekly",
            FEED_A,
            "https://n.example/entries.php#111",
        )
    ]
    same = dict(
        feed_url=FEED_A,
        guid=None,
        canonical_url="https://n.example/entries.php",
        title="Weekly",
        existing=existing,
    )
    assert match_existing(**same, url="https://n.example/entries.php#110") is None
    assert match_existing(**same, url="https://n.example/entries.php#111") is existing[0]
    # another feed listing the page is the same article, as before
    assert (
        match_existing(**{**same, "feed_url": FEED_B}, url="https://n.example/entries.php")
        is existing[0]
    )


def test_a_link_every_entry_shares_says_nothing_of_identity():
    # NixOS news: one link (news.html) for every release note, no guid, alike titles; or a
    # "Daily note" feed: one title and one link for every item, only the text differs
    link = "https://nixos.example/news.html"
    key = article_key(FEED_A, None, link, "NixOS 18.09 released", "Jellyfish is out")
    existing = [ExistingRef(key, None, link, "NixOS 18.09 released", FEED_A, link)]
    entry = dict(
        feed_url=FEED_A,
        guid=None,
        canonical_url=link,
        url=link,
        existing=existing,
        shared_link=True,
    )
    assert match_existing(**entry, title="NixOS 19.03 released") is None
    same_title_new_text = article_key(FEED_A, None, link, "NixOS 18.09 released", "Koi")
    assert (
        match_existing(**entry, title="NixOS 18.09 released", keys=(same_title_new_text,)) is None
    )
    assert match_existing(**entry, title="NixOS 18.09 released", keys=(key,)) is existing[0]


def test_differing_fragments_are_different_articles_across_feeds_too():
    page = "https://n.example/entries.php"
    existing = [ExistingRef("k1", None, page, "Weekly", FEED_A, page + "#110")]
    entry = dict(feed_url=FEED_B, guid=None, canonical_url=page, title="Weekly", existing=existing)
    assert match_existing(**entry, url=page + "#111") is None
    assert match_existing(**entry, url=page + "#110") is existing[0]
    assert match_existing(**entry, url=page) is existing[0]  # a listing without fragment


def test_keys_follow_the_feed_entries_identity():
    link = "https://n.example/entries.php"
    # without a guid: link with its fragment, title and text make the entry
    assert article_key(FEED_A, None, link + "#1", "Weekly") != article_key(
        FEED_A, None, link + "#2", "Weekly"
    )
    assert article_key(FEED_A, None, link, "Weekly", "one") != article_key(
        FEED_A, None, link, "Weekly", "two"
    )
    assert article_key(FEED_A, None, link, "Weekly", "same") == article_key(
        FEED_A, None, link, "Weekly", "same"
    )
    # a shared guid is one entry, whatever else differs
    assert article_key(FEED_A, "g1", link + "#1", "A") == article_key(FEED_A, "g1", link, "B")
