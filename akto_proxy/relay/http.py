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
from twisted.python.failure import Failure
from twisted.web.client import URI, Agent, HTTPConnectionPool, _HTTP11ClientFactory
from twisted.web.iweb import IAgentEndpointFactory
from zope.interface import implementer

from akto_proxy.relay.fence import AddressPolicy, parseIP


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
            from akto_proxy.web.channel import setNoDelay

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


class _QuietFactory(_HTTP11ClientFactory):
    noisy = False


class QuietPool(HTTPConnectionPool):
    _factory = _QuietFactory


def buildAgent(
    reactor: Any, settings: Callable[[], ClientSettings], maxIdlePerHost: int, idleTimeout: float
) -> tuple[Agent, HTTPConnectionPool]:
    pool = QuietPool(reactor, persistent=True)
    pool.maxPersistentPerHost = maxIdlePerHost
    pool.cachedConnectionTimeout = idleTimeout
    pool.retryAutomatically = True
    agent = Agent.usingEndpointFactory(reactor, FencedEndpointFactory(reactor, settings), pool=pool)
    return agent, pool

