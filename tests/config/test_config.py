"""feeds.yaml validation: defaults, every kind of error with its line and key path, durations."""

from __future__ import annotations

import contextlib
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from aggregator.config.model import (
    Config,
    ConfigError,
    FeedConfig,
    Settings,
    diff_feeds,
    format_duration,
    load_config,
    parse_config,
    parse_duration,
    parse_size,
)


def parse(text: str, path: Path | None = Path("feeds.yaml")) -> Config:
    return parse_config(textwrap.dedent(text), path=path)


def error_of(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse(text)
    return info.value


# --- valid files ---------------------------------------------------------------------------


def test_minimal_file_gets_every_default() -> None:
    config = parse(
        """\
        feeds:
          - url: https://example.org/rss.xml
        """
    )
    assert config.path == Path("feeds.yaml")
    assert config.feeds == (
        FeedConfig(
            url="https://example.org/rss.xml",
            name="example.org",
            tags=(),
            interval=timedelta(minutes=30),
            extract=True,
            line=2,
        ),
    )
    assert config.settings == Settings()
    settings = config.settings
    assert settings.storage is None
    assert settings.jitter == pytest.approx(0.1)
    assert settings.max_feed_bytes == 10_000_000
    assert (settings.http.host, settings.http.port, settings.http.enabled) == (
        "127.0.0.1",
        8080,
        True,
    )
    assert settings.http.public and settings.http.trusted_proxies == ()  # open, no proxy
    assert (settings.log_format, settings.log_level, settings.retention) == ("text", "info", None)


def test_full_file() -> None:
    config = parse(
        """\
        feeds:
          - url: https://example.org/rss.xml   # a comment
            name: Example
            tags: [world, en, world]
            interval: 1h30m
            extract: false
          - https://news.example.net/atom      # shorthand
        settings:
          storage: /var/lib/aggregator
          interval: 45m
          min_interval: 1m
          max_interval: 2d
          jitter: 30s
          concurrency: 4
          per_host: 1
          host_delay: 2s
          timeout: 10
          max_feed_bytes: 2MiB
          max_page_bytes: 1.5MB
          user_agent: my-bot/1.0
          allow_private: [intranet.local, .Corp, 10.0.0.0/8, "192.168.1.7", "[fd00::1]"]
          window: 2d
          retention: 30d
          http: {host: 0.0.0.0, port: 9000, enabled: false, public: false,
                 trusted_proxies: [127.0.0.1, "::1", 10.0.0.0/8]}
          log_format: JSON
          log_level: debug
        """
    )
    first, second = config.feeds
    assert first == FeedConfig(
        url="https://example.org/rss.xml",
        name="Example",
        tags=("world", "en"),
        interval=timedelta(hours=1, minutes=30),
        extract=False,
        line=2,
    )
    assert second.url == "https://news.example.net/atom"
    assert second.name == "news.example.net"
    assert second.interval == timedelta(minutes=45)  # the settings' default
    assert second.line == 7
    s = config.settings
    assert s.storage == Path("/var/lib/aggregator")
    assert (s.min_interval, s.max_interval) == (timedelta(minutes=1), timedelta(days=2))
    assert s.jitter == timedelta(seconds=30)
    assert (s.concurrency, s.per_host) == (4, 1)
    assert (s.host_delay, s.timeout) == (timedelta(seconds=2), timedelta(seconds=10))
    assert (s.max_feed_bytes, s.max_page_bytes) == (2 * 1024 * 1024, 1_500_000)
    assert s.user_agent == "my-bot/1.0"
    assert s.allow_private == (
        "intranet.local",
        ".corp",
        "10.0.0.0/8",
        "192.168.1.7/32",
        "fd00::1/128",
    )
    assert (s.window, s.retention) == (timedelta(days=2), timedelta(days=30))
    assert (s.http.host, s.http.port, s.http.enabled) == ("0.0.0.0", 9000, False)
    assert not s.http.public
    assert s.http.trusted_proxies == ("127.0.0.1/32", "::1/128", "10.0.0.0/8")
    assert (s.log_format, s.log_level) == ("json", "debug")


def test_config_objects_are_frozen() -> None:
    config = parse("feeds: [https://example.org/]\n")
    with pytest.raises(AttributeError):
        config.feeds[0].url = "https://other.org/"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        config.settings.concurrency = 1  # type: ignore[misc]


def test_relative_storage_is_resolved_against_the_config_directory(tmp_path: Path) -> None:
    config_file = tmp_path / "conf" / "feeds.yaml"
    config_file.parent.mkdir()
    config_file.write_text("feeds: [https://example.org/]\nsettings: {storage: ./data}\n")
    assert load_config(config_file).settings.storage == tmp_path / "conf" / "data"


def test_absolute_storage_and_storage_without_a_config_path(tmp_path: Path) -> None:
    text = f"feeds: [https://example.org/]\nsettings: {{storage: {tmp_path}}}\n"
    assert parse_config(text, path=Path("x/feeds.yaml")).settings.storage == tmp_path
    relative = parse_config("feeds: [https://example.org/]\nsettings: {storage: data}\n")
    assert relative.settings.storage == Path("data")


def test_null_sections_and_blank_names_mean_defaults() -> None:
    config = parse(
        """\
        feeds:
          - url: https://example.org/
            name: "  "
            tags:
            interval:
        settings:
          http:
        """
    )
    feed = config.feeds[0]
    assert (feed.name, feed.tags, feed.interval) == ("example.org", (), timedelta(minutes=30))
    assert config.settings == Settings()


def test_jitter_forms() -> None:
    def jitter(value: str) -> float | timedelta:
        return parse(
            f"feeds: [https://example.org/]\nsettings: {{jitter: {value}}}\n"
        ).settings.jitter

    assert jitter('"25%"') == pytest.approx(0.25)
    assert jitter("0%") == 0.0
    assert jitter("0") == 0.0
    assert jitter("2m") == timedelta(minutes=2)


def test_yaml_anchors_and_merge_keys() -> None:
    config = parse(
        """\
        feeds:
          - &base {url: https://a.example/, tags: [x], interval: 5m}
          - <<: *base
            url: https://b.example/
        """
    )
    assert [f.url for f in config.feeds] == ["https://a.example/", "https://b.example/"]
    assert config.feeds[1].tags == ("x",)
    assert config.feeds[1].interval == timedelta(minutes=5)


def test_load_config_reads_utf8_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_bytes("\ufefffeeds:\n  - url: https://example.org/\n    name: Zürich\n".encode())
    config = load_config(path)
    assert config.path == path
    assert config.feeds[0].name == "Zürich"


def test_diff_feeds() -> None:
    old = parse("feeds: [https://a.example/, https://b.example/, https://c.example/]\n")
    new = parse(
        """\
        feeds:
          - https://a.example/
          - {url: https://b.example/, interval: 1h}
          - https://d.example/
        """
    )
    changes = diff_feeds(old, new)
    assert [f.url for f in changes.added] == ["https://d.example/"]
    assert [f.url for f in changes.removed] == ["https://c.example/"]
    assert [f.url for f in changes.changed] == ["https://b.example/"]
    assert changes.changed[0].interval == timedelta(hours=1)


# --- errors: each kind, with its line and key path -----------------------------------------

ERRORS = [
    pytest.param(
        """\
        feeds:
          - url: https://example.org/a
          - url: https://example.org/b
          - url: https://example.org/c
          - url: https://example.org/d
            name: D
            interval: 15 minutes
        """,
        7,
        "feeds[3].interval",
        'expected a duration like "15m"',
        id="bad-duration",
    ),
    pytest.param(
        "feeds:\n  - url: https://example.org/\n    interval: 0s\n",
        3,
        "feeds[0].interval",
        "greater than zero",
        id="zero-duration",
    ),
    pytest.param(
        "feeds:\n  - url: https://example.org/\n    interval: true\n",
        3,
        "feeds[0].interval",
        "expected a duration",
        id="bool-duration",
    ),
    pytest.param(
        "feeds:\n  - url: https://example.org/\n    intervall: 5m\n",
        3,
        "feeds[0].intervall",
        'unknown key (did you mean "interval"?)',
        id="unknown-feed-key",
    ),
    pytest.param(
        "feeds:\n  - https://example.org/\nsettings:\n  http:\n    adress: 0.0.0.0\n",
        5,
        "settings.http.adress",
        "unknown key",
        id="unknown-nested-key",
    ),
    pytest.param(
        "feeds:\n  - https://example.org/\nfeed:\n  - https://example.org/\n",
        3,
        "feed",
        "unknown key",
        id="unknown-top-level-key",
    ),
    pytest.param(
        "feeds:\n  - name: no url\n",
        2,
        "feeds[0].url",
        "required key is missing",
        id="missing-url",
    ),
    pytest.param(
        "feeds:\n  - url: ftp://example.org/feed\n",
        2,
        "feeds[0].url",
        "expected an absolute http(s) URL",
        id="non-http-url",
    ),
    pytest.param(
        "feeds:\n  - /relative/feed.xml\n",
        2,
        "feeds[0].url",
        "expected an absolute http(s) URL",
        id="relative-shorthand-url",
    ),
    pytest.param(
        "feeds:\n  - url: https://example.org/\n    extract: yes\n",
        3,
        "feeds[0].extract",
        "expected true or false",
        id="yes-is-not-a-bool",
    ),
    pytest.param(
        "feeds:\n  - url: https://example.org/\n    tags: world\n",
        3,
        "feeds[0].tags",
        "expected a list",
        id="tags-not-a-list",
    ),
    pytest.param(
        "feeds:\n  - url: https://example.org/\n    tags:\n      - ok\n      - [nested]\n",
        5,
        "feeds[0].tags[1]",
        "expected a string",
        id="tag-not-a-string",
    ),
    pytest.param(
        "feeds:\n  - [https://example.org/]\n",
        2,
        "feeds[0]",
        "expected a mapping",
        id="feed-is-a-list",
    ),
    pytest.param("feeds:\n", 1, "feeds", "expected a list of feeds", id="feeds-null"),
    pytest.param("feeds: []\n", 1, "feeds", "at least one feed", id="feeds-empty"),
    pytest.param(
        "feeds: https://example.org/\n", 1, "feeds", "expected a list", id="feeds-not-a-list"
    ),
    pytest.param(
        "settings:\n  interval: 5m\n", None, "feeds", "required key is missing", id="no-feeds"
    ),
    pytest.param(
        "feeds: [https://example.org/]\nsettings:\n  http: {port: '8080'}\n",
        3,
        "settings.http.port",
        "expected an integer",
        id="port-as-string",
    ),
    pytest.param(
        "feeds: [https://example.org/]\nsettings:\n  http: {port: 70000}\n",
        3,
        "settings.http.port",
        "less than or equal to 65535",
        id="port-out-of-range",
    ),
    pytest.param(
        "feeds: [https://example.org/]\nsettings:\n  concurrency: 0\n",
        3,
        "settings.concurrency",
        "greater than or equal to 1",
        id="zero-concurrency",
    ),
    pytest.param(
        "feeds: [https://example.org/]\nsettings:\n  max_feed_bytes: 10 megs\n",
        3,
        "settings.max_feed_bytes",
        'expected a size like "10MB"',
        id="bad-size",
    ),
    pytest.param(
        "feeds: [https://example.org/]\nsettings:\n  jitter: 150%\n",
        3,
        "settings.jitter",
        "between 0% and 100%",
        id="bad-jitter",
    ),
    pytest.param(
        "feeds: [https://example.org/]\nsettings:\n  log_format: xml\n",
        3,
        "settings.log_format",
        'expected one of "text" or "json"',
        id="bad-log-format",
    ),
    pytest.param(
        "feeds: [https://example.org/]\nsettings:\n  allow_private: ['not a host!']\n",
        3,
        "settings.allow_private[0]",
        "expected a host name",
        id="bad-allow-private",
    ),
    pytest.param(
        "feeds: [https://example.org/]\nsettings:\n  http: {trusted_proxies: [proxy.lan]}\n",
        3,
        "settings.http.trusted_proxies[0]",
        "expected an IP address or CIDR range",
        id="bad-trusted-proxy",
    ),
    pytest.param(
        "feeds: [https://example.org/]\nsettings:\n  http: {public: sometimes}\n",
        3,
        "settings.http.public",
        "expected true or false",
        id="bad-public",
    ),
    pytest.param(
        "feeds: [https://example.org/]\nsettings:\n  min_interval: 2h\n  max_interval: 1h\n",
        3,
        "settings.min_interval",
        "min_interval (2h) is longer than max_interval (1h)",
        id="min-above-max",
    ),
    pytest.param(
        "feeds: [https://example.org/]\nsettings: [storage]\n",
        2,
        "settings",
        "expected a mapping",
        id="settings-not-a-mapping",
    ),
]


@pytest.mark.parametrize(("text", "line", "key", "message"), ERRORS)
def test_error_names_line_and_key_path(text: str, line: int | None, key: str, message: str) -> None:
    error = error_of(text)
    assert (error.path, error.line, error.key) == ("feeds.yaml", line, key)
    assert message in error.message
    where = f"feeds.yaml:{line}" if line is not None else "feeds.yaml"
    assert str(error).startswith(f"{where}: {key}: ")


def test_the_documented_example_message() -> None:
    text = "feeds:\n" + "".join(f"  - url: https://example.org/{i}\n" for i in range(3))
    text += "  - url: https://example.org/3\n    interval: soon\n"
    with pytest.raises(ConfigError) as info:
        parse_config(text, path=Path("feeds.yaml"))
    assert str(info.value) == 'feeds.yaml:6: feeds[3].interval: expected a duration like "15m"'


def test_duplicate_url_names_both_lines() -> None:
    error = error_of(
        """\
        feeds:
          - url: https://example.org/rss.xml
          - url: https://example.net/
          - url: HTTPS://Example.org:443/rss.xml#top
        """
    )
    assert (error.line, error.key) == (4, "feeds[2].url")
    assert "duplicate feed URL, already listed at line 2 (feeds[0])" in error.message


def test_several_errors_are_reported_together_in_line_order() -> None:
    error = error_of(
        """\
        feeds:
          - url: https://example.org/
            interval: often
          - url: https://example.org/
          - url: gopher://example.org/
        settings:
          timeout: never
        """
    )
    lines = str(error).splitlines()
    assert lines == [
        'feeds.yaml:3: feeds[0].interval: expected a duration like "15m"',
        "feeds.yaml:4: feeds[1].url: duplicate feed URL, already listed at line 2 (feeds[0])",
        "feeds.yaml:5: feeds[2].url: expected an absolute http(s) URL, got 'gopher://example.org/'",
        'feeds.yaml:7: settings.timeout: expected a duration like "15m"',
    ]
    assert (error.line, error.key) == (3, "feeds[0].interval")


def test_a_flood_of_errors_is_capped() -> None:
    text = "feeds:\n" + "".join(f"  - url: nope{i}\n" for i in range(50))
    lines = str(error_of(text)).splitlines()
    assert len(lines) == 21
    assert lines[-1] == "... and 30 more problems"


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("feeds:\n\t- url: https://example.org/\n", 2, "tabs"),
        ("feeds:\n  - url: https://example.org/\n   name: x\n", 3, "invalid YAML"),
        ("feeds: [https://example.org/\n", 2, "invalid YAML"),
        ("feeds:\n  - url: https://a.org/\n    url: https://b.org/\n", 3, "duplicate key"),
        ("feeds: [*missing]\n", 1, "invalid YAML"),
    ],
)
def test_yaml_syntax_errors_carry_ruamels_line(text: str, line: int, fragment: str) -> None:
    error = error_of(text)
    assert error.line == line
    assert fragment in str(error)


