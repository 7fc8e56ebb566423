"""Editing feeds.yaml in place (aggregator.config.editor, files, check): golden before/after
texts, refusals that leave the file untouched, and `feeds check` against a local server on
127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregator.config.check import CheckResult, check_feed, check_feeds
from aggregator.config.editor import NEW_FILE_HEADER, add_feed, list_feeds, remove_feed
from aggregator.config.files import write_atomic
from aggregator.config.model import load_config
from aggregator.errors import ConfigError
from aggregator.fetch.fetcher import Fetcher, FetchLimits, make_client
from tests.support.localsite import LocalSite

ROOT = Path(__file__).resolve().parents[2]

BEFORE = """\
# My feeds — hand-written, with comments that must survive.

settings:
  interval: 30m   # default

feeds:
  # --- World ---
  - url: https://example.org/world.xml
    name: Example World
    tags: [world, en]   # region, language
  - url: https://news.example.net/rss
    name: Example Net
    interval: 15m

  # --- Sport ---
  - url: https://sport.example.com/feed
    # no article pages: the feed carries full text
    extract: false
    # (comment inside the last item)

# end of the list
"""


def write(tmp_path: Path, text: str, name: str = "feeds.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def test_add_appends_after_the_last_feed_and_changes_nothing_else(tmp_path: Path) -> None:
    path = write(tmp_path, BEFORE)
    feed = add_feed(
        path,
        "https://new.example.org/atom",
        name="New: Outlet",
        tags=["asia", "en"],
        interval="1h",
        extract=False,
    )
    assert path.read_text() == BEFORE.replace(
        "    # (comment inside the last item)\n",
        "    # (comment inside the last item)\n"
        "  - url: https://new.example.org/atom\n"
        "    name: 'New: Outlet'\n"
        "    tags: [asia, en]\n"
        "    interval: 1h\n"
        "    extract: false\n",
    )
    assert (feed.url, feed.name, feed.tags, feed.extract) == (
        "https://new.example.org/atom",
        "New: Outlet",
        ("asia", "en"),
        False,
    )
    assert feed.interval.total_seconds() == 3600 and feed.line == 20


def test_remove_keeps_the_next_sections_heading(tmp_path: Path) -> None:
    path = write(tmp_path, BEFORE)
    removed = remove_feed(path, "https://news.example.net/rss")
    assert removed.name == "Example Net"
    assert path.read_text() == BEFORE.replace(
        "  - url: https://news.example.net/rss\n    name: Example Net\n    interval: 15m\n", ""
    )


def test_remove_the_last_item_takes_its_own_comments_only(tmp_path: Path) -> None:
    path = write(tmp_path, BEFORE)
    remove_feed(path, "sport.example.com")  # its default name: the host
    assert path.read_text() == BEFORE.replace(
        "  - url: https://sport.example.com/feed\n"
        "    # no article pages: the feed carries full text\n"
        "    extract: false\n"
        "    # (comment inside the last item)\n",
        "",
    )


def test_remove_by_name_and_by_canonically_equal_url(tmp_path: Path) -> None:
    path = write(tmp_path, BEFORE)
    assert remove_feed(path, "Example World").url == "https://example.org/world.xml"
    assert remove_feed(path, "HTTPS://NEWS.Example.net:443/rss#x").name == "Example Net"
    assert [f.url for f in list_feeds(path)] == ["https://sport.example.com/feed"]


def test_add_then_remove_gives_back_the_same_bytes_for_the_projects_own_feeds_yaml(
    tmp_path: Path,
) -> None:
    original = (ROOT / "feeds.yaml").read_bytes()
    path = tmp_path / "feeds.yaml"
    path.write_bytes(original)
    add_feed(path, "https://example.org/extra.xml", name="Extra", tags=["x"], interval="2h")
    assert path.read_bytes().startswith(original)  # the last feed ends the file
    remove_feed(path, "https://example.org/extra.xml")
    assert path.read_bytes() == original
    feeds = load_config(ROOT / "feeds.yaml").feeds
    for feed in feeds[::7]:  # a few, from each section: removed, then added back at the end
        path.write_bytes(original)
        remove_feed(path, feed.url)
        add_feed(path, feed.url, name=feed.name, tags=feed.tags)
        again = load_config(path).feeds
        assert again[-1].url == feed.url
        assert {(f.url, f.name, f.tags) for f in again} == {(f.url, f.name, f.tags) for f in feeds}


names = st.text(st.characters(blacklist_categories=["Cs"]), max_size=30)
tags = st.lists(names.filter(lambda t: t.strip() != ""), max_size=3)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=names,
    tags=tags,
    interval=st.sampled_from([None, "45s", "15m", "1h30m", "1d"]),
    extract=st.sampled_from([None, True, False]),
)
def test_add_then_remove_is_the_identity(
    tmp_path: Path, name: str, tags: list[str], interval: str | None, extract: bool | None
) -> None:
    path = write(tmp_path, BEFORE, "property.yaml")
    feed = add_feed(
        path,
        "https://p.example.org/f?q=1",
        name=name,
        tags=tags,
        interval=interval,
        extract=extract,
    )
    assert feed.name == (name.strip() or "p.example.org")
    assert feed.tags == tuple(dict.fromkeys(t.strip() for t in tags))
    assert feed.extract is (extract is not False)
    remove_feed(path, feed.url)
    assert path.read_text() == BEFORE


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"url": "ftp://example.org/feed"}, "expected an absolute http(s) URL"),
        ({"url": "https://example.org/world.xml?"}, "already listed as 'Example World'"),
        ({"url": "https://EXAMPLE.org:443/world.xml"}, "already listed"),
        ({"url": "https://ok.example/", "interval": "15M"}, 'expected a duration like "15m"'),
        ({"url": "https://ok.example/", "interval": "0s"}, "greater than zero"),
        ({"url": "https://ok.example/", "tags": ["a", " "]}, "a tag must not be empty"),
    ],
)
def test_invalid_additions_are_refused_and_the_file_is_unchanged(
    tmp_path: Path, kwargs: dict, message: str
) -> None:
    path = write(tmp_path, BEFORE)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        add_feed(path, **kwargs)
    assert path.read_text() == BEFORE
    assert os.listdir(tmp_path) == ["feeds.yaml"]  # no temporary file left behind


def test_an_invalid_file_is_not_edited(tmp_path: Path) -> None:
    text = BEFORE.replace("interval: 15m", "interval: soon")
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=r"feeds.yaml:13: feeds\[1\].interval"):
        add_feed(path, "https://ok.example/")
    with pytest.raises(ConfigError, match="interval"):
        remove_feed(path, "https://example.org/world.xml")
    assert path.read_text() == text


def test_removing_the_last_feed_is_refused(tmp_path: Path) -> None:
    text = "feeds:\n  - url: https://only.example/\n"
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match="only feed, and the file must list at least one"):
        remove_feed(path, "https://only.example/")
    assert path.read_text() == text


def test_remove_errors_name_what_is_wrong(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "feeds:\n  - url: https://a.example/1\n    name: Twin\n"
        "  - url: https://a.example/2\n    name: Twin\n",
    )
    with pytest.raises(ConfigError, match="no feed has the URL or name 'Nobody'"):
        remove_feed(path, "Nobody")
    with pytest.raises(ConfigError, match="2 feeds are named 'Twin'.*https://a.example/1"):
        remove_feed(path, "Twin")
    with pytest.raises(ConfigError, match="no such file"):
        remove_feed(tmp_path / "missing.yaml", "Twin")


def test_add_creates_a_missing_file_with_a_comment_header(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    add_feed(path, "https://example.org/rss.xml", tags=["en"])
    assert path.read_text() == NEW_FILE_HEADER + (
        "  - url: https://example.org/rss.xml\n    tags: [en]\n"
    )
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    assert [f.name for f in list_feeds(path)] == ["example.org"]


def test_permissions_and_symlinks_are_kept(tmp_path: Path) -> None:
    real = write(tmp_path, BEFORE, "real.yaml")
    real.chmod(0o600)
    link = tmp_path / "feeds.yaml"
    link.symlink_to(real.name)
    add_feed(link, "https://new.example/")
    assert link.is_symlink() and stat.S_IMODE(real.stat().st_mode) == 0o600
    assert "https://new.example/" in real.read_text()


def test_crlf_bom_and_a_missing_final_newline_are_kept(tmp_path: Path) -> None:
    text = "\ufefffeeds:\r\n  - url: https://a.example/\r\n  - url: https://b.example/"
    path = tmp_path / "feeds.yaml"
    path.write_bytes(text.encode("utf-8"))
    add_feed(path, "https://c.example/")
    assert path.read_bytes().decode("utf-8") == (
        "\ufefffeeds:\r\n  - url: https://a.example/\r\n  - url: https://b.example/\r\n"
        "  - url: https://c.example/\r\n"
    )
    remove_feed(path, "https://c.example/")
    remove_feed(path, "https://a.example/")
    assert path.read_bytes().decode("utf-8") == "\ufefffeeds:\r\n  - url: https://b.example/\r\n"


def test_added_items_follow_the_files_own_style(tmp_path: Path) -> None:
    text = (
        "feeds:\n"
        "- https://bare.example/\n"
        "-   url: https://a.example/\n"
        "    tags:\n"
        "    - one\n"
        "settings:\n"
        "  interval: 1h\n"
    )
    path = write(tmp_path, text)
    add_feed(path, "https://b.example/", tags=["x", "y"])
    assert path.read_text() == text.replace(
        "settings:", "-   url: https://b.example/\n    tags:\n    - x\n    - y\nsettings:"
    )


NEW_ITEM = "  - url: https://c.example/\n    name: C\n    tags: [t]\n"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("", "feeds:\n" + NEW_ITEM),
        ("# nothing but comments", "# nothing but comments\nfeeds:\n" + NEW_ITEM),
        ("settings:\n  interval: 1h\n", "settings:\n  interval: 1h\nfeeds:\n" + NEW_ITEM),
        (
            "feeds:   # none yet\n# the end\nsettings: {}\n",
            "feeds:   # none yet\n" + NEW_ITEM + "# the end\nsettings: {}\n",
        ),
    ],
)
def test_the_first_feed_starts_a_list_and_keeps_the_rest(
    tmp_path: Path, before: str, after: str
) -> None:
    path = write(tmp_path, before)
    add_feed(path, "https://c.example/", name="C", tags=["t"])
    assert path.read_text() == after


def test_a_flow_style_list_is_edited_through_ruamel(tmp_path: Path) -> None:
    path = write(tmp_path, "feeds: [https://a.example/, {url: https://b.example/, name: B}]\n")
    add_feed(path, "https://c.example/", name="C", tags=["t"])
    assert path.read_text() == (
        "feeds: [https://a.example/, {url: https://b.example/, name: B}, "
        "{url: https://c.example/, name: C, tags: [t]}]\n"
    )
    remove_feed(path, "B")
    assert [f.url for f in list_feeds(path)] == ["https://a.example/", "https://c.example/"]


def test_a_file_changed_while_being_edited_is_not_overwritten(tmp_path: Path) -> None:
    path = write(tmp_path, BEFORE)
    with pytest.raises(ConfigError, match="changed by someone else"):
        write_atomic(path, b"feeds: []\n", expect=b"something else")
    assert path.read_text() == BEFORE
    assert os.listdir(tmp_path) == ["feeds.yaml"]


# --- feeds check -------------------------------------------------------------------------

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Local News</title><link>http://127.0.0.1/</link>
<item><title>First</title><link>http://127.0.0.1/a1</link>
  <pubDate>Mon, 06 May 2024 08:00:00 GMT</pubDate></item>
<item><title>Second</title><link>http://127.0.0.1/a2</link>
  <pubDate>Tue, 07 May 2024 09:30:00 +0200</pubDate></item>
</channel></rss>
"""


