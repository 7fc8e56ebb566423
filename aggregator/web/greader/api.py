"""The Google Reader API's endpoints, each a function of one :class:`Call`.

A client logs in with ``accounts/ClientLogin`` (Email, Passwd) and sends the Auth line back
as ``Authorization: GoogleLogin auth=...``. The ``T`` edit token the clients fetch from
``reader/api/0/token`` is answered but not checked: the Authorization header is never sent
by a browser on its own, so there is no cross-site request to guard against.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from starlette.responses import PlainTextResponse, Response

from aggregator.errors import AccountError
from aggregator.store import Account
from aggregator.store.app_reads import AppItem, ItemQuery
from aggregator.store.sqlite import SqliteStore
from aggregator.web.app_calls import Call
from aggregator.web.auth import LoginRefused, log_in
from aggregator.web.greader import params, render
from aggregator.web.queries import BadRequest

TOKEN_KIND = "greader"
AUTH_PREFIX = "googlelogin auth="
EDIT_REFUSED = (
    "Subscriptions and folders are managed by the operator in feeds.yaml; "
    "this server does not change them."
)


class Unauthorized(Exception):
    pass


def ok() -> Response:
    return PlainTextResponse("OK")


def json_doc(doc: Any) -> Response:
    body = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    return Response(body, media_type="application/json", headers={"cache-control": "no-store"})


def bad(message: str, status: int = 400) -> Response:
    return PlainTextResponse(message + "\n", status_code=status)


def caller(call: Call, store: SqliteStore) -> Account:
    """The account the Authorization header's token belongs to; Unauthorized otherwise."""
    header = call.headers.get("authorization", "")
    token = header[len(AUTH_PREFIX) :].strip() if header.lower().startswith(AUTH_PREFIX) else ""
    user = store.token_user(token, TOKEN_KIND) if token else None
    if user is None:
        raise Unauthorized
    return user


# ---------------------------------------------------------------------- login
def client_login(call: Call) -> Response:
    name, password = call.get("Email"), call.get("Passwd")
    with call.store(write=True) as store:
        try:
            user = log_in(store, call.web.logins, name, password, call.address)
        except LoginRefused as refused:
            if refused.retry_after:
                wait = str(int(refused.retry_after) + 1)
                return PlainTextResponse(
                    "Error=TooManyRequests\n", status_code=429, headers={"retry-after": wait}
                )
            return PlainTextResponse("Error=BadAuthentication\n", status_code=401)
        token = store.issue_token(user, TOKEN_KIND)
    return PlainTextResponse(f"SID={token}\nLSID={token}\nAuth={token}\n")


def edit_token(call: Call, user: Account, store: SqliteStore) -> Response:
    header = call.headers.get("authorization", "")
    return PlainTextResponse(hashlib.sha256(header.encode()).hexdigest()[:57])


def user_info(call: Call, user: Account, store: SqliteStore) -> Response:
    uid = str(user.id)
    return json_doc(
        {"userId": uid, "userName": user.name, "userProfileId": uid, "userEmail": user.name}
    )


# ---------------------------------------------------------------------- lists
def tag_list(call: Call, user: Account, store: SqliteStore) -> Response:
    tags = sorted({t for s in store.app_subscriptions() for t in s.tags})
    doc = [{"id": render.STATE + "starred"}]
    doc += [{"id": render.LABEL + t, "label": t, "type": "folder"} for t in tags]
    return json_doc({"tags": doc})


def subscription_list(call: Call, user: Account, store: SqliteStore) -> Response:
    subs = [
        {
            "id": f"feed/{s.url}",
            "title": s.title,
            "categories": [{"id": render.LABEL + t, "label": t} for t in s.tags],
            "url": s.url,
            "htmlUrl": render.site_url(s.url),
            "iconUrl": "",
        }
        for s in store.app_subscriptions()
    ]
    return json_doc({"subscriptions": subs})


def unread_count(call: Call, user: Account, store: SqliteStore) -> Response:
    total, per_feed, per_tag = store.app_unread_counts(user)
    counts: list[dict[str, Any]] = []
    newest_all = None
    for url, (n, newest) in sorted(per_feed.items()):
        entry: dict[str, Any] = {"id": f"feed/{url}", "count": n}
        if newest is not None:
            entry["newestItemTimestampUsec"] = render.usec(newest)
            newest_all = max(newest_all or newest, newest)
        counts.append(entry)
    counts += [{"id": render.LABEL + t, "count": n} for t, n in sorted(per_tag.items())]
    reading: dict[str, Any] = {"id": params.READING_LIST, "count": total}
    if newest_all is not None:
        reading["newestItemTimestampUsec"] = render.usec(newest_all)
    counts.append(reading)
    return json_doc({"max": max(total, 1000), "unreadcounts": counts})


# ---------------------------------------------------------------------- streams
def _page(store: SqliteStore, user: Account, query: ItemQuery) -> tuple[list[int], str | None]:
    """One page of ids and the continuation to the next (None on the last page)."""
    ids = store.app_item_ids(user, replace(query, limit=query.limit + 1))
    more = len(ids) > query.limit
    return ids[: query.limit], str(query.offset + query.limit) if more else None


def item_ids(call: Call, user: Account, store: SqliteStore) -> Response:
    query = params.item_query(call, call.get("s", params.READING_LIST))
    ids, continuation = _page(store, user, query)
    doc: dict[str, Any] = {"itemRefs": [{"id": str(i), "directStreamIds": []} for i in ids]}
    if continuation:
        doc["continuation"] = continuation
    return json_doc(doc)


