"""
Who a client is and how it reached the proxy: its address (through trusted
proxies), the forwarding chain to pass on, the origin it used.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from twisted.web.server import Request

from akto_proxy.config import Config
from akto_proxy.relay.fence import parseIP


def inAny(host: str, nets: tuple[Any, ...]) -> bool:
    """
    Is address C{host} (IPv4-mapped IPv6 unwrapped) in one of C{nets}?
    """
    addr = parseIP(host)
    if addr is None:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return any(addr in n for n in nets if n.version == addr.version)


def forwardedChain(request: Request) -> list[str]:
    """
    The addresses of C{X-Forwarded-For}, in order, the malformed left out.
    """
    out: list[str] = []
    for value in request.requestHeaders.getRawHeaders(b"x-forwarded-for") or []:
        for part in value.split(b","):
            text = part.strip().decode("latin-1")
            if text.startswith("[") and "]" in text:
                text = text[1 : text.index("]")]
            try:
                out.append(str(ipaddress.ip_address(text)))
            except ValueError:
                continue
    return out


def clientAddress(request: Request, config: Config) -> str:
    """
    The client's address: the peer's, or, when the peer is a trusted proxy,
    the right-most untrusted address of C{X-Forwarded-For}.
    """
    peer = request.getClientAddress()
    host = getattr(peer, "host", None) or "unix"
    trusted = config.access_control.trusted_proxies
    if not trusted or not inAny(host, trusted):
        return host
    chain = forwardedChain(request)
    for addr in reversed(chain):
        if not inAny(addr, trusted):
            return addr
    return chain[0] if chain else host


def fromTrustedProxy(request: Request, config: Config) -> bool:
    peer = getattr(request.getClientAddress(), "host", "")
    return inAny(peer, config.access_control.trusted_proxies)


def trustedForwardedFor(request: Request, config: Config) -> list[str]:
    """
    The X-Forwarded-For entries to pass on before the peer's own address:
    the incoming chain when the peer is a trusted proxy (it vouches for
    it), nothing otherwise (a client's own X-Forwarded-For is a spoof).
    """
    if not config.access_control.trusted_proxies or not fromTrustedProxy(request, config):
        return []
    return forwardedChain(request)


def publicOrigin(request: Request, config: Config) -> str:
    """
    The origin written into rewritten URLs: C{public_url}, else the scheme
    and C{Host} of the request (C{X-Forwarded-Proto}/C{-Host} from trusted
    proxies only).
    """
    if config.public_url:
        return config.public_url
    scheme = "https" if request.isSecure() else "http"
    host = request.getHeader("host") or ""
    trusted = config.access_control.trusted_proxies
    if trusted and fromTrustedProxy(request, config):
        proto = request.getHeader("x-forwarded-proto")
        fhost = request.getHeader("x-forwarded-host")
        if proto in ("http", "https"):
            scheme = proto
        if fhost:
            host = fhost.split(",")[0].strip()
    if not host:
        addr = request.getHost()
        host = f"{addr.host}:{addr.port}"
    return f"{scheme}://{host}"


__all__ = ["clientAddress", "forwardedChain", "fromTrustedProxy", "inAny", "publicOrigin", "trustedForwardedFor"]
