"""
The Redis connection shared by rate limits and session bindings (SPEC
section 8): lazy connect, reconnect with capped backoff, a health flag for
C{/health}, and one failure type (L{RedisUnavailable}) for callers to apply
the C{redis.on_error} policy to.

Never blocks the reactor: txredisapi over Twisted endpoints.  While Redis is
known to be down, commands fail at once (no queueing behind a dead
connection); the outage is logged once and the recovery once.
"""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence, TypeVar, Union
from urllib.parse import parse_qs, unquote, urlsplit

import attrs
from twisted.internet.defer import CancelledError, Deferred, TimeoutError as DeferredTimeout, fail, gatherResults, maybeDeferred, succeed
from twisted.internet.endpoints import HostnameEndpoint, UNIXClientEndpoint, wrapClientTLS
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from akto_proxy.config.model import REDIS_FEATURES, RedisConfig

if TYPE_CHECKING:
    from akto_proxy.access.redisconn import Factory, Subscription

log = Logger()

T = TypeVar("T")


@attrs.frozen
class Script:
    """
    A Lua script and its SHA-1, computed once: L{RedisState.eval} sends
    C{EVALSHA} with the digest, and the source only when Redis answers
    C{NOSCRIPT} (a restarted or flushed Redis, a failover).
    """

    source: bytes
    sha: bytes

    @classmethod
    def of(cls, source: str) -> "Script":
        raw = source.encode("utf-8")
        return cls(raw, hashlib.sha1(raw).hexdigest().encode("ascii"))


class RedisUnavailable(Exception):
    """
    Redis could not answer (not connected, connection lost, timed out, or
    an error reply).  Apply C{on_error}.
    """


@implementer(IStreamClientEndpoint)
class _ObservedEndpoint:
    """
    Reports failed connection attempts (ClientService retries silently).
    """

    def __init__(self, inner: IStreamClientEndpoint, onFailure: Callable[[Failure], None]):
        self._inner = inner
        self._onFailure = onFailure

    def connect(self, protocolFactory: Any) -> "Deferred[Any]":
        d = self._inner.connect(protocolFactory)

        def failed(f: Failure) -> Failure:
            if not isinstance(f.value, CancelledError):
                self._onFailure(f)
            return f

        d.addErrback(failed)
        return d


def parseURL(url: str) -> dict[str, Any]:
    """
    C{redis://[user:password@]host[:port][/db]}, C{rediss://...} (TLS) or
    C{unix:///path/to/socket[?db=N]}.
    """
    u = urlsplit(url)
    out: dict[str, Any] = {
        "scheme": u.scheme,
        "username": unquote(u.username) if u.username else None,
        "password": unquote(u.password) if u.password else None,
        "dbid": None,
    }
    if u.scheme == "unix":
        out["path"] = unquote(u.path)
        dbs = parse_qs(u.query).get("db")
        if dbs:
            out["dbid"] = int(dbs[0])
        return out
    if u.scheme not in ("redis", "rediss"):
        raise ValueError(f"unsupported Redis URL scheme {u.scheme!r}")
    out["host"] = u.hostname or "localhost"
    out["port"] = u.port or 6379
    db = u.path.strip("/")
    if db:
        out["dbid"] = int(db)
    return out


