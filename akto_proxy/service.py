"""
The daemon's service tree: the long-lived parts (session sweeper, Redis,
audit trail, access log, upstream pool) as child services, the listeners
last; the current configuration and its reload on SIGHUP; open streams and
sockets; the drain on shutdown.

    ProxyService
      sessions      SessionSweeper: MCP session bindings and conversations
      redis         RedisPart: shared state (when configured)
      audit         Audit: the audit trail (a subscriber of the event bus)
      metrics       Metrics: the Prometheus registry (a subscriber)
      alerts        Alerts: grouped notifications to the alert channels (a subscriber)
      recorder      Recorder: bounded state for /api/stats, /api/events,
                    /api/rules and the dashboard (a subscriber)
      access-log    AccessLogPart: one line per exchange (a subscriber)
      pool          PoolPart: upstream keep-alive connections
      heap-trimmer  HeapTrimmer: gives glibc's freed heap back (the daemon's)
      listeners     one strports service per listen/admin endpoint
"""

from __future__ import annotations

import gc
import os
import signal
import time
from typing import TYPE_CHECKING, Any, Callable, Optional

import attrs
from OpenSSL import SSL
from twisted.application import strports
from twisted.application.internet import TimerService
from twisted.application.service import MultiService, Service
from twisted.internet import defer
from twisted.internet.ssl import CertificateOptions, PrivateCertificate, TLSVersion
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.python.threadpool import ThreadPool
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.web.resource import Resource

from akto_proxy import __version__, compat
from akto_proxy.access.ratelimit import IRateStore, MemoryStore, RedisStore
from akto_proxy.access.redisstate import RedisState
from akto_proxy.access.sessions import ForeignSession, LocalSessions, RedisSessions, SessionTable
from akto_proxy.config import Config, ConfigError, loadConfig
from akto_proxy.config.model import ApiKey, Listener
from akto_proxy.inspect.checks.offload import inspectionPool
from akto_proxy.mcp.events import EventBus, ExchangeEvent, MessageEvent, ReloadEvent, UpstreamFailureEvent
from akto_proxy.mcp.pins import PinStore, SharedPins
from akto_proxy.mcp.cache import ResponseCache
from akto_proxy.mcp.protections import McpState
from akto_proxy.mcp.session import Conversations
from akto_proxy.observe.alerts import Alerts
from akto_proxy.observe.audit import Audit
from akto_proxy.observe.logs import encodeEvent, rfc3339
from akto_proxy.observe.metrics import Metrics
from akto_proxy.observe.recorder import Recorder
from akto_proxy.relay.breaker import Breakers
from akto_proxy.relay.deadlines import Deadlines
from akto_proxy.relay.fence import AddressPolicy, ownAddresses
from akto_proxy.relay.http import buildAgent
from akto_proxy.relay.url import Target, canonicalURL
from akto_proxy.runtime import Runtime, buildRuntime

if TYPE_CHECKING:
    from akto_proxy.web.proxy import Exchange
    from akto_proxy.web.forward import LegacyRouter
    from akto_proxy.web.stream import BodyRelay

log = Logger()

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
    trimHeap()


def trimHeap() -> bool:
    """
    Give the C heap's free pages back to the system: building a
    configuration (loading and compiling pattern databases, parsing) leaves
    megabytes freed but kept by glibc's allocator, and so does a burst of
    large messages (L{HeapTrimmer}).  C{malloc_trim}; a libc without it
    (musl, macOS) keeps its own ways and nothing happens.

    @return: whether the libc has it.
    """
    global _mallocTrim
    if _mallocTrim is None:
        try:
            import ctypes

            _mallocTrim = ctypes.CDLL(None).malloc_trim
        except (OSError, AttributeError):
            _mallocTrim = False
    if _mallocTrim:
        _mallocTrim(0)
        return True
    return False


_mallocTrim: Any = None


def residentBytes() -> Optional[int]:
    """
    The process's resident size (C{/proc/self/statm}), or None where there
    is no such file.
    """
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

# How often the daemon looks at its resident size (HeapTrimmer), seconds;
# how much it must have grown since the last trim (or the lowest seen since)
# for the heap to be trimmed; after how many looks a size still that far
# above the lowest ever seen is trimmed again (the next: what a burst
# freed after a trim that ran during it; doubled after a trim that gave
# little back).  A trim takes about a millisecond (0.06-1.4 ms in
# bench/memory.py's runs).
TRIM_EVERY = 5.0
TRIM_GROWTH = 4 << 20
TRIM_AGAIN_AFTER = 1


