"""The project's exception tree.

    AggregatorError
    ├── ConfigError          feeds.yaml is invalid (carries file, line, key path)
    ├── FeedError            one feed could not be fetched or parsed (carries the feed URL)
    │   ├── FetchError       network / HTTP failure
    │   │   ├── BlockedAddressError   URL refused by the address guard
    │   │   └── TooLargeError         body over the size limit
    │   └── ParseError       the bytes are not a feed we can read
    ├── ExtractError         an article page gave no usable text (carries the page URL)
    ├── StorageError         the store failed (wraps sqlite3 errors)
    ├── CorrectionError      an operator's story correction cannot apply (unknown id, ...)
    ├── AccountError         a reader's account cannot be added, found or given that password
    ├── WorkerDied           a worker process died under a job (extraction, parsing)
    ├── LockedError          another daemon holds the storage directory
    └── QueryError           a reader's search cannot be understood (names the bad part)

Anything raised that is not an ``AggregatorError`` is a bug and propagates.
"""

from __future__ import annotations


class AggregatorError(Exception):
    """Base of every error the project raises on purpose."""

    def __reduce__(self) -> tuple[object, ...]:
        # errors cross process boundaries (feeds are parsed in worker processes); the default
        # pickling calls __init__ with the message alone, which the subclasses' keyword
        # fields do not accept
        return (_rebuild, (type(self), self.args, self.__dict__.copy()))


def _rebuild(
    cls: type[AggregatorError], args: tuple[object, ...], state: dict[str, object]
) -> AggregatorError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class ConfigError(AggregatorError):
    def __init__(self, message: str, *, path: str = "", line: int | None = None, key: str = ""):
        self.path = path
        self.line = line
        self.key = key
        self.message = message
        where = path
        if line is not None:
            where = f"{where}:{line}" if where else f"line {line}"
        parts = [p for p in (where, key) if p]
        super().__init__(": ".join([*parts, message]))


class FeedError(AggregatorError):
    def __init__(self, url: str, message: str, *, status: int | None = None):
        self.url = url
        self.status = status
        self.message = message
        super().__init__(f"{url}: {message}")

    @property
    def kind(self) -> str:
        """Short machine-readable error kind, for status and metrics."""
        return type(self).__name__.removesuffix("Error").lower() or "feed"


class FetchError(FeedError):
    pass


class BlockedAddressError(FetchError):
    pass


class TooLargeError(FetchError):
    pass


class ParseError(FeedError):
    pass


class ExtractError(AggregatorError):
    def __init__(self, url: str, message: str):
        self.url = url
        super().__init__(f"{url}: {message}")


class StorageError(AggregatorError):
    pass


class CorrectionError(AggregatorError):
    pass


class AccountError(AggregatorError):
    pass


class LockedError(AggregatorError):
    pass


class WorkerDied(AggregatorError):
    pass


class QueryError(AggregatorError):
    """A reader's search cannot be understood; the message names the part (``since:soon``)."""
