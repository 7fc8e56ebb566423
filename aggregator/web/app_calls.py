"""What the readers' app APIs (Google Reader at /greader/, Fever at /fever/) share: one
request's parameters (query string and form body, bounded), the client's address, and the
store opened for reading or writing.

The APIs are answered in Starlette's thread pool like every page: the endpoint reads the
body (async), then runs the handler, whose store calls block.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from aggregator.store.sqlite import SqliteStore
from aggregator.web.queries import BadRequest
from aggregator.web.responses import WebContext, context

MAX_BODY = 1024 * 1024  # an edit of 10,000 long item ids is about 500 KB
MAX_VALUES = 20_000


@dataclass(frozen=True)
class Call:
    """One API request: where it came from, its path and parameters."""

    web: WebContext
    method: str
    path: str  # below the API's mount point, without leading slashes
    pairs: tuple[tuple[str, str], ...]  # query string, then form body
    headers: dict[str, str]
    address: str

    def get(self, name: str, default: str = "") -> str:
        for key, value in self.pairs:
            if key == name:
                return value
        return default

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.pairs if key == name]

    def has(self, name: str) -> bool:
        return any(key == name for key, _ in self.pairs)

    @contextmanager
    def store(self, *, write: bool = False) -> Iterator[SqliteStore]:
        """The store for this call: a read-only snapshot, or a writer for marks and logins."""
        store = SqliteStore(self.web.storage, readonly=not write)
        try:
            yield store
        finally:
            store.close()


async def read_call(request: Request, path: str) -> Call:
    """The request's parameters; BadRequest for a body over MAX_BODY or unparseable."""
    body = b""
    if request.method == "POST":
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY:
            raise BadRequest(f"request body over {MAX_BODY // 1024} KB")
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                raise BadRequest(f"request body over {MAX_BODY // 1024} KB")
    try:
        pairs = parse_qsl(
            request.url.query, keep_blank_values=True, max_num_fields=MAX_VALUES
        ) + parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_VALUES)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"unreadable parameters: {exc}") from exc
    return Call(
        web=context(request),
        method=request.method,
        path=path.lstrip("/"),
        pairs=tuple(pairs),
        headers={k.lower(): v for k, v in request.headers.items()},
        address=request.client.host if request.client else "",
    )


async def answer(
    request: Request,
    path: str,
    handler: Callable[[Call], Response],
    bad_request: Callable[[str], Response],
) -> Response:
    """Read the call, run ``handler`` in the thread pool; BadRequest -> ``bad_request``."""
    try:
        call = await read_call(request, path)
        response: Response = await run_in_threadpool(handler, call)
    except BadRequest as exc:
        return bad_request(str(exc))
    return response
