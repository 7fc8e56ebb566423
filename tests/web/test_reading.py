"""A logged-in reader on the pages: unread counts, marking read, stars, and a private server.

Over real HTTP to the real server (127.0.0.1), on copies of the store test_server.py fills
(three stories; the floods story has three originals and a wire copy).
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

import httpx
import pytest

from aggregator.store.sqlite import SqliteStore
from aggregator.types import NewArticle, Placement
from tests.web.readers import (
    PASSWORD,
    add_users,
    browser,
    copy_store,
    form,
    log_in,
    post_forms,
    served,
    submit,
    unread_counts,
)
from tests.web.test_server import NOW, assert_inert, storage  # noqa: F401 - the store fixture


@pytest.fixture
def store(storage, tmp_path):  # noqa: F811
    copy = copy_store(storage, tmp_path / "store")
    add_users(copy, "alice", "bob")
    return copy


def floods_id(client) -> str:
    stories = client.get("/api/stories?since=all").json()["stories"]
    return next(s["id"] for s in stories if s["source_count"] == 3)


def join_story(directory, story_id: str) -> None:
    """A new article joins the story, as the clusterer would place it."""
    with SqliteStore(directory) as store:
        store.add_article(
            NewArticle(
                key="late-report",
                guid="late-report",
                url="http://127.0.0.1:9/late.html",
                canonical_url="http://127.0.0.1:9/late.html",
                title="Valencia floods: the clean-up begins",
                feed_url="http://127.0.0.1:9/late.xml",
                source="Late Gazette",
                published=NOW - timedelta(hours=1),
                fetched=NOW,
                text="Residents of Valencia began clearing mud after the floods.",
                text_source="page",
            ),
            Placement(story_id=story_id, score=0.6, new_story=False),
            None,
        )


def test_unread_counts_and_marking_a_story_read(store):
    with served(store) as server, browser(server) as alice, browser(server) as bob:
        log_in(alice, "alice")
        log_in(bob, "bob")
        floods = floods_id(alice)
        front = alice.get("/?since=all").text
        assert_inert(front)
        # originals only: the wire copy is folded into its original, as the page shows them
        counts = unread_counts(front)
        assert counts[floods] == 3 and len(counts) == 3 and min(counts.values()) >= 1
        marked = submit(alice, form(front, "Mark read"))  # the first card: the floods
        assert marked.status_code == 303 and marked.headers["location"] == "/?since=all"
        after = alice.get("/?since=all").text
        assert unread_counts(after)[floods] == 0 and 'class="done">Read<' in after
        # the story page agrees: no article is unread, and the story may be unread again
        story = alice.get(f"/stories/{floods}").text
        assert story.count('<span class="unread">Unread</span>') == 0
        assert "Mark unread" in story and "0 unread" not in story
        # one reader's marks are not another's
        assert unread_counts(bob.get("/?since=all").text)[floods] == 3
        # unread only: the read story is gone from the list, the others stay
        unread = alice.get("/?since=all&unread=1").text
        assert floods not in unread_counts(unread) and len(unread_counts(unread)) == 2
        assert "2 stories with unread articles" in unread
        assert '<input type="hidden" name="unread" value="1">' in unread  # kept by the filters
        # mark the story unread again
        submit(alice, form(story, "Mark unread"))
        assert unread_counts(alice.get("/?since=all").text)[floods] == 3


def test_mark_all_on_this_page_read(store):
    with served(store) as server, browser(server) as alice:
        log_in(alice, "alice")
        front = alice.get("/?since=all").text
        every = form(front, "Mark all on this page read")
        assert sorted(every.fields["story"]) == sorted(unread_counts(front))
        assert submit(alice, every).status_code == 303
        assert set(unread_counts(alice.get("/?since=all").text).values()) == {0}
        empty = alice.get("/?since=all&unread=1").text
        assert "Nothing unread here" in empty and "Mark all on this page read" not in empty


def test_an_article_that_joins_a_read_story_arrives_unread(store):
    with served(store) as server, browser(server) as alice:
        log_in(alice, "alice")
        floods = floods_id(alice)
        submit(alice, form(alice.get(f"/stories/{floods}").text, "Mark read"))
        assert unread_counts(alice.get("/?since=all").text)[floods] == 0
        join_story(store, floods)
        assert unread_counts(alice.get("/?since=all").text)[floods] == 1
        story = alice.get(f"/stories/{floods}").text
        assert story.count('<span class="unread">Unread</span>') == 1
        items = story.split('<article class="item"')[1:]
        late = next(i for i in items if "the clean-up begins" in i)
        assert '<span class="unread">Unread</span>' in late
        assert floods in unread_counts(alice.get("/?since=all&unread=1").text)


def test_star_an_article_and_see_it_starred(store):
    with served(store) as server, browser(server) as alice:
        log_in(alice, "alice")
        floods = floods_id(alice)
        story = alice.get(f"/stories/{floods}").text
        assert "Nothing starred yet" in alice.get("/starred").text
        star = form(story, "☆ Star")
        assert submit(alice, star).status_code == 303
        starred = alice.get("/starred").text
        assert_inert(starred)
        assert "1 starred article" in starred and f"/stories/{floods}#article-" in starred
        submit(alice, form(starred, "★ Starred"))  # unstar from the starred list
        assert "Nothing starred yet" in alice.get("/starred").text


def test_marks_need_the_sessions_csrf_token(store):
    with served(store) as server, browser(server) as alice, browser(server) as bob:
        log_in(alice, "alice")
        log_in(bob, "bob")
        floods = floods_id(alice)
        mark = form(alice.get("/?since=all").text, "Mark read")
        bobs = form(bob.get("/?since=all").text, "Mark read")
        for changes in ({"csrf": ""}, {"csrf": "x" * 64}, {"csrf": bobs.fields["csrf"][0]}):
            refused = submit(alice, mark, **changes)
            assert refused.status_code == 403 and "nothing was changed" in refused.text
            assert_inert(refused.text)
        no_token = {k: v for k, v in mark.fields.items() if k != "csrf"}
        assert alice.post("/read", data=no_token).status_code == 403
        with browser(server) as anonymous:  # no session at all
            assert submit(anonymous, mark).status_code == 403
            assert anonymous.get("/starred").headers["location"].startswith("/login")
            assert anonymous.get("/?unread=1").headers["location"].startswith("/login")
        star = form(alice.get(f"/stories/{floods}").text, "☆ Star")
        assert submit(alice, star, csrf="").status_code == 403
        assert unread_counts(alice.get("/?since=all").text)[floods] == 3  # nothing changed
        assert "Nothing starred yet" in alice.get("/starred").text


def test_bad_marks_are_400_or_404_not_500(store):
    with served(store) as server, browser(server) as alice:
        log_in(alice, "alice")
        mark = form(alice.get("/?since=all").text, "Mark read")
        assert submit(alice, mark, story="no-such-story").status_code == 404
        assert submit(alice, mark, story="").status_code == 400
        star = form(alice.get(f"/stories/{floods_id(alice)}").text, "☆ Star")
        assert submit(alice, star, article="seven").status_code == 400


# ---------------------------------------------------------------------- a private server
def test_a_private_server_needs_a_login_except_for_health_and_metrics(store):
    with served(store, public=False) as server, browser(server) as client:
        for path in ("/", "/?since=all", "/sources", "/api", "/starred", "/no-such-page"):
            response = client.get(path)
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/login"), path
        assert client.get("/?since=all").headers["location"] == "/login?next=%2F%3Fsince%3Dall"
        for path in ("/api/stories", "/api/openapi.json", "/feed.json"):
            response = client.get(path)
            assert response.status_code == 401, path
            assert response.json()["error"]["status"] == 401
            assert response.headers["www-authenticate"].startswith("Cookie")
        for path in ("/feed.atom", "/feed.rss"):
            assert client.get(path).status_code == 401
        # what stays open: health checks, Prometheus, the stylesheet, the login form
        assert client.get("/healthz").json()["status"] == "ok"
        assert client.get("/metrics").status_code == 200
        assert client.get("/static/style.css").status_code == 200
        assert client.get("/login").status_code == 200
        # readers' apps log in with their own tokens: the page's gate leaves them alone
        # (their own answer: Google Reader's 401 without a token, Fever's auth 0)
        token = client.get("/greader/reader/api/0/token")
        assert token.status_code == 401 and "location" not in token.headers
        fever = client.post("/fever/?api", data={"api_key": "0" * 32})
        assert fever.status_code == 200 and fever.json()["auth"] == 0
        page = client.get("/login?next=%2F%3Fsince%3Dall")
        response = submit(client, form(page.text, "Log in"), name="alice", password=PASSWORD)
        assert response.headers["location"] == "/?since=all"
        for path in ("/", "/sources", "/api", "/starred", "/api/stories", "/feed.atom"):
            assert client.get(path).status_code == 200, path
        assert post_forms(client.get("/?since=all").text)


def test_aggregator_serve_reads_public_false_from_feeds_yaml(store, tmp_path):
    config = tmp_path / "feeds.yaml"
    config.write_text(
        "feeds: [https://example.org/rss.xml]\nsettings:\n  http: {port: 0, public: false}\n"
    )
    command = [sys.executable, "-m", "aggregator", "serve", "--config", str(config)]
    command += ["--storage", str(store), "--log-level", "info"]
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    found: list[str] = []

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            found.extend(re.findall(r"serving readers at (http://\S+)", line))

    threading.Thread(target=read, daemon=True).start()
    try:
        deadline = time.monotonic() + 60  # a safety net, not a timing assertion
        while not found and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert found, "aggregator serve did not start"
        with httpx.Client(base_url=found[0], timeout=30) as client:
            assert client.get("/").status_code == 303
            assert client.get("/api/stories").status_code == 401
            assert client.get("/healthz").status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
