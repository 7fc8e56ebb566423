"""A local news site serving bundled sample news, for `aggregator demo`, tests and evaluation.

The sample news (data.py: fictional outlets and events written for this project, each article
labelled with the event it reports) is rendered once, when the site is built (render.py: each
outlet with its own page layout and feed format), so responses are byte-for-byte stable and
conditional requests get 304s. The labels never appear in what the server sends;
:meth:`DemoSite.labels` hands them to tests and evaluations.

    with DemoSite() as site:
        print(site.feeds_yaml())    # point the aggregator at site.base_url
"""

from __future__ import annotations

import argparse
import hashlib
import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aggregator.demo.data import DemoArticle, Outlet, load_articles
from aggregator.demo.render import FEEDS, render_page

__all__ = ["DemoSite"]

_HTML_TYPE = "text/html; charset=utf-8"


@dataclass(frozen=True)
class _Resource:
    body: bytes
    content_type: str
    last_modified: datetime

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'


def _build_resources(
    outlets: tuple[Outlet, ...], articles: tuple[DemoArticle, ...], base_url: str
) -> dict[str, _Resource]:
    res: dict[str, _Resource] = {}
    for outlet in outlets:
        own = sorted(
            (a for a in articles if a.outlet == outlet), key=lambda a: a.published, reverse=True
        )
        render_feed, feed_type = FEEDS[outlet.feed_format]
        feed = render_feed(outlet, own, base_url)
        res[outlet.feed_path] = _Resource(feed.encode("utf-8"), feed_type, own[0].published)
        for a in own:
            others = [o for o in own if o is not a]
            page = render_page(a, others, base_url)
            res[a.path] = _Resource(page.encode("utf-8"), _HTML_TYPE, a.published)
    newest = max(a.published for a in articles)
    robots = "User-agent: *\nAllow: /\n"
    res["/robots.txt"] = _Resource(robots.encode(), "text/plain; charset=utf-8", newest)
    return res


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    resources: dict[str, _Resource]  # set right after binding, before serving starts
    # (path, status) of every response, for evaluations that count requests
    log: list[tuple[str, int]]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in separate writes; without TCP_NODELAY, Nagle's algorithm and
    # delayed ACKs add ~40 ms to every keep-alive response
    disable_nagle_algorithm = True
    server_version = "DemoNewsSite/1.0"

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # tests and the demo run quietly

    def _respond(self, *, send_body: bool) -> None:
        assert isinstance(self.server, _Server)
        # query strings (tracking parameters) do not change what a page is
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        res = self.server.resources.get(path)
        if res is None:
            self._send(404, b"Not found\n", "text/plain; charset=utf-8", {}, send_body)
            return
        headers = {
            "ETag": res.etag,
            "Last-Modified": format_datetime(res.last_modified, usegmt=True),
            "Cache-Control": "max-age=60",
        }
        if self._not_modified(res):
            self._send(304, b"", None, headers, send_body=False)
            return
        self._send(200, res.body, res.content_type, headers, send_body)

    def _not_modified(self, res: _Resource) -> bool:
        # If-None-Match wins over If-Modified-Since when both are sent (RFC 9110 13.1.3)
        match = self.headers.get("If-None-Match")
        if match is not None:
            tags = {t.strip().removeprefix("W/") for t in match.split(",")}
            return "*" in tags or res.etag in tags
        since = self.headers.get("If-Modified-Since")
        if since is None:
            return False
        try:
            when = parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return res.last_modified <= when

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str | None,
        headers: dict[str, str],
        send_body: bool,
    ) -> None:
        assert isinstance(self.server, _Server)
        self.server.log.append((self.path, status))
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body and body:
            self.wfile.write(body)


class DemoSite:
    """The sample news site on a local address; a context manager that starts and stops it.

    The socket is bound on construction, so ``base_url`` (and the feeds and labels that depend
    on it) are known before :meth:`start`.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, now: datetime | None = None):
        self.outlets, self.articles = load_articles(now)
        self._server = _Server((host, port), _Handler)
        bound_host, bound_port = self._server.server_address[:2]
        host_text = bound_host if isinstance(bound_host, str) else bound_host.decode()
        self.base_url = f"http://{host_text}:{bound_port}"
        self._server.resources = _build_resources(self.outlets, self.articles, self.base_url)
        self._server.log = []
        self._thread: threading.Thread | None = None

    # -- what the site holds

    @property
    def requests(self) -> list[tuple[str, int]]:
        """(path, status) of every response so far."""
        return list(self._server.log)

    def feed_urls(self) -> list[str]:
        return [f"{self.base_url}{o.feed_path}" for o in self.outlets]

    def feeds_yaml(self) -> str:
        """A feeds.yaml text listing every demo outlet's feed."""
        lines = [
            "# Feeds of the aggregator's bundled demo site (sample news written for the project).",
            f"# Served locally at {self.base_url}; generated by aggregator.demo.site.",
            "feeds:",
        ]
        for o in self.outlets:
            lines += [
                f"  - url: {self.base_url}{o.feed_path}",
                f"    name: {json.dumps(o.name)}",
                f"    tags: [{o.region}, {o.language}]",
            ]
        return "\n".join(lines) + "\n"

    def labels(self) -> dict[str, str]:
        """Article page URL (without tracking parameters) -> event label. For evaluation only."""
        return {f"{self.base_url}{a.path}": a.event for a in self.articles}

    def duplicates(self) -> dict[str, str]:
        """Page URL of each verbatim republished copy -> page URL of the original."""
        paths = {a.key: a.path for a in self.articles}
        return {
            f"{self.base_url}{a.path}": f"{self.base_url}{paths[a.copy_of]}"
            for a in self.articles
            if a.copy_of
        }

    # -- lifecycle

    def start(self) -> DemoSite:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},  # so that stop() returns promptly
                name="demo-site",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> DemoSite:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """Serve the demo site in the foreground: ``python -m aggregator.demo.site --port 8765``."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    site = DemoSite(args.host, args.port)
    print(site.feeds_yaml(), flush=True)
    try:
        site._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        site._server.server_close()


if __name__ == "__main__":
    main()
