"""Everything that came from a feed is untrusted: escape text, sanitise HTML, vet URLs.

Stored articles hold plain text (the parser and the extractor strip markup), and every page
escapes it. HTML fragments built from that text (feed entries, article excerpts) also go
through nh3, a maintained sanitiser (Rust's ammonia), so that a slip in one template cannot
let a feed's markup run in a reader's browser or feed reader.
"""

from __future__ import annotations

from html import escape
from urllib.parse import urlsplit

import nh3

# What our own fragments use; anything else in a fragment is dropped by the sanitiser.
_TAGS = {
    "a",
    "p",
    "ul",
    "ol",
    "li",
    "strong",
    "em",
    "b",
    "i",
    "span",
    "small",
    "time",
    "br",
    "blockquote",
    "h2",
    "h3",
    "h4",
}
_ATTRIBUTES = {"a": {"href", "title"}, "time": {"datetime"}, "*": {"class"}}
_SCHEMES = {"http", "https"}


def clean_html(fragment: str) -> str:
    """``fragment`` with only harmless tags and attributes, links http(s) only."""
    return nh3.clean(
        fragment,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def safe_url(url: str | None) -> str | None:
    """An absolute http(s) URL fit for an ``href``, or None (``javascript:``, relative...)."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in _SCHEMES or not parts.netloc:
        return None
    return url


def text(value: object) -> str:
    """Escaped for HTML text and attribute values alike."""
    return escape(str(value), quote=True)


def outbound_link(url: str | None, label: str, *, cls: str = "") -> str:
    """A link to another site (an outlet), or the bare label when the URL is not safe."""
    href = safe_url(url)
    if href is None:
        return text(label)
    klass = f' class="{text(cls)}"' if cls else ""
    return f'<a{klass} href="{text(href)}" rel="noopener noreferrer nofollow">{text(label)}</a>'
