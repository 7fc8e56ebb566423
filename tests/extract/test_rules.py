"""Tests for the rules that keep what readers read and drop what they do not: paragraphs one
extractor dropped inside the article, form controls, the readability port's video markers.
Pages are written here, small and made up."""

from __future__ import annotations

from aggregator.extract.body import _fill_in, _readability_text, extract_page
from aggregator.extract.decode import decode_html, parse_html, tidy
from aggregator.extract.text import usable_body

URL = "https://courier.example/news/best-films"

INTRO = "The critics met in December and argued for a week about the films of the year."
FIRST = "A drummer plays until his hands bleed, and the audience forgets to breathe with him."
SECOND = "A stranger drives through Glasgow at night and the city looks back at her in silence."
OUTRO = "Next week the critics pick the best television of the year, in the same way."


def test_fill_in_puts_back_paragraphs_inside_the_shared_region() -> None:
    readable = "\n".join([INTRO, FIRST, SECOND, OUTRO])
    chosen = "\n".join([INTRO, "The ending, Whiplash", FIRST, "Under the Skin", SECOND, OUTRO])
    assert _fill_in(readable, chosen) == chosen


def test_fill_in_keeps_readabilitys_edges() -> None:
    readable = "\n".join([INTRO, FIRST, SECOND])
    chosen = "\n".join(["Share this article", INTRO, FIRST, SECOND, "More from the critics"])
    assert _fill_in(readable, chosen) == readable


def test_fill_in_adds_no_paragraph_twice_when_it_is_split_differently() -> None:
    # readability cut the paragraph at its link; trafilatura kept it whole: same words
    readable = "\n".join([INTRO, "A drummer plays", "until his hands bleed, and the audience",
                          "forgets to breathe with him.", SECOND])  # fmt: skip
    chosen = "\n".join([INTRO, FIRST, SECOND])
    assert _fill_in(readable, chosen) == readable


def test_fill_in_needs_a_region_both_share() -> None:
    assert _fill_in(FIRST, SECOND) == FIRST
    assert _fill_in("\n".join([INTRO, FIRST]), "\n".join([INTRO, SECOND])) == "\n".join(
        [INTRO, FIRST]
    )


def test_headings_that_are_links_survive_in_a_list_article() -> None:
    items = "".join(
        f'<h3><a href="https://shop.example/{n}">{title} ($30)</a></h3><p>{text} {INTRO}</p>'
        for n, (title, text) in enumerate(
            [("Rez Infinite", FIRST), ("Thumper", SECOND), ("Job Simulator", OUTRO)]
        )
    )
    html = f"<html><body><article><h1>Best games</h1><p>{INTRO}</p>{items}<p>{OUTRO}</p></article></body></html>"
    text = extract_page(html.encode(), url=URL).text
    assert "Rez Infinite ($30)" in text.split("\n")
    assert "Thumper ($30)" in text.split("\n")


def test_form_controls_are_not_text() -> None:
    html = (
        "<html><body><article><p>" + FIRST + "</p>"
        "<textarea>&lt;iframe src='https://video.example/embed/1'&gt;&lt;/iframe&gt;</textarea>"
        "<select><option>Home</option><option>World</option></select></article></body></html>"
    )
    tree = parse_html(decode_html(html.encode()))
    assert tree is not None
    tidy(tree)
    assert tree.find(".//textarea") is None
    assert tree.find(".//select") is None
    assert "drummer" in tree.text_content()


def test_readability_port_video_marker_is_not_text() -> None:
    paragraphs = "".join(f"<p>{p} {INTRO}</p>" for p in (FIRST, SECOND, OUTRO))
    html = (
        f"<html><body><article>{paragraphs}"
        '<iframe src="https://www.youtube.com/embed/abc"></iframe>'
        f"{paragraphs}</article></body></html>"
    )
    tree = parse_html(html)
    assert tree is not None
    text = _readability_text(tree)
    assert FIRST in text
    assert "VIDEO" not in text.split("\n")


def _figure(n: int) -> str:
    return (
        f'<figure><img src="/p{n}.jpg"><figcaption>Protesters march past the stadium on the '
        f"day of match number {n}, watched by police.</figcaption></figure>"
    )


def test_a_gallery_after_the_story_is_not_its_text() -> None:
    gallery = "".join(_figure(n) for n in range(6))
    html = f"<html><body><article><p>{FIRST} {INTRO}</p><p>{SECOND} {OUTRO}</p>{gallery}</article></body></html>"
    text = extract_page(html.encode(), url=URL).text
    assert FIRST in text
    assert "Protesters" not in text