@pytest.mark.parametrize(
    "text", ["", "# only a comment\n", "---\n"], ids=["empty", "comment", "empty-document"]
)
def test_empty_file(text: str) -> None:
    assert "empty" in error_of(text).message


@pytest.mark.parametrize("text", ["- https://example.org/\n", "just text\n", "42\n"])
def test_top_level_must_be_a_mapping(text: str) -> None:
    assert "expected a mapping" in error_of(text).message


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.path == str(path)
    assert str(info.value).startswith(f"{path}: cannot read config file")


def test_directory_and_non_utf8_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path)
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("feeds: [https://example.org/]\n# caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(latin1)


def test_error_without_a_path_says_line() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config("feeds:\n  - url: https://example.org/\n    color: red\n")
    assert str(info.value) == "line 3: feeds[0].color: unknown key"


@given(st.text(max_size=200))
@example("feeds: &a [*a]\n")
@example("feeds:\n  - &f {url: https://example.org/, tags: &t [*t]}\n")
@example("? [a, b]\n: c\n")
@example("feeds: [{url: https://example.org/, interval: 99999999999999999999d}]\n")
@example("feeds: [{url: https://example.org/, interval: " + "9" * 5000 + "}]\n")
@example("feeds: [!!binary aGVsbG8=]\n")
@example("feeds: [{url: https://example.org/, interval: 2020-01-01}]\n")
@example("\x00")
def test_arbitrary_text_raises_only_config_error(text: str) -> None:
    with contextlib.suppress(ConfigError):
        parse_config(text, path=Path("feeds.yaml"))


_yaml_lines = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "feeds:",
                "settings:",
                "  - url: https://example.org/",
                "  - https://example.net/",
                "    interval: 15m",
                "    tags: [a, b]",
                "    extract: no",
                "  http: {port: 1}",
                "  jitter: 5%",
                "  storage: ./s",
                "  - &x {url: https://a.example/}",
                "  - *x",
                "  <<: *x",
            ]
        ),
        st.text(" -:[]{}&*!#'\"\tab1%", max_size=10),
    ),
    max_size=8,
).map("\n".join)


