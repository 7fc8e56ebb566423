"""Article HTML -> main text and metadata (trafilatura), in worker processes.

    extract_page(html, url=, feed_text=, feed_title=)      pure; runs in a worker process
        decode the bytes (BOM, then valid UTF-8, then <meta charset>, then a guess)
        parse once; tidy the tree (figures become blocks, hidden nodes go)
        trafilatura's readability port, and trafilatura's recall pass
        both found the same region: readability's text, done (most pages)
        else three trafilatura passes (recall, balanced, precision) vote: the pass that agrees
              most with the others (and with the feed text) wins; the readability text
              replaces it when both clearly found the same region
        drop the headline line and boilerplate edges; too little left -> text ""
    choose_text(extracted, feed_text)                      page text, or the feed's when thin
    Extractor                                              process pool for asyncio callers

The choices above were measured with bench/extract_eval.py on the 95 real Readability test
pages (mean word F1 against Readability's expected text): trafilatura.extract with defaults
0.940, with comments off 0.947, recall mode 0.951, figure captions kept 0.953, the vote 0.956,
the vote plus readability-on-agreement and the headline line dropped 0.961. Settling easy pages
on recall-agrees-with-readability before running the other passes keeps 0.961 and costs a third
less CPU (bench/bench.py, "Extraction cost per page").
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from copy import deepcopy
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar
from urllib.parse import urljoin

from aggregator.errors import WorkerDied
from aggregator.extract.workers import Workers
from aggregator.types import Extracted

if TYPE_CHECKING:
    from lxml.etree import _Element
    from lxml.html import HtmlElement

log = logging.getLogger(__name__)

T = TypeVar("T")

# Pages beyond this are cut before parsing: the article is near the top of any real page, and
# libxml2 on tens of megabytes costs seconds of a worker that other pages are waiting for.
MAX_HTML_BYTES = 8_000_000
# Below this many words (after the headline and boilerplate are gone) a page has no body.
MIN_BODY_WORDS = 25
# The readability port's text replaces the vote's winner only when the two agree this well
# (word F1) and are of similar length: then both found the article, and readability's region
# is the more complete one (captions, tables, leads). Swept 0.85-0.95 / 0.75-1.33 on the real
# pages: a flat plateau around these values.
READABILITY_AGREEMENT = 0.9
READABILITY_LENGTH_RATIO = (0.85, 1.2)
# choose_text: the page loses to the feed when it has less than this share of the feed's words.
FEED_PREFERRED_BELOW = 0.5

# Trafilatura passes that vote. deduplicate stays off: its cache spans documents in the
# process, so a worker would drop paragraphs it saw on an earlier page of the same site.
_PASSES: dict[str, dict[str, Any]] = {
    "recall": {"favor_recall": True},
    "balanced": {},
    "precision": {"favor_precision": True},
}
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

_WORD = re.compile(r"\w+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
# elements that may be hidden, found by libxml2 (a Python loop over every element cost 10% of
# a page); the style test is then made in Python on the few with a style attribute
_MAYBE_HIDDEN = "//*[not(self::html or self::body)][@hidden or @aria-hidden='true' or @style]"
_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE
)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# WHATWG encoding rules: these labels mean windows-1252 in every browser.
_CHARSET_ALIASES = {"iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "ascii": "cp1252",
                    "us-ascii": "cp1252", "iso8859-1": "cp1252", "x-sjis": "shift_jis", "gb2312": "gbk"}  # fmt: skip
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
    r"|^advertisement$|^share (this|on)\b|^(related|more) (stories|articles|news)\b|^read more\b",
    re.IGNORECASE,
)
_BOILERPLATE_MAX_WORDS = 30

# Elements that start a new paragraph: HTML blocks, and the tags of trafilatura's XML body.
_BLOCK_TAGS = frozenset(
    ("address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "div", "dl",
     "dt", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
     "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "td", "th",
     "tr", "ul", "head", "item", "lb", "list", "quote", "row")
)  # fmt: skip


# --- the pure function -------------------------------------------------------------------


def extract_page(html: bytes, *, url: str, feed_text: str = "", feed_title: str = "") -> Extracted:
    """Main text and metadata of one article page; text "" when it has no usable body.

    Runs in a worker process. Failures of the parsing libraries on hostile input (garbage,
    absurd nesting, empty bytes) give an empty result; errors in this module propagate.
    """
    if not html or not html.strip():
        return Extracted(text="")
    document = decode_html(html[:MAX_HTML_BYTES])
    tree = _parse(document)
    if tree is None:
        return Extracted(text="")
    _tidy(tree)
    meta = _metadata(tree, url)
    text = _main_text(tree, url, feed_text)
    titles = [t for t in (feed_title, meta.get("title") or "") if t]
    text = _usable_body(text, titles)
    return Extracted(text=text, **meta)


def decode_html(html: bytes) -> str:
    """Bytes -> str the way a browser would, minus the HTTP header we are not given.

    A BOM wins; then bytes that are valid UTF-8 are UTF-8 (wrong labels are common, valid
    UTF-8 by accident is not); then the page's own <meta charset> / XML declaration; then a
    statistical guess; and last windows-1252, which decodes anything.
    """
    for bom, encoding in _BOMS:
        if html.startswith(bom):
            return html[len(bom) :].decode(encoding, errors="replace")
    try:
        return html.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = _declared_charset(html[:4096])
    if declared:
        return html.decode(declared, errors="replace")
    for guess in _guess_encodings(html):
        try:
            return html.decode(guess)
        except (LookupError, UnicodeDecodeError):
            continue
    return html.decode("cp1252", errors="replace")


def _declared_charset(head: bytes) -> str | None:
    match = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
    if not match:
        return None
    label = match.group(1).decode("ascii", errors="ignore").strip().lower()
    label = _CHARSET_ALIASES.get(label, label)
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    # a UTF-16/32 label on bytes without a BOM is a lie copied from a template
    return None if name.startswith(("utf-16", "utf-32")) else name


def _guess_encodings(html: bytes) -> list[str]:
    from trafilatura.utils import detect_encoding

    return _guarded(lambda: detect_encoding(html), default=[])


def _parse(document: str) -> HtmlElement | None:
    from trafilatura import load_html

    tree = _guarded(lambda: load_html(document), default=None)
    # load_html hands back some non-HTML input as an element without a body
    return tree if tree is not None and len(tree) else None


def _guarded(call: Callable[[], T], *, default: T) -> T:
    """Run one call into the parsing libraries; their failure is the page's, not ours.

    trafilatura, lxml, htmldate and charset_normalizer raise a wide, undocumented range of
    exceptions on hostile input (ValueError, lxml errors, RecursionError, IndexError, ...),
    so the boundary catches them all; nothing of this module runs inside the call.
    """
    try:
        return call()
    except Exception:
        log.debug("extraction library failed", exc_info=True)
        return default


@functools.cache
def _maybe_hidden() -> Callable[[HtmlElement], list[HtmlElement]]:
    from lxml.etree import XPath

    return XPath(_MAYBE_HIDDEN)  # type: ignore[return-value]


def _tidy(tree: HtmlElement) -> None:
    """Adjust the parsed page so every extractor sees the article the way a reader does.

    trafilatura deletes <figure> wholesale, captions included; readers see captions as part
    of the story. Hidden nodes (display:none, hidden, aria-hidden) are what readers do not
    see: pre-rendered menus, consent dialogs, templates.
    """
    for figure in tree.iter("figure"):
        figure.tag = "div"
    for caption in tree.iter("figcaption"):
        caption.tag = "p"
    hidden = [
        el
        for el in _maybe_hidden()(tree)
        if el.get("hidden") is not None
        or el.get("aria-hidden") == "true"
        or _HIDDEN_STYLE.search(el.get("style") or "")
    ]
    for el in hidden:
        if el.getparent() is not None:
            el.drop_tree()  # keeps the tail text, which belongs to the parent


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
        return readable
    text = _vote(_candidates(tree, url, recall), feed_text)
    return readable if _same_region(text, readable) else text


def _trafilatura_pass(tree: HtmlElement, url: str, name: str) -> str:
    from trafilatura import bare_extraction

    call = functools.partial(
        bare_extraction, tree, url=url or None, **_COMMON_OPTIONS, **_PASSES[name]
    )
    document = _guarded(call, default=None)
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
    if word_f1(_bag(recall), _bag(precision)) >= PASSES_AGREE:
        return {"recall": recall}
    balanced = _trafilatura_pass(tree, url, "balanced")
    return {"recall": recall, "balanced": balanced, "precision": precision}


def _vote(candidates: dict[str, str], feed_text: str) -> str:
    """The candidate that agrees most with the other candidates (and the feed's text).

    Each extractor errs in its own way; where two agree they are probably right. The feed's
    text, when given, adds a vote for whichever candidate contains most of it. Ties go to
    the earlier pass (recall), which measured best on its own.
    """
    names = list(candidates)
    counts = {name: _bag(candidates[name]) for name in names}
    feed = _bag(feed_text)

    def score(name: str) -> float:
        agreement = sum(word_f1(counts[name], counts[other]) for other in names if other != name)
        if feed:
            agreement += sum((counts[name] & feed).values()) / sum(feed.values())
        return agreement

    best = max(names, key=lambda name: (score(name), -names.index(name)))
    return candidates[best]


def _readability_text(tree: HtmlElement) -> str:
    from trafilatura.readability_lxml import Document

    # summary() mutates the tree it is given
    html = _guarded(lambda: Document(deepcopy(tree), min_text_length=25).summary(), default="")
    if not html:
        return ""
    article = _parse(f"<html><body>{html}</body></html>")
    return "\n".join(block_paragraphs(article)) if article is not None else ""


def _same_region(chosen: str, readable: str) -> bool:
    """True when readability and trafilatura's winner evidently extracted the same article."""
    a, b = _bag(chosen), _bag(readable)
    if not a or not b:
        return False
    low, high = READABILITY_LENGTH_RATIO
    ratio = b.total() / a.total()
    return low <= ratio <= high and word_f1(a, b) >= READABILITY_AGREEMENT


def _bag(text: str) -> Counter[str]:
    return Counter(_WORD.findall(text.lower()))


def word_f1(a: Counter[str], b: Counter[str]) -> float:
    """F1 of two bags of words (multiset overlap)."""
    overlap = (a & b).total()
    if not overlap:
        return 1.0 if not a and not b else 0.0
    precision, recall = overlap / a.total(), overlap / b.total()
    return 2 * precision * recall / (precision + recall)


# --- text shaping ----------------------------------------------------------------------------


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


def _usable_body(text: str, titles: list[str]) -> str:
    """The body without the headline and boilerplate edges; "" when too little is left."""
    paragraphs = text.split("\n") if text else []
    if paragraphs and any(_is_headline(paragraphs[0], title) for title in titles):
        paragraphs = paragraphs[1:]
    while paragraphs and _is_boilerplate(paragraphs[0]):
        paragraphs.pop(0)
    while paragraphs and _is_boilerplate(paragraphs[-1]):
        paragraphs.pop()
    substance = sum(word_count(p) for p in paragraphs if not _is_boilerplate(p))
    return "\n".join(paragraphs) if substance >= MIN_BODY_WORDS else ""


def _is_headline(paragraph: str, title: str) -> bool:
    # titles often carry the site name ("Headline | Site"), so containment, not equality
    words = _WORD.findall(paragraph.lower())
    return (
        len(words) >= 2 and f" {' '.join(words)} " in f" {' '.join(_WORD.findall(title.lower()))} "
    )


def _is_boilerplate(paragraph: str) -> bool:
    return word_count(paragraph) <= _BOILERPLATE_MAX_WORDS and bool(_BOILERPLATE.search(paragraph))


# --- metadata --------------------------------------------------------------------------------


def _metadata(tree: HtmlElement, url: str) -> dict[str, Any]:
    """Title, author, date (UTC), image (absolute) and language the page states about itself."""
    meta = _guarded(lambda: _page_metadata(tree, url), default=None)
    if meta is None:
        return {"language": _language(tree)}
    return {
        "title": meta.title or None,
        "author": meta.author or None,
        "date": _utc(meta.date),
        "image": urljoin(url, meta.image) if meta.image else None,
        "language": _language(tree),
    }


def _page_metadata(tree: HtmlElement, url: str) -> Any:
    """trafilatura.extract_metadata's steps for the fields we keep (title, author, date,
    image), in its order and with its rules.

    extract_metadata also looks for categories, tags, a licence and the site name, which we
    do not use: they were half of its time (bench/bench.py, "Extraction cost per page").
    Should trafilatura rename the steps, the whole extract_metadata runs instead.
    """
    try:
        from htmldate import find_date
        from trafilatura.metadata import (
            examine_meta,
            extract_author,
            extract_meta_json,
            extract_title,
            extract_url,
        )
    except ImportError:  # pragma: no cover - a trafilatura release that moved them
        from trafilatura import extract_metadata

        return extract_metadata(tree, url or None, dict(_DATE_OPTIONS))
    metadata = examine_meta(tree)
    if metadata.author and " " not in metadata.author:
        metadata.author = None
    with contextlib.suppress(Exception):  # trafilatura guards its JSON-LD reader the same way
        metadata = extract_meta_json(tree, metadata)
    if not metadata.title:
        metadata.title = extract_title(tree)
    if not metadata.author:
        metadata.author = extract_author(tree)
    if not metadata.url:
        metadata.url = extract_url(tree, url or None)
    metadata.date = find_date(tree, url=metadata.url, **_DATE_OPTIONS)
    metadata.clean_and_trim()
    return metadata


_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"


class _DateOptions(TypedDict):
    original_date: bool
    extensive_search: bool
    outputformat: str


# htmldate's options, for find_date and for extract_metadata (the fallback) alike
_DATE_OPTIONS: _DateOptions = {
    "original_date": True,  # the publication date, not the last update
    "extensive_search": False,  # guessing from free text is slow and often wrong
    "outputformat": _DATE_FORMAT,
}


def _utc(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.strptime(value, _DATE_FORMAT)
    except ValueError:
        try:
            parsed = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S")
        except ValueError:
            return None
    # a date without a zone is taken as UTC: the best guess that stays comparable
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _language(tree: HtmlElement) -> str | None:
    """Primary language subtag the page declares (<html lang>, then meta), e.g. "en"."""
    candidates = [tree.get("lang"), tree.get("{http://www.w3.org/XML/1998/namespace}lang")]
    for meta in tree.iter("meta"):
        key = (meta.get("http-equiv") or meta.get("property") or meta.get("name") or "").lower()
        if key in ("content-language", "og:locale", "language"):
            candidates.append(meta.get("content"))
    for value in candidates:
        match = re.match(r"\s*([A-Za-z]{2,3})(?:[-_]|\s*$|,)", value or "")
        if match:
            return match.group(1).lower()
    return None


# --- choosing between page and feed ------------------------------------------------------------


def choose_text(extracted: Extracted, feed_text: str) -> tuple[str, str]:
    """(text, text_source): the page's body, or the feed's text when the page gave too little.

    text_source is "page", "feed" or "none". The feed wins when extraction found no body, or
    found clearly less than a feed that carries the full content (paywalled or teaser pages).
    """
    page, feed = extracted.text.strip(), normalise_text(feed_text)
    page_words, feed_words = word_count(page), word_count(feed)
    if page and page_words >= MIN_BODY_WORDS and page_words >= FEED_PREFERRED_BELOW * feed_words:
        return page, "page"
    if feed_words > page_words:
        return feed, "feed"
    if page:
        return page, "page"
    return "", "none"


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
    """Runs extract_page in worker processes (aggregator/workers.py); the pipeline has its
    feeds parsed by the same workers."""

    def __init__(self, workers: int | None = None, *, start_method: str = "forkserver") -> None:
        super().__init__(workers, start_method=start_method, initializer=_warm_up)

    async def extract(
        self, html: bytes, *, url: str, feed_text: str = "", feed_title: str = ""
    ) -> Extracted:
        try:
            return await self.run(
                extract_page, html, url=url, feed_text=feed_text, feed_title=feed_title
            )
        except WorkerDied:
            # the page in flight when a worker dies (out of memory, a crash in libxml2) is
            # lost; later pages get a fresh pool
            log.warning("extraction worker died on %s; restarting the pool", url)
            return Extracted(text="")
