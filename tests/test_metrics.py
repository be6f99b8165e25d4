"""
C{GET /metrics} through a running proxy: admin scope, and values that move
as traffic is relayed, blocked, rate-limited and fails upstream, read with
prometheus-client's own text parser.
"""

from __future__ import annotations

import json
import os
from typing import Any, Optional

from prometheus_client.parser import text_string_to_metric_families
from twisted.internet.defer import Deferred, ensureDeferred
from twisted.trial.unittest import SynchronousTestCase, TestCase

from akto_proxy.config.model import MetricsConfig
from akto_proxy.mcp.events import EventBus, ExchangeEvent
from akto_proxy.observe.metrics import MAX_UPSTREAMS, Metrics, instanceName, methodLabel
from tests.harness import ADMIN_ACCESS, ADMIN_KEY, KEY, ProxyHarness, Upstream, request, rpc

BASE = (
    """
listen: ["tcp:0:interface=127.0.0.1"]
"""
    + ADMIN_ACCESS
    + """upstreams:
  allow: ["127.0.0.1", "localhost"]
  allow_private: ["127.0.0.0/8"]
threat_detection:
  enabled_checks: [sql_injection]
guardrails:
  - name: "Rate Limiting"
    type: "rate_limit"
    rules:
      - requests_per_minute: 3
        per_client: true
metrics:
  instance: "test-1"
"""
)


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    """
    The sum of the samples of C{name} whose labels include C{labels}.
    """
    want = set(labels.items())
    return sum(v for (n, ls), v in found.items() if n == name and want <= ls)


def call(i: int, text: str = "hello") -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {"name": "echo", "arguments": {"q": text}}}


