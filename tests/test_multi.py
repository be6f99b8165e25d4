"""
Several instances as one proxy (SPEC section 8), as operators run them: two
twistd processes sharing one redis-server, behind a round-robin balancer
with no session affinity (the real MCP SDK legacy SSE client, whose POSTs
go to the two ports in turn), in front of the real SDK legacy-SSE server.
"""

from __future__ import annotations

import json
import os
from typing import Any

from twisted.internet import reactor as _reactor
from twisted.internet.defer import Deferred, ensureDeferred
from twisted.trial.unittest import TestCase

from tests.access.redisserver import SKIP, RedisServer
from tests.harness import ADMIN_ACCESS, ADMIN_KEY, KEY, request
from tests.support.procs import resultOf, runClient, startUpstream
from tests.test_daemon import ROOT, Daemon, spawnDaemon
from tests.test_mcp_e2e import ALLOWED, BLOCKED, PROXY_CONFIG

reactor: Any = _reactor

# the custom rule of the SDK end-to-end tests (PROXY_CONFIG), two instances
# of it on one Redis
CONFIG = (
    """
listen: ["tcp:0:interface=127.0.0.1"]
%s
upstreams:
  allow: ["127.0.0.1"]
  allow_private: ["127.0.0.0/8"]
"""
    + PROXY_CONFIG.replace("%", "%%")
    + """
redis:
  url: "%s"
  on_error: {rate_limits: open, sessions: open, legacy_routing: closed}
mcp:
  state_dir: "%s"
"""
)


async def collect(daemon: Daemon, pred: Any, n: int) -> list[dict[str, Any]]:
    """
    The first C{n} log events of C{daemon} that C{pred} accepts, waiting
    for them (each wait bounded by L{Daemon.waitFor}).
    """
    seen: list[dict[str, Any]] = []
    while len(seen) < n:
        ids = {e.get("request_id") for e in seen}
        seen.append(await daemon.waitFor(lambda e: pred(e) and e.get("request_id") not in ids))
    return seen


class TwoInstancesTests(TestCase):
    skip = SKIP

    async def daemon(self, redisURL: str) -> tuple[Daemon, int]:
        path = os.path.abspath(self.mktemp())
        state = os.path.abspath(self.mktemp())
        with open(path, "w") as f:
            f.write(CONFIG % (ADMIN_ACCESS, redisURL, state))
        daemon, proc = spawnDaemon(path, dict(os.environ, PYTHONPATH=ROOT))

        async def stop() -> None:
            if not daemon.ended.called:
                proc.signalProcess("TERM")
                await daemon.ended

        self.addCleanup(lambda: Deferred.fromCoroutine(stop()))
        started = await daemon.waitFor(lambda e: e.get("listening"))
        return daemon, int(started["port"])

    def test_legacySessionAcrossInstances(self) -> Deferred[None]:
        """
        A legacy-SSE session opened through instance A, its POSTs sent to A
        and B in turn: every call is answered on A's stream, a blocked call
        with the proxy's tool result whichever instance it landed on.
        """

        async def go() -> None:
            redis = await RedisServer().start()
            self.addCleanup(redis.kill)
            upstreamURL, upPort, upstream = await startUpstream(reactor, "legacy-sse", "absolute-path")
            self.addCleanup(upstream.stop)
            (a, portA), (b, portB) = [await self.daemon(redis.url), await self.daemon(redis.url)]
            path = upstreamURL.split(f"127.0.0.1:{upPort}", 1)[1]
            url = f"http://127.0.0.1:{portA}/proxy/http/127.0.0.1:{upPort}{path}"
            self.daemons = (a, b)
            lines = await runClient(
                reactor,
                ["--url", url, "--header", f"X-Akto-Api-Key: {KEY}", "--mode", "legacy", "--timeout", "25",
                 "--alternate-posts", str(portB),
                 "--list-tools", "--call", BLOCKED, "--call", ALLOWED, "--call", ALLOWED, "--call", BLOCKED],
            )
            # POSTs: initialize A, initialized B, tools/list A, blocked B,
            # allowed A, allowed B, blocked A
            ports = resultOf(lines, "posts")["ports"]
            self.assertEqual(ports, [portA, portB] * 3 + [portA])
            self.assertIn("read_file", resultOf(lines, "list_tools")["result"]["tools"])
            for i in (0, 3):
                blocked = resultOf(lines, "call", i)
                self.assertTrue(blocked["ok"], blocked)
                self.assertTrue(blocked["result"]["isError"], blocked)
                self.assertTrue(blocked["result"]["text"].startswith("Blocked by akto-proxy: custom_rules"), blocked)
            for i in (1, 2):
                allowed = resultOf(lines, "call", i)
                self.assertTrue(allowed["ok"], allowed)
                self.assertFalse(allowed["result"]["isError"], allowed)
                self.assertIn("notes.txt", allowed["result"]["text"])

            # B forwarded its three POSTs to A; A judged them: both blocked
            # calls are in A's log, with their rule, whichever instance
            # they landed on
            forwarded = await collect(b, lambda e: e.get("access") and e.get("method") == "POST", 3)
            self.assertEqual({(e["outcome"], e["status"]) for e in forwarded}, {("forwarded", 202)})
            served = await collect(a, lambda e: e.get("message", "").startswith("legacy POST forwarded by instance"), 3)
            self.assertEqual({e["forwarded_request_id"] for e in served}, {e["request_id"] for e in forwarded})
            blockedOnA = await collect(a, lambda e: e.get("access") and e.get("blocked"), 2)
            for e in blockedOnA:
                self.assertEqual((e["status"], e["rpc_method"], e["name"]), (202, "tools/call", "read_file"))
                self.assertEqual(e["threats_detected"][0]["rule"], "Block Sensitive File Access")
            servedIds = {e["request_id"] for e in served}
            self.assertEqual(len([e for e in blockedOnA if e["request_id"] in servedIds]), 1)
            self.assertEqual(
                sorted(e["reason"].rsplit(" ", 1)[1] for e in forwarded), ["blocked", "relayed", "relayed"]
            )

            # the tools A pinned when the client listed them reach B (which
            # never saw the list) through Redis
            await b.waitFor(lambda e: e.get("message", "").startswith("pins updated from another instance"))
            response, body = await request(
                f"http://127.0.0.1:{portB}/api/pins".encode(), headers={b"authorization": [f"Bearer {ADMIN_KEY}".encode()]}, key=None
            )
            self.assertEqual(response.code, 200, body)
            pins = json.loads(body)["data"]["response"]["pins"]
            self.assertIn("read_file", {p["name"] for p in pins})
            self.assertEqual({p["endpoint"] for p in pins}, {f"http://127.0.0.1:{upPort}{path}"})

        d = ensureDeferred(go())

        def dump(f: Any) -> Any:
            for n, dd in zip("AB", getattr(self, "daemons", ())):
                for line in dd.lines:
                    if os.environ.get("MULTI_DEBUG"):
                        print(n, line.decode(errors="replace")[:600])
            return f

        return d.addErrback(dump)
