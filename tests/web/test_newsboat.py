"""A real client: Debian's newsboat (2.21) reads /greader/ through its FeedHQ backend.

Each run is a fresh newsboat (its own config, urls and cache in a temporary folder), run
non-interactively: `newsboat -x reload print-unread`. It logs in with ClientLogin, lists the
subscriptions and reads each feed's Atom stream, taking read/unread from the stream's
categories. `feedhq-show-special-feeds no` keeps it from asking feedhq.org for its extras.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.web.apps_support import PASSWORDS, Served, auth_token, fill_store, serve

NEWSBOAT = shutil.which("newsboat")
pytestmark = pytest.mark.skipif(NEWSBOAT is None, reason="newsboat is not installed")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    storage, feeds = fill_store(tmp_path_factory.mktemp("newsboat-store"))
    with serve(storage, feeds) as served:
        yield served


def newsboat_unread(served: Served, folder: Path, user: str, password: str) -> int:
    """How many unread articles a fresh newsboat sees (0 when it cannot log in)."""
    folder.mkdir()
    (folder / "password").write_text(password + "\n")
    (folder / "config").write_text(
        'urls-source "feedhq"\n'
        f'feedhq-url "{served.url}/greader/"\n'
        f'feedhq-login "{user}"\n'
        f'feedhq-passwordfile "{folder / "password"}"\n'
        "feedhq-show-special-feeds no\n"
        "feedhq-min-items 100\n"
    )
    (folder / "urls").write_text("")
    env = {
        **os.environ,
        "HOME": str(folder),
        "XDG_CONFIG_HOME": str(folder / "config.d"),
        "XDG_DATA_HOME": str(folder / "data.d"),
        "NO_PROXY": "*",
    }
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        env.pop(name, None)
    assert NEWSBOAT is not None
    done = subprocess.run(
        [NEWSBOAT, "-x", "reload", "print-unread"]
        + ["-C", str(folder / "config"), "-u", str(folder / "urls")]
        + ["-c", str(folder / "cache.db")],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    if "Authentication failed" in done.stdout:
        assert done.returncode != 0 and "unread" not in done.stdout
        return 0
    found = re.search(r"(\d+) unread articles?", done.stdout)
    assert found and done.returncode == 0, (done.returncode, done.stdout, done.stderr)
    return int(found.group(1))


def api_unread(served: Served, token: str) -> int:
    counts = httpx.get(
        served.url + "/greader/reader/api/0/unread-count",
        headers={"Authorization": f"GoogleLogin auth={token}"},
    ).json()["unreadcounts"]
    return next(c["count"] for c in counts if c["id"].endswith("/reading-list"))


def test_newsboat_logs_in_and_sees_what_mark_all_as_read_leaves(served: Served, tmp_path: Path):
    token = auth_token(served.url, "alice")
    total = api_unread(served, token)
    assert total > 0
    assert newsboat_unread(served, tmp_path / "first", "alice", PASSWORDS["alice"]) == total

    south = "feed/" + served.feeds["south"]
    marked = httpx.post(
        served.url + "/greader/reader/api/0/mark-all-as-read",
        data={"s": south, "T": "x"},
        headers={"Authorization": f"GoogleLogin auth={token}"},
    )
    assert marked.text == "OK"
    left = api_unread(served, token)
    assert 0 < left < total
    assert newsboat_unread(served, tmp_path / "second", "alice", PASSWORDS["alice"]) == left
    # marks are alice's own: bob still sees everything
    assert newsboat_unread(served, tmp_path / "bob", "bob", PASSWORDS["bob"]) == total


def test_newsboat_with_a_wrong_password_sees_nothing(served: Served, tmp_path: Path):
    assert newsboat_unread(served, tmp_path / "wrong", "alice", "not her password") == 0
