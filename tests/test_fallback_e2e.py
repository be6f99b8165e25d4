"""
Fallback upstreams with the real MCP SDK (issue 19): two SDK servers, the
primary and its alternate.  A session opened on the primary gets a clear
error once the primary is gone (its id means nothing on the alternate); an
SDK client that starts then goes through on the alternate (its session
stays there); the breaker skips the primary while it is down and, once it
is back and the back-off is over, probes it and uses it again.
"""

from __future__ import annotations

import json
from typing import Any

from twisted.internet import reactor as _reactor
from twisted.internet.defer import ensureDeferred, Deferred
from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from tests.harness import KEY, ProxyHarness, request, rpc
from tests.support.procs import resultOf, runClient, startUpstream
from tests.test_fallback import PLAIN, chainConfig, refusingPort
from tests.test_support_fixtures import HANDSHAKE, MODERN

reactor: Any = _reactor

ECHO = json.dumps({"tool": "echo", "arguments": {"text": "through the alternate"}})


class FallbackThroughSDK(TestCase):
    timeout = 180

    def test_refusing_primary(self) -> Deferred[None]:
        return ensureDeferred(self._refusingPrimary())

    async def _client(self, mode: str) -> list[dict[str, Any]]:
        lines = await runClient(
            reactor,
            ["--url", self.url, "--header", f"X-Akto-Api-Key: {KEY}", "--mode", mode, "--timeout", "25", "--list-tools", "--call", ECHO],
        )
        for line in lines:
            self.assertTrue(line.get("ok"), line)
        self.assertEqual(resultOf(lines, "call")["result"]["text"], "through the alternate")
        return lines

    def records(self, since: int) -> list[dict[str, Any]]:
        return self.proxy.service.recentEvents()[since:]

    def circuit(self) -> dict[str, Any]:
        return self.proxy.service.health()["circuits"][f"http://127.0.0.1:{self.portA}"]

    async def _refusingPrimary(self) -> None:
        urlA, self.portA, handleA = await startUpstream(reactor, "streamable-json")
        self.addCleanup(lambda: handleA.stop())
        urlB, portB, handleB = await startUpstream(reactor, "streamable-json")
        self.addCleanup(handleB.stop)
        clock = Clock()  # the breaker's time
        self.proxy = ProxyHarness(
            self,
            chainConfig(urlA, [urlB], "  breaker: {failures: 2, open_for: 30s}\n"),
            base=PLAIN,
            clock=clock,
        )
        path = urlA.split(f"127.0.0.1:{self.portA}", 1)[1]
        self.url = f"{self.proxy.base}/proxy/http/127.0.0.1:{self.portA}{path}"
        usedA, usedB = f"http://127.0.0.1:{self.portA}{path}", f"http://127.0.0.1:{portB}{path}"

        # a session opened on the primary while it is up
        headers = {b"mcp-protocol-version": [HANDSHAKE.encode()]}
        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": HANDSHAKE, "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}
        response, body = await rpc(self.url.encode(), init, extra=headers)
        self.assertEqual(response.code, 200, body)
        [session] = response.headers.getRawHeaders(b"mcp-session-id")
        headers[b"mcp-session-id"] = [session]
        response, _ = await rpc(self.url.encode(), {"jsonrpc": "2.0", "method": "notifications/initialized"}, extra=headers)
        self.assertEqual(response.code, 202)
        self.assertEqual(self.records(0)[-1]["upstream_used"], usedA)

        # the primary goes away: the session's requests get a clear error and
        # stay where the session is
        await handleA.stop()
        await self.proxy.service.pool.closeCachedConnections()
        mark = len(self.records(0))
        listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
        for _ in range(2):
            response, body = await rpc(self.url.encode(), listing, extra=headers)
            self.assertEqual(response.code, 502)
            self.assertEqual(json.loads(body)["error"]["message"], "upstream refused the connection")
        self.assertEqual(self.circuit()["state"], "open")
        response, body = await rpc(self.url.encode(), listing, extra=headers)
        self.assertEqual(response.code, 503)
        self.assertIn("its session cannot move to another upstream", json.loads(body)["error"]["message"])
        self.assertEqual(len(self.records(mark)), 3)
        for record in self.records(mark):
            self.assertEqual([a["upstream"] for a in record["upstream_attempts"]], [usedA])
            self.assertIsNone(record["upstream_used"])

        # new SDK clients go through on the alternate: a handshake-era
        # session (bound to the alternate) and 2026-07-28 stateless requests;
        # the primary's circuit is open, so it is not even tried
        mark = len(self.records(0))
        await self._client("legacy")
        await self._client("auto")
        records = self.records(mark)
        self.assertTrue(records)
        for record in records:
            self.assertEqual(record["upstream_used"], usedB, record)
            self.assertTrue(record["fallback"])
            self.assertIn(record["upstream_attempts"], ([], [{"upstream": usedA, "error": "circuit_open"}]))
        self.assertTrue(any(r["upstream_attempts"] for r in records))
        sessionOnB = [r for r in records if r["rpc_method"] == "tools/call" and not r["upstream_attempts"]]
        self.assertTrue(sessionOnB, "the alternate's session routed there")

        # the primary is back; after the back-off one request probes it and
        # the circuit closes
        _, again, handleA2 = await startUpstream(reactor, "streamable-json", extraArgs=["--port", str(self.portA)])
        self.addCleanup(handleA2.stop)
        self.assertEqual(again, self.portA)
        clock.advance(30)
        mark = len(self.records(0))
        lines = await self._client("legacy")
        self.assertEqual(resultOf(lines, "connect")["result"]["protocolVersion"], HANDSHAKE)
        self.assertEqual(self.circuit()["state"], "closed")
        self.assertGreaterEqual(len(self.records(mark)), 4)  # initialize, initialized, list, call, DELETE
        for record in self.records(mark):
            self.assertEqual(record["upstream_used"], usedA, record)
            self.assertFalse(record["fallback"])
        response, body = await request(f"{self.proxy.base}/health".encode(), headers={b"authorization": [f"Bearer {KEY}".encode()]}, key=None)
        circuits = json.loads(body)["data"]["response"]["circuits"]
        self.assertEqual(circuits[f"http://127.0.0.1:{self.portA}"]["state"], "closed")
        self.assertEqual(circuits[f"http://127.0.0.1:{portB}"]["state"], "closed")


