"""
Decode C{/proxy/{protocol}/{host}[:{port}]/{path}[?{query}]} into a L{Target},
byte for byte, and build proxy URLs back from upstream URLs.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import Any, Optional
from urllib.parse import unquote, unquote_to_bytes, urlsplit

import attrs


PROTOCOLS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
PREFIX = b"/proxy/"

_LABEL = re.compile(rb"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_DIGITS = re.compile(rb"^[0-9]{1,5}$")
_DOTS = {b".", b"%2e"}
_DOTDOTS = {b"..", b".%2e", b"%2e.", b"%2e%2e"}


@attrs.frozen(slots=False)  # a __dict__: cached properties are then plain attribute reads
class Target:
    """
    The upstream a message is for, as named by the proxy URL.

    @ivar scheme: C{http}, C{https}, C{ws} or C{wss} as written in the URL.
    @ivar host: lower-case host; IPv6 without brackets.
    @ivar port: explicit or default port.
    @ivar path: raw path bytes, starting with C{/}.
    @ivar query: raw query bytes without C{?} (the proxy credential removed),
        or C{None} when the URL had no C{?}.
    """

    scheme: str
    host: str
    port: int
    path: bytes = b"/"
    query: Optional[bytes] = None

    @property
    def secure(self) -> bool:
        return self.scheme in ("https", "wss")

    @property
    def httpScheme(self) -> str:
        return "https" if self.secure else "http"

    @property
    def defaultPort(self) -> bool:
        return self.port == (443 if self.secure else 80)

    @property
    def hostForURL(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    @functools.cached_property
    def authority(self) -> str:
        """
        C{host[:port]} as the C{Host} header and URLs write it.
        """
        if self.defaultPort:
            return self.hostForURL
        return f"{self.hostForURL}:{self.port}"

    @functools.cached_property
    def origin(self) -> str:
        """
        C{scheme://host[:port]} of the upstream (C{http} or C{https}): what
        names it in session bindings and rate-limit scopes.
        """
        return f"{self.httpScheme}://{self.authority}"

    @property
    def pathAndQuery(self) -> bytes:
        if self.query is None:
            return self.path
        return self.path + b"?" + self.query

    @functools.cached_property
    def urlStrings(self) -> tuple[tuple[str, str], ...]:
        """
        The path and each query parameter, percent-decoded, as strings to
        inspect with their locations (C{url.path}, C{url.query.NAME}).
        """
        path = self.path.decode("latin-1")
        strings: list[tuple[str, str]] = [("url.path", unquote(path) if "%" in path else path)]
        if self.query:
            for pair in self.query.decode("latin-1").split("&"):
                name, _, value = pair.partition("=")
                strings.append((f"url.query.{unquote(name)}", unquote(value.replace("+", " "))))
        return tuple(strings)

    def upstreamURL(self) -> bytes:
        return self.origin.encode("ascii") + self.pathAndQuery

    def display(self) -> str:
        """
        The upstream URL for logs: scheme, authority and path, no query
        (queries carry credentials often enough).
        """
        return self.shown

    @functools.cached_property
    def shown(self) -> str:
        return f"{self.scheme}://{self.authority}" + self.path.decode("latin-1")


class BadProxyPath(ValueError):
    """
    The proxy path is malformed; C{str()} is the reason given to the client.
    """


@attrs.frozen
class ParsedProxyURI:
    target: Target
    credential: Optional[bytes]  # the akto_api_key query value, decoded


@functools.lru_cache(maxsize=4096)
def parseHost(raw: bytes) -> tuple[str, Optional[int]]:
    """
    Split and validate C{host[:port]}; memoized (a pure function called for
    every request, with few distinct arguments).

    @return: (host without brackets, lower-case; port or None)
    @raise BadProxyPath: for empty, invalid, userinfo or encoded hosts.
    """
    if not raw:
        raise BadProxyPath("empty host")
    if b"@" in raw:
        raise BadProxyPath("userinfo is not allowed in the host")
    if b"%" in raw:
        raise BadProxyPath("percent-encoding is not allowed in the host")
    port: Optional[int] = None
    if raw.startswith(b"["):
        end = raw.find(b"]")
        if end < 0:
            raise BadProxyPath("unterminated IPv6 address")
        inner = raw[1:end]
        rest = raw[end + 1 :]
        if rest:
            if not rest.startswith(b":"):
                raise BadProxyPath("invalid characters after IPv6 address")
            port = _port(rest[1:])
        try:
            addr = ipaddress.IPv6Address(inner.decode("ascii"))
        except (ValueError, UnicodeDecodeError):
            raise BadProxyPath("invalid IPv6 address") from None
        return str(addr), port
    host = raw
    if b":" in raw:
        host, _, portText = raw.rpartition(b":")
        if b":" in host:
            raise BadProxyPath("IPv6 addresses must be written in brackets")
        port = _port(portText)
    host = host.lower()
    if host.endswith(b"."):
        host = host[:-1]
    if not host:
        raise BadProxyPath("empty host")
    if len(host) > 253:
        raise BadProxyPath("host name too long")
    labels = host.split(b".")
    if labels[-1].isdigit() or all(l.isdigit() for l in labels):
        # An IP literal: only the canonical dotted quad (no 127.1, octal,
        # or integer forms that resolvers interpret differently).
        try:
            addr4 = ipaddress.IPv4Address(host.decode("ascii"))
        except (ValueError, UnicodeDecodeError):
            raise BadProxyPath("invalid IPv4 address") from None
        return str(addr4), port
    if labels[-1].startswith(b"0x"):
        raise BadProxyPath("invalid host name")
    for label in labels:
        if not _LABEL.match(label):
            raise BadProxyPath("invalid host name")
    return host.decode("ascii"), port


def _port(text: bytes) -> int:
    if not _DIGITS.match(text):
        raise BadProxyPath("invalid port")
    port = int(text)
    if not 0 < port < 65536:
        raise BadProxyPath("port out of range")
    return port


def checkDepth(path: bytes) -> None:
    """
    Refuse C{..} segments (also percent-encoded) that climb above the root.
    """
    depth = 0
    for segment in path.split(b"/")[1:]:
        s = segment.lower()
        if s in _DOTDOTS:
            depth -= 1
            if depth < 0:
                raise BadProxyPath("'..' climbs above the upstream root")
        elif s in _DOTS or not s:
            continue
        else:
            depth += 1


#: the query parameter of a legacy SSE POST URL, as the proxy gives it out
#: when several instances share Redis, that names the instance holding the
#: stream (L{akto_proxy.web.forward}); stripped before the upstream
LEGACY_MARKER = b"akto_sse"


def stripCredential(query: Optional[bytes], name: bytes) -> tuple[Optional[bytes], Optional[bytes]]:
    """
    Remove every C{name=value} pair from a raw query, keeping the others
    byte for byte and in order.

    @return: (new query or None when nothing is left, the decoded credential)
    """
    if query is None or name not in query:
        return query, None
    kept = []
    credential: Optional[bytes] = None
    for pair in query.split(b"&"):
        key, sep, value = pair.partition(b"=")
        if unquote_to_bytes(key.replace(b"+", b" ")) == name:
            credential = unquote_to_bytes(value.replace(b"+", b" "))
            continue
        kept.append(pair)
    if not kept:
        return None, credential
    return b"&".join(kept), credential


def parseProxyURI(uri: bytes, credentialName: bytes = b"akto_api_key") -> ParsedProxyURI:
    """
    Decode the request target of a C{/proxy/...} request.

    Clients send the same few targets over and over: the last 1,024 decoded
    are kept (values, immutable), except those that may carry a credential
    in their query, which are decoded every time and never kept, and those
    longer than 1 KiB (so that what is kept stays small, some 2 MiB at most).

    @raise BadProxyPath: with the reason for the client.
    """
    if credentialName in uri or len(uri) > _REMEMBERED_LENGTH:
        return _parseProxyURI(uri, credentialName)
    return _rememberedProxyURI(uri, credentialName)


def _parseProxyURI(uri: bytes, credentialName: bytes) -> ParsedProxyURI:
    if uri.startswith((b"http://", b"https://")):
        # absolute-form: drop scheme and authority
        slash = uri.find(b"/", uri.index(b"//") + 2)
        uri = uri[slash:] if slash >= 0 else b"/"
    if b"#" in uri:
        raise BadProxyPath("fragments are not allowed")
    path, sep, queryText = uri.partition(b"?")
    query: Optional[bytes] = queryText if sep else None
    if not path.startswith(PREFIX):
        raise BadProxyPath("expected /proxy/{protocol}/{host}/{path}")
    rest = path[len(PREFIX) :]
    protocol, slash, rest = rest.partition(b"/")
    proto = protocol.decode("latin-1").lower()
    if proto not in PROTOCOLS:
        if not proto:
            raise BadProxyPath("missing protocol (http, https, ws or wss)")
        raise BadProxyPath("unknown protocol (expected http, https, ws or wss)")
    if not slash:
        raise BadProxyPath("missing host")
    hostPort, slash, upstreamPath = rest.partition(b"/")
    host, port = parseHost(hostPort)
    upstreamPath = b"/" + upstreamPath
    checkDepth(upstreamPath)
    if any(c < 0x21 or c > 0x7E for c in upstreamPath):
        raise BadProxyPath("invalid characters in path")
    query, credential = stripCredential(query, credentialName)
    target = Target(
        scheme=proto,
        host=host,
        port=port if port is not None else PROTOCOLS[proto],
        path=upstreamPath,
        query=query,
    )
    return ParsedProxyURI(target=target, credential=credential)


_REMEMBERED_LENGTH = 1024
_rememberedProxyURI = functools.lru_cache(maxsize=1024)(_parseProxyURI)


def proxyPathFor(scheme: str, authority: str, pathAndQuery: str) -> str:
    """
    C{/proxy/{scheme}/{authority}{path}} for an upstream URL's parts.
    """
    if not pathAndQuery.startswith("/"):
        pathAndQuery = "/" + pathAndQuery
    return f"/proxy/{scheme}/{authority}{pathAndQuery}"


def addCredential(url: str, name: str, credential: Optional[bytes]) -> str:
    """
    Append the proxy credential parameter to a rewritten URL when the client
    authenticated with it.
    """
    if credential is None:
        return url
    from urllib.parse import quote

    pair = f"{name}={quote(credential.decode('utf-8', 'replace'), safe='')}"
    base, hashSep, fragment = url.partition("#")
    joiner = "&" if "?" in base else "?"
    if base.endswith("?"):
        joiner = ""
    return base + joiner + pair + hashSep + fragment


def canonicalURL(url: str) -> tuple[Any, ...]:
    """
    A key naming the same upstream URL however it is written: scheme
    (C{ws}/C{wss} as C{http}/C{https}), lower-case host, explicit port,
    path and query (the legacy SSE sessions are found by it).
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = 443 if scheme in ("https", "wss") else 80
    host = (parts.hostname or "").lower()
    return ("https" if scheme in ("https", "wss") else "http", host, port, parts.path, parts.query)
