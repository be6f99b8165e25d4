"""
What the operator's view shows (C{/api/stats}, C{/api/events},
C{/api/rules} and the dashboard): a subscriber of the event bus that keeps
bounded state in memory.

- Every exchange (L{ExchangeEvent}: one per HTTP request or WebSocket
  connection) is counted in time buckets (10 s buckets for the last hour,
  folded into 1 min buckets for the last day) with a latency histogram, and
  kept as a tuple in a ring of the latest C{audit.recent_events}.  The work
  per exchange is constant and small: a clock read, a few additions, one
  logarithm, one tuple; no JSON, no copy of the record.
- Every notable message (L{MessageEvent} with C{notableOnly}: refused,
  rewritten or with a finding; clean messages cost nothing) is kept in a
  ring of its own of the same size, counted in its bucket (by check, rule,
  tool, key, upstream) and per check and rule: how often it fired, on what,
  and what a rule in C{monitor} mode would have blocked.

Latency percentiles come from the histograms: bins 2^(1/8) apart from
0.1 ms, so a percentile is within 4.5% of the true value (and never above
the largest latency seen).
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from itertools import islice
from operator import itemgetter
from fnmatch import fnmatchcase
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

import attrs
from twisted.application.service import Service
from twisted.internet.interfaces import IReactorTime

from akto_proxy.config import Config
from akto_proxy.config.model import CHECKS
from akto_proxy.mcp.events import FORWARDED, REWRITTEN, EventBus, ExchangeEvent, MessageEvent, messageJSON

#: bucket sizes (seconds) and how many are kept: 10 s for an hour, 1 min for
#: a day (and the bucket under way: a window is whole buckets, at least as
#: long as asked)
FINE = 10
FINE_KEPT = 361
COARSE = 60
COARSE_KEPT = 1441

#: the windows of /api/stats
WINDOWS = {"1m": 60, "1h": 3600, "24h": 86400}

#: the latency histogram: bin 0 is below BASE_MS, bin i >= 1 covers
#: [BASE_MS * 2^((i-1)/STEPS), BASE_MS * 2^(i/STEPS))
BASE_MS = 0.1
STEPS = 8

#: distinct names kept per counter (tools, keys, upstreams, locations...):
#: the rest are counted under OTHER
TOP_KEPT = 64
OTHER = "(other)"
#: counted for a message that names no tool (a rate limit judges the whole
#: body, before its tool is known; a list names none), no key, no location
NO_TOOL = "(no tool)"
NO_KEY = "(no key)"
WHOLE = "(whole message)"
#: distinct (check, rule) pairs followed; the rest under (OTHER, OTHER)
RULES_KEPT = 1000
#: messages that monitor mode relayed but would have blocked, kept for the report
WOULD_BLOCK_KEPT = 200

#: message outcomes that are a refusal; C{outcome=refused} in a filter
REFUSED_OUTCOMES = frozenset(("blocked", "role_denied", "rate_limited", "inspection_error", "header_mismatch"))

_log2 = math.log2


def latencyBin(ms: float) -> int:
    if ms < BASE_MS:
        return 0
    return int(_log2(ms / BASE_MS) * STEPS) + 1


def binValue(i: int) -> float:
    """
    The geometric middle of bin C{i}.
    """
    if i <= 0:
        return BASE_MS / 2
    return BASE_MS * float(2.0 ** ((i - 0.5) / STEPS))


def percentiles(histogram: dict[int, int], maximum: float, qs: Sequence[float] = (0.5, 0.95, 0.99)) -> list[float]:
    """
    Nearest-rank percentiles of a latency histogram (bin to count), each
    at most C{maximum}.
    """
    n = sum(histogram.values())
    if not n:
        return [0.0 for _ in qs]
    ranks = [max(1, math.ceil(q * n)) for q in qs]
    out: list[float] = []
    seen = 0
    bins = sorted(histogram.items())
    j = 0
    for rank in ranks:
        while seen + bins[j][1] < rank:
            seen += bins[j][1]
            j += 1
        out.append(min(binValue(bins[j][0]), maximum))
    return out


def _bump(counter: dict[str, int], name: str, by: int = 1) -> None:
    """
    Count C{name} in a bounded counter: past L{TOP_KEPT} names, new ones
    are counted under L{OTHER}.
    """
    if name not in counter and len(counter) >= TOP_KEPT:
        name = OTHER
    counter[name] = counter.get(name, 0) + by


def _merge(into: dict[str, int], other: dict[str, int]) -> None:
    for name, n in other.items():
        _bump(into, name, n)


def top(counter: dict[str, int], n: int = 10) -> list[dict[str, Any]]:
    return [{"name": k, "count": v} for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


class Notable:
    """
    The notable messages of one bucket, counted.
    """

    __slots__ = ("messages", "refused", "redacted", "findings", "monitored", "wouldBlock", "checks", "rules", "tools", "keys", "upstreams", "outcomes", "reasons")

    def __init__(self) -> None:
        self.messages = 0
        self.refused = 0
        self.redacted = 0
        self.findings = 0
        self.monitored = 0
        self.wouldBlock = 0
        self.checks: dict[str, int] = {}
        self.rules: dict[str, int] = {}  # "check\0rule"
        self.tools: dict[str, int] = {}  # of refused messages
        self.keys: dict[str, int] = {}
        self.upstreams: dict[str, int] = {}
        self.outcomes: dict[str, int] = {}

    def merge(self, other: "Notable") -> None:
        self.messages += other.messages
        self.refused += other.refused
        self.redacted += other.redacted
        self.findings += other.findings
        self.monitored += other.monitored
        self.wouldBlock += other.wouldBlock
        for mine, theirs in (
            (self.checks, other.checks),
            (self.rules, other.rules),
            (self.tools, other.tools),
            (self.keys, other.keys),
            (self.upstreams, other.upstreams),
            (self.outcomes, other.outcomes),
        ):
            _merge(mine, theirs)


class Bucket:
    """
    The exchanges (and notable messages) of one time slot.
    """

    __slots__ = ("start", "end", "requests", "blocked", "errors", "rateLimited", "clientErrors", "bytes", "outcomes", "failures", "latency", "latencyMax", "latencySum", "added", "addedMax", "notable")

    def __init__(self, start: float, size: float):
        self.start = start
        self.end = start + size
        self.requests = 0
        self.blocked = 0
        self.errors = 0
        self.rateLimited = 0
        self.clientErrors = 0
        self.bytes = 0
        self.outcomes: dict[str, int] = {}
        self.failures: dict[str, int] = {}  # upstream failures by kind
        self.latency: dict[int, int] = {}
        self.latencyMax = 0.0
        self.latencySum = 0.0
        self.added: dict[int, int] = {}
        self.addedMax = 0.0
        self.notable: Optional[Notable] = None

    def merge(self, other: "Bucket") -> None:
        self.requests += other.requests
        self.blocked += other.blocked
        self.errors += other.errors
        self.rateLimited += other.rateLimited
        self.clientErrors += other.clientErrors
        self.bytes += other.bytes
        for mine, theirs in ((self.outcomes, other.outcomes), (self.failures, other.failures)):
            for name, n in theirs.items():
                mine[name] = mine.get(name, 0) + n
        for hist, bins in ((self.latency, other.latency), (self.added, other.added)):
            for i, k in bins.items():
                hist[i] = hist.get(i, 0) + k
        self.latencyMax = max(self.latencyMax, other.latencyMax)
        self.latencySum += other.latencySum
        self.addedMax = max(self.addedMax, other.addedMax)
        if other.notable is not None:
            if self.notable is None:
                self.notable = Notable()
            self.notable.merge(other.notable)


# the exchange record: plain tuples (cheap to build, and untracked by the
# collector when they hold no list): (seq, time, FIELDS picked from the
# record in one call, threats or None, guardrails or None, transport,
# upstream_ms, upstream_error, fallback); the last four are None in records
# that do not carry them (fallback: (upstream_used, fallback,
# upstream_attempts) of an exchange in a fallback chain)
FIELDS = ("request_id", "key", "client", "method", "rpc_method", "upstream", "status", "bytes", "latency_ms", "outcome", "blocked")
F_RID, F_KEY, F_CLIENT, F_METHOD, F_RPC, F_UPSTREAM, F_STATUS, F_BYTES, F_LATENCY, F_OUTCOME, F_BLOCKED = range(len(FIELDS))
X_SEQ, X_TIME, X_FIELDS, X_THREATS, X_GUARDRAILS, X_TRANSPORT, X_UPSTREAM_MS, X_UPSTREAM_ERROR, X_FALLBACK = range(9)
_pick = itemgetter(*FIELDS)


class MessageRecord:
    """
    A notable message as kept (not the event: that holds its exchange's
    context, and with it the conversation).
    """

    __slots__ = ("seq", "time", "requestId", "key", "client", "upstream", "transport", "phase", "direction", "method", "name", "action", "outcome", "reason", "findings", "guardrails", "latencyMs")

    def __init__(self, seq: int, event: MessageEvent):
        self.seq = seq
        self.time = event.time
        self.requestId = event.requestId
        self.key = event.keyName
        self.client = event.client
        self.upstream = event.upstream
        self.transport = event.transport
        self.phase = event.phase
        self.direction = event.direction
        self.method = event.method
        self.name = event.name
        self.action = event.action
        self.outcome = event.outcome
        self.reason = event.reason
        self.findings = tuple(event.findings)
        self.guardrails = tuple(event.guardrails)
        self.latencyMs = event.latencyMs

    @property
    def refused(self) -> bool:
        """
        Refused, or something in it withheld (a changed tool's definition
        taken out of a list is C{blocked} in a rewritten message).
        """
        return self.outcome in REFUSED_OUTCOMES

    @property
    def relayed(self) -> bool:
        return not self.refused and (self.action == FORWARDED or self.action == REWRITTEN)

    @property
    def wouldBlock(self) -> bool:
        """
        Relayed, but a rule in monitor mode would have blocked it.
        """
        return self.relayed and any(not f.enforced and f.action == "block" for f in self.findings)

    def asJSON(self) -> dict[str, Any]:
        return {"id": self.seq, "kind": "message", **messageJSON(self, self.key)}


def exchangeJSON(x: tuple[Any, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": x[X_SEQ], "kind": "exchange", "time": x[X_TIME]}
    out.update(zip(FIELDS, x[X_FIELDS]))
    out["blocked"] = bool(out["blocked"])
    out["transport"] = x[X_TRANSPORT]
    out["upstream_ms"] = x[X_UPSTREAM_MS]
    out["upstream_error"] = x[X_UPSTREAM_ERROR]
    if x[X_FALLBACK] is not None:
        out["upstream_used"], out["fallback"], out["upstream_attempts"] = x[X_FALLBACK]
    out["threats_detected"] = list(x[X_THREATS] or ())
    out["guardrails_applied"] = list(x[X_GUARDRAILS] or ())
    return out


class RuleStats:
    """
    One check's rule: how often it fired, on what, acted on or monitored.
    """

    __slots__ = ("check", "rule", "fired", "enforced", "monitored", "blocked", "redacted", "wouldBlock", "wouldRedact", "actions", "severities", "tools", "upstreams", "locations", "keys", "firstSeen", "lastSeen", "minutes", "latest")

    def __init__(self, check: str, rule: str, now: float):
        self.check = check
        self.rule = rule
        self.fired = 0
        self.enforced = 0
        self.monitored = 0
        self.blocked = 0
        self.redacted = 0
        self.wouldBlock = 0
        self.wouldRedact = 0
        self.actions: dict[str, int] = {}
        self.severities: dict[str, int] = {}
        self.tools: dict[str, int] = {}
        self.upstreams: dict[str, int] = {}
        self.locations: dict[str, int] = {}
        self.keys: dict[str, int] = {}
        self.firstSeen = now
        self.lastSeen = now
        self.minutes: deque[list[float]] = deque(maxlen=COARSE_KEPT)
        self.latest: deque[str] = deque(maxlen=5)

    def add(self, finding: Any, record: MessageRecord) -> None:
        self.fired += 1
        action = finding.action
        if finding.enforced:
            self.enforced += 1
            if action == "block" and record.refused:
                self.blocked += 1
            elif action == "redact" and record.action == REWRITTEN:
                self.redacted += 1
        else:
            self.monitored += 1
            if action == "block":
                self.wouldBlock += 1
            elif action == "redact":
                self.wouldRedact += 1
        _bump(self.actions, action)
        _bump(self.severities, finding.severity)
        _bump(self.tools, record.name or NO_TOOL)
        _bump(self.upstreams, record.upstream)
        _bump(self.locations, finding.location or WHOLE)
        _bump(self.keys, record.key or NO_KEY)
        now = record.time
        self.lastSeen = now
        minute = now - now % COARSE
        if self.minutes and self.minutes[-1][0] == minute:
            self.minutes[-1][1] += 1
        else:
            self.minutes.append([minute, 1])
        if not self.latest or self.latest[-1] != record.requestId:
            self.latest.append(record.requestId)

    def since(self, t: float) -> int:
        n = 0
        for minute, count in reversed(self.minutes):
            if minute + COARSE <= t:
                break
            n += int(count)
        return n

    def asJSON(self, now: float) -> dict[str, Any]:
        return {
            "check": self.check,
            "rule": self.rule,
            "fired": self.fired,
            "fired_1h": self.since(now - 3600),
            "fired_24h": self.since(now - 86400),
            "enforced": self.enforced,
            "monitored": self.monitored,
            "blocked": self.blocked,
            "redacted": self.redacted,
            "would_block": self.wouldBlock,
            "would_redact": self.wouldRedact,
            "actions": dict(self.actions),
            "severity": dict(self.severities),
            "first_seen": self.firstSeen,
            "last_seen": self.lastSeen,
            "top_tools": top(self.tools, 5),
            "top_upstreams": top(self.upstreams, 5),
            "top_locations": top(self.locations, 5),
            "top_keys": top(self.keys, 5),
            "latest_request_ids": list(reversed(self.latest)),
        }


@attrs.frozen
class Query:
    """
    A filter of C{/api/events}; None matches anything.
    """

    kind: Optional[str] = None  # "message" or "exchange"
    outcomes: Optional[frozenset[str]] = None
    check: Optional[str] = None
    rule: Optional[str] = None
    key: Optional[str] = None
    upstream: Optional[str] = None  # a glob with * or ?, else a substring
    tool: Optional[str] = None  # a glob (messages only: an exchange names no tool)
    requestId: Optional[str] = None
    since: Optional[float] = None
    until: Optional[float] = None


def _upstreamMatcher(pattern: str) -> Callable[[Optional[str]], bool]:
    if any(c in pattern for c in "*?["):
        return lambda u: u is not None and fnmatchcase(u, pattern)
    low = pattern.lower()
    return lambda u: u is not None and low in u.lower()


def _findingsMatch(findings: Iterable[Any], check: Optional[str], rule: Optional[str], get: Callable[[Any, str], Any]) -> bool:
    for f in findings:
        if (check is None or get(f, "check") == check) and (rule is None or get(f, "rule") == rule):
            return True
    return False


def _attr(f: Any, name: str) -> Any:
    return getattr(f, name)


def _item(f: Any, name: str) -> Any:
    return f.get(name)


class Recorder(Service):
    """
    The subscriber: see the module's docstring.

    @param capacity: exchanges kept, and notable messages kept
        (C{audit.recent_events}).
    """

    name = "recorder"

    def __init__(self, bus: EventBus, clock: IReactorTime, capacity: int = 10000):
        self.bus = bus
        self.clock = clock
        self._seconds = clock.seconds
        self.startedAt = clock.seconds()
        self._seq = 0
        self.exchanges: deque[tuple[Any, ...]] = deque(maxlen=max(1, capacity))
        self.messages: deque[MessageRecord] = deque(maxlen=max(1, capacity))
        self.wouldBlock: deque[MessageRecord] = deque(maxlen=WOULD_BLOCK_KEPT)
        self.wouldBlockTotal = 0
        self.fine: deque[Bucket] = deque(maxlen=FINE_KEPT)
        self.coarse: deque[Bucket] = deque(maxlen=COARSE_KEPT)
        start = self.startedAt - self.startedAt % FINE
        self._current = Bucket(start, FINE)
        self.fine.append(self._current)
        self.rules: dict[tuple[str, str], RuleStats] = {}
        self.guardrails: dict[str, list[int]] = {}  # name -> [applied, refused]
        self.total = Bucket(self.startedAt, 0.0)  # every bucket folded so far
        # what the API computes once for what no longer changes
        self._closedDay: Optional[tuple[tuple[float, float], Bucket]] = None
        self._points: dict[tuple[int, float], dict[str, Any]] = {}
        self._subscribed = False

    # -- service

    def startService(self) -> None:
        super().startService()
        self.subscribe()

    def stopService(self) -> None:
        super().stopService()
        self.unsubscribe()

    def subscribe(self) -> None:
        if not self._subscribed:
            self.bus.subscribe(ExchangeEvent, self.exchange)
            self.bus.subscribe(MessageEvent, self.message, notableOnly=True)
            self._subscribed = True

    def unsubscribe(self) -> None:
        if self._subscribed:
            self.bus.unsubscribe(ExchangeEvent, self.exchange)
            self.bus.unsubscribe(MessageEvent, self.message)
            self._subscribed = False

    def reconfigure(self, config: Config) -> None:
        self.resize(config.audit.recent_events)

    def resize(self, capacity: int) -> None:
        capacity = max(1, capacity)
        if capacity != self.exchanges.maxlen:
            self.exchanges = deque(self.exchanges, maxlen=capacity)
            self.messages = deque(self.messages, maxlen=capacity)

    # -- subscribers (the hot path: keep them cheap)

    def _bucket(self, now: float) -> Bucket:
        """
        The bucket for C{now}: the current one, or a new one when C{now}
        is past it (the finished one folded into its minute).
        """
        b = self._current
        if now < b.end:  # (before its start: the clock went back; count it here)
            return b
        self._fold(b)
        b = self._current = Bucket(now - now % FINE, FINE)
        self.fine.append(b)
        return b

    def _fold(self, b: Bucket) -> None:
        self.total.merge(b)
        minute = b.start - b.start % COARSE
        coarse = self.coarse
        if not coarse or coarse[-1].start != minute:
            coarse.append(Bucket(minute, COARSE))
        coarse[-1].merge(b)

    def exchange(self, event: ExchangeEvent) -> None:
        f = event.fields
        now = self._seconds()
        b = self._current
        if not (b.start <= now < b.end):
            b = self._bucket(now)
        v = _pick(f)
        b.requests += 1
        status = v[F_STATUS]
        if v[F_BLOCKED]:
            b.blocked += 1
        if status >= 400:
            if status >= 500:
                b.errors += 1
            elif status == 429:
                b.rateLimited += 1
            else:
                b.clientErrors += 1
        outcome = v[F_OUTCOME]
        outcomes = b.outcomes
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        b.bytes += v[F_BYTES]
        get = f.get
        transport = get("transport")
        up = get("upstream_ms")
        # latency of answers given whole: a WebSocket's record lasts its
        # connection, an SSE answer's its stream
        if status != 101 and transport != "sse" and transport != "ws":
            ms = v[F_LATENCY]
            i = int(_log2(ms / BASE_MS) * STEPS) + 1 if ms >= BASE_MS else 0
            lat = b.latency
            lat[i] = lat.get(i, 0) + 1
            b.latencySum += ms
            if ms > b.latencyMax:
                b.latencyMax = ms
            if up is not None:
                added = ms - up if ms > up else 0.0
                j = int(_log2(added / BASE_MS) * STEPS) + 1 if added >= BASE_MS else 0
                b.added[j] = b.added.get(j, 0) + 1
                if added > b.addedMax:
                    b.addedMax = added
        failure = get("upstream_error")
        if failure is not None:
            failures = b.failures
            failures[failure] = failures.get(failure, 0) + 1
        self._seq = seq = self._seq + 1
        attempts = get("upstream_attempts")
        via = None if attempts is None else (get("upstream_used"), get("fallback"), attempts)
        self.exchanges.append((seq, now, v, f["threats_detected"] or None, f["guardrails_applied"] or None, transport, up, failure, via))

    def message(self, event: MessageEvent) -> None:
        self._seq += 1
        record = MessageRecord(self._seq, event)
        self.messages.append(record)
        b = self._bucket(record.time)
        n = b.notable
        if n is None:
            n = b.notable = Notable()
        n.messages += 1
        _bump(n.outcomes, record.outcome)
        if record.refused:
            n.refused += 1
            _bump(n.tools, record.name or NO_TOOL)
            _bump(n.keys, record.key or NO_KEY)
            _bump(n.upstreams, record.upstream)
        elif record.action == REWRITTEN:
            n.redacted += 1
        for g in record.guardrails:
            counts = self.guardrails.get(g)
            if counts is None:
                if len(self.guardrails) >= TOP_KEPT:
                    g = OTHER
                counts = self.guardrails.setdefault(g, [0, 0])
            counts[0] += 1
            if record.refused:
                counts[1] += 1
        if not record.findings:
            return
        n.findings += len(record.findings)
        for finding in record.findings:
            _bump(n.checks, finding.check)
            _bump(n.rules, finding.check + "\0" + finding.rule)
            if not finding.enforced:
                n.monitored += 1
            key = (finding.check, finding.rule)
            stats = self.rules.get(key)
            if stats is None:
                if len(self.rules) >= RULES_KEPT:
                    key = (OTHER, OTHER)
                stats = self.rules.get(key)
                if stats is None:
                    stats = self.rules[key] = RuleStats(key[0], key[1], record.time)
            stats.add(finding, record)
        if record.wouldBlock:
            n.wouldBlock += 1
            self.wouldBlockTotal += 1
            self.wouldBlock.append(record)

    # -- /api/stats

    def _openMinute(self) -> float:
        """
        The minute the current bucket folds into: the minutes before it are
        closed (their buckets no longer change).
        """
        start = self._current.start
        return start - start % COARSE

    def _window(self, now: float, seconds: int) -> tuple[float, Bucket]:
        """
        The start of the window of C{seconds} ending at C{now} (whole
        buckets, the current one included) and its buckets merged.  The
        closed minutes of a day are merged once per minute, not per call.
        """
        total = Bucket(0.0, 0.0)
        if seconds < FINE_KEPT * FINE:
            start = now - now % FINE - seconds
            for b in reversed(self.fine):
                if b.start < start:
                    break
                total.merge(b)
        else:
            start = now - now % COARSE - seconds
            openMinute = self._openMinute()
            cached = self._closedDay
            if cached is None or cached[0] != (start, openMinute):
                closed = Bucket(0.0, 0.0)
                for b in reversed(self.coarse):
                    if b.start < start:
                        break
                    if b.start < openMinute:
                        closed.merge(b)
                cached = self._closedDay = ((start, openMinute), closed)
            total.merge(cached[1])
            if self.coarse and self.coarse[-1].start >= max(start, openMinute):
                total.merge(self.coarse[-1])  # the open minute
            if self._current.start >= start:
                total.merge(self._current)  # not folded yet
        total.start = start
        return start, total

    def window(self, name: str, now: Optional[float] = None) -> dict[str, Any]:
        if now is None:
            now = self._seconds()
        seconds = WINDOWS[name]
        start, b = self._window(now, seconds)
        span = max(1e-9, now - max(start, self.startedAt))
        n = b.notable or Notable()
        return {
            "window": name,
            "from": start,
            "to": now,
            "requests": b.requests,
            "blocked": b.blocked,
            "errors": b.errors,
            "rate_limited": b.rateLimited,
            "client_errors": b.clientErrors,
            "bytes": b.bytes,
            "requests_per_s": round(b.requests / span, 3),
            "error_rate": round(b.errors / b.requests, 4) if b.requests else 0.0,
            "block_rate": round(b.blocked / b.requests, 4) if b.requests else 0.0,
            "outcomes": dict(sorted(b.outcomes.items(), key=lambda kv: (-kv[1], kv[0]))),
            "upstream_failures": dict(sorted(b.failures.items(), key=lambda kv: (-kv[1], kv[0]))),
            "latency_ms": self._latency(b.latency, b.latencyMax, b.latencySum),
            "added_latency_ms": self._latency(b.added, b.addedMax, None) if b.added else None,
            "messages": {
                "notable": n.messages,
                "refused": n.refused,
                "redacted": n.redacted,
                "threats": n.findings,
                "monitored": n.monitored,
                "would_block": n.wouldBlock,
                "outcomes": dict(n.outcomes),
            },
            "threats_by_check": dict(sorted(n.checks.items(), key=lambda kv: (-kv[1], kv[0]))),
            "threats_by_rule": [
                {"check": k.split("\0", 1)[0], "rule": k.split("\0", 1)[-1], "count": v}
                for k, v in sorted(n.rules.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
            ],
            "refused_by": {"tools": top(n.tools), "keys": top(n.keys), "upstreams": top(n.upstreams)},
        }

    @staticmethod
    def _latency(hist: dict[int, int], maximum: float, total: Optional[float]) -> Optional[dict[str, float]]:
        count = sum(hist.values())
        if not count:
            return None
        p50, p95, p99 = percentiles(hist, maximum)
        out = {"count": count, "p50": round(p50, 3), "p95": round(p95, 3), "p99": round(p99, 3), "max": round(maximum, 3)}
        if total is not None:
            out["mean"] = round(total / count, 3)
        return out

    def series(self, name: str = "1h", now: Optional[float] = None) -> dict[str, Any]:
        """
        Per bucket over a window (C{10m} and C{1h}: 10 s buckets; C{24h}:
        1 min buckets), oldest first, empty buckets included.
        """
        if now is None:
            now = self._seconds()
        openMinute = self._openMinute()
        if name == "24h":
            size, count = COARSE, 1440
            kept: dict[float, Bucket] = {b.start: b for b in self.coarse}
            cur = self._current
            if cur.requests or cur.notable is not None:
                merged = Bucket(openMinute, COARSE)
                if openMinute in kept:
                    merged.merge(kept[openMinute])
                merged.merge(cur)
                kept[openMinute] = merged
        else:
            size, count = FINE, (60 if name == "10m" else 360)
            kept = {b.start: b for b in self.fine}
        cache = self._points
        if len(cache) > 2 * (FINE_KEPT + COARSE_KEPT):
            cache.clear()
        last = now - now % size
        points = []
        for k in range(count - 1, -1, -1):
            t = last - k * size
            b = kept.get(t)
            if b is None:
                points.append({"t": t, "requests": 0, "blocked": 0, "errors": 0, "rate_limited": 0, "threats": 0, "refused": 0, "p50": None, "p99": None})
                continue
            closed = b is not self._current and (size == FINE or t < openMinute)
            point = cache.get((size, t)) if closed else None
            if point is None:
                point = self._point(b, t)
                if closed:
                    cache[(size, t)] = point
            points.append(point)
        return {"window": name, "bucket_s": size, "points": points}

    @staticmethod
    def _point(b: Bucket, t: float) -> dict[str, Any]:
        p50, p99 = percentiles(b.latency, b.latencyMax, (0.5, 0.99)) if b.latency else (None, None)
        n = b.notable
        return {
            "t": t,
            "requests": b.requests,
            "blocked": b.blocked,
            "errors": b.errors,
            "rate_limited": b.rateLimited,
            "threats": n.findings if n else 0,
            "refused": n.refused if n else 0,
            "p50": round(p50, 3) if p50 is not None else None,
            "p99": round(p99, 3) if p99 is not None else None,
        }

    def stats(self, seriesName: Optional[str] = "1h") -> dict[str, Any]:
        now = self._seconds()
        total = Bucket(self.startedAt, 0.0)
        total.merge(self.total)
        total.merge(self._current)
        n = total.notable or Notable()
        answer: dict[str, Any] = {
            "now": now,
            "since": self.startedAt,
            "totals": {
                "requests": total.requests,
                "blocked": total.blocked,
                "errors": total.errors,
                "rate_limited": total.rateLimited,
                "client_errors": total.clientErrors,
                "bytes": total.bytes,
                "messages": n.messages,
                "refused": n.refused,
                "threats": n.findings,
                "would_block": n.wouldBlock,
            },
            "windows": {name: self.window(name, now) for name in WINDOWS},
        }
        if seriesName is not None:
            answer["series"] = self.series(seriesName, now)
        return answer

    # -- /api/events

    def events(self, query: Query, limit: int = 100, cursor: Optional[int] = None) -> tuple[list[dict[str, Any]], Optional[int]]:
        """
        The kept events matching C{query}, newest first, at most C{limit},
        with ids below C{cursor}; and the cursor of the next page (None:
        no more).
        """
        out: list[dict[str, Any]] = []
        nextCursor: Optional[int] = None
        for kind, record in self._newestFirst(query.kind):
            seq = record.seq if kind == "message" else record[X_SEQ]
            if cursor is not None and seq >= cursor:
                continue
            when = record.time if kind == "message" else record[X_TIME]
            if query.since is not None and when < query.since:
                continue
            if query.until is not None and when > query.until:
                continue
            if not self._matches(kind, record, query):
                continue
            if len(out) == limit:
                nextCursor = out[-1]["id"]
                break
            out.append(record.asJSON() if kind == "message" else exchangeJSON(record))
        return out, nextCursor

    def _newestFirst(self, kind: Optional[str]) -> Iterator[tuple[str, Any]]:
        messages = (("message", r) for r in reversed(self.messages))
        exchanges = (("exchange", x) for x in reversed(self.exchanges))
        if kind == "message":
            return messages
        if kind == "exchange":
            return exchanges
        return heapq.merge(messages, exchanges, key=lambda kr: -(kr[1].seq if kr[0] == "message" else kr[1][X_SEQ]))

    def _matches(self, kind: str, r: Any, q: Query) -> bool:
        if kind == "message":
            if q.outcomes is not None and r.outcome not in q.outcomes:
                return False
            if q.key is not None and r.key != q.key:
                return False
            if q.requestId is not None and r.requestId != q.requestId:
                return False
            if q.tool is not None and (r.name is None or not fnmatchcase(r.name, q.tool)):
                return False
            if q.upstream is not None and not _upstreamMatcher(q.upstream)(r.upstream):
                return False
            if (q.check is not None or q.rule is not None) and not _findingsMatch(r.findings, q.check, q.rule, _attr):
                return False
            return True
        if q.tool is not None:
            return False
        v = r[X_FIELDS]
        if q.outcomes is not None and v[F_OUTCOME] not in q.outcomes:
            return False
        if q.key is not None and v[F_KEY] != q.key:
            return False
        if q.requestId is not None and v[F_RID] != q.requestId:
            return False
        if q.upstream is not None and not _upstreamMatcher(q.upstream)(v[F_UPSTREAM]):
            return False
        if (q.check is not None or q.rule is not None) and not _findingsMatch(r[X_THREATS] or (), q.check, q.rule, _item):
            return False
        return True

    # -- /api/rules

    def rulesReport(self, config: Optional[Config] = None) -> dict[str, Any]:
        """
        Per check and rule: how often it fired, on what, and what it did or,
        in monitor mode, would have done; with the configured checks and
        rules that never fired, and the latest messages that monitor mode
        relayed but would have blocked.
        """
        now = self._seconds()
        configured = configuredRules(config) if config is not None else []
        ruleModes = {(check, rule): mode for check, rule, mode, _ in configured if rule is not None}
        checkModes = {check: mode for check, _, mode, _ in configured}
        rules: list[dict[str, Any]] = []
        for (check, rule), stats in self.rules.items():
            entry = stats.asJSON(now)
            observed = "monitor" if stats.monitored and not stats.enforced else "enforce" if stats.enforced else None
            entry["mode"] = ruleModes.get((check, rule)) or checkModes.get(check) or observed
            entry["configured"] = (check, rule) in ruleModes or check in checkModes
            rules.append(entry)
        for (check, rule), mode in ruleModes.items():
            if (check, rule) not in self.rules:
                entry = dict(_ZERO_RULE, check=check, rule=rule, mode=mode, configured=True)
                rules.append(entry)
        rules.sort(key=lambda e: (-e["fired"], e["check"], e["rule"]))
        checks: dict[str, dict[str, Any]] = {}
        for check, mode in checkModes.items():
            checks[check] = dict(_ZERO_CHECK, check=check, mode=mode, configured=True)
        for entry in rules:
            summary = checks.get(entry["check"])
            if summary is None:
                summary = checks[entry["check"]] = dict(_ZERO_CHECK, check=entry["check"], mode=entry["mode"], configured=False)
            summary["rules"] += 1
            for name in _COUNTS:
                summary[name] += entry[name]
        latest = [
            dict(r.asJSON(), monitored=[f.asJSON() for f in r.findings if not f.enforced and f.action == "block"])
            for r in islice(reversed(self.wouldBlock), 50)
        ]
        return {
            "mode": config.threat_detection.mode if config is not None else None,
            "since": self.startedAt,
            "checks": sorted(checks.values(), key=lambda c: (-c["fired"], c["check"])),
            "rules": rules,
            "guardrails": [{"name": g, "applied": v[0], "refused": v[1]} for g, v in sorted(self.guardrails.items(), key=lambda kv: (-kv[1][0], kv[0]))],
            "would_have_blocked": {"messages": self.wouldBlockTotal, "latest": latest},
        }


_COUNTS = ("fired", "enforced", "monitored", "blocked", "redacted", "would_block", "would_redact")
_ZERO_RULE: dict[str, Any] = dict.fromkeys(_COUNTS + ("fired_1h", "fired_24h"), 0)
_ZERO_CHECK: dict[str, Any] = dict(dict.fromkeys(_COUNTS, 0), rules=0)


def configuredRules(config: Config) -> list[tuple[str, Optional[str], str, Optional[str]]]:
    """
    The checks and rules the configuration runs, with their effective mode
    and action: C{(check, rule or None, mode, action or None)}.  A rule of
    None stands for a check whose rules are its own (C{sql_injection}...).
    """
    td = config.threat_detection
    out: list[tuple[str, Optional[str], str, Optional[str]]] = []
    enabled = CHECKS if td.enabled_checks is None else td.enabled_checks
    for check in enabled:
        s = td.settings(check)
        out.append((check, None, s.mode or td.mode, s.action))
    if td.custom_rules:
        mode = td.settings("custom_rules").mode or td.mode
        for r in td.custom_rules:
            out.append(("custom_rules", r.name, mode, r.action))
    for g in config.guardrails:
        mode = g.mode or td.mode
        if g.type == "content_filter":
            for i, cr in enumerate(g.content_rules):
                out.append((g.name, cr.name or f"{g.name}#{i + 1}", mode, cr.action))
        elif g.type == "pii":
            for pr in g.pii_rules:
                out.append((g.name, pr.entity, mode, pr.action))
    mcp = config.mcp
    if mcp.tool_poisoning.enabled:
        out.append(("tool_poisoning", None, mcp.tool_poisoning.mode or td.mode, mcp.tool_poisoning.action))
    if mcp.pin_tools:
        out.append(("tool_pinning", None, td.mode, "block"))
    if mcp.prompt_injection.enabled:
        out.append(("prompt_injection", None, mcp.prompt_injection.mode or td.mode, mcp.prompt_injection.action))
    if mcp.server_requests.enabled:
        out.append(("server_requests", None, td.mode, "block"))
    return out


__all__ = ["FINE", "COARSE", "REFUSED_OUTCOMES", "WINDOWS", "Query", "Recorder", "configuredRules", "latencyBin", "percentiles"]
