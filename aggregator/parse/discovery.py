"""HTML pages given where a feed was expected: recognise them, find the feed they link to."""

from __future__ import annotations

import re
from urllib.parse import urljoin

from lxml import etree

FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/json",  # JSON Feed 1.0 pages still announce this
)
_HTML_ROOTS = frozenset({"html", "head", "body"})
_HTML_HINT = re.compile(r"<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>])", re.IGNORECASE)
# A feed's root element inside a page: an Atom <feed> in its namespace, <rss> or <rdf:RDF>
_EMBEDDED_FEED = re.compile(
    r"<(?:feed\b[^>]*\bxmlns\s*=\s*[\"']http://www\.w3\.org/2005/Atom[\"']|rss[\s>]|rdf:RDF[\s>])"
)


def looks_like_html(root: str, text: str, content_type: str) -> bool:
    if root in _HTML_ROOTS:
        return True
    if root:  # some other XML vocabulary: not a page
        return False
    return "html" in content_type.lower() or bool(_HTML_HINT.search(text[:4096]))


def embeds_feed(text: str) -> bool:
    """Whether a page carries a whole feed inside it (an XHTML document wrapping an Atom feed,
    as some static site generators publish); feedparser reads those."""
    return bool(_EMBEDDED_FEED.search(text))


def discover_feed(text: str, url: str) -> str | None:
    """Absolute URL of the first feed an HTML page announces with <link rel="alternate">."""
    if "<link" not in text.lower() and "<LINK" not in text:
        return None
    parser = etree.HTMLParser(no_network=True, recover=True, encoding="utf-8")
    try:
        root = etree.fromstring(text.encode("utf-8", errors="replace"), parser)
    except (etree.ParserError, ValueError):
        return None
    if root is None:
        return None
    base = url
    for element in root.iter("base"):
        href = (element.get("href") or "").strip()
        if href:
            base = _join(url, href)
            break
    for element in root.iter("link"):
        rel = (element.get("rel") or "").lower().split()
        kind = (element.get("type") or "").lower().split(";")[0].strip()
        href = (element.get("href") or "").strip()
        if "alternate" in rel and kind in FEED_TYPES and href:
            return _join(base, href)
    return None


def _join(base: str, href: str) -> str:
    try:
        return urljoin(base, href)
    except ValueError:
        return href
