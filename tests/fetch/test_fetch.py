"""The fetch stage: pure helpers, logic over MockTransport, and real hostile servers on 127.x.

Async code runs through asyncio.run (no pytest plugin needed). Limits are short so hostile
routes end quickly, but nothing asserts speed.
"""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
import random
import socket
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import brotli
import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator import USER_AGENT
from aggregator.errors import BlockedAddressError, FetchError, TooLargeError
from aggregator.fetch.fetcher import (
    Fetcher,
    FetchLimits,
    RetryLaterError,
    backoff_delay,
    is_public_ip,
    make_client,
    parse_retry_after,
)
from aggregator.fetch.pinning import install_pinning
from aggregator.types import FetchResult
from tests.support.hostile_server import ETAG, FEED, LAST_MODIFIED, PAGE, HostileServer

T = TypeVar("T")
KiB = 1024
SHORT = FetchLimits(
    timeout=2.0, connect_timeout=2.0, max_feed_bytes=256 * KiB, max_page_bytes=256 * KiB
)


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    return asyncio.run(main())


# --- helpers for MockTransport tests ---------------------------------------------------------

Handler = Callable[[httpx.Request], Any]


def mock_fetcher(
    handler: Handler,
    limits: FetchLimits = SHORT,
    resolver: Callable[[str], Awaitable[list[str]]] | None = None,
) -> Fetcher:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler), follow_redirects=False)
    return Fetcher(client, limits, resolver=resolver)


async def public_resolver(host: str) -> list[str]:
    return ["93.184.216.34"]  # documentation-style public address; MockTransport never connects


def fetch_feed(fetcher: Fetcher, url: str, **kw: Any) -> FetchResult:
    async def go() -> FetchResult:
        async with fetcher:
            return await fetcher.fetch_feed(url, **kw)

    return run(go())


def fetch_page(fetcher: Fetcher, url: str, listed_by: str) -> FetchResult:
    async def go() -> FetchResult:
        async with fetcher:
            return await fetcher.fetch_page(url, listed_by=listed_by)

    return run(go())


class Streamed(httpx.AsyncByteStream):
    """A body that arrives in chunks, unread, as from a socket (httpx reads in-memory
    `content=` bodies at construction, which would bypass the Fetcher's own decoding)."""

    def __init__(self, body: bytes, chunk: int = 4096) -> None:
        self.body, self.chunk = body, chunk

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.body), self.chunk):
            yield self.body[start : start + self.chunk]


