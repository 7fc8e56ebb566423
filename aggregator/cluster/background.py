"""How common each term is in English at large: the prior that the stream's IDF starts from.

A stream that has seen ten articles cannot tell from its own counts that "rate" or "bank" is an
ordinary word and "Macklem" or "krone" is not: every word met once looks rare. The clusterer
therefore starts from a virtual corpus whose document frequencies are those of English
(``DocumentFrequencies`` in ``vectors``), and the stream's own counts take over as it grows.

The table ``english_terms.txt`` beside this module holds the terms (as ``text.terms`` makes
them: folded, stemmed, stopwords left out) of the English words with a Zipf frequency of at
least 3 (once per million words), grouped by that frequency rounded to 0.1. It was derived at
development time from wordfreq 3.1 (Robyn Speer; data CC BY-SA 4.0, see the file's header) by

    python -m aggregator.cluster.background aggregator/cluster/english_terms.txt

which needs ``pip install wordfreq``; nothing at run time does.
"""

from __future__ import annotations

import math
import sys
from functools import lru_cache
from importlib import resources
from pathlib import Path

from aggregator.cluster import text as textmod

TABLE = "english_terms.txt"
# Words below this Zipf frequency are left out of the table: they count as rare.
MIN_ZIPF = 3.0
# Zipf frequency assumed for a word that is not in the table (a little below the cut).
UNLISTED_ZIPF = 2.5
# Words per document assumed when a word frequency is turned into a document frequency.
# Real articles are longer (~500 words), but words come in bursts (a word used once in an
# article is often used again), so fewer documents hold a word than independence predicts.
WORDS_PER_DOC = 200.0

HEADER = """\
# English term frequencies for the clusterer's IDF prior (aggregator/cluster/background.py).
# Each line: Zipf frequency x 10 (log10 of occurrences per billion words), then the terms.
# Derived from wordfreq 3.1 by Robyn Speer, https://github.com/rspeer/wordfreq,
# doi:10.5281/zenodo.7199437. Licence of this file: CC BY-SA 4.0
# (https://creativecommons.org/licenses/by-sa/4.0/), as wordfreq's data. wordfreq's data
# includes data from Google Books Ngrams (http://books.google.com/ngrams), Wikipedia,
# the Leeds Internet Corpus, ParaCrawl, OPUS OpenSubtitles 2018 (opensubtitles.org),
# SUBTLEX-US and SUBTLEX-UK by Marc Brysbaert et al. (freely available data,
# http://crr.ugent.be/programs-data/subtitle-frequencies), Twitter and NewsCrawl.
"""


def document_probability(zipf: float) -> float:
    """Chance that an article holds a word of this Zipf frequency at least once."""
    per_word = 10.0 ** (zipf - 9.0)
    return 1.0 - math.exp(-per_word * WORDS_PER_DOC)


@lru_cache(maxsize=1)
def english() -> dict[str, float]:
    """Term -> document probability in English news, for the terms of the bundled table."""
    text = (resources.files("aggregator.cluster") / TABLE).read_text(encoding="utf-8")
    return parse_table(text)


def parse_table(text: str) -> dict[str, float]:
    table: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        zipf10, *terms = line.split()
        probability = document_probability(int(zipf10) / 10)
        for term in terms:
            table[term] = probability
    return table


def unlisted_probability() -> float:
    return document_probability(UNLISTED_ZIPF)


def build_table(frequencies: dict[str, float]) -> str:
    """word -> frequency (as ``wordfreq.get_frequency_dict``) -> the text of the table."""
    per_term: dict[str, float] = {}
    for word, frequency in frequencies.items():
        tokens = textmod.tokens(textmod.fold(word))
        if len(tokens) != 1:
            continue
        term = textmod.term_of(tokens[0])
        # figures get their prior from their shape (vectors.DocumentFrequencies), not here
        if term is not None and not term[0].isdigit():
            per_term[term] = per_term.get(term, 0.0) + frequency
    buckets: dict[int, list[str]] = {}
    for term, frequency in per_term.items():
        zipf = math.log10(frequency * 1e9)
        if zipf >= MIN_ZIPF:
            buckets.setdefault(round(zipf * 10), []).append(term)
    lines = [f"{z} {' '.join(sorted(buckets[z]))}" for z in sorted(buckets, reverse=True)]
    return HEADER + "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    import wordfreq  # development-time only; see the module docstring

    out = Path(argv[0]) if argv else Path(__file__).with_name(TABLE)
    out.write_text(build_table(wordfreq.get_frequency_dict("en", "large")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
