"""When to poll a feed next: a pure decision from what the feed and the server said.

- A feed that failed backs off exponentially with jitter (reset by the first success), and
  never returns before the server's Retry-After.
- A feed that is gone (410) or has failed for a long time is polled at the slowest rate.
- A healthy feed is polled about twice per observed change interval (so a feed that changes
  hourly is not polled every 5 minutes, and one that changes every 5 minutes is not left for
  an hour), never faster than it asks (RSS ttl, sy:updatePeriod, Cache-Control max-age), and
  always within the operator's bounds [min_interval, max_interval].
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import timedelta

from aggregator.fetch.limits import backoff_delay

# After this many consecutive failures a feed counts as dead and is polled rarely.
DEAD_AFTER_ERRORS = 20
# Weight of the newest observation in the moving average of the change interval.
CHANGE_EWMA_WEIGHT = 0.3


@dataclass(frozen=True)
class PollFacts:
    interval: timedelta  # the operator's interval for this feed
    min_interval: timedelta
    max_interval: timedelta
    failed: bool = False
    error_count: int = 0
    retry_after: float | None = None  # seconds, from a 429/503
    gone: bool = False  # 410 Gone
    declared_seconds: float | None = None  # ttl / updatePeriod / max-age: the feed's own wish
    change_interval: float | None = None  # seconds, moving average between observed changes


def next_delay(facts: PollFacts, rng: random.Random | None = None) -> timedelta:
    rng = rng or random.Random()
    low = facts.min_interval.total_seconds()
    high = max(low, facts.max_interval.total_seconds())
    base = facts.interval.total_seconds()
    if facts.gone or facts.error_count >= DEAD_AFTER_ERRORS:
        return timedelta(seconds=high)
    if facts.failed:
        delay = max(base, backoff_delay(facts.error_count, base, high, rng))
        if facts.retry_after is not None:
            delay = max(delay, facts.retry_after)
        return timedelta(seconds=min(delay, max(high, facts.retry_after or 0.0)))
    target = base
    if facts.change_interval is not None:
        target = facts.change_interval / 2
    if facts.declared_seconds is not None:
        target = max(target, facts.declared_seconds)
    return timedelta(seconds=min(max(target, low), high))


def updated_change_interval(previous: float | None, observed: float) -> float:
    """Moving average of the time between changes of a feed."""
    if previous is None:
        return observed
    return (1 - CHANGE_EWMA_WEIGHT) * previous + CHANGE_EWMA_WEIGHT * observed


_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-)?max-age\s*=\s*(\d+)", re.IGNORECASE)


def max_age_seconds(cache_control: str | None) -> float | None:
    """Cache-Control max-age in seconds (no-store / no-cache mean no wish)."""
    if not cache_control:
        return None
    match = _MAX_AGE.search(cache_control)
    return float(match.group(1)) if match else None