Route = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A MockTransport handler that answers from a route table and records every request."""

    def __init__(self, routes: Mapping[str, Route]):
        self.routes = routes
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        route = self.routes.get(str(request.url))
        return route(request) if route else httpx.Response(404)


def must_not_connect(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"the guard let {request.url} through")


# --- pure helpers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e"],
)
def test_public_addresses(address: str) -> None:
    assert is_public_ip(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.0.0.3",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "198.18.0.1",
        "192.0.2.1",
        "::1",
        "::",
        "fc00::1",
        "fd12:3456::1",
        "fe80::1",
        "ff02::1",
        "ff0e::1",  # global-scope multicast is still multicast
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:169.254.169.254",
        "2002:7f00:1::1",  # 6to4 around 127.0.0.1
        "2002:a00:1::1",  # 6to4 around 10.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 around 169.254.169.254
        "::7f00:1",  # IPv4-compatible (deprecated)
        "2001:db8::1",  # documentation
    ],
)
def test_non_public_addresses(address: str) -> None:
    assert not is_public_ip(ipaddress.ip_address(address))


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_ipv6_wrappers_get_the_verdict_of_the_ipv4_inside(n: int) -> None:
    v4 = ipaddress.IPv4Address(n)
    mapped = ipaddress.IPv6Address(f"::ffff:{v4}")
    sixtofour = ipaddress.IPv6Address((0x2002 << 112) | (n << 80) | 1)
    assert is_public_ip(mapped) == is_public_ip(sixtofour) == is_public_ip(v4)


def test_retry_after_seconds_and_dates() -> None:
    now = datetime(2026, 3, 2, 8, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120", now=now) == 120.0
    assert parse_retry_after(" 0 ", now=now) == 0.0
    assert parse_retry_after("Mon, 02 Mar 2026 08:01:30 GMT", now=now) == 90.0
    assert parse_retry_after("Mon, 02 Mar 2026 07:00:00 GMT", now=now) == 0.0  # in the past
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-5") is None


@given(
    count=st.integers(min_value=-3, max_value=100_000),
    base=st.floats(min_value=0.001, max_value=3600),
    cap=st.floats(min_value=0.001, max_value=86400 * 7),
    seed=st.integers(),
)
def test_backoff_stays_within_bounds(count: int, base: float, cap: float, seed: int) -> None:
    delay = backoff_delay(count, base, cap, random.Random(seed))
    if count <= 0:
        assert delay == 0.0
    else:
        step = min(cap, base * 2 ** min(count - 1, 60))
        assert step / 2 <= delay <= step <= cap


def test_backoff_grows_until_the_cap() -> None:
    uppers = [backoff_delay(n, 10, 1000, random.Random(1)) for n in range(1, 12)]
    assert uppers[0] <= 10 and uppers[-1] >= 500
    assert backoff_delay(10**9, 10, 1000, random.Random(1)) <= 1000


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError):
        FetchLimits(timeout=0)
    with pytest.raises(ValueError):
        FetchLimits(per_host=0)


def test_make_client_does_not_follow_redirects() -> None:
    client = make_client(FetchLimits())
    try:
        assert client.follow_redirects is False
        assert client.headers["user-agent"] == USER_AGENT
        assert "gzip" in client.headers["accept-encoding"]
        assert "br" in client.headers["accept-encoding"]
    finally:
        run(client.aclose())


# --- logic over MockTransport ----------------------------------------------------------------


def test_feed_result_fields_and_request_headers() -> None:
    rec = Recorder(
        {
            "https://news.test/feed": lambda r: httpx.Response(
                200,
                content=FEED,
                headers={"Content-Type": "application/rss+xml", "ETag": '"a"', "X-Thing": "1"},
            )
        }
    )
    result = fetch_feed(mock_fetcher(rec), "https://news.test/feed", etag='"z"', last_modified="x")
    assert (result.status, result.content, result.content_type) == (
        200,
        FEED,
        "application/rss+xml",
    )
    assert result.etag == '"a"' and result.last_modified is None
    assert result.headers["x-thing"] == "1"
    assert result.final_url == result.url == "https://news.test/feed"
    sent = rec.requests[0].headers
    assert sent["user-agent"] == USER_AGENT
    assert sent["if-none-match"] == '"z"' and sent["if-modified-since"] == "x"


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),  # zlib-wrapped, as the RFC says
        ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, as some servers send
        ("br", brotli.compress),
        ("identity", lambda b: b),
    ],
)
def test_bodies_are_decoded(encoding: str, encode: Callable[[bytes], bytes]) -> None:
    body = PAGE * 50
    rec = Recorder(
        {
            "https://news.test/a": lambda r: httpx.Response(
                200, stream=Streamed(encode(body)), headers={"Content-Encoding": encoding}
            )
        }
    )
    result = fetch_page(mock_fetcher(rec, resolver=public_resolver), "https://news.test/a", "x")
    assert result.content == body


def test_unknown_content_encoding_is_an_error() -> None:
    rec = Recorder(
        {
            "https://news.test/a": lambda r: httpx.Response(
                200, content=b"??", headers={"Content-Encoding": "zstd"}
            )
        }
    )
    with pytest.raises(FetchError, match="Content-Encoding"):
        fetch_feed(mock_fetcher(rec), "https://news.test/a")


def test_corrupt_gzip_is_a_fetch_error() -> None:
    rec = Recorder(
        {
            "https://news.test/a": lambda r: httpx.Response(
                200, stream=Streamed(b"not gzip"), headers={"Content-Encoding": "gzip"}
            )
        }
    )
    with pytest.raises(FetchError, match="decode"):
        fetch_feed(mock_fetcher(rec), "https://news.test/a")


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_bombs_are_stopped_in_memory_too(encoding: str) -> None:
    zeros = b"\0" * (8 * 1024 * 1024)
    bomb = gzip.compress(zeros) if encoding == "gzip" else brotli.compress(zeros, quality=5)
    rec = Recorder(
        {
            "https://news.test/a": lambda r: httpx.Response(
                200, stream=Streamed(bomb, chunk=1 << 20), headers={"Content-Encoding": encoding}
            )
        }
    )
    with pytest.raises(TooLargeError, match="decoded"):
        fetch_feed(mock_fetcher(rec), "https://news.test/a")


def test_relative_and_303_redirects() -> None:
    rec = Recorder(
        {
            "https://news.test/a/b": lambda r: httpx.Response(
                303, headers={"Location": "../c?x=1"}
            ),
            "https://news.test/c?x=1": lambda r: httpx.Response(
                307, headers={"Location": "//cdn.test/d"}
            ),
            "https://cdn.test/d": lambda r: httpx.Response(200, content=b"ok"),
        }
    )
    result = fetch_feed(mock_fetcher(rec), "https://news.test/a/b")
    assert result.final_url == "https://cdn.test/d" and result.content == b"ok"
    assert result.permanent_redirect is None


def test_redirect_without_location_is_an_error() -> None:
    rec = Recorder({"https://news.test/": lambda r: httpx.Response(302)})
    with pytest.raises(FetchError, match="without Location") as info:
        fetch_feed(mock_fetcher(rec), "https://news.test/")
    assert info.value.status == 302


def test_too_many_redirects() -> None:
    def hop(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": f"/{int(request.url.path[1:]) + 1}"})

    routes: dict[str, Route] = {f"https://news.test/{i}": hop for i in range(10)}
    with pytest.raises(FetchError, match="more than 3 redirects"):
        fetch_feed(
            mock_fetcher(Recorder(routes), FetchLimits(max_redirects=3)), "https://news.test/0"
        )
    limits = FetchLimits(max_redirects=3)
    routes["https://news.test/3"] = lambda r: httpx.Response(200, content=b"ok")
    assert (
        fetch_feed(mock_fetcher(Recorder(routes), limits), "https://news.test/0").content == b"ok"
    )


def test_feed_redirect_to_another_scheme_is_refused() -> None:
    rec = Recorder(
        {
            "https://news.test/": lambda r: httpx.Response(
                301, headers={"Location": "file:///etc/passwd"}
            )
        }
    )
    with pytest.raises(FetchError, match="scheme"):
        fetch_feed(mock_fetcher(rec), "https://news.test/")


def test_guard_checks_every_resolved_address_before_connecting() -> None:
    async def mixed(host: str) -> list[str]:
        return ["93.184.216.34", "10.0.0.7"]  # one private answer is enough to refuse

    with pytest.raises(BlockedAddressError, match="10.0.0.7"):
        fetch_page(
            mock_fetcher(must_not_connect, resolver=mixed),
            "https://evil.test/",
            "https://news.test/",
        )


def test_guard_uses_the_resolver_and_lets_public_hosts_through() -> None:
    asked: list[str] = []

    async def resolver(host: str) -> list[str]:
        asked.append(host)
        return ["2606:4700:4700::1111"]

    rec = Recorder({"https://elsewhere.test/a": lambda r: httpx.Response(200, content=b"ok")})
    result = fetch_page(
        mock_fetcher(rec, resolver=resolver), "https://elsewhere.test/a", "https://news.test/"
    )
    assert result.content == b"ok" and asked == ["elsewhere.test"]


def test_unresolvable_host_is_a_fetch_error_not_a_block() -> None:
    async def fails(host: str) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(FetchError, match="cannot resolve") as info:
        fetch_page(
            mock_fetcher(must_not_connect, resolver=fails),
            "https://nowhere.test/",
            "https://news.test/",
        )
    assert not isinstance(info.value, BlockedAddressError)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fe80::1]/",
        "http://0.0.0.0/",
        "http://10.0.0.1/",
        "http://2130706433/",  # 127.0.0.1 as a decimal number; getaddrinfo reads it locally
        "http://127.1/",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "data:text/html,<p>hi</p>",
        "ftp://ftp.test/file",
    ],
)
def test_guard_refuses_without_connecting(url: str) -> None:
    with pytest.raises(BlockedAddressError):
        fetch_page(mock_fetcher(must_not_connect), url, "https://news.test/feed")


def test_guard_rechecks_redirect_hops() -> None:
    rec = Recorder(
        {
            "https://news.test/a": lambda r: httpx.Response(
                302, headers={"Location": "http://169.254.169.254/"}
            )
        }
    )
    with pytest.raises(BlockedAddressError, match="169.254.169.254"):
        fetch_page(
            mock_fetcher(rec, resolver=public_resolver), "https://news.test/a", "https://x.test/"
        )
    assert [str(r.url) for r in rec.requests] == ["https://news.test/a"]


def test_pages_that_are_not_web_pages_are_refused_early() -> None:
    rec = Recorder(
        {
            "https://news.test/v": lambda r: httpx.Response(
                200, content=b"\0" * 10, headers={"Content-Type": "video/mp4"}
            )
        }
    )
    with pytest.raises(FetchError, match="not a web page"):
        fetch_page(mock_fetcher(rec, resolver=public_resolver), "https://news.test/v", "x")


def test_per_host_and_global_concurrency() -> None:
    in_flight: dict[str, int] = {}
    peak: dict[str, int] = {}
    total = {"now": 0, "peak": 0}

    async def handler(request: httpx.Request) -> httpx.Response:
        host = request.url.host
        in_flight[host] = in_flight.get(host, 0) + 1
        total["now"] += 1
        peak[host] = max(peak.get(host, 0), in_flight[host])
        total["peak"] = max(total["peak"], total["now"])
        await asyncio.sleep(0.01)
        in_flight[host] -= 1
        total["now"] -= 1
        return httpx.Response(200, content=b"ok")

    limits = FetchLimits(per_host=2, concurrency=3)

    async def go() -> None:
        async with mock_fetcher(handler, limits) as fetcher:
            urls = [f"https://h{i % 3}.test/{i}" for i in range(30)]
            await asyncio.gather(*(fetcher.fetch_feed(u) for u in urls))

    run(go())
    assert max(peak.values()) <= 2 and total["peak"] <= 3
    assert total["peak"] >= 2  # it does run requests in parallel


def test_host_delay_spaces_request_starts() -> None:
    starts: list[float] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        starts.append(asyncio.get_running_loop().time())
        return httpx.Response(200)

    limits = FetchLimits(host_delay=0.05, per_host=4)

    async def go() -> None:
        async with mock_fetcher(handler, limits) as fetcher:
            await asyncio.gather(*(fetcher.fetch_feed(f"https://slow.test/{i}") for i in range(4)))

    run(go())
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert len(starts) == 4 and all(gap >= 0.045 for gap in gaps)  # 5 ms slack for clock rounding


# --- real hostile servers --------------------------------------------------------------------


@pytest.fixture
def srv() -> Iterator[HostileServer]:
    with HostileServer("127.0.0.2") as server:
        yield server


@pytest.fixture
def other() -> Iterator[HostileServer]:
    """A second host: the one article links must not reach."""
    with HostileServer("127.0.0.3") as server:
        yield server


def real(limits: FetchLimits = SHORT) -> Fetcher:
    return Fetcher(make_client(limits), limits)


def test_real_feed_and_conditional_get(srv: HostileServer) -> None:
    first = fetch_feed(real(), srv.url("/feed"))
    assert first.status == 200 and first.content == FEED
    assert first.content_type.startswith("application/rss+xml")
    assert (first.etag, first.last_modified) == (ETAG, LAST_MODIFIED)
    again = fetch_feed(real(), srv.url("/feed"), etag=first.etag)
    assert again.status == 304 and again.not_modified and again.content == b""
    by_date = fetch_feed(real(), srv.url("/feed"), last_modified=first.last_modified)
    assert by_date.not_modified
    assert srv.requests[0].headers["user-agent"] == USER_AGENT
    assert srv.requests[1].headers["if-none-match"] == ETAG


@pytest.mark.parametrize("code", [301, 308])
def test_permanent_redirect_is_reported(srv: HostileServer, code: int) -> None:
    result = fetch_feed(real(), srv.url(f"/redirect/{code}?to=/feed"))
    assert result.status == 200 and result.content == FEED
    assert result.permanent_redirect == result.final_url == srv.url("/feed")


def test_temporary_redirect_is_not_reported(srv: HostileServer) -> None:
    result = fetch_feed(real(), srv.url("/redirect/302?to=/feed"))
    assert result.final_url == srv.url("/feed") and result.permanent_redirect is None


def test_permanent_chain_reports_the_end_of_the_permanent_run(srv: HostileServer) -> None:
    # 301 -> 301 -> 302 -> feed: the feed moved to the 302's URL, which then points elsewhere
    hop3 = "/redirect/302?to=/feed"
    hop2 = f"/redirect/301?to={srv.url(hop3).replace('?', '%3F').replace('=', '%3D')}"
    result = fetch_feed(
        real(), srv.url(f"/redirect/301?to={hop2.replace('?', '%3F').replace('=', '%3D')}")
    )
    assert result.final_url == srv.url("/feed")
    assert result.permanent_redirect == srv.url(hop3)


def test_redirect_loop(srv: HostileServer) -> None:
    with pytest.raises(FetchError, match="loop"):
        fetch_feed(real(), srv.url("/loop/a"))
    assert srv.paths == ["/loop/a", "/loop/b"]


def test_cookie_redirect_to_itself_is_not_a_loop(srv: HostileServer) -> None:
    assert fetch_page(real(), srv.url("/set-cookie"), srv.url("/feed")).content == PAGE


def test_429_carries_retry_after(srv: HostileServer) -> None:
    with pytest.raises(RetryLaterError) as info:
        fetch_feed(real(), srv.url("/status/429"))
    assert info.value.status == 429 and info.value.retry_after == 7.0
    assert info.value.url == srv.url("/status/429")


def test_503_with_a_date_and_without_retry_after(srv: HostileServer) -> None:
    with pytest.raises(RetryLaterError) as info:
        fetch_feed(real(), srv.url("/status/503?retry_after=Wed, 21 Oct 2015 07:28:00 GMT"))
    assert info.value.status == 503 and info.value.retry_after == 0.0
    with pytest.raises(RetryLaterError) as info:
        fetch_feed(real(), srv.url("/status/503?retry_after="))
    assert info.value.retry_after is None


def test_410_gone(srv: HostileServer) -> None:
    with pytest.raises(FetchError) as info:
        fetch_feed(real(), srv.url("/gone"))
    assert info.value.status == 410 and not isinstance(info.value, RetryLaterError)


ONE_SECOND = FetchLimits(timeout=1.0, connect_timeout=1.0)


def test_slow_drip_is_cut_at_the_deadline(srv: HostileServer) -> None:
    # every read gets a byte within the read timeout; only the overall deadline ends this
    with pytest.raises(FetchError, match="no complete response within"):
        fetch_page(real(ONE_SECOND), srv.url("/drip"), srv.url("/feed"))


def test_stalled_headers_are_cut_at_the_deadline(srv: HostileServer) -> None:
    with pytest.raises(FetchError, match="timed out|no complete response"):
        fetch_feed(real(ONE_SECOND), srv.url("/stall"))


def test_endless_body_is_cut_at_the_limit(srv: HostileServer) -> None:
    with pytest.raises(TooLargeError):
        fetch_page(real(), srv.url("/endless"), srv.url("/feed"))


@pytest.mark.parametrize("route", ["/gzip-bomb", "/brotli-bomb"])
def test_compression_bombs_are_stopped(srv: HostileServer, route: str) -> None:
    with pytest.raises(TooLargeError, match="decoded"):
        fetch_feed(real(), srv.url(route))
    with pytest.raises(TooLargeError, match="decoded"):
        fetch_page(real(), srv.url(route), srv.url("/feed"))


def test_honest_content_length_over_the_limit_is_refused_before_reading(srv: HostileServer) -> None:
    with pytest.raises(TooLargeError, match="Content-Length"):
        fetch_feed(real(), srv.url(f"/big?bytes={300 * KiB}"))
    assert len(fetch_feed(real(), srv.url(f"/big?bytes={200 * KiB}")).content) == 200 * KiB


def test_wrong_content_type(srv: HostileServer) -> None:
    feed = fetch_feed(real(), srv.url("/wrong-type"))  # feeds: the parser judges the bytes
    assert feed.content == FEED and feed.content_type == "image/png"
    with pytest.raises(FetchError, match="not a web page"):
        fetch_page(real(), srv.url("/wrong-type"), srv.url("/feed"))


def test_page_on_the_feeds_own_host_is_allowed(srv: HostileServer) -> None:
    result = fetch_page(real(), srv.url("/page"), listed_by=srv.url("/feed"))
    assert result.status == 200 and result.content == PAGE


def test_page_on_another_private_host_is_blocked(srv: HostileServer, other: HostileServer) -> None:
    with pytest.raises(BlockedAddressError):
        fetch_page(real(), other.url("/page"), listed_by=srv.url("/feed"))
    assert other.paths == []


def test_same_host_page_redirecting_to_another_private_host_is_blocked(
    srv: HostileServer, other: HostileServer
) -> None:
    hop = f"/redirect/302?to={other.url('/page')}"
    with pytest.raises(BlockedAddressError, match="127.0.0.3"):
        fetch_page(real(), srv.url(hop), listed_by=srv.url("/feed"))
    assert srv.paths == [hop]
    assert other.paths == []


def test_localhost_is_blocked() -> None:
    with HostileServer("127.0.0.1") as local:
        with pytest.raises(BlockedAddressError):
            fetch_page(real(), f"http://localhost:{local.port}/page", "https://news.test/feed")
        assert local.paths == []


@pytest.mark.parametrize("allowed", ["127.0.0.3", "127.0.0.0/8", "::ffff:127.0.0.0/104"])
def test_allow_private(srv: HostileServer, other: HostileServer, allowed: str) -> None:
    limits = FetchLimits(timeout=2.0, allow_private=(allowed,))
    if allowed.startswith("::"):  # an IPv6 rule does not open IPv4 addresses
        with pytest.raises(BlockedAddressError):
            fetch_page(real(limits), other.url("/page"), listed_by=srv.url("/feed"))
        return
    assert fetch_page(real(limits), other.url("/page"), listed_by=srv.url("/feed")).content == PAGE


def test_guarded_connections_are_pinned_to_the_vetted_addresses(other: HostileServer) -> None:
    # The system resolves localhost to 127.0.0.1, where nothing listens on this port; the
    # guard's resolver says 127.0.0.3. The request reaching 127.0.0.3 shows the client did
    # not resolve the name again after the guard (the DNS-rebinding gap).
    async def resolver(host: str) -> list[str]:
        return ["127.0.0.3"]

    limits = FetchLimits(timeout=2.0, allow_private=("127.0.0.3/32",))
    fetcher = Fetcher(make_client(limits), limits, resolver=resolver)
    url = f"http://localhost:{other.port}/page"
    assert fetch_page(fetcher, url, "https://news.test/feed").content == PAGE
    assert other.paths == ["/page"]
    assert other.requests[0].headers["host"] == f"localhost:{other.port}"


def test_pinning_is_installed_only_where_it_can_be() -> None:
    client = make_client(FetchLimits())
    mock = httpx.AsyncClient(transport=httpx.MockTransport(must_not_connect))
    try:
        assert install_pinning(client)  # again: idempotent
        assert not install_pinning(mock)
    finally:
        run(client.aclose())
        run(mock.aclose())


def test_allow_private_by_host_name() -> None:
    with HostileServer("127.0.0.1") as local:
        limits = FetchLimits(timeout=2.0, allow_private=("LocalHost",))
        url = f"http://localhost:{local.port}/page"
        assert fetch_page(real(limits), url, "https://news.test/feed").content == PAGE
