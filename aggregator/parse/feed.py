"""The parse stage: feed bytes -> ParsedFeed.

    parse_feed(content, url, content_type)
        text  = decode(content)                    # BOM, declarations that lie, detection
        if text is JSON:  return json_feed(text)   # JSON Feed 1.0 / 1.1, our own code
        xml   = prepare(text)                      # DOCTYPE removed (no entity attacks),
                                                   # undefined entities fixed, UTF-8
        if xml is an HTML page without a feed inside it:
            raise NotAFeedError(discovered=<link rel=alternate> URL)
        result = feedparser(xml)                   # once; never fetches anything
        return convert(result)                     # plain text, UTC dates, absolute links

Everything a feed says becomes plain text (HTML stripped, entities decoded, mojibake repaired),
dates timezone-aware UTC, links absolute.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from aggregator.errors import ParseError
from aggregator.parse.discovery import discover_feed, embeds_feed, looks_like_html
from aggregator.parse.encoding import decode_document
from aggregator.parse.jsonfeed import NotJsonFeed, looks_like_json, parse_json_feed
from aggregator.parse.prepare import UnsafeDocument, prepare_xml
from aggregator.parse.xmlfeed import convert, run_feedparser
from aggregator.types import ParsedFeed

__all__ = ["NotAFeedError", "ParseError", "parse_feed"]


class NotAFeedError(ParseError):
    """The document is a web page, not a feed; ``discovered`` is the feed it links to, if any."""

    def __init__(self, url: str, message: str, *, discovered: str | None = None):
        self.discovered = discovered
        super().__init__(url, message)


def parse_feed(
    content: bytes,
    *,
    url: str,
    content_type: str = "",
    headers: Mapping[str, str] | None = None,
) -> ParsedFeed:
    """Parse a feed document; raise ParseError (NotAFeedError for web pages) when it is none.

    ``url`` is the URL the bytes came from (after redirects): the base for relative links.
    """
    if not content_type and headers:
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    if not content or content.isspace():  # isspace: no copy of a large body, unlike strip()
        raise ParseError(url, "empty document")
    decoded = decode_document(content, content_type)
    notes = [decoded.note] if decoded.note else []
    if looks_like_json(decoded.text, content_type):
        return _parse_json(decoded.text, url, notes)
    return _parse_xml(decoded.text, url, content_type, notes)


def _parse_xml(text: str, url: str, content_type: str, notes: list[str]) -> ParsedFeed:
    try:
        prepared = prepare_xml(text)
    except UnsafeDocument as error:
        raise ParseError(url, f"cannot parse safely: {error}") from error
    page = looks_like_html(prepared.root, text, content_type)
    if page and not embeds_feed(text):
        raise _not_a_feed(text, url)
    try:
        result = run_feedparser(prepared.data, url)
    except MemoryError:
        raise
    except Exception as error:  # the dependency boundary: see below
        # feedparser's fallback (loose) parser raises KeyError, TypeError, AttributeError...
        # on some broken documents: that is "not a feed we can read", not a bug of ours
        raise ParseError(url, f"feedparser failed: {type(error).__name__}: {error}") from error
    if page and not (result.get("version") and result["entries"]):
        raise _not_a_feed(text, url)
    if not result.get("version") and not result["entries"]:
        raise ParseError(url, _not_a_feed_reason(prepared.root, result.get("bozo_exception")))
    if page:
        notes.append("a feed inside an HTML document: read the feed, ignored the page")
    return convert(result, url, netscape=prepared.netscape, notes=notes + prepared.notes)


def _parse_json(text: str, url: str, notes: list[str]) -> ParsedFeed:
    try:
        feed = parse_json_feed(text, url)
    except NotJsonFeed as error:
        raise ParseError(url, str(error)) from error
    if notes:
        feed = replace(feed, warnings=(*notes, *feed.warnings))
    return feed


def _not_a_feed(text: str, url: str) -> NotAFeedError:
    discovered = discover_feed(text, url)
    if discovered:
        message = f"an HTML page, not a feed; it links to the feed {discovered}"
    else:
        message = "an HTML page, not a feed, and it links to no feed"
    return NotAFeedError(url, message, discovered=discovered)


def _not_a_feed_reason(root: str, problem: object) -> str:
    if root:
        return f"not a feed: the document's root element is <{root}>"
    return f"not a feed: no XML document found ({problem})" if problem else "not a feed"
