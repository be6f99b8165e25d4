"""
The MCP TypeScript SDK client (C{@modelcontextprotocol/sdk}, installed by
C{scripts/test} with npm into tests/support/ts) through the proxy: what it
shows when the proxy refuses a call for a rate limit or for its size.
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Any

from twisted.internet import reactor as _reactor
from twisted.internet.defer import Deferred, ensureDeferred
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import SkipTest, TestCase

from tests.harness import KEY, ProxyHarness
from tests.support.procs import ProcessHandle, startUpstream

reactor: Any = _reactor
HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "support", "ts")

CONFIG = """
threat_detection:
  enabled_checks: []
limits:
  max_request_body: 4KiB
guardrails:
  - name: "Rate Limiting"
    type: "rate_limit"
    rules:
      - requests_per_minute: 5
        per_client: true
"""


class TypeScriptClientTests(TestCase):
    def setUp(self) -> Deferred[None]:
        self.node = shutil.which("node")
        if self.node is None or not os.path.isdir(os.path.join(HERE, "node_modules", "@modelcontextprotocol", "sdk")):
            raise SkipTest("node or @modelcontextprotocol/sdk missing (scripts/test installs them: npm install in tests/support/ts)")
        d = startUpstream(reactor, "streamable-json")

        def started(result: tuple[str, int, ProcessHandle]) -> None:
            upstreamURL, port, upstream = result
            self.addCleanup(upstream.stop)
            self.proxy = ProxyHarness(self, CONFIG)
            self.url = self.proxy.base + "/proxy/http/" + upstreamURL.split("://", 1)[1]

        return d.addCallback(started)

    async def calls(self, *calls: dict[str, Any]) -> list[dict[str, Any]]:
        out, err, code = await getProcessOutputAndValue(
            self.node, ["client.mjs", self.url, KEY, *map(json.dumps, calls)], env=dict(os.environ), path=HERE
        )
        self.assertEqual(code, 0, err.decode("utf-8", "replace")[-2000:])
        return [json.loads(line) for line in out.decode().splitlines() if line.strip()]

    def test_refusalsShown(self) -> Deferred[None]:
        """
        The TypeScript client raises on a non-2xx answer with the body's text
        in its message: the proxy's JSON-RPC error, with the reason, is what
        the agent sees.
        """

        async def go() -> None:
            small = {"tool": "echo", "arguments": {"text": "hi"}}
            big = {"tool": "echo", "arguments": {"text": "x" * 8000}}
            lines = await self.calls(small, big, *[small] * 6)
            self.assertTrue(lines[0]["ok"], lines)
            self.assertFalse(lines[1]["ok"], lines)
            self.assertIn("request body too large (limits.max_request_body: 4096 bytes)", lines[1]["error"])
            limited = lines[-1]
            self.assertFalse(limited["ok"], lines)
            self.assertIn("rate limit exceeded (Rate Limiting); retry after", limited["error"])

        return ensureDeferred(go())
