"""Readers logging in on the web page, over real HTTP to the real server (127.0.0.1).

The store is the one test_server.py fills with `aggregator run --once` (three stories, one
with a wire copy); each test serves its own copy with its own accounts.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from aggregator.store import passwords
from aggregator.web.auth import LoginLimiter
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
)
from tests.web.test_server import assert_inert, storage  # noqa: F401 - the store fixture


@pytest.fixture
def store(storage, tmp_path):  # noqa: F811
    copy = copy_store(storage, tmp_path / "store")
    add_users(copy, "alice", "bob")
    return copy


def cookie_attributes(header: str) -> dict[str, str]:
    parts = [p.strip() for p in header.split(";")]
    name, value = parts[0].split("=", 1)
    attrs = {"name": name, "value": value}
    for p in parts[1:]:
        key, _, val = p.partition("=")
        attrs[key.lower()] = val
    return attrs


def set_cookies(response) -> dict[str, dict[str, str]]:
    found = [cookie_attributes(h) for h in response.headers.get_list("set-cookie")]
    return {c["name"]: c for c in found}


def session_rows(directory) -> list[tuple[str, str]]:
    with sqlite3.connect(directory / "aggregator.sqlite3") as db:
        return db.execute("SELECT token_hash, kind FROM user_tokens").fetchall()


# ---------------------------------------------------------------------- logging in
def test_login_sets_a_strict_httponly_session_kept_only_as_a_digest(store):
    with served(store) as server, browser(server) as client:
        anonymous = client.get("/?since=all")
        assert '<a href="/login">Log in</a>' in anonymous.text
        assert 'method="post"' not in anonymous.text  # the read-only view is as it was
        page = client.get("/login?next=/sources")
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        assert_inert(page.text)
        pre = set_cookies(page)["aggregator_login"]
        assert pre["path"] == "/login" and "httponly" in pre and pre["samesite"] == "Strict"
        login = submit(client, form(page.text, "Log in"), name="alice", password=PASSWORD)
        assert login.status_code == 303 and login.headers["location"] == "/sources"
        cookies = set_cookies(login)
        session = cookies["aggregator_session"]
        assert session["path"] == "/" and "httponly" in session
        assert session["samesite"] == "Strict" and session["max-age"] == str(30 * 86400)
        assert "secure" not in session  # plain http, no proxy
        assert cookies["aggregator_login"]["max-age"] == "0"  # the login cookie is done
        digest = passwords.token_digest(session["value"])
        assert session_rows(store) == [(digest, "session")]  # the token itself is not stored
        front = client.get("/?since=all")
        assert "alice" in front.text and "Log out" in front.text and "Unread" in front.text
        assert front.headers["cache-control"] == "private, no-cache"
        assert "Cookie" in front.headers["vary"]
        assert_inert(front.text)
        # already logged in: the form sends the reader on
        assert client.get("/login?next=/api").headers["location"] == "/api"


def test_secure_cookie_over_https_only_through_a_trusted_proxy(store):
    https = {"x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.9"}

    def login_cookies(client) -> dict[str, dict[str, str]]:
        # a client keeps Secure cookies for https; the proxy's side of it is plain http
        page = client.get("/login")
        pre = set_cookies(page)["aggregator_login"]
        client.cookies.clear()
        response = client.post(
            "/login",
            data=form(page.text, "Log in").data(name="alice", password=PASSWORD),
            headers={"cookie": f"aggregator_login={pre['value']}"},
        )
        assert response.status_code == 303
        return {"login": pre, **set_cookies(response)}

    with served(store, trusted_proxies=("127.0.0.0/8",)) as server, browser(server, **https) as c:
        cookies = login_cookies(c)
        assert "secure" in cookies["login"] and "secure" in cookies["aggregator_session"]
    with served(store) as server, browser(server, **https) as c:  # the header is not believed
        cookies = login_cookies(c)
        assert "secure" not in cookies["login"]
        assert "secure" not in cookies["aggregator_session"]


def test_wrong_passwords_and_unknown_names_are_refused_alike(store):
    with served(store) as server, browser(server) as client:
        for name, password in (("alice", "wrong"), ("nobody", PASSWORD), ("alice", "")):
            response = log_in(client, name, password)
            assert response.status_code == 401, name
            assert "Wrong user name or password." in response.text
            assert "aggregator_session" not in set_cookies(response)
            assert response.headers["www-authenticate"].startswith("Cookie")
        assert session_rows(store) == []


def test_login_form_needs_its_csrf_token_and_cookie(store):
    with served(store) as server, browser(server) as client:
        login = form(client.get("/login").text, "Log in")
        for changes in ({"csrf": ""}, {"csrf": "0" * 64}):
            refused = submit(client, login, name="alice", password=PASSWORD, **changes)
            assert refused.status_code == 403 and "expired" in refused.text
        client.cookies.clear()  # a form posted without the browser's login cookie
        refused = submit(client, login, name="alice", password=PASSWORD)
        assert refused.status_code == 403
        assert session_rows(store) == []


def test_repeated_failures_are_slowed_per_account_and_per_address(store):
    with served(store) as server, browser(server) as client:
        # no sleeping: a long first delay, so that the wait is still running when we ask
        server.app.state.sessions.limiter = LoginLimiter(
            free_per_account=2, free_per_address=4, first_delay=600
        )
        for _ in range(2):
            assert log_in(client, "alice", "guess").status_code == 401
        slowed = log_in(client, "alice", PASSWORD)  # even the right password must wait
        assert slowed.status_code == 429
        assert 1 <= int(slowed.headers["retry-after"]) <= 600
        assert "Too many failed logins" in slowed.text and "seconds" in slowed.text
        assert log_in(client, "bob", "guess").status_code == 401  # another account: tries on
        assert log_in(client, "carol", "guess").status_code == 401
        # four failures from this address: every account waits now
        assert log_in(client, "bob", PASSWORD).status_code == 429
        assert session_rows(store) == []


def test_behind_a_trusted_proxy_each_client_address_counts_on_its_own(store):
    with served(store, trusted_proxies=("127.0.0.1",)) as server:
        server.app.state.sessions.limiter = LoginLimiter(free_per_address=2, first_delay=600)
        with browser(server, **{"x-forwarded-for": "198.51.100.7"}) as guesser:
            for name in ("carol", "dave"):
                assert log_in(guesser, name, "guess").status_code == 401
            assert log_in(guesser, "erin", "guess").status_code == 429
        # a reader behind the same proxy, from another address, is not held up by the guesser
        with browser(server, **{"x-forwarded-for": "203.0.113.5, 198.51.100.7"}) as spoofed:
            # ...but a client cannot pick its address: the proxy appends the real one
            assert log_in(spoofed, "alice").status_code == 429
        with browser(server, **{"x-forwarded-for": "192.0.2.44"}) as reader:
            assert log_in(reader, "alice").status_code == 303


def test_logout_revokes_the_session_at_once(store):
    with served(store) as server, browser(server) as client:
        log_in(client, "alice")
        token = client.cookies["aggregator_session"]
        page = client.get("/sources").text
        logout = form(page, "Log out", "/logout")
        refused = submit(client, logout, csrf="forged")
        assert refused.status_code == 403 and len(session_rows(store)) == 1
        out = submit(client, logout)
        assert out.status_code == 303 and set_cookies(out)["aggregator_session"]["max-age"] == "0"
        assert session_rows(store) == []
        # the old cookie, replayed, is nobody's: anonymous page, and the browser is told to drop it
        with browser(server) as replay:
            replay.cookies.set("aggregator_session", token)
            again = replay.get("/sources")
            assert "Log out" not in again.text
            assert set_cookies(again)["aggregator_session"]["max-age"] == "0"


def test_sessions_expire_after_30_days_and_are_refreshed_when_used(store):
    def age_sessions(days: int) -> None:
        created = (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
        with sqlite3.connect(store / "aggregator.sqlite3") as db:
            db.execute("UPDATE user_tokens SET created = ?", (created,))

    with served(store) as server, browser(server) as client:
        log_in(client, "alice")
        assert "Log out" in client.get("/sources").text
        assert "set-cookie" not in client.get("/sources").headers  # fresh: nothing to refresh
        age_sessions(2)
        used = client.get("/sources")
        assert set_cookies(used)["aggregator_session"]["max-age"] == str(30 * 86400)
        with sqlite3.connect(store / "aggregator.sqlite3") as db:
            created = db.execute("SELECT created FROM user_tokens").fetchone()[0]
        assert datetime.fromisoformat(created) > datetime.now(UTC) - timedelta(hours=1)
        age_sessions(31)
        assert "Log out" not in client.get("/sources").text


def test_forms_are_capped_and_must_be_forms(store):
    with served(store) as server, browser(server) as client:
        log_in(client, "alice")
        assert client.post("/read", json={"story": "x"}).status_code == 415
        huge = {"story": ["x" * 1000] * 100}
        assert client.post("/read", data=huge).status_code == 413
        assert client.get("/read").status_code == 405


def test_next_never_leaves_the_site(store):
    with served(store) as server, browser(server) as client:
        for target in ("//evil.example/", "https://evil.example/", "/\\evil.example", "x"):
            page = client.get("/login", params={"next": target})
            login = form(page.text, "Log in")
            assert login.fields["next"] == ["/"]
            response = submit(client, login, name="alice", password=PASSWORD, next=target)
            assert response.headers["location"] == "/", target
            client.cookies.delete("aggregator_session")


def test_every_post_form_carries_the_sessions_token(store):
    with served(store) as server, browser(server) as client:
        log_in(client, "alice")
        token = form(client.get("/sources").text, "Log out").fields["csrf"][0]
        story = client.get("/api/stories?since=all").json()["stories"][0]
        for path in ("/?since=all", story["links"]["html"], "/starred", "/sources"):
            forms = post_forms(client.get(path).text)
            assert forms, path
            assert all(f.fields["csrf"] == [token] for f in forms), path
