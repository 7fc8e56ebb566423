"""The web pages in a real browser: Debian's headless Chromium against the real server.

Skipped when /usr/bin/chromium is missing (`apt-get install -y chromium`; `make test`
installs it). Screenshots go to test-artifacts/ (git-ignored) for people to look at.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from aggregator.web import create_app
from aggregator.web.app import ServerThread
from tests.support.cdp import CHROMIUM, HEADLESS
from tests.support.commands import aggregator
from tests.web.test_server import NOW, storage  # noqa: F401 - a fixture: the hostile store

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)",
)


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        str(CHROMIUM),
        *HEADLESS,
        f"--user-data-dir={profile}",
        *args,
    ]
    # a generous safety net only: a page loads in well under a second
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=True)


def dump_dom(profile: Path, url: str) -> str:
    """The DOM after the page loaded and any script had its chance to run."""
    return chromium(profile, "--dump-dom", url).stdout


def screenshot(profile: Path, url: str, name: str, size: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    path.unlink(missing_ok=True)
    chromium(profile, f"--screenshot={path}", f"--window-size={size}", url)
    return path


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The bundled demo news (six outlets) through the real pipeline, served for readers."""
    demo = tmp_path_factory.mktemp("demo") / "store"
    aggregator("demo", "--storage", str(demo), "--format", "json")
    with ServerThread(create_app(demo, title="Demo news")) as server:
        yield server.url


def test_front_page_and_story_page_in_chromium(demo_url, tmp_path):
    dom = dump_dom(tmp_path / "profile", demo_url + "/")
    cards = re.findall(r'<article class="card" id="story-([^"]+)">', dom)
    assert len(cards) >= 5
    assert "outlets</strong>" in dom and "Full coverage" in dom and "<time" in dom
    front = screenshot(tmp_path / "profile", demo_url + "/", "front-page.png", "1200,2000")
    phone = screenshot(tmp_path / "profile", demo_url + "/", "front-page-phone.png", "390,1400")

    story = dump_dom(tmp_path / "profile", f"{demo_url}/stories/{cards[0]}")
    assert '<svg class="tl"' in story and 'class="item"' in story
    assert "Why it is here" in story and "All coverage" in story
    page = screenshot(
        tmp_path / "profile", f"{demo_url}/stories/{cards[0]}", "story-page.png", "1000,2400"
    )
    for png in (front, phone, page):
        data = png.read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 10_000


def test_no_script_from_a_feed_runs_in_the_browser(storage, tmp_path):  # noqa: F811
    with ServerThread(create_app(storage, clock=lambda: NOW)) as server:
        stories = httpx.get(server.url + "/api/stories?since=all").json()["stories"]
        for url in [
            server.url + "/?since=all",
            *(server.url + s["links"]["html"] for s in stories),
        ]:
            dom = dump_dom(tmp_path / "profile", url)
            assert "<body" in dom
            # the payloads would rename the page and mark <body>; neither happened
            assert "<title>PWNED</title>" not in dom
            assert not re.search(r"<body[^>]*data-pwned", dom)
        floods = next(s for s in stories if s["source_count"] == 3)
        dom = dump_dom(tmp_path / "profile", server.url + floods["links"]["html"])
        assert "document.title='PWNED'" in dom  # shown as text, where readers can see it
