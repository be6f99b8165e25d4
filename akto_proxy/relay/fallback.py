"""
Fallback upstreams (C{upstreams.fallbacks}): an upstream URL prefix and
the alternates that take its requests when it fails, in order; which
requests may go to the next one, and on what failure.

An alternate replaces the prefix of the target URL (scheme, host, port and
path prefix), keeping the rest of the path and the query.  The client keeps
its proxy URL: URLs the alternate writes back (C{Location}, the legacy
C{endpoint}, C{resource_metadata}) are mapped back under the prefix the
client named (L{Route.back}).
"""

from __future__ import annotations

from typing import Iterable, Optional
from urllib.parse import urlsplit

import attrs
from twisted.internet import error as ierror
from twisted.python.failure import Failure

from akto_proxy.relay.http import UpstreamForbidden
from akto_proxy.relay.url import Target
from akto_proxy.relay.wire import isTLSFailure

#: JSON-RPC methods that read or open and change nothing: retried after any
#: failure (a timeout or a 5xx too)
SAFE_METHODS = frozenset(
    {
        "initialize",
        "server/discover",
        "ping",
        "tools/list",
        "resources/list",
        "resources/templates/list",
        "prompts/list",
        "resources/read",
        "prompts/get",
        "completion/complete",
    }
)
#: HTTP methods that are idempotent (RFC 9110 9.2.2)
IDEMPOTENT = frozenset({b"GET", b"HEAD", b"OPTIONS", b"PUT", b"DELETE", b"TRACE"})

#: a request that may go to the next upstream whatever failed
ANY = "any"
#: only when it never reached the upstream (connect, DNS, TLS, fence)
UNSENT = "unsent"
#: never: it belongs to the upstream that holds its session
NEVER = "never"


@attrs.frozen
class Prefix:
    """
    An upstream URL prefix: scheme (C{http} or C{https}), host (lower case,
    IPv6 without brackets), port, path prefix (without a trailing C{/}).
    """

    scheme: str
    host: str
    port: int
    path: bytes

    @classmethod
    def parse(cls, url: str) -> "Prefix":
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port or (443 if scheme == "https" else 80)
        return cls(scheme, (parts.hostname or "").lower(), port, parts.path.rstrip("/").encode("latin-1"))

    def covers(self, target: Target) -> bool:
        if target.httpScheme != self.scheme or target.host != self.host or target.port != self.port:
            return False
        path = target.path
        return not self.path or path == self.path or path.startswith(self.path + b"/")

    def coversURL(self, url: str) -> Optional[bytes]:
        """
        The rest of C{url} (path and what follows) when it is under this
        prefix, else None.
        """
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return None
        scheme = parts.scheme.lower()
        if {"ws": "http", "wss": "https"}.get(scheme, scheme) != self.scheme or (parts.hostname or "").lower() != self.host:
            return None
        if (port or (443 if self.scheme == "https" else 80)) != self.port:
            return None
        rest = url.split(parts.netloc, 1)[1] if parts.netloc else ""
        path = self.path.decode("latin-1")
        if not path:
            return rest.encode("latin-1")
        if rest == path or rest.startswith((path + "/", path + "?", path + "#")):
            return rest[len(path) :].encode("latin-1")
        return None

    @property
    def authority(self) -> str:
        return Target(self.scheme, self.host, self.port).authority

    @property
    def origin(self) -> str:
        return Target(self.scheme, self.host, self.port).origin


@attrs.frozen
class Route:
    """
    Requests under C{primary} sent to C{alternate} (the C{index}th, from 1).
    """

    primary: Prefix
    alternate: Prefix
    index: int

    def apply(self, target: Target) -> Target:
        """
        The target on the alternate: its prefix in place of the primary's.
        """
        alt = self.alternate
        rest = target.path[len(self.primary.path) :]
        path = alt.path + rest if rest else (alt.path or b"/")
        return Target(scheme=alt.scheme, host=alt.host, port=alt.port, path=path, query=target.query)

    def back(self, url: str) -> str:
        """
        An absolute URL the alternate wrote, under the primary's prefix when
        it is under the alternate's (else as it is).
        """
        rest = self.alternate.coversURL(url)
        if rest is None:
            return url
        return self.primary.origin + self.primary.path.decode("latin-1") + rest.decode("latin-1")

    @property
    def name(self) -> str:
        return self.alternate.origin + self.alternate.path.decode("latin-1")


