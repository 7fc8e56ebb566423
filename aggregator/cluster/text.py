"""Text -> terms for clustering: tokens, light stemming, stopwords, names and figures.

Pure functions with no state. Terms are plain strings. ``names`` finds the terms written
as names in running text (capitalised, not at the start of a sentence), so the clusterer
can weigh "who and where" above "what kind of event".
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from importlib import resources

from aggregator.words import TOKEN, fold, tokens

# Words that say nothing about which event an article reports: English function words and
# the reporting vocabulary every news article uses (one per line in stopwords.txt).
STOPWORDS = frozenset(
    line.strip()
    for line in (resources.files("aggregator.cluster") / "stopwords.txt")
    .read_text(encoding="utf-8")
    .splitlines()
    if line.strip() and not line.startswith("#")
)

_SENTENCE_BREAK = re.compile(r"[.!?:;\"“”‘(\[—–\n]")


@lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """A light suffix stripper (plural and common verb endings); stable on its own output."""
    if word.endswith(("'s", "’s")):
        word = word[:-2]
    if len(word) <= 3 or word[-1].isdigit():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("sses"):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            base = word[: -len(suffix)]
            if base[-1] == base[-2] and base[-1] not in "lsz":  # stopped -> stop
                base = base[:-1]
            return base
    return word


@lru_cache(maxsize=1 << 16)
def term_of(folded: str) -> str | None:
    """A folded token -> its term, or None for stopwords and noise."""
    if folded in STOPWORDS:
        return None
    if folded[0].isdigit():
        # figures identify events ("magnitude 6.1", "$3.5 million"); bare years are weaker
        # but still kept, the IDF decides
        return folded.replace(",", "")
    if len(folded) < 2:
        return None
    stemmed = stem(folded)
    # "reporting" is as empty as "reports"
    return None if stemmed in STOPWORDS else stemmed


def terms(text: str) -> list[str]:
    """Content terms of a text, in order, repeats kept."""
    return terms_of(tokens(fold(text)))


def terms_of(folded_tokens: list[str]) -> list[str]:
    """``terms`` of a text whose ``tokens(fold(text))`` the caller has already."""
    out = []
    for token in folded_tokens:
        term = term_of(token)
        if term is not None:
            out.append(term)
    return out


def names(text: str) -> Counter[str]:
    """Terms of capitalised words met inside sentences of running text (people, places).

    Headlines are often written in Title Case, so callers only pass body text here.
    """
    found: Counter[str] = Counter()
    # the first word of a line, sentence or quote is capitalised whatever it is: skip it
    for segment in _SENTENCE_BREAK.split(text):
        capitalised = [t for t in TOKEN.findall(segment)[1:] if t[0].isupper()]
        for token in capitalised:
            term = term_of(fold(token))
            if term is not None and not term[0].isdigit():
                found[term] += 1
    return found
