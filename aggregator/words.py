"""Words: accent folding and tokenising, shared by identity (near duplicates) and cluster.

Pure functions, no state; imports nothing of the project.
"""

from __future__ import annotations

import re
import unicodedata

TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+(?:['’][^\W\d_]+)*", re.UNICODE)


def fold(text: str) -> str:
    """Lower-case and strip accents, so "Zürich" and "Zurich" meet."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def tokens(text: str) -> list[str]:
    """Raw word and number tokens, case kept."""
    return TOKEN.findall(text)
