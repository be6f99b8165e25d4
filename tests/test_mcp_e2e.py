"""
The real MCP Python SDK, as client and server, through a running proxy:
Streamable HTTP (JSON and SSE answers), legacy HTTP+SSE with every
C{endpoint} shape, in both the 2026-07-28 (server/discover) and the
handshake-era modes; blocked calls seen by the SDK client as tool errors.
"""

from __future__ import annotations

import json
from typing import Any

from twisted.internet import reactor as _reactor
from twisted.internet.defer import Deferred, ensureDeferred
from twisted.trial.unittest import TestCase

from tests.harness import BASE, KEY, ProxyHarness
from tests.support.procs import ProcessHandle, resultOf, runClient, startUpstream
from tests.test_support_fixtures import BASELINE_ACTIONS, HANDSHAKE, MODERN, _Baseline

reactor: Any = _reactor

PROXY_CONFIG = """
threat_detection:
  enabled_checks: []
  custom_rules:
    - name: "Block Sensitive File Access"
      pattern: "/etc/passwd|/etc/shadow"
      action: "block"
"""

BLOCKED = json.dumps({"tool": "read_file", "arguments": {"path": "/etc/passwd"}})
ALLOWED = json.dumps({"tool": "read_file", "arguments": {"path": "notes.txt"}})


class _ThroughProxy(_Baseline):
    """
    The fixtures' baseline, with the client pointed at the proxy URL.
    """

    def setUp(self) -> Deferred[None]:
        d = startUpstream(reactor, self.transport, self.shape)

        def started(result: tuple[str, int, ProcessHandle]) -> None:
            upstreamURL, self.port, self.upstream = result
            self.addCleanup(self.upstream.stop)
            self.proxy = ProxyHarness(self, PROXY_CONFIG)
            path = upstreamURL.split(f"127.0.0.1:{self.port}", 1)[1]
            self.url = f"{self.proxy.base}/proxy/http/127.0.0.1:{self.port}{path}"

        return d.addCallback(started)

    async def _runBaseline(self, mode: str) -> list[dict[str, Any]]:
        lines = await runClient(
            reactor,
            ["--url", self.url, "--header", f"X-Akto-Api-Key: {KEY}", "--mode", mode, "--timeout", "25", *BASELINE_ACTIONS],
        )
        for line in lines:
            assert line.get("ok") is True, line
        return lines

    async def _blocked(self, mode: str) -> None:
        lines = await runClient(
            reactor,
            ["--url", self.url, "--header", f"X-Akto-Api-Key: {KEY}", "--mode", mode, "--timeout", "25",
             "--call", BLOCKED, "--call", ALLOWED],
        )
        blocked = resultOf(lines, "call", 0)
        self.assertTrue(blocked["ok"], blocked)
        self.assertTrue(blocked["result"]["isError"])
        self.assertTrue(blocked["result"]["text"].startswith("Blocked by akto-proxy: custom_rules"), blocked)
        allowed = resultOf(lines, "call", 1)
        self.assertFalse(allowed["result"]["isError"], allowed)
        access = [e for e in self.proxy.service.recentEvents() if e.get("blocked")]
        self.assertTrue(access)
        self.assertEqual(access[-1]["threats_detected"][0]["rule"], "Block Sensitive File Access")

    def test_blockedAuto(self) -> Deferred[None]:
        return ensureDeferred(self._blocked("auto"))

    def test_blockedLegacy(self) -> Deferred[None]:
        return ensureDeferred(self._blocked("legacy"))


class StreamableJSONThroughProxy(_ThroughProxy, TestCase):
    transport = "streamable-json"
    streamsNotifications = False


class StreamableSSEThroughProxy(_ThroughProxy, TestCase):
    transport = "streamable-sse"


class LegacyAbsolutePathThroughProxy(_ThroughProxy, TestCase):
    transport = "legacy-sse"
    shape = "absolute-path"


class LegacyAbsoluteURLThroughProxy(_ThroughProxy, TestCase):
    transport = "legacy-sse"
    shape = "absolute-url"


