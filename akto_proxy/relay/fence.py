"""
The upstream fence: which hosts may be reached, and which addresses may be
connected to (checked on the resolved address, not only the name).
"""

from __future__ import annotations

import fnmatch
import functools
import ipaddress
from typing import Iterable, Optional, Sequence, Union

import attrs

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

SPECIAL_RANGES: tuple[Network, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
        "2001:db8::/32",
        "100::/64",
    )
)

_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_6TO4 = ipaddress.ip_network("2002::/16")
_COMPAT = ipaddress.ip_network("::/96")


def unwrap(addr: IPAddress) -> IPAddress:
    """
    The IPv4 address inside IPv4-mapped, IPv4-compatible, NAT64 and 6to4
    IPv6 addresses; other addresses unchanged.
    """
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return addr.ipv4_mapped
        if addr in _COMPAT and int(addr) > 1:
            return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
        for net in _NAT64:
            if addr in net:
                return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
        if addr in _6TO4 and addr.sixtofour is not None:
            return addr.sixtofour
    return addr


@functools.lru_cache(maxsize=4096)
def parseIP(text: str) -> Optional[IPAddress]:
    """
    The address in C{text}, or None; memoized (a pure function called for
    every request).
    """
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@functools.lru_cache(maxsize=1024)
def _globIP(glob: str) -> tuple[Optional[IPAddress], Optional[Network]]:
    g = glob.strip("[]").lower()
    ip = parseIP(g)
    net = None
    if ip is None and "/" in g:
        try:
            net = ipaddress.ip_network(g, strict=False)
        except ValueError:
            net = None
    return ip, net


def hostMatches(host: str, globs: Iterable[str]) -> bool:
    """
    Does C{host} (lower-case, IPv6 without brackets) match one of C{globs}?
    IP literals compare by value (C{[0::1]} matches C{::1}).
    """
    hostIP = parseIP(host)
    for glob in globs:
        if hostIP is not None:
            ip, net = _globIP(glob)
            if ip is not None:
                if ip == hostIP:
                    return True
                continue
            if net is not None:
                if hostIP.version == net.version and hostIP in net:
                    return True
                continue
        if fnmatch.fnmatchcase(host, glob.strip("[]").lower()):
            return True
    return False


@attrs.frozen
class AddressPolicy:
    """
    @ivar allowPrivate: networks exempt from the special-range refusal.
    @ivar own: (address or None for a wildcard bind, port) the proxy listens on.
    """

    allowPrivate: tuple[Network, ...] = ()
    own: tuple[tuple[Optional[IPAddress], int], ...] = ()

    def refusal(self, address: Union[str, IPAddress], port: int) -> Optional[str]:
        """
        Why connecting to C{address}:C{port} is refused, or None.
        """
        addr = ipaddress.ip_address(address) if isinstance(address, str) else address
        if isinstance(addr, ipaddress.IPv6Address) and addr.scope_id:
            addr = ipaddress.IPv6Address(str(addr).split("%")[0])
        inner = unwrap(addr)
        for ownAddr, ownPort in self.own:
            if ownPort != port:
                continue
            if ownAddr is None:
                if inner.is_loopback or inner.is_private or inner.is_unspecified or inner.is_link_local:
                    return "the proxy's own address"
            elif unwrap(ownAddr) == inner or (ownAddr.is_unspecified and inner.is_loopback):
                return "the proxy's own address"
        for candidate in {addr, inner}:
            if any(candidate in net for net in SPECIAL_RANGES if net.version == candidate.version):
                if any(candidate in net for net in self.allowPrivate if net.version == candidate.version):
                    continue
                return f"{candidate} is in a private or special-purpose range"
        return None


def ownAddresses(hosts: Sequence[tuple[str, int]]) -> tuple[tuple[Optional[IPAddress], int], ...]:
    out: list[tuple[Optional[IPAddress], int]] = []
    for host, port in hosts:
        try:
            addr = ipaddress.ip_address(host)
        except ValueError:
            continue
        out.append((None if addr.is_unspecified else addr, port))
    return tuple(out)
