"""URL canonicalisation, so that one article reached by different links is stored once.

`canonical_url` maps the spellings of one http(s) URL to a single string:

- scheme and host lowercased; IDN hosts in punycode; a trailing dot on the host dropped;
- the default port (80 for http, 443 for https) dropped;
- percent-encoding normalised: hex digits uppercase, unreserved characters (``A-Z a-z 0-9 - . _
  ~``) decoded, characters that may not appear raw (space, non-ASCII, ``"<>`` ...) encoded as
  UTF-8, and a stray ``%`` encoded as ``%25``;
- dot segments (``/a/./b/../c``) resolved; an empty path becomes ``/``; a ``;jsessionid=``
  path parameter dropped;
- tracking parameters (`TRACKING_PARAMS`, and any name starting with one of
  `TRACKING_PREFIXES`) removed from the query, compared case-insensitively after decoding;
- empty query pieces (``a=1&&b=2``) and an empty query (a bare ``?``) dropped;
- the fragment dropped.

The remaining query parameters keep their order. Sorting them would merge a few more
spellings, but parameter order is significant to some servers (repeated keys, positional
parameters), and one site's feed writes the same link the same way every time, so sorting
would buy little and could merge different pages.

Anything that is not an absolute http(s) URL with a host, or that does not parse, is returned
stripped and otherwise unchanged: the function never raises.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, unquote_plus, urljoin, urlsplit, urlunsplit

# Query parameters that only say where a click came from. Exact names, compared lowercased.
TRACKING_PARAMS = frozenset(
    {
        # ad-click identifiers
        "fbclid",  # Facebook
        "gclid",  # Google Ads
        "gclsrc",
        "dclid",  # Google Display
        "gbraid",
        "wbraid",
        "msclkid",  # Microsoft Ads
        "yclid",  # Yandex
        "twclid",  # Twitter/X
        "ttclid",  # TikTok
        "li_fat_id",  # LinkedIn
        "igshid",  # Instagram
        "igsh",
        # newsletters and marketing automation
        "mc_cid",  # Mailchimp
        "mc_eid",
        "_hsenc",  # HubSpot
        "_hsmi",
        "mkt_tok",  # Marketo
        "vero_id",
        "oly_anon_id",  # Omeda
        "oly_enc_id",
        # analytics cookies passed along in links
        "_ga",
        "_gl",
        # share buttons and campaign tags used by news sites
        "ref_src",  # Twitter embeds
        "ref_url",
        "cmpid",
        "cmp",  # The Guardian ("CMP=share_btn_tw")
        "at_medium",  # AT Internet (BBC and others)
        "at_campaign",
        "xtor",  # AT Internet (Le Monde and others)
        "smid",  # The New York Times share links
        "smtyp",
        "s_cid",  # Adobe Analytics
        "wt.mc_id",  # Webtrends
        "wt_mc_id",
        "ncid",
        "sr_share",
        "guccounter",  # Yahoo consent redirect
        "guce_referrer",
        "guce_referrer_sig",
    }
)
# Whole families of tracking parameters, compared lowercased.
TRACKING_PREFIXES = (
    "utm_",  # Google Analytics campaign tags
    "pk_",  # Matomo / Piwik
    "mtm_",  # Matomo
    "hsa_",  # HubSpot ads
)

_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# Characters left as they are in a path or query: unreserved, sub-delims, ":@/?". Everything
# else is percent-encoded (a raw "%" is handled separately).
_KEEP_RAW = _UNRESERVED | frozenset("!$&'()*+,;=:@/?")
_HEX = frozenset("0123456789abcdefABCDEF")
_JSESSIONID = re.compile(r";jsessionid=[^/]*", re.IGNORECASE)
# A host we are willing to emit after IDNA encoding; anything else keeps its original spelling.
_ASCII_HOST = re.compile(r"[a-z0-9._-]+")


def canonical_url(url: str) -> str:
    """The form of `url` used to recognise the same page; see the module docstring."""
    text = url.strip()
    parts = _split_http(text)
    if parts is None:
        return text
    netloc = _canonical_netloc(parts)
    if netloc is None:
        return text
    path = _remove_dot_segments(_JSESSIONID.sub("", _normalise_escapes(parts.path))) or "/"
    query = _canonical_query(parts.query)
    return urlunsplit((parts.scheme, netloc, path, query, ""))


def entry_link(url: str, canonical: str | None = None) -> str:
    """The canonical URL with the fragment kept: inside one feed, ``entries.php#111`` and
    ``entries.php#110`` are two items of a newsletter, not one page listed twice.
    ``canonical``: ``canonical_url(url)``, when the caller has it already."""
    if canonical is None:
        canonical = canonical_url(url)
    try:
        fragment = urlsplit(url.strip()).fragment
    except ValueError:
        return canonical
    return f"{canonical}#{fragment}" if fragment else canonical


def is_http_url(url: str) -> bool:
    """Whether `url` is an absolute http(s) URL with a host and a valid port."""
    parts = _split_http(url.strip())
    return parts is not None and _canonical_netloc(parts) is not None


def resolve(base: str, link: str) -> str:
    """`link` made absolute against `base`; `link` stripped as-is if that fails."""
    link = link.strip()
    try:
        return urljoin(base.strip(), link)
    except ValueError:
        return link


def host_of(url: str) -> str:
    """The host of `url` as `canonical_url` writes it (lowercase, punycode); "" if none."""
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return ""
    return _canonical_host(host) if host else ""


def _split_http(text: str) -> SplitResult | None:
    try:
        parts = urlsplit(text)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return parts


def _canonical_netloc(parts: SplitResult) -> str | None:
    """userinfo@host:port with the host normalised and a default port dropped."""
    try:
        port = parts.port
    except ValueError:  # not a number, or out of range
        return None
    host = _canonical_host(parts.hostname or "")
    if not host:
        return None
    if ":" in host:  # IPv6 literal; urlsplit removed the brackets
        host = f"[{host}]"
    userinfo, at, _ = parts.netloc.rpartition("@")
    netloc = f"{userinfo}{at}{host}"
    if port is not None and port != _DEFAULT_PORTS[parts.scheme]:
        netloc += f":{port}"
    return netloc


def _canonical_host(host: str) -> str:
    host = host.lower().rstrip(".")
    if host.isascii():
        return host
    try:
        # IDNA also turns dot-like characters ("。") into ".", so strip again afterwards.
        encoded = host.encode("idna").decode("ascii").lower().rstrip(".")
    except UnicodeError:
        return host
    # IDNA's mapping step can turn exotic characters into ASCII punctuation ("／" -> "/");
    # only a plain hostname is safe to put back into a URL.
    return encoded if _ASCII_HOST.fullmatch(encoded) else host


def _normalise_escapes(component: str) -> str:
    """Uppercase escapes, decode unreserved characters, encode what may not appear raw."""
    out: list[str] = []
    i = 0
    while i < len(component):
        char = component[i]
        if char == "%" and component[i + 1 : i + 3] and set(component[i + 1 : i + 3]) <= _HEX:
            decoded = chr(int(component[i + 1 : i + 3], 16))
            out.append(decoded if decoded in _UNRESERVED else component[i : i + 3].upper())
            i += 3
            continue
        out.append(char if char in _KEEP_RAW else _escape(char))
        i += 1
    return "".join(out)


def _escape(char: str) -> str:
    # surrogatepass: lone surrogates are not valid text, but must not make us raise.
    return "".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, for an absolute path."""
    if not path:
        return path
    segments = path.split("/")
    output: list[str] = []
    for segment in segments[1:]:
        if segment == "..":
            if output:
                output.pop()
        elif segment != ".":
            output.append(segment)
    # A path ending in "." or ".." names a directory: keep the trailing slash.
    if segments[-1] in (".", ".."):
        output.append("")
    return "/" + "/".join(output)


def _canonical_query(query: str) -> str:
    kept = []
    for piece in query.split("&"):
        if not piece:
            continue
        piece = _normalise_escapes(piece)
        if not _is_tracking(piece.partition("=")[0]):
            kept.append(piece)
    return "&".join(kept)


def _is_tracking(name: str) -> bool:
    name = unquote_plus(name).lower()
    return name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES)
