"""Near-duplicate detection: syndicated copies match, mere same-topic coverage does not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.identity.near import NearDuplicates, resemblance, shingles
from aggregator.types import ClusterDoc

T0 = datetime(2024, 5, 1, 8, tzinfo=UTC)

WIRE = (
    "Rescue teams worked through the night in the mountain town of Ostrel after a strong "
    "earthquake struck the province of Valdoria on Wednesday morning, officials said.\n"
    "The magnitude 6.4 quake collapsed dozens of houses and the old market hall, and cut the "
    "only road into the valley, according to the regional civil protection office.\n"
    "Governor Mira Santel said at least 41 people had died and that the toll was likely to "
    "rise as crews reached outlying villages. Hospitals in Tarnmouth asked for blood donors.\n"
    "Aftershocks continued to rattle the region into the evening, and families slept in cars "
    "and tents in the town square, afraid to go back inside damaged homes."
)
SAME_TOPIC = (
    "The death toll from the Valdoria earthquake climbed on Thursday as search crews reached "
    "remote hamlets cut off since Wednesday. Our reporter in Ostrel spoke to survivors who "
    "described the ground rolling for almost a minute. Aid groups said the most urgent needs "
    "were clean water, blankets and medical supplies, and the national government promised "
    "emergency funds. Engineers will inspect schools before classes resume next month, the "
    "education ministry said in a statement on its website."
)


def article(doc_id: str, text: str, hours: float = 0.0, title: str = "") -> ClusterDoc:
    return ClusterDoc(doc_id, title, text, T0 + timedelta(hours=hours), None)


def seen(*docs: ClusterDoc) -> NearDuplicates:
    dupes = NearDuplicates()
    for d in docs:
        dupes.add(d)
    return dupes


def test_wire_copy_with_changed_first_line_matches() -> None:
    dupes = seen(article("ap", WIRE))
    lines = WIRE.split("\n")
    copy = "\n".join(["OSTREL, Valdoria (Daily Courier) - Updated 10:42 local time."] + lines[1:])
    assert dupes.find(article("courier", copy, 1)) == "ap"


def test_republished_copy_with_extra_paragraph_matches() -> None:
    dupes = seen(article("ap", WIRE))
    copy = WIRE + "\nThis story was provided by a news agency. Subscribe to our newsletter."
    assert dupes.find(article("blog", copy, 2)) == "ap"


def test_same_topic_different_article_does_not_match() -> None:
    dupes = seen(article("ap", WIRE))
    assert dupes.find(article("other", SAME_TOPIC, 1)) is None


def test_short_or_empty_bodies_never_match() -> None:
    dupes = seen(article("a", ""), article("b", "Earthquake hits Valdoria."))
    assert dupes.find(article("c", "")) is None
    assert dupes.find(article("d", "Earthquake hits Valdoria.")) is None
    assert len(dupes) == 0


def test_bodies_older_than_window_are_forgotten() -> None:
    dupes = NearDuplicates(window=timedelta(days=1))
    dupes.add(article("ap", WIRE))
    assert dupes.find(article("late", WIRE, 48)) is None
    assert len(dupes) == 0


def test_undated_copy_is_compared_with_the_window() -> None:
    dupes = seen(article("ap", WIRE))
    assert dupes.find(ClusterDoc("x", "", WIRE, None, None)) == "ap"


words = st.lists(
    st.sampled_from(["alpha", "beta", "gamma", "delta", "quake", "toll", "road", "rescue"])
)


@settings(max_examples=60, deadline=None)
@given(st.lists(words.map(" ".join), min_size=2, max_size=2))
def test_resemblance_is_symmetric(texts: list[str]) -> None:
    a, b = (shingles(t) for t in texts)
    assert resemblance(a, b) == resemblance(b, a)
    assert 0.0 <= resemblance(a, b) <= 1.0


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=400), st.text(max_size=400))
def test_never_crashes_on_arbitrary_text(first: str, second: str) -> None:
    dupes = seen(article("a", first))
    assert dupes.find(article("b", second, 1)) in (None, "a")


def test_shingles_computed_ahead_find_the_same_copy() -> None:
    original, copy = article("a1", WIRE), article("a2", "Updated: " + WIRE, 1)
    dupes = seen(original)
    assert dupes.find(copy, shingles(copy.text)) == "a1"
    dupes.add(copy)  # reuses them
    assert dupes.find(article("a3", SAME_TOPIC, 2), shingles(SAME_TOPIC)) is None
