"""Tests for how aggregator.extract.body chooses among its extractors' texts: prose beats
furniture that two passes agree on, repeated paragraphs are kept, a tiny page is its own body.
Pages are written here, small and made up."""

from __future__ import annotations

from aggregator.extract.body import _restores_repeats, _vote, choose_text, extract_page
from aggregator.extract.text import prose_share, usable_body

URL = "https://courier.example/news/winter-market"

PROSE = (
    "The winter market opened on the quay on Saturday, with forty stalls selling cheese, "
    "bread and hot wine to a crowd that queued past the harbour office.\n"
    "Organisers said the market would stay until the end of the month, weather permitting, "
    "and that next year it may move to the square."
)
GALLERY = "\n".join(
    f"{name}, photo editor © Studio North\nTopics: Market, Winter"
    for name in ("Ana Lind", "Ben Ory", "Cleo Park", "Dan Wu", "Eva Sol")
)


def test_prose_share_tells_sentences_from_furniture() -> None:
    assert prose_share(PROSE) == 1.0
    assert prose_share(GALLERY) == 0.0
    assert prose_share("Home\nNews\nMarkets\nKeywords\nwinter,\nmarket,") == 0.0
    assert prose_share("") == 0.0
    # the same sentence on every photo is furniture, however well formed
    repeated = "This photo is part of our gallery of the winter market on the quay."
    assert prose_share("\n".join([repeated] * 3)) == 0.0


def test_prose_outvotes_two_passes_that_took_the_same_gallery() -> None:
    candidates = {"recall": GALLERY, "balanced": GALLERY, "precision": PROSE}
    assert _vote(candidates, "") == PROSE


def test_agreement_still_wins_between_two_prose_candidates() -> None:
    longer = PROSE + "\nStallholders paid twenty euros a day for a pitch, the council said."
    candidates = {"recall": longer, "balanced": longer, "precision": PROSE}
    assert _vote(candidates, "") == longer


def test_restores_repeats_only_when_readability_adds_copies_of_its_own_paragraphs() -> None:
    chosen = "Intro.\nA paragraph that the page prints twice."
    assert _restores_repeats(chosen, chosen + "\nA paragraph that the page prints twice.")
    assert not _restores_repeats(chosen, chosen)
    assert not _restores_repeats(chosen, chosen + "\nA comment below the article.")
    assert not _restores_repeats(chosen, "A paragraph that the page prints twice.")


def test_a_paragraph_printed_twice_is_kept_twice() -> None:
    paragraph = (
        "<p>The ferry timetable changes on Monday: the first boat leaves at six, the last at "
        "eleven, and the noon crossing is dropped for the winter months.</p>"
    )
    html = (
        f"<html><body><article><h1>Ferry times</h1>{paragraph}{paragraph}</article></body></html>"
    )
    text = extract_page(html.encode(), url=URL).text
    assert text.count("The ferry timetable changes on Monday") == 2


def test_a_tiny_page_is_its_own_body() -> None:
    html = b"<html><body><ol><li><p>Short note: the office is closed today for the storm.</p></li></ol></body></html>"
    extracted = extract_page(html, url=URL)
    assert extracted.text == "Short note: the office is closed today for the storm."
    # the feed still wins when it says more
    feed = "The office is closed today because of the storm, and reopens on Thursday at nine."
    assert choose_text(extracted, feed) == (feed, "feed")
    assert choose_text(extracted, "") == (extracted.text, "page")


def test_a_tiny_page_of_menu_headline_and_footer_has_no_body() -> None:
    title = "Apple shares rise after the iPhone launch beats forecasts"
    html = (
        f"<html><head><title>{title}</title></head><body><nav><a href='/'>Home</a> "
        f"<a href='/world'>World</a></nav><main><article><h1>{title}</h1></article></main>"
        "<footer>Copyright. All rights reserved.</footer></body></html>"
    )
    assert extract_page(html.encode(), url=URL, feed_title=title).text == ""
    question = html.replace(title, "Will Apple shares rise again after the iPhone launch?")
    assert extract_page(question.encode(), url=URL).text == ""
    labels = "<html><body><p>Test Case 1</p><p>Test Case 2</p></body></html>"
    assert extract_page(labels.encode(), url=URL).text == ""


def test_a_short_text_on_a_page_with_more_on_it_is_still_no_body() -> None:
    # thin pages with furniture around a stub: see test_extract.test_thin_page_gives_no_body...
    padding = "<script>var x = 1;</script>" * 200
    html = f"<html><body><p>Closed today.</p>{padding}</body></html>"
    assert extract_page(html.encode(), url=URL).text == ""


STORY = [
    f"Paragraph {n} of the story: the council voted on the harbour plan after a long debate "
    "that ran late into the evening, with residents watching from the gallery."
    for n in range(4)
]


def test_a_related_links_block_at_the_end_is_cut() -> None:
    links = ["Related Articles:", "Council budget approved", "New ferry for the islands"]
    assert usable_body("\n".join([*STORY, *links]), []) == "\n".join(STORY)
    links = ["You might also like", "Council budget approved"]
    assert usable_body("\n".join([*STORY, *links]), []) == "\n".join(STORY)


def test_a_related_heading_early_or_in_prose_stays() -> None:
    early = "\n".join([STORY[0], "Related", *STORY[1:]])
    assert usable_body(early, []) == early
    sentence = "\n".join([*STORY, "More from the council meeting will follow next week, it said."])
    assert usable_body(sentence, []) == sentence
