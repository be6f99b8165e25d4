"""
The daemon: listeners, the upstream pool, the current configuration and its
reload on SIGHUP, open streams, and the drain on shutdown.
"""

from __future__ import annotations

import functools
import gc
import ipaddress
import json
import os
import signal
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Optional

import attrs
from OpenSSL import SSL
from twisted.application import strports
from twisted.application.service import MultiService
from twisted.internet import defer
from twisted.internet.ssl import CertificateOptions, PrivateCertificate, TLSVersion
from twisted.logger import Logger
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.web.resource import Resource
from twisted.web.server import Request

from akto_proxy import __version__
from akto_proxy.access.keys import KeyRing
from akto_proxy.access.ratelimit import IRateStore, MemoryStore, RateLimits, RedisStore
from akto_proxy.access.redisstate import RedisState
from akto_proxy.access.roles import Policy
from akto_proxy.access.sessions import ForeignSession, LocalSessions, RedisSessions, SessionTable
from akto_proxy.config import Config, ConfigError, loadConfig
from akto_proxy.config.model import ApiKey, Listener
from akto_proxy.inspect.chain import Chain
from akto_proxy.inspect.checks import buildInspectors
from akto_proxy.inspect.checks.prefilter import Prefilter, buildPrefilter
from akto_proxy.relay.url import Target, canonicalURL
from akto_proxy.observe.logs import encodeEvent
from akto_proxy.relay.fence import AddressPolicy, ownAddresses, parseIP
from akto_proxy.relay.http import ClientSettings, buildAgent

if TYPE_CHECKING:
    from akto_proxy.web.proxy import BodyRelay, Exchange

log = Logger()


@attrs.frozen
class Runtime:
    """
    Everything derived from one configuration generation.
    """

    config: Config
    generation: int
    keys: KeyRing
    chain: Chain
    policy: AddressPolicy
    roles: Policy
    rates: RateLimits
    @functools.cached_property
    def ipAllowed(self) -> Callable[[str], bool]:
        """
        Is a client at an address in C{ip_allowlist}?  Remembered per
        address (the last 4,096) for this configuration: clients come back,
        and a memo keyed by the allowlist too would hash its networks (in
        Python) on every request.
        """
        nets = self.config.access_control.ip_allowlist
        return functools.lru_cache(maxsize=4096)(lambda address: _inAllowlist(address, nets))

    @functools.cached_property
    def clientSettings(self) -> ClientSettings:
        tls = self.config.tls.upstream
        return ClientSettings(
            policy=self.policy,
            connectTimeout=self.config.upstreams.connect_timeout,
            tlsMinimum=tls.min_version,
            caBundle=tls.ca_bundle,
            verify=tls.verify,
        )


# Plain requests in flight up to which answers and relayed requests are sent
# at once (ProxyService.sendEagerly).
EAGER_BELOW = 4

# The daemon's collector thresholds (Python's are 700, 10, 10).  A request
# allocates a few hundred containers; with fifty in flight, a young
# generation of 700 is collected several times per request while most of
# its objects are still alive, and they are walked again in the older
# generations.  Ten thousand lets most die by reference count first.
GC_THRESHOLDS = (10_000, 10, 10)


