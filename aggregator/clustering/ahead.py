"""Per-article work done ahead of time, while the poll is still waiting for pages.

Placing articles is sequential (each placement changes the stories the next one meets), but
part of the work for one article depends on its own text only: its terms, its names, its
shingles. The pipeline asks for that work as soon as an article's text is known, when the
event loop is otherwise waiting for pages and extraction workers; placement then takes the
result instead of computing it in the sequential part of the poll.

A result is taken once, and only for the same inputs; results never taken (the article turned
out to be known already, the poll was cancelled) are dropped oldest first past ``limit``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class Ahead(Generic[T]):
    def __init__(self, compute: Callable[..., T], limit: int = 20_000) -> None:
        self._compute = compute
        self._limit = limit
        self._done: dict[str, tuple[tuple[Hashable, ...], T]] = {}

    def prepare(self, key: str, *inputs: Hashable) -> None:
        """Compute now and keep the result for ``take``."""
        if len(self._done) >= self._limit:
            del self._done[next(iter(self._done))]
        self._done[key] = (inputs, self._compute(*inputs))

    def take(self, key: str, *inputs: Hashable) -> T:
        """The prepared result for these inputs, or computed now."""
        kept = self._done.pop(key, None)
        if kept is not None and kept[0] == inputs:
            return kept[1]
        return self._compute(*inputs)

    def __len__(self) -> int:
        return len(self._done)
