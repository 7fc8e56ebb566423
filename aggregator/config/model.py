"""feeds.yaml -> a frozen `Config`, validated once, here at the edge.

    text --ruamel (round trip)--> nodes that know their line numbers
         --plain()--------------> dicts, lists and scalars
         --pydantic (_Raw*)-----> checked values, or errors with a location tuple
         --_build()-------------> frozen dataclasses the rest of the program uses

Every problem found is reported in one `ConfigError` whose text has one line per problem, in
the form ``feeds.yaml:14: feeds[3].interval: expected a duration like "15m"`` (list indexes
count from 0). The error's own ``path``/``line``/``key`` fields describe the first problem.

The pydantic models are private: they describe the file; the dataclasses describe what the
program needs (absolute storage path, timedeltas, byte counts, defaults filled in).
"""

from __future__ import annotations

import contextlib
import difflib
import ipaddress
import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, ReusedAnchorWarning

from aggregator.config.durations import (
    DURATION_HINT,
    SIZE_HINT,
    format_duration,
    parse_duration,
    parse_size,
)
from aggregator.errors import ConfigError
from aggregator.identity.urls import canonical_url, host_of, is_http_url

__all__ = [
    "Config",
    "ConfigError",
    "FeedChanges",
    "FeedConfig",
    "HttpSettings",
    "Settings",
    "diff_feeds",
    "format_duration",
    "load_config",
    "parse_config",
    "parse_duration",
    "parse_size",
]

# A file with thousands of mistakes (or an alias repeated thousands of times) should not
# produce thousands of lines of output.
MAX_REPORTED_ERRORS = 20

Loc = tuple[str | int, ...]
_HOSTNAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*")


# --- the records the program uses ---------------------------------------------------------


@dataclass(frozen=True)
class FeedConfig:
    url: str  # as written in feeds.yaml (stripped); fetched as is
    name: str = ""  # "" -> the URL's host
    tags: tuple[str, ...] = ()
    interval: timedelta = timedelta(minutes=30)
    extract: bool = True  # fetch article pages and extract their bodies
    line: int | None = None  # where the feed is listed in feeds.yaml

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", host_of(self.url) or self.url)


@dataclass(frozen=True)
class HttpSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    enabled: bool = True


@dataclass(frozen=True)
class Settings:
    storage: Path | None = None  # None: the CLI's default (./storage)
    interval: timedelta = timedelta(minutes=30)  # default poll interval of a feed
    min_interval: timedelta = timedelta(minutes=5)  # bounds for adaptive polling
    max_interval: timedelta = timedelta(days=1)
    jitter: float | timedelta = 0.1  # fraction of the interval, or a fixed duration
    concurrency: int = 16  # concurrent requests in total
    per_host: int = 2  # concurrent requests to one host
    host_delay: timedelta = timedelta(seconds=1)  # spacing between requests to one host
    timeout: timedelta = timedelta(seconds=20)  # total deadline of one request
    max_feed_bytes: int = 10_000_000
    max_page_bytes: int = 5_000_000
    user_agent: str | None = None  # None: the project's default (aggregator.USER_AGENT)
    allow_private: tuple[str, ...] = ()  # hosts / CIDRs exempt from the private-address guard
    window: timedelta = timedelta(days=3)  # clustering time window
    retention: timedelta | None = None  # None keeps everything
    http: HttpSettings = field(default_factory=HttpSettings)
    log_format: str = "text"  # "text" | "json"
    log_level: str = "info"  # "debug" | "info" | "warning" | "error" | "critical"


@dataclass(frozen=True)
class Config:
    path: Path | None
    feeds: tuple[FeedConfig, ...]
    settings: Settings = field(default_factory=Settings)


@dataclass(frozen=True)
class FeedChanges:
    """What a reload changed, keyed by feed URL (for rescheduling)."""

    added: tuple[FeedConfig, ...]
    removed: tuple[FeedConfig, ...]
    changed: tuple[FeedConfig, ...]  # the new version of each feed whose settings changed


