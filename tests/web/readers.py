"""What the readers' web tests share: the forms on a page, logging in over HTTP, a served
copy of the test store with accounts."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import httpx

from aggregator.config.model import HttpSettings
from aggregator.store.sqlite import SqliteStore
from aggregator.web import create_app
from aggregator.web.app import ServerThread
from tests.web.test_server import NOW

PASSWORD = "correct horse battery"


@dataclass
class Form:
    action: str
    fields: dict[str, list[str]] = field(default_factory=dict)
    label: str = ""

    def data(self, **changes: str) -> dict[str, list[str] | str]:
        return {**self.fields, **changes}


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._in_button = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post":
            self.forms.append(Form(a.get("action") or ""))
        elif tag == "input" and self.forms and a.get("type") == "hidden":
            self.forms[-1].fields.setdefault(a.get("name") or "", []).append(a.get("value") or "")
        elif tag == "button" and self.forms:
            self._in_button = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "button":
            self._in_button = False

    def handle_data(self, data: str) -> None:
        if self._in_button:
            self.forms[-1].label += data


def post_forms(html: str) -> list[Form]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def form(html: str, label: str, action: str | None = None) -> Form:
    """The first POST form whose button says ``label`` (and goes to ``action``)."""
    for f in post_forms(html):
        if f.label.strip() == label and (action is None or f.action == action):
            return f
    raise AssertionError(f"no form with a {label!r} button")


def submit(client: httpx.Client, f: Form, **changes: str) -> httpx.Response:
    return client.post(f.action, data=f.data(**changes))


def log_in(client: httpx.Client, name: str, password: str = PASSWORD) -> httpx.Response:
    page = client.get("/login")
    assert page.status_code == 200
    return submit(client, form(page.text, "Log in"), name=name, password=password)


def unread_counts(html: str) -> dict[str, int]:
    """Per story card on a front page: its unread count (0 when read)."""
    counts = {}
    for card in html.split('<article class="card" id="story-')[1:]:
        story_id = card.split('"', 1)[0]
        found = re.search(r'<span class="unread">(\d+) unread</span>', card)
        counts[story_id] = int(found.group(1)) if found else 0
    return counts


def copy_store(source: Path, target: Path) -> Path:
    """A copy of a store (its own file: the tests change it)."""
    target.mkdir(parents=True, exist_ok=True)
    with (
        sqlite3.connect(source / "aggregator.sqlite3") as src,
        sqlite3.connect(target / "aggregator.sqlite3") as dst,
    ):
        src.backup(dst)
    return target


def add_users(storage: Path, *names: str) -> None:
    with SqliteStore(storage) as store:
        for name in names:
            store.add_user(name, PASSWORD)


@contextmanager
def served(storage: Path, **http: object) -> Iterator[ServerThread]:
    settings = HttpSettings(**http)  # type: ignore[arg-type]
    with ServerThread(
        create_app(storage, title="Test News", clock=lambda: NOW, http=settings)
    ) as s:
        yield s


@contextmanager
def browser(server: ServerThread, **headers: str) -> Iterator[httpx.Client]:
    """A client that keeps cookies, as a browser does (over plain http: see ``secure``)."""
    with httpx.Client(
        base_url=server.url, timeout=30, follow_redirects=False, headers=headers
    ) as client:
        yield client
