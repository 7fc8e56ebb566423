"""Text shaping and measures: one paragraph per line, word counts, the headline and boilerplate
edges of a body, and the word F1 that the extraction vote runs on.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lxml.etree import _Element

# Below this many words (after the headline and boilerplate are gone) a page has no body.
MIN_BODY_WORDS = 25

_WORD = re.compile(r"\w+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
# Lines that are site furniture, not article: removed from the edges of a body and never
# counted as body words. Matched only on short lines, so prose that mentions them survives.
_BOILERPLATE = re.compile(
    r"\b(we|this (web)?site|our (web)?site|partners) uses? cookies\b"
    r"|\b(accept|consent to|manage|reject)\b.{0,40}\bcookies?\b"
    r"|\bcookies? (policy|settings|preferences|notice|consent)\b"
    r"|\bsubscribe (now|today|to (our|the)|for)\b|\balready (a subscriber|have an account)\b"
    r"|\b(our|daily|weekly|free) newsletters?\b|\b(sign|log) ?in to (continue|read|comment)\b"
    r"|\b(enable|requires?) javascript\b|\bjavascript is (disabled|required)\b"
    r"|\ball rights reserved\b|(©|\bcopyright)\s*\d{4}|\bprivacy (policy|notice)\b"
    r"|\bterms of (use|service)\b|\bskip to (main )?content\b|\bfollow us on\b"
    r"|^advertisement$|^share (this|on)\b|^(related|more) (stories|articles|news)\b|^read more\b"
    r"|^(tags|tagged( with)?|topics|filed under|categories|keywords)\s*:",
    re.IGNORECASE,
)
_BOILERPLATE_MAX_WORDS = 30
# Headings of a block of links to other articles, cut with what follows them near a body's end.
_RELATED_HEADING = re.compile(
    r"^(related( (stories|articles|posts|content|coverage|links|reading|news))?"
    r"|(more|other) (from|on|in|stories|articles|posts|news|columns|opinion|top stories)\b.*"
    r"|you (may|might) (also )?(like|enjoy|be interested)\b.*|recommended( for you| stories"
    r"| reading)?|read (more|next|also)\b.*|most (read|popular|viewed|shared)\b.*"
    r"|trending\b.*|latest (news|stories|articles)\b.*|further reading|see also)\W*$",
    re.IGNORECASE,
)
_RELATED_HEADING_MAX_WORDS = 6
RELATED_TAIL_AFTER = 0.6
# A slideshow's caption starts with its count, "3/50" or "3 of 50"; this many in a row are one.
_SLIDE_COUNTER = re.compile(r"^(\d{1,3})\s*(?:/|of)\s*(\d{1,3})\b", re.IGNORECASE)
SLIDESHOW_ITEMS = 5
# prose_share: a paragraph is prose when it has this many words and a sentence end (inside,
# before a space, or closing the line, possibly followed by a quote or bracket).
_PROSE_MIN_WORDS = 8
_SENTENCE = re.compile(r"[.!?…。！？](\s|$)|[.!?…:;\"'”’»)\]]$")

# Elements that start a new paragraph: HTML blocks, and the tags of trafilatura's XML body.
_BLOCK_TAGS = frozenset(
    ("address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "div", "dl",
     "dt", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
     "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "td", "th",
     "tr", "ul", "head", "item", "lb", "list", "quote", "row")
)  # fmt: skip


def bag(text: str) -> Counter[str]:
    return Counter(_WORD.findall(text.lower()))


def word_f1(a: Counter[str], b: Counter[str]) -> float:
    """F1 of two bags of words (multiset overlap)."""
    overlap = (a & b).total()
    if not overlap:
        return 1.0 if not a and not b else 0.0
    precision, recall = overlap / a.total(), overlap / b.total()
    return 2 * precision * recall / (precision + recall)


def block_paragraphs(root: _Element) -> Iterator[str]:
    """Text of an element, one whitespace-collapsed string per block (iterative: pages nest
    deep)."""
    from lxml import etree

    parts: list[str] = []

    def flush() -> Iterator[str]:
        paragraph = unicodedata.normalize("NFC", " ".join("".join(parts).split()))
        parts.clear()
        if paragraph:
            yield paragraph

    for event, el in etree.iterwalk(root, events=("start", "end")):
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in _BLOCK_TAGS:
            yield from flush()
        if event == "start" and tag and el.text:
            parts.append(el.text)
        if event == "end":
            if tag == "cell":  # trafilatura's data-table cell: keep a row on one line
                parts.append(" ")
            if el.tail and el is not root:
                parts.append(el.tail)
    yield from flush()


def normalise_text(text: str) -> str:
    """One paragraph per line, runs of whitespace as one space, Unicode NFC, no empty lines."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return unicodedata.normalize("NFC", "\n".join(line for line in lines if line))


