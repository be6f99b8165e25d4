"""
Rate limits (guardrails of type C{rate_limit}, SPEC section 3).

Window: C{requests_per_minute: N} allows at most N requests in any rolling
60 s window.  Exact sliding log: each accepted request is kept with its time
(microseconds); a request at C{t} is accepted when the accepted requests in
C{(t - 60 s, t]} plus its cost are at most N, so a request accepted at C{t0}
stops counting at exactly C{t0 + 60 s}.  Refused requests are not counted.
Memory per scope key is at most N entries (same-instant entries coalesce).

Burst (C{burst: B}, 0 = off): a smoothing limit on top of the window, never
a relaxation of it.  With B > 0 a token bucket of capacity B refilled at
N per 60 s (GCRA) also applies: at most B requests at once, then one per
60/N s.  So C{requests_per_minute: 60, burst: 10} accepts 10 at once and then
about one a second; C{burst: 0} lets the whole N arrive at once.

Retry-After: whole seconds, rounded up, until the same request would be
accepted if nothing else is (at least 1 on a refusal).  A cost larger than N
(or than B) can never be accepted: its retry_after is the window (60).

Atomicity: a message is checked against every applicable rule at once, and
counted in all or none (a request refused by one rule consumes nothing in
the others), in-process and in Redis (one Lua script).

Scopes: per rule, C{per_client: true} counts per API key; otherwise all
clients of the guardrail together.  Proposed extra keys of a rule (read with
defaults until the configuration model has them):

    per: [client, ip, upstream, tool]   # any combination; per_client: true adds client
    tools: ["delete_*"]                 # count only tools/call of these tools

A rule with C{tool} in C{per} or with C{tools} counts only C{tools/call}
entries (per tool name when C{tool} is in C{per}).
"""

from __future__ import annotations

import fnmatch
import math
import os
from collections import OrderedDict, deque
from typing import Any, Optional, Protocol, Sequence
from urllib.parse import quote

import attrs
from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from akto_proxy.access.redisstate import RedisState, RedisUnavailable, Script
from akto_proxy.config.model import Guardrail, RateRule
from akto_proxy.relay.fence import hostMatches

log = Logger()

US = 1_000_000
SCOPES = ("client", "ip", "upstream", "tool")


def _us(seconds: float) -> int:
    return int(round(seconds * US))


def _ceilSeconds(us: float) -> int:
    return max(1, math.ceil(us / US - 1e-9))


@attrs.frozen
class Rate:
    """
    @ivar limit: requests per window (N).
    @ivar window: seconds (60 for requests_per_minute).
    @ivar burst: 0 (off) or the token-bucket capacity B.
    """

    limit: int
    window: float = 60.0
    burst: int = 0

    def __attrs_post_init__(self) -> None:
        if self.limit < 1 or self.window <= 0 or self.burst < 0:
            raise ValueError(f"invalid rate {self!r}")


@attrs.frozen
class Result:
    """
    @ivar allowed: accepted (and counted).
    @ivar retry_after: 0 when allowed; else whole seconds (>= 1).
    @ivar remaining: requests still acceptable now in this scope.
    @ivar limit: N (for X-RateLimit-Limit style headers).
    @ivar degraded: decided by C{redis.on_error}, Redis being unreachable.
    """

    allowed: bool
    retry_after: int
    remaining: int
    limit: int = 0
    degraded: bool = False


@attrs.frozen
class Hit:
    key: str
    rate: Rate
    cost: int = 1


class IRateStore(Protocol):
    def hitMany(self, hits: Sequence[Hit], now: float) -> "Deferred[list[Result]]":
        """
        Check every hit at C{now} (seconds); if all are acceptable count
        them all, else count none.  One Result per hit, in order (the
        C{allowed} of each says whether it alone was acceptable, so when one
        is refused the others may read allowed=True yet were not counted).
        """


def _distinct(hits: Sequence[Hit]) -> None:
    if len({h.key for h in hits}) != len(hits):
        raise ValueError("the keys of one hitMany must be distinct")


# -- in-process