def settleHeap() -> None:
    """
    Collect, then freeze what is left (modules, configuration, compiled
    patterns) out of the collector's sight: full collections then walk only
    what requests allocate.  Run at start and after each reload, which
    unfreezes first so that a replaced configuration can be collected.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def _inAllowlist(address: str, nets: tuple[Any, ...]) -> bool:
    """
    Is C{address} in one of C{nets}?
    """
    addr = parseIP(address)
    return addr is not None and any(addr in net for net in nets if net.version == addr.version)


@functools.lru_cache(maxsize=4)
def _inspectors(threats: Any, guardrails: Any, reactor: Any) -> tuple[tuple[Any, ...], Optional[Prefilter]]:
    """
    Compiling the pattern databases takes about a second: a reload that does
    not change the checks (and every test that uses the same ones) reuses
    them, with the prefilter over them.  The inspectors hold no per-message
    state.
    """
    config = Config(source="", listen=(), threat_detection=threats, guardrails=guardrails)
    steps = tuple(buildInspectors(config, reactor))
    return steps, buildPrefilter(steps)


def buildRuntime(
    config: Config,
    generation: int,
    reactor: Any,
    own: tuple[tuple[str, int], ...] = (),
    rateStore: Optional[IRateStore] = None,
) -> Runtime:
    inspectors, prefilter = _inspectors(config.threat_detection, config.guardrails, reactor)
    chain = Chain(inspectors, reactor, config.threat_detection.inspection_timeout, prefilter)
    return Runtime(
        config=config,
        generation=generation,
        keys=KeyRing(config.access_control),
        chain=chain,
        policy=AddressPolicy(allowPrivate=config.upstreams.allow_private, own=ownAddresses(own)),
        roles=Policy.fromConfig(config.access_control),
        rates=RateLimits.fromConfig(
            config.guardrails, rateStore if rateStore is not None else MemoryStore(), reactor, config.threat_detection.mode
        ),
    )


def serverTLS(config: Config) -> CertificateOptions:
    server = config.tls.server
    assert server.certificate is not None and server.private_key is not None
    with open(server.certificate, "rb") as f:
        certPEM = f.read()
    with open(server.private_key, "rb") as f:
        keyPEM = f.read()
    cert = PrivateCertificate.loadPEM(certPEM + b"\n" + keyPEM)
    minimum = TLSVersion.TLSv1_3 if server.min_version == "1.3" else TLSVersion.TLSv1_2
    return CertificateOptions(
        privateKey=cert.privateKey.original,
        certificate=cert.original,
        raiseMinimumTo=minimum,
        acceptableProtocols=[b"http/1.1"],
    )


class _TLSContext:
    """
    A server TLS context that a reload can replace under open listeners.
    """

    def __init__(self, options: CertificateOptions):
        self.options = options

    def getContext(self) -> SSL.Context:
        return self.options.getContext()


class ProxyService(MultiService):
    """
    Owns the configuration, the listeners and every shared resource.

    @param reactor: injected; tests pass a clock or a memory reactor.
    """

    def __init__(self, config: Config, reactor: Any, configPath: Optional[str] = None, tuneGC: bool = False):
        super().__init__()
        self.reactor = reactor
        self.tuneGC = tuneGC
        self.configPath = configPath or config.source
        self.startedAt = reactor.seconds()
        self._generation = 1
        self._ownAddresses: tuple[tuple[str, int], ...] = ()
        self.redis: Optional[RedisState] = RedisState(config.redis, reactor) if config.redis.url else None
        self.rateStore: IRateStore = RedisStore(self.redis) if self.redis is not None else MemoryStore()
        self.sessionTable = SessionTable(
            reactor, config.access_control.session_timeout, config.access_control.max_sessions
        )
        self.sessions: Any = (
            RedisSessions(self.redis, self.sessionTable) if self.redis is not None else LocalSessions(self.sessionTable)
        )
        self.runtime = buildRuntime(config, 1, reactor, rateStore=self.rateStore)
        self.agent, self.pool = buildAgent(
            reactor,
            lambda: self.runtime.clientSettings,
            config.upstreams.max_idle_per_host,
            config.upstreams.pool_idle_timeout,
            self.sendEagerly,
        )
        self.streams: set["BodyRelay"] = set()
        self.sockets: set[Any] = set()  # open WebSocketRelay instances
        self.inflight: set["Exchange"] = set()
        self.stopping = False
        self._drainWaiters: list[defer.Deferred[None]] = []
        self.legacy: dict[tuple[Any, ...], "BodyRelay"] = {}
        # the last requests' audit events, as JSON text: compact, and nothing
        # the garbage collector has to walk
        self.recent: deque[str] = deque(maxlen=max(1, config.audit.recent_events))
        self.counters: dict[str, int] = {"requests": 0, "blocked": 0, "errors": 0}
        self.upstreamState: dict[str, dict[str, Any]] = {}
        self.exchangeObservers: list[Callable[[dict[str, Any]], None]] = []
        # the access log: None sends access lines through twisted.logger;
        # the plugin sets a direct writer when it logs JSON lines to stdout
        # the access log, when the daemon writes it (tap.makeService): called
        # with the line's message, event and encoded event; its flush(), if
        # any, is called at stop
        self.accessLog: Optional[Callable[[str, dict[str, Any], Optional[str]], None]] = None
        self.auditFile: Any = None
        self._openAudit(config)
        self._tls: Optional[_TLSContext] = _TLSContext(serverTLS(config)) if config.tls.server.certificate else None
        self.ports: list[Any] = []
        self._previousHandler: Any = None
        self._addListeners(config)
        for warning in config.warnings:
            log.warn("{config_warning}", config_warning=warning)

    # -- listeners

    def _site(self, admin: bool, proxy: bool) -> Any:
        from akto_proxy.web.channel import ProxySite
        from akto_proxy.web.root import Root

        return ProxySite(Root(self, admin=admin, proxy=proxy), self)

    def _addListeners(self, config: Config) -> None:
        separateAdmin = config.admin is not None and bool(config.admin.listen)
        main = self._site(admin=not separateAdmin, proxy=True)
        for lst in config.listen:
            self._listen(lst, main)
        if separateAdmin:
            assert config.admin is not None
            admin = self._site(admin=True, proxy=False)
            for lst in config.admin.listen:
                self._listen(lst, admin)

    def _listen(self, listener: Listener, site: Any) -> None:
        factory = site
        if listener.tls:
            assert self._tls is not None
            factory = TLSMemoryBIOFactory(self._tls, False, site)
        svc = strports.service(listener.endpoint, factory, reactor=self.reactor)
        svc.setServiceParent(self)
        self.ports.append(svc)

    def startService(self) -> None:
        super().startService()
        if self.tuneGC:
            gc.set_threshold(*GC_THRESHOLDS)
            settleHeap()
        self.sessionTable.start()
        if self.redis is not None:
            self.redis.start()
        if hasattr(self.reactor, "addSystemEventTrigger"):
            self._installSIGHUP()
        self._learnOwnAddresses()
        for port in self.listeningPorts():
            addr = port.getHost()
            log.info(
                "listening on {host}:{port}",
                host=getattr(addr, "host", str(addr)),
                port=getattr(addr, "port", None),
                listening=True,
                version=__version__,
                config=self.configPath,
            )

    def _learnOwnAddresses(self) -> None:
        own = [(addr.host, addr.port) for addr in (p.getHost() for p in self.listeningPorts()) if hasattr(addr, "port")]
        self._ownAddresses = tuple(own)
        self.runtime = attrs.evolve(self.runtime, policy=AddressPolicy(self.runtime.config.upstreams.allow_private, ownAddresses(own)))

    def listeningPorts(self) -> list[Any]:
        """
        The listening ports (after start), for tests and the own-address fence.
        """
        out = []
        for svc in self.ports:
            d = getattr(svc, "_waitingForPort", None)
            if d is not None and d.called and hasattr(d.result, "getHost"):
                out.append(d.result)
        return out

    def _installSIGHUP(self) -> None:
        try:
            self._previousHandler = signal.signal(signal.SIGHUP, lambda *_: self.reactor.callFromThread(self.reload))
        except ValueError:
            self._previousHandler = None  # not the main thread (tests)

    @defer.inlineCallbacks
    def stopService(self) -> Any:
        """
        Stop accepting, let in-flight requests finish within
        C{limits.shutdown_grace}, then close open streams cleanly.
        """
        if self._previousHandler is not None:
            try:
                signal.signal(signal.SIGHUP, self._previousHandler)
            except ValueError:
                pass
        self.stopping = True
        yield super().stopService()
        if self._busy():
            drained = defer.Deferred()
            self._drainWaiters.append(drained)
            drained.addTimeout(self.runtime.config.limits.shutdown_grace, self.reactor)
            try:
                yield drained
            except defer.TimeoutError:
                log.warn("shutdown grace period over with {n} requests in flight", n=self._busy())
        for relay in list(self.streams):
            relay.close()
        for sock in list(getattr(self, "sockets", ())):
            try:
                sock.close(1001)
            except Exception:
                pass
        yield defer.DeferredList([sock.whenClosed() for sock in list(self.sockets)])
        self.sessionTable.stop()
        if self.redis is not None:
            yield self.redis.stop()
        if self.auditFile is not None:
            self.auditFile.close()
            self.auditFile = None
        yield self.pool.closeCachedConnections()
        flush = getattr(self.accessLog, "flush", None)
        if flush is not None:
            flush()  # access lines waiting for their batch

    def _busy(self) -> int:
        """
        Plain requests still in flight (open SSE streams and WebSockets are
        closed after the grace period instead).
        """
        sockets = {s.exchange for s in self.sockets}
        return sum(
            1 for ex in self.inflight if ex not in sockets and (ex.stream is None or not ex.stream.sse)
        )

    def sendEagerly(self) -> bool:
        """
        Whether a finished answer or a relayed request should be sent at once
        (L{akto_proxy.relay.transport.sendNow}) rather than when the reactor
        next writes.  At once when few plain requests are in flight: the
        peer then waits less.  Under load, the reactor's one write pass per
        turn serves many connections and wakes each peer once for all that
        is ready (sending at once cost some 4% of CPU at 50 in flight).
        """
        return len(self.inflight) - len(self.streams) - len(self.sockets) <= EAGER_BELOW

    def exchangeStarted(self, exchange: "Exchange") -> None:
        self.inflight.add(exchange)

    def exchangeDone(self, exchange: "Exchange") -> None:
        self.inflight.discard(exchange)
        if self.stopping and not self._busy():
            waiters, self._drainWaiters = self._drainWaiters, []
            for w in waiters:
                w.callback(None)

    # -- reload

    def reload(self, path: Optional[str] = None) -> bool:
        """
        Re-read the configuration file.  An invalid file is logged and
        ignored; the running configuration stays in force.
        """
        path = path or self.configPath
        try:
            config = loadConfig(path)
            runtime = buildRuntime(config, self._generation + 1, self.reactor, self._ownAddresses, self.rateStore)
        except ConfigError as e:
            log.error("configuration reload rejected: {error}", error=str(e), config=path)
            return False
        except Exception as e:
            log.error("configuration reload rejected: {error}", error=repr(e), config=path)
            return False
        old = self.runtime
        self._generation += 1
        self.runtime = runtime
        if config.listen != old.config.listen:
            log.warn("listen changed in {config}: restart to apply", config=path)
        if config.redis != old.config.redis:
            log.warn("redis changed in {config}: restart to apply", config=path)
        self.sessionTable.setTimeout(config.access_control.session_timeout)
        if config.audit != old.config.audit:
            self._openAudit(config)
        kept = {k.name for k in config.access_control.api_keys}
        for k in old.config.access_control.api_keys:
            if k.name not in kept:
                self.sessionTable.forgetKey(k.name)
        if self._tls is not None and config.tls.server.certificate:
            try:
                self._tls.options = serverTLS(config)
            except Exception as e:
                log.error("TLS certificate reload failed: {error}", error=repr(e))
        for warning in config.warnings:
            log.warn("{config_warning}", config_warning=warning)
        closed = self._closeOrphans(runtime)
        if self.tuneGC:
            settleHeap()
        log.info(
            "configuration reloaded (generation {generation})",
            generation=runtime.generation,
            config=path,
            closed_streams=closed,
        )
        return True

    def _closeOrphans(self, rt: Runtime) -> int:
        """
        Close open SSE streams and WebSockets whose key was removed or
        changed, or whose roles no longer reach their upstream; the others
        carry on with the key as the new configuration has it.
        """
        closed = 0
        for sock in list(self.sockets):
            if not self._rebind(sock.exchange, sock.keyDigest, rt):
                sock.close(1008, "API key or role no longer allowed")
                closed += 1
        for relay in list(self.streams):
            if not self._rebind(relay.exchange, relay.keyDigest, rt):
                relay.close()
                closed += 1
        return closed

    def _rebind(self, exchange: "Exchange", digest: Optional[bytes], rt: Runtime) -> bool:
        key = exchange.key
        if key is None:
            return True
        current = rt.keys.digestOf(key.name)
        newKey = next((k for k in rt.config.access_control.api_keys if k.name == key.name), None)
        if newKey is None or current is None or (digest is not None and current != digest):
            return False
        if exchange.target is not None and not rt.roles.reaches(newKey, exchange.target.host):
            return False
        exchange.key = newKey
        return True

    # -- what the relay asks

    def clientAddress(self, request: Request, rt: Runtime) -> str:
        peer = request.getClientAddress()
        host = getattr(peer, "host", None) or "unix"
        trusted = rt.config.access_control.trusted_proxies
        if not trusted or not _inAny(host, trusted):
            return host
        chain = self._forwardedChain(request)
        for addr in reversed(chain):
            if not _inAny(addr, trusted):
                return addr
        return chain[0] if chain else host

    def _forwardedChain(self, request: Request) -> list[str]:
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

    def trustedForwardedFor(self, request: Request, rt: Runtime) -> list[str]:
        """
        The X-Forwarded-For entries to pass on before the peer's own address:
        the incoming chain when the peer is a trusted proxy (it vouches for
        it), nothing otherwise (a client's own X-Forwarded-For is a spoof).
        """
        if not rt.config.access_control.trusted_proxies or not self.fromTrustedProxy(request, rt):
            return []
        return self._forwardedChain(request)

    def fromTrustedProxy(self, request: Request, rt: Runtime) -> bool:
        peer = getattr(request.getClientAddress(), "host", "")
        return _inAny(peer, rt.config.access_control.trusted_proxies)

    def publicOrigin(self, request: Request, rt: Runtime) -> str:
        if rt.config.public_url:
            return rt.config.public_url
        scheme = "https" if request.isSecure() else "http"
        host = request.getHeader("host") or ""
        peer = getattr(request.getClientAddress(), "host", "")
        trusted = rt.config.access_control.trusted_proxies
        if trusted and _inAny(peer, trusted):
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

    def legacySession(self, target: Target, key: ApiKey) -> Optional["BodyRelay"]:
        """
        The open legacy SSE stream whose session this POST URL names, or
        None.  @raise ForeignSession: the session was opened by another key.
        """
        if not self.legacy:
            return None
        relay = self.legacy.get(canonicalURL(target.upstreamURL().decode("latin-1")))
        if relay is None or relay.exchange.key is None:
            return None
        if relay.exchange.key.name != key.name:
            raise ForeignSession()
        return relay

    def legacyOpened(self, relay: "BodyRelay") -> None:
        if relay.legacyURL is not None:
            self.legacy[relay.legacyURL] = relay

    def streamOpened(self, relay: "BodyRelay") -> None:
        key = relay.exchange.key
        relay.keyDigest = self.runtime.keys.digestOf(key.name) if key else None
        self.streams.add(relay)

    def streamClosed(self, relay: "BodyRelay") -> None:
        self.streams.discard(relay)
        if relay.legacyURL is not None and self.legacy.get(relay.legacyURL) is relay:
            del self.legacy[relay.legacyURL]

    async def relayWebSocket(self, exchange: "Exchange") -> None:
        from akto_proxy.relay.ws import WebSocketRelay

        await WebSocketRelay(self, exchange).run()

    def _openAudit(self, config: Config) -> None:
        """
        C{audit.destination}: C{stdout} (the access lines on stdout are the
        audit trail), C{none}, or a file of JSON lines rotated by size.
        """
        from twisted.python.logfile import LogFile

        if self.auditFile is not None:
            self.auditFile.close()
            self.auditFile = None
        dest = config.audit.destination
        if dest in ("stdout", "none"):
            return
        directory, name = os.path.split(os.path.abspath(dest))
        self.auditFile = LogFile(
            name, directory, rotateLength=config.audit.max_file_size, maxRotatedFiles=config.audit.keep_files or None
        )

    def recordExchange(self, event: dict[str, Any]) -> str:
        """
        Count and keep one request's audit event; the event as JSON text
        (encoded once, for the audit file and the access log alike).
        """
        self.counters["requests"] += 1
        if event.get("blocked"):
            self.counters["blocked"] += 1
        if isinstance(event.get("status"), int) and event["status"] >= 500:
            self.counters["errors"] += 1
        text = encodeEvent(event)
        self.recent.append(text)
        if self.auditFile is not None:
            try:
                self.auditFile.write(text + "\n")
                self.auditFile.flush()
            except OSError as e:
                log.error("audit file write failed: {error}", error=str(e))
        for observer in self.exchangeObservers:
            observer(event)
        return text

    def recentEvents(self, last: Optional[int] = None) -> list[dict[str, Any]]:
        """
        The kept audit events, oldest first (the C{last} ones when given),
        decoded.
        """
        kept = list(self.recent)
        if last is not None:
            kept = kept[max(0, len(kept) - last) :]
        return [json.loads(text) for text in kept]

    def rateLimited(self, guardrail: Optional[str]) -> None:
        self.counters["rate_limited"] = self.counters.get("rate_limited", 0) + 1

    def upstreamOK(self, target: Optional[Target]) -> None:
        if target is None:
            return
        state = self.upstreamState.setdefault(target.authority, {"ok": 0, "failed": 0})
        state["ok"] += 1
        state["last_ok"] = self.reactor.seconds()

    def upstreamFailed(self, target: Optional[Target]) -> None:
        if target is None:
            return
        state = self.upstreamState.setdefault(target.authority, {"ok": 0, "failed": 0})
        state["failed"] += 1
        state["last_failure"] = self.reactor.seconds()

    def health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "version": __version__,
            "uptime_s": round(self.reactor.seconds() - self.startedAt, 3),
            "config_generation": self.runtime.generation,
            "open_streams": len(self.streams),
            "pool": {
                "idle_connections": sum(len(v) for v in self.pool._connections.values()),
                "upstreams": self.upstreamState,
            },
            "counters": dict(self.counters),
            "sessions": len(self.sessionTable),
            "redis": self.redis.health() if self.redis is not None else None,
        }

    def adminResources(self) -> dict[bytes, Resource]:
        return {}


def _inAny(host: str, nets: tuple[Any, ...]) -> bool:
    addr = parseIP(host)
    if addr is None:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return any(addr in n for n in nets if n.version == addr.version)