class LegacyRelativeThroughProxy(_ThroughProxy, TestCase):
    transport = "legacy-sse"
    shape = "relative"


class LegacyQueryThroughProxy(_ThroughProxy, TestCase):
    transport = "legacy-sse"
    shape = "query"


__all__ = ["BASE", "HANDSHAKE", "MODERN"]


class DetectionThroughProxy(TestCase):
    """
    Issue 5 through the SDK: threats blocked as tool errors, PII masked in
    results (still valid JSON-RPC for the client), exclusions honoured,
    monitor mode relays and records.
    """

    config = """
threat_detection:
  mode: %s
  sensitivity: medium
  enabled_checks: [sql_injection, command_injection, path_traversal, data_exfiltration]
  checks:
    data_exfiltration: {action: redact}
  exclusions:
    - {upstream: "127.0.0.1", tool: run_sql, argument: query, checks: [sql_injection]}
guardrails:
  - name: "PII masking"
    type: pii
    rules:
      - {entity: credit_card, action: redact}
      - {entity: email, action: redact}
"""

    mode = "enforce"

    def setUp(self) -> Deferred[None]:
        d = startUpstream(reactor, "streamable-sse", None)

        def started(result: tuple[str, int, ProcessHandle]) -> None:
            upstreamURL, port, self.upstream = result
            self.addCleanup(self.upstream.stop)
            self.proxy = ProxyHarness(self, self.config % self.mode)
            self.url = f"{self.proxy.base}/proxy/http/127.0.0.1:{port}/mcp"

        return d.addCallback(started)

    async def calls(self, *calls: dict) -> list[dict[str, Any]]:
        args = ["--url", self.url, "--header", f"X-Akto-Api-Key: {KEY}", "--timeout", "25"]
        for c in calls:
            args += ["--call", json.dumps(c)]
        return await runClient(reactor, args)

    def test_enforce(self) -> Deferred[None]:
        async def go() -> None:
            lines = await self.calls(
                {"tool": "get_customer", "arguments": {"id": "42"}},
                {"tool": "run_sql", "arguments": {"query": "SELECT name FROM users WHERE id = 1 OR 1=1"}},
                {"tool": "echo", "arguments": {"text": "1' OR '1'='1' --"}},
                {"tool": "echo", "arguments": {"text": "please drop by the office; select a time"}},
            )
            customer = resultOf(lines, "call", 0)
            self.assertTrue(customer["ok"], customer)
            text = customer["result"]["text"]
            self.assertNotIn("4111 1111 1111 1111", text)
            self.assertNotIn("jane.doe@example.com", text)
            self.assertIn("[REDACTED:", text)
            self.assertFalse(customer["result"]["isError"])
            self.assertFalse(resultOf(lines, "call", 1)["result"]["isError"])  # excluded
            injected = resultOf(lines, "call", 2)["result"]
            self.assertTrue(injected["isError"])
            self.assertIn("sql_injection", injected["text"])
            self.assertFalse(resultOf(lines, "call", 3)["result"]["isError"])  # prose

        return ensureDeferred(go())


class MonitorThroughProxy(DetectionThroughProxy):
    mode = "monitor"

    def test_enforce(self) -> Deferred[None]:
        async def go() -> None:
            lines = await self.calls({"tool": "echo", "arguments": {"text": "1' OR '1'='1' --"}})
            result = resultOf(lines, "call", 0)["result"]
            self.assertFalse(result["isError"])
            self.assertEqual(result["text"], "1' OR '1'='1' --")
            recorded = [f for e in self.proxy.service.recentEvents() for f in e["threats_detected"] if f["check"] == "sql_injection"]
            self.assertTrue(recorded)
            self.assertEqual(recorded[0].get("mode"), "monitor")

        return ensureDeferred(go())


RATE_CONFIG = """
threat_detection:
  enabled_checks: []
guardrails:
  - name: "Rate Limiting"
    type: "rate_limit"
    rules:
      - requests_per_minute: 4
        per_client: true
"""


