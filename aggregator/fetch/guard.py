"""The address guard: article links come from third-party feeds, so they must not make us
request loopback, private networks or cloud metadata endpoints (server-side request forgery).

A URL passes when its scheme is http(s) and either
  - its host is the host of the feed that listed it (the operator trusts that feed's site), or
  - its host is in ``allow_private`` (by name, or every address in an allowed CIDR), or
  - every address its host resolves to is public.

DNS rebinding: if the HTTP client resolved the name again when it connects, a hostile DNS
server with a zero TTL could answer "public" to us and "private" to it. So check() returns
the addresses it vetted and the Fetcher pins the connection to them (see pinning.py). Where
pinning is not possible (a proxy, a client not built by make_client) that race remains.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable

from aggregator.errors import BlockedAddressError, FetchError

Resolver = Callable[[str], Awaitable[list[str]]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWED_SCHEMES = frozenset({"http", "https"})
# NAT64 prefixes map IPv4 into IPv6; the embedded address decides
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))


def is_public_ip(ip: IPAddress) -> bool:
    """True when `ip` is a globally routable unicast address.

    IPv6 forms that carry an IPv4 address (mapped ::ffff:a.b.c.d, 6to4 2002::/16, Teredo,
    NAT64) are judged by the IPv4 address inside, since that is where packets may end up.
    """
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return is_public_ip(embedded)
    return ip.is_global and not (
        ip.is_multicast
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_unspecified
    )


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]  # the client's address
    if any(ip in net for net in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def parse_ip(host: str) -> IPAddress | None:
    """The address if `host` is an IP literal (brackets and an IPv6 zone allowed), else None."""
    host = host.strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


async def default_resolver(host: str) -> list[str]:
    """Every address `host` resolves to, through the event loop's getaddrinfo."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class AddressGuard:
    def __init__(
        self,
        allow_private: Iterable[str] = (),
        resolver: Resolver | None = None,
        *,
        resolve_timeout: float = 10.0,
    ) -> None:
        self._allowed_hosts: set[str] = set()
        self._allowed_suffixes: list[str] = []  # ".corp" allows every host under corp
        self._allowed_nets: list[IPNetwork] = []
        for entry in allow_private:
            self._add_allowed(entry.strip().lower())
        self._resolve = resolver or default_resolver
        self._resolve_timeout = resolve_timeout

    def _add_allowed(self, entry: str) -> None:
        if not entry:
            return
        try:
            self._allowed_nets.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            if entry.startswith("."):
                self._allowed_suffixes.append(entry)
            else:
                self._allowed_hosts.add(entry.rstrip("."))

    def _host_allowed(self, host: str) -> bool:
        host = host.rstrip(".")
        return host in self._allowed_hosts or any(
            host.endswith(suffix) or host == suffix[1:] for suffix in self._allowed_suffixes
        )

    def _ip_allowed(self, ip: IPAddress) -> bool:
        return is_public_ip(ip) or any(
            ip.version == net.version and ip in net for net in self._allowed_nets
        )

    async def check(
        self, url: str, scheme: str, host: str, *, trusted_host: str | None
    ) -> tuple[str, ...] | None:
        """Raise BlockedAddressError unless the request may go ahead (see the module doc).

        Returns the addresses the host resolved to, all vetted, for the connection to be
        pinned to; None when there is nothing to pin (an IP literal, a trusted or allowed
        host name). `url` is only for the error message; `host` is the URL's host without
        brackets. Runs before any connection is made.
        """
        if scheme not in ALLOWED_SCHEMES:
            raise BlockedAddressError(url, f"scheme {scheme or '(none)'!r} is not http(s)")
        if not host:
            raise BlockedAddressError(url, "no host")
        host = host.lower()
        if trusted_host is not None and host.rstrip(".") == trusted_host.lower().rstrip("."):
            return None
        if self._host_allowed(host):
            return None
        literal = parse_ip(host)
        addresses = [literal] if literal is not None else await self._resolved(url, host)
        for ip in addresses:
            if not self._ip_allowed(ip):
                raise BlockedAddressError(url, f"{host} resolves to non-public address {ip}")
        return None if literal is not None else tuple(str(ip) for ip in addresses)

    async def _resolved(self, url: str, host: str) -> list[IPAddress]:
        try:
            async with asyncio.timeout(self._resolve_timeout):
                answers = await self._resolve(host)
        except (OSError, UnicodeError, TimeoutError) as exc:
            raise FetchError(url, f"cannot resolve {host}: {exc or type(exc).__name__}") from exc
        addresses = [parse_ip(a) for a in answers]
        if not addresses:
            raise FetchError(url, f"cannot resolve {host}: no addresses")
        if None in addresses:  # a resolver that returns names is a bug in the resolver
            raise BlockedAddressError(url, f"{host}: resolver returned a non-address")
        return [a for a in addresses if a is not None]
