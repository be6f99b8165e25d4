"""
Session bindings: an MCP session (C{Mcp-Session-Id}), a legacy-SSE session id
or a WebSocket connection belongs to the API key (and upstream) that opened
it, and expires after an idle time.

L{SessionTable} is the in-process table: synchronous, reactor-clock driven,
bounded (least-recently-used eviction), with lazy expiry on lookup and a
periodic sweep.  L{LocalSessions} and L{RedisSessions} give the same
asynchronous interface (L{ISessionStore}) over it and over Redis, for
several proxy instances.

Callers namespace ids that come from different transports, e.g.
C{"mcp:" + sessionId}, C{"sse:" + sessionId}, C{"ws:" + connectionId}.
Every status other than C{"ok"} should be answered 404 (SPEC section 5), so
that the client re-initializes; the distinction is for logs and metrics.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Literal, Optional, Protocol

import attrs
from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.python.failure import Failure

from akto_proxy.access.redisstate import RedisState, RedisUnavailable, Script

log = Logger()

Status = Literal["ok", "foreign", "expired", "unknown"]


class ForeignSession(Exception):
    """
    A session presented with a key other than the one that opened it.
    """


@attrs.define
class _Binding:
    keyName: str
    upstream: str
    lastSeen: float
    #: the fallback upstream that issued the session (None: the upstream
    #: the client named)
    route: Optional[str] = None


@attrs.define
class SessionStats:
    bound: int = 0
    expired: int = 0
    evicted: int = 0
    forgotten: int = 0
    foreign: int = 0


class SessionTable:
    """
    @param clock: the reactor's clock (C{seconds()}, C{callLater}).
    @param timeout: idle seconds after which a session expires; a session
        last seen at C{t} is expired from C{t + timeout} on (exactly).
    @param maxSessions: bound on the entries held; when full, binding a new
        session evicts the least recently used one (counted in
        C{stats.evicted}).
    @param sweepInterval: seconds between sweeps once L{start}ed (default:
        C{min(timeout, 60)}).
    """

    def __init__(
        self,
        clock: IReactorTime,
        timeout: float,
        maxSessions: int = 100_000,
        sweepInterval: Optional[float] = None,
    ):
        if maxSessions < 1:
            raise ValueError("maxSessions must be at least 1")
        self.clock = clock
        self.timeout = timeout
        self.maxSessions = maxSessions
        self.sweepInterval = sweepInterval if sweepInterval is not None else max(1.0, min(timeout, 60.0))
        # Ordered by last use, oldest first: lastSeen is monotonic along it.
        self._entries: OrderedDict[str, _Binding] = OrderedDict()
        self._sweeper: Optional[LoopingCall] = None
        self.stats = SessionStats()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, sessionId: str) -> bool:
        return sessionId in self._entries

    # -- lifecycle

    def start(self) -> None:
        """
        Start the periodic sweep (a LoopingCall on the injected clock).
        """
        if self._sweeper is None:
            self._sweeper = LoopingCall(self.sweep)
            self._sweeper.clock = self.clock
            self._sweeper.start(self.sweepInterval, now=False)

    def stop(self) -> None:
        if self._sweeper is not None:
            if self._sweeper.running:
                self._sweeper.stop()
            self._sweeper = None

    def setTimeout(self, timeout: float) -> None:
        """
        Apply a reloaded C{session_timeout} (affects every session).
        """
        self.timeout = timeout

    # -- operations

    def _expired(self, b: _Binding, now: float) -> bool:
        # whole microseconds, so that a clock advanced by float steps
        # expires exactly at the timeout
        return round(now * 1e6) - round(b.lastSeen * 1e6) >= round(self.timeout * 1e6)

    def bind(self, sessionId: str, keyName: str, upstream: str, route: Optional[str] = None) -> bool:
        """
        Record that C{keyName} opened C{sessionId} on C{upstream} (on the
        initialize response carrying C{Mcp-Session-Id}, the legacy-SSE
        C{endpoint} event, or a WebSocket upgrade), served by the fallback
        C{route} when one answered instead.  Returns False, leaving
        the table unchanged, if the id is already bound, live, to another key
        or upstream: the first binding stands.
        """
        now = self.clock.seconds()
        b = self._entries.get(sessionId)
        if b is not None:
            if not self._expired(b, now) and (b.keyName, b.upstream) != (keyName, upstream):
                self.stats.foreign += 1
                return False
            del self._entries[sessionId]
        while len(self._entries) >= self.maxSessions:
            _, oldest = self._entries.popitem(last=False)
            if self._expired(oldest, now):
                self.stats.expired += 1
            else:
                self.stats.evicted += 1
        self._entries[sessionId] = _Binding(keyName, upstream, now, route)
        self.stats.bound += 1
        return True

    def check(self, sessionId: str, keyName: str, upstream: str) -> Status:
        """
        May C{keyName} use C{sessionId} on C{upstream}?  C{"ok"} touches the
        session (its idle time restarts); C{"expired"} forgets it;
        C{"foreign"} (bound to another key or upstream) leaves it untouched.
        """
        b = self._entries.get(sessionId)
        if b is None:
            return "unknown"
        now = self.clock.seconds()
        if self._expired(b, now):
            del self._entries[sessionId]
            self.stats.expired += 1
            return "expired"
        if b.keyName != keyName or b.upstream != upstream:
            self.stats.foreign += 1
            return "foreign"
        b.lastSeen = now
        self._entries.move_to_end(sessionId)
        return "ok"

    def owner(self, sessionId: str) -> Optional[tuple[str, str]]:
        """
        (keyName, upstream) of a live session, without touching it.
        """
        b = self._entries.get(sessionId)
        if b is None or self._expired(b, self.clock.seconds()):
            return None
        return (b.keyName, b.upstream)

    def route(self, sessionId: str) -> Optional[str]:
        """
        The fallback upstream that serves a live session, or None.
        """
        b = self._entries.get(sessionId)
        if b is None or self._expired(b, self.clock.seconds()):
            return None
        return b.route

    def forget(self, sessionId: str) -> bool:
        """
        Drop a session (HTTP DELETE, WebSocket closed).  True if it was held.
        """
        if self._entries.pop(sessionId, None) is not None:
            self.stats.forgotten += 1
            return True
        return False

    def forgetKey(self, keyName: str) -> list[str]:
        """
        Drop every session of a key (removed on reload); returns their ids.
        """
        gone = [sid for sid, b in self._entries.items() if b.keyName == keyName]
        for sid in gone:
            del self._entries[sid]
        self.stats.forgotten += len(gone)
        return gone

    def sweep(self) -> int:
        """
        Drop expired sessions; returns how many.  Cost is proportional to
        the number dropped (the table is ordered by last use).
        """
        now = self.clock.seconds()
        n = 0
        while self._entries:
            sid, b = next(iter(self._entries.items()))
            if not self._expired(b, now):
                break
            del self._entries[sid]
            n += 1
        self.stats.expired += n
        return n


class ISessionStore(Protocol):
    """
    The asynchronous interface the relay uses; L{LocalSessions} (one
    process) or L{RedisSessions} (several instances).
    """

    def bind(self, sessionId: str, keyName: str, upstream: str, route: Optional[str] = None) -> "Deferred[bool]": ...

    def check(self, sessionId: str, keyName: str, upstream: str) -> "Deferred[Status]": ...

    def route(self, sessionId: str) -> "Deferred[Optional[str]]": ...

    def forget(self, sessionId: str) -> "Deferred[None]": ...


class LocalSessions:
    def __init__(self, table: SessionTable):
        self.table = table

    def bind(self, sessionId: str, keyName: str, upstream: str, route: Optional[str] = None) -> "Deferred[bool]":
        return succeed(self.table.bind(sessionId, keyName, upstream, route))

    def route(self, sessionId: str) -> "Deferred[Optional[str]]":
        return succeed(self.table.route(sessionId))

    def check(self, sessionId: str, keyName: str, upstream: str) -> "Deferred[Status]":
        return succeed(self.table.check(sessionId, keyName, upstream))

    def forget(self, sessionId: str) -> "Deferred[None]":
        self.table.forget(sessionId)
        return succeed(None)


# KEYS[1] = session hash.  ARGV = now_us, timeout_us, key, upstream, ttl_ms,
# route ('' for none).  Returns 1 bound, 0 refused (bound live to another
# key/upstream).
_BIND = Script.of(
    """
