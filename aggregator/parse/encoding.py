"""Feed bytes -> str, trusting the bytes over the labels when the two disagree.

Order of evidence:
1. a byte order mark;
2. bytes that are valid UTF-8 (non-ASCII text that happens to be valid UTF-8 is UTF-8 in
   practice, whatever the declaration says: the usual "declared iso-8859-1, sent UTF-8");
3. bytes that are mostly UTF-8 with a few stray bytes: UTF-8, the strays read as windows-1252;
4. the XML declaration, then the HTTP charset (server defaults are wrong more often than the
   document's own declaration), when the bytes decode under it;
5. detection (charset_normalizer), then windows-1252.

"iso-8859-1" and "us-ascii" labels are read as windows-1252, as browsers do, because the
0x80-0x9F bytes in such feeds are nearly always windows-1252 quotes and dashes.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: same first two bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# "<" as UTF-16 without a BOM: plain ASCII would also pass as UTF-8, with NULs in between
_BOMLESS_UTF16 = ((b"<\x00", "utf-16-le"), (b"\x00<", "utf-16-be"))
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_VALID_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")
_WINDOWS_1252_ALIASES = frozenset({"iso8859-1", "ascii", "cp1252"})  # codecs.lookup names
_DETECT_SAMPLE = 256 * 1024  # detection on a large feed costs time; its start tells enough
_MIN_HIGH_BYTES = 8
_LATIN_CODECS = frozenset(
    codecs.lookup(name).name
    for name in (
        *("cp1250", "cp1252", "cp1254", "cp1257", "latin-1", "mac-roman", "mac-latin2"),
        *("iso8859-2", "iso8859-3", "iso8859-4", "iso8859-9", "iso8859-10", "iso8859-13"),
        *("iso8859-14", "iso8859-15", "iso8859-16", "mac-iceland", "mac-turkish"),
        *("cp437", "cp850", "cp858"),
    )
)


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # Python codec name actually used
    declared: str | None  # what the document or server said, if anything
    note: str | None = None  # why the declaration was not followed, for ParsedFeed.warnings


def _cp1252_fallback(error: UnicodeError) -> tuple[str, int]:
    """Decode each undecodable byte as windows-1252 (latin-1 where that has a hole)."""
    assert isinstance(error, UnicodeDecodeError)
    chunk = error.object[error.start : error.end]
    return "".join(_byte_as_cp1252(b) for b in chunk), error.end


def _byte_as_cp1252(byte: int) -> str:
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        return chr(byte)


codecs.register_error("aggregator-cp1252", _cp1252_fallback)


def codec_name(label: str | None) -> str | None:
    """Python's canonical codec name for an encoding label, or None when unknown."""
    if not label:
        return None
    try:
        return codecs.lookup(label.strip().lower()).name
    except LookupError:
        return None


def _declared(content: bytes, content_type: str) -> list[tuple[str, str]]:
    """(label, codec) pairs the document and server declare, document first."""
    found: list[tuple[str, str]] = []
    match = _XML_ENCODING.match(content[:512])
    if match:
        label = match.group(1).decode("ascii")
        found.append((label, codec_name(label) or ""))
    header = _CHARSET.search(content_type or "")
    if header:
        found.append((header.group(1), codec_name(header.group(1)) or ""))
    return found


def _decode_as(content: bytes, codec: str) -> str | None:
    if codec in _WINDOWS_1252_ALIASES:
        return content.decode("cp1252", errors="aggregator-cp1252")
    if codec.startswith(("utf-16", "utf-32")):
        return None  # without a BOM such a label on 8-bit looking bytes is a lie
    try:
        return content.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _mostly_utf8(content: bytes) -> bool:
    valid = len(_VALID_MULTIBYTE.findall(content))
    if valid < 2:
        return False
    valid_bytes = sum(len(m) for m in _VALID_MULTIBYTE.findall(content))
    stray = len(_HIGH_BYTE.findall(content)) - valid_bytes
    return valid >= 2 * stray


def _detect(content: bytes) -> str | None:
    """A legacy encoding for non-Latin text, or None to fall back on windows-1252.

    Detection is noisy on short or mostly-ASCII text and confuses the Latin code pages with
    each other (French text comes out as Baltic cp1257); windows-1252 is then the better guess.
    """
    if len(_HIGH_BYTE.findall(content[:_DETECT_SAMPLE])) < _MIN_HIGH_BYTES:
        return None
    from charset_normalizer import from_bytes  # only needed for undeclared legacy encodings

    best = from_bytes(content[:_DETECT_SAMPLE]).best()
    codec = codec_name(best.encoding) if best is not None else None
    return None if codec in _LATIN_CODECS else codec


def decode_document(content: bytes, content_type: str = "") -> Decoded:
    """The text of a feed document; see the module docstring for the order of evidence."""
    for bom, codec in _BOMS:
        if content.startswith(bom):
            return Decoded(content[len(bom) :].decode(codec, errors="replace"), codec, codec)
    for start, codec in _BOMLESS_UTF16:
        if content.startswith(start):
            return Decoded(content.decode(codec, errors="replace"), codec, None)
    declared = _declared(content, content_type)
    first_label = declared[0][0] if declared else None
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        note = None
        if declared and declared[0][1] not in ("utf-8", "ascii") and not text.isascii():
            note = f"declared {first_label} but the bytes are UTF-8; read as UTF-8"
        return Decoded(text, "utf-8", first_label, note)
    if _mostly_utf8(content):
        text = content.decode("utf-8", errors="aggregator-cp1252")
        return Decoded(text, "utf-8", first_label, "stray non-UTF-8 bytes read as windows-1252")
    for _label, codec in declared:
        if codec and codec != "utf-8":
            decoded = _decode_as(content, codec)
            if decoded is not None:
                return Decoded(decoded, codec, first_label)
    detected = _detect(content)
    if detected and detected != "utf-8":
        decoded = _decode_as(content, detected)
        if decoded is not None:
            note = f"declared {first_label or 'nothing'}; detected {detected}"
            return Decoded(decoded, detected, first_label, note)
    text = content.decode("cp1252", errors="aggregator-cp1252")
    return Decoded(text, "cp1252", first_label, "encoding unknown; read as windows-1252")
