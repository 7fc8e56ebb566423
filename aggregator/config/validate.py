"""The feeds.yaml schema, checked with pydantic, and each problem described by line and key.

`model.parse_config` hands this module the round-trip tree ruamel read: `plain` turns it into
dicts and lists for the `Raw*` models below, and `describe` turns each pydantic error back into
``(line, key path, message)`` by walking the same tree along the error's location. The models
describe the file as written; `model` builds the frozen records the program uses from them.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from functools import partial
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import ErrorDetails, PydanticCustomError
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from aggregator.config.durations import (
    DURATION_HINT,
    SIZE_HINT,
    format_duration,
    parse_duration,
    parse_size,
)
from aggregator.errors import ConfigError
from aggregator.identity.urls import canonical_url, host_of, is_http_url

# A file with thousands of mistakes (or an alias repeated thousands of times) should not
# produce thousands of lines of output.
MAX_REPORTED_ERRORS = 20

Loc = tuple[str | int, ...]
_HOSTNAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*")


# --- YAML nodes -> plain data, and locations back to lines ---------------------------------


def plain(node: Any, done: dict[int, Any]) -> Any:
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
            result[_key_name(key)] = plain(value, done)
        return result
    if isinstance(node, list):
        items: list[Any] = []
        done[id(node)] = items
        items.extend(plain(item, done) for item in node)
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


def node_line(node: Any) -> int | None:
    lc = getattr(node, "lc", None)
    return lc.line + 1 if lc is not None and lc.line is not None else None


def line_of(root: CommentedMap, loc: Loc) -> int | None:
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


T = TypeVar("T")


def _parsed(value: Any, kind: str, hint: str, parse: Callable[[int | str], T]) -> T:
    """`parse` of a YAML int or string; anything else, or a value it refuses, is a `kind` error."""
    if not isinstance(value, int | str) or isinstance(value, bool):
        raise _custom(kind, hint)
    try:
        return parse(value)
    except ValueError as exc:
        raise _custom(kind, str(exc)) from None


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    return _parsed(value, "duration", DURATION_HINT, parse_duration)


def _duration_or_zero(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    return _parsed(value, "duration", DURATION_HINT, partial(parse_duration, allow_zero=True))


def _optional_duration(value: Any) -> timedelta | None:
    return None if value is None else _duration(value)


def _size(value: Any) -> int:
    return _parsed(value, "size", SIZE_HINT, parse_size)


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


def _database_url(value: Any) -> str | None:
    """A PostgreSQL URL (postgresql://USER@HOST:PORT/DB); empty or null: SQLite."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise _custom("database", "expected a postgresql:// URL")
    url = value.strip()
    scheme, _, rest = url.partition("://")
    if scheme.split("+")[0] not in ("postgresql", "postgres") or not rest.partition("/")[2]:
        raise _custom(
            "database", "expected postgresql://USER@HOST:PORT/DATABASE (a database name too)"
        )
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


def _address_or_cidr(value: Any) -> str:
    """An IP address or a CIDR range (a proxy is known by its address, not its name)."""
    problem = _custom("address", "expected an IP address or CIDR range like 10.0.0.0/8")
    if not isinstance(value, str):
        raise problem
    try:
        return str(ipaddress.ip_network(value.strip().strip("[]"), strict=False))
    except ValueError:
        raise problem from None


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
    public: bool = True
    trusted_proxies: Annotated[
        list[Annotated[str, BeforeValidator(_address_or_cidr)]],
        BeforeValidator(_none_to_empty_list),
    ] = []


class RawSettings(_Model):
    storage: str | None = None
    database: Annotated[str | None, BeforeValidator(_database_url)] = None
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
    window: Duration = timedelta(days=7)
    retention: OptionalDuration = None
    http: Annotated[_RawHttp, BeforeValidator(_none_to_empty_map)] = _RawHttp()
    log_format: Annotated[Literal["text", "json"], BeforeValidator(_lower)] = "text"
    log_level: Annotated[
        Literal["debug", "info", "warning", "error", "critical"], BeforeValidator(_lower)
    ] = "info"


class RawConfig(_Model):
    feeds: Annotated[list[_RawFeed], BeforeValidator(_feed_list)]
    settings: Annotated[RawSettings, BeforeValidator(_none_to_empty_map)] = RawSettings()


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


def describe(error: ErrorDetails, root: CommentedMap) -> Problem:
    loc: Loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        message = "unknown key" + _suggestion(loc)
    elif kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        message = f"expected one of {expected}".replace("'", '"')
    else:
        message = _MESSAGES.get(kind) or error["msg"].removeprefix("Input ")
    return line_of(root, loc), _key_path(loc), message


def _suggestion(loc: Loc) -> str:
    name = loc[-1]
    fields = _fields_at(loc[:-1])
    close = difflib.get_close_matches(str(name), fields, n=1)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _fields_at(loc: Loc) -> list[str]:
    model: type[BaseModel] = RawConfig
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


def duplicate_urls(root: CommentedMap) -> Iterator[Problem]:
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
            first_line = line_of(root, ("feeds", first))
            at = f"line {first_line}" if first_line is not None else "earlier"
            yield (
                line_of(root, ("feeds", index, "url")),
                f"feeds[{index}].url",
                f"duplicate feed URL, already listed at {at} (feeds[{first}])",
            )
        else:
            seen[key] = index


def cross_checks(raw: RawConfig, root: CommentedMap) -> list[Problem]:
    settings = raw.settings
    if settings.min_interval > settings.max_interval:
        loc: Loc = ("settings", "min_interval")
        message = (
            f"min_interval ({format_duration(settings.min_interval)}) is longer than "
            f"max_interval ({format_duration(settings.max_interval)})"
        )
        return [(line_of(root, loc), _key_path(loc), message)]
    return []


def config_error(problems: Iterable[Problem], where: str) -> ConfigError:
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
