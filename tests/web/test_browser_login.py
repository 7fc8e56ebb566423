"""A reader logs in and marks a story read in a real browser (Debian's headless Chromium),
through the forms alone: the pages run no script (their CSP forbids it).

Skipped when /usr/bin/chromium is missing (`make test-deps` installs it). A screenshot of the
logged-in front page goes to test-artifacts/ (git-ignored) for people to look at.
"""

from __future__ import annotations

import pytest

from aggregator.store.sqlite import SqliteStore
from tests.support.cdp import CHROMIUM, Chromium
from tests.web.readers import PASSWORD, add_users, copy_store, served, unread_counts
from tests.web.test_browser import ARTIFACTS
from tests.web.test_server import storage  # noqa: F401 - a fixture: the hostile store

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)",
)


def test_a_reader_logs_in_and_marks_a_story_read_in_chromium(storage, tmp_path):  # noqa: F811
    copy = copy_store(storage, tmp_path / "store")
    add_users(copy, "alice")
    with served(copy) as server, Chromium(tmp_path / "profile") as browser:
        browser.open(server.url + "/?since=all")
        assert "Log in" in browser.html() and "Mark read" not in browser.html()
        browser.click('a[href="/login"]')
        browser.type_into('input[name="name"]', "wrong")
        browser.type_into('input[name="password"]', "guess")
        browser.click("form.login button")
        assert "Wrong user name or password." in browser.html()
        browser.open(server.url + "/login?next=%2F%3Fsince%3Dall")
        browser.type_into('input[name="name"]', "alice")
        browser.type_into('input[name="password"]', PASSWORD)
        browser.click("form.login button")
        assert browser.url() == server.url + "/?since=all"
        front = browser.html()
        assert "Log out" in front and "alice" in front
        session = next(c for c in browser.cookies() if c["name"] == "aggregator_session")
        assert session["httpOnly"] and session["sameSite"] == "Strict" and not session["secure"]

        counts = unread_counts(front)
        story = next(s for s, n in counts.items() if n > 1)
        browser.click(f'[id="story-{story}"] form.act button')  # "Mark read" on its card
        assert browser.url() == server.url + "/?since=all"  # back where the reader was
        after = unread_counts(browser.html())
        assert after[story] == 0
        assert {s: n for s, n in after.items() if s != story} == {
            s: n for s, n in counts.items() if s != story
        }
        with SqliteStore(copy, readonly=True) as store:
            alice = store.user("alice")
            assert alice is not None
            assert store.story_unread_counts(alice, [story]) == {story: 0}
        ARTIFACTS.mkdir(exist_ok=True)
        shot = browser.screenshot(ARTIFACTS / "front-page-reader.png")
        assert shot.read_bytes().startswith(b"\x89PNG")

        browser.click("form.logout button")
        assert "Log in" in browser.html()
        assert not [c for c in browser.cookies() if c["name"] == "aggregator_session"]
