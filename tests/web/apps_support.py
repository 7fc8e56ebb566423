"""A store filled by the real pipeline from the local sample site, with readers' accounts, and
the real server over it: what the Google Reader, Fever and newsboat tests share."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from aggregator.store.sqlite import SqliteStore
from aggregator.web import create_app
from aggregator.web.app import ServerThread
from tests.support.commands import aggregator
from tests.support.localsite import LocalSite
from tests.support.sample_news import publish
from tests.web.test_server import NOW, write_config

PASSWORDS = {"alice": "alice pw", "bob": "bob pw", "carol": "carol pw"}


@dataclass
class Served:
    storage: Path
    url: str
    feeds: dict[str, str]  # outlet -> feed URL


def fill_store(root: Path) -> tuple[Path, dict[str, str]]:
    with LocalSite() as site:
        urls = publish(site)
        feeds = {
            "north": (urls["north"], "North Times", ["europe", "en"]),
            "south": (urls["south"], "South Herald", ["americas", "es"]),
        }
        config = write_config(root / "feeds.yaml", feeds)
        storage = root / "store"
        aggregator("run", "--once", "--config", str(config), "--storage", str(storage))
    with SqliteStore(storage) as store:
        for name, password in PASSWORDS.items():
            store.add_user(name, password, fever=name == "bob")
    return storage, urls


@contextmanager
def serve(storage: Path, feeds: dict[str, str]) -> Iterator[Served]:
    with ServerThread(create_app(storage, title="Test", clock=lambda: NOW)) as server:
        yield Served(storage, server.url, feeds)


def login(url: str, name: str, password: str) -> httpx.Response:
    return httpx.post(
        url + "/greader/accounts/ClientLogin", data={"Email": name, "Passwd": password}
    )


def auth_token(url: str, name: str) -> str:
    response = login(url, name, PASSWORDS[name])
    assert response.status_code == 200, response.text
    lines = dict(line.split("=", 1) for line in response.text.splitlines())
    return lines["Auth"]
