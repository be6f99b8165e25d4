"""
The recorder behind /api/stats, /api/events and /api/rules, on a
L{Clock}: time buckets and their windows, latency percentiles, bounded
memory, filters and pages, the rules report.
"""

from __future__ import annotations

import gc
from typing import Any, Optional

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.config import parseConfig
from akto_proxy.inspect.chain import Finding
from akto_proxy.mcp.events import DROPPED, FORWARDED, REPLIED, REWRITTEN, EventBus, ExchangeEvent, MessageEvent
from akto_proxy.observe.recorder import COARSE_KEPT, FINE_KEPT, Query, Recorder, percentiles, latencyBin

T0 = 1_699_999_980.0  # a multiple of 60
LISTEN = "listen: [\"tcp:0:interface=127.0.0.1\"]\n"


class _Target:
    def __init__(self, url: str):
        self.url = url

    def display(self) -> str:
        return self.url


class _Context:
    def __init__(self, rid: str, key: Optional[str], upstream: str):
        self.requestId = rid
        self.keyName = key
        self.clientAddress = "127.0.0.1"
        self.target = _Target(upstream)


def exchange(rid: str = "req_1", status: int = 200, latency: float = 1.0, outcome: str = "relayed", blocked: bool = False, key: str = "alice", upstream: str = "http://a.example.com/mcp", threats: Any = (), **extra: Any) -> ExchangeEvent:
    fields = {
        "request_id": rid,
        "key": key,
        "client": "127.0.0.1",
        "method": "POST",
        "rpc_method": "tools/call",
        "upstream": upstream,
        "status": status,
        "bytes": 100,
        "latency_ms": latency,
        "outcome": outcome,
        "blocked": blocked,
        "threats_detected": list(threats),
        "guardrails_applied": [],
    }
    fields.update(extra)
    return ExchangeEvent(fields, "POST")


def message(clock: Clock, rid: str = "req_1", action: str = REPLIED, outcome: str = "blocked", findings: tuple[Finding, ...] = (), tool: Optional[str] = "read_file", key: str = "alice", upstream: str = "http://a.example.com/mcp", guardrails: tuple[str, ...] = (), reason: Optional[str] = "blocked") -> MessageEvent:
    return MessageEvent(clock.seconds(), _Context(rid, key, upstream), "client_request", "http", "tools/call", tool, action, outcome, reason, findings, guardrails, None)


TRAVERSAL = Finding("path_traversal", "dotdot", "params.arguments.path", "high", "block")
MONITORED_SQL = Finding("sql_injection", "union_select", "params.arguments.q", "high", "block", enforced=False)