class MetricsEndpointTests(TestCase):
    def setUp(self) -> Deferred[None]:
        return ensureDeferred(self._setUp())

    async def _setUp(self) -> None:
        self.upstream = await Upstream().start()
        self.addCleanup(self.upstream.stop)
        self.proxy = ProxyHarness(self, base=BASE)

    async def scrape(self, key: Optional[str] = ADMIN_KEY) -> tuple[int, dict[tuple[str, frozenset[tuple[str, str]]], float], Any]:
        headers = {b"authorization": [f"Bearer {key}".encode()]} if key else {}
        response, body = await request(f"{self.proxy.base}/metrics".encode(), headers=headers, key=None)
        if response.code != 200:
            return response.code, {}, response
        return 200, samples(body.decode()), response

    def test_adminOnly(self) -> Deferred[None]:
        async def go() -> None:
            code, _, response = await self.scrape(None)
            self.assertEqual(code, 401)
            code, _, _ = await self.scrape(KEY)
            self.assertEqual(code, 403)
            code, found, response = await self.scrape()
            self.assertEqual(code, 200)
            self.assertTrue(response.headers.getRawHeaders(b"content-type")[0].startswith(b"text/plain; version="))
            self.assertNotIn("akto_proxy_requests_created", {n for n, _ in found})
            self.assertEqual(value(found, "akto_proxy_build_info", proxy_instance="test-1"), 1.0)
            # never through /proxy
            url = self.proxy.url(self.upstream, "/metrics").replace(f"/proxy/http/{self.upstream.authority}".encode(), f"/proxy/http/127.0.0.1:{self.proxy.port}".encode())
            response, _ = await request(url, headers={b"authorization": [f"Bearer {ADMIN_KEY}".encode()]})
            self.assertEqual(response.code, 403)

        return ensureDeferred(go())

    def test_valuesMove(self) -> Deferred[None]:
        async def go() -> None:
            url = self.proxy.url(self.upstream, "/rpc")
            _, before, _ = await self.scrape()
            self.assertEqual(value(before, "akto_proxy_requests_total", method="tools/call"), 0.0)
            response, body = await rpc(url, call(1))
            self.assertEqual(response.code, 200)
            response, body = await rpc(url, call(2, "1' OR '1'='1' --"))
            self.assertIn("Blocked by akto-proxy", body.decode())
            for i in range(3, 6):
                response, body = await rpc(url, call(i))
            self.assertEqual(response.code, 429)
            _, found, _ = await self.scrape()
            self.assertEqual(value(found, "akto_proxy_requests_total", method="tools/call", transport="http", status="200", upstream=self.upstream.authority), 3.0)
            self.assertEqual(value(found, "akto_proxy_requests_total", method="POST", status="429"), 2.0)
            # one message, counted under each rule that found it
            self.assertEqual(value(found, "akto_proxy_messages_blocked_total", check="sql_injection", rule="libinjection"), 1.0)
            self.assertEqual(value(found, "akto_proxy_messages_refused_total", outcome="blocked"), 1.0)
            self.assertGreaterEqual(value(found, "akto_proxy_threats_detected_total", check="sql_injection", direction="request", enforced="true"), 1.0)
            self.assertEqual(value(found, "akto_proxy_rate_limit_hits_total", guardrail="Rate Limiting"), 2.0)
            self.assertEqual(value(found, "akto_proxy_messages_refused_total", outcome="rate_limited"), 2.0)
            self.assertEqual(value(found, "akto_proxy_request_duration_seconds_count", transport="http"), 5.0)
            # the upstream answered the two relayed calls and the blocked one did not reach it
            self.assertEqual(value(found, "akto_proxy_upstream_duration_seconds_count", transport="http"), 2.0)
            self.assertEqual(value(found, "akto_proxy_added_duration_seconds_count", transport="http"), 2.0)
            self.assertGreaterEqual(value(found, "akto_proxy_inspection_duration_seconds_count", direction="request"), 1.0)
            # the scrapes themselves are not proxied requests
            self.assertEqual(value(found, "akto_proxy_requests_total", method="GET"), 0.0)

        return ensureDeferred(go())

    def test_upstreamErrorsAndGauges(self) -> Deferred[None]:
        async def go() -> None:
            port = self.upstream.port.getHost().port
            await self.upstream.stop()
            response, _ = await rpc(f"{self.proxy.base}/proxy/http/127.0.0.1:{port}/rpc".encode(), call(1))
            self.assertEqual(response.code, 502)
            _, found, _ = await self.scrape()
            self.assertEqual(value(found, "akto_proxy_upstream_errors_total", kind="refused"), 1.0)
            self.assertEqual(value(found, "akto_proxy_requests_total", status="502"), 1.0)
            self.assertEqual(value(found, "akto_proxy_open_sse_streams"), 0.0)
            self.assertEqual(value(found, "akto_proxy_config_generation"), 1.0)
            self.assertEqual(value(found, "akto_proxy_pins_pending"), 0.0)

        return ensureDeferred(go())

    def test_openStreamsCounted(self) -> Deferred[None]:
        async def go() -> None:
            from twisted.internet import reactor
            from twisted.web.client import Agent
            from twisted.web.http_headers import Headers

            opened = self.upstream.nextStream()
            response = await Agent(reactor).request(
                b"GET", self.proxy.url(self.upstream, "/sse"), Headers({b"x-akto-api-key": [KEY.encode()], b"accept": [b"text/event-stream"]})
            )
            stream = await opened
            _, found, _ = await self.scrape()
            self.assertEqual(value(found, "akto_proxy_open_sse_streams"), 1.0)
            stream.end()
            response.deliverBody(_Drain())

        return ensureDeferred(go())

    def test_reloadsCounted(self) -> Deferred[None]:
        async def go() -> None:
            self.assertTrue(self.proxy.service.reload())
            with open(self.proxy.path, "a") as f:
                f.write("\nmetricz: {}\n")
            self.assertFalse(self.proxy.service.reload())
            _, found, _ = await self.scrape()
            self.assertEqual(value(found, "akto_proxy_config_reloads_total", result="ok"), 1.0)
            self.assertEqual(value(found, "akto_proxy_config_reloads_total", result="error"), 1.0)
            self.assertEqual(value(found, "akto_proxy_config_generation"), 2.0)

        return ensureDeferred(go())

    def test_alertDeliveriesCounted(self) -> Deferred[None]:
        """
        The alert channels' counts (L{akto_proxy.observe.alerts.Alerts.stats})
        are read at scrape time: a blocked call with a threat alert on the
        log channel is one notification sent once its group_wait is over.
        """

        async def go() -> None:
            from twisted.internet.task import Clock

            clock = Clock()
            proxy = ProxyHarness(self, base=BASE + '\nalerts:\n  - {type: threat_detected, severity: high, channels: [log], group_wait: 1s, group_by: [check]}\n', clock=clock)
            url = proxy.url(self.upstream, "/rpc")
            await rpc(url, call(1, "1' OR '1'='1' --"))
            clock.advance(2)
            headers = {b"authorization": [f"Bearer {ADMIN_KEY}".encode()]}
            response, body = await request(f"{proxy.base}/metrics".encode(), headers=headers, key=None)
            found = samples(body.decode())
            self.assertEqual(value(found, "akto_proxy_alert_notifications_sent_total", channel="log"), 1.0)
            self.assertEqual(value(found, "akto_proxy_alert_notifications_dropped_total", channel="log"), 0.0)

        return ensureDeferred(go())

    def test_disabled(self) -> Deferred[None]:
        async def go() -> None:
            with open(self.proxy.path, "w") as f:
                f.write(self.proxy.withState(BASE.replace('metrics:\n  instance: "test-1"', "metrics:\n  enabled: false")))
            self.assertTrue(self.proxy.service.reload())
            await rpc(self.proxy.url(self.upstream, "/rpc"), call(1))
            code, _, _ = await self.scrape()
            self.assertEqual(code, 404)
            self.assertEqual(self.proxy.service.bus.wants(ExchangeEvent), True)  # the audit trail still listens
            self.assertNotIn(self.proxy.service.metrics.exchange, self.proxy.service.bus._subscribers[ExchangeEvent])

        return ensureDeferred(go())