@attrs.frozen
class Chain:
    """
    The primary's prefix and its routes to the alternates, in order.
    """

    primary: Prefix
    routes: tuple[Route, ...]


class Fallbacks:
    """
    The chains of C{upstreams.fallbacks}, found by the longest prefix that
    covers a target (memoized per scheme, host and port).
    """

    def __init__(self, entries: Iterable[tuple[str, tuple[str, ...]]]):
        chains = []
        for url, alternates in entries:
            primary = Prefix.parse(url)
            routes = tuple(Route(primary, Prefix.parse(a), i + 1) for i, a in enumerate(alternates))
            chains.append(Chain(primary, routes))
        # the longest path prefix first
        chains.sort(key=lambda c: -len(c.primary.path))
        self._byOrigin: dict[tuple[str, str, int], list[Chain]] = {}
        for c in chains:
            self._byOrigin.setdefault((c.primary.scheme, c.primary.host, c.primary.port), []).append(c)

    def __bool__(self) -> bool:
        return bool(self._byOrigin)

    def origins(self) -> list[str]:
        """
        The origin of every upstream in a chain, primaries and alternates.
        """
        out: dict[str, None] = {}
        for chains in self._byOrigin.values():
            for c in chains:
                out[c.primary.origin] = None
                for r in c.routes:
                    out[r.alternate.origin] = None
        return list(out)

    def chainFor(self, target: Target) -> Optional[Chain]:
        chains = self._byOrigin.get((target.httpScheme, target.host, target.port))
        if chains is None:
            return None
        for c in chains:
            if c.primary.covers(target):
                return c
        return None

    def route(self, target: Target, name: str) -> Optional[Route]:
        """
        The route of C{target}'s chain to the alternate named C{name}
        (L{Route.name}), or None.
        """
        chain = self.chainFor(target)
        if chain is None:
            return None
        return next((r for r in chain.routes if r.name == name), None)


def retryRule(method: bytes, rpcMethods: Optional[list[str]], session: bool) -> str:
    """
    When a request may go to the next upstream: L{NEVER} for one of an
    established session (its id means nothing elsewhere); L{ANY} for
    JSON-RPC requests that only open or read (L{SAFE_METHODS}) and for
    idempotent HTTP methods; L{UNSENT} otherwise (a C{tools/call}, a
    notification, a POST that is not JSON-RPC: retried only when it never
    reached the upstream, so that it never runs twice).

    @param rpcMethods: the methods of the JSON-RPC requests in the body
        (None: not JSON-RPC; responses and notifications give their method
        too, or C{""}).
    """
    if session:
        return NEVER
    if rpcMethods is not None:
        return ANY if rpcMethods and all(m in SAFE_METHODS for m in rpcMethods) else UNSENT
    return ANY if method in IDEMPOTENT else UNSENT


def unsent(failure: Failure) -> bool:
    """
    Did the request fail before any of it reached the upstream (refused,
    unresolvable, connect timeout, TLS handshake, an address the fence
    refused)?
    """
    if failure.check(
        UpstreamForbidden,
        ierror.ConnectionRefusedError,
        ierror.DNSLookupError,
        ierror.TimeoutError,
        ierror.ConnectingCancelledError,
        ierror.NoRouteError,
    ):
        return True
    reasons: list[Failure] = getattr(failure.value, "reasons", None) or []
    return bool(reasons) and all(isTLSFailure(r) for r in reasons)


__all__ = ["ANY", "Chain", "Fallbacks", "IDEMPOTENT", "NEVER", "Prefix", "Route", "SAFE_METHODS", "UNSENT", "retryRule", "unsent"]