class RedisState:
    """
    @param config: the C{redis} section (C{url} must be set).
    @param reactor: provides IReactorTCP/UNIX and IReactorTime.
    @param connectTimeout: per connection attempt; also how long a command
        waits for the very first connection after L{start}.
    @param commandTimeout: per command; a timeout drops the connection (it
        is reestablished) and fails the command.
    @param initialRetryDelay, maxRetryDelay: reconnect backoff.
    """

    def __init__(
        self,
        config: RedisConfig,
        reactor: Any,
        connectTimeout: float = 2.0,
        commandTimeout: float = 1.0,
        initialRetryDelay: float = 0.5,
        maxRetryDelay: float = 5.0,
    ):
        if not config.url:
            raise ValueError("redis.url is not set")
        self.config = config
        self._reactor = reactor
        self._url = parseURL(config.url)
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.initialRetryDelay = initialRetryDelay
        self.maxRetryDelay = maxRetryDelay
        self._factory: Optional[Factory] = None
        # "idle" (not started), "connecting" (started, no verdict yet),
        # "up", "down"
        self.state = "idle"
        self._waiters: list[Deferred[Any]] = []
        self._outageLogged = False
        self.errors = 0
        self.lastError: Optional[str] = None
        self.since: Optional[float] = None
        self._seenErrors: set[str] = set()
        self._stateWaiters: list[tuple[Callable[[str], bool], Deferred[str]]] = []
        #: scripts sent whole because Redis did not know their digest
        self.scriptLoads = 0
        self._subscribers: list[Subscription] = []

    @property
    def onError(self) -> str:
        """
        The policies in force, for logs: C{open}, or C{closed} for every
        feature, or e.g. C{rate_limits=closed sessions=open ...}.
        """
        cfg = self.config
        if not cfg.on_error_by:
            return cfg.on_error
        return " ".join(f"{f}={cfg.onErrorFor(f)}" for f in REDIS_FEATURES)

    @property
    def healthy(self) -> bool:
        return self.state == "up"

    def key(self, *parts: str) -> str:
        """
        A Redis key under the configured prefix: C{key("rl", "x")} is
        C{"<prefix>rl:x"}.
        """
        return self.config.key_prefix + ":".join(parts)

    def health(self) -> dict[str, Any]:
        """
        For C{/health}: C{{"connected": bool, "state": ..., "since": epoch
        seconds of the last state change, "errors": count, "last_error": str}}.
        """
        return {
            "connected": self.healthy,
            "state": self.state,
            "since": self.since,
            "errors": self.errors,
            "last_error": self.lastError,
        }

    # -- lifecycle

    def _endpoint(self, observed: bool = True) -> IStreamClientEndpoint:
        u = self._url
        ep: IStreamClientEndpoint
        if u["scheme"] == "unix":
            ep = UNIXClientEndpoint(self._reactor, u["path"], timeout=self.connectTimeout)  # type: ignore[no-untyped-call]
        else:
            ep = HostnameEndpoint(self._reactor, u["host"], u["port"], timeout=self.connectTimeout)
            if u["scheme"] == "rediss":
                from twisted.internet.ssl import optionsForClientTLS

                ep = wrapClientTLS(optionsForClientTLS(u["host"]), ep)
        return _ObservedEndpoint(ep, lambda f: self._down(f.getErrorMessage())) if observed else ep

    def start(self) -> None:
        """
        Begin connecting (also done by the first command).  Returns at once.
        """
        if self._factory is not None:
            return
        self._setState("connecting")
        from akto_proxy.access.redisconn import Factory

        f = Factory(
            self,
            dbid=self._url["dbid"],
            password=self._url["password"],
            username=self._url["username"],
            replyTimeout=self.commandTimeout,
            convertNumbers=False,
        )
        f.initialDelay = self.initialRetryDelay
        f.maxDelay = self.maxRetryDelay
        self._factory = f
        f.startConnecting(self._endpoint())

    def stop(self) -> "Deferred[None]":
        """
        Close the connections and stop reconnecting.
        """
        f, self._factory = self._factory, None
        subscribers, self._subscribers = self._subscribers, []
        self._setState("idle")
        self._failWaiters("stopped")
        ds = [s.disconnect() for s in subscribers]
        if f is not None:
            ds.append(f.disconnect())
        return gatherResults(ds, consumeErrors=True).addCallback(lambda _: None)

    def subscribe(self, channel: str, onMessage: Callable[[bytes], None]) -> "Subscription":
        """
        Listen on C{channel} (a key from L{key}) on a connection of its own,
        kept open and subscribed again after each reconnection, until
        L{stop}: C{onMessage(bytes)} for each message published to it.

        @return: its C{subscribed} flag and C{whenSubscribed()}.
        """
        from akto_proxy.access.redisconn import Subscription

        u = self._url
        f = Subscription(
            channel,
            onMessage,
            dbid=None,
            password=u["password"],
            username=u["username"],
            replyTimeout=None,
            convertNumbers=False,
        )
        f.initialDelay = self.initialRetryDelay
        f.maxDelay = self.maxRetryDelay
        self._subscribers.append(f)
        f.startConnecting(self._endpoint(observed=False))
        return f

    # -- state

    def _setState(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.since = time.time()
            waiting, self._stateWaiters = self._stateWaiters, []
            for wanted, d in waiting:
                if wanted(state):
                    d.callback(state)
                else:
                    self._stateWaiters.append((wanted, d))

    def whenState(self, wanted: Callable[[str], bool]) -> "Deferred[str]":
        """
        Fires with the state (C{connecting}, C{up}, C{down}, C{idle}) as
        soon as it is one C{wanted} accepts: at once if it already is.
        """
        if wanted(self.state):
            return succeed(self.state)
        d: Deferred[str] = Deferred(lambda d: self._stateWaiters.remove(pair) if pair in self._stateWaiters else None)
        pair = (wanted, d)
        self._stateWaiters.append(pair)
        return d

    def _up(self) -> None:
        if self._factory is None:
            return
        if self._outageLogged:
            log.info("redis reconnected", redis=self._safeURL())
        self._outageLogged = False
        self._setState("up")
        waiters, self._waiters = self._waiters, []
        for d in waiters:
            d.callback(None)

    def _down(self, reason: str) -> None:
        if self._factory is None:
            return
        self.lastError = reason
        if not self._outageLogged:
            self._outageLogged = True
            log.warn(
                "redis unavailable, applying on_error={policy}: {reason}",
                policy=self.onError,
                reason=reason,
                redis=self._safeURL(),
            )
        if self._factory.size:
            return
        self._setState("down")
        self._failWaiters(reason)

    def _failWaiters(self, reason: str) -> None:
        waiters, self._waiters = self._waiters, []
        for d in waiters:
            d.errback(RedisUnavailable(reason))

    def _safeURL(self) -> str:
        u = self._url
        if u["scheme"] == "unix":
            return f"unix://{u['path']}"
        return f"{u['scheme']}://{u['host']}:{u['port']}"

    def _live(self) -> Any:
        if self._factory is None:
            return None
        for conn in self._factory.pool:
            if conn.connected:
                return conn
        return None

    def whenReady(self) -> "Deferred[None]":
        """
        Fires when connected; fails with L{RedisUnavailable} if the
        connection attempt fails or C{connectTimeout} passes.  A fresh
        Deferred per caller.
        """
        if self._factory is None:
            self.start()
        if self._live() is not None:
            return succeed(None)
        if self.state != "connecting":
            return fail(RedisUnavailable(self.lastError or "not connected"))
        d: Deferred[None] = Deferred(lambda d: self._waiters.remove(d) if d in self._waiters else None)
        self._waiters.append(d)
        d.addTimeout(self.connectTimeout, self._reactor)
        return d

    # -- commands

    def call(self, fn: Callable[[Any], "Deferred[T]"]) -> "Deferred[T]":
        """
        Run C{fn(protocol)} on a live connection (a C{txredisapi.RedisProtocol}:
        C{conn.get(...)}, C{conn.eval(...)}, ...).  Fails with
        L{RedisUnavailable} at once while Redis is down.
        """
        conn = self._live()
        d: Deferred[T]
        if conn is not None:
            d = maybeDeferred(fn, conn)
        else:
            ready = self.whenReady()

            def run(_: None) -> "Deferred[T]":
                c = self._live()
                if c is None:
                    raise RedisUnavailable(self.lastError or "not connected")
                return fn(c)

            d = ready.addCallback(run)
        d.addErrback(self._translate)
        return d

    def eval(self, script: Union[Script, str], keys: Sequence[str], args: Sequence[object]) -> "Deferred[Any]":
        """
        Run a Lua script: C{EVALSHA} with its cached digest, and C{EVAL}
        (which loads it) only when Redis answers C{NOSCRIPT}.
        """
        if not isinstance(script, Script):
            script = Script.of(script)
        sha, source = script.sha, script.source
        flat = [*keys, *(a if isinstance(a, (bytes, str)) else str(a) for a in args)]
        n = len(keys)

        def run(conn: Any) -> "Deferred[Any]":
            d: Deferred[Any] = conn.execute_command(b"EVALSHA", sha, n, *flat)

            def noScript(f: Failure) -> Any:
                import txredisapi

                if f.check(txredisapi.ResponseError) and str(f.value).startswith("NOSCRIPT"):
                    self.scriptLoads += 1
                    return conn.execute_command(b"EVAL", source, n, *flat)
                return f

            return d.addErrback(noScript)

        return self.call(run)

    def _translate(self, f: Failure) -> Failure:
        if isinstance(f.value, RedisUnavailable):
            self.errors += 1
            return f
        if isinstance(f.value, CancelledError):
            # the caller's cancel, not an outage (a waiter's timeout is a
            # DeferredTimeout)
            return f
        self.errors += 1
        msg = f.getErrorMessage() or f.type.__name__  # type: ignore[union-attr]
        self.lastError = msg
        import txredisapi

        if isinstance(f.value, (txredisapi.ConnectionError, DeferredTimeout)):
            if not self._outageLogged:
                self._outageLogged = True
                log.warn("redis unavailable, applying on_error={policy}: {reason}", policy=self.onError, reason=msg)
        elif msg not in self._seenErrors and len(self._seenErrors) < 100:
            self._seenErrors.add(msg)
            log.failure("redis command failed", failure=f)
        return Failure(RedisUnavailable(msg))  # type: ignore[no-untyped-call]
