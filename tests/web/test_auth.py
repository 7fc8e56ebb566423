"""The login check and its limiter, on an injected clock (no sleeping, no timing)."""

from __future__ import annotations

import pytest

from aggregator.store.sqlite import SqliteStore
from aggregator.web.auth import LoginLimiter, LoginRefused, log_in


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingStore:
    """Counts password checks: a refused login must not cost one."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        self.checks = 0

    def check_password(self, name, password):
        self.checks += 1
        return self.store.check_password(name, password)


@pytest.fixture
def store(tmp_path):
    with SqliteStore(tmp_path) as s:
        s.add_user("alice", "right")
        yield CountingStore(s)


def test_right_and_wrong_passwords(store):
    limiter = LoginLimiter(clock=Clock())
    assert log_in(store, limiter, "alice", "right", "10.0.0.1").name == "alice"
    for name, password in (("alice", "wrong"), ("nobody", "right"), ("alice", ""), ("", "x")):
        with pytest.raises(LoginRefused, match="wrong user name or password") as refused:
            log_in(store, limiter, name, password, "10.0.0.1")
        assert refused.value.retry_after == 0


def test_flooding_one_account_is_slowed_down_before_any_check(store):
    clock = Clock()
    limiter = LoginLimiter(free_per_account=3, clock=clock)
    for i in range(3):
        with pytest.raises(LoginRefused, match="wrong"):
            log_in(store, limiter, "alice", f"guess{i}", f"10.0.0.{i}")
    checks = store.checks
    with pytest.raises(LoginRefused, match="too many") as refused:
        log_in(store, limiter, "alice", "right", "10.9.9.9")  # even the right password waits
    assert refused.value.retry_after > 0 and store.checks == checks
    clock.now += refused.value.retry_after
    with pytest.raises(LoginRefused, match="wrong"):
        log_in(store, limiter, "alice", "guess4", "10.0.0.4")
    clock.now += 1.5  # the wait doubled: 2 s now
    with pytest.raises(LoginRefused, match="too many"):
        log_in(store, limiter, "alice", "right", "10.0.0.5")
    clock.now += 1
    assert log_in(store, limiter, "alice", "right", "10.0.0.5").name == "alice"
    assert limiter.retry_after("alice", "10.0.0.6") == 0  # success starts the count again


def test_flooding_from_one_address_is_slowed_down_for_every_name(store):
    clock = Clock()
    limiter = LoginLimiter(free_per_account=100, free_per_address=4, clock=clock)
    for i in range(4):
        with pytest.raises(LoginRefused, match="wrong"):
            log_in(store, limiter, f"user{i}", "x", "10.6.6.6")
    with pytest.raises(LoginRefused, match="too many"):
        log_in(store, limiter, "alice", "right", "10.6.6.6")
    assert log_in(store, limiter, "alice", "right", "10.1.1.1").name == "alice"
    clock.now += 3600 * 2  # old failures are forgotten
    assert log_in(store, limiter, "alice", "right", "10.6.6.6").name == "alice"


def test_the_limiter_keeps_a_bounded_number_of_keys():
    limiter = LoginLimiter(max_keys=10, clock=Clock())
    for i in range(100):
        limiter.failed(f"user{i}", f"10.0.0.{i}")
    assert len(limiter._failures) == 10
