"""The Google Reader API under /greader/, for the apps readers already use (NetNewsWire,
Reeder, FeedMe, Read You, newsboat's FeedHQ backend, ...). The server URL to give them is
``http://HOST:PORT/greader/``.

    params.py   stream and item ids, n, continuation, xt/it, ot/nt -> the store's queries
    render.py   items as JSON and as the Atom stream newsboat reads; story labels
    api.py      the endpoints, the login and the dispatch by path

Clients join the server URL and their paths in different ways (``/greader//reader/...``
from a URL given with its slash), so the dispatch strips the slashes it finds.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aggregator.web.app_calls import answer
from aggregator.web.greader.api import bad, dispatch


async def endpoint(request: Request) -> Response:
    return await answer(request, request.path_params.get("rest", ""), dispatch, bad)


ROUTES = [
    Route("/greader/{rest:path}", endpoint, methods=["GET", "POST"]),
]