def diff_feeds(old: Config, new: Config) -> FeedChanges:
    """Feeds added, removed and changed between two configs (`line` changes are ignored)."""
    before = {feed.url: feed for feed in old.feeds}
    after = {feed.url: feed for feed in new.feeds}

    def same(a: FeedConfig, b: FeedConfig) -> bool:
        return (a.name, a.tags, a.interval, a.extract) == (b.name, b.tags, b.interval, b.extract)

    return FeedChanges(
        added=tuple(f for url, f in after.items() if url not in before),
        removed=tuple(f for url, f in before.items() if url not in after),
        changed=tuple(f for url, f in after.items() if url in before and not same(before[url], f)),
    )


# --- loading -----------------------------------------------------------------------------


def load_config(path: Path) -> Config:
    """Read and validate the config file at `path`."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"cannot read config file: {exc.strerror or exc}", path=str(path)
        ) from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text: {exc.reason}", path=str(path)) from exc
    return parse_config(text, path=Path(path))


def parse_config(text: str, *, path: Path | None = None) -> Config:
    """Validate feeds.yaml `text`; `path` names the file in errors and anchors `storage`."""
    where = str(path) if path is not None else ""
    root = _load_yaml(text, where)
    if root is None:
        raise ConfigError("the file is empty; expected a `feeds:` list", path=where)
    if not isinstance(root, CommentedMap):
        raise ConfigError(
            "expected a mapping with a `feeds:` list at the top level",
            path=where,
            line=_node_line(root),
        )
    data = _plain(root, {})
    problems: list[tuple[int | None, str, str]] = list(_duplicate_urls(root))
    raw: _RawConfig | None = None
    try:
        raw = _RawConfig.model_validate(data)
    except ValidationError as exc:
        problems += [_describe(error, root) for error in exc.errors()]
    if raw is not None and not problems:
        problems += _cross_checks(raw, root)
    if problems:
        raise _config_error(problems, where)
    assert raw is not None
    return _build(raw, root, path)


def _load_yaml(text: str, where: str) -> Any:
    yaml = YAML(typ="rt")
    try:
        # Reusing an anchor name is legal YAML (the later one wins); no need to warn.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ReusedAnchorWarning)
            return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        message = " ".join(str(p) for p in (exc.context, exc.problem) if p) or "invalid YAML"
        if "\\t" in message or "\t" in message:
            message += " (indent with spaces: YAML does not allow tabs there)"
        raise ConfigError(f"invalid YAML: {message}", path=where, line=line) from exc
    # The parser is third-party code reading untrusted text: whatever it trips over, the
    # text is not YAML we can read, which is the user's problem to fix, not a crash.
    except Exception as exc:
        raise ConfigError(f"invalid YAML: {exc}", path=where) from exc


# --- YAML nodes -> plain data, and locations back to lines ---------------------------------


def _plain(node: Any, done: dict[int, Any]) -> Any:
    """Round-trip nodes as plain Python values; ruamel's scalar subclasses made plain too.

    `done` memoises by identity, so an alias repeated many times costs one conversion and a
    self-referencing alias ends instead of recursing forever.
    """
    if id(node) in done:
        return done[id(node)]
    if isinstance(node, dict):
        result: dict[str, Any] = {}
        done[id(node)] = result
        for key, value in node.items():
            result[_key_name(key)] = _plain(value, done)
        return result
    if isinstance(node, list):
        items: list[Any] = []
        done[id(node)] = items
        items.extend(_plain(item, done) for item in node)
        return items
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node  # None, dates, tagged scalars...: the models reject what they don't expect


def _key_name(key: Any) -> str:
    # `true:` or `1:` as a key is a mistake; its text makes a readable "unknown key".
    return key if isinstance(key, str) else str(key)


def _node_line(node: Any) -> int | None:
    lc = getattr(node, "lc", None)
    return lc.line + 1 if lc is not None and lc.line is not None else None


def _line_of(root: CommentedMap, loc: Loc) -> int | None:
    """The line of the deepest node along `loc` that exists in the YAML."""
    node: Any = root
    line: int | None = None
    for part in loc:
        try:
            if isinstance(node, CommentedMap) and isinstance(part, str):
                key = _find_key(node, part)
                line = node.lc.key(key)[0] + 1
                node = node[key]
            elif isinstance(node, CommentedSeq) and isinstance(part, int):
                line = node.lc.item(part)[0] + 1
                node = node[part]
            else:
                break
        # merged keys (<<:) have no line of their own; the line of the mapping is close enough
        except (KeyError, IndexError, TypeError, StopIteration):
            break
    return line


def _find_key(node: CommentedMap, name: str) -> Any:
    if name in node:
        return name
    return next(key for key in node if _key_name(key) == name)  # StopIteration -> caller


def _key_path(loc: Loc) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    return path


# --- the file's schema ---------------------------------------------------------------------


def _custom(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message)


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, int | str) or isinstance(value, bool):
        raise _custom("duration", DURATION_HINT)
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise _custom("duration", str(exc)) from None


def _duration_or_zero(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, int | str) or isinstance(value, bool):
        raise _custom("duration", DURATION_HINT)
    try:
        return parse_duration(value, allow_zero=True)
    except ValueError as exc:
        raise _custom("duration", str(exc)) from None


def _optional_duration(value: Any) -> timedelta | None:
    return None if value is None else _duration(value)


def _size(value: Any) -> int:
    if not isinstance(value, int | str) or isinstance(value, bool):
        raise _custom("size", SIZE_HINT)
    try:
        return parse_size(value)
    except ValueError as exc:
        raise _custom("size", str(exc)) from None


def _jitter(value: Any) -> float | timedelta:
    if isinstance(value, str) and value.strip().endswith("%"):
        number = value.strip()[:-1].strip()
        try:
            percent = float(number)
        except ValueError:
            raise _custom("jitter", 'expected a percentage like "10%" or a duration') from None
        if not 0 <= percent <= 100:
            raise _custom("jitter", "expected a percentage between 0% and 100%")
        return percent / 100
    if value == 0 and not isinstance(value, bool):
        return 0.0
    try:
        return _duration(value)
    except PydanticCustomError:
        raise _custom("jitter", 'expected a percentage like "10%" or a duration') from None


def _http_url(value: Any) -> str:
    if not isinstance(value, str):
        raise _custom("url", "expected an http(s) URL")
    url = value.strip()
    if not is_http_url(url):
        raise _custom("url", f"expected an absolute http(s) URL, got {url!r}")
    return url


def _host_or_cidr(value: Any) -> str:
    """A host ("intranet.local"), a domain suffix (".corp"), an address or a CIDR range."""
    problem = _custom(
        "host", 'expected a host name, ".domain" suffix or CIDR range like 10.0.0.0/8'
    )
    if not isinstance(value, str) or not value.strip():
        raise problem
    text = value.strip().lower()
    try:
        return str(ipaddress.ip_network(text.strip("[]"), strict=False))
    except ValueError:
        pass
    suffix = "." if text.startswith(".") else ""
    host = host_of(f"http://{text.removeprefix('.')}/")  # punycode, as the fetcher sees names
    if host and _HOSTNAME.fullmatch(host):
        return suffix + host
    raise problem


def _none_to_empty_list(value: Any) -> Any:
    return [] if value is None else value


def _none_to_empty_map(value: Any) -> Any:
    return {} if value is None else value


def _feed_list(value: Any) -> Any:
    if value is None:
        raise _custom("feeds", "is empty; expected a list of feeds")
    if not isinstance(value, list):
        raise _custom("feeds", "expected a list of feeds (each `- url: ...`)")
    if not value:
        raise _custom("feeds", "expected at least one feed")
    # `- https://example.org/rss.xml` is shorthand for `- url: https://example.org/rss.xml`
    return [{"url": item} if isinstance(item, str) else item for item in value]


def _name(value: Any) -> Any:
    # "" and blanks mean "not given": the default applies.
    return (value.strip() or None) if isinstance(value, str) else value


def _tags(value: Any) -> Any:
    if isinstance(value, list):
        return [tag.strip() if isinstance(tag, str) else tag for tag in value]
    return _none_to_empty_list(value)


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


Duration = Annotated[timedelta, BeforeValidator(_duration)]
DurationOrZero = Annotated[timedelta, BeforeValidator(_duration_or_zero)]
OptionalDuration = Annotated[timedelta | None, BeforeValidator(_optional_duration)]
Size = Annotated[int, BeforeValidator(_size)]
Positive = Annotated[int, Field(ge=1)]
Tag = Annotated[str, Field(min_length=1)]


class _Model(BaseModel):
    # strict: YAML already typed each value; "yes" for a bool or "8080" for a port is a mistake.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class _RawFeed(_Model):
    url: Annotated[str, BeforeValidator(_http_url)]
    name: Annotated[str | None, BeforeValidator(_name)] = None
    tags: Annotated[list[Tag], BeforeValidator(_tags)] = []
    interval: Annotated[timedelta | None, BeforeValidator(_optional_duration)] = None
    extract: bool = True


class _RawHttp(_Model):
    host: Annotated[str, Field(min_length=1)] = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8080
    enabled: bool = True


class _RawSettings(_Model):
    storage: str | None = None
    interval: Duration = timedelta(minutes=30)
    min_interval: Duration = timedelta(minutes=5)
    max_interval: Duration = timedelta(days=1)
    jitter: Annotated[float | timedelta, BeforeValidator(_jitter)] = 0.1
    concurrency: Positive = 16
    per_host: Positive = 2
    host_delay: DurationOrZero = timedelta(seconds=1)
    timeout: Duration = timedelta(seconds=20)
    max_feed_bytes: Size = 10_000_000
    max_page_bytes: Size = 5_000_000
    user_agent: Annotated[str | None, BeforeValidator(_name)] = None
    allow_private: Annotated[
        list[Annotated[str, BeforeValidator(_host_or_cidr)]], BeforeValidator(_none_to_empty_list)
    ] = []
    window: Duration = timedelta(days=3)
    retention: OptionalDuration = None
    http: Annotated[_RawHttp, BeforeValidator(_none_to_empty_map)] = _RawHttp()
    log_format: Annotated[Literal["text", "json"], BeforeValidator(_lower)] = "text"
    log_level: Annotated[
        Literal["debug", "info", "warning", "error", "critical"], BeforeValidator(_lower)
    ] = "info"


class _RawConfig(_Model):
    feeds: Annotated[list[_RawFeed], BeforeValidator(_feed_list)]
    settings: Annotated[_RawSettings, BeforeValidator(_none_to_empty_map)] = _RawSettings()


# --- problems ------------------------------------------------------------------------------

Problem = tuple[int | None, str, str]  # line, key path, message

_MESSAGES = {
    "missing": "required key is missing",
    "bool_type": "expected true or false",
    "int_type": "expected an integer",
    "string_type": "expected a string",
    "list_type": "expected a list",
    "model_type": "expected a mapping (key: value lines)",
    "dict_type": "expected a mapping (key: value lines)",
    "invalid_key": "keys must be strings",
}


def _describe(error: ErrorDetails, root: CommentedMap) -> Problem:
    loc: Loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        message = "unknown key" + _suggestion(loc)
    elif kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        message = f"expected one of {expected}".replace("'", '"')
    else:
        message = _MESSAGES.get(kind) or error["msg"].removeprefix("Input ")
    return _line_of(root, loc), _key_path(loc), message


def _suggestion(loc: Loc) -> str:
    name = loc[-1]
    fields = _fields_at(loc[:-1])
    close = difflib.get_close_matches(str(name), fields, n=1)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _fields_at(loc: Loc) -> list[str]:
    model: type[BaseModel] = _RawConfig
    for part in loc:
        if isinstance(part, int):
            continue
        annotation = (
            model.model_fields[str(part)].annotation if part in model.model_fields else None
        )
        inner = getattr(annotation, "__args__", (annotation,))
        nested = [a for a in inner if isinstance(a, type) and issubclass(a, BaseModel)]
        if not nested:
            return []
        model = nested[0]
    return list(model.model_fields)


def _duplicate_urls(root: CommentedMap) -> Iterator[Problem]:
    feeds = root.get("feeds")
    if not isinstance(feeds, CommentedSeq):
        return
    seen: dict[str, int] = {}
    for index, item in enumerate(feeds):
        url = item.get("url") if isinstance(item, CommentedMap) else item
        if not isinstance(url, str) or not is_http_url(url):
            continue
        key = canonical_url(url)
        if key in seen:
            first = seen[key]
            first_line = _line_of(root, ("feeds", first))
            at = f"line {first_line}" if first_line is not None else "earlier"
            yield (
                _line_of(root, ("feeds", index, "url")),
                f"feeds[{index}].url",
                f"duplicate feed URL, already listed at {at} (feeds[{first}])",
            )
        else:
            seen[key] = index


def _cross_checks(raw: _RawConfig, root: CommentedMap) -> list[Problem]:
    settings = raw.settings
    if settings.min_interval > settings.max_interval:
        loc: Loc = ("settings", "min_interval")
        message = (
            f"min_interval ({format_duration(settings.min_interval)}) is longer than "
            f"max_interval ({format_duration(settings.max_interval)})"
        )
        return [(_line_of(root, loc), _key_path(loc), message)]
    return []


def _config_error(problems: Iterable[Problem], where: str) -> ConfigError:
    ordered = sorted(problems, key=lambda p: (p[0] is not None, p[0] or 0))
    shown = ordered[:MAX_REPORTED_ERRORS]
    lines = [
        str(ConfigError(message, path=where, line=line, key=key)) for line, key, message in shown
    ]
    if len(ordered) > len(shown):
        lines.append(f"... and {len(ordered) - len(shown)} more problems")
    first_line, first_key, first_message = shown[0]
    # ConfigError prefixes the first line with its location; the others carry their own.
    message = "\n".join([first_message, *lines[1:]])
    return ConfigError(message, path=where, line=first_line, key=first_key)


# --- plain records -------------------------------------------------------------------------


def _build(raw: _RawConfig, root: CommentedMap, path: Path | None) -> Config:
    settings = _build_settings(raw.settings, path)
    feeds = tuple(
        FeedConfig(
            url=feed.url,
            name=feed.name or host_of(feed.url),
            tags=tuple(dict.fromkeys(feed.tags)),  # drop repeats, keep order
            interval=feed.interval or settings.interval,
            extract=feed.extract,
            line=_line_of(root, ("feeds", index)),
        )
        for index, feed in enumerate(raw.feeds)
    )
    return Config(path=path, feeds=feeds, settings=settings)


def _build_settings(raw: _RawSettings, path: Path | None) -> Settings:
    return Settings(
        storage=_storage_path(raw.storage, path),
        interval=raw.interval,
        min_interval=raw.min_interval,
        max_interval=raw.max_interval,
        jitter=raw.jitter,
        concurrency=raw.concurrency,
        per_host=raw.per_host,
        host_delay=raw.host_delay,
        timeout=raw.timeout,
        max_feed_bytes=raw.max_feed_bytes,
        max_page_bytes=raw.max_page_bytes,
        user_agent=raw.user_agent,
        allow_private=tuple(raw.allow_private),
        window=raw.window,
        retention=raw.retention,
        http=HttpSettings(host=raw.http.host, port=raw.http.port, enabled=raw.http.enabled),
        log_format=raw.log_format,
        log_level=raw.log_level,
    )


def _storage_path(value: str | None, config_path: Path | None) -> Path | None:
    """`storage` as written, made absolute against the config file's directory."""
    if value is None or not value.strip():
        return None
    storage = Path(value.strip())
    # "~user" for a user that does not exist: keep it literal
    with contextlib.suppress(RuntimeError):
        storage = storage.expanduser()
    if storage.is_absolute() or config_path is None:
        return storage
    return Path(config_path).absolute().parent / storage
