"""Human-written durations ("1h30m") and sizes ("10MB"), as used in feeds.yaml and on the CLI.

Durations are whole units in descending order, each at most once: ``d`` (days), ``h``, ``m``,
``s``; e.g. ``"45s"``, ``"15m"``, ``"1h30m"``, ``"1d"``. A plain integer means seconds.
Sizes are a number with an optional unit: ``B``, decimal ``KB``/``MB``/``GB`` (powers of 1000)
or binary ``KiB``/``MiB``/``GiB`` (powers of 1024); a plain integer means bytes.

Both must be greater than zero. Bad input raises ``ValueError`` with a message fit to show a
user after the key it belongs to.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation

DURATION_HINT = 'expected a duration like "15m"'
SIZE_HINT = 'expected a size like "10MB"'

# Units are lowercase only: "15M" reads as months to some people, so it is refused rather
# than guessed. [0-9] rather than \d: \d also matches non-ASCII digits.
_DURATION_RE = re.compile(
    r"(?:(?P<d>[0-9]+)d)?\s*(?:(?P<h>[0-9]+)h)?\s*(?:(?P<m>[0-9]+)m)?\s*(?:(?P<s>[0-9]+)s)?"
)
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}

_SIZE_RE = re.compile(r"(?P<n>[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>[a-z]*)", re.IGNORECASE)
_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
}


def parse_duration(value: str | int, *, allow_zero: bool = False) -> timedelta:
    """``"1h30m"`` -> ``timedelta(hours=1, minutes=30)``; an int is seconds."""
    seconds = _duration_seconds(value)
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise ValueError("expected a duration greater than zero")
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError("duration is too long") from None


def _duration_seconds(value: str | int) -> int:
    # bool is an int subclass; `interval: true` is a mistake, not one second.
    if isinstance(value, bool):
        raise ValueError(DURATION_HINT)
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        raise ValueError(DURATION_HINT)
    text = value.strip()
    if text.isascii() and text.isdigit():
        text += "s"
    match = _DURATION_RE.fullmatch(text)
    if not text or match is None:
        raise ValueError(DURATION_HINT)
    try:
        return sum(int(n) * _UNIT_SECONDS[unit] for unit, n in match.groupdict().items() if n)
    except ValueError:  # more digits than int() agrees to read
        raise ValueError("duration is too long") from None


def format_duration(value: timedelta) -> str:
    """The shortest string `parse_duration` reads back as `value` (whole seconds)."""
    seconds = int(value.total_seconds())
    if seconds <= 0:
        return "0s"
    parts = []
    for unit, size in _UNIT_SECONDS.items():
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def parse_size(value: str | int) -> int:
    """``"10MB"`` -> ``10_000_000``, ``"1KiB"`` -> ``1024``; an int is bytes."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(SIZE_HINT)
    if isinstance(value, int):
        size = value
    else:
        match = _SIZE_RE.fullmatch(value.strip())
        if match is None or match["unit"].lower() not in _SIZE_UNITS:
            raise ValueError(SIZE_HINT)
        try:
            # Decimal so that "1.1MB" is exactly 1_100_000 bytes.
            size = int(Decimal(match["n"]) * _SIZE_UNITS[match["unit"].lower()])
        except InvalidOperation:
            raise ValueError(SIZE_HINT) from None
    if size <= 0:
        raise ValueError("expected a size greater than zero")
    return size
