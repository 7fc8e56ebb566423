"""Words: accent folding and tokenising, shared by identity (near duplicates) and cluster.

Pure functions, no state; imports nothing of the project.
"""

from __future__ import annotations

import re
import unicodedata

TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+(?:['’][^\W\d_]+)*", re.UNICODE)


class _Marks(dict[int, int | None]):
    """str.translate's table: combining marks (the accents NFKD splits off) map to None, every
    other character to itself; filled as characters are met, so it stays as small as the
    scripts the news is written in."""

    def __missing__(self, code: int) -> int | None:
        kept = None if unicodedata.combining(chr(code)) else code
        self[code] = kept
        return kept


_MARKS = _Marks()


def fold(text: str) -> str:
    """Lower-case and strip accents, so "Zürich" and "Zurich" meet."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    # in C, a lookup per character (a generator over the characters cost a frame switch
    # each: a tenth of a first pass's placement time)
    return decomposed if decomposed.isascii() else decomposed.translate(_MARKS)


def tokens(text: str) -> list[str]:
    """Raw word and number tokens, case kept."""
    return TOKEN.findall(text)
