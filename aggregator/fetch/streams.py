"""The network under httpx: connections as plain asyncio transports.

httpx sends through httpcore, whose default network backend wraps every socket in anyio
streams: each read and write enters a cancel scope, and every check of an idle pooled
connection (done for every connection on every request) builds anyio's dict of socket
attributes. For a poll of 400 feeds that answer 304 that was half of httpcore's CPU (0.58-0.80 s
against 0.35-0.37 s with this backend, `bench/versus_reader.py`'s server, 16 connections).

This backend gives httpcore the same stream interface over an asyncio Protocol: timeouts
with asyncio.timeout, TLS with loop.start_tls (certificate checked against the URL's host
name, ALPN for HTTP/2 as before). Errors are httpcore's own (ConnectError, ReadTimeout, ...),
so httpx words them as it always did. The daemon only runs on asyncio, so nothing is lost.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Iterable
from typing import Any

import httpcore

READ_LIMIT = 256 * 1024  # bytes held unread before the socket stops being read
# httpcore's names for a connection's details -> asyncio's transport's names
_EXTRA_INFO = {
    "ssl_object": "ssl_object",
    "client_addr": "sockname",
    "server_addr": "peername",
    "socket": "socket",
}


class _Buffer(asyncio.Protocol):
    """What arrived and not yet read, end of stream, and write flow control."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.eof = False
        self.error: Exception | None = None
        self.lost = False
        self.transport: asyncio.Transport | None = None
        self._reading_paused = False
        self._waiter: asyncio.Future[None] | None = None
        self._writable: asyncio.Future[None] | None = None

    # asyncio's side
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.data += data
        if len(self.data) > READ_LIMIT and self.transport is not None:
            self.transport.pause_reading()
            self._reading_paused = True
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False  # close: HTTP has nothing to send after the server's end

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.eof = True
        self.error = exc
        self._wake()
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    def pause_writing(self) -> None:
        self._writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._writable = None

    # the stream's side
    async def wait_readable(self) -> None:
        while not self.data and not self.eof:
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter

    def take(self, max_bytes: int) -> bytes:
        chunk = bytes(self.data[:max_bytes])
        del self.data[:max_bytes]
        if self._reading_paused and len(self.data) <= READ_LIMIT // 2 and not self.lost:
            self._reading_paused = False
            if self.transport is not None:
                self.transport.resume_reading()
        return chunk

    async def drained(self) -> None:
        if self._writable is not None:
            await self._writable

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One connection: httpcore's stream interface over a transport and its _Buffer."""

    def __init__(self, transport: asyncio.Transport, buffer: _Buffer) -> None:
        self._transport = transport
        self._buffer = buffer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        buffer = self._buffer
        try:
            async with asyncio.timeout(timeout):
                await buffer.wait_readable()
        except TimeoutError as exc:
            raise httpcore.ReadTimeout(f"no data within {timeout}s") from exc
        if buffer.data:
            return buffer.take(max_bytes)
        if buffer.error is not None:
            raise httpcore.ReadError(str(buffer.error) or type(buffer.error).__name__)
        return b""  # the server closed: httpcore decides whether the response was whole

    async def write(self, data: bytes, timeout: float | None = None) -> None:
        if not data:
            return
        if self._buffer.lost or self._transport.is_closing():
            raise httpcore.WriteError(str(self._buffer.error or "connection closed"))
        try:
            async with asyncio.timeout(timeout):
                self._transport.write(data)
                await self._buffer.drained()
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(f"could not send within {timeout}s") from exc
        if self._buffer.error is not None:
            raise httpcore.WriteError(str(self._buffer.error))

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport = await loop.start_tls(
                    self._transport, self._buffer, ssl_context, server_hostname=server_hostname
                )
        except TimeoutError as exc:
            self._transport.abort()
            raise httpcore.ConnectTimeout(f"TLS handshake not done within {timeout}s") from exc
        except (OSError, ssl.SSLError, ConnectionError) as exc:
            self._transport.abort()
            raise httpcore.ConnectError(str(exc)) from exc
        assert isinstance(transport, asyncio.Transport)
        self._buffer.transport = transport
        return AsyncioStream(transport, self._buffer)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":  # asked of idle pooled connections: closed, or stray bytes
            return bool(self._buffer.data) or self._buffer.eof
        name = _EXTRA_INFO.get(info)
        return self._transport.get_extra_info(name) if name is not None else None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Connections for httpcore's pool, opened by the running asyncio loop."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        local = (local_address, 0) if local_address else None
        stream = await _opened(
            loop.create_connection(_Buffer, host, port, local_addr=local), timeout
        )
        sock = stream.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return stream

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        return await _opened(loop.create_unix_connection(_Buffer, path), timeout)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


async def _opened(
    opening: Awaitable[tuple[asyncio.BaseTransport, _Buffer]], timeout: float | None
) -> AsyncioStream:
    """The stream of a connection being opened, its failures in httpcore's words."""
    try:
        async with asyncio.timeout(timeout):
            transport, buffer = await opening
    except TimeoutError as exc:
        raise httpcore.ConnectTimeout(f"no connection within {timeout}s") from exc
    except OSError as exc:
        raise httpcore.ConnectError(str(exc)) from exc
    assert isinstance(transport, asyncio.Transport)
    return AsyncioStream(transport, buffer)