@attrs.define
class _Log:
    entries: deque[list[int]] = attrs.field(factory=deque)  # [t_us, count]
    total: int = 0
    tat: float = 0.0  # GCRA theoretical arrival time, us

    def prune(self, cutoff: int) -> None:
        e = self.entries
        while e and e[0][0] <= cutoff:
            self.total -= e.popleft()[1]

    def idle(self, now: int, window: int) -> bool:
        return (not self.entries or self.entries[-1][0] <= now - window) and self.tat <= now


def _judge(log_: _Log, rate: Rate, cost: int, now: int) -> tuple[Result, float]:
    """
    (Result, new tat) for C{cost} more at C{now} (us), without recording.
    """
    window = _us(rate.window)
    log_.prune(now - window)
    allowed = True
    retry = 0.0
    remaining = rate.limit - log_.total
    if log_.total + cost > rate.limit:
        allowed = False
        if cost > rate.limit:
            retry = window
        else:
            need = log_.total + cost - rate.limit
            acc = 0
            for t, c in log_.entries:
                acc += c
                if acc >= need:
                    retry = t + window - now
                    break
    else:
        remaining -= cost
    newTat = log_.tat
    if rate.burst:
        interval = window / rate.limit
        newTat = math.ceil(max(log_.tat, now) + cost * interval)  # whole us, as in Redis
        overshoot = newTat - now - rate.burst * interval
        if overshoot > 1e-6:
            allowed = False
            retry = max(retry, window if cost > rate.burst else overshoot)
        tokens = int((rate.burst * interval - (max(log_.tat, now) - now)) // interval)
        remaining = min(remaining, max(0, tokens - (cost if allowed else 0)))
    remaining = max(0, remaining)
    if allowed:
        return Result(True, 0, remaining, rate.limit), newTat
    return Result(False, _ceilSeconds(retry), remaining, rate.limit), log_.tat


@attrs.define
class StoreStats:
    keys: int = 0
    evicted: int = 0


class MemoryStore:
    """
    In-process sliding logs, one per scope key, at most C{maxKeys} keys:
    idle keys (nothing in their window) are dropped as new ones come, and
    when still full the least recently used key is evicted (counted in
    C{stats.evicted}; its history is lost, so keep C{maxKeys} above the
    number of scopes live within a minute).
    """

    def __init__(self, maxKeys: int = 100_000):
        self.maxKeys = maxKeys
        self._logs: OrderedDict[str, _Log] = OrderedDict()
        self.stats = StoreStats()

    def __len__(self) -> int:
        return len(self._logs)

    def hitMany(self, hits: Sequence[Hit], now: float) -> "Deferred[list[Result]]":
        return succeed(self.hitManyNow(hits, now))

    def hitManyNow(self, hits: Sequence[Hit], now: float) -> list[Result]:
        _distinct(hits)
        nowUs = _us(now)
        judged = []
        for h in hits:
            lg = self._logs.get(h.key)
            if lg is None:
                lg = _Log()
            judged.append((h, lg, *_judge(lg, h.rate, h.cost, nowUs)))
        if all(r.allowed for _, _, r, _ in judged):
            for h, lg, _, tat in judged:
                if h.cost > 0:
                    if lg.entries and lg.entries[-1][0] == nowUs:
                        lg.entries[-1][1] += h.cost
                    else:
                        lg.entries.append([nowUs, h.cost])
                    lg.total += h.cost
                lg.tat = tat
                self._store(h.key, lg, h.rate, nowUs)
        else:
            for h, lg, _, _ in judged:
                if h.key in self._logs:
                    self._logs.move_to_end(h.key)
        return [r for _, _, r, _ in judged]

    def _store(self, key: str, lg: _Log, rate: Rate, now: int) -> None:
        if key in self._logs:
            self._logs.move_to_end(key)
            return
        window = _us(rate.window)
        # drop idle keys from the cold end; amortized O(1)
        for _ in range(4):
            if not self._logs:
                break
            oldKey, old = next(iter(self._logs.items()))
            if not old.idle(now, window):
                break
            del self._logs[oldKey]
        while len(self._logs) >= self.maxKeys:
            _, old = self._logs.popitem(last=False)
            if not old.idle(now, window):
                self.stats.evicted += 1
        self._logs[key] = lg
        self.stats.keys = len(self._logs)

    def sweep(self, now: float, window: float = 60.0) -> int:
        """
        Drop every idle key (optional housekeeping; hits bound memory anyway).
        """
        n = _us(now)
        w = _us(window)
        idle = [k for k, lg in self._logs.items() if lg.idle(n, w)]
        for k in idle:
            del self._logs[k]
        return len(idle)


# -- Redis

# KEYS: per hit, the log (zset) and the GCRA key.
# ARGV: now_us, unique id, n, then per hit: limit, window_us, burst, cost.
# Returns per hit: allowed (1/0), retry_us, remaining; committed only if all.
_SCRIPT = Script.of(
    """
local now = tonumber(ARGV[1])
local uid = ARGV[2]
local n = tonumber(ARGV[3])
local out = {}
local all = 1
local newtats = {}
for i = 1, n do
  local b = 3 + (i - 1) * 4
  local limit = tonumber(ARGV[b + 1])
  local window = tonumber(ARGV[b + 2])
  local burst = tonumber(ARGV[b + 3])
  local cost = tonumber(ARGV[b + 4])
  local lk = KEYS[2 * i - 1]
  local tk = KEYS[2 * i]
  redis.call('ZREMRANGEBYSCORE', lk, '-inf', now - window)
  local count = redis.call('ZCARD', lk)
  local allowed = 1
  local retry = 0
  local remaining = limit - count
  if count + cost > limit then
    allowed = 0
    if cost > limit then
      retry = window
    else
      local idx = count + cost - limit - 1
      local e = redis.call('ZRANGE', lk, idx, idx, 'WITHSCORES')
      retry = tonumber(e[2]) + window - now
    end
  else
    remaining = remaining - cost
  end
  if burst > 0 then
    local interval = window / limit
    local tat = tonumber(redis.call('GET', tk) or '0')
    if tat < now then tat = now end
    local newtat = math.ceil(tat + cost * interval)
    local over = newtat - now - burst * interval
    if over > 1e-6 then
      allowed = 0
      if cost > burst then over = window end
      if over > retry then retry = over end
    end
    newtats[i] = newtat
    local tokens = math.floor((burst * interval - (tat - now)) / interval)
    if allowed == 1 then tokens = tokens - cost end
    if tokens < remaining then remaining = tokens end
  end
  if remaining < 0 then remaining = 0 end
  if allowed == 0 then all = 0 end
  out[3 * i - 2] = allowed
  out[3 * i - 1] = math.ceil(retry)
  out[3 * i] = remaining
end
if all == 1 then
  for i = 1, n do
    local b = 3 + (i - 1) * 4
    local window = tonumber(ARGV[b + 2])
    local cost = tonumber(ARGV[b + 4])
    local lk = KEYS[2 * i - 1]
    for j = 1, cost do
      redis.call('ZADD', lk, now, uid .. ':' .. i .. ':' .. j)
    end
    if cost > 0 then redis.call('PEXPIRE', lk, math.ceil(window / 1000) + 1) end
    if newtats[i] then
      redis.call('SET', KEYS[2 * i], string.format('%.0f', newtats[i]), 'PX', math.ceil((newtats[i] - now) / 1000) + 1)
    end
  end
end
return out
"""
)


class RedisStore:
    """
    Sliding logs in Redis sorted sets (C{<prefix>rl:<scope key>}, one member
    per counted request, scored by time in us; at most N members, expiring
    with the window) and GCRA values (C{<prefix>rlb:<scope key>}), checked
    and counted atomically by one Lua script: several proxy processes
    sharing Redis enforce one limit.  Times are the callers' clocks
    (NTP-synchronized hosts assumed).

    When Redis is unavailable, C{onError} (default: the config's
    C{on_error}) decides: C{"open"} accepts, C{"closed"} refuses with
    C{retry_after = closedRetryAfter}; both mark the Result degraded.
    """

    def __init__(self, state: RedisState, onError: Optional[str] = None, closedRetryAfter: int = 1):
        self.state = state
        self.onError = onError or state.config.onErrorFor("rate_limits")
        self.closedRetryAfter = closedRetryAfter
        self._uid = os.urandom(6).hex()
        self._seq = 0

    def hitMany(self, hits: Sequence[Hit], now: float) -> "Deferred[list[Result]]":
        if not hits:
            return succeed([])
        _distinct(hits)
        self._seq += 1
        keys: list[str] = []
        args: list[object] = [_us(now), f"{self._uid}:{self._seq}", len(hits)]
        for h in hits:
            keys.append(self.state.key("rl", h.key))
            keys.append(self.state.key("rlb", h.key))
            args.extend([h.rate.limit, _us(h.rate.window), h.rate.burst, h.cost])
        d = self.state.eval(_SCRIPT, keys, args)

        def done(reply: Any) -> list[Result]:
            out = []
            for i, h in enumerate(hits):
                allowed, retryUs, remaining = (int(x) for x in reply[3 * i: 3 * i + 3])
                out.append(
                    Result(bool(allowed), 0 if allowed else _ceilSeconds(retryUs), remaining, h.rate.limit)
                )
            return out

        def failed(f: Failure) -> list[Result]:
            if not isinstance(f.value, RedisUnavailable):
                return f  # type: ignore[return-value]
            if self.onError == "closed":
                return [Result(False, self.closedRetryAfter, 0, h.rate.limit, degraded=True) for h in hits]
            return [Result(True, 0, h.rate.limit, h.rate.limit, degraded=True) for h in hits]

        d.addCallbacks(done, failed)
        return d


# -- one limit


class Limiter:
    """
    One rate over any number of scope keys.
    """

    def __init__(self, rate: Rate, store: IRateStore, clock: IReactorTime, name: str = ""):
        self.rate = rate
        self.store = store
        self.clock = clock
        self.name = name

    def hit(self, scopeKey: str, cost: int = 1, now: Optional[float] = None) -> "Deferred[Result]":
        """
        Count C{cost} requests (a batch counts each entry) for C{scopeKey}
        at C{now} (default: the clock's time).
        """
        key = f"{self.name}|{scopeKey}" if self.name else scopeKey
        d = self.store.hitMany([Hit(key, self.rate, cost)], self.clock.seconds() if now is None else now)
        return d.addCallback(lambda rs: rs[0])


# -- guardrails


@attrs.frozen
class Subject:
    """
    Who sends a message and where to.  C{upstream} is the upstream host
    (lower-case, IPv6 without brackets) for the guardrails' C{upstreams}
    globs; C{upstreamId} (default: the host) names the upstream in
    per-upstream scopes (e.g. scheme://host:port/prefix).
    """

    keyName: Optional[str]
    ip: Optional[str]
    upstream: str
    upstreamId: Optional[str] = None


@attrs.frozen
class RateVerdict:
    """
    @ivar allowed: False only for an enforcing guardrail's refusal.
    @ivar retry_after: whole seconds for Retry-After (0 when allowed).
    @ivar guardrail: the refusing guardrail (the one with the longest wait).
    @ivar applied: names of rate-limit guardrails that counted the message
        (for C{guardrails_applied}).
    @ivar monitored: monitor-mode guardrails that would have refused.
    @ivar remaining, limit: of the tightest applied rule, or None.
    @ivar degraded: some answer came from C{redis.on_error}.
    """

    allowed: bool
    retry_after: int = 0
    guardrail: Optional[str] = None
    applied: tuple[str, ...] = ()
    monitored: tuple[str, ...] = ()
    remaining: Optional[int] = None
    limit: Optional[int] = None
    degraded: bool = False


def _ruleScopes(rule: RateRule) -> tuple[str, ...]:
    per = tuple(getattr(rule, "per", ()) or ())
    if rule.per_client and "client" not in per:
        per = ("client",) + per
    return tuple(s for s in SCOPES if s in per)


@attrs.frozen
class _Rule:
    guardrail: str
    index: int
    rate: Rate
    scopes: tuple[str, ...]
    tools: tuple[str, ...]
    upstreams: tuple[str, ...]
    monitor: bool

    @property
    def toolsOnly(self) -> bool:
        return "tool" in self.scopes or bool(self.tools)

    def hits(self, subject: Subject, calls: Sequence[Optional[str]]) -> list[Hit]:
        if not hostMatches(subject.upstream, self.upstreams):
            return []
        groups: dict[Optional[str], int] = {}
        for tool in calls:
            if self.toolsOnly:
                if tool is None or (self.tools and not _toolMatches(tool, self.tools)):
                    continue
                k = tool if "tool" in self.scopes else None
            else:
                k = None
            groups[k] = groups.get(k, 0) + 1
        out = []
        for tool, cost in groups.items():
            parts = [quote(self.guardrail, safe=""), str(self.index)]
            for s in self.scopes:
                value = {
                    "client": subject.keyName,
                    "ip": subject.ip,
                    "upstream": subject.upstreamId or subject.upstream,
                    "tool": tool,
                }[s]
                parts.append(f"{s}={quote(value or '', safe='')}")
            out.append(Hit("|".join(parts), self.rate, cost))
        return out


def _toolMatches(tool: str, globs: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(tool, g) for g in globs)


class RateLimits:
    """
    The C{rate_limit} guardrails of one configuration over a store (keep the
    store across reloads: counters are keyed by guardrail name and rule
    position).
    """

    def __init__(self, rules: Sequence[_Rule], store: IRateStore, clock: IReactorTime):
        self.rules = tuple(rules)
        self.store = store
        self.clock = clock

    @classmethod
    def fromConfig(
        cls,
        guardrails: Sequence[Guardrail],
        store: IRateStore,
        clock: IReactorTime,
        defaultMode: str = "enforce",
    ) -> "RateLimits":
        rules = []
        for g in guardrails:
            if g.type != "rate_limit":
                continue
            for i, r in enumerate(g.rate_rules):
                rules.append(
                    _Rule(
                        guardrail=g.name,
                        index=i,
                        rate=Rate(r.requests_per_minute, 60.0, r.burst),
                        scopes=_ruleScopes(r),
                        tools=tuple(getattr(r, "tools", ()) or ()),
                        upstreams=g.upstreams,
                        monitor=(g.mode or defaultMode) == "monitor",
                    )
                )
        return cls(rules, store, clock)

    def check(
        self,
        subject: Subject,
        calls: Sequence[Optional[str]] = (None,),
        now: Optional[float] = None,
    ) -> "Deferred[RateVerdict]":
        """
        Count one message.  C{calls}: one item per counted JSON-RPC request
        in it (a batch: each entry; notifications and responses: none),
        the tool name for a C{tools/call}, else None; a non-JSON-RPC HTTP
        request is C{(None,)}.
        """
        t = self.clock.seconds() if now is None else now
        enforce: list[tuple[_Rule, Hit]] = []
        monitor: list[tuple[_Rule, Hit]] = []
        applied: dict[str, None] = {}
        for rule in self.rules:
            for h in rule.hits(subject, calls):
                (monitor if rule.monitor else enforce).append((rule, h))
                applied[rule.guardrail] = None
        if not enforce and not monitor:
            return succeed(RateVerdict(True))
        d1 = self.store.hitMany([h for _, h in enforce], t) if enforce else succeed([])
        d2 = self.store.hitMany([h for _, h in monitor], t) if monitor else succeed([])

        def combine(r1: list[Result]) -> "Deferred[RateVerdict]":
            return d2.addCallback(lambda r2: self._verdict(enforce, r1, monitor, r2, tuple(applied)))

        return d1.addCallback(combine)

    @staticmethod
    def _verdict(
        enforce: list[tuple[_Rule, Hit]],
        r1: list[Result],
        monitor: list[tuple[_Rule, Hit]],
        r2: list[Result],
        applied: tuple[str, ...],
    ) -> RateVerdict:
        degraded = any(r.degraded for r in r1 + r2)
        monitored = tuple(dict.fromkeys(rule.guardrail for (rule, _), r in zip(monitor, r2) if not r.allowed))
        refused = [(rule, r) for (rule, _), r in zip(enforce, r1) if not r.allowed]
        if refused:
            rule, r = max(refused, key=lambda x: x[1].retry_after)
            return RateVerdict(
                False, r.retry_after, rule.guardrail, (), monitored, r.remaining, r.limit, degraded
            )
        tight = min(r1 + r2, key=lambda r: r.remaining) if (r1 or r2) else None
        return RateVerdict(
            True,
            0,
            None,
            applied,
            monitored,
            tight.remaining if tight else None,
            tight.limit if tight else None,
            degraded,
        )
