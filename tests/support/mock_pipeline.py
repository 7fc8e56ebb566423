"""A pipeline whose fetcher is answered by a function (httpx.MockTransport): a SQLite store in
a test's directory, no extraction workers (feeds are parsed in a thread), no politeness."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx

from aggregator.cluster.clusterer import Clusterer
from aggregator.fetch.fetcher import Fetcher, FetchLimits
from aggregator.identity.near import NearDuplicates
from aggregator.pipeline import Pipeline
from aggregator.store.engine import location
from aggregator.store.sql import SqlStore

Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]


@contextlib.asynccontextmanager
async def mock_pipeline(directory: Path, handler: Handler) -> AsyncIterator[Pipeline]:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    store = SqlStore(location(directory))
    pipeline = Pipeline(
        store,
        Fetcher(client, FetchLimits(host_delay=0, per_host=8)),
        None,
        Clusterer(),
        NearDuplicates(),
    )
    try:
        yield pipeline
    finally:
        await client.aclose()
        store.close()
