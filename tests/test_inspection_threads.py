"""
Large messages are inspected in the proxy's own thread pool, made on demand
and stopped with the service (C{akto_proxy.inspect.checks.offload}).
"""

from __future__ import annotations

import json
from typing import Any

from twisted.internet.defer import ensureDeferred
from twisted.trial.unittest import TestCase

from tests.harness import ProxyHarness, Upstream, rpc

CHECKS = """
threat_detection:
  sensitivity: medium
  enabled_checks: [sql_injection, command_injection, path_traversal, data_exfiltration]
"""


def call(text: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "lookup", "arguments": {"host": text}}}


class InspectionThreadsTests(TestCase):
    def test_largeMessagesOnOwnPool(self) -> Any:
        """
        No inspection thread exists before the first large message; a large
        message is judged on one of the pool's threads, with the same
        answer as inline; the service's stop ends the threads.
        """

        async def run() -> None:
            upstream = await Upstream().start()
            self.addCleanup(upstream.stop)
            holder: list[Any] = []
            # runs after the harness's own cleanup (stopService)
            self.addCleanup(lambda: self.assertEqual((holder[0].joined, [t for t in holder[0].threads if t.is_alive()]), (True, [])))
            proxy = ProxyHarness(self, CHECKS)
            pool = proxy.service.inspectionThreads
            holder.append(pool)
            url = proxy.url(upstream, "/rpc")
            self.assertEqual(pool.threads, [])
            # small: inline, no thread
            response, body = await rpc(url, call("example.com; cat /etc/shadow"))
            self.assertIn("Blocked by akto-proxy", body.decode())
            self.assertEqual(pool.threads, [])
            # large: on the pool, blocked all the same, and clean ones relayed
            response, body = await rpc(url, call("a" * 100_000 + " ; cat /etc/shadow"))
            self.assertIn("Blocked by akto-proxy", body.decode())
            self.assertEqual([t.name for t in pool.threads], ["PoolThread-akto-inspect-0"])
            response, body = await rpc(url, call("a" * 100_000))
            self.assertEqual(response.code, 200)
            self.assertNotIn("Blocked", body.decode())
            self.assertEqual(json.loads(body)["id"], 7)

        return ensureDeferred(run())
