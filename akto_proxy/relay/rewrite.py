"""
Rewrite URLs that point back at the upstream so that the client keeps
talking through the proxy: C{Location}, the legacy SSE C{endpoint} event,
C{WWW-Authenticate} C{resource_metadata} and the OAuth discovery documents.
"""

from __future__ import annotations

import re
from typing import Callable, Optional
from urllib.parse import urljoin, urlsplit

from akto_proxy.relay.url import Target
from akto_proxy.relay.url import addCredential

WELL_KNOWN = (
    "oauth-protected-resource",
    "oauth-authorization-server",
    "openid-configuration",
)


def _authority(scheme: str, host: str, port: Optional[int]) -> str:
    h = f"[{host}]" if ":" in host else host
    default = 443 if scheme in ("https", "wss") else 80
    if port is None or port == default:
        return h
    return f"{h}:{port}"


def proxyURL(origin: str, url: str, credentialName: str = "akto_api_key", credential: Optional[bytes] = None) -> Optional[str]:
    """
    The proxy URL for an absolute http(s)/ws(s) upstream URL, or None.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https", "ws", "wss") or not parts.hostname:
        return None
    path = parts.path or "/"
    out = f"{origin}/proxy/{parts.scheme}/{_authority(parts.scheme, parts.hostname, port)}{path}"
    if parts.query or url.split("#")[0].endswith("?"):
        out += "?" + parts.query
    out = addCredential(out, credentialName, credential)
    if parts.fragment:
        out += "#" + parts.fragment
    return out


def sameOrigin(target: Target, url: str) -> bool:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    if not parts.hostname:
        return False
    scheme = parts.scheme
    secure = scheme in ("https", "wss")
    if secure != target.secure or scheme not in ("http", "https", "ws", "wss"):
        return False
    if port is None:
        port = 443 if secure else 80
    return parts.hostname.lower() == target.host and port == target.port


#: maps an absolute URL of the upstream that answered to the one the client
#: named (a fallback's L{akto_proxy.relay.fallback.Route.back})
Back = Optional[Callable[[str], str]]


def rewriteLocation(
    value: str, target: Target, origin: str, credentialName: str, credential: Optional[bytes], back: Back = None
) -> str:
    """
    Rewrite an upstream redirect: absolute URLs on the upstream's origin and
    absolute paths go through the proxy; anything else is left alone.
    C{target} is the upstream that answered; C{back} maps its URLs to the
    client's.
    """
    if value.startswith("//"):
        value = f"{target.httpScheme}:{value}"
    if value.startswith("/"):
        absolute = f"{target.httpScheme}://{target.authority}{value}"
    elif sameOrigin(target, value):
        absolute = value
    else:
        return value
    scheme = urlsplit(absolute).scheme
    if scheme != target.httpScheme:
        return value
    if back is not None:
        absolute = back(absolute)
    rewritten = proxyURL(origin, absolute, credentialName, credential)
    if rewritten is None:
        return value
    if target.scheme in ("ws", "wss"):
        rewritten = rewritten.replace(f"/proxy/{target.httpScheme}/", f"/proxy/{target.scheme}/", 1)
    return rewritten


def rewriteEndpoint(
    data: str, sseURL: str, origin: str, credentialName: str, credential: Optional[bytes], back: Back = None
) -> tuple[str, str]:
    """
    Resolve a legacy SSE C{endpoint} reference (absolute URL, absolute path,
    relative path or query only) against the upstream SSE URL per RFC 3986.

    @return: (absolute proxy URL for the client, absolute upstream URL)
    """
    resolved = urljoin(sseURL, data.strip())
    rewritten = proxyURL(origin, back(resolved) if back is not None else resolved, credentialName, credential)
    if rewritten is None:
        return data, resolved
    return rewritten, resolved


_PARAM = re.compile(r'(resource_metadata\s*=\s*)("([^"]*)"|([^\s,]+))', re.IGNORECASE)


def wellKnownProxyURL(url: str, origin: str) -> Optional[str]:
    """
    C{https://up/.well-known/X/rest} to C{{origin}/.well-known/X/proxy/https/up/rest}.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    for name in WELL_KNOWN:
        prefix = f"/.well-known/{name}"
        if parts.path == prefix or parts.path.startswith(prefix + "/"):
            rest = parts.path[len(prefix) :]
            out = f"{origin}{prefix}/proxy/{parts.scheme}/{_authority(parts.scheme, parts.hostname, port)}{rest}"
            if parts.query:
                out += "?" + parts.query
            return out
    return None


def rewriteWWWAuthenticate(value: str, target: Target, origin: str, back: Back = None) -> str:
    """
    Point C{resource_metadata} at the proxy's relay of the upstream's
    protected-resource metadata.
    """

    def replace(m: re.Match[str]) -> str:
        url = m.group(3) if m.group(3) is not None else m.group(4)
        absolute = urljoin(target.upstreamURL().decode("latin-1"), url)
        if back is not None:
            absolute = back(absolute)
        new = wellKnownProxyURL(absolute, origin)
        if new is None:
            new = proxyURL(origin, absolute) or url
        return f'{m.group(1)}"{new}"'

    return _PARAM.sub(replace, value)


def upstreamWellKnown(name: str, target: Target) -> bytes:
    """
    The upstream URL of a discovery document: RFC 9728 / RFC 8414 insert the
    well-known segment between the host and the resource path.
    """
    path = target.path.rstrip(b"/") if target.path != b"/" else b""
    url = f"{target.httpScheme}://{target.authority}/.well-known/{name}".encode("ascii") + path
    if target.query is not None:
        url += b"?" + target.query
    return url


def rewriteResource(resource: str, origin: str, back: Back = None) -> str:
    """
    The PRM C{resource} (an upstream URL) as the proxied URL.
    """
    new = proxyURL(origin, back(resource) if back is not None else resource)
    return new if new is not None else resource


__all__ = ["proxyURL", "rewriteEndpoint", "rewriteLocation", "rewriteWWWAuthenticate"]
