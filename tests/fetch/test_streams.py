"""The asyncio network backend under httpx (aggregator.fetch.streams), on real sockets.

The servers are plain threads on 127.0.0.1; TLS uses a throw-away CA (trustme)."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpcore
import httpx
import pytest
import trustme

from aggregator.fetch.pinning import PinningBackend, install_pinning
from aggregator.fetch.streams import READ_LIMIT, AsyncioBackend

BIG = bytes(range(256)) * (4 * READ_LIMIT // 256)  # four times what the buffer holds unread


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = BIG if self.path == "/big" else b"hello over " + self.path.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


def tls_server(ca: trustme.CA, *names: str) -> ThreadingHTTPServer:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.socket = context.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def client_trusting(ca: trustme.CA) -> httpx.AsyncClient:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    client = httpx.AsyncClient(verify=context)
    assert install_pinning(client)
    return client


def backend_of(client: httpx.AsyncClient) -> object:
    backend = client._transport._pool._network_backend  # type: ignore[attr-defined]
    assert isinstance(backend, PinningBackend)
    return backend


def test_the_installed_backend_is_asyncio_and_carries_plain_http(
    server: ThreadingHTTPServer,
) -> None:
    async def go() -> list[bytes]:
        async with httpx.AsyncClient() as client:
            install_pinning(client)
            assert isinstance(backend_of(client), AsyncioBackend)
            port = server.server_address[1]
            # two requests on one kept-alive connection, then a body larger than the buffer
            first = await client.get(f"http://127.0.0.1:{port}/one")
            second = await client.get(f"http://127.0.0.1:{port}/two")
            big = await client.get(f"http://127.0.0.1:{port}/big")
            return [first.content, second.content, big.content]

    assert asyncio.run(go()) == [b"hello over /one", b"hello over /two", BIG]


def test_tls_checks_the_certificate_against_the_url_host(ca: trustme.CA) -> None:
    srv = tls_server(ca, "localhost")
    port = srv.server_address[1]

    async def go(host: str) -> httpx.Response:
        async with client_trusting(ca) as client:
            return await client.get(f"https://{host}:{port}/secure")

    try:
        response = asyncio.run(go("localhost"))
        assert response.content == b"hello over /secure"
        assert response.http_version == "HTTP/1.1"
        # the same server by address: the certificate does not name 127.0.0.1
        with pytest.raises(httpx.ConnectError, match="certificate|IP address mismatch"):
            asyncio.run(go("127.0.0.1"))
    finally:
        srv.shutdown()
        srv.server_close()


def test_tls_from_an_untrusted_authority_is_refused(ca: trustme.CA) -> None:
    srv = tls_server(trustme.CA(), "localhost")  # another CA than the client trusts
    try:

        async def go() -> None:
            async with client_trusting(ca) as client:
                await client.get(f"https://localhost:{srv.server_address[1]}/")

        with pytest.raises(httpx.ConnectError, match="certificate verify failed"):
            asyncio.run(go())
    finally:
        srv.shutdown()
        srv.server_close()


def raw_server(handle: Callable[[socket.socket], None]) -> tuple[int, threading.Thread]:
    """One connection, handled by ``handle`` in a thread; returns the port."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        with listener:
            conn, _ = listener.accept()
            with conn:
                handle(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener.getsockname()[1], thread


def test_a_closed_connection_reads_empty_and_says_it_is_readable() -> None:
    # httpcore asks "is_readable" of idle pooled connections: True means the server closed
    # it (or sent stray bytes), so the pool opens a new one instead of writing into it
    port, thread = raw_server(lambda conn: conn.sendall(b"bye"))

    async def go() -> tuple[bytes, bytes, bool]:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        first = await stream.read(100, timeout=5)
        thread.join()
        while not stream.get_extra_info("is_readable"):
            await asyncio.sleep(0)
        end = await stream.read(100, timeout=5)
        readable = stream.get_extra_info("is_readable")
        with pytest.raises(httpcore.WriteError):
            await stream.write(b"more", timeout=5)
        await stream.aclose()
        return first, end, readable

    assert asyncio.run(go()) == (b"bye", b"", True)


def test_an_idle_open_connection_is_not_readable_and_reads_time_out() -> None:
    release = threading.Event()
    port, _ = raw_server(lambda conn: release.wait(10))

    async def go() -> bool:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        try:
            assert stream.get_extra_info("server_addr") == ("127.0.0.1", port)
            with pytest.raises(httpcore.ReadTimeout):
                await stream.read(100, timeout=0.05)
            return bool(stream.get_extra_info("is_readable"))
        finally:
            await stream.aclose()
            release.set()

    assert asyncio.run(go()) is False


def test_refused_connections_are_httpcore_connect_errors() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]  # closed at the end of the block: nothing listens

    async def go() -> None:
        await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)

    with pytest.raises(httpcore.ConnectError):
        asyncio.run(go())