@pytest.fixture
def site() -> Iterator[LocalSite]:
    with LocalSite() as local:
        local.add("/rss.xml", RSS, "application/rss+xml")
        local.add("/page.html", "<html><head><title>x</title></head><body>hi</body></html>")
        local.add("/garbage.xml", b"\x00\x01 not a feed at all", "application/xml")
        local.add("/gone.xml", "gone", "text/plain", status=410)
        yield local


def check(*urls: str) -> list[CheckResult]:
    limits = FetchLimits(timeout=30)

    async def main() -> list[CheckResult]:
        async with Fetcher(make_client(limits), limits) as fetcher:
            return await check_feeds(urls, fetcher)

    return asyncio.run(main())


def test_check_reports_a_working_feed(site: LocalSite) -> None:
    (result,) = check(site.url("/rss.xml"))
    assert result.ok and result.error is None
    assert (result.status, result.format, result.title, result.entries) == (
        200,
        "rss20",
        "Local News",
        2,
    )
    assert result.newest == datetime(2024, 5, 7, 7, 30, tzinfo=UTC)
    assert result.describe().startswith(f"ok   {site.url('/rss.xml')}: HTTP 200, rss20, 2 entries")


def test_check_reports_broken_feeds_without_raising(site: LocalSite) -> None:
    gone, page, garbage, ok = check(
        site.url("/gone.xml"),
        site.url("/page.html"),
        site.url("/garbage.xml"),
        site.url("/rss.xml"),
    )
    assert (gone.ok, gone.status, gone.error_kind) == (False, 410, "fetch")
    assert "HTTP 410" in (gone.error or "")
    assert (page.ok, page.status, page.error_kind) == (False, 200, "notafeed")
    assert "HTML page" in (page.error or "")
    assert (garbage.ok, garbage.error_kind) == (False, "parse")
    assert ok.ok  # one broken feed does not spoil the others
    assert gone.describe().startswith(f"FAIL {site.url('/gone.xml')}: ")


