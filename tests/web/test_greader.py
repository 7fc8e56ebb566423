"""The Google Reader API at /greader/, end to end: real pipeline, real server, real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import feedparser
import httpx
import pytest

from aggregator.store.sqlite import SqliteStore
from tests.web.apps_support import Served, auth_token, fill_store, login, serve

API = "/greader/reader/api/0/"
READ = "user/-/state/com.google/read"
STARRED = "user/-/state/com.google/starred"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    storage, feeds = fill_store(tmp_path_factory.mktemp("greader"))
    with serve(storage, feeds) as served:
        yield served


@pytest.fixture
def alice(served: Served) -> Iterator[httpx.Client]:
    """A fresh session of alice's, her marks cleared."""
    with SqliteStore(served.storage) as store:
        store._db.execute("DELETE FROM read_marks")
        store._db.execute("DELETE FROM star_marks")
    token = auth_token(served.url, "alice")
    headers = {"Authorization": f"GoogleLogin auth={token}"}
    with httpx.Client(base_url=served.url, headers=headers, timeout=30) as client:
        yield client


def ok_json(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def unread(client: httpx.Client, stream: str = "user/-/state/com.google/reading-list") -> int:
    counts = ok_json(client.get(API + "unread-count", params={"output": "json"}))
    return next((c["count"] for c in counts["unreadcounts"] if c["id"] == stream), 0)


def all_ids(client: httpx.Client, **params: str) -> list[str]:
    """Every id of a stream, following continuations two at a time."""
    found, continuation = [], None
    while True:
        page = {"n": "2", "output": "json", **params}
        if continuation:
            page["c"] = continuation
        doc = ok_json(client.get(API + "stream/items/ids", params=page))
        found += [ref["id"] for ref in doc["itemRefs"]]
        continuation = doc.get("continuation")
        if not continuation:
            return found


def test_login_and_tokens(served: Served):
    assert login(served.url, "alice", "wrong").status_code == 401
    assert login(served.url, "nobody", "x").text.startswith("Error=BadAuthentication")
    assert httpx.get(served.url + API + "user-info").status_code == 401  # no token
    bad = {"Authorization": "GoogleLogin auth=forged"}
    assert httpx.get(served.url + API + "user-info", headers=bad).status_code == 401
    token = auth_token(served.url, "alice")
    headers = {"Authorization": f"GoogleLogin auth={token}"}
    info = ok_json(httpx.get(served.url + API + "user-info", headers=headers))
    assert info["userName"] == "alice"
    # the server URL given with its slash: clients then join paths with a double one
    again = httpx.get(served.url + "/greader//reader/api/0/user-info", headers=headers)
    assert again.status_code == 200
    assert len(httpx.get(served.url + API + "token", headers=headers).text) == 57


def test_a_new_password_revokes_tokens_at_once(served: Served):
    token = auth_token(served.url, "carol")
    headers = {"Authorization": f"GoogleLogin auth={token}"}
    assert httpx.get(served.url + API + "user-info", headers=headers).status_code == 200
    with SqliteStore(served.storage) as store:
        store.set_password("carol", "carol pw")
    assert httpx.get(served.url + API + "user-info", headers=headers).status_code == 401


def test_subscriptions_folders_and_counts(served: Served, alice: httpx.Client):
    subs = ok_json(alice.get(API + "subscription/list", params={"output": "json"}))
    by_title = {s["title"]: s for s in subs["subscriptions"]}
    assert set(by_title) == {"North Times", "South Herald"}
    north = by_title["North Times"]
    assert north["id"] == "feed/" + served.feeds["north"]
    assert {c["label"] for c in north["categories"]} == {"europe", "en"}
    tags = ok_json(alice.get(API + "tag/list", params={"output": "json"}))["tags"]
    folders = {t["label"] for t in tags if t.get("type") == "folder"}
    assert folders == {"europe", "en", "americas", "es"}
    total = unread(alice)
    with SqliteStore(served.storage) as store:
        originals = store._db.execute(
            "SELECT count(*) FROM articles WHERE duplicate_of IS NULL"
        ).fetchone()[0]
    assert total == originals  # the wire copy is folded into its original
    assert unread(alice, "user/-/label/europe") + unread(alice, "user/-/label/es") >= total


def test_ids_pages_and_contents_with_story_labels(served: Served, alice: httpx.Client):
    ids = all_ids(alice, s="user/-/state/com.google/reading-list", xt=READ)
    assert len(ids) == unread(alice) and len(set(ids)) == len(ids)
    assert all(i.isdigit() for i in ids)
    long_ids = [f"tag:google.com,2005:reader/item/{int(i):016X}" for i in ids[:2]]
    doc = ok_json(alice.post(API + "stream/items/contents", data={"i": [*long_ids, ids[2]]}))
    assert [int(item["id"].rsplit("/", 1)[1], 16) for item in doc["items"]] == [
        int(i) for i in ids[:3]
    ]
    item = doc["items"][0]
    assert item["origin"]["streamId"].startswith("feed/http://127.0.0.1")
    assert any(c.startswith("user/-/label/Story: ") for c in item["categories"])
    assert item["alternate"][0]["href"].startswith("http://127.0.0.1")
    # oldest first reverses the order; a feed's stream lists only its items
    assert all_ids(alice, r="o") == list(reversed(all_ids(alice)))
    south = all_ids(alice, s="feed/" + served.feeds["south"])
    assert 0 < len(south) < len(ids)


def test_edit_tag_marks_read_and_starred_per_user(served: Served, alice: httpx.Client):
    before = unread(alice)
    first = all_ids(alice, xt=READ)[0]
    long_id = f"tag:google.com,2005:reader/item/{int(first):016x}"
    assert alice.post(API + "edit-tag", data={"i": long_id, "a": READ, "T": "x"}).text == "OK"
    assert alice.post(API + "edit-tag", data={"i": first, "a": STARRED}).text == "OK"
    assert unread(alice) == before - 1
    assert first not in all_ids(alice, xt=READ)
    assert all_ids(alice, s=STARRED) == [first]
    assert all_ids(alice, s=READ) == [first]
    # another user's token neither sees nor changes alice's marks
    with httpx.Client(base_url=served.url, timeout=30) as carol:
        carol.headers["Authorization"] = f"GoogleLogin auth={auth_token(served.url, 'carol')}"
        assert unread(carol) == before
        assert all_ids(carol, s=STARRED) == []
    alice.post(API + "edit-tag", data={"i": first, "r": READ})
    assert unread(alice) == before


def test_reading_the_original_marks_the_wire_copy(served: Served, alice: httpx.Client):
    with SqliteStore(served.storage) as store:
        original, copy = store._db.execute(
            "SELECT duplicate_of, id FROM articles WHERE duplicate_of IS NOT NULL"
        ).fetchone()
        assert str(copy) not in all_ids(alice)  # folded
        alice.post(API + "edit-tag", data={"i": str(original), "a": READ})
        user = store.user("alice")
        assert user is not None
        assert store.read_ids(user, [original, copy]) == {original, copy}


def test_mark_all_as_read_per_stream(served: Served, alice: httpx.Client):
    total = unread(alice)
    south = "feed/" + served.feeds["south"]
    in_south = unread(alice, south)
    assert in_south > 0
    assert alice.post(API + "mark-all-as-read", data={"s": south}).text == "OK"
    assert unread(alice, south) == 0
    assert unread(alice) == total - in_south
    alice.post(API + "mark-all-as-read", data={"s": "user/-/label/europe", "ts": "1"})
    assert unread(alice) == total - in_south  # nothing that old


def test_stream_contents_json_and_atom(served: Served, alice: httpx.Client):
    feed_id = "feed/" + served.feeds["north"]
    doc = ok_json(alice.get(API + "stream/contents/" + quote(feed_id, safe=""), params={"n": 50}))
    assert doc["title"] == "North Times" and doc["items"]
    first = doc["items"][0]["id"]
    alice.post(API + "edit-tag", data={"i": first, "a": READ})
    atom = alice.get("/greader/reader/atom/" + quote(feed_id, safe=""), params={"n": 50})
    assert atom.status_code == 200
    parsed = feedparser.parse(atom.content)
    assert parsed.feed.title == "North Times" and not parsed.bozo
    entries = {e.id: e for e in parsed.entries}
    read_labels = [t.get("label") for t in entries[first].tags if t.get("label") == "read"]
    assert read_labels == ["read"]
    assert any(t["term"].startswith("user/-/label/Story: ") for t in entries[first].tags)


def test_subscription_editing_is_refused_clearly(alice: httpx.Client):
    response = alice.post(API + "subscription/edit", data={"ac": "subscribe", "s": "feed/x"})
    assert response.status_code == 403 and "feeds.yaml" in response.text
    assert alice.post(API + "subscription/quickadd", data={"quickadd": "x"}).status_code == 403


@pytest.mark.parametrize(
    "path, params",
    [
        ("stream/items/ids", {"n": "0"}),
        ("stream/items/ids", {"n": "99999999"}),
        ("stream/items/ids", {"n": "many"}),
        ("stream/items/ids", {"c": "not-a-continuation"}),
        ("stream/items/ids", {"s": "user/-/state/com.google/nonsense"}),
        ("stream/items/ids", {"s": "nothing/at/all"}),
        ("stream/items/ids", {"xt": "bogus"}),
        ("stream/items/ids", {"ot": "yesterday"}),
        ("stream/contents/user%2F-%2Fbogus", {}),
        ("stream/items/contents", {"i": "tag:google.com,2005:reader/item/xyz"}),
        ("stream/items/contents", {"i": "-5"}),
        ("stream/items/contents", {}),
    ],
)
def test_bad_input_is_400_with_a_message(alice: httpx.Client, path: str, params: dict):
    response = alice.get(API + path, params=params)
    assert response.status_code == 400, (path, params, response.text)
    assert response.text.strip()


def test_bad_bodies_are_400(alice: httpx.Client):
    huge = "i=" + "1" * (2 * 1024 * 1024)
    response = alice.post(
        API + "edit-tag",
        content=huge,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400 and "KB" in response.text
    assert alice.post(API + "edit-tag", data={"i": "1"}).status_code == 400  # no a= or r=
    response = alice.post(API + "edit-tag", data={"i": "1", "a": "user/-/label/europe"})
    assert response.status_code == 400
    assert alice.get(API + "edit-tag", params={"i": "1", "a": READ}).status_code == 405
    assert alice.get("/greader/reader/api/0/nothing").status_code == 404


def test_login_flooding_is_refused_before_checking(served: Served):
    # an account of its own: the lock-out must not reach the other tests' users
    with SqliteStore(served.storage) as store:
        store.add_user("dave", "dave pw")
    for _ in range(5):
        assert login(served.url, "dave", "guess").status_code == 401
    refused = login(served.url, "dave", "dave pw")
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
