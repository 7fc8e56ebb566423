"""Boilerplate learnt per site: short paragraphs that one host prints on several of its pages.

The extractors see one page at a time, so a site's own furniture inside the article region
passes for text: "Related Articles:", a newsletter pitch, "Like us on Facebook", a content
warning, a standing author bio. The pipeline extracts many pages of each host, so the
Extractor (in the parent process, body.py) keeps a memory per host of the short paragraphs
its pages held, and trims a new page's body of such paragraphs at its start and end.

Only the edges are trimmed and only short paragraphs count, so an article that one host
publishes twice (at two addresses, or updated) keeps its text; a paragraph is furniture only
when another address of the host printed it too (a page fetched again does not teach the
memory about itself); and a trim that would leave less than a body keeps the page as it was.
The memory is bounded (hosts and paragraphs, least recently seen go first) and lives as long
as the Extractor: one daemon run.
"""

from __future__ import annotations

from collections import OrderedDict
from urllib.parse import urlsplit

from aggregator.extract.text import MIN_BODY_WORDS, word_count

# Paragraphs longer than this are article, never learnt furniture (same bound as the
# boilerplate lines of text.py).
MAX_FURNITURE_WORDS = 30
MAX_SITES = 1000
MAX_PARAGRAPHS_PER_SITE = 2000


class SiteMemory:
    """Per host: the short paragraphs seen, each with the (at most two) page addresses it was
    seen on."""

    def __init__(
        self, *, max_sites: int = MAX_SITES, max_paragraphs: int = MAX_PARAGRAPHS_PER_SITE
    ) -> None:
        self._sites: OrderedDict[str, OrderedDict[str, tuple[str, ...]]] = OrderedDict()
        self._max_sites = max_sites
        self._max_paragraphs = max_paragraphs

    def clean(self, url: str, text: str) -> str:
        """text without the edge paragraphs that other pages of url's host also printed;
        then remembers this page's short paragraphs."""
        host = (urlsplit(url).hostname or "").lower()
        if not host or not text:
            return text
        page = urlsplit(url)._replace(fragment="").geturl()
        seen = self._site(host)
        paragraphs = text.split("\n")

        def furniture(paragraph: str) -> bool:
            where = seen.get(paragraph, ())
            return any(other != page for other in where)

        start, end = 0, len(paragraphs)
        while start < end and furniture(paragraphs[start]):
            start += 1
        while end > start and furniture(paragraphs[end - 1]):
            end -= 1
        kept = paragraphs[start:end]
        self._remember(seen, page, paragraphs)
        if len(kept) == len(paragraphs) or sum(map(word_count, kept)) < MIN_BODY_WORDS:
            return text
        return "\n".join(kept)

    def _site(self, host: str) -> OrderedDict[str, tuple[str, ...]]:
        seen = self._sites.pop(host, None)
        if seen is None:
            seen = OrderedDict()
            while len(self._sites) >= self._max_sites:
                self._sites.popitem(last=False)
        self._sites[host] = seen
        return seen

    def _remember(
        self, seen: OrderedDict[str, tuple[str, ...]], page: str, paragraphs: list[str]
    ) -> None:
        for paragraph in paragraphs:
            if word_count(paragraph) > MAX_FURNITURE_WORDS:
                continue
            where = seen.pop(paragraph, ())
            seen[paragraph] = where if page in where else (*where, page)[-2:]
            while len(seen) > self._max_paragraphs:
                seen.popitem(last=False)
