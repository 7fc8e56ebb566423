"""Accent folding: the translate table gives what the character-by-character reading gave."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from aggregator.words import fold, tokens


def folded_by_hand(text: str) -> str:
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def test_accents_go_and_letters_of_other_scripts_stay() -> None:
    assert fold("Zürich") == "zurich"
    assert fold("São Paulo’s “Œuvre”") == "sao paulo’s “œuvre”"
    assert fold("Straße") == "strasse"
    assert fold("Ελλάδα Москва́ 東京") == "ελλαδα москва 東京"
    assert fold("…") == "..."  # compatibility forms are decomposed too
    assert tokens(fold("Ça va, Ångström?")) == ["ca", "va", "angstrom"]


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60))
def test_fold_is_the_character_by_character_reading(text: str) -> None:
    assert fold(text) == folded_by_hand(text)