def items_contents(call: Call, user: Account, store: SqliteStore) -> Response:
    items = store.app_items(user, params.item_ids(call))
    now = call.web.now()
    return json_doc(render.stream_json(params.READING_LIST, "Reading list", items, now, None))


def _stream_title(store: SqliteStore, stream_id: str) -> str:
    wanted = params.stream(stream_id)
    if wanted.kind == "feed":
        for sub in store.app_subscriptions():
            if sub.url == wanted.value:
                return sub.title
    return wanted.value or stream_id.rsplit("/", 1)[-1]


def _stream_page(
    call: Call, user: Account, store: SqliteStore, prefix: str
) -> tuple[str, str, list[AppItem], str | None]:
    """The stream named after ``prefix/`` in the path (or by ``s``): its id, its title, one
    page of its items and the continuation to the next."""
    stream_id = _stream_in_path(call, prefix) or params.READING_LIST
    ids, continuation = _page(store, user, params.item_query(call, stream_id))
    return stream_id, _stream_title(store, stream_id), store.app_items(user, ids), continuation


def stream_contents(call: Call, user: Account, store: SqliteStore) -> Response:
    stream_id, title, items, more = _stream_page(call, user, store, "reader/api/0/stream/contents")
    return json_doc(render.stream_json(stream_id, title, items, call.web.now(), more))


def atom_stream(call: Call, user: Account, store: SqliteStore) -> Response:
    stream_id, title, items, more = _stream_page(call, user, store, "reader/atom")
    body = render.atom_feed(stream_id, title, items, call.web.now(), more)
    return Response(body, media_type="application/atom+xml; charset=utf-8")


def _stream_in_path(call: Call, prefix: str) -> str:
    """The stream id after ``prefix/`` in the path (else the ``s`` parameter)."""
    rest = call.path[len(prefix) :].lstrip("/")
    return rest or call.get("s")


# ---------------------------------------------------------------------- edits
def edit_tag(call: Call, user: Account, store: SqliteStore) -> Response:
    ids = params.item_ids(call)
    changes = [(tag, True) for tag in call.all("a")] + [(tag, False) for tag in call.all("r")]
    if not changes:
        raise BadRequest("nothing to change (a=... or r=...)")
    for tag, on in changes:
        state = params.USER_PART.sub("", tag.strip(), count=1)
        if state == params.STATE + "read":
            store.mark_read(user, ids, on)
        elif state == params.STATE + "starred":
            store.mark_starred(user, ids, on)
        elif state.startswith(params.STATE):
            continue  # kept-unread, tracking-..., broadcast: nothing to keep
        else:
            raise BadRequest(f"only the read and starred states can be changed, not {tag!r}")
    return ok()


def mark_all_as_read(call: Call, user: Account, store: SqliteStore) -> Response:
    stream_id = call.get("s")
    if not stream_id:
        raise BadRequest("which stream? (s=...)")
    query = ItemQuery(stream=params.stream(stream_id), until=params.epoch(call, "ts"))
    store.app_mark_read(user, query)
    return ok()


def refuse_edit(call: Call) -> Response:
    return bad(EDIT_REFUSED, 403)


Handler = Callable[[Call, Account, SqliteStore], Response]

# path below /greader/ -> (handler, needs a writing store)
READS: dict[str, Handler] = {
    "reader/api/0/token": edit_token,
    "reader/api/0/user-info": user_info,
    "reader/api/0/tag/list": tag_list,
    "reader/api/0/subscription/list": subscription_list,
    "reader/api/0/unread-count": unread_count,
    "reader/api/0/stream/items/ids": item_ids,
    "reader/api/0/stream/items/contents": items_contents,
    "reader/api/0/stream/contents": stream_contents,
    "reader/atom": atom_stream,
}
WRITES: dict[str, Handler] = {
    "reader/api/0/edit-tag": edit_tag,
    "reader/api/0/mark-all-as-read": mark_all_as_read,
}
REFUSED = (
    "reader/api/0/subscription/edit",
    "reader/api/0/subscription/quickadd",
    "reader/api/0/rename-tag",
    "reader/api/0/disable-tag",
)


def dispatch(call: Call) -> Response:
    """The endpoint a path names, with its caller checked first."""
    path = call.path.rstrip("/")
    if path == "accounts/ClientLogin":
        return client_login(call)
    if path in REFUSED:
        return refuse_edit(call)
    write = path in WRITES
    handler = WRITES.get(path) or READS.get(path)
    if handler is None:
        prefix = next((p for p in ("reader/api/0/stream/contents/", "reader/atom/")
                       if path.startswith(p)), None)  # fmt: skip
        handler = READS.get(prefix.rstrip("/")) if prefix else None
    if handler is None:
        return bad(f"no such Google Reader endpoint: /{path[:200]}", 404)
    if write and call.method != "POST":
        return bad(f"/{path} changes state: POST it", 405)
    try:
        with call.store(write=write) as store:
            user = caller(call, store)
            return handler(call, user, store)
    except Unauthorized:
        return PlainTextResponse(
            "Unauthorized\n", status_code=401, headers={"www-authenticate": "GoogleLogin"}
        )
    except AccountError as exc:
        return bad(str(exc))
