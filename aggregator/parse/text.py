"""Feed text -> plain text: HTML stripped, entities decoded, whitespace collapsed, mojibake fixed.

Titles become one line; summaries and content keep paragraph breaks as "\\n".
"""

from __future__ import annotations

import contextlib
import html
import re
import threading

from lxml import etree

# Elements whose start or end is a paragraph break in the plain text.
_BLOCKS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "caption",
        "center",
        "dd",
        "details",
        "dialog",
        "dir",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hgroup",
        "hr",
        "html",
        "li",
        "main",
        "menu",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    ]
)
# Elements whose text is never shown to a reader.
_INVISIBLE = frozenset(
    ["script", "style", "noscript", "template", "head", "title", "iframe", "object", "svg", "math"]
)

_SPACES = re.compile(r"[^\S\n]+")  # whitespace other than newlines (includes NBSP)
_NEWLINES = re.compile(r"\s*\n\s*")
_ALL_SPACES = re.compile(r"\s+")
# Characters XML and lxml refuse; feeds contain them more often than one would hope.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_ENTITY = re.compile(r"&(?:#\d+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
_MARKUP_HINT = re.compile(r"<[A-Za-z/!]|&")

_local = threading.local()  # lxml parsers must not be shared between threads


def _html_parser() -> etree.HTMLParser:
    parser: etree.HTMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        # no_network: never fetch anything a document refers to; HTML parsing in libxml2
        # does not expand DTD entities, so this is safe on hostile input.
        parser = etree.HTMLParser(
            remove_comments=True, remove_pis=True, no_network=True, recover=True
        )
        _local.parser = parser
    return parser


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment; paragraphs separated by "\\n"."""
    markup = _CONTROL.sub("", markup)
    if not _MARKUP_HINT.search(markup):
        return _collapse_paragraphs(markup)
    try:
        root = etree.fromstring(f"<html><body>{markup}</body></html>", _html_parser())
    except (etree.ParserError, ValueError):
        return _collapse_paragraphs(html.unescape(markup))
    if root is None:
        return ""
    parts: list[str] = []
    _walk(root, parts)
    return _collapse_paragraphs("".join(parts))


def _walk(root: etree._Element, parts: list[str]) -> None:
    walker = etree.iterwalk(root, events=("start", "end"))
    for event, element in walker:
        tag = element.tag if isinstance(element.tag, str) else ""
        if event == "start":
            if tag in _INVISIBLE:
                walker.skip_subtree()  # its "end" event still comes and adds the tail
                continue
            if tag in _BLOCKS or tag == "br":
                parts.append("\n")
            if element.text:
                parts.append(element.text)
        else:
            if tag in _BLOCKS:
                parts.append("\n")
            if element.tail and element is not root:
                parts.append(element.tail)


def _collapse_paragraphs(text: str) -> str:
    text = _SPACES.sub(" ", text)
    return _NEWLINES.sub("\n", text).strip()


def one_line(text: str) -> str:
    """Collapse every run of whitespace, newlines included, to one space."""
    return _ALL_SPACES.sub(" ", text).strip()


def plain_to_text(text: str) -> str:
    """Text the feed says is plain; real feeds still escape entities twice, so decode them."""
    text = _CONTROL.sub("", text)
    if "&" in text and _ENTITY.search(text):
        text = html.unescape(text)
    return _collapse_paragraphs(text)


def to_text(value: str, content_type: str) -> str:
    """Plain text of a feed value whose declared type is ``content_type`` (MIME or short)."""
    if not value:
        return ""
    # repair before whitespace is collapsed: a mis-decoded no-break space (0xA0) is part of the
    # mojibake of "à" or "Р" and is lost once it becomes a plain space
    value = fix_mojibake(value)
    kind = content_type.lower()
    is_markup = "html" in kind or "xml" in kind
    text = html_to_text(value) if is_markup else plain_to_text(value)
    repaired = fix_mojibake(text)  # mojibake written as entities ("Ã&#169;") shows only now
    return text if repaired == text else _collapse_paragraphs(repaired)


# --- mojibake ---------------------------------------------------------------------------------
# UTF-8 bytes decoded as windows-1252 (or latin-1) turn each byte into one character: a lead
# byte 0xC2-0xF4 becomes one of "Â".."ô", a continuation byte 0x80-0xBF one of the characters
# below. A run of such characters that re-encodes to valid UTF-8 is almost never real text.


def _byte_chars() -> dict[str, int]:
    mapping: dict[str, int] = {}
    for byte in range(0x80, 0x100):
        mapping[chr(byte)] = byte  # latin-1 view (C1 controls for 0x80-0x9F)
        # 0x81, 0x8D, 0x8F, 0x90, 0x9D are undefined in windows-1252
        with contextlib.suppress(UnicodeDecodeError):
            mapping[bytes([byte]).decode("cp1252")] = byte
    return mapping


_BYTE_OF = _byte_chars()
_CONT = "".join(re.escape(c) for c, b in _BYTE_OF.items() if 0x80 <= b <= 0xBF)
_LEAD2 = "\u00c2-\u00df"
_LEAD3 = "\u00e0-\u00ef"
_LEAD4 = "\u00f0-\u00f4"
# Cheap test first: the full pattern's alternation is ten times slower to search with.
_MOJIBAKE_HINT = re.compile(f"[{_LEAD2}{_LEAD3}{_LEAD4}][{_CONT}]")
_MOJIBAKE_RUN = re.compile(
    f"(?:[{_LEAD2}][{_CONT}]|[{_LEAD3}][{_CONT}]{{2}}|[{_LEAD4}][{_CONT}]{{3}})+"
)

# A mis-decoded no-break space is "Â" + U+00A0; once the U+00A0 was stripped as whitespace (by
# the feed's producer or by feedparser) only "Â" is left at the end of a word. No language
# ends a word with "Â" (nor is "Â" a word), so it is dropped there.
_ORPHAN_NBSP_LEAD = re.compile(r"\u00c2(?=\s|$)")


# Real text that only looks like mojibake: a capital or "ß" at the end of a word, then a
# quote or dash ("zu Fuß“", "CAFÉ»", "groß—") re-encodes to a character of IPA, Hebrew
# points, Syriac, Thaana or N'Ko, which mis-decoded news text practically never holds.
# (Combining accents, U+0300-036F, are left out: decomposed text mis-decoded needs them.)
_IMPLAUSIBLE = re.compile("[\u0250-\u02ff\u0591-\u05c7\u0700-\u07ff]")


def _repair_run(match: re.Match[str]) -> str:
    run = match.group(0)
    try:
        repaired = bytes(_BYTE_OF[c] for c in run).decode("utf-8")
    except UnicodeDecodeError:
        return run  # not a clean round trip: leave the text as the feed gave it
    return run if _IMPLAUSIBLE.search(repaired) else repaired


def fix_mojibake(text: str) -> str:
    """Undo UTF-8 that was decoded as windows-1252/latin-1, once or twice ("Ã©" -> "é").

    Only runs that re-encode to valid UTF-8 are replaced, so correct accented text stays.
    """
    for _ in range(2):  # double-encoded twice happens when two systems each get it wrong
        if not _MOJIBAKE_HINT.search(text):
            break
        text = _MOJIBAKE_RUN.sub(_repair_run, text)
    if "\u00c2" in text:
        text = _ORPHAN_NBSP_LEAD.sub("", text)
    return text


def has_mojibake(text: str) -> bool:
    """Whether text still shows signs of a decoding error (for evaluation and tests)."""
    if "\ufffd" in text or re.search("[\x80-\x9f]", text) or _ORPHAN_NBSP_LEAD.search(text):
        return True
    match = _MOJIBAKE_RUN.search(text)
    return match is not None and _repair_run(match) != match.group(0)
