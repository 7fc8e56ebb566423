"""When to poll next: backoff, Retry-After, gone feeds, adaptive intervals within bounds."""

from __future__ import annotations

import random
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from aggregator.fetch.polling import PollFacts, max_age_seconds, next_delay, updated_change_interval

M = timedelta(minutes=1)
BOUNDS = {"interval": 30 * M, "min_interval": 5 * M, "max_interval": 24 * 60 * M}


def delay(**facts) -> float:
    return next_delay(PollFacts(**{**BOUNDS, **facts}), random.Random(1)).total_seconds()


def test_a_healthy_feed_is_polled_at_its_interval():
    assert delay() == 30 * 60


def test_failures_back_off_exponentially_up_to_the_slowest_rate():
    delays = [delay(failed=True, error_count=n) for n in range(1, 12)]
    assert delays[0] >= 30 * 60
    assert delays[4] > delays[0]
    assert max(delays) <= 24 * 3600


def test_retry_after_is_honoured():
    assert delay(failed=True, error_count=1, retry_after=7200) >= 7200


def test_gone_and_long_dead_feeds_are_polled_rarely():
    assert delay(gone=True) == 24 * 3600
    assert delay(failed=True, error_count=50) == 24 * 3600


def test_adaptive_interval_follows_changes_and_the_feeds_wish_within_bounds():
    assert delay(change_interval=3600) == 1800
    assert delay(change_interval=60) == 5 * 60  # never below min_interval
    assert delay(change_interval=60, declared_seconds=3600) == 3600  # ttl / max-age respected
    assert delay(change_interval=10 * 86400) == 86400  # never above max_interval


@given(
    st.booleans(),
    st.integers(0, 100),
    st.none() | st.floats(0, 1e6),
    st.none() | st.floats(1, 1e7),
    st.none() | st.floats(1, 1e7),
)
def test_delay_is_always_positive_and_bounded(failed, errors, retry_after, declared, change):
    d = delay(
        failed=failed,
        error_count=errors,
        retry_after=retry_after,
        declared_seconds=declared,
        change_interval=change,
    )
    assert 5 * 60 <= d <= max(24 * 3600, retry_after or 0) + 1e-3  # timedelta rounds to µs


def test_change_interval_average_and_max_age():
    assert updated_change_interval(None, 100) == 100
    assert 100 < updated_change_interval(100, 200) < 200
    assert max_age_seconds("public, max-age=600") == 600
    assert max_age_seconds("no-cache") is None


def test_a_quiet_feed_is_estimated_to_change_less_often_than_its_average():
    from datetime import UTC, datetime

    from aggregator.pipeline import change_estimate
    from aggregator.store import FeedState

    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    state = FeedState(url="u", change_interval=600.0, last_changed=t0, last_polled=t0)
    assert change_estimate(state) == 600.0
    quiet = FeedState(
        url="u", change_interval=600.0, last_changed=t0, last_polled=t0 + timedelta(hours=5)
    )
    assert change_estimate(quiet) == 5 * 3600
    assert change_estimate(FeedState(url="u")) is None