@given(_yaml_lines)
def test_yaml_like_text_raises_only_config_error(text: str) -> None:
    with contextlib.suppress(ConfigError):
        parse_config(text, path=Path("feeds.yaml"))


# --- durations and sizes -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("45s", timedelta(seconds=45)),
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d 2h 3m 4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        ("90m", timedelta(minutes=90)),
        (" 10 ", timedelta(seconds=10)),
        (300, timedelta(minutes=5)),
    ],
)
def test_parse_duration(value: str | int, expected: timedelta) -> None:
    assert parse_duration(value) == expected


@pytest.mark.parametrize(
    "value",
    ["", "0", 0, -5, "0s", "m", "15M", "1.5h", "30m1h", "1h1h", "15 minutes", "١٥m", True],
)
def test_parse_duration_rejects(value: str | int) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


_counts = st.one_of(st.none(), st.integers(0, 10_000))


@given(st.tuples(_counts, _counts, _counts, _counts).filter(any))
def test_parse_duration_round_trips(parts: tuple[int | None, ...]) -> None:
    text = "".join(f"{n}{unit}" for unit, n in zip("dhms", parts, strict=True) if n is not None)
    days, hours, minutes, seconds = (n or 0 for n in parts)
    expected = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    assert parse_duration(text) == expected
    assert parse_duration(format_duration(expected)) == expected


