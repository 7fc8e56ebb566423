"""Article bytes -> a parsed, tidied tree: decoded the way a browser would, parsed by libxml2
(through trafilatura), hidden nodes gone.

`guarded` is the boundary to the parsing libraries for the whole package: what they raise on
hostile input is the page's failure, never ours.
"""

from __future__ import annotations

import codecs
import functools
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from lxml.html import HtmlElement

log = logging.getLogger(__name__)

T = TypeVar("T")

_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
# elements that may be hidden, found by libxml2 (a Python loop over every element cost 10% of
# a page); the style test is then made in Python on the few with a style attribute
_MAYBE_HIDDEN = "//*[not(self::html or self::body)][@hidden or @aria-hidden='true' or @style]"
# A figure beside a paragraph of this many words is the article's own (tidy).
FLOW_PARAGRAPH_WORDS = 15
# ARIA roles of interactive widgets (a video player's caption menu, a share toolbar): labels
# for controls, never the article's text
_WIDGETS = (
    "//*["
    + " or ".join(
        f"@role='{role}'"
        for role in (
            "menu",
            "menubar",
            "menuitem",
            "menuitemcheckbox",
            "menuitemradio",
            "toolbar",
            "slider",
        )
    )
    + "]"
)
# A run of this many figures with no paragraph between them is a gallery (tidy); a paragraph
# of fewer words (a credit line, "1 of 19") does not break the run. Runs of 3 or 4 also took
# pictures that illustrate an article's own text (bench/extract_eval.py --set all).
GALLERY_FIGURES = 5
GALLERY_GAP_WORDS = 5
# ... unless the paragraphs outside figures are fewer words than this: a photo essay.
GALLERY_STORY_WORDS = 50
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

    return guarded(lambda: detect_encoding(html), default=[])


def parse_html(document: str) -> HtmlElement | None:
    from trafilatura import load_html

    tree = guarded(lambda: load_html(document), default=None)
    # load_html hands back some non-HTML input as an element without a body
    return tree if tree is not None and len(tree) else None


def guarded(call: Callable[[], T], *, default: T) -> T:
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


def _in_paragraph_flow(figure: HtmlElement) -> bool:
    """True when a paragraph of FLOW_PARAGRAPH_WORDS or more words is the figure's sibling
    just before or after it: the figure is in the run of the article's own text."""
    for sibling in (figure.getprevious(), figure.getnext()):
        if (
            sibling is not None
            and sibling.tag == "p"
            and len(sibling.text_content().split()) >= FLOW_PARAGRAPH_WORDS
        ):
            return True
    return False


def _galleries(tree: HtmlElement) -> list[HtmlElement]:
    """The figures of the page's galleries: runs of GALLERY_FIGURES or more outermost
    figures with no paragraph (of GALLERY_GAP_WORDS or more words, outside figures) between
    them. None when the paragraphs outside figures are fewer than GALLERY_STORY_WORDS words:
    then the page is a photo essay, and its captions are its story."""
    found: list[HtmlElement] = []
    run: list[HtmlElement] = []
    story_words = 0
    for el in _xpath(_FIGURES_AND_PARAGRAPHS)(tree):
        if el.tag == "figure":
            run.append(el)
            continue
        words = len(el.text_content().split())
        if words >= GALLERY_GAP_WORDS:
            story_words += words
            if len(run) >= GALLERY_FIGURES:
                found.extend(run)
            run = []
    if len(run) >= GALLERY_FIGURES:
        found.extend(run)
    return found if story_words >= GALLERY_STORY_WORDS else []


# in document order; figures inside figures and paragraphs inside figures do not count
_FIGURES_AND_PARAGRAPHS = "//figure[not(ancestor::figure)] | //p[not(ancestor::figure)]"


@functools.cache
def _xpath(expression: str) -> Callable[[HtmlElement], list[HtmlElement]]:
    """``expression`` compiled once (lxml imported on first use)."""
    from lxml.etree import XPath

    return XPath(expression)  # type: ignore[return-value]


def tidy(tree: HtmlElement) -> None:
    """Adjust the parsed page so every extractor sees the article the way a reader does.

    trafilatura deletes <figure> wholesale, captions included; readers see captions as part
    of the story. A figure set among the article's paragraphs loses its class and id, which
    the extractors read as furniture ("media", "lede-photo", "caption") where it is the
    story's own picture. But a gallery (GALLERY_FIGURES or more figures with no paragraph between
    them) is a set of pictures beside the story, and its captions would outweigh the text.
    Hidden nodes (display:none, hidden, aria-hidden) are what readers do not see:
    pre-rendered menus, consent dialogs, templates.
    """
    for figure in _galleries(tree):
        figure.drop_tree()
    for figure in tree.iter("figure"):
        figure.tag = "div"
        if _in_paragraph_flow(figure):
            for el in figure.iter():
                el.attrib.pop("class", None)
                el.attrib.pop("id", None)
    for caption in tree.iter("figcaption"):
        caption.tag = "p"
    # a form's text boxes and pick lists hold what readers type or choose (an embed code, a
    # list of sections), not what they read; nor are a player's menus and toolbars
    controls = list(tree.iter("textarea", "select")) + _xpath(_WIDGETS)(tree)
    hidden = [
        el
        for el in _xpath(_MAYBE_HIDDEN)(tree)
        if el.get("hidden") is not None
        or el.get("aria-hidden") == "true"
        or _HIDDEN_STYLE.search(el.get("style") or "")
    ]
    for el in controls + hidden:
        if el.getparent() is not None:
            el.drop_tree()  # keeps the tail text, which belongs to the parent
