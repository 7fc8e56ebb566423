"""A small static site on 127.0.0.1 for end-to-end tests: path -> (content type, body).

Answers conditional requests with 304 (ETag), logs every request path, and lets a test
replace routes between runs.
"""

from __future__ import annotations

import hashlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


class LocalSite:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, tuple[int, str, bytes]] = {}
        self.headers: dict[str, dict[str, str]] = {}  # path -> extra response headers
        self.requests: list[str] = []
        self.delays: dict[str, float] = {}  # path -> seconds to wait before answering
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - stdlib name
                with site._lock:
                    site.requests.append(self.path)
                    route = site.routes.get(self.path.split("?", 1)[0])
                    delay = site.delays.get(self.path.split("?", 1)[0], 0.0)
                if delay:
                    time.sleep(delay)
                if route is None:
                    self.send_error(404)
                    return
                status, ctype, body = route
                extra = site.headers.get(self.path.split("?", 1)[0], {})
                etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
                if status == 200 and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", etag)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        class QuietServer(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a client that hung up (a stopped daemon) is not a test failure

        self.server = QuietServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://{host}:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return self.base_url + path

    def add(
        self,
        path: str,
        body: str | bytes,
        ctype: str = "text/html; charset=utf-8",
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> str:
        data = body.encode("utf-8") if isinstance(body, str) else body
        with self._lock:
            self.routes[path] = (status, ctype, data)
            self.headers[path] = dict(headers or {})
        return self.url(path)

    def count(self, prefix: str = "") -> int:
        with self._lock:
            return sum(1 for p in self.requests if p.startswith(prefix))

    def __enter__(self) -> LocalSite:
        self._thread.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.server.shutdown()
        self.server.server_close()
