"""A local HTTP server that misbehaves on purpose, for fetch tests (and anyone else's).

    with HostileServer("127.0.0.2") as srv:
        srv.url("/feed")            # http://127.0.0.2:<port>/feed
        srv.paths                   # paths requested so far, e.g. to assert "no request"

Any 127.x address works on Linux loopback without setup. The server runs in a daemon thread
(one thread per connection); endless and dripping responses stop when the client hangs up or
the server stops.

Routes (query parameters in brackets):
    /feed               RSS 2.0 with ETag and Last-Modified; 304 on a matching If-None-Match
                        or If-Modified-Since
    /page               a small HTML article
    /status/<code>      that status with a short body; 429 and 503 carry Retry-After
                        [retry_after=<value>, default "7"; empty to omit]
    /gone               410 Gone
    /redirect/<code>    that redirect status to [to=<absolute or relative URL>]
    /loop/a, /loop/b    redirect to each other forever
    /drip               claims 1000 bytes, sends 1 byte a second [bytes=<n>, default 30]
    /stall              sends nothing for [seconds=<n>, default 30], then a page
    /endless            an endless body, no Content-Length, as fast as the client reads
    /gzip-bomb          10 MiB of zeros, gzip-compressed (about 10 KiB on the wire)
    /brotli-bomb        10 MiB of zeros, brotli-compressed (a few dozen bytes on the wire)
    /wrong-type         the feed, labelled image/png
    /big                [bytes=<n>] of "x", with an honest Content-Length
    /set-cookie         sets a cookie and redirects to itself; 200 once the cookie comes back
"""

from __future__ import annotations

import contextlib
import gzip
import threading
import time
from dataclasses import dataclass
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import brotli

BOMB_SIZE = 10 * 1024 * 1024
ETAG = '"feed-v1"'
LAST_MODIFIED = "Mon, 02 Mar 2026 08:00:00 GMT"

FEED = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel>
<title>Hostile Test Feed</title><link>http://example.test/</link>
<description>fixture</description>
<item><title>First story</title><link>/page</link><guid>first</guid>
<pubDate>Mon, 02 Mar 2026 08:00:00 GMT</pubDate><description>First.</description></item>
</channel></rss>
"""

PAGE = b"""<!doctype html><html><head><title>An article</title></head>
<body><article><h1>An article</h1><p>Body text of the article.</p></article></body></html>
"""


@cache
def gzip_bomb() -> bytes:
    return gzip.compress(b"\0" * BOMB_SIZE, compresslevel=9)


@cache
def brotli_bomb() -> bytes:
    return bytes(brotli.compress(b"\0" * BOMB_SIZE, quality=5))


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str  # with the query string
    headers: dict[str, str]  # lower-case names


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.server.owner._record(RequestRecord(self.command, self.path, headers))
        split = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        parts = split.path.strip("/").split("/")
        route = getattr(self, "route_" + parts[0].replace("-", "_"), None)
        if route is None:
            self._send(404, b"not found", "text/plain")
            return
        # the client hanging up is what most routes are waiting for
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            route(parts[1:], query)

    # helpers

    def _send(
        self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _stopping(self) -> bool:
        return self.server.owner.stopped.is_set()

    # routes

    def route_feed(self, rest: list[str], query: dict[str, str]) -> None:
        validators = {"ETag": ETAG, "Last-Modified": LAST_MODIFIED}
        if (
            self.headers.get("If-None-Match") == ETAG
            or self.headers.get("If-Modified-Since") == LAST_MODIFIED
        ):
            self.send_response(304)
            for name, value in validators.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._send(200, FEED, "application/rss+xml; charset=utf-8", validators)

    def route_page(self, rest: list[str], query: dict[str, str]) -> None:
        self._send(200, PAGE, "text/html; charset=utf-8")

    def route_status(self, rest: list[str], query: dict[str, str]) -> None:
        code = int(rest[0]) if rest else 500
        extra = {}
        retry_after = query.get("retry_after", "7")
        if code in (429, 503) and retry_after:
            extra["Retry-After"] = retry_after
        self._send(code, f"status {code}".encode(), "text/plain", extra)

    def route_gone(self, rest: list[str], query: dict[str, str]) -> None:
        self._send(410, b"gone", "text/plain")

    def route_redirect(self, rest: list[str], query: dict[str, str]) -> None:
        code = int(rest[0]) if rest else 302
        self._send(code, b"", "text/plain", {"Location": query.get("to", "/page")})

    def route_loop(self, rest: list[str], query: dict[str, str]) -> None:
        other = "/loop/b" if rest[:1] == ["a"] else "/loop/a"
        self._send(302, b"", "text/plain", {"Location": other})

    def route_drip(self, rest: list[str], query: dict[str, str]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.flush()
        for _ in range(int(query.get("bytes", "30"))):
            if self._stopping():
                break
            self.wfile.write(b"x")
            self.wfile.flush()
            time.sleep(1)
        self.close_connection = True

    def route_stall(self, rest: list[str], query: dict[str, str]) -> None:
        self.server.owner.stopped.wait(float(query.get("seconds", "30")))
        self._send(200, PAGE, "text/html")

    def route_endless(self, rest: list[str], query: dict[str, str]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Connection", "close")  # the body ends when the connection does
        self.end_headers()
        chunk = b"<p>" + b"x" * 65536 + b"</p>"
        while not self._stopping():
            self.wfile.write(chunk)
        self.close_connection = True

    def route_gzip_bomb(self, rest: list[str], query: dict[str, str]) -> None:
        self._send(200, gzip_bomb(), "text/html", {"Content-Encoding": "gzip"})

    def route_brotli_bomb(self, rest: list[str], query: dict[str, str]) -> None:
        self._send(200, brotli_bomb(), "text/html", {"Content-Encoding": "br"})

    def route_wrong_type(self, rest: list[str], query: dict[str, str]) -> None:
        self._send(200, FEED, "image/png")

    def route_big(self, rest: list[str], query: dict[str, str]) -> None:
        self._send(200, b"x" * int(query.get("bytes", "1000")), "text/html")

    def route_set_cookie(self, rest: list[str], query: dict[str, str]) -> None:
        if "seen=1" in self.headers.get("Cookie", ""):
            self._send(200, PAGE, "text/html")
        else:
            self._send(302, b"", "text/plain", {"Location": self.path, "Set-Cookie": "seen=1"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # do not wait for endless responses when stopping
    owner: HostileServer


class HostileServer:
    """A hostile HTTP server on `host` (any 127.x address), port chosen by the system."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        self._requests: list[RequestRecord] = []
        self._server = _Server((host, port), _Handler)
        self._server.owner = self
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            # a short poll keeps stop() quick: shutdown() waits for the loop to notice
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"hostile-{host}",
            daemon=True,
        )

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._requests)

    @property
    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def _record(self, record: RequestRecord) -> None:
        with self._lock:
            self._requests.append(record)

    def start(self) -> HostileServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