def test_check_feed_takes_any_fetcher() -> None:
    class Recorded:
        async def fetch_feed(self, url: str):  # noqa: ANN201 - a test double
            from aggregator.types import FetchResult

            return FetchResult(url, url, 200, RSS.encode(), "application/rss+xml")

    result = asyncio.run(check_feed("https://example.org/rss", Recorded()))
    assert result.ok and result.entries == 2 and result.final_url == "https://example.org/rss"


# --- the `aggregator feeds` command --------------------------------------------------------


def test_cli_feeds_round_trip(
    tmp_path: Path, site: LocalSite, capsys: pytest.CaptureFixture[str]
) -> None:
    from aggregator.cli.main import main

    config = str(tmp_path / "feeds.yaml")
    rss = site.url("/rss.xml")
    add = ["feeds", "add", "--config", config, rss, "--name", "Local", "--tag", "t"]
    assert main([*add, "--interval", "15m", "--no-extract"]) == 0
    assert main(["feeds", "add", "--config", config, site.url("/gone.xml")]) == 0
    assert main(["feeds", "add", "--config", config, rss]) == 2  # already listed
    assert main(["feeds", "list", "--config", config]) == 0
    out = capsys.readouterr().out
    assert f"Local [t]: {rss} (every 15m, feed text only)" in out
    assert main(["feeds", "check", "--config", config]) == 1  # /gone.xml fails
    out = capsys.readouterr().out
    assert out.startswith(f"ok   {rss}: HTTP 200, rss20, 2 entries") and "FAIL" in out
    assert main(["feeds", "check", "--config", config, rss]) == 0
    opml = tmp_path / "feeds.opml"
    assert main(["feeds", "export-opml", "--config", config, "-o", str(opml)]) == 0
    assert main(["feeds", "remove", "--config", config, "Local"]) == 0
    assert main(["feeds", "import-opml", "--config", config, str(opml)]) == 0
    assert "1 feeds added" in capsys.readouterr().out
    assert [f.url for f in list_feeds(Path(config))] == [site.url("/gone.xml"), rss]


# --- deploy/ stays in step with the command ------------------------------------------------


def test_deploy_files_use_commands_and_config_the_program_accepts() -> None:
    import json
    import shlex

    from aggregator.cli.main import build_parser

    deploy = ROOT / "deploy"
    unit = (deploy / "aggregator.service").read_text()
    (exec_start,) = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    argv = shlex.split(exec_start.removeprefix("ExecStart="))[1:]
    args = build_parser().parse_args(argv)
    assert (args.command, args.config, args.storage) == (
        "run",
        "/etc/aggregator/feeds.yaml",
        "/var/lib/aggregator",
    )
    containerfile = (deploy / "Containerfile").read_text()
    (cmd,) = [line for line in containerfile.splitlines() if line.startswith("CMD ")]
    args = build_parser().parse_args(json.loads(cmd.removeprefix("CMD ")))
    assert (args.command, args.config, args.storage) == (
        "run",
        "/etc/aggregator/feeds.yaml",
        "/data",
    )
    config = load_config(deploy / "feeds.container.yaml")
    assert (config.settings.http.host, config.settings.http.port) == ("0.0.0.0", 8080)
    assert "EXPOSE 8080" in containerfile and "/healthz" in containerfile
