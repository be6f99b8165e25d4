"""
/api/stats, /api/events and /api/rules through a running proxy on
loopback: traffic relayed, blocked, monitored, rate-limited and failed
upstream, then the figures, filters and pages of the API; admin and
non-admin keys; the API and the dashboard never reachable through
/proxy or on the proxy's port when an admin listener is configured.
"""

from __future__ import annotations

from typing import Any, Optional

from twisted.internet.defer import Deferred, ensureDeferred
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import TestCase

from tests.harness import KEY, ProxyHarness, Upstream, request
from tests.web.fixtures import ADMIN_KEY, BASE, api, traffic

class ApiTests(TestCase):
    def setUp(self) -> Deferred[None]:
        self.upstream = Upstream()
        self.addCleanup(self.upstream.stop)
        self.logged: list[dict[str, Any]] = []
        globalLogPublisher.addObserver(self.logged.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.logged.append)
        return self.upstream.start().addCallback(lambda _: None)

    def proxy(self, extra: str = "") -> ProxyHarness:
        return ProxyHarness(self, extra, base=BASE)

    def test_keys(self) -> Deferred[None]:
        """
        No key 401, a key that is not an admin's 403, an admin key 200;
        every call logged with the key's name (never the key).
        """

        async def go() -> None:
            proxy = self.proxy()
            for path in ("/api/stats", "/api/events", "/api/rules"):
                code, body = await api(proxy.base, path, bearer=None)
                self.assertEqual((code, body["success"], body["error"]["code"]), (401, False, "unauthorized"))
                code, body = await api(proxy.base, path, bearer=KEY)
                self.assertEqual((code, body["error"]["code"]), (403, "forbidden"))
                code, body = await api(proxy.base, path)
                self.assertEqual((code, body["success"]), (200, True))
                self.assertEqual(set(body["data"]), {"response", "metadata"})
                self.assertTrue(body["data"]["metadata"]["request_id"].startswith("req_"))
            calls = [e for e in self.logged if e.get("log_format", "").startswith("admin call")]
            self.assertEqual(len(calls), 9)
            self.assertEqual([e.get("key") for e in calls if e["log_format"] == "admin call {method} {path}"], ["operator"] * 3)
            self.assertNotIn(ADMIN_KEY, repr(calls))

        return ensureDeferred(go())

    def test_stats(self) -> Deferred[None]:
        """
        The figures of the 1 m window and of the series match the traffic.
        """

        async def go() -> None:
            proxy = self.proxy()
            await traffic(proxy, self.upstream)
            code, body = await api(proxy.base, "/api/stats")
            self.assertEqual(code, 200)
            stats = body["data"]["response"]
            w = stats["windows"]["1m"]
            self.assertEqual(
                (w["requests"], w["blocked"], w["rate_limited"], w["errors"], w["client_errors"]),
                (11, 1, 2, 1, 0),
            )
            self.assertEqual(w["outcomes"], {"relayed": 8, "rate_limited": 2, "blocked": 1})
            self.assertEqual(w["latency_ms"]["count"], 11)
            lat = w["latency_ms"]
            self.assertTrue(0 < lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["max"], lat)
            self.assertEqual(w["messages"]["would_block"], 1)
            self.assertEqual(w["messages"]["refused"], 3)
            self.assertEqual(w["threats_by_check"].get("custom_rules"), 1)
            self.assertEqual(w["threats_by_check"].get("sql_injection"), 2)
            self.assertEqual(w["refused_by"]["keys"], [{"name": "tester", "count": 3}])
            # a rate limit judges the whole body, before its tool is known
            self.assertEqual(w["refused_by"]["tools"], [{"name": "(no tool)", "count": 2}, {"name": "send_note", "count": 1}])
            self.assertEqual(stats["windows"]["1h"]["requests"], 11)
            self.assertEqual(stats["windows"]["24h"]["requests"], 11)
            self.assertEqual(stats["totals"]["requests"], 11)
            points = stats["series"]["points"]
            self.assertEqual((stats["series"]["bucket_s"], len(points)), (10, 360))
            self.assertEqual(sum(p["requests"] for p in points), 11)
            self.assertEqual(sum(p["rate_limited"] for p in points), 2)
            code, body = await api(proxy.base, "/api/stats", series="24h")
            self.assertEqual(sum(p["requests"] for p in body["data"]["response"]["series"]["points"]), 11)
            code, body = await api(proxy.base, "/api/stats", series="2d")
            self.assertEqual((code, body["error"]["code"]), (400, "bad_request"))
            # the admin calls themselves are not traffic
            code, body = await api(proxy.base, "/api/stats", series="none")
            self.assertEqual(body["data"]["response"]["windows"]["1m"]["requests"], 11)
            self.assertNotIn("series", body["data"]["response"])

        return ensureDeferred(go())

    def test_events(self) -> Deferred[None]:
        """
        Filters by kind, outcome, check, rule, key, upstream, tool and
        time; pages with a cursor; bad parameters 400.
        """

        async def go() -> None:
            proxy = self.proxy()
            await traffic(proxy, self.upstream)

            async def events(**params: Any) -> dict[str, Any]:
                code, body = await api(proxy.base, "/api/events", **params)
                self.assertEqual(code, 200, body)
                return body["data"]["response"]  # type: ignore[no-any-return]

            everything = await events()
            self.assertEqual(everything["kept"], {"exchanges": 11, "messages": 4, "capacity": 10000})
            self.assertEqual(len(everything["events"]), 15)
            self.assertIsNone(everything["next_cursor"])
            refused = (await events(kind="message", outcome="refused"))["events"]
            self.assertEqual([e["outcome"] for e in refused], ["rate_limited", "rate_limited", "blocked"])
            blocked = refused[-1]
            self.assertEqual((blocked["name"], blocked["key"], blocked["action"]), ("send_note", "tester", "replied"))
            self.assertIn("No Launch Codes", blocked["reason"])
            self.assertEqual(blocked["threats_detected"][0]["rule"], "No Launch Codes")
            exchanges = (await events(kind="exchange", outcome="blocked"))["events"]
            self.assertEqual(len(exchanges), 1)
            self.assertEqual(exchanges[0]["request_id"], blocked["request_id"])
            self.assertEqual(exchanges[0]["status"], 200)
            sql = (await events(check="sql_injection"))["events"]
            self.assertEqual([e["kind"] for e in sql], ["exchange", "message"])
            self.assertEqual(sql[1]["outcome"], "relayed")
            self.assertEqual(sql[1]["threats_detected"][0]["mode"], "monitor")
            rule = (await events(rule="No Launch Codes", kind="message"))["events"]
            self.assertEqual([e["request_id"] for e in rule], [blocked["request_id"]])
            other = (await events(key="other"))["events"]
            self.assertEqual([(e["kind"], e["status"]) for e in other], [("exchange", 500)])
            self.assertEqual(len((await events(upstream=self.upstream.authority))["events"]), 15)
            self.assertEqual(len((await events(upstream="http://nowhere*"))["events"]), 0)
            self.assertEqual([e["name"] for e in (await events(tool="que*"))["events"]], ["query"])
            t = blocked["time"]
            window = (await events(since=t, until=t, kind="message"))["events"]
            self.assertEqual([e["request_id"] for e in window], [blocked["request_id"]])
            # pages of 4: every event once, newest first
            seen: list[int] = []
            cursor: Optional[str] = None
            while True:
                page = await events(limit=4, **({"cursor": cursor} if cursor else {}))
                seen.extend(e["id"] for e in page["events"])
                cursor = page["next_cursor"]
                if cursor is None:
                    break
            self.assertEqual(seen, [e["id"] for e in everything["events"]])
            self.assertEqual(seen, sorted(seen, reverse=True))
            for bad in ({"limit": "0"}, {"limit": "x"}, {"kind": "both"}, {"since": "yesterday"}, {"cursor": "-1"}):
                code, body = await api(proxy.base, "/api/events", **bad)
                self.assertEqual((code, body["error"]["code"]), (400, "bad_request"), bad)
            iso = (await events(since="2000-01-01T00:00:00Z", kind="message"))["events"]
            self.assertEqual(len(iso), 4)

        return ensureDeferred(go())

    def test_rulesInMonitorMode(self) -> Deferred[None]:
        """
        /api/rules: the SQL injection check in monitor mode lists what it
        would have blocked (the call relayed); the enforced custom rule
        what it blocked; the rule that never fired is listed too.
        """

        async def go() -> None:
            proxy = self.proxy()
            await traffic(proxy, self.upstream)
            code, body = await api(proxy.base, "/api/rules")
            self.assertEqual(code, 200)
            report = body["data"]["response"]
            self.assertEqual(report["mode"], "enforce")
            rules = {(r["check"], r["rule"]): r for r in report["rules"]}
            sql = [r for r in report["rules"] if r["check"] == "sql_injection"]
            self.assertEqual({r["rule"] for r in sql}, {"libinjection", "union_based"})  # two rules of the check, one message
            for r in sql:
                self.assertEqual((r["mode"], r["fired"], r["would_block"], r["blocked"]), ("monitor", 1, 1, 0))
                self.assertEqual(r["top_tools"], [{"name": "query", "count": 1}])
                self.assertEqual(r["top_locations"], [{"name": "params.arguments.q", "count": 1}])
                self.assertEqual(r["top_keys"], [{"name": "tester", "count": 1}])
            custom = rules[("custom_rules", "No Launch Codes")]
            self.assertEqual((custom["mode"], custom["fired"], custom["blocked"], custom["would_block"]), ("enforce", 1, 1, 0))
            never = rules[("custom_rules", "Never Fires")]
            self.assertEqual((never["fired"], never["configured"]), (0, True))
            would = report["would_have_blocked"]
            self.assertEqual(would["messages"], 1)
            self.assertEqual(would["latest"][0]["name"], "query")
            self.assertEqual(would["latest"][0]["outcome"], "relayed")
            self.assertEqual(would["latest"][0]["monitored"][0]["check"], "sql_injection")
            checks = {c["check"]: c for c in report["checks"]}
            self.assertEqual(checks["sql_injection"]["mode"], "monitor")
            self.assertEqual((checks["sql_injection"]["would_block"], checks["sql_injection"]["rules"]), (2, 2))
            self.assertEqual(checks["path_traversal"]["mode"], "enforce")
            self.assertEqual(report["guardrails"], [{"name": "Rate Limiting", "applied": 2, "refused": 2}])

        return ensureDeferred(go())

    def test_notThroughProxy(self) -> Deferred[None]:
        """
        With an admin listener the API and the dashboard are there only: the
        proxy's port answers 404, and /proxy/... only relays.
        """

        async def go() -> None:
            proxy = self.proxy('admin:\n  listen: ["tcp:0:interface=127.0.0.1"]\n')
            ports = proxy.service.listeningPorts()
            self.assertEqual(len(ports), 2)
            adminBase = f"http://127.0.0.1:{ports[1].getHost().port}"
            for path in ("/api/stats", "/api/events", "/api/rules", "/dashboard"):
                r, _ = await request(f"{proxy.base}{path}".encode(), headers={b"authorization": [f"Bearer {ADMIN_KEY}".encode()]}, key=None)
                self.assertEqual(r.code, 404, path)
                r, _ = await request(f"{adminBase}{path}".encode(), headers={b"authorization": [f"Bearer {ADMIN_KEY}".encode()]}, key=None)
                self.assertEqual(r.code, 200, path)
            # /proxy/http/{admin address}/api/stats is the proxy's own address: refused
            r, _ = await request(f"{proxy.base}/proxy/http/127.0.0.1:{ports[1].getHost().port}/api/stats".encode(), key=KEY)
            self.assertEqual(r.code, 403)

        return ensureDeferred(go())