class LegacyFallbackThroughSDK(TestCase):
    """
    The legacy HTTP+SSE transport: the stream opens on the alternate; its
    C{endpoint} names the client's own proxy URL (the primary's), and the
    session's POSTs go to the alternate that holds the stream.
    """

    timeout = 120

    def test_legacy_session_on_alternate(self) -> Deferred[None]:
        return ensureDeferred(self._legacy())

    async def _legacy(self) -> None:
        dead = await refusingPort()
        urlB, portB, handleB = await startUpstream(reactor, "legacy-sse", "absolute-url")
        self.addCleanup(handleB.stop)
        proxy = ProxyHarness(
            self,
            chainConfig(f"http://127.0.0.1:{dead}", [f"http://127.0.0.1:{portB}"]),
            base=PLAIN,
        )
        path = urlB.split(f"127.0.0.1:{portB}", 1)[1]
        url = f"{proxy.base}/proxy/http/127.0.0.1:{dead}{path}"
        lines = await runClient(
            reactor,
            ["--url", url, "--transport", "sse", "--header", f"X-Akto-Api-Key: {KEY}", "--timeout", "25", "--list-tools", "--call", ECHO],
        )
        for line in lines:
            self.assertTrue(line.get("ok"), line)
        self.assertEqual(resultOf(lines, "call")["result"]["text"], "through the alternate")
        records = proxy.service.recentEvents()
        posts = [r for r in records if r["method"] == "POST"]
        self.assertGreaterEqual(len(posts), 3)  # initialize, initialized, list, call
        for record in records:
            # the client only ever named the primary
            self.assertTrue(record["upstream"].startswith(f"http://127.0.0.1:{dead}/"), record)
            self.assertTrue(record["upstream_used"].startswith(f"http://127.0.0.1:{portB}/"), record)
        for record in posts:
            self.assertEqual(record["upstream_attempts"], [], record)  # the session's: straight to the alternate


__all__ = ["MODERN"]