@given(st.integers(1, 10**9))
def test_format_duration_is_the_shortest_form(seconds: int) -> None:
    text = format_duration(timedelta(seconds=seconds))
    assert parse_duration(text) == timedelta(seconds=seconds)
    assert format_duration(parse_duration(text)) == text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (512, 512),
        ("512", 512),
        ("100B", 100),
        ("10KB", 10_000),
        ("10MB", 10_000_000),
        ("1GB", 1_000_000_000),
        ("1KiB", 1024),
        ("2MiB", 2 * 1024**2),
        ("1GiB", 1024**3),
        ("1.5MB", 1_500_000),
        ("10 mb", 10_000_000),
    ],
)
def test_parse_size(value: str | int, expected: int) -> None:
    assert parse_size(value) == expected


@pytest.mark.parametrize("value", ["", "0", 0, -1, "MB", "10XB", "1e6", "ten MB", False])
def test_parse_size_rejects(value: str | int) -> None:
    with pytest.raises(ValueError):
        parse_size(value)


def test_database_is_a_postgresql_url_or_nothing() -> None:
    url = "postgresql://news@db.example:5432/news"
    config = parse(f"feeds:\n  - url: https://a.example/rss\nsettings:\n  database: {url}\n")
    assert config.settings.database == url
    assert parse("feeds:\n  - url: https://a.example/rss\n").settings.database is None
    error = error_of("feeds:\n  - url: https://a.example/rss\nsettings:\n  database: mysql://x/y\n")
    assert "settings.database" in str(error) and "postgresql://" in str(error)


