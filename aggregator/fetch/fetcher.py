"""The fetch stage: GET a feed or an article page, safely.

    fetch_feed(url)   trusted (the operator listed it): conditional GET, reports permanent
                      redirects so the caller can update the feed's URL
    fetch_page(url)   untrusted (a third-party feed linked it): the address guard checks the
                      URL and every redirect hop before any connection is made, and the
                      connection is pinned to the addresses it vetted (no DNS rebinding)

Every request:
  - redirects followed here, not by httpx, so each hop is checked; relative Locations
    resolved; loops and chains longer than max_redirects refused
  - one deadline per response (headers and the whole body), so a server that drips a byte a
    second is cut off
  - the body read as a stream and refused once the raw or the decoded bytes pass the limit
    (compression bombs stop at the limit, see fetch/decode.py)
  - at most `per_host` requests in flight to one host, `host_delay` between their starts,
    at most `concurrency` in flight overall
  - cookies live only for one fetch's redirect chain (consent redirects need them; a shared
    jar would grow forever and link unrelated requests)

Errors, all from aggregator.errors plus one subclass here:

    FetchError(url, msg, status=...)   network failure, timeout, HTTP status >= 400
    ├── RetryLaterError                429 / 503; .retry_after seconds from Retry-After, or None
    ├── BlockedAddressError            refused by the address guard
    └── TooLargeError                  body over the limit

`url` on an error is always the URL asked for; the message names the hop that failed.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import TracebackType

import httpx

from aggregator.errors import FetchError, TooLargeError
from aggregator.fetch.decode import ACCEPT_ENCODING, make_decoder, read_limited
from aggregator.fetch.guard import AddressGuard, Resolver, is_public_ip
from aggregator.fetch.limits import FetchLimits, backoff_delay, parse_retry_after
from aggregator.fetch.pinning import install_pinning, pinned
from aggregator.fetch.politeness import HostSlots
from aggregator.types import FetchResult

__all__ = [
    "FetchLimits",
    "Fetcher",
    "RetryLaterError",
    "backoff_delay",
    "is_public_ip",
    "make_client",
    "parse_retry_after",
]

log = logging.getLogger(__name__)

REDIRECTS = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
RETRY_LATER = frozenset({429, 503})
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9,"
    " text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"


class RetryLaterError(FetchError):
    """The server answered 429 or 503: come back later, after `retry_after` seconds if it
    said (Retry-After header), else None and the caller's backoff decides."""

    def __init__(self, url: str, message: str, *, status: int, retry_after: float | None):
        super().__init__(url, message, status=status)
        self.retry_after = retry_after


