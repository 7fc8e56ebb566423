"""A poll starts at most IN_FLIGHT feeds at a time, in turns over their hosts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

import aggregator.pipeline as pipeline_module
from aggregator.config.model import FeedConfig
from aggregator.pipeline.decide import host_turns
from tests.support.mock_pipeline import mock_pipeline


def feeds(*urls: str) -> list[FeedConfig]:
    return [FeedConfig(url=url) for url in urls]


def test_host_turns_take_each_host_once_per_round_in_the_files_order() -> None:
    listed = feeds(
        "https://a.test/1",
        "https://a.test/2",
        "https://a.test/3",
        "https://b.test/1",
        "https://c.test/1",
        "https://b.test/2",
    )
    order = [listed[i].url for i in host_turns(listed)]
    assert order == [
        "https://a.test/1",
        "https://b.test/1",
        "https://c.test/1",
        "https://a.test/2",
        "https://b.test/2",
        "https://a.test/3",
    ]
    assert host_turns([]) == []


def test_a_poll_never_runs_more_than_in_flight_feeds_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline_module, "IN_FLIGHT", 3)
    running, most, requested = 0, 0, []

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal running, most
        running += 1
        most = max(most, running)
        requested.append(str(request.url))
        for _ in range(5):  # the others get turns meanwhile
            await asyncio.sleep(0)
        running -= 1
        return httpx.Response(304)

    # 12 feeds of one outlet listed first, then one feed each of three others
    urls = [f"http://big.test/{n}.xml" for n in range(12)]
    urls += [f"http://{name}.test/feed.xml" for name in ("one", "two", "three")]

    async def run() -> pipeline_module.PollReport:
        async with mock_pipeline(tmp_path, handler) as pipeline:
            return await pipeline.poll(feeds(*urls))

    report = asyncio.run(run())
    assert report.not_modified == len(urls)
    assert most == 3
    assert sorted(requested) == sorted(urls)
    # the small outlets were not left behind the big one's twelve
    assert set(requested[:4]) == {urls[0], *urls[12:]}
