"""The Fever API under /fever/, for the apps that speak nothing else (Reeder Classic, Unread,
Fluent Reader). The server URL to give them is ``http://HOST:PORT/fever/``.

Every call is ``POST /fever/?api&<what>`` with ``api_key`` = md5("name:password") in the
form, as the protocol defines; only accounts added with ``--fever`` have such a key. Items
are stored articles with wire copies folded into their original; groups are the feeds' tags.
Feeds and groups have no numbers in the store, so they get stable ones from their URL or
name (a 31-bit digest).
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aggregator.store import Account
from aggregator.store.app_reads import ItemQuery, Stream, Subscription
from aggregator.store.sqlite import SqliteStore
from aggregator.web.app_calls import Call, answer
from aggregator.web.greader.render import content_html
from aggregator.web.queries import BadRequest
from aggregator.web.safety import safe_url

API_VERSION = 3
PAGE = 50  # items per call, as Fever does
MAX_ID_LIST = 50
ALL = 10**9  # no page: every unread or saved id


def number_for(name: str) -> int:
    """A stable positive 31-bit number for a feed URL or a tag."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big") >> 1 or 1


def _json(doc: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(doc, ensure_ascii=False), status, media_type="application/json")


def bad(message: str) -> Response:
    return _json({"api_version": API_VERSION, "auth": 0, "error": message}, 400)


def _ids(text: str, name: str, most: int | None = None) -> list[int]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or not all(p.isdigit() and len(p) <= 18 for p in parts):
        raise BadRequest(f"{name} must be numbers separated by commas, not {text[:60]!r}")
    if most is not None and len(parts) > most:
        raise BadRequest(f"at most {most} ids in {name}")
    return [int(p) for p in parts]


def _int(call: Call, name: str) -> int | None:
    text = call.get(name).strip()
    return _ids(text, name, 1)[0] if text else None


def _groups(subs: list[Subscription]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    tags = sorted({t for s in subs for t in s.tags})
    groups = [{"id": number_for(t), "title": t} for t in tags]
    feeds_groups = [
        {
            "group_id": number_for(t),
            "feed_ids": ",".join(str(number_for(s.url)) for s in subs if t in s.tags),
        }
        for t in tags
    ]
    return groups, feeds_groups


def _items(store: SqliteStore, user: Account, call: Call) -> dict[str, Any]:
    total = store.app_count(user, ItemQuery())
    if call.get("with_ids"):
        ids = _ids(call.get("with_ids"), "with_ids", MAX_ID_LIST)
    else:
        since, most = _int(call, "since_id"), _int(call, "max_id")
        query = ItemQuery(limit=PAGE, after_id=since, before_id=most)
        if since is None and most is None:
            query = ItemQuery(limit=PAGE, after_id=0)
        ids = store.app_ids_by_id(user, query)
    docs = [
        {
            "id": i.id,
            "feed_id": number_for(i.feed_url or ""),
            "title": i.title,
            "author": i.author or "",
            "html": content_html(i),
            "url": safe_url(i.url) or "",
            "is_saved": int(i.starred),
            "is_read": int(i.read),
            "created_on_time": int(i.sort_time.timestamp()),
        }
        for i in store.app_items(user, ids)
    ]
    return {"items": docs, "total_items": total}


def _mark(store: SqliteStore, user: Account, call: Call, subs: list[Subscription]) -> None:
    what, state, target = call.get("mark"), call.get("as"), _int(call, "id")
    if target is None:
        raise BadRequest("mark needs an id")
    if what == "item":
        if state not in ("read", "unread", "saved", "unsaved"):
            raise BadRequest(f"an item can be marked read, unread, saved or unsaved, not {state!r}")
        if state in ("read", "unread"):
            store.mark_read(user, [target], state == "read")
        else:
            store.mark_starred(user, [target], state == "saved")
        return
    if what not in ("feed", "group") or state != "read":
        raise BadRequest(f"cannot mark {what!r} as {state!r}")
    before = _int(call, "before")
    until = None if before is None else _from_epoch(before)
    if what == "feed":
        urls = [s.url for s in subs if number_for(s.url) == target]
        if not urls:
            raise BadRequest(f"no feed {target}")
        stream = Stream("feed", urls[0])
    elif target == 0:
        stream = Stream()  # group 0: everything (Fever's "Kindling")
    else:
        tags = [t for s in subs for t in s.tags if number_for(t) == target]
        if not tags:
            raise BadRequest(f"no group {target}")
        stream = Stream("label", tags[0])
    store.app_mark_read(user, ItemQuery(stream=stream, until=until))


def _from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(min(seconds, 10**11), UTC)


def handle(call: Call) -> Response:
    if not call.has("api"):
        raise BadRequest("not a Fever API call (POST /fever/?api)")
    write = call.has("mark")
    with call.store(write=write) as store:
        user = store.fever_user(call.get("api_key"))
        doc: dict[str, Any] = {"api_version": API_VERSION, "auth": int(user is not None)}
        if user is None:
            return _json(doc)  # the protocol answers auth: 0, not an HTTP error
        subs = store.app_subscriptions()
        doc["last_refreshed_on_time"] = int(time.time())
        if write:
            _mark(store, user, call, subs)
        if call.has("groups") or call.has("feeds"):
            groups, feeds_groups = _groups(subs)
            doc["feeds_groups"] = feeds_groups
            if call.has("groups"):
                doc["groups"] = groups
        if call.has("feeds"):
            doc["feeds"] = [
                {
                    "id": number_for(s.url),
                    "favicon_id": 0,
                    "title": s.title,
                    "url": s.url,
                    "site_url": "",
                    "is_spark": 0,
                    "last_updated_on_time": 0,
                }
                for s in subs
            ]
        if call.has("favicons"):
            doc["favicons"] = []
        if call.has("links"):
            doc["links"] = []
        if call.has("items"):
            doc.update(_items(store, user, call))
        if call.has("unread_item_ids") or (write and call.get("as") in ("read", "unread")):
            unread = store.app_ids_by_id(user, ItemQuery(read=False, limit=ALL, after_id=0))
            doc["unread_item_ids"] = ",".join(map(str, unread))
        if call.has("saved_item_ids") or (write and call.get("as") in ("saved", "unsaved")):
            saved = store.app_ids_by_id(user, ItemQuery(starred=True, limit=ALL, after_id=0))
            doc["saved_item_ids"] = ",".join(map(str, saved))
    return _json(doc)


async def endpoint(request: Request) -> Response:
    return await answer(request, "", handle, bad)


ROUTES = [
    Route("/fever/", endpoint, methods=["GET", "POST"]),
    Route("/fever", endpoint, methods=["GET", "POST"]),
]