def word_count(text: str) -> int:
    """Words in text; CJK scripts (no spaces) count two characters as a word."""
    return len(_WORD.findall(text)) + len(_CJK.findall(text)) // 2


def usable_body(text: str, titles: list[str], *, min_words: int = MIN_BODY_WORDS) -> str:
    """The body without the headline and boilerplate edges; "" when too little is left."""
    paragraphs = text.split("\n") if text else []
    if paragraphs and any(_is_headline(paragraphs[0], title) for title in titles):
        paragraphs = paragraphs[1:]
    paragraphs = _without_slideshow(_without_related_tail(paragraphs))
    while paragraphs and _is_boilerplate(paragraphs[0]):
        paragraphs.pop(0)
    while paragraphs and _is_boilerplate(paragraphs[-1]):
        paragraphs.pop()
    substance = sum(word_count(p) for p in paragraphs if not _is_boilerplate(p))
    return "\n".join(paragraphs) if substance >= max(min_words, 1) else ""


def prose_share(text: str) -> float:
    """Share of a text's words that are in prose paragraphs: lines of several words that hold
    a sentence, each line seen once.

    Site furniture is short lines without sentences (breadcrumbs, keyword lists, bylines,
    dates) or lines that repeat (a gallery's "Topics: ..." under every photo); an article is
    mostly sentences. Language-independent apart from the punctuation.
    """
    lines = text.split("\n") if text else []
    seen = Counter(lines)
    total = prose = 0
    for line in lines:
        words = word_count(line)
        total += words
        if words >= _PROSE_MIN_WORDS and seen[line] == 1 and _SENTENCE.search(line):
            prose += words
    return prose / total if total else 0.0


def _without_slideshow(paragraphs: list[str]) -> list[str]:
    """The paragraphs without a slideshow's captions: a run of SLIDESHOW_ITEMS or more items
    counted "1/50", "2/50", ... (or "1 of 50"), each with the lines up to the next count.

    A gallery that is not marked up as figures reaches the text this way; its captions are
    not the story. The last item is taken to be as long as the longest before it. Kept when
    the slideshow is nearly all the text (a photo essay).
    """
    counted = []
    for i, paragraph in enumerate(paragraphs):
        match = _SLIDE_COUNTER.match(paragraph)
        if match and 0 < int(match[1]) <= int(match[2]):
            counted.append((i, int(match[1]), int(match[2])))
    best: list[tuple[int, int, int]] = []
    run: list[tuple[int, int, int]] = []
    for item in counted:
        if run and (item[2] != run[-1][2] or item[1] != run[-1][1] + 1):
            run = []
        run.append(item)
        if len(run) > len(best):
            best = list(run)
    if len(best) < SLIDESHOW_ITEMS:
        return paragraphs
    longest = max(b[0] - a[0] for a, b in zip(best, best[1:], strict=False))
    start, end = best[0][0], best[-1][0] + longest
    kept = paragraphs[:start] + paragraphs[end:]
    return kept if sum(word_count(p) for p in kept) >= MIN_BODY_WORDS else paragraphs


def _without_related_tail(paragraphs: list[str]) -> list[str]:
    """The paragraphs before a "Related articles" / "More from" / "You might also like" heading
    in the last part of the body: what follows such a heading is links to other articles.

    Only a short line that is nothing but such a heading counts, only after most of the body
    (RELATED_TAIL_AFTER of its words), and only when a body remains before it.
    """
    words = [word_count(p) for p in paragraphs]
    total, before = sum(words), 0
    for i, paragraph in enumerate(paragraphs):
        if before >= max(RELATED_TAIL_AFTER * total, MIN_BODY_WORDS) and _is_related_heading(
            paragraph, words[i]
        ):
            return paragraphs[:i]
        before += words[i]
    return paragraphs


def _is_headline(paragraph: str, title: str) -> bool:
    # titles often carry the site name ("Headline | Site"), so containment, not equality
    words = _WORD.findall(paragraph.lower())
    return (
        len(words) >= 2 and f" {' '.join(words)} " in f" {' '.join(_WORD.findall(title.lower()))} "
    )


def is_furniture(paragraph: str) -> bool:
    """True for a line that is site furniture wherever it stands: a cookie, newsletter or
    sharing line, or the heading of a block of links to other articles."""
    return _is_boilerplate(paragraph) or _is_related_heading(paragraph, word_count(paragraph))


def _is_related_heading(paragraph: str, words: int) -> bool:
    """A short line that is nothing but the heading of a block of links to other articles
    ("Related articles", "More from ...", "You might also like"); ``words``: its word count."""
    return words <= _RELATED_HEADING_MAX_WORDS and bool(_RELATED_HEADING.match(paragraph))


def _is_boilerplate(paragraph: str) -> bool:
    return word_count(paragraph) <= _BOILERPLATE_MAX_WORDS and bool(_BOILERPLATE.search(paragraph))
