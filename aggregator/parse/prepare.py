"""Decoded XML text -> UTF-8 bytes that feedparser's strict (expat) parser can read safely.

Why each step:
- Junk before ``<?xml`` (whitespace, a PHP notice) makes expat fail and feedparser fall back to
  its slower, sloppier loose parser; it is cut.
- The XML declaration is rewritten to say UTF-8, because the bytes handed on are UTF-8.
- The DOCTYPE is removed. Its internal subset is where entity expansion attacks live
  ("billion laughs", external entities reading ``file://`` URLs), and feeds have no other use
  for it than declaring a few character entities. Those few (a name for a single character
  reference or a short literal without markup) are substituted as text by us, so expat never
  sees an entity declaration. External DTDs are never loaded.
- Undefined entities (``&eacute;`` in RSS, bare ``&`` in "AT&T") make a document not
  well-formed; HTML entities become numeric references, anything else a literal "&".
- Characters XML forbids (control characters, references to them) are dropped.
"""

from __future__ import annotations

import html.entities
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

_XML_DECL = re.compile(r"<\?xml\b[^>]*?\?>")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_BAD_CHAR_REF = re.compile(
    r"&#(?:0*(?:[0-8]|1[124-9]|2\d|3[01])|[xX]0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F])"
    r"|[xX]0*[dD][89a-fA-F][0-9a-fA-F]{2}|0*5[5-7]\d{3});"
)
# Prolog items before the root element, and the root element's name.
_PROLOG_ITEM = re.compile(r"\s*(<\?.*?\?>|<!--.*?-->|<!DOCTYPE\b)", re.DOTALL | re.IGNORECASE)
_ROOT = re.compile(r"\s*<([A-Za-z_][\w.:-]*)")
# Tokens inside a DOCTYPE that can contain "[", "]" or ">" without ending it.
_DOCTYPE_TOKEN = re.compile(r"\"[^\"]*\"|'[^']*'|<!--.*?-->|[\[\]>]", re.DOTALL)
_ENTITY_DECL = re.compile(r"<!ENTITY\s+([A-Za-z_][\w.-]*)\s+(?:\"([^\"]*)\"|'([^']*)')\s*>")
_SAFE_VALUE = re.compile(r"&#(?:\d{1,7}|[xX][0-9a-fA-F]{1,6});|[^&<%]{0,64}")
_MAX_DECLARED = 256
_PREDEFINED = frozenset({"amp", "lt", "gt", "quot", "apos"})
_NEEDS_FIX = re.compile(r"&(?!(?:amp|lt|gt|quot|apos|#\d+|#[xX][0-9a-fA-F]+);)")
_FIX_AMP = re.compile(
    r"<!\[CDATA\[.*?\]\]>|&(?!(?:amp|lt|gt|quot|apos|#\d+|#[xX][0-9a-fA-F]+);)"
    r"(?:([A-Za-z_][\w.-]*);)?",
    re.DOTALL,
)


class UnsafeDocument(ValueError):
    """The document cannot be made safe to parse (e.g. an unterminated DOCTYPE)."""


@dataclass
class Prepared:
    data: bytes  # UTF-8 XML for feedparser
    root: str  # local name of the root element, lowercased ("" when none)
    netscape: bool = False  # the removed DOCTYPE named Netscape's RSS 0.91 DTD
    notes: list[str] = field(default_factory=list)


def prepare_xml(text: str) -> Prepared:
    notes: list[str] = []
    text = text.lstrip("\ufeff")
    text = _cut_leading_junk(text, notes)
    text = _CONTROL.sub("", text)
    doctype = _find_doctype(text)
    netscape = False
    declared: dict[str, str] = {}
    if doctype is not None:
        start, end = doctype
        netscape = "netscape" in text[start:end].lower()
        declared = _safe_entities(text[start:end], notes)
        text = text[:start] + text[end:]
    text = _XML_DECL.sub('<?xml version="1.0" encoding="utf-8"?>', text, count=1)
    if _NEEDS_FIX.search(text):
        text = _fix_entities(text, declared)
    if "&#" in text:
        text = _BAD_CHAR_REF.sub("", text)
    root = _ROOT.match(text, _prolog_end(text))
    name = root.group(1).lower() if root else ""
    return Prepared(text.encode("utf-8"), name, netscape, notes)


def _cut_leading_junk(text: str, notes: list[str]) -> str:
    declaration = text.find("<?xml", 0, 2048)
    if declaration > 0:
        if text[:declaration].strip():
            notes.append("text before the XML declaration removed")
        return text[declaration:]
    return text.lstrip() if declaration < 0 else text


def _prolog_end(text: str) -> int:
    """Offset just after the prolog (declaration, comments, PIs, DOCTYPE)."""
    end = 0
    for _start, item_end, _is_doctype in _prolog_items(text):
        end = item_end
    return end


def _find_doctype(text: str) -> tuple[int, int] | None:
    """Span of the DOCTYPE declaration in the prolog, if there is one."""
    return next(
        ((start, end) for start, end, is_doctype in _prolog_items(text) if is_doctype), None
    )


def _prolog_items(text: str) -> Iterator[tuple[int, int, bool]]:
    """(start, end, is it the DOCTYPE?) of each prolog item in turn; a DOCTYPE ends where its
    internal subset and closing ">" do."""
    pos = 0
    while (match := _PROLOG_ITEM.match(text, pos)) is not None:
        start = match.start(1)
        if match.group(1).upper().startswith("<!DOCTYPE"):
            pos = _doctype_end(text, start)
            yield start, pos, True
        else:
            pos = match.end()
            yield start, pos, False


def _doctype_end(text: str, start: int) -> int:
    depth = 0
    for token in _DOCTYPE_TOKEN.finditer(text, start + len("<!DOCTYPE")):
        symbol = token.group(0)
        if symbol == "[":
            depth += 1
        elif symbol == "]":
            depth = max(0, depth - 1)
        elif symbol == ">" and depth == 0:
            return token.end()
    raise UnsafeDocument("unterminated DOCTYPE")


def _safe_entities(doctype: str, notes: list[str]) -> dict[str, str]:
    """Entity declarations of the internal subset that can be substituted without risk."""
    safe: dict[str, str] = {}
    dropped = 0
    for match in _ENTITY_DECL.finditer(doctype):
        name = match.group(1)
        value = match.group(2) if match.group(2) is not None else match.group(3)
        if len(safe) < _MAX_DECLARED and _SAFE_VALUE.fullmatch(value):
            safe.setdefault(name, value)  # XML: the first declaration wins
        else:
            dropped += 1
    if dropped or doctype.count("<!ENTITY") > len(safe):
        notes.append("DOCTYPE entity declarations ignored (only simple ones are used)")
    return safe


def _fix_entities(text: str, declared: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        whole = match.group(0)
        if whole.startswith("<!["):
            return whole  # CDATA: "&" is literal text there
        name = match.group(1)
        if name is None:
            return "&amp;"
        if name in declared:
            return declared[name]
        if name in _PREDEFINED:
            return whole
        chars = html.entities.html5.get(name + ";")
        if chars is not None:
            return "".join(f"&#{ord(c)};" for c in chars)
        return f"&amp;{name};"

    return _FIX_AMP.sub(replace, text)
