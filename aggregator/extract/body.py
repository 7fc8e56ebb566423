"""Article HTML -> main text and metadata (trafilatura), in worker processes.

    extract_page(html, url=, feed_text=, feed_title=)      pure; runs in a worker process
        decode the bytes (BOM, then valid UTF-8, then <meta charset>, then a guess)
        parse once; tidy the tree (figures become blocks, galleries, form controls, widgets
              and hidden nodes go)
        trafilatura's readability port, and trafilatura's recall pass
        both found the same region: readability's text, with recall's paragraphs inside
              that region put back (_fill_in), done (most pages)
        else three trafilatura passes (recall, balanced, precision) vote: the pass that agrees
              most with the others (and with the feed text), and is most prose, wins; the
              readability text (filled in) replaces it when both clearly found the same
              region, or when it only adds back paragraphs that the page prints twice
        drop the headline line, a related-links tail, a counted slideshow and boilerplate
              edges; too little left -> text "" (unless the whole page is that little)
    choose_text(extracted, feed_text)                      page text, or the feed's when thin
                                                           or when the page is part of it
    Extractor                                              process pool for asyncio callers;
                                                           trims what a site repeats (sites.py)

Reading the page (decode, parse, tidy) is in decode.py, text shaping and word measures in
text.py, the page's own metadata in metadata.py; this module chooses the text. How each
choice was measured (bench/extract_eval.py), the figures per round and what was tried and
dropped: docs/extraction.md.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import logging
from collections import Counter
from copy import deepcopy
from typing import TYPE_CHECKING, Any

from aggregator.errors import WorkerDied
from aggregator.extract.decode import decode_html, guarded, parse_html, tidy
from aggregator.extract.metadata import page_metadata
from aggregator.extract.sites import SiteMemory
from aggregator.extract.text import (
    MIN_BODY_WORDS,
    bag,
    block_paragraphs,
    is_furniture,
    normalise_text,
    prose_share,
    usable_body,
    word_count,
    word_f1,
)
from aggregator.extract.workers import Workers
from aggregator.types import Extracted

if TYPE_CHECKING:
    from lxml.html import HtmlElement

log = logging.getLogger(__name__)

# Pages beyond this are cut before parsing: the article is near the top of any real page, and
# libxml2 on tens of megabytes costs seconds of a worker that other pages are waiting for.
MAX_HTML_BYTES = 8_000_000
# The readability port's text replaces the vote's winner only when the two agree this well
# (word F1) and are of similar length: then both found the article, and readability's region
# is the more complete one (captions, tables, leads). Swept 0.85-0.95 / 0.75-1.33 on the real
# pages: a flat plateau; since _fill_in puts back what readability drops inside the region,
# 0.85 gains on the news pages (0.8 measures the same, 0.9 less).
READABILITY_AGREEMENT = 0.85
READABILITY_LENGTH_RATIO = (0.85, 1.2)
# _fill_in adds a trafilatura paragraph inside the shared region when more than this share of
# its words are not in readability's text at that place.
FILL_IN_NEW_WORDS = 0.5
# ... and only lines of this many words: a lone word that readability left out is more often a
# widget's label ("Advertisement", "Share", "Next") than a heading.
FILL_IN_MIN_WORDS = 2
# A page whose whole body is under MIN_BODY_WORDS and this many characters is all article.
TINY_PAGE_CHARS = 1000
# ... and its text is kept only when at least this share is prose, and less is the headline.
TINY_PAGE_PROSE = 0.5
# choose_text: the page loses to the feed when it has less than this share of the feed's words.
FEED_PREFERRED_BELOW = 0.5
# ... and also when the feed holds nearly all the page's words (this share) and clearly more
# (this many times as many words): the feed's full content is the whole of a cut-short page.
FEED_COVERS_PAGE = 0.9
FEED_COMPLETES_RATIO = 1.5

# Trafilatura passes that vote. deduplicate stays off: its cache spans documents in the
# process, so a worker would drop paragraphs it saw on an earlier page of the same site.
_PASSES: dict[str, dict[str, Any]] = {
    "recall": {"favor_recall": True},
    "balanced": {},
    "precision": {"favor_precision": True},
}
# In the vote, a candidate that is all prose gains this much per other candidate; swept 0.5-2
# on the real pages (bench/extract_eval.py): 1 and 2 measure the same, 0.5 gains half.
PROSE_WEIGHT = 1.0
# Recall and precision passes this close (word F1) settle the vote without the balanced pass.
PASSES_AGREE = 0.98
_COMMON_OPTIONS: dict[str, Any] = {
    "include_comments": False,
    "include_tables": True,
    "include_images": False,
    "include_links": False,
    "deduplicate": False,
    "output_format": "python",
}


# --- the pure function -------------------------------------------------------------------


def extract_page(html: bytes, *, url: str, feed_text: str = "", feed_title: str = "") -> Extracted:
    """Main text and metadata of one article page; text "" when it has no usable body.

    Runs in a worker process. Failures of the parsing libraries on hostile input (garbage,
    absurd nesting, empty bytes) give an empty result; errors in this module propagate.
    """
    if not html or not html.strip():
        return Extracted(text="")
    document = decode_html(html[:MAX_HTML_BYTES])
    tree = parse_html(document)
    if tree is None:
        return Extracted(text="")
    tidy(tree)
    meta = page_metadata(tree, url)
    text = _main_text(tree, url, feed_text)
    titles = [t for t in (feed_title, meta.get("title") or "") if t]
    body = usable_body(text, titles)
    if not body and text and _is_tiny(tree):
        body = _tiny_body(usable_body(text, titles, min_words=1), titles)
    return Extracted(text=body, **meta)


# --- candidates and the vote ---------------------------------------------------------------


def _main_text(tree: HtmlElement, url: str, feed_text: str) -> str:
    """The article's text: readability's when it agrees with the trafilatura passes' choice,
    else that choice.

    The recall pass runs first. When it and readability already found the same region, the
    page is settled without the precision (and balanced) passes: on the real pages that
    gives the same mean F1 as running them all, for a third less CPU.
    """
    readable = _readability_text(tree)
    recall = _trafilatura_pass(tree, url, "recall")
    if _same_region(recall, readable):
        return _fill_in(readable, recall)
    text = _vote(_candidates(tree, url, recall), feed_text)
    if _same_region(text, readable):
        return _fill_in(readable, text)
    if _restores_repeats(text, readable):
        return readable
    return text


def _trafilatura_pass(tree: HtmlElement, url: str, name: str) -> str:
    from trafilatura import bare_extraction

    call = functools.partial(
        bare_extraction, tree, url=url or None, **_COMMON_OPTIONS, **_PASSES[name]
    )
    document = guarded(call, default=None)
    body = getattr(document, "body", None)
    # the XML body, not trafilatura's txt: that keeps the page's line wrapping inside
    # paragraphs, and we want one paragraph per line
    return "\n".join(block_paragraphs(body)) if body is not None else ""


def _candidates(tree: HtmlElement, url: str, recall: str) -> dict[str, str]:
    """Texts of the trafilatura passes, by pass name, recall (already run) first.

    When recall and precision agree, the balanced pass (which lies between them) could not
    change the vote, so it is skipped: that saves a third of the time on most pages.
    """
    precision = _trafilatura_pass(tree, url, "precision")
    if word_f1(bag(recall), bag(precision)) >= PASSES_AGREE:
        return {"recall": recall}
    balanced = _trafilatura_pass(tree, url, "balanced")
    return {"recall": recall, "balanced": balanced, "precision": precision}


def _vote(candidates: dict[str, str], feed_text: str) -> str:
    """The candidate that agrees most with the other candidates (and the feed's text).

    Each extractor errs in its own way; where two agree they are probably right. But two
    passes often make the same mistake (both take a photo gallery's captions, a tag list, a
    breadcrumb), so each candidate also gets up to one vote per other candidate for being
    prose rather than furniture (text.prose_share). The feed's text, when given, adds a vote
    for whichever candidate contains most of it. Ties go to the earlier pass (recall), which
    measured best on its own.
    """
    names = list(candidates)
    counts = {name: bag(candidates[name]) for name in names}
    feed = bag(feed_text)

    def score(name: str) -> float:
        agreement = sum(word_f1(counts[name], counts[other]) for other in names if other != name)
        agreement += PROSE_WEIGHT * (len(names) - 1) * prose_share(candidates[name])
        if feed:
            agreement += sum((counts[name] & feed).values()) / sum(feed.values())
        return agreement

    best = max(names, key=lambda name: (score(name), -names.index(name)))
    return candidates[best]


def _readability_text(tree: HtmlElement) -> str:
    from trafilatura.readability_lxml import Document

    # summary() mutates the tree it is given
    html = guarded(lambda: Document(deepcopy(tree), min_text_length=25).summary(), default="")
    if not html:
        return ""
    article = parse_html(f"<html><body>{html}</body></html>")
    if article is None:
        return ""
    # the port writes "VIDEO" into the video frames it keeps; readers see a player, not the word
    for frame in list(article.iter("iframe")):
        frame.drop_tree()
    return "\n".join(block_paragraphs(article))


def _same_region(chosen: str, readable: str) -> bool:
    """True when readability and trafilatura's winner evidently extracted the same article."""
    a, b = bag(chosen), bag(readable)
    if not a or not b:
        return False
    low, high = READABILITY_LENGTH_RATIO
    ratio = b.total() / a.total()
    return low <= ratio <= high and word_f1(a, b) >= READABILITY_AGREEMENT


def _fill_in(readable: str, chosen: str) -> str:
    """readability's text, with the paragraphs that only trafilatura's text has inside the
    region both found put back in their places.

    The two agree on the article but each drops some of it: readability drops headings that
    are mostly a link (a product or film name in a list article) and some captions inside
    the body, trafilatura other furniture-like lines. Between their first and last common
    paragraphs both are inside the article, so a paragraph only one has is the article's;
    at the edges it may be the page's (a byline block, a teaser), and readability's edges
    stay. A trafilatura paragraph whose words readability already has at that place (the
    same paragraph split differently) is not added twice, nor is a lone word or a line of
    furniture (text.is_furniture).
    """
    mine, theirs = readable.split("\n"), chosen.split("\n")
    blocks = difflib.SequenceMatcher(None, mine, theirs, autojunk=False).get_opcodes()
    common = [k for k, block in enumerate(blocks) if block[0] == "equal"]
    if len(common) < 2:
        return readable
    merged: list[str] = []
    for k, (op, i1, i2, j1, j2) in enumerate(blocks):
        merged.extend(mine[i1:i2])
        if op == "equal" or not common[0] < k < common[-1]:
            continue
        have = bag(" ".join(mine[i1:i2]))
        for line in theirs[j1:j2]:
            words = bag(line)
            new = (words - have).total()
            if (
                words.total() >= FILL_IN_MIN_WORDS
                and new > FILL_IN_NEW_WORDS * words.total()
                and not is_furniture(line)
            ):
                merged.append(line)
    return "\n".join(merged)


def _restores_repeats(chosen: str, readable: str) -> bool:
    """True when readability's text is the chosen text plus more copies of its own paragraphs.

    trafilatura drops a paragraph that repeats the one before it; a reader sees both, and
    readability keeps both. Nothing else differs, so readability's text is the page's.
    """
    if not chosen or not readable:
        return False
    mine, theirs = Counter(chosen.split("\n")), Counter(readable.split("\n"))
    extra = theirs - mine
    return bool(extra) and not (mine - theirs) and all(p in mine for p in extra)


def _tiny_body(text: str, titles: list[str]) -> str:
    """The text of a page that holds nothing else, when it is a short article: mostly
    sentences, and not mostly the headline (a page with only a menu, the headline and a footer
    has no body, and its headline glued to the menu escapes the headline rule)."""
    if prose_share(text) < TINY_PAGE_PROSE:
        return ""
    words = bag(text)
    headline = bag(" ".join(titles))
    return "" if (words & headline).total() >= TINY_PAGE_PROSE * words.total() else text


def _is_tiny(tree: HtmlElement) -> bool:
    """True when the page's whole body is fewer words (and characters) than a body needs.

    Scripts and styles count too, which errs on the side of calling a page long; the
    character bound keeps out binary junk that decodes to a few endless "words".
    """
    found = tree.find("body")
    whole = found.text_content() if found is not None else ""
    return len(whole) <= TINY_PAGE_CHARS and word_count(whole) < MIN_BODY_WORDS


# --- choosing between page and feed ------------------------------------------------------------


def choose_text(extracted: Extracted, feed_text: str) -> tuple[str, str]:
    """(text, text_source): the page's body, or the feed's text when the page gave too little.

    text_source is "page", "feed" or "none". The feed wins when extraction found no body, or
    found clearly less than a feed that carries the full content (paywalled or teaser pages),
    or found part of the article that the feed carries whole.
    """
    page, feed = extracted.text.strip(), normalise_text(feed_text)
    page_words, feed_words = word_count(page), word_count(feed)
    if (
        page
        and page_words >= MIN_BODY_WORDS
        and page_words >= FEED_PREFERRED_BELOW * feed_words
        and not _feed_completes_page(page, feed, page_words, feed_words)
    ):
        return page, "page"
    if feed_words > page_words:
        return feed, "feed"
    if page:
        return page, "page"
    return "", "none"


def _feed_completes_page(page: str, feed: str, page_words: int, feed_words: int) -> bool:
    """True when the feed's text is the page's article and clearly more of it: the page's
    words are nearly all in the feed, which has FEED_COMPLETES_RATIO times as many.

    Then extraction got part of the article (a second page, a "read more" that scripts
    expand, paragraphs loaded later) and the feed carries the whole, without the page's
    furniture.
    """
    if feed_words < FEED_COMPLETES_RATIO * page_words:
        return False
    mine = bag(page)
    return (mine & bag(feed)).total() >= FEED_COVERS_PAGE * mine.total()


# --- the process pool ------------------------------------------------------------------------


def _warm_up() -> None:
    """Worker initializer: pay trafilatura's import (~0.4 s) before the first page arrives."""
    import warnings

    import trafilatura  # noqa: F401
    import trafilatura.readability_lxml  # noqa: F401
    from dateutil.parser import UnknownTimezoneWarning

    # htmldate hands page dates like "10:00 EST" to dateutil, which warns on every such page;
    # the date is still found (as UTC), so the warning is only log noise
    warnings.filterwarnings("ignore", category=UnknownTimezoneWarning)


class Extractor(Workers):
    """Runs extract_page in worker processes (extract/workers.py); the pipeline has its
    feeds parsed by the same workers. Bodies are then trimmed of the furniture their site
    prints on other pages (extract/sites.py), which needs the memory of this process."""

    def __init__(
        self, workers: int | None = None, *, start_method: str = "forkserver", warm: bool = True
    ) -> None:
        # warm=False when no feed extracts pages: the workers then only parse feeds, and
        # trafilatura (imported by extract_page when first needed) would cost each of them
        # ~0.4 s of CPU for nothing
        initializer = _warm_up if warm else None
        super().__init__(workers, start_method=start_method, initializer=initializer)
        self.sites = SiteMemory()

    async def extract(
        self, html: bytes, *, url: str, feed_text: str = "", feed_title: str = ""
    ) -> Extracted:
        try:
            extracted = await self.run(
                extract_page, html, url=url, feed_text=feed_text, feed_title=feed_title
            )
        except WorkerDied:
            # the page in flight when a worker dies (out of memory, a crash in libxml2) is
            # lost; later pages get a fresh pool
            log.warning("extraction worker died on %s; restarting the pool", url)
            return Extracted(text="")
        text = self.sites.clean(url, extracted.text)
        return extracted if text == extracted.text else dataclasses.replace(extracted, text=text)
