"""Google Reader request parameters -> the store's queries, or BadRequest with a message.

Stream ids:  user/-/state/com.google/reading-list | starred | read, feed/<feed URL>,
             user/-/label/<feed tag>, user/-/label/Story: <story title>
Item ids:    long form tag:google.com,2005:reader/item/<16 hex digits>, or decimal
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from aggregator.store.app_reads import ItemQuery, Stream
from aggregator.web.app_calls import Call
from aggregator.web.queries import BadRequest

ITEM_PREFIX = "tag:google.com,2005:reader/item/"
READING_LIST = "user/-/state/com.google/reading-list"
STATE = "state/com.google/"
STORY_LABEL = "Story: "
DEFAULT_N = 20
MAX_N = 10_000
MAX_IDS = 10_000
USER_PART = re.compile(r"^user/[^/]*/")
_HEX = re.compile(r"^[0-9a-fA-F]{1,16}$")


def item_id(text: str) -> int:
    """An item id in the long hex form or decimal (a bare 16-digit hex string is hex, as
    NetNewsWire pads it)."""
    value = text.strip()
    if value.startswith(ITEM_PREFIX):
        value = value[len(ITEM_PREFIX) :]
        if not _HEX.match(value):
            raise BadRequest(f"malformed item id {text[:80]!r}")
        return int(value, 16)
    if len(value) == 16 and _HEX.match(value):
        return int(value, 16)
    if value.isdigit() and len(value) <= 19:
        return int(value)
    raise BadRequest(f"malformed item id {text[:80]!r} (long hex form or decimal)")


def item_ids(call: Call) -> list[int]:
    values = call.all("i")
    if not values:
        raise BadRequest("no items given (i=...)")
    if len(values) > MAX_IDS:
        raise BadRequest(f"more than {MAX_IDS} items in one request")
    return [item_id(v) for v in values]


def long_id(article_id: int) -> str:
    return f"{ITEM_PREFIX}{article_id:016x}"


def stream(stream_id: str) -> Stream:
    """The stream an id names; BadRequest for one this server does not have."""
    sid = stream_id.strip()
    if sid.startswith("feed/") and len(sid) > 5:
        return Stream("feed", sid[5:])
    rest = USER_PART.sub("", sid, count=1) if sid.startswith("user/") else ""
    if rest.startswith(STATE):
        state = rest[len(STATE) :]
        kinds = {"reading-list": "all", "starred": "starred", "read": "read"}
        if state in kinds:
            return Stream(kinds[state])
    elif rest.startswith("label/") and len(rest) > 6:
        label = rest[6:]
        if label.startswith(STORY_LABEL):
            return Stream("story", label[len(STORY_LABEL) :])
        return Stream("label", label)
    raise BadRequest(f"unknown stream {stream_id[:200]!r}")


def state_filter(values: list[str], query: dict[str, bool]) -> None:
    """``xt``/``it`` values (exclude/include a state) -> ``query["read"|"starred"]``."""
    for value in values:
        rest = USER_PART.sub("", value.strip(), count=1)
        if not rest.startswith(STATE):
            raise BadRequest(f"unknown state {value[:200]!r}")
        state = rest[len(STATE) :]
        if state in ("read", "starred"):
            query[state] = True
        # other states (kept-unread, fresh, ...) are not kept here: no item has them


def number(call: Call, name: str, default: int, low: int, high: int) -> int:
    text = call.get(name, "")
    if not text:
        return default
    if not text.strip().isdigit() or not low <= int(text) <= high:
        raise BadRequest(f"{name} must be a whole number from {low} to {high}, not {text[:40]!r}")
    return int(text)


def epoch(call: Call, name: str) -> datetime | None:
    """A time given in seconds (or, for ``ts``, micro- or milliseconds) since 1970."""
    text = call.get(name, "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise BadRequest(f"{name} must be a Unix time, not {text[:40]!r}") from None
    while value > 1e11:  # microseconds (ts) or milliseconds
        value /= 1000
    if not 0 <= value < 1e11:
        raise BadRequest(f"{name} must be a Unix time, not {text[:40]!r}")
    return datetime.fromtimestamp(value, UTC)


def item_query(call: Call, stream_id: str, *, default_n: int = DEFAULT_N) -> ItemQuery:
    """A stream request's query: s, xt, it, n, c (continuation), ot, nt, r."""
    exclude: dict[str, bool] = {}
    include: dict[str, bool] = {}
    state_filter(call.all("xt"), exclude)
    state_filter(call.all("it"), include)
    continuation = call.get("c", "").strip()
    if continuation and not (continuation.isdigit() and len(continuation) <= 9):
        raise BadRequest(f"unknown continuation {continuation[:40]!r}")
    order = call.get("r", "n")
    if order not in ("n", "d", "o", ""):
        raise BadRequest(f"r must be n (newest first) or o (oldest first), not {order[:10]!r}")

    def flag(state: str) -> bool | None:
        if exclude.get(state) and include.get(state):
            raise BadRequest(f"{state} both included and excluded")
        return False if exclude.get(state) else True if include.get(state) else None

    return ItemQuery(
        stream=stream(stream_id),
        read=flag("read"),
        starred=flag("starred"),
        since=epoch(call, "ot"),
        until=epoch(call, "nt"),
        oldest_first=order == "o",
        limit=number(call, "n", default_n, 1, MAX_N),
        offset=int(continuation or 0),
    )