class _Drain:
    def makeConnection(self, transport: Any) -> None:
        pass

    def dataReceived(self, data: bytes) -> None:
        pass

    def connectionLost(self, reason: Any) -> None:
        pass


class LabelTests(SynchronousTestCase):
    def test_methods(self) -> None:
        self.assertEqual(methodLabel("tools/call", "POST"), "tools/call")
        self.assertEqual(methodLabel("notifications/initialized", "POST"), "notifications/*")
        self.assertEqual(methodLabel("x/" + "y" * 40, "POST"), "other")
        self.assertEqual(methodLabel(None, "DELETE"), "DELETE")
        self.assertEqual(methodLabel(None, "BREW"), "other")

    def test_instance(self) -> None:
        self.assertEqual(instanceName(MetricsConfig(instance="a")), "a")
        old = os.environ.pop("AKTO_PROXY_INSTANCE", None)
        try:
            self.assertTrue(instanceName(MetricsConfig()).endswith(f":{os.getpid()}"))
            os.environ["AKTO_PROXY_INSTANCE"] = "3"
            self.assertTrue(instanceName(MetricsConfig()).endswith(":3"))
        finally:
            os.environ.pop("AKTO_PROXY_INSTANCE", None)
            if old is not None:
                os.environ["AKTO_PROXY_INSTANCE"] = old

    def test_upstreamsBounded(self) -> None:
        """
        Past L{MAX_UPSTREAMS} distinct upstreams, the rest count as
        C{other}: a client naming endless hosts cannot grow the series.
        """
        bus = EventBus()
        m = Metrics(MetricsConfig(instance="t"), bus)
        m.startService()
        self.addCleanup(m.stopService)
        for i in range(MAX_UPSTREAMS + 50):
            bus.publish(ExchangeEvent({"upstream": f"https://h{i}.example.com:443/mcp/{i}", "status": 200, "method": "GET", "latency_ms": 1.0}, ""))
        found = samples(m.text().decode())
        upstreams = {dict(ls)["upstream"] for (n, ls) in found if n == "akto_proxy_requests_total"}
        self.assertIn("h0.example.com:443", upstreams)
        self.assertEqual(len(upstreams), MAX_UPSTREAMS + 1)
        self.assertEqual(value(found, "akto_proxy_requests_total", upstream="other"), 50.0)
        self.assertEqual(json.loads(json.dumps(sorted(upstreams)))[-1], "other")