def make_client(limits: FetchLimits) -> httpx.AsyncClient:
    """The HTTP client the Fetcher expects: no automatic redirects (we follow them to check
    each hop), HTTP/2 when h2 is installed, proxies from the environment, no shared cookies,
    and connections of guarded requests pinned to the vetted addresses (DNS rebinding)."""
    try:
        import h2  # noqa: F401

        http2 = True
    except ImportError:
        http2 = False
    no_cookies = http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    client = httpx.AsyncClient(
        follow_redirects=False,
        http2=http2,
        trust_env=True,
        cookies=no_cookies,
        headers={"User-Agent": limits.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
        # read/write bound each socket operation; the whole-response deadline is ours
        timeout=httpx.Timeout(limits.timeout, connect=limits.connect_timeout),
        limits=httpx.Limits(
            max_connections=limits.concurrency, max_keepalive_connections=limits.concurrency
        ),
    )
    install_pinning(client)  # guarded requests connect only to the addresses the guard vetted
    return client


@dataclass(frozen=True)
class _Policy:
    """How one fetch treats its hops."""

    max_bytes: int
    guarded: bool  # run the address guard on every hop
    trusted_host: str | None = None  # the listing feed's host, exempt from the guard
    pages_only: bool = False  # refuse bodies that cannot be a web page
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Redirect:
    status: int
    target: httpx.URL


@dataclass(frozen=True)
class _Final:
    status: int
    headers: dict[str, str]
    content: bytes


class Fetcher:
    """Fetches feeds and pages through a client built by the caller (see make_client).

    The Fetcher owns the client once given it: `aclose()` (or `async with`) closes it.
    `resolver` answers the addresses of a host for the guard (default: getaddrinfo).
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        limits: FetchLimits,
        *,
        resolver: Resolver | None = None,
    ) -> None:
        self._client = client
        self._limits = limits
        self._guard = AddressGuard(
            limits.allow_private, resolver, resolve_timeout=limits.connect_timeout
        )
        self._slots = HostSlots(limits.concurrency, limits.per_host, limits.host_delay)

    async def fetch_feed(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        headers = {"Accept": FEED_ACCEPT}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        policy = _Policy(self._limits.max_feed_bytes, guarded=False, headers=headers)
        return await self._fetch(url, policy)

    async def fetch_page(self, url: str, *, listed_by: str) -> FetchResult:
        policy = _Policy(
            self._limits.max_page_bytes,
            guarded=True,
            trusted_host=_host_of(listed_by),
            pages_only=True,
            headers={"Accept": PAGE_ACCEPT},
        )
        return await self._fetch(url, policy)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _fetch(self, url: str, policy: _Policy) -> FetchResult:
        current = _parse_url(url, url)
        cookies = httpx.Cookies()
        seen: set[tuple[str, str]] = set()
        permanent: str | None = None
        only_permanent_so_far = True
        for _ in range(self._limits.max_redirects + 1):
            pins = await self._check_hop(url, current, policy)
            key = (str(current), repr(sorted(cookies.items())))
            if key in seen:
                raise FetchError(url, f"redirect loop at {current}")
            seen.add(key)
            with pinned(current.host, pins):
                outcome = await self._request(url, current, policy, cookies)
            if isinstance(outcome, _Final):
                return _result(url, current, outcome, permanent)
            log.debug("%s: %d redirect to %s", current, outcome.status, outcome.target)
            # only an unbroken run of permanent hops from the start says the feed has moved;
            # a permanent hop behind a temporary one says nothing about the URL we were given
            only_permanent_so_far = only_permanent_so_far and outcome.status in PERMANENT_REDIRECTS
            if only_permanent_so_far:
                permanent = str(outcome.target)
            current = outcome.target
        raise FetchError(url, f"more than {self._limits.max_redirects} redirects")

    async def _check_hop(self, url: str, hop: httpx.URL, policy: _Policy) -> tuple[str, ...] | None:
        """Addresses to pin the hop's connection to (guarded fetches), or None."""
        if policy.guarded:
            return await self._guard.check(
                url, hop.scheme, hop.host, trusted_host=policy.trusted_host
            )
        if hop.scheme not in ("http", "https"):
            raise FetchError(url, f"unsupported URL scheme in {hop}")
        return None

    async def _request(
        self, url: str, hop: httpx.URL, policy: _Policy, cookies: httpx.Cookies
    ) -> _Final | _Redirect:
        headers = {
            **policy.headers,
            "User-Agent": self._limits.user_agent,
            # our decoders, not the client's default list (which may name zstd)
            "Accept-Encoding": ACCEPT_ENCODING,
        }
        async with self._slots.slot(hop.host):
            try:
                async with asyncio.timeout(self._limits.timeout):
                    request = self._client.build_request("GET", hop, headers=headers)
                    # the jar is this fetch's own, filled only by its redirects: most requests
                    # have none to send or keep, and the jar's urllib round trip costs ~0.4 ms
                    if cookies.jar:
                        cookies.set_cookie_header(request)
                    response = await self._client.send(request, stream=True)
                    try:
                        if "set-cookie" in response.headers:
                            cookies.extract_cookies(response)
                        return await _read(url, hop, response, policy)
                    finally:
                        await response.aclose()
                        _unlink(response)
            except TimeoutError as exc:
                raise FetchError(
                    url, f"{_at(url, hop)}no complete response within {self._limits.timeout}s"
                ) from exc
            except httpx.TimeoutException as exc:
                raise FetchError(url, f"{_at(url, hop)}timed out ({type(exc).__name__})") from exc
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                raise FetchError(url, f"{_at(url, hop)}{type(exc).__name__}: {exc}") from exc


async def _read(
    url: str, hop: httpx.URL, response: httpx.Response, policy: _Policy
) -> _Final | _Redirect:
    status = response.status_code
    if status in REDIRECTS:
        location = response.headers.get("location")
        if not location:
            raise FetchError(url, f"{_at(url, hop)}HTTP {status} without Location", status=status)
        return _Redirect(status, _parse_url(url, location, base=hop))
    if status >= 400:
        raise _status_error(url, hop, response)
    headers = {name.lower(): value for name, value in response.headers.items()}
    if status == 304:
        return _Final(status, headers, b"")
    if not 200 <= status < 300:
        raise FetchError(url, f"{_at(url, hop)}unexpected HTTP {status}", status=status)
    _refuse_early(url, hop, headers, policy)
    decoder = make_decoder(headers.get("content-encoding", ""), url)
    content = await read_limited(_raw_chunks(response), decoder, policy.max_bytes, url)
    return _Final(status, headers, content)


def _unlink(response: httpx.Response) -> None:
    """Break the cycle between a closed response and httpx's stream bound to it.

    Left in place, it drags the request's whole graph (the request, the connection, h11's
    state: ~50 objects) into cyclic garbage, which only the collector frees; in a poll of
    10,000 feeds its passes held the event loop up to 150 ms. Unlinked, reference counting
    frees them as soon as the fetch returns."""
    response.stream = _CLOSED


_CLOSED = httpx.ByteStream(b"")


def _raw_chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    if not response.is_stream_consumed:
        return response.aiter_raw()
    # httpx reads a body given in memory (MockTransport responses) as soon as the Response
    # is built; its stream still replays the raw, undecoded bytes
    if isinstance(response.stream, httpx.AsyncByteStream):
        return aiter(response.stream)
    raise TypeError("a response stream that is neither unread nor replayable")  # a bug


def _refuse_early(url: str, hop: httpx.URL, headers: dict[str, str], policy: _Policy) -> None:
    """Refuse before reading the body when the headers already say it is of no use."""
    length = headers.get("content-length", "")
    if length.isdigit() and int(length) > policy.max_bytes:
        raise TooLargeError(
            url, f"{_at(url, hop)}Content-Length {length} over {policy.max_bytes} bytes"
        )
    if policy.pages_only and not _could_be_page(headers.get("content-type", "")):
        # a link to a video or a PDF: megabytes to download and nothing to extract
        raise FetchError(url, f"{_at(url, hop)}not a web page ({headers['content-type']})")


def _could_be_page(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return not media or media.startswith("text/") or "html" in media or "xml" in media


def _status_error(url: str, hop: httpx.URL, response: httpx.Response) -> FetchError:
    status = response.status_code
    message = f"{_at(url, hop)}HTTP {status} {response.reason_phrase}".rstrip()
    if status in RETRY_LATER:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        return RetryLaterError(url, message, status=status, retry_after=retry_after)
    return FetchError(url, message, status=status)


def _at(url: str, hop: httpx.URL) -> str:
    """Names the hop in a message when it is not the URL the error is already about."""
    return "" if str(hop) == url else f"redirected to {hop}: "


def _result(url: str, final: httpx.URL, outcome: _Final, permanent: str | None) -> FetchResult:
    headers = outcome.headers
    return FetchResult(
        url=url,
        final_url=str(final),
        status=outcome.status,
        content=outcome.content,
        content_type=headers.get("content-type", ""),
        etag=headers.get("etag"),
        last_modified=headers.get("last-modified"),
        permanent_redirect=permanent,
        headers=headers,
    )


def _parse_url(url: str, raw: str, *, base: httpx.URL | None = None) -> httpx.URL:
    try:
        return base.join(raw) if base is not None else httpx.URL(raw)
    except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
        raise FetchError(url, f"invalid URL {raw!r}: {exc}") from exc


def _host_of(url: str) -> str | None:
    try:
        return httpx.URL(url).host or None
    except (httpx.InvalidURL, UnicodeError, ValueError):
        return None
