"""
The response cache with the real MCP SDK as client and server (issue 19):
a cached C{tools/list} served without the upstream within its TTL and
fetched again after C{notifications/tools/list_changed}; two keys whose
roles see different tools never see each other's lists; C{resources/read}
revalidated by ETag.  What reached the upstream is read from the proxy's
access lines (a hit has no upstream time).
"""

from __future__ import annotations

from typing import Any

from twisted.internet import reactor as _reactor
from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from akto_proxy.mcp.events import ExchangeEvent
from tests.harness import KEY, OTHER_KEY, ProxyHarness
from tests.support.mcp_upstream import README_TEXT
from tests.support.procs import resultOf, runClient, startUpstream

reactor: Any = _reactor

CONFIG = """access_control:
  api_keys:
    - {name: tester, key: "%s", roles: [dev]}
    - {name: other, key: "%s", roles: [narrow]}
  roles:
    dev:
      allow: ["*"]
    narrow:
      allow: ["tools/list", "tools/call:echo", "tools/call:add", "resources/*"]
upstreams:
  allow: ["127.0.0.1"]
  allow_private: ["127.0.0.0/8"]
threat_detection:
  enabled_checks: []
cache:
  enabled: true
  ttl: 60s
  max_size: 8MiB
""" % (KEY, OTHER_KEY)

BASE = 'listen: ["tcp:0:interface=127.0.0.1"]\n'


#: the SDK server's caching hints (2026-07-28): fresh for a minute, shared
HINTS = ("--cache-ttl-ms", "60000", "--cache-scope", "public")


class _SDKCache:
    transport = "streamable-json"
    mode = "auto"
    extraArgs: tuple[str, ...] = HINTS
    #: runs share what is kept (2026-07-28 is stateless, and its answers
    #: public; the handshake era keys by session)
    shared = True
    #: its answers are fresh for a while (not ttlMs 0)
    fresh = True

    async def start(self) -> None:
        upstreamURL, port, handle = await startUpstream(reactor, self.transport, extraArgs=self.extraArgs)
        self.addCleanup(handle.stop)  # type: ignore[attr-defined]
        self.clock = Clock()
        self.clock.advance(1000)
        self.proxy = ProxyHarness(self, CONFIG, base=BASE, clock=self.clock)
        self.lines: list[dict[str, Any]] = []
        self.proxy.service.bus.subscribe(ExchangeEvent, lambda e: self.lines.append(e.fields))
        path = upstreamURL.split(f"127.0.0.1:{port}", 1)[1]
        self.url = f"{self.proxy.base}/proxy/http/127.0.0.1:{port}{path}"

    async def client(self, *actions: str, key: str = KEY) -> list[dict[str, Any]]:
        lines = await runClient(
            reactor, ["--url", self.url, "--header", f"X-Akto-Api-Key: {key}", "--mode", self.mode, "--timeout", "25", *actions]
        )
        for line in lines:
            assert line.get("ok") is True, line
        return lines

    def cached(self, method: str) -> list[Any]:
        """
        What the cache made of each C{method} exchange, in order, and
        whether it reached the upstream.
        """
        return [(f["cache"], f["upstream_ms"] is not None) for f in self.lines if f.get("rpc_method") == method]

    async def test_listWithinTTL(self) -> None:
        await self.start()
        lines = await self.client("--list-tools", "--list-tools")
        first, second = resultOf(lines, "list_tools", 0), resultOf(lines, "list_tools", 1)
        self.assertEqual(first["result"], second["result"])  # type: ignore[attr-defined]
        self.assertIn("delete_everything", first["result"]["tools"])  # type: ignore[attr-defined]
        second = ("hit", False) if self.fresh else ("miss", True)
        self.assertEqual(self.cached("tools/list")[-2:], [("miss", True), second])  # type: ignore[attr-defined]

    async def test_rolesNeverCross(self) -> None:
        await self.start()
        wide = resultOf(await self.client("--list-tools", key=KEY), "list_tools")["result"]["tools"]
        narrow = resultOf(await self.client("--list-tools", key=OTHER_KEY), "list_tools")["result"]["tools"]
        again = resultOf(await self.client("--list-tools", key=KEY), "list_tools")["result"]["tools"]
        self.assertIn("delete_everything", wide)  # type: ignore[attr-defined]
        self.assertEqual(sorted(narrow), ["add", "echo"])  # type: ignore[attr-defined]
        self.assertEqual(again, wide)  # type: ignore[attr-defined]
        outcomes = [c for c, _ in self.cached("tools/list")]
        # one list each run: shared (2026-07-28, public) whatever the key,
        # or kept per session (handshake era)
        self.assertEqual(outcomes, ["miss", "hit", "hit"] if self.shared else ["miss", "miss", "miss"])  # type: ignore[attr-defined]


class StreamableJSONCache(_SDKCache, TestCase):
    extraArgs = HINTS + ("--etag",)

    async def test_resourceRevalidatedByETag(self) -> None:
        """
        A stale resources/read is revalidated with If-None-Match; the SDK
        server's 304 serves the kept answer.
        """
        await self.start()
        lines = await self.client("--read-resource", "demo://readme", "--read-resource", "demo://readme")
        self.assertEqual(resultOf(lines, "read_resource", 1)["result"]["text"], README_TEXT)
        self.clock.advance(120)
        lines = await self.client("--read-resource", "demo://readme")
        self.assertEqual(resultOf(lines, "read_resource", 0)["result"]["text"], README_TEXT)
        reads = self.cached("resources/read")
        self.assertEqual(reads[:2], [("miss", True), ("hit", False)])
        self.assertEqual(reads[-1], ("revalidated", True))


class StreamableSSECache(_SDKCache, TestCase):
    transport = "streamable-sse"

    async def test_listChanged(self) -> None:
        """
        notifications/tools/list_changed (sent on a tool call's SSE answer)
        drops the kept list: the next tools/list reaches the upstream.
        """
        await self.start()
        await self.client("--list-tools", "--list-tools", "--call", '{"tool": "touch_tools"}', "--list-tools", "--list-tools")
        self.assertEqual(
            self.cached("tools/list")[-4:], [("miss", True), ("hit", False), ("miss", True), ("hit", False)]
        )


class HandshakeEraSSECache(StreamableSSECache):
    mode = "legacy"
    shared = False


class HandshakeEraCache(_SDKCache, TestCase):
    """
    The initialize era: sessions (Mcp-Session-Id), no ttlMs (cache.ttl),
    answers kept per session.
    """

    mode = "legacy"
    shared = False


class NoHintsCache(_SDKCache, TestCase):
    """
    The SDK server's own default under 2026-07-28, C{ttlMs: 0}: immediately
    stale, so every tools/list reaches it.
    """

    extraArgs = ()
    shared = False
    fresh = False