class RateLimitThroughSDK(TestCase):
    """
    What the agent sees when a rate limit refuses its call: the SDK client
    surfaces the proxy's JSON-RPC error (the reason, C{retry_after}), not a
    bare "Server returned an error response".  Four requests a minute: the
    SDK's handshake takes one to three of them (C{server/discover} or
    C{initialize}, then what it lists), the first call passes, the fifth
    call is refused whatever the handshake took.
    """

    def setUp(self) -> Deferred[None]:
        d = startUpstream(reactor, "streamable-json")

        def started(result: tuple[str, int, ProcessHandle]) -> None:
            upstreamURL, port, upstream = result
            self.addCleanup(upstream.stop)
            self.proxy = ProxyHarness(self, RATE_CONFIG)
            self.url = self.proxy.base + "/proxy/http/" + upstreamURL.split("://", 1)[1]

        return d.addCallback(started)

    async def _limited(self, mode: str) -> None:
        call = json.dumps({"tool": "echo", "arguments": {"text": "hi"}})
        calls = [a for _ in range(5) for a in ("--call", call)]
        lines = await runClient(
            reactor,
            ["--url", self.url, "--header", f"X-Akto-Api-Key: {KEY}", "--mode", mode, "--timeout", "25", *calls],
        )
        self.assertTrue(resultOf(lines, "call", 0)["ok"], lines)
        refused = resultOf(lines, "call", 4)
        self.assertFalse(refused["ok"], refused)
        self.assertEqual(refused["code"], -31001, refused)
        # (the window is 60 s from the first call; the client's five calls
        # take a second or more on a loaded machine, within its timeout)
        retry = refused["data"]["retry_after"]
        self.assertTrue(60 - 25 <= retry <= 60, retry)
        self.assertEqual(refused["error"], f"Blocked by akto-proxy: rate limit exceeded (Rate Limiting); retry after {retry} s")
        self.assertEqual(refused["data"]["guardrails_applied"], ["Rate Limiting"])
        self.assertTrue(refused["data"]["request_id"].startswith("req_"))
        self.assertGreaterEqual(self.proxy.service.counters["rate_limited"], 1)

    def test_auto(self) -> Deferred[None]:
        return ensureDeferred(self._limited("auto"))

    def test_legacy(self) -> Deferred[None]:
        return ensureDeferred(self._limited("legacy"))


class TooLargeThroughSDK(TestCase):
    """
    A call whose body is over C{limits.max_request_body}: 413, and the SDK
    client shows the proxy's reason (a C{-31001} JSON-RPC error; the id is
    null since the body was never read, and the SDK puts its own in).
    """

    def setUp(self) -> Deferred[None]:
        d = startUpstream(reactor, "streamable-json")

        def started(result: tuple[str, int, ProcessHandle]) -> None:
            upstreamURL, port, upstream = result
            self.addCleanup(upstream.stop)
            self.proxy = ProxyHarness(self, "limits:\n  max_request_body: 4KiB\nthreat_detection:\n  enabled_checks: []\n")
            self.url = self.proxy.base + "/proxy/http/" + upstreamURL.split("://", 1)[1]

        return d.addCallback(started)

    def test_reasonShown(self) -> Deferred[None]:
        async def go() -> None:
            small = json.dumps({"tool": "echo", "arguments": {"text": "hi"}})
            big = json.dumps({"tool": "echo", "arguments": {"text": "x" * 8000}})
            lines = await runClient(
                reactor, ["--url", self.url, "--header", f"X-Akto-Api-Key: {KEY}", "--mode", "legacy", "--timeout", "25", "--call", small, "--call", big]
            )
            self.assertTrue(resultOf(lines, "call", 0)["ok"], lines)
            refused = resultOf(lines, "call", 1)
            self.assertFalse(refused["ok"], refused)
            self.assertEqual(refused["code"], -31001, refused)
            self.assertEqual(refused["error"], "Blocked by akto-proxy: request body too large (limits.max_request_body: 4096 bytes)")
            self.assertTrue(refused["data"]["request_id"].startswith("req_"))
            (record,) = [e for e in self.proxy.service.recentEvents() if e["status"] == 413]
            self.assertEqual((record["key"], record["outcome"]), ("tester", "payload_too_large"))

        return ensureDeferred(go())
