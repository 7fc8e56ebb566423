"""Logging readers in: the password check and a limiter on repeated failures.

    limiter = LoginLimiter()                       # one per app (kept in memory)
    user = log_in(store, limiter, name, password, address)   # Account, or LoginRefused

Failed logins are counted per account name and per client address. Past a few free tries
each further try must wait, twice as long after every failure (up to a quarter of an hour),
so guessing passwords is slow for one account from many addresses and for many accounts from
one address. A refused try is answered before any password is checked, so flooding costs
the server no argon2 work. Counts are in memory: a restart forgets them, which is fine for
a limiter whose job is to slow guessing down, not to lock accounts.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from aggregator.store import Account


class PasswordChecker(Protocol):
    def check_password(self, name: str, password: str) -> Account | None: ...


class LoginRefused(Exception):
    """A login that did not succeed: wrong credentials, or too many recent failures."""

    def __init__(self, message: str, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after  # seconds; 0 for wrong credentials


@dataclass
class _Failures:
    count: int
    last: float


class LoginLimiter:
    """Failures per account and per address, each key slowed down on its own."""

    def __init__(
        self,
        *,
        free_per_account: int = 5,
        free_per_address: int = 20,
        first_delay: float = 1.0,
        max_delay: float = 900.0,
        forget_after: float = 3600.0,
        max_keys: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free = {"account": free_per_account, "address": free_per_address}
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.forget_after = forget_after
        self.max_keys = max_keys
        self.clock = clock
        self._failures: OrderedDict[tuple[str, str], _Failures] = OrderedDict()
        self._lock = threading.Lock()

    def _keys(self, name: str, address: str) -> list[tuple[str, str]]:
        return [("account", name.strip().casefold()), ("address", address)]

    def retry_after(self, name: str, address: str) -> float:
        """Seconds before this name or address may try again (0: now)."""
        now = self.clock()
        wait = 0.0
        with self._lock:
            for key in self._keys(name, address):
                seen = self._failures.get(key)
                if seen is None:
                    continue
                if now - seen.last > self.forget_after:
                    del self._failures[key]
                    continue
                over = seen.count - self.free[key[0]]
                if over >= 0:
                    delay = min(self.first_delay * 2**over, self.max_delay)
                    wait = max(wait, seen.last + delay - now)
        return max(wait, 0.0)

    def failed(self, name: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            for key in self._keys(name, address):
                seen = self._failures.pop(key, None) or _Failures(0, now)
                seen.count += 1
                seen.last = now
                self._failures[key] = seen  # most recent last
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)

    def succeeded(self, name: str, address: str) -> None:
        """The account's count starts again; the address keeps its (other names' guesses)."""
        with self._lock:
            self._failures.pop(self._keys(name, address)[0], None)


def log_in(
    store: PasswordChecker, limiter: LoginLimiter, name: str, password: str, address: str
) -> Account:
    """The account whose name and password these are; LoginRefused otherwise."""
    wait = limiter.retry_after(name, address)
    if wait > 0:
        raise LoginRefused("too many failed logins; try again later", retry_after=wait)
    user = store.check_password(name, password) if name and password else None
    if user is None:
        limiter.failed(name, address)
        raise LoginRefused("wrong user name or password")
    limiter.succeeded(name, address)
    return user
