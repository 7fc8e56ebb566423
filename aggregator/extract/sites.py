"""Boilerplate learnt per site: short paragraphs that one host prints on several of its pages.

The extractors see one page at a time, so a site's own furniture inside the article region
passes for text: "Related Articles:", a newsletter pitch, "Like us on Facebook", a content
warning, a standing author bio. The pipeline extracts many pages of each host, so the
Extractor (in the parent process, body.py) keeps a memory per host of the paragraphs
its pages held, and trims a new page's body of such paragraphs at its start and end.

A paragraph is furniture only when another address of the host printed it too (a page
fetched again does not teach the memory about itself). Only short paragraphs at the edges
are trimmed, and nothing is when much of the page was printed elsewhere on the site: that
page is a copy (the wire story two sections both carry, an article at a second address),
and news paragraphs are often short. A trim that would leave less than a body keeps the
page as it was.
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
# A page whose words are this much in paragraphs seen on other pages of the host is a copy.
COPY_SHARE = 0.5
MAX_SITES = 300
MAX_PARAGRAPHS_PER_SITE = 600


class SiteMemory:
    """Per host: the paragraphs seen, each with the (at most two) page addresses it was seen
    on."""

    def __init__(
        self, *, max_sites: int = MAX_SITES, max_paragraphs: int = MAX_PARAGRAPHS_PER_SITE
    ) -> None:
        # host -> hash(paragraph) -> hashes of the (at most two) addresses it was seen on;
        # hashes, not text, keep the memory small (a few MB at the bounds)
        self._sites: OrderedDict[str, OrderedDict[int, tuple[int, ...]]] = OrderedDict()
        self._max_sites = max_sites
        self._max_paragraphs = max_paragraphs

    def clean(self, url: str, text: str) -> str:
        """text without the short edge paragraphs that other pages of url's host also
        printed; then remembers this page's paragraphs."""
        host = (urlsplit(url).hostname or "").lower()
        if not host or not text:
            return text
        page = hash(urlsplit(url)._replace(fragment="").geturl())
        seen = self._site(host)
        paragraphs = text.split("\n")
        keys = [hash(paragraph) for paragraph in paragraphs]
        words = [word_count(paragraph) for paragraph in paragraphs]
        repeated = [any(other != page for other in seen.get(key, ())) for key in keys]
        self._remember(seen, page, keys)
        if sum(n for n, again in zip(words, repeated, strict=True) if again) > COPY_SHARE * sum(
            words
        ):
            return text  # a copy of another page of the site, not a page with furniture
        start, end = 0, len(paragraphs)
        while start < end and repeated[start] and words[start] <= MAX_FURNITURE_WORDS:
            start += 1
        while end > start and repeated[end - 1] and words[end - 1] <= MAX_FURNITURE_WORDS:
            end -= 1
        if (start, end) == (0, len(paragraphs)) or sum(words[start:end]) < MIN_BODY_WORDS:
            return text
        return "\n".join(paragraphs[start:end])

    def _site(self, host: str) -> OrderedDict[int, tuple[int, ...]]:
        seen = self._sites.pop(host, None)
        if seen is None:
            seen = OrderedDict()
            while len(self._sites) >= self._max_sites:
                self._sites.popitem(last=False)
        self._sites[host] = seen
        return seen

    def _remember(
        self, seen: OrderedDict[int, tuple[int, ...]], page: int, keys: list[int]
    ) -> None:
        for key in keys:
            where = seen.pop(key, ())
            seen[key] = where if page in where else (*where, page)[-2:]
            while len(seen) > self._max_paragraphs:
                seen.popitem(last=False)
