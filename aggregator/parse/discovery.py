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


def looks_like_html(root: str, text: str, content_type: str) -> bool:
    if root in _HTML_ROOTS:
        return True
    if root:  # some other XML vocabulary: not a page
        return False
    return "html" in content_type.lower() or bool(_HTML_HINT.search(text[:4096]))


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
