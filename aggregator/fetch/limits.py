"""Fetch limits and the pure timing helpers (Retry-After, backoff)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from aggregator import USER_AGENT

MiB = 1024 * 1024


@dataclass(frozen=True)
class FetchLimits:
    timeout: float = 20.0  # total deadline for one response (headers and whole body), seconds
    connect_timeout: float = 10.0
    max_feed_bytes: int = 10 * MiB
    max_page_bytes: int = 5 * MiB
    max_redirects: int = 5
    concurrency: int = 16  # requests in flight, all hosts together
    per_host: int = 2  # requests in flight to one host
    host_delay: float = 0.0  # seconds between request starts to one host
    user_agent: str = USER_AGENT
    # hosts ("intranet.example", ".corp" for a whole domain) or CIDRs ("10.0.0.0/8") that
    # article links may use even though they are not public
    allow_private: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.timeout <= 0 or self.connect_timeout <= 0:
            raise ValueError("timeouts must be positive")
        if self.max_feed_bytes <= 0 or self.max_page_bytes <= 0:
            raise ValueError("byte limits must be positive")
        if self.max_redirects < 0 or self.host_delay < 0:
            raise ValueError("max_redirects and host_delay must not be negative")
        if self.concurrency < 1 or self.per_host < 1:
            raise ValueError("concurrency and per_host must be at least 1")


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent
    or unreadable. A date in the past gives 0."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; "-0000" parses as naive
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


def backoff_delay(error_count: int, base: float, cap: float, rng: random.Random) -> float:
    """Delay before retrying a feed that failed `error_count` times in a row.

    Exponential (base, 2*base, 4*base, ... up to cap) with "equal jitter": a random point in
    the upper half of the step. Full jitter could draw ~0 and hammer a struggling server;
    the upper half keeps the backoff while still spreading feeds that failed together.
    """
    if error_count <= 0:
        return 0.0
    # the exponent is clamped so that huge error counts cannot overflow a float
    step = min(cap, base * 2.0 ** min(error_count - 1, 60))
    return rng.uniform(step / 2, step)