class HeapTrimmer(TimerService):
    """
    Gives back what glibc's allocator keeps after large messages: a body
    of a megabyte is read, decoded and parsed into buffers of that size
    which, once the pattern databases' loading has raised glibc's dynamic
    mmap threshold, come from the heap and stay there when freed (80
    bodies of 1 MiB left 15 MiB more resident, all of it free).

    Every C{every} seconds the resident size is read (one small file).
    When it grew by C{growth} since the last trim (or the lowest seen
    since), the heap is trimmed.  Memory really in use (held streams)
    stays above that baseline without being trimmed at every look; a size
    still C{growth} above the lowest ever seen is trimmed again after
    C{again} looks, for what was freed after a trim that ran during a
    burst.  After a trim that gave little back (memory in use), the next
    waits for twice the growth and twice as many looks (up to 256 MiB
    and an hour): a trim walks every free chunk of the heap, which takes
    a while in a fragmented one, in the reactor's thread.  Each
    trim is logged with what it gave back and how long it took.  A libc
    without C{malloc_trim} stops the looks.

    @param rss: the resident size in bytes, or None (L{residentBytes}).
    @param trim: trims, returning whether it can (L{trimHeap}).
    """

    name = "heap-trimmer"

    def __init__(
        self,
        clock: Any,
        rss: Callable[[], Optional[int]] = residentBytes,
        trim: Callable[[], bool] = trimHeap,
        every: float = TRIM_EVERY,
        growth: int = TRIM_GROWTH,
        again: int = TRIM_AGAIN_AFTER,
    ):
        super().__init__(every, self.check)
        self.clock = clock
        self.rss = rss
        self.trim = trim
        self.growth = growth
        self.again = again
        #: the size after the last trim, or the lowest seen since
        self.baseline: Optional[int] = None
        #: the lowest size seen
        self.lowest: Optional[int] = None
        self.trims = 0
        self._sinceTrim = 0
        # looks after which a size still high is trimmed again, and the
        # growth that trims: doubled after each trim that gave little back
        self._again = again
        self._growth = growth

    #: the most looks between two trims of a size that stays high
    AGAIN_AT_MOST = 720
    #: the most growth a trim waits for
    GROWTH_AT_MOST = 256 << 20

    def startService(self) -> None:
        self.baseline = self.lowest = self.rss()
        super().startService()  # a first look now, at what nothing grew yet

    def check(self) -> None:
        now = self.rss()
        if now is None or self.baseline is None or self.lowest is None:
            self._loop.stop()  # no resident size to look at
            return
        self._sinceTrim += 1
        grew = now - self.baseline >= self._growth
        stayed = now - self.lowest >= self.growth and self._sinceTrim >= self._again
        if not (grew or stayed):
            self.baseline = min(self.baseline, now)
            self.lowest = min(self.lowest, now)
            return
        started = time.perf_counter()
        if not self.trim():
            self._loop.stop()  # nothing to trim with
            return
        took = time.perf_counter() - started
        self.trims += 1
        self._sinceTrim = 0
        after = self.rss() or now
        # a trim that gave little back (memory in use) is not tried again
        # soon: it walks every free chunk of the heap, which takes long
        # when the heap is fragmented
        if now - after >= self.growth // 2:
            self._again, self._growth = self.again, self.growth
        else:
            self._again = min(self._again * 2, self.AGAIN_AT_MOST)
            self._growth = min(self._growth * 2, self.GROWTH_AT_MOST)
        log.info(
            "heap trimmed: {freed} bytes given back in {ms:.1f} ms",
            freed=now - after,
            ms=took * 1000,
            rss=after,
        )
        self.baseline = after
        self.lowest = min(self.lowest, after)


# glibc's M_ARENA_MAX (mallopt): malloc arenas, the main one included
M_ARENA_MAX = -8
#: the arenas the daemon lets glibc make (its default: eight per core): one,
#: shared by every thread, so that what one thread frees (the reactor's parse
#: of a large message) serves the next thread's copies (the inspection
#: pool's), where each thread's own arena kept its own high-water mark: one
#: 15 MiB tool result in flight took 4.3x its size over the resident size
#: with two arenas, 3.9x with one (bench/inflight.py)
ARENAS = 1


