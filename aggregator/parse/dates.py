"""Feed dates -> timezone-aware UTC datetimes; anything unusable becomes None."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from feedparser.datetimes import _parse_date as _feedparser_parse_date

# feedparser rolls impossible ISO dates over ("2024-13-45" -> 2025-01-14); we refuse them.
_ISO_DATE = re.compile(r"\d{4}-(\d{2})-(\d{2})")


def from_struct(value: time.struct_time | None) -> datetime | None:
    """feedparser's ``*_parsed`` values are UTC struct_times."""
    if value is None:
        return None
    try:
        # leap seconds (60, 61) are valid in struct_time but not in datetime
        return datetime(*value[:5], min(value.tm_sec, 59), tzinfo=UTC)
    except (ValueError, TypeError, OverflowError):
        return None


def parse_date(value: object) -> datetime | None:
    """RFC 3339 (JSON Feed) first, then every format feedparser knows (RFC 822, W3CDTF, ...)."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        iso = _ISO_DATE.match(text)
        if iso and not (1 <= int(iso.group(1)) <= 12 and 1 <= int(iso.group(2)) <= 31):
            return None
        return from_struct(_feedparser_parse_date(text)) or parse_odd_date(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # RFC 3339 requires an offset; UTC is the guess
    return parsed.astimezone(UTC)


# Month and weekday names of feeds that localise RFC 822 dates (pt, es, fr, de, it, nl).
_MONTHS = {
    "jan": ("janeiro", "enero", "janvier", "januar", "gennaio", "januari", "ene", "gen", "janv"),
    "feb": (
        "fevereiro",
        "febrero",
        "février",
        "februar",
        "febbraio",
        "februari",
        "fev",
        "fév",
        "févr",
        "feb",
    ),
    "mar": ("março", "marzo", "mars", "märz", "maart", "mär", "mrt"),
    "apr": ("abril", "avril", "aprile", "abr", "avr"),
    "may": ("maio", "mayo", "mai", "maggio", "mei", "mag"),
    "jun": ("junho", "junio", "juin", "juni", "giugno", "giu"),
    "jul": ("julho", "julio", "juillet", "juli", "luglio", "juil", "lug"),
    "aug": ("agosto", "août", "augustus", "ago", "aoû", "aou"),
    "sep": ("setembro", "septiembre", "septembre", "settembre", "set", "sept"),
    "oct": ("outubro", "octubre", "octobre", "oktober", "ottobre", "out", "okt", "ott"),
    "nov": ("novembro", "noviembre", "novembre", "november"),
    "dec": (
        "dezembro",
        "diciembre",
        "décembre",
        "dezember",
        "dicembre",
        "december",
        "dez",
        "dic",
        "déc",
    ),
}
_MONTH_WORD = {alias: english for english, aliases in _MONTHS.items() for alias in aliases}
_WORD = re.compile(r"[^\W\d_]+\.?")
_LEADING_WEEKDAY = re.compile(r"^[^\W\d_]+\.?,?\s+(?=\d)")
_DOTTED = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_ENGLISH_FORMATS = ("%A, %B %d, %Y %I:%M %p", "%B %d, %Y %I:%M %p", "%B %d, %Y %H:%M", "%B %d, %Y")


def parse_odd_date(text: str) -> datetime | None:
    """Dates feedparser gives up on: localised month names, "22.11.2022 12:16", US style.

    Without a zone they are taken as UTC: a few hours off beats no date for ordering.
    """
    dotted = _DOTTED.match(text)
    if dotted:
        day, month, year, hour, minute, second = (int(g or 0) for g in dotted.groups())
        try:
            return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except ValueError:
            return None
    for pattern in _ENGLISH_FORMATS:
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    english = _LEADING_WEEKDAY.sub("", text)
    english = _WORD.sub(
        lambda m: _MONTH_WORD.get(m.group(0).rstrip(".").lower(), m.group(0)), english
    )
    if english == text:
        return None
    return from_struct(_feedparser_parse_date(english))
