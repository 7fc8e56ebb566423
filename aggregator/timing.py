"""Per-stage timing of one poll: how many calls each stage had and how long they took.

The pipeline opens one StageTimer per poll and hands it down to the stages it runs, so that
concurrent polls (the daemon polls feeds one job at a time, in parallel) never mix their
figures. The result lands on PollReport.stages; bench/bench.py reads it, and it is cheap
enough (two clock reads per call) to stay on in production.

Stages that await (fetches, extraction) overlap one another, so their seconds add up the
latency of every call, waiting for a connection or a worker included, and can exceed the
wall time of the poll. Stages that run on the event loop without awaiting (dedupe, cluster,
store) do not overlap: their seconds are time the loop spent on them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class StageStat:
    calls: int = 0
    seconds: float = 0.0

    @property
    def mean_ms(self) -> float:
        return 1000 * self.seconds / self.calls if self.calls else 0.0


class StageTimer:
    """Accumulates (calls, seconds) per stage name."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self.stages: dict[str, StageStat] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = self._clock()
        try:
            yield
        finally:
            self.add(name, self._clock() - started)

    def add(self, name: str, seconds: float, calls: int = 1) -> None:
        stat = self.stages.get(name)
        if stat is None:
            stat = self.stages[name] = StageStat()
        stat.calls += calls
        stat.seconds += seconds

    def merge(self, other: StageTimer) -> None:
        for name, stat in other.stages.items():
            self.add(name, stat.seconds, stat.calls)
