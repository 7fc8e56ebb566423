"""Connection pinning: closes the DNS-rebinding gap of the address guard.

The guard resolves a page's host and vets every address. If the HTTP client then resolved
the name again, a hostile DNS server with a zero TTL could answer "public" to the guard and
"private" to the client. So for guarded requests the Fetcher puts the vetted addresses in a
context variable, and the network backend that make_client installs connects to those
addresses only. TLS is unaffected: httpcore verifies the certificate against the URL's host
name, which it passes to start_tls separately from the address we connect to.

Requests sent through a proxy are not pinned (the proxy resolves the name, not us), and
neither are clients not built by make_client; the guard's own check still runs for both.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

import httpcore
import httpx

from aggregator.fetch.streams import AsyncioBackend

log = logging.getLogger(__name__)

# host -> the addresses the guard vetted for it, for the request running in this context
_PINNED: ContextVar[Mapping[str, tuple[str, ...]] | None] = ContextVar(
    "aggregator_pinned", default=None
)


@contextmanager
def pinned(host: str, addresses: tuple[str, ...] | None) -> Iterator[None]:
    """Within the block, connections to `host` go to `addresses` only (None: no pinning)."""
    if not addresses:
        yield
        return
    token = _PINNED.set({host.lower(): addresses})
    try:
        yield
    finally:
        _PINNED.reset(token)


class PinningBackend(AsyncioBackend):
    """Plain asyncio connections (streams.py) to the pinned addresses when there are some."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = (_PINNED.get() or {}).get(host.lower())
        if not addresses:
            return await super().connect_tcp(host, port, timeout, local_address, socket_options)
        failure: Exception | None = None
        for address in addresses:  # like getaddrinfo's order: the next one if one is down
            try:
                return await super().connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure


def install_pinning(client: httpx.AsyncClient) -> bool:
    """Put a PinningBackend (plain asyncio connections: half the CPU of httpcore's anyio
    streams) under the client's direct (non-proxy) connection pool.

    httpx offers no public way to pass a network backend, so this reaches into
    ``client._transport._pool``; it checks every step and returns False (no pinning, the
    guard still runs) when httpx's internals do not look as expected.
    """
    pool = getattr(getattr(client, "_transport", None), "_pool", None)
    if type(pool) is not httpcore.AsyncConnectionPool:  # a proxy pool, a mock, a new httpx
        log.warning("connection pinning not installed: unexpected transport %r", pool)
        return False
    inner = getattr(pool, "_network_backend", None)
    if not isinstance(inner, httpcore.AsyncNetworkBackend):
        log.warning("connection pinning not installed: unexpected network backend %r", inner)
        return False
    if not isinstance(inner, PinningBackend):
        pool._network_backend = PinningBackend()
    return True