_TRICKY = """\
# a comment before everything
settings:
  interval: 45m        # YAML 1.2: "no" below stays a string
  user_agent: no
feeds:
  - url: https://a.example/feed.xml
    name: &n A
    tags: [world, "two words"]
  - {url: "https://b.example/rss", name: *n, interval: 2h}

  - url: https://c.example/atom
    tags:
      - x
    extract: false
"""


def test_the_c_parser_reads_what_the_pure_loader_reads_with_the_same_lines() -> None:
    from ruamel.yaml import YAML

    from aggregator.config.reading import _NOT_READ, _fast_load

    fast = _fast_load(_TRICKY)
    assert fast is not _NOT_READ  # ruamel.yaml.clib is a dependency on CPython
    pure = YAML(typ="rt").load(_TRICKY)
    assert fast == pure
    for index in range(3):
        assert fast["feeds"].lc.item(index) == pure["feeds"].lc.item(index)
        for key in fast["feeds"][index]:
            assert fast["feeds"][index].lc.key(key) == pure["feeds"][index].lc.key(key)
    config = parse_config(_TRICKY)
    assert [f.line for f in config.feeds] == [6, 9, 11]
    assert config.settings.user_agent == "no"


def test_text_the_c_parser_trips_on_is_worded_by_the_pure_loader() -> None:
    with pytest.raises(ConfigError, match=r"line 3|:3:") as caught:
        parse_config("feeds:\n  - url: https://a.example/\n    name: @x\n")
    assert "cannot start any token" in str(caught.value)
    assert "'@'" in str(caught.value)  # the pure scanner names the character