def limitArenas(arenas: int = ARENAS) -> bool:
    """
    Let glibc's allocator make at most C{arenas} arenas: by default each
    thread that allocates gets one of its own up to eight per core, and the
    threads that inspect large messages (the reactor's ten then; now the
    inspection pool's four) each kept a
    megabyte and more in theirs (a pool thread's Hyperscan scratch spaces
    and what its messages left).  Python's allocations are made under the
    GIL, so the threads hardly contend for the arenas they share.  Called
    before the pool's threads start; a libc without C{mallopt} (musl,
    macOS) is left alone.

    @return: whether the libc took it.
    """
    try:
        import ctypes

        return bool(ctypes.CDLL(None).mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False


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


class SessionSweeper(Service):
    """
    MCP session bindings (bound to the key that opened them) and the
    conversations the pipeline keeps per session: both forget what has
    been idle for C{session_timeout}, swept together.
    """

    name = "sessions"

    def __init__(self, table: SessionTable, conversations: Conversations, clock: Any):
        self.table = table
        self.conversations = conversations
        self.clock = clock
        self._loop: Optional[LoopingCall] = None

    def startService(self) -> None:
        super().startService()
        self._loop = LoopingCall(self.sweep)
        self._loop.clock = self.clock
        self._loop.start(self.table.sweepInterval, now=False)

    def stopService(self) -> None:
        super().stopService()
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._loop = None

    def sweep(self) -> None:
        self.table.sweep()
        self.conversations.sweep()

    def reconfigure(self, config: Config) -> None:
        self.table.setTimeout(config.access_control.session_timeout)
        self.conversations.idle = config.access_control.session_timeout


class RedisPart(Service):
    """
    The connection to Redis (shared rate counters and session bindings).
    """

    name = "redis"

    def __init__(self, redis: RedisState):
        self.redis = redis

    def startService(self) -> None:
        super().startService()
        self.redis.start()

    def stopService(self) -> "defer.Deferred[None]":
        super().stopService()
        return self.redis.stop()


class ThreadsPart(Service):
    """
    The inspection threads: started with the service (no thread is made
    before the first large message), stopped after the listeners, when no
    message is in flight any more.
    """

    name = "inspection-threads"

    def __init__(self, pool: ThreadPool):
        self.pool = pool

    def startService(self) -> None:
        super().startService()
        self.pool.start()

    def stopService(self) -> None:
        super().stopService()
        self.pool.stop()


class PoolPart(Service):
    """
    The upstream connection pool: its idle connections are closed at stop.
    """

    name = "pool"

    def __init__(self, pool: Any):
        self.pool = pool

    def stopService(self) -> "defer.Deferred[None]":
        super().stopService()
        d: defer.Deferred[None] = self.pool.closeCachedConnections()
        return d


class AccessLogPart(Service):
    """
    One access line per exchange, a subscriber of the event bus: through a
    direct writer (the daemon's JSON lines on stdout, in batches) when one
    is given, else as a log event.  Lines waiting for their batch are
    written at stop.
    """

    name = "access-log"

    def __init__(self, bus: EventBus, writer: Optional[Callable[[str, dict[str, Any], Optional[str]], None]] = None):
        self.bus = bus
        self.writer = writer

    def startService(self) -> None:
        super().startService()
        self.bus.subscribe(ExchangeEvent, self.line)

    def stopService(self) -> None:
        super().stopService()
        self.bus.unsubscribe(ExchangeEvent, self.line)
        flush = getattr(self.writer, "flush", None)
        if flush is not None:
            flush()

    def line(self, event: ExchangeEvent) -> None:
        if self.writer is not None:
            self.writer(event.message, event.fields, event.encoded(encodeEvent))
        else:
            log.info("{message}", message=event.message, access=True, **event.fields)


class ProxyService(MultiService):
    """
    Owns the configuration, the listeners and every shared resource.

    @param reactor: injected: listens, connects, runs threads.
    @param clock: what times everything (timeouts, idle streams, sessions,
        rate windows, log batches): the reactor unless given (tests pass a
        L{twisted.internet.task.Clock}).
    @param accessLog: a direct access-line writer (L{akto_proxy.observe.
        logs.AccessLog}), or None to log access lines as log events.
    """

    def __init__(
        self,
        config: Config,
        reactor: Any,
        configPath: Optional[str] = None,
        tuneGC: bool = False,
        accessLog: Optional[Callable[[str, dict[str, Any], Optional[str]], None]] = None,
        clock: Any = None,
    ):
        super().__init__()
        self.reactor = reactor
        self.clock = clock = clock if clock is not None else reactor
        self.tuneGC = tuneGC
        self.configPath = configPath or config.source
        self.startedAt = clock.seconds()
        self.startedAtWall = time.time()
        #: the last reload that was refused (the file on disk is not in
        #: force), until one succeeds
        self.rejectedReload: Optional[dict[str, str]] = None
        self._generation = 1
        self._ownAddresses: tuple[tuple[str, int], ...] = ()
        self.bus = EventBus()
        self.counters: dict[str, int] = {"requests": 0, "blocked": 0, "errors": 0, "rate_limited": 0}
        self.bus.subscribe(ExchangeEvent, self._countExchange)
        self.bus.subscribe(MessageEvent, self._countMessage, notableOnly=True)
        self.redis: Optional[RedisState] = RedisState(config.redis, reactor) if config.redis.url else None
        self.rateStore: IRateStore = (
            RedisStore(self.redis, config.redis.onErrorFor("rate_limits")) if self.redis is not None else MemoryStore()
        )
        self.sessionTable = SessionTable(
            clock, config.access_control.session_timeout, config.access_control.max_sessions
        )
        self.sessions: Any = (
            RedisSessions(self.redis, self.sessionTable, config.redis.onErrorFor("sessions"))
            if self.redis is not None
            else LocalSessions(self.sessionTable)
        )
        self.conversations = Conversations(clock.seconds, idle=config.access_control.session_timeout)
        self.pins = PinStore(os.path.join(config.mcp.state_dir, "pins.json"), clock)
        self.pins.load()
        self.mcpState = McpState(self.pins)
        self.cache = ResponseCache(config, clock)
        #: the threads that inspect large messages (not the reactor's pool,
        #: which resolves upstream names)
        self.inspectionThreads = inspectionPool()
        self.runtime = buildRuntime(
            config, 1, reactor, rateStore=self.rateStore, clock=clock, state=self.mcpState, cache=self.cache,
            threads=self.inspectionThreads,
        )
        self.agent, self.pool = buildAgent(
            reactor,
            lambda: self.runtime.clientSettings,
            config.upstreams.max_idle_per_host,
            config.upstreams.pool_idle_timeout,
            self.sendEagerly,
        )
        self.streams: set["BodyRelay"] = set()
        #: the one timer of the streams' idle and keepalive deadlines
        self.deadlines = Deadlines(clock)
        self.sockets: set[Any] = set()  # open WebSocketRelay instances
        # the Autobahn factories the sockets share, by side and the options
        # they set (web/ws.py: one per socket cost an attribute dict each),
        # for the configuration in force (a reload empties it)
        self.wsFactories: dict[tuple[Any, ...], Any] = {}
        self.inflight: set["Exchange"] = set()
        self.stopping = False
        self._drainWaiters: list[defer.Deferred[None]] = []
        self.legacy: dict[tuple[Any, ...], "BodyRelay"] = {}
        self.upstreamState: dict[str, dict[str, Any]] = {}
        #: passive health of the upstreams in fallback chains
        self.breakers = Breakers(config.upstreams.breaker, clock.seconds)
        # the parts, started in this order and stopped in the reverse one
        # (the listeners first: see stopService)
        SessionSweeper(self.sessionTable, self.conversations, clock).setServiceParent(self)
        ThreadsPart(self.inspectionThreads).setServiceParent(self)
        #: the routing of legacy-SSE POSTs between instances (with Redis)
        self.router: Optional["LegacyRouter"] = None
        if self.redis is not None:
            from akto_proxy.web.forward import LegacyRouter

            RedisPart(self.redis).setServiceParent(self)
            shared = SharedPins(self.pins, self.redis, clock)
            self.pins.onChange = shared.changed
            shared.setServiceParent(self)
            self.router = LegacyRouter(self, self.redis)
            self.router.setServiceParent(self)
        self.audit = Audit(config.audit, self.bus, clock, config.access_control.api_keys)
        self.audit.setServiceParent(self)
        self.metrics = Metrics(config.metrics, self.bus, self)
        self.metrics.setServiceParent(self)
        self.runtime.chain.timed = self.metrics.inspected if config.metrics.enabled else None
        self.alerts = Alerts(config, self.bus, reactor, clock)
        self.alerts.setServiceParent(self)
        self.metrics.addSource(self._alertCounts)
        self.metrics.addSource(self.cache.metricsSource)
        self.cache.setServiceParent(self)
        self.recorder = Recorder(self.bus, clock, config.audit.recent_events)
        self.recorder.setServiceParent(self)
        self.accessLog = AccessLogPart(self.bus, accessLog)
        self.accessLog.setServiceParent(self)
        PoolPart(self.pool).setServiceParent(self)
        if tuneGC:
            HeapTrimmer(clock).setServiceParent(self)
        self._tls: Optional[_TLSContext] = _TLSContext(serverTLS(config)) if config.tls.server.certificate else None
        self.listeners = MultiService()
        self.listeners.setName("listeners")
        self.listeners.setServiceParent(self)
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
        svc.setServiceParent(self.listeners)
        self.ports.append(svc)

    def startService(self) -> None:
        super().startService()
        if self.tuneGC:
            gc.set_threshold(*GC_THRESHOLDS)
            limitArenas()
            settleHeap()
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
        return [port for port in (compat.listeningPort(svc) for svc in self.ports) if port is not None]

    def _installSIGHUP(self) -> None:
        try:
            self._previousHandler = signal.signal(signal.SIGHUP, lambda *_: self.reactor.callFromThread(self.reload))
        except ValueError:
            self._previousHandler = None  # not the main thread (tests)

    @defer.inlineCallbacks
    def stopService(self) -> Any:
        """
        Stop accepting, let in-flight requests finish within
        C{limits.shutdown_grace}, then close open streams cleanly, then stop
        the other parts.
        """
        if self._previousHandler is not None:
            try:
                signal.signal(signal.SIGHUP, self._previousHandler)
            except ValueError:
                pass
        self.stopping = True
        Service.stopService(self)
        yield self.listeners.stopService()
        if self._busy():
            drained: defer.Deferred[None] = defer.Deferred()
            self._drainWaiters.append(drained)
            drained.addTimeout(self.runtime.config.limits.shutdown_grace, self.clock)
            try:
                yield drained
            except defer.TimeoutError:
                log.warn("shutdown grace period over with {n} requests in flight", n=self._busy())
        for relay in list(self.streams):
            relay.close()
        self.deadlines.stop()
        for sock in list(self.sockets):
            try:
                sock.close(1001)
            except Exception:
                pass
        yield defer.DeferredList([sock.whenClosed() for sock in list(self.sockets)])
        for part in reversed(list(self)):
            if part is not self.listeners and part.running:
                yield part.stopService()
        self.pins.flush()

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
        ignored; the running configuration stays in force.  Otherwise each
        part is reconfigured, then open streams and sockets are judged
        against the new keys and roles.
        """
        self.audit.reopen()  # logrotate's SIGHUP, whatever becomes of the reload
        ok = self._reload(path or self.configPath)
        self.metrics.reloaded(ok)
        return ok

    def _reload(self, path: str) -> bool:
        try:
            config = loadConfig(path)
            runtime = buildRuntime(
                config, self._generation + 1, self.reactor, self._ownAddresses, self.rateStore, self.clock,
                self.mcpState, self.cache, self.inspectionThreads,
            )
        except ConfigError as e:
            log.error("configuration reload rejected: {error}", error=str(e), config=path)
            self.rejectedReload = {"error": str(e), "file": path, "at": rfc3339(time.time())}
            self.bus.publish(ReloadEvent(self.clock.seconds(), path, False, self._generation, str(e)))
            return False
        except Exception as e:
            log.error("configuration reload rejected: {error}", error=repr(e), config=path)
            self.rejectedReload = {"error": repr(e), "file": path, "at": rfc3339(time.time())}
            self.bus.publish(ReloadEvent(self.clock.seconds(), path, False, self._generation, repr(e)))
            return False
        self.rejectedReload = None
        old = self.runtime
        self._generation += 1
        # the WebSocket factories of the old limits: open sockets keep
        # theirs; new ones get factories of the new limits (kept, each
        # reload would add its own)
        self.wsFactories.clear()
        runtime.chain.timed = self.metrics.inspected if config.metrics.enabled else None
        self.runtime = runtime
        if config.listen != old.config.listen:
            log.warn("listen changed in {config}: restart to apply", config=path)
        # the forwarding bounds are read per request; the rest at start
        if attrs.evolve(config.redis, max_forward_body=0, max_forwards=0) != attrs.evolve(
            old.config.redis, max_forward_body=0, max_forwards=0
        ):
            log.warn("redis changed in {config}: restart to apply", config=path)
        if config.mcp.state_dir != old.config.mcp.state_dir:
            log.warn("mcp.state_dir changed in {config}: restart to apply", config=path)
        self.pins.flush()
        self.pins.load()  # what an operator changed in the file (akto-proxy-pins)
        self.breakers.reconfigure(config.upstreams.breaker)
        for part in self:
            reconfigure = getattr(part, "reconfigure", None)
            if reconfigure is None:
                continue
            try:
                reconfigure(config)
            except Exception:
                log.failure("reconfiguring {part} failed", part=part.name)
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
        self.bus.publish(ReloadEvent(self.clock.seconds(), path, True, runtime.generation))
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

    # -- streams and sessions

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
        from akto_proxy.web.ws import WebSocketRelay

        await WebSocketRelay(self, exchange).run()

    # -- what happened

    def _countExchange(self, event: ExchangeEvent) -> None:
        fields = event.fields
        self.counters["requests"] += 1
        if fields.get("blocked"):
            self.counters["blocked"] += 1
        status = fields.get("status")
        if isinstance(status, int) and status >= 500:
            self.counters["errors"] += 1

    def _countMessage(self, event: MessageEvent) -> None:
        if event.outcome == "rate_limited":
            self.counters["rate_limited"] += 1

    def recentEvents(self, last: Optional[int] = None) -> list[dict[str, Any]]:
        """
        The kept exchange records, oldest first (the C{last} ones when
        given).
        """
        return self.audit.recentEvents(last)

    def _alertCounts(self) -> Any:
        """
        Alert deliveries for the metrics, per channel.
        """
        for channel, counts in self.alerts.stats().items():
            for what in ("sent", "failed", "dropped"):
                yield (f"alert_notifications_{what}_total", f"Alert notifications {what} (failed: each attempt), per channel.", {"channel": channel}, counts[what])

    def upstreamOK(self, target: Optional[Target]) -> None:
        if target is None:
            return
        state = self.upstreamState.setdefault(target.authority, {"ok": 0, "failed": 0})
        state["ok"] += 1
        state["last_ok"] = self.clock.seconds()

    def upstreamFailed(self, target: Optional[Target], kind: Optional[str] = None) -> None:
        """
        @param kind: what failed, in one word (L{akto_proxy.relay.wire.
            failureKind}: C{timeout}, C{refused}, C{tls}...).
        """
        if target is None:
            return
        state = self.upstreamState.setdefault(target.authority, {"ok": 0, "failed": 0})
        state["failed"] += 1
        state["last_failure"] = self.clock.seconds()
        self.bus.publish(UpstreamFailureEvent(state["last_failure"], target.origin, kind))

    def health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "version": __version__,
            "uptime_s": round(self.clock.seconds() - self.startedAt, 3),
            "config_generation": self.runtime.generation,
            "config": {
                "file": self.configPath,
                "generation": self.runtime.generation,
                # False after a rejected reload: the file on disk says
                # something else than what is in force
                "file_in_force": self.rejectedReload is None,
                "rejected_reload": self.rejectedReload,
            },
            "open_streams": len(self.streams),
            "pool": {
                "idle_connections": compat.idleConnections(self.pool),
                "upstreams": self.upstreamState,
            },
            # the circuit of each upstream in a fallback chain, by origin
            "circuits": self.breakers.health(self.runtime.fallbacks.origins()),
            "counters": dict(self.counters),
            "sessions": len(self.sessionTable),
            "redis": self._redisHealth(),
            "cache": self.cache.stats(),
        }

    def _redisHealth(self) -> Optional[dict[str, Any]]:
        if self.redis is None:
            return None
        out = self.redis.health()
        if self.router is not None:
            out["legacy_routing"] = self.router.health()
        return out

    def adminResources(self) -> dict[bytes, Resource]:
        """
        The proxy's own endpoints beside C{/health}: C{/api}, C{/metrics}.
        """
        from akto_proxy.web.admin import Api
        from akto_proxy.web.metrics import MetricsResource

        return {b"api": Api(self), b"metrics": MetricsResource(self)}


__all__ = ["EAGER_BELOW", "GC_THRESHOLDS", "HeapTrimmer", "ProxyService", "limitArenas", "residentBytes", "settleHeap", "trimHeap"]