class RecorderTestCase(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.clock.advance(T0)
        self.bus = EventBus()
        self.recorder = Recorder(self.bus, self.clock, capacity=100)
        self.recorder.startService()
        self.addCleanup(self.recorder.stopService)


class WindowTests(RecorderTestCase):
    def test_countsInWindows(self) -> None:
        """
        Exchanges count in the 1 m, 1 h and 24 h windows while they are
        inside them, and leave each as time passes.
        """
        for i in range(10):
            self.bus.publish(exchange(f"r{i}"))
        self.bus.publish(exchange("b", blocked=True, outcome="blocked"))
        self.bus.publish(exchange("e", status=502, outcome="bad_gateway"))
        self.bus.publish(exchange("l", status=429, outcome="rate_limited"))
        self.bus.publish(exchange("u", status=401, outcome="unauthorized"))
        self.clock.advance(30)
        w = self.recorder.stats()["windows"]
        for name in ("1m", "1h", "24h"):
            self.assertEqual(
                (w[name]["requests"], w[name]["blocked"], w[name]["errors"], w[name]["rate_limited"], w[name]["client_errors"]),
                (14, 1, 1, 1, 1),
                name,
            )
        self.assertEqual(w["1m"]["outcomes"], {"relayed": 10, "blocked": 1, "bad_gateway": 1, "rate_limited": 1, "unauthorized": 1})
        self.assertAlmostEqual(w["1m"]["error_rate"], round(1 / 14, 4))
        self.clock.advance(60)
        w = self.recorder.stats()["windows"]
        self.assertEqual((w["1m"]["requests"], w["1h"]["requests"], w["24h"]["requests"]), (0, 14, 14))
        self.clock.advance(3600)
        self.bus.publish(exchange("later"))  # folds the old buckets into minutes
        w = self.recorder.stats()["windows"]
        self.assertEqual((w["1m"]["requests"], w["1h"]["requests"], w["24h"]["requests"]), (1, 1, 15))
        self.clock.advance(86400 + 60)
        w = self.recorder.stats()["windows"]
        self.assertEqual((w["1m"]["requests"], w["1h"]["requests"], w["24h"]["requests"]), (0, 0, 0))
        self.assertEqual(self.recorder.stats()["totals"]["requests"], 15)

    def test_percentiles(self) -> None:
        """
        p50, p95 and p99 of latencies 1..1000 ms are within 4.5% of the
        exact values; the maximum is exact.
        """
        for ms in range(1, 1001):
            self.bus.publish(exchange(latency=float(ms)))
        lat = self.recorder.stats()["windows"]["1m"]["latency_ms"]
        for name, exact in (("p50", 500), ("p95", 950), ("p99", 990)):
            self.assertLess(abs(lat[name] - exact) / exact, 0.045, (name, lat[name]))
        self.assertEqual(lat["max"], 1000.0)
        self.assertEqual(lat["count"], 1000)
        self.assertAlmostEqual(lat["mean"], 500.5)
        self.assertIsNone(self.recorder.stats()["windows"]["1m"]["added_latency_ms"])

    def test_addedLatency(self) -> None:
        """
        When the record carries the upstream's latency, the latency the
        proxy added is measured apart.
        """
        for _ in range(10):
            self.bus.publish(exchange(latency=12.0, upstream_ms=10.0))
        added = self.recorder.stats()["windows"]["1m"]["added_latency_ms"]
        self.assertLess(abs(added["p50"] - 2.0) / 2.0, 0.045)

    def test_streamsOutOfLatency(self) -> None:
        """
        A WebSocket's record (101, or transport ws) and an SSE answer's
        count as requests, but their duration (the connection's, the
        stream's) is not a latency.
        """
        self.bus.publish(exchange(status=101, latency=60000.0))
        self.bus.publish(exchange(latency=30000.0, transport="ws"))
        self.bus.publish(exchange(latency=90000.0, transport="sse"))
        self.bus.publish(exchange(latency=2.0, transport="http"))
        w = self.recorder.stats()["windows"]["1m"]
        self.assertEqual(w["requests"], 4)
        self.assertEqual(w["latency_ms"]["count"], 1)
        self.assertEqual(w["latency_ms"]["max"], 2.0)

    def test_upstreamFailures(self) -> None:
        """
        Upstream failures by kind, when the record names them.
        """
        self.bus.publish(exchange(status=504, outcome="gateway_timeout", upstream_error="timeout"))
        self.bus.publish(exchange(status=502, outcome="bad_gateway", upstream_error="refused"))
        self.bus.publish(exchange(status=502, outcome="bad_gateway", upstream_error="refused"))
        self.bus.publish(exchange())
        w = self.recorder.stats()["windows"]["1h"]
        self.assertEqual(w["upstream_failures"], {"refused": 2, "timeout": 1})
        self.assertEqual(w["errors"], 3)
        events, _ = self.recorder.events(Query(kind="exchange", outcomes=frozenset({"gateway_timeout"})))
        self.assertEqual((events[0]["upstream_error"], events[0]["status"]), ("timeout", 504))

    def test_series(self) -> None:
        """
        The series has one point per bucket, empty ones included, and its
        points add up to the window.
        """
        for minute in range(5):
            for i in range(minute + 1):
                self.bus.publish(exchange(latency=4.0, blocked=i == 0))
            self.clock.advance(60)
        s = self.recorder.series("1h")
        self.assertEqual((s["bucket_s"], len(s["points"])), (10, 360))
        self.assertEqual(sum(p["requests"] for p in s["points"]), 15)
        self.assertEqual(sum(p["blocked"] for p in s["points"]), 5)
        busy = [p for p in s["points"] if p["requests"]]
        self.assertEqual([p["requests"] for p in busy], [1, 2, 3, 4, 5])
        self.assertEqual([p["t"] for p in busy], [T0 + 60 * m for m in range(5)])
        self.assertTrue(all(abs(p["p50"] - 4.0) < 0.2 for p in busy))
        day = self.recorder.series("24h")
        self.assertEqual((day["bucket_s"], len(day["points"])), (60, 1440))
        self.assertEqual([p["requests"] for p in day["points"] if p["requests"]], [1, 2, 3, 4, 5])
        self.assertEqual(len(self.recorder.series("10m")["points"]), 60)

    def test_boundedMemory(self) -> None:
        """
        Two days of traffic, one exchange every 5 s: at most an hour of
        10 s buckets, a day of minutes, and C{capacity} records.
        """
        for _ in range(2 * 86400 // 5):
            self.bus.publish(exchange())
            self.clock.advance(5)
        self.assertLessEqual(len(self.recorder.fine), FINE_KEPT)
        self.assertLessEqual(len(self.recorder.coarse), COARSE_KEPT)
        self.assertEqual(len(self.recorder.exchanges), 100)
        w = self.recorder.stats()["windows"]
        self.assertEqual(w["1h"]["requests"], 720)
        self.assertEqual(w["24h"]["requests"], 17280)
        self.assertEqual(w["1m"]["requests"], 12)
        self.assertEqual(self.recorder.stats()["totals"]["requests"], 2 * 86400 // 5)

    def test_cachesFollowTraffic(self) -> None:
        """
        What the API caches for closed minutes and buckets agrees, query
        after query, with a count of the traffic made from scratch.
        """
        import random

        rnd = random.Random(7)
        times: list[float] = []
        for step in range(3000):
            if rnd.random() < 0.7:
                self.bus.publish(exchange(latency=rnd.uniform(1, 50)))
                times.append(self.clock.seconds())
            if step % 7 == 0:
                now = self.clock.seconds()
                day = self.recorder.window("24h")
                self.assertEqual(day["requests"], sum(1 for t in times if t >= day["from"]))
                hour = self.recorder.window("1h")
                self.assertEqual(hour["requests"], sum(1 for t in times if t >= hour["from"]))
                points = self.recorder.series("24h")["points"]
                self.assertEqual(sum(p["requests"] for p in points), sum(1 for t in times if t >= points[0]["t"]))
                points = self.recorder.series("1h")["points"]
                self.assertEqual(sum(p["requests"] for p in points), sum(1 for t in times if t >= points[0]["t"]))
                self.assertLessEqual(day["from"], now - 86400)
            self.clock.advance(rnd.choice((0.5, 3, 11, 47, 120)))

    def test_cleanRecordsUntracked(self) -> None:
        """
        The record of a clean exchange is tuples of plain values: after
        collections the collector no longer walks it.
        """
        self.bus.publish(exchange())
        gc.collect()
        gc.collect()
        self.assertFalse(gc.is_tracked(self.recorder.exchanges[-1]))

    def test_resize(self) -> None:
        for i in range(100):
            self.bus.publish(exchange(f"r{i}"))
        cfg = parseConfig(LISTEN + "audit:\n  recent_events: 10\n", "x.yaml")
        self.recorder.reconfigure(cfg)
        self.assertEqual(len(self.recorder.exchanges), 10)
        self.assertEqual(self.recorder.exchanges[-1][2][0], "r99")


class EventsTests(RecorderTestCase):
    def fill(self) -> None:
        c = self.clock
        self.bus.publish(message(c, "r1", findings=(TRAVERSAL,), tool="read_file", key="alice"))
        self.bus.publish(exchange("r1", blocked=True, outcome="blocked", threats=[TRAVERSAL.asJSON()]))
        c.advance(1)
        self.bus.publish(message(c, "r2", action=FORWARDED, outcome="relayed", findings=(MONITORED_SQL,), tool="query", key="bob", upstream="http://db.example.com/mcp", reason=None))
        self.bus.publish(exchange("r2", key="bob", upstream="http://db.example.com/mcp", threats=[MONITORED_SQL.asJSON()]))
        c.advance(1)
        self.bus.publish(message(c, "r3", outcome="rate_limited", tool="query", guardrails=("Rate Limiting",)))
        self.bus.publish(exchange("r3", status=429, outcome="rate_limited"))
        c.advance(1)
        for i in range(20):
            self.bus.publish(exchange(f"c{i}"))

    def ids(self, q: Query, limit: int = 100, cursor: Optional[int] = None) -> list[str]:
        events, _ = self.recorder.events(q, limit, cursor)
        return [f"{e['kind'][0].replace('e', 'x')}:{e['request_id']}" for e in events]

    def test_filters(self) -> None:
        self.fill()
        self.assertEqual(len(self.ids(Query())), 26)
        self.assertEqual(self.ids(Query(kind="message")), ["m:r3", "m:r2", "m:r1"])
        self.assertEqual(self.ids(Query(outcomes=frozenset({"blocked"}))), ["x:r1", "m:r1"])
        self.assertEqual(self.ids(Query(kind="message", outcomes=frozenset({"blocked", "rate_limited"}))), ["m:r3", "m:r1"])
        self.assertEqual(self.ids(Query(check="sql_injection")), ["x:r2", "m:r2"])
        self.assertEqual(self.ids(Query(rule="dotdot")), ["x:r1", "m:r1"])
        self.assertEqual(self.ids(Query(key="bob")), ["x:r2", "m:r2"])
        self.assertEqual(self.ids(Query(upstream="db.example")), ["x:r2", "m:r2"])
        self.assertEqual(self.ids(Query(upstream="http://db.*")), ["x:r2", "m:r2"])
        self.assertEqual(self.ids(Query(tool="que*")), ["m:r3", "m:r2"])
        self.assertEqual(self.ids(Query(requestId="r3")), ["x:r3", "m:r3"])
        self.assertEqual(self.ids(Query(since=T0 + 1, until=T0 + 2, kind="message")), ["m:r3", "m:r2"])
        self.assertEqual(self.ids(Query(until=T0 + 0.5)), ["x:r1", "m:r1"])

    def test_pages(self) -> None:
        """
        Pages of 4 cover every event once, newest first, and the last page
        has no cursor.
        """
        self.fill()
        everything = self.ids(Query())
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            events, cursor = self.recorder.events(Query(), 4, cursor)
            seen.extend(f"{e['kind'][0].replace('e', 'x')}:{e['request_id']}" for e in events)
            pages += 1
            if cursor is None:
                break
        self.assertEqual(seen, everything)
        self.assertEqual(pages, 7)
        ids = [e["id"] for e in self.recorder.events(Query(), 100)[0]]
        self.assertEqual(ids, sorted(ids, reverse=True))

    def test_boundedMessages(self) -> None:
        for i in range(250):
            self.bus.publish(message(self.clock, f"m{i}", findings=(TRAVERSAL,)))
        self.assertEqual(len(self.recorder.messages), 100)
        self.assertEqual(self.ids(Query(kind="message"), limit=1), ["m:m249"])


class RulesTests(RecorderTestCase):
    CONFIG = """
threat_detection:
  mode: enforce
  enabled_checks: [sql_injection, path_traversal]
  checks:
    sql_injection: {mode: monitor}
  custom_rules:
    - {name: "Never fires", pattern: "zzzz-never", action: block}
"""

    def test_report(self) -> None:
        c = self.clock
        for i in range(3):
            self.bus.publish(message(c, f"m{i}", action=FORWARDED, outcome="relayed", findings=(MONITORED_SQL,), tool="query", reason=None))
        self.bus.publish(message(c, "b1", findings=(TRAVERSAL,), tool="read_file"))
        self.bus.publish(message(c, "x1", action=REWRITTEN, outcome="redacted", findings=(Finding("PII", "ssn", "result.content[0].text", "high", "redact"),), tool="lookup", guardrails=("PII",), reason=None))
        self.bus.publish(message(c, "d1", action=DROPPED, outcome="blocked", findings=(TRAVERSAL,), tool=None))
        report = self.recorder.rulesReport(parseConfig(LISTEN + self.CONFIG, "x.yaml"))
        rules = {(r["check"], r["rule"]): r for r in report["rules"]}
        sql = rules[("sql_injection", "union_select")]
        self.assertEqual((sql["fired"], sql["monitored"], sql["would_block"], sql["blocked"], sql["mode"]), (3, 3, 3, 0, "monitor"))
        self.assertEqual(sql["top_tools"], [{"name": "query", "count": 3}])
        self.assertEqual(sql["top_locations"], [{"name": "params.arguments.q", "count": 3}])
        self.assertEqual(sql["fired_1h"], 3)
        trav = rules[("path_traversal", "dotdot")]
        self.assertEqual((trav["fired"], trav["blocked"], trav["would_block"], trav["mode"]), (2, 2, 0, "enforce"))
        self.assertEqual(rules[("PII", "ssn")]["redacted"], 1)
        never = rules[("custom_rules", "Never fires")]
        self.assertEqual((never["fired"], never["configured"]), (0, True))
        self.assertEqual(report["would_have_blocked"]["messages"], 3)
        latest = report["would_have_blocked"]["latest"]
        self.assertEqual([e["request_id"] for e in latest], ["m2", "m1", "m0"])
        self.assertEqual(latest[0]["monitored"][0]["rule"], "union_select")
        checks = {ch["check"]: ch for ch in report["checks"]}
        self.assertEqual(checks["sql_injection"]["would_block"], 3)
        self.assertEqual(checks["sql_injection"]["mode"], "monitor")
        self.assertEqual(checks["custom_rules"]["fired"], 0)
        self.assertEqual(report["guardrails"], [{"name": "PII", "applied": 1, "refused": 0}])
        w = self.recorder.stats()["windows"]["1h"]
        self.assertEqual(w["threats_by_check"], {"sql_injection": 3, "path_traversal": 2, "PII": 1})
        self.assertEqual(w["messages"]["would_block"], 3)
        self.assertEqual(w["refused_by"]["tools"], [{"name": "(no tool)", "count": 1}, {"name": "read_file", "count": 1}])

    def test_percentilesEmpty(self) -> None:
        self.assertEqual(percentiles({}, 0.0), [0.0, 0.0, 0.0])
        self.assertEqual(latencyBin(0.01), 0)
