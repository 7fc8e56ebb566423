"""Politeness: a global cap on requests in flight, a per-host cap, and spacing between the
starts of requests to one host."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

_SWEEP_AT = 1024  # hosts remembered before idle ones are swept


@dataclass
class _Host:
    slots: asyncio.Semaphore
    start_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    next_start: float = 0.0  # clock time before which no new request may start
    users: int = 0  # tasks holding or waiting for this entry; 0 means it can be forgotten


class HostSlots:
    def __init__(
        self,
        concurrency: int,
        per_host: int,
        host_delay: float,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._global = asyncio.Semaphore(concurrency)
        self._per_host = per_host
        self._delay = host_delay
        self._clock = clock
        self._hosts: dict[str, _Host] = {}

    def _now(self) -> float:
        return self._clock() if self._clock else asyncio.get_running_loop().time()

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        """Hold one request slot for `host` (waiting for the spacing) while the body runs."""
        entry = self._hosts.get(host)
        if entry is None:
            if len(self._hosts) >= _SWEEP_AT:
                self._forget_idle()
            entry = self._hosts[host] = _Host(asyncio.Semaphore(self._per_host))
        entry.users += 1
        try:
            # host first, then the spacing, then global: a task never holds a global slot
            # while it queues behind a busy or slow-paced host, so one host cannot starve
            # the others
            async with entry.slots:
                await self._wait_turn(entry)
                async with self._global:
                    yield
        finally:
            entry.users -= 1
            if entry.users == 0 and entry.next_start <= self._now():
                del self._hosts[host]

    def _forget_idle(self) -> None:
        """Drop hosts nobody uses whose spacing has run out, so that a long-running daemon
        does not keep one entry per host it ever saw."""
        now = self._now()
        for host in [h for h, e in self._hosts.items() if e.users == 0 and e.next_start <= now]:
            del self._hosts[host]

    async def _wait_turn(self, entry: _Host) -> None:
        if self._delay <= 0:
            return
        async with entry.start_lock:
            wait = entry.next_start - self._now()
            if wait > 0:
                await asyncio.sleep(wait)
            entry.next_start = self._now() + self._delay