local h = KEYS[1]
local now = tonumber(ARGV[1])
local timeout = tonumber(ARGV[2])
local cur = redis.call('HMGET', h, 'k', 'u', 't')
if cur[1] and (now - tonumber(cur[3])) < timeout and (cur[1] ~= ARGV[3] or cur[2] ~= ARGV[4]) then
  return 0
end
redis.call('HSET', h, 'k', ARGV[3], 'u', ARGV[4], 't', ARGV[1])
if ARGV[6] and ARGV[6] ~= '' then redis.call('HSET', h, 'r', ARGV[6]) else redis.call('HDEL', h, 'r') end
redis.call('PEXPIRE', h, ARGV[5])
return 1
"""
)

# Returns 'ok' | 'foreign' | 'expired' | 'unknown'.
_CHECK = Script.of(
    """
local h = KEYS[1]
local now = tonumber(ARGV[1])
local timeout = tonumber(ARGV[2])
local cur = redis.call('HMGET', h, 'k', 'u', 't')
if not cur[1] then return 'unknown' end
if (now - tonumber(cur[3])) >= timeout then
  redis.call('DEL', h)
  return 'expired'
end
if cur[1] ~= ARGV[3] or cur[2] ~= ARGV[4] then return 'foreign' end
redis.call('HSET', h, 't', ARGV[1])
redis.call('PEXPIRE', h, ARGV[5])
return 'ok'
"""
)


class RedisSessions:
    """
    Session bindings shared through Redis (hash C{<prefix>sess:<id>} with
    key, upstream, last seen; kept for twice the timeout so that "expired"
    can be told from "unknown"; Redis bounds memory by TTL and maxmemory).

    A local L{SessionTable} mirrors what this process bound and saw.  When
    Redis is unreachable the local answer is used; an id this process does
    not know is then C{"ok"} with C{onError="open"} (another instance may
    have bound it) and C{"unknown"} with C{"closed"}.
    """

    def __init__(self, state: RedisState, local: SessionTable, onError: Optional[str] = None):
        self.state = state
        self.local = local
        self.onError = onError or state.config.onErrorFor("sessions")

    def _args(self, keyName: str, upstream: str) -> list[object]:
        timeout = self.local.timeout
        return [
            int(round(self.local.clock.seconds() * 1e6)),
            int(round(timeout * 1e6)),
            keyName,
            upstream,
            max(1, int(timeout * 2000)),
        ]

    def bind(self, sessionId: str, keyName: str, upstream: str, route: Optional[str] = None) -> "Deferred[bool]":
        localOk = self.local.bind(sessionId, keyName, upstream, route)
        d = self.state.eval(_BIND, [self.state.key("sess", sessionId)], self._args(keyName, upstream) + [route or ""])

        def done(r: object) -> bool:
            ok = bool(int(r))  # type: ignore[call-overload]
            if not ok:
                self.local.forget(sessionId)
            return ok

        def failed(f: Failure) -> bool:
            if not isinstance(f.value, RedisUnavailable):
                return f  # type: ignore[return-value]
            return localOk

        d.addCallbacks(done, failed)
        return d

    def check(self, sessionId: str, keyName: str, upstream: str) -> "Deferred[Status]":
        d = self.state.eval(_CHECK, [self.state.key("sess", sessionId)], self._args(keyName, upstream))

        def done(r: object) -> Status:
            status: Status = r.decode() if isinstance(r, bytes) else r  # type: ignore[assignment]
            if status == "ok":
                if self.local.owner(sessionId) is None:
                    self.local.bind(sessionId, keyName, upstream)
                else:
                    self.local.check(sessionId, keyName, upstream)
            elif status in ("expired", "unknown"):
                self.local.forget(sessionId)
            return status

        def failed(f: Failure) -> Status:
            if not isinstance(f.value, RedisUnavailable):
                return f  # type: ignore[return-value]
            status = self.local.check(sessionId, keyName, upstream)
            if status == "unknown" and self.onError == "open":
                return "ok"
            return status

        d.addCallbacks(done, failed)
        return d

    def route(self, sessionId: str) -> "Deferred[Optional[str]]":
        """
        The session's fallback route as Redis has it (another instance may
        have bound it); this process's when Redis is unreachable.
        """
        d = self.state.call(lambda r: r.hget(self.state.key("sess", sessionId), "r"))

        def done(r: object) -> Optional[str]:
            if isinstance(r, bytes):
                return r.decode("utf-8")
            return r if isinstance(r, str) and r else None

        def failed(f: Failure) -> Optional[str]:
            if not isinstance(f.value, RedisUnavailable):
                return f  # type: ignore[return-value]
            return self.local.route(sessionId)

        d.addCallbacks(done, failed)
        return d

    def forget(self, sessionId: str) -> "Deferred[None]":
        self.local.forget(sessionId)
        d = self.state.call(lambda r: r.delete(self.state.key("sess", sessionId)))

        def failed(f: Failure) -> None:
            if not isinstance(f.value, RedisUnavailable):
                return f  # type: ignore[return-value]

        d.addCallbacks(lambda _: None, failed)
        return d
