"""Text -> terms for clustering: tokens, light stemming, stopwords, names and figures.

Pure functions with no state. Terms are plain strings. ``names`` finds the terms written
as names in running text (capitalised, not at the start of a sentence), so the clusterer
can weigh "who and where" above "what kind of event".
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

from aggregator.words import TOKEN, fold, tokens

# Words that say nothing about which event an article reports: English function words and
# the reporting vocabulary every news article uses.
STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "ago",
        "all",
        "almost",
        "also",
        "although",
        "always",
        "am",
        "among",
        "an",
        "and",
        "another",
        "any",
        "anyone",
        "anything",
        "are",
        "around",
        "as",
        "at",
        "away",
        "back",
        "be",
        "became",
        "because",
        "become",
        "becomes",
        "been",
        "before",
        "being",
        "below",
        "best",
        "between",
        "both",
        "but",
        "by",
        "can",
        "cannot",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "done",
        "down",
        "during",
        "each",
        "either",
        "else",
        "even",
        "ever",
        "every",
        "few",
        "first",
        "for",
        "from",
        "further",
        "get",
        "gets",
        "getting",
        "got",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "however",
        "i",
        "if",
        "in",
        "including",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "last",
        "least",
        "less",
        "like",
        "made",
        "make",
        "makes",
        "many",
        "may",
        "me",
        "might",
        "more",
        "most",
        "much",
        "must",
        "my",
        "myself",
        "near",
        "nearly",
        "never",
        "new",
        "next",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "often",
        "on",
        "once",
        "one",
        "only",
        "or",
        "other",
        "others",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "per",
        "perhaps",
        "put",
        "rather",
        "really",
        "said",
        "same",
        "say",
        "saying",
        "says",
        "second",
        "see",
        "seen",
        "several",
        "she",
        "should",
        "since",
        "so",
        "some",
        "still",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "third",
        "this",
        "those",
        "though",
        "three",
        "through",
        "thus",
        "time",
        "times",
        "to",
        "today",
        "told",
        "too",
        "toward",
        "two",
        "under",
        "until",
        "up",
        "upon",
        "us",
        "use",
        "used",
        "very",
        "via",
        "want",
        "was",
        "way",
        "we",
        "week",
        "well",
        "were",
        "what",
        "when",
        "where",
        "whether",
        "which",
        "while",
        "who",
        "whom",
        "whose",
        "why",
        "will",
        "with",
        "within",
        "without",
        "would",
        "yet",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "according",
        "added",
        "adds",
        "ahead",
        "already",
        "amid",
        "annual",
        "another",
        "asked",
        "ask",
        "asks",
        "became",
        "big",
        "came",
        "come",
        "comes",
        "day",
        "days",
        "despite",
        "early",
        "expected",
        "far",
        "find",
        "found",
        "going",
        "good",
        "great",
        "high",
        "know",
        "known",
        "large",
        "late",
        "later",
        "latest",
        "long",
        "look",
        "looks",
        "lot",
        "major",
        "man",
        "men",
        "month",
        "months",
        "news",
        "night",
        "part",
        "people",
        "place",
        "point",
        "possible",
        "recent",
        "recently",
        "report",
        "reported",
        "reports",
        "set",
        "show",
        "shows",
        "side",
        "small",
        "statement",
        "take",
        "taken",
        "takes",
        "tell",
        "tells",
        "thing",
        "things",
        "think",
        "top",
        "tuesday",
        "monday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "year",
        "years",
        "yesterday",
        "tonight",
        "morning",
        "evening",
        "week's",
        "update",
        "updated",
        "via",
        "www",
        "com",
        "http",
        "https",
        "html",
        # dates, times and bylines: every article has them, whatever event it reports
        # ("march" and "mar" stay: a march is an event, "Mar" is in place names)
        "january",
        "february",
        "april",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "jan",
        "feb",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "tue",
        "wed",
        "thu",
        "fri",
        "gmt",
        "utc",
        "bst",
        "cet",
        "cest",
        "est",
        "edt",
        "pst",
        "pdt",
        "pm",
        "byline",
        "correspondent",
        "correspondents",
        "editing",
        "edited",
        "reporting",
        "staff",
        "copyright",
        "reserved",
        "rights",
    ]
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
    out = []
    for token in tokens(fold(text)):
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
