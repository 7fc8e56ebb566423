"""Reading a response body under a size limit.

We read the raw (still encoded) stream and decode it ourselves instead of letting httpx do
it: httpx decompresses each raw chunk in one call with no output bound, so a 30-byte brotli
chunk can expand to gigabytes before anyone counts. Our decoders hand out at most the bytes
still allowed (+1 to notice the overflow), which caps memory near the limit.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator
from typing import Protocol

from aggregator.errors import FetchError, TooLargeError

_DECODE_ERRORS: tuple[type[Exception], ...] = (zlib.error,)
try:
    import brotli

    # only brotli >= 1.2 can bound its output; without that we do not offer br at all
    _HAVE_BOUNDED_BROTLI = hasattr(brotli.Decompressor(), "can_accept_more_data")
    _DECODE_ERRORS += (brotli.error,)
except ImportError:  # pragma: no cover - httpx[brotli] is a dependency
    _HAVE_BOUNDED_BROTLI = False

ACCEPT_ENCODING = "gzip, deflate, br" if _HAVE_BOUNDED_BROTLI else "gzip, deflate"


class Decoder(Protocol):
    def decode(self, data: bytes, budget: int) -> bytes:
        """Decoded bytes for `data`; may stop after `budget` bytes or a little more (the
        caller then refuses the body, so what is left over does not matter)."""

    def flush(self, budget: int) -> bytes: ...


class IdentityDecoder:
    def decode(self, data: bytes, budget: int) -> bytes:
        return data

    def flush(self, budget: int) -> bytes:
        return b""


class ZlibDecoder:
    """gzip, and deflate with or without the zlib header (servers send both)."""

    def __init__(self, gzip: bool) -> None:
        self._gzip = gzip
        self._first = True
        self._obj = zlib.decompressobj(zlib.MAX_WBITS | 16 if gzip else zlib.MAX_WBITS)

    def decode(self, data: bytes, budget: int) -> bytes:
        if self._first and not self._gzip and data:
            self._first = False
            try:
                return self._obj.decompress(data, budget)
            except zlib.error:  # raw deflate stream, no zlib header
                self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
        return self._obj.decompress(data, budget)

    def flush(self, budget: int) -> bytes:
        return self._obj.decompress(self._obj.unconsumed_tail, budget) if budget > 0 else b""


class BrotliDecoder:
    def __init__(self) -> None:
        self._obj = brotli.Decompressor()

    def decode(self, data: bytes, budget: int) -> bytes:
        # output_buffer_limit is soft (it stops once the buffer reaches it), hence "a little more"
        return bytes(self._obj.process(data, output_buffer_limit=max(budget, 1)))

    def flush(self, budget: int) -> bytes:
        if self._obj.can_accept_more_data():
            return b""
        return bytes(self._obj.process(b"", output_buffer_limit=max(budget, 1)))


def make_decoder(content_encoding: str, url: str) -> Decoder:
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return IdentityDecoder()
    if len(codings) > 1:  # stacked encodings: legal, never seen from news sites, bomb-prone
        raise FetchError(url, f"unsupported Content-Encoding {content_encoding!r}")
    coding = codings[0]
    if coding in ("gzip", "x-gzip"):
        return ZlibDecoder(gzip=True)
    if coding == "deflate":
        return ZlibDecoder(gzip=False)
    if coding == "br" and _HAVE_BOUNDED_BROTLI:
        return BrotliDecoder()
    raise FetchError(url, f"unsupported Content-Encoding {content_encoding!r}")


async def read_limited(
    raw_chunks: AsyncIterator[bytes], decoder: Decoder, max_bytes: int, url: str
) -> bytes:
    """The decoded body; TooLargeError as soon as the raw or the decoded bytes pass max_bytes."""
    parts: list[bytes] = []
    raw_total = decoded_total = 0

    def take(piece: bytes) -> None:
        nonlocal decoded_total
        decoded_total += len(piece)
        if decoded_total > max_bytes:
            raise TooLargeError(url, f"body larger than {max_bytes} bytes (decoded)")
        parts.append(piece)

    try:
        async for chunk in raw_chunks:
            raw_total += len(chunk)
            if raw_total > max_bytes:
                raise TooLargeError(url, f"body larger than {max_bytes} bytes")
            take(decoder.decode(chunk, max_bytes - decoded_total + 1))
            # a decoder that stopped at its budget may still hold output: drain it, bounded
            while piece := decoder.flush(max_bytes - decoded_total + 1):
                take(piece)
    except _DECODE_ERRORS as exc:
        raise FetchError(url, f"cannot decode body: {exc}") from exc
    return b"".join(parts)
