"""
The upstream HTTP client: one pooled L{Agent} whose endpoints resolve names,
drop forbidden addresses, connect with a timeout and verify TLS.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import attrs
from twisted.internet import defer
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.endpoints import HostnameEndpoint, TCP4ClientEndpoint, TCP6ClientEndpoint, wrapClientTLS
from twisted.internet.interfaces import (
    IHostnameResolver,
    IHostResolution,
    IReactorPluggableNameResolver,
    IResolutionReceiver,
    IStreamClientEndpoint,
)
from twisted.internet.ssl import (
    Certificate,
    CertificateOptions,
    TLSVersion,
    optionsForClientTLS,
    platformTrust,
    trustRootFromCertificates,
)
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.client import URI, Agent, HTTP11ClientProtocol, HTTPConnectionPool, Request
from twisted.web.error import SchemeNotSupported
from twisted.web.http_headers import Headers
from twisted.web.iweb import IAgentEndpointFactory, IBodyProducer, IResponse
from zope.interface import implementer

from akto_proxy import compat
from akto_proxy.relay.fence import AddressPolicy, parseIP
from akto_proxy.relay.transport import sendNow, setNoDelay

log = Logger()


class UpstreamForbidden(Exception):
    """
    Every address the upstream name resolved to is refused by policy.
    """

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@attrs.frozen
class ClientSettings:
    """
    What the endpoints need from the running configuration; re-read on
    every connection, so a reload applies to new connections.
    """

    policy: AddressPolicy
    connectTimeout: float
    tlsMinimum: str = "1.3"
    caBundle: Optional[str] = None
    verify: bool = True


@implementer(IResolutionReceiver)
class _FilteringReceiver:
    def __init__(self, receiver: Any, policy: AddressPolicy, refused: list[str]):
        self._receiver = receiver
        self._policy = policy
        self._refused = refused

    def resolutionBegan(self, resolution: IHostResolution) -> None:
        self._receiver.resolutionBegan(resolution)

    def addressResolved(self, address: Any) -> None:
        if isinstance(address, (IPv4Address, IPv6Address)):
            reason = self._policy.refusal(address.host, address.port)
            if reason is not None:
                self._refused.append(reason)
                return
        self._receiver.addressResolved(address)

    def resolutionComplete(self) -> None:
        self._receiver.resolutionComplete()


@implementer(IHostnameResolver)
class _FilteringResolver:
    def __init__(self, real: IHostnameResolver, policy: AddressPolicy, refused: list[str]):
        self._real = real
        self._policy = policy
        self._refused = refused

    def resolveHostName(
        self,
        resolutionReceiver: IResolutionReceiver,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Any = None,
        transportSemantics: str = "TCP",
    ) -> IHostResolution:
        return self._real.resolveHostName(
            _FilteringReceiver(resolutionReceiver, self._policy, self._refused),
            hostName,
            portNumber,
            addressTypes,
            transportSemantics,
        )


@implementer(IReactorPluggableNameResolver)
class _ReactorWithResolver:
    """
    The reactor, seen through a resolver that drops refused addresses.
    """

    def __init__(self, reactor: Any, resolver: IHostnameResolver):
        self._reactor = reactor
        self.nameResolver = resolver

    def installNameResolver(self, resolver: IHostnameResolver) -> IHostnameResolver:
        raise NotImplementedError()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reactor, name)


@implementer(IStreamClientEndpoint)
class FencedEndpoint:
    def __init__(self, reactor: Any, uri: URI, settings: ClientSettings, tlsFactory: Callable[[str], Any]):
        self._reactor = reactor
        self._uri = uri
        self._settings = settings
        self._tlsFactory = tlsFactory

    def connect(self, protocolFactory: Any) -> "defer.Deferred[Any]":
        refused: list[str] = []
        host = self._uri.host.decode("ascii")
        literal = parseIP(host)
        endpoint: IStreamClientEndpoint
        if literal is not None:
            # an IP literal: no resolution (and no resolver thread) needed
            reason = self._settings.policy.refusal(literal, self._uri.port)
            if reason is not None:
                return defer.fail(UpstreamForbidden(reason))
            kind = TCP6ClientEndpoint if literal.version == 6 else TCP4ClientEndpoint
            endpoint = kind(self._reactor, host, self._uri.port, timeout=self._settings.connectTimeout)
        else:
            resolver = _FilteringResolver(self._reactor.nameResolver, self._settings.policy, refused)
            endpoint = HostnameEndpoint(
                _ReactorWithResolver(self._reactor, resolver),
                host,
                self._uri.port,
                timeout=self._settings.connectTimeout,
            )
        if self._uri.scheme == b"https":
            endpoint = wrapClientTLS(self._tlsFactory(host), endpoint)
        d = endpoint.connect(protocolFactory)

        def nodelay(protocol: Any) -> Any:
            setNoDelay(getattr(protocol, "transport", None))
            return protocol

        d.addCallback(nodelay)

        def forbidden(failure: Failure) -> Failure:
            if refused and not failure.check(defer.CancelledError):
                raise UpstreamForbidden(refused[0])
            return failure

        d.addErrback(forbidden)
        return d


@implementer(IAgentEndpointFactory)
class FencedEndpointFactory:
    def __init__(self, reactor: Any, settings: Callable[[], ClientSettings]):
        self._reactor = reactor
        self._settings = settings
        self._tlsCache: dict[tuple[str, Optional[str], str, bool], Any] = {}

    def _tls(self, settings: ClientSettings) -> Callable[[str], Any]:
        def forHost(host: str) -> Any:
            key = (host, settings.caBundle, settings.tlsMinimum, settings.verify)
            cached = self._tlsCache.get(key)
            if cached is None:
                cached = clientTLS(host, settings)
                if len(self._tlsCache) > 1024:
                    self._tlsCache.clear()
                self._tlsCache[key] = cached
            return cached

        return forHost

    def endpointForURI(self, uri: URI) -> IStreamClientEndpoint:
        settings = self._settings()
        return FencedEndpoint(self._reactor, uri, settings, self._tls(settings))

    def settings(self) -> ClientSettings:
        """
        The settings new endpoints are built with (they change on reload).
        """
        return self._settings()


def _minimum(version: str) -> TLSVersion:
    return TLSVersion.TLSv1_3 if version == "1.3" else TLSVersion.TLSv1_2


def clientTLS(host: str, settings: ClientSettings) -> Any:
    """
    A verifying client TLS connection creator for C{host}.
    """
    if not settings.verify:
        return CertificateOptions(verify=False, raiseMinimumTo=_minimum(settings.tlsMinimum))
    trust: Any = platformTrust()
    if settings.caBundle is not None:
        trust = trustRootFromCertificates(loadCertificates(settings.caBundle))
    return optionsForClientTLS(
        host,
        trustRoot=trust,
        extraCertificateOptions={"raiseMinimumTo": _minimum(settings.tlsMinimum)},
    )


def loadCertificates(path: str) -> list[Certificate]:
    with open(path, "rb") as f:
        data = f.read()
    out = []
    marker = b"-----END CERTIFICATE-----"
    for chunk in data.split(marker):
        if b"-----BEGIN CERTIFICATE-----" in chunk:
            out.append(Certificate.loadPEM(chunk + marker + b"\n"))
    if not out:
        raise ValueError(f"no certificates in {path}")
    return out


class MalformedResponse(Exception):
    """
    The upstream's response head is not HTTP/1.1 as a strict parser reads
    it (a line ended by a bare LF, a bare CR or a NUL in a line).
    """


class HeadFraming:
    """
    Checks, as they arrive, that the lines of response heads end in CRLF and
    hold no bare CR or LF, nor NUL.  Twisted's client splits lines at LF, so a header
    value holding a bare LF would become a second header on the way to the
    client, and keeps a NUL in a value, which Headers relays as it is
    (RFC 9110 section 5.5: reject it or make it a space); such a response
    is refused instead.  Bodies are not looked at:
    after a head (and the heads of any 1xx answers before it) the check is
    over.

    @ivar inHead: still reading a head.
    """

    __slots__ = ("inHead", "_tail", "_cr", "_start")

    def __init__(self) -> None:
        self.inHead = True
        self._tail = b""  # the head's last bytes so far (to find its end across reads)
        self._cr = False  # the head so far ends in a CR (its LF may come next)
        self._start = b""  # the head's first bytes (its status code)

    def feed(self, data: bytes) -> bool:
        """
        Take the next bytes of the connection: False when a head is
        malformed.
        """
        for _ in range(len(data) + 1):  # each pass takes at least one byte
            if not self.inHead or not data:
                return True
            tail = self._tail
            end = (tail + data).find(b"\r\n\r\n") if tail else data.find(b"\r\n\r\n")
            if end < 0:
                part, rest = data, b""
            else:
                cut = end + 4 - len(tail)
                part, rest = data[:cut], data[cut:]
            if len(self._start) < 12:
                self._start += part[: 12 - len(self._start)]
            if self._cr:
                part = b"\r" + part
            held = end < 0 and part[-1:] == b"\r"
            if held:
                part = part[:-1]
            lines = part.count(b"\r\n")
            if part.count(b"\n") != lines or part.count(b"\r") != lines or b"\x00" in part:
                return False
            self._cr = held
            if end < 0:
                self._tail = (tail + data)[-3:]
                return True
            if self._start[9:10] == b"1":
                # an informational answer: the real head follows
                self._tail, self._cr, self._start = b"", False, b""
                data = rest
                continue
            self.inHead = False
        return True


_clientDataReceived = HTTP11ClientProtocol.dataReceived


class EagerClientProtocol(HTTP11ClientProtocol):
    """
    Sends each request to the upstream at once (L{sendNow}) rather than at
    the reactor's next turn, when C{eager()} says so, so that the upstream
    starts on it while the proxy finishes its own work for the request.

    Refuses a response whose head is malformed (L{HeadFraming}): the
    connection is aborted and the request fails with L{MalformedResponse}.
    """

    #: a response head is being read (since the last request was sent)
    _inHead = False
    #: the head so far, when it did not come whole in one read
    _framing: Optional[HeadFraming] = None
    _malformed: Optional[MalformedResponse] = None

    def __init__(self, quiescentCallback: Callable[[Any], None] = lambda _: None, eager: Callable[[], bool] = lambda: True):
        super().__init__(quiescentCallback)
        self._eager = eager

    def request(self, request: Any) -> "defer.Deferred[Any]":
        self._inHead = True
        self._framing = None
        d = super().request(request)
        if self._eager():
            sendNow(self.transport)
        return d

    def dataReceived(self, data: bytes) -> None:
        if self._inHead:
            framing = self._framing
            end = data.find(b"\r\n\r\n")
            if end > 9 and data[9] != 49 and framing is None:
                # the common case: a whole head (not a 1xx: "HTTP/1.1 1")
                # in one read, as HeadFraming would judge it, in fewer
                # steps: its lines, each ended by CRLF, break at CR, LF or
                # CRLF as often as at CRLF only when no CR or LF is alone;
                # no NUL
                head = data[: end + 2]
                ok = len(head.splitlines()) == head.count(b"\r\n") and b"\x00" not in head
                self._inHead = False
            else:
                if framing is None:
                    framing = self._framing = HeadFraming()
                ok = framing.feed(data)
                self._inHead = framing.inHead
            if not ok:
                self._inHead = False
                self._malformed = MalformedResponse("a line of the response head not ended by CRLF, or a bare CR or NUL in it")
                self.transport.abortConnection()  # type: ignore[union-attr]
                return
        elif self._malformed is not None:
            return
        _clientDataReceived(self, data)

    def connectionLost(self, reason: Failure) -> None:  # type: ignore[override]
        if self._malformed is not None:
            reason = Failure(self._malformed)
        super().connectionLost(reason)


def quietFactory(eager: Callable[[], bool]) -> Optional[Callable[..., Any]]:
    """
    A factory for the pool's connections that logs nothing per connection
    and builds L{EagerClientProtocol}s; None on a Twisted without the
    pool's factory class (L{compat.HTTP11ClientFactory}).
    """
    base = compat.HTTP11ClientFactory
    if base is None:
        return None

    class QuietFactory(base):  # type: ignore[misc,valid-type]
        noisy = False

        def buildProtocol(self, addr: Any) -> HTTP11ClientProtocol:
            return EagerClientProtocol(compat.quiescentCallback(self), eager)

    return QuietFactory


@implementer(IBodyProducer)
class BytesProducer:
    """
    A request body already in memory (the relay reads and inspects bodies
    whole).  L{UpstreamAgent} writes it with the request head in one go.
    """

    def __init__(self, data: bytes):
        self.data = data
        self.length = len(data)

    def startProducing(self, consumer: Any) -> "defer.Deferred[None]":
        consumer.write(self.data)
        return defer.succeed(None)

    def pauseProducing(self) -> None:
        pass

    def resumeProducing(self) -> None:
        pass

    def stopProducing(self) -> None:
        pass


def appendFields(head: list[bytes], headers: Any) -> None:
    """
    Append to C{head} each field of C{headers} (a L{Headers}) as a head
    writes it: C{name: value} and CRLF, a line per value.
    """
    for name, values in headers.getAllRawHeaders():
        for value in values:
            head += (name, b": ", value, b"\r\n")


class InMemoryRequest(Request):
    """
    A request whose body is a L{BytesProducer}: written with its head in
    one string.  L{Request} frames any body producer with a
    length-enforcing consumer, a registered producer and four Deferreds,
    for bodies that arrive over time, and hands the transport its head as
    a sequence of pieces; bytes in memory need none of it.  The head is
    the one L{Request} writes (request line, C{Connection: close} when not
    persistent, C{Content-Length}, the headers), from its public
    attributes: the method and target were checked when it was made, the
    header values by L{Headers}.
    """

    def writeTo(self, transport: Any) -> "defer.Deferred[None]":
        body = self.bodyProducer
        headers = self.headers
        if not isinstance(body, BytesProducer) or len(headers.getRawHeaders(b"host", ())) != 1:
            return super().writeTo(transport)  # type: ignore[no-any-return]  # (which refuses a Host not given once)
        head = [self.method, b" ", self.uri, b" HTTP/1.1\r\n"]
        if not self.persistent:
            head.append(b"Connection: close\r\n")
        head.append(b"Content-Length: %d\r\n" % body.length)
        appendFields(head, headers)
        head += (b"\r\n", body.data)
        transport.write(b"".join(head))
        return defer.succeed(None)


class UpstreamAgent(Agent):
    """
    An L{Agent} that parses each upstream URL once, and keeps connections
    made under one set of client settings (address policy, TLS) from being
    reused under another.

    A proxy sends the same few URLs over and over, and L{Agent.request}
    parses every one again (its validation and L{URI.fromBytes}: some 14
    microseconds a request, and as much again for the request target): the
    pool key, the endpoint and the request target are kept per URL (the
    last 1,024 URLs of at most 2 KiB), and each request goes straight to a connection of
    the pool as an L{InMemoryRequest}.  When a reload changes the settings,
    the kept URLs are forgotten, idle pooled connections are closed, and
    pool keys carry a new epoch, so that no connection opened under the old
    policy serves a new request.  Built by L{usingEndpointFactory} with a
    L{FencedEndpointFactory}, as L{buildAgent} does.
    """

    _MAX_REMEMBERED = 1024
    _MAX_REMEMBERED_LENGTH = 2048  # longer URLs are parsed every time
    #: the endpoints and the pool it was built with
    endpoints: FencedEndpointFactory
    pool: HTTPConnectionPool
    _remembered: dict[bytes, tuple[tuple[bytes, bytes, int, int], IStreamClientEndpoint, bytes]]

    _settings: Optional[ClientSettings] = None
    _epoch = 0

    @classmethod
    def usingEndpointFactory(cls, reactor: Any, endpointFactory: Any, pool: Any = None) -> "UpstreamAgent":
        agent = super().usingEndpointFactory(reactor, endpointFactory, pool)
        agent.endpoints = endpointFactory
        agent.pool = pool
        agent._remembered = {}
        return agent  # type: ignore[no-any-return]

    def _settingsChanged(self, settings: ClientSettings) -> None:
        self._remembered.clear()  # their endpoints hold the old settings
        if self._settings is not None and settings != self._settings:
            self._epoch += 1
            d = self.pool.closeCachedConnections()
            d.addErrback(lambda f: log.failure("closing idle upstream connections failed", f))
        self._settings = settings

    def request(
        self,
        method: bytes,
        uri: bytes,
        headers: Optional[Headers] = None,
        bodyProducer: Optional[IBodyProducer] = None,
    ) -> "defer.Deferred[IResponse]":
        settings = self.endpoints.settings()
        if settings is not self._settings:
            self._settingsChanged(settings)
        if headers is None or not headers.hasHeader(b"host"):
            return super().request(method, uri, headers, bodyProducer)
        entry = self._remembered.get(uri)
        if entry is None:
            parsed = URI.fromBytes(compat.ensureValidURI(uri.strip()))
            try:
                endpoint = self.endpoints.endpointForURI(parsed)
            except SchemeNotSupported:
                return defer.fail(Failure())
            if len(self._remembered) >= self._MAX_REMEMBERED:
                self._remembered.clear()
            entry = ((parsed.scheme, parsed.host, parsed.port, self._epoch), endpoint, parsed.originForm)
            if len(uri) <= self._MAX_REMEMBERED_LENGTH:
                self._remembered[uri] = entry
        key, endpoint, originForm = entry
        request = InMemoryRequest(method, originForm, headers, bodyProducer, persistent=self.pool.persistent)
        d: "defer.Deferred[Any]" = self.pool.getConnection(key, endpoint)
        return d.addCallback(lambda connection: connection.request(request))


def buildAgent(
    reactor: Any,
    settings: Callable[[], ClientSettings],
    maxIdlePerHost: int,
    idleTimeout: float,
    eager: Callable[[], bool] = lambda: True,
) -> tuple[Agent, HTTPConnectionPool]:
    """
    @param eager: whether a request should be sent at once (see
        L{EagerClientProtocol}); asked for each request.
    """
    pool = HTTPConnectionPool(reactor, persistent=True)
    factory = quietFactory(eager)
    if factory is not None:
        compat.setPoolFactory(pool, factory)
    pool.maxPersistentPerHost = maxIdlePerHost
    pool.cachedConnectionTimeout = idleTimeout
    pool.retryAutomatically = True
    agent = UpstreamAgent.usingEndpointFactory(reactor, FencedEndpointFactory(reactor, settings), pool=pool)
    return agent, pool