def test_figures_between_paragraphs_keep_their_captions() -> None:
    body = "".join(f"<p>{p} {INTRO}</p>{_figure(n)}" for n, p in enumerate([FIRST, SECOND, OUTRO]))
    html = f"<html><body><article>{body}</article></body></html>"
    text = extract_page(html.encode(), url=URL).text
    assert (
        "Protesters march past the stadium on the day of match number 1, watched by police." in text
    )


def test_trending_heading_starts_a_related_links_tail() -> None:
    body = "\n".join([INTRO, FIRST, SECOND, OUTRO] * 2)
    text = usable_body(body + "\nTrending on Courier\nA story about something else.", [])
    assert text == body


def test_fill_in_leaves_out_a_lone_word() -> None:
    readable = "\n".join([INTRO, FIRST, SECOND])
    chosen = "\n".join([INTRO, "Advertisement", FIRST, SECOND])
    assert _fill_in(readable, chosen) == readable


def test_a_tag_list_at_the_end_is_furniture() -> None:
    body = "\n".join([INTRO, FIRST, SECOND, OUTRO])
    assert usable_body(body + "\nTags: College basketball, Kentucky, Louisville", []) == body
    assert usable_body("Filed under: Film\n" + body, []) == body
    # a sentence that starts with the word is the article's
    topics = "Topics like these are argued over every December by the critics of the paper."
    assert usable_body(body + "\n" + topics, []) == body + "\n" + topics


def test_fill_in_leaves_out_furniture() -> None:
    readable = "\n".join([INTRO, FIRST, SECOND])
    chosen = "\n".join(
        [INTRO, "Sign up for our daily newsletter", FIRST, "Related stories", SECOND]
    )
    assert _fill_in(readable, chosen) == readable


def test_a_photo_essay_keeps_its_captions() -> None:
    # no story beside the pictures: the captions are the story
    gallery = "".join(_figure(n) for n in range(6))
    html = f"<html><body><article><p>{INTRO}</p>{gallery}</article></body></html>"
    text = extract_page(html.encode(), url=URL).text
    assert "Protesters march past the stadium on the day of match number 3" in text


def _slides(count: int) -> list[str]:
    lines = []
    for n in range(1, count + 1):
        lines += [f"{n}/{count} Market day number {n}", f"Stalls on the quay on day {n}.", "AFP"]
    return lines


def test_a_counted_slideshow_is_cut_from_the_body() -> None:
    story = [INTRO, FIRST, SECOND]
    text = usable_body("\n".join([*story, *_slides(6), OUTRO]), [])
    assert text == "\n".join([*story, OUTRO])


def test_counts_that_are_not_a_slideshow_stay() -> None:
    recipe = ["1/4 pound celery root", "1/2 cup milk", "1/4 cup sugar", "2/3 cup flour",
              "3/4 cup water", "1/3 cup oil"]  # fmt: skip
    body = "\n".join([INTRO, *recipe, FIRST, SECOND])
    assert usable_body(body, []) == body
    # too few slides, or the slideshow is the whole text
    short = "\n".join([INTRO, FIRST, *_slides(3), SECOND])
    assert usable_body(short, []) == short
    essay = "\n".join(_slides(12))
    assert usable_body(essay, []) == essay


def test_a_players_menus_are_not_text() -> None:
    html = (
        f"<html><body><article><p>{FIRST}</p>"
        '<div class="player"><ul role="menu"><li role="menuitemcheckbox">subtitles off, '
        'selected</li></ul><div role="toolbar"><button>Share</button></div></div>'
        f"<p>{SECOND}</p></article></body></html>"
    )
    tree = parse_html(decode_html(html.encode()))
    assert tree is not None
    tidy(tree)
    text = tree.text_content()
    assert "subtitles" not in text
    assert "Share" not in text
    assert "drummer" in text


def test_a_figure_among_the_paragraphs_is_the_storys_own() -> None:
    figure = (
        '<figure class="media photo lede"><img src="/lede.jpg"><figcaption class="caption">'
        "Peacekeepers at a camp on Monday, where aid groups wait for access.</figcaption>"
        "</figure>"
    )
    sidebar = f'<div class="sidebar">{figure.replace("lede", "promo")}</div>'
    html = f"<html><body><article>{figure}<p>{FIRST} {INTRO}</p></article>{sidebar}</body></html>"
    tree = parse_html(decode_html(html.encode()))
    assert tree is not None
    tidy(tree)
    article, aside = tree.find(".//article"), tree.find(".//div[@class='sidebar']")
    assert article is not None and aside is not None
    # the story's figure no longer looks like furniture to the extractors; the sidebar's does
    assert [el.get("class") for el in article.iter("div", "p")] == [None, None, None]
    assert aside[0].get("class") == "media photo promo"
