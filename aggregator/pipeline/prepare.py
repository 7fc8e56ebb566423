"""What dedupe and clustering need of one article alone (its terms, names and shingles),
computed where its text is first known, off the ordered tail of the poll.

The first time a feed is read, all its entries are new: they are prepared in the worker
process that parses it (``parse_prepared``), and an article that keeps its feed's text, as
most do on a first pass and all do on feeds with ``extract: false``, reaches the tail with its
share done. A feed read before mostly lists entries already stored: preparing them all would
be work thrown away, so its new articles are prepared in the tail, as before. An article whose
page is extracted is prepared from its page's text, on the loop while other pages are on
their way (pages.py). The tail checks nothing: the same inputs give the same result wherever
it is computed.
"""

from __future__ import annotations

from collections.abc import Mapping

from aggregator.cluster.clusterer import features_of
from aggregator.identity.near import shingles_of
from aggregator.pipeline.decide import entry_title
from aggregator.pipeline.records import Prepared
from aggregator.types import ClusterDoc, ParsedEntry, ParsedFeed
from aggregator.words import fold, tokens


def feed_text(entry: ParsedEntry) -> str:
    """The entry's own text: its content, or its summary when that is longer."""
    return entry.content if len(entry.content) >= len(entry.summary) else entry.summary


def prepared(doc: ClusterDoc, title_weight: float) -> Prepared:
    words = tokens(fold(doc.text or ""))  # folded and split once, for both
    return Prepared(features_of(doc, title_weight, words), shingles_of(words))


def parse_prepared(
    content: bytes,
    *,
    url: str,
    content_type: str,
    headers: Mapping[str, str] | None,
    source: str,
    title_weight: float | None,
) -> tuple[ParsedFeed, list[Prepared | None]]:
    """parse_feed, and each entry prepared from its headline and feed text as the article
    ``source`` lists would be; ``title_weight`` None: none prepared (a feed read before).
    Run in a worker: everything here is picklable."""
    from aggregator.parse.feed import parse_feed  # feedparser: only where a feed changed

    parsed = parse_feed(content, url=url, content_type=content_type, headers=headers)
    if title_weight is None:
        return parsed, [None] * len(parsed.entries)
    return parsed, [
        prepared(ClusterDoc("", entry_title(e), feed_text(e), None, source), title_weight)
        for e in parsed.entries
    ]
