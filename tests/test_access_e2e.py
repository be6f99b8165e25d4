"""
Access control through the running proxy (SPEC section 3): roles over
operations (with the MCP SDK client), sessions bound to keys, rate limits in
process and shared through a real Redis.
"""

from __future__ import annotations

import json
from typing import Any

from twisted.internet import reactor as _reactor
from twisted.internet.defer import Deferred, ensureDeferred
from twisted.trial.unittest import SkipTest, TestCase

from tests.access.redisserver import REDIS_SERVER, RedisServer, whenDown, whenUp
from tests.harness import KEY, OTHER_KEY, ProxyHarness, Upstream, request, rpc
from tests.support.procs import ProcessHandle, resultOf, runClient, startUpstream

reactor: Any = _reactor

ROLES = """
listen: ["tcp:0:interface=127.0.0.1"]
access_control:
  api_keys:
    - {name: tester, key: "%s", roles: [reader]}
    - {name: other, key: "%s", roles: [admin]}
  roles:
    reader:
      allow: ["tools/list", "tools/call:*", "resources/*", "prompts/*"]
      deny: ["tools/call:delete_*", "tools/call:run_sql"]
      upstreams: ["127.0.0.1"]
    admin:
      allow: ["*", "tools/call:*"]
upstreams:
  allow: ["127.0.0.1"]
  allow_private: ["127.0.0.0/8"]
threat_detection:
  enabled_checks: []
""" % (KEY, OTHER_KEY)


class RolesWithSDK(TestCase):
    def setUp(self) -> Deferred[None]:
        d = startUpstream(reactor, "streamable-sse", None)

        def started(result: tuple[str, int, ProcessHandle]) -> None:
            _, port, self.upstream = result
            self.addCleanup(self.upstream.stop)
            self.proxy = ProxyHarness(self, base=ROLES)
            self.url = f"{self.proxy.base}/proxy/http/127.0.0.1:{port}/mcp"

        return d.addCallback(started)

    async def run_client(self, key: str, mode: str, *actions: str) -> list[dict[str, Any]]:
        return await runClient(
            reactor, ["--url", self.url, "--header", f"X-Akto-Api-Key: {key}", "--mode", mode, "--timeout", "25", *actions]
        )

    def check(self, mode: str) -> Deferred[None]:
        async def go() -> None:
            lines = await self.run_client(
                KEY, mode, "--list-tools",
                "--call", json.dumps({"tool": "delete_everything", "arguments": {}}),
                "--call", json.dumps({"tool": "echo", "arguments": {"text": "hi"}}),
            )
            tools = set(resultOf(lines, "list_tools")["result"]["tools"])
            self.assertNotIn("delete_everything", tools)
            self.assertNotIn("run_sql", tools)
            self.assertIn("echo", tools)
            denied = resultOf(lines, "call", 0)
            self.assertFalse(denied["ok"])
            self.assertIn("Unknown tool", json.dumps(denied))
            self.assertTrue(resultOf(lines, "call", 1)["ok"])
            # an unrestricted key sees everything
            lines = await self.run_client(OTHER_KEY, mode, "--list-tools")
            self.assertIn("delete_everything", resultOf(lines, "list_tools")["result"]["tools"])

        return ensureDeferred(go())

    def test_restricted_role_auto(self) -> Deferred[None]:
        return self.check("auto")

    def test_restricted_role_legacy(self) -> Deferred[None]:
        return self.check("legacy")


class SessionTests(TestCase):
    """
    Streamable HTTP sessions are bound to the key that initialized them.
    """

    def setUp(self) -> Deferred[None]:
        return ensureDeferred(self._setUp())

    async def _setUp(self) -> None:
        self.upstream = await Upstream().start()
        self.addCleanup(self.upstream.stop)
        counter = [0]

        def rpcWithSession(request: Any, body: bytes) -> bytes:
            msg = json.loads(body)
            request.setHeader(b"content-type", b"application/json")
            if msg.get("method") == "initialize":
                counter[0] += 1
                request.setHeader(b"mcp-session-id", b"s-%d" % counter[0])
            if request.method == b"DELETE":
                return b""
            return json.dumps({"jsonrpc": "2.0", "id": msg.get("id"), "result": {}}).encode()

        self.upstream.handlers[b"rpc"] = rpcWithSession
        from tests.harness import BASE

        from twisted.internet.task import Clock

        self.clock = Clock()
        self.proxy = ProxyHarness(self, base=BASE.replace("access_control:\n", "access_control:\n  session_timeout: 30s\n"), clock=self.clock)
        self.url = self.proxy.url(self.upstream, "/rpc")

    def init(self, key: str = KEY) -> Any:
        return rpc(self.url, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}, key=key)

    def call(self, sid: bytes, key: str = KEY) -> Any:
        return rpc(self.url, {"jsonrpc": "2.0", "id": 2, "method": "ping"}, key=key, extra={b"mcp-session-id": [sid]})

    def test_bound_foreign_expired(self) -> Deferred[None]:
        async def go() -> None:
            response, _ = await self.init()
            sid = response.headers.getRawHeaders(b"mcp-session-id")[0]
            response, _ = await self.call(sid)
            self.assertEqual(response.code, 200)
            # the same session id with another key: refused, never relayed
            before = len(self.upstream.recorder.requests)
            response, body = await self.call(sid, key=OTHER_KEY)
            self.assertEqual(response.code, 404)
            self.assertEqual(json.loads(body)["error"]["code"], "session_not_found")
            self.assertEqual(len(self.upstream.recorder.requests), before)
            # unknown id
            response, _ = await self.call(b"never-issued")
            self.assertEqual(response.code, 404)
            # used within the timeout: kept; idle past it: expired (404, the
            # client re-initializes)
            self.clock.advance(29)
            response, _ = await self.call(sid)
            self.assertEqual(response.code, 200)
            self.clock.advance(30)
            response, _ = await self.call(sid)
            self.assertEqual(response.code, 404)

        return ensureDeferred(go())


RATE = """
guardrails:
  - name: "Rate Limiting"
    type: "rate_limit"
    rules:
      - requests_per_minute: 4
        per_client: true
"""


class RateLimitTests(TestCase):
    def setUp(self) -> Deferred[None]:
        return ensureDeferred(self._setUp())

    async def _setUp(self) -> None:
        self.upstream = await Upstream().start()
        self.addCleanup(self.upstream.stop)

    def msg(self, i: int, method: str = "tools/call") -> dict[str, Any]:
        return {"jsonrpc": "2.0", "id": i, "method": method, "params": {"name": "echo", "arguments": {"i": i}}}

    def test_in_process(self) -> Deferred[None]:
        async def go() -> None:
            proxy = ProxyHarness(self, RATE)
            url = proxy.url(self.upstream, "/rpc")
            # a batch of three counts three; a notification counts nothing
            response, _ = await rpc(url, [self.msg(1), self.msg(2), self.msg(3)])
            self.assertEqual(response.code, 200)
            response, _ = await rpc(url, {"jsonrpc": "2.0", "method": "notifications/progress", "params": {}})
            self.assertEqual(response.code, 202)
            response, body = await rpc(url, self.msg(4))
            self.assertEqual(response.code, 200, body)
            response, body = await rpc(url, self.msg(5))
            self.assertEqual((response.code, response.phrase), (429, b"Too Many Requests"))
            retry = int(response.headers.getRawHeaders(b"retry-after")[0])
            self.assertTrue(55 <= retry <= 60, retry)
            # SPEC section 5: a JSON-RPC request's 429 body is the -31001
            # error for its id, with retry_after and request_id in its data
            answer = json.loads(body)
            self.assertEqual((answer["id"], answer["error"]["code"]), (5, -31001))
            self.assertIn("rate limit exceeded (Rate Limiting)", answer["error"]["message"])
            self.assertEqual(answer["error"]["data"]["retry_after"], retry)
            self.assertEqual(answer["error"]["data"]["request_id"], response.headers.getRawHeaders(b"x-akto-request-id")[0].decode())
            # a plain HTTP request gets the envelope
            response, body = await request(proxy.url(self.upstream, "/echo"))
            self.assertEqual(response.code, 429)
            self.assertEqual(json.loads(body)["error"]["code"], "rate_limited")
            # per client: the other key has its own budget
            response, _ = await rpc(url, self.msg(6), key=OTHER_KEY)
            self.assertEqual(response.code, 200)
            self.assertEqual(proxy.service.counters["rate_limited"], 2)

        return ensureDeferred(go())

    def test_shared_redis(self) -> Deferred[None]:
        """
        Two proxies sharing one Redis enforce one limit; Redis killed: the
        configured policy (closed here) applies; Redis back: recovered.
        """
        if REDIS_SERVER is None:
            raise SkipTest("redis-server is not installed (apt-get install redis-server)")

        async def go() -> None:
            server = await RedisServer().start()
            self.addCleanup(server.kill)
            extra = RATE.replace("requests_per_minute: 4", "requests_per_minute: 10") + (
                f"redis:\n  url: \"{server.url}\"\n  on_error: closed\n"
            )
            a = ProxyHarness(self, extra)
            b = ProxyHarness(self, extra)
            await whenUp(a.service.redis)
            await whenUp(b.service.redis)
            codes = []
            for i in range(20):
                proxy = a if i % 2 else b
                response, _ = await rpc(proxy.url(self.upstream, "/rpc"), self.msg(i))
                codes.append(response.code)
            self.assertEqual(codes.count(200), 10)
            self.assertEqual(codes.count(429), 10)
            # Redis dies: on_error closed refuses (429), the proxy stays up
            await server.kill()
            await whenDown(a.service.redis)
            response, body = await rpc(a.url(self.upstream, "/rpc"), self.msg(99), key=OTHER_KEY)
            self.assertEqual(response.code, 429)
            # Redis returns (empty): the proxy reconnects by itself
            await server.start()
            await whenUp(a.service.redis)
            response, _ = await rpc(a.url(self.upstream, "/rpc"), self.msg(100), key=OTHER_KEY)
            self.assertEqual(response.code, 200)

        return ensureDeferred(go())


__all__ = ["request"]


class ReloadKeepsSessions(SessionTests):
    def test_bound_foreign_expired(self) -> Deferred[None]:  # not repeated here
        return ensureDeferred(_noop())

    def test_reload_keeps_allowed_sessions(self) -> Deferred[None]:
        async def go() -> None:
            from tests.harness import BASE

            response, _ = await self.init()
            sid = response.headers.getRawHeaders(b"mcp-session-id")[0]
            # new limits and a longer timeout; the key stays
            self.proxy.rewrite(RATE.replace("requests_per_minute: 4", "requests_per_minute: 50"),
                               base=BASE.replace("access_control:\n", "access_control:\n  session_timeout: 30s\n"))
            self.assertTrue(self.proxy.service.reload())
            response, _ = await self.call(sid)
            self.assertEqual(response.code, 200)
            self.assertIn("Rate Limiting", [g.name for g in self.proxy.service.runtime.config.guardrails])

        return ensureDeferred(go())


async def _noop() -> None:
    return None


class TwoProcessesShareRedis(TestCase):
    """
    Two proxy daemons (twistd processes) behind one Redis enforce one limit.
    """

    def test_one_limit(self) -> Deferred[None]:
        if REDIS_SERVER is None:
            raise SkipTest("redis-server is not installed (apt-get install redis-server)")
        import os
        import sys

        from tests.harness import BASE
        from tests.test_daemon import ROOT, Daemon

        async def go() -> None:
            server = await RedisServer().start()
            self.addCleanup(server.kill)
            upstream = await Upstream().start()
            self.addCleanup(upstream.stop)
            path = os.path.abspath(self.mktemp())
            limit = 30
            with open(path, "w") as f:
                f.write(
                    BASE
                    + RATE.replace("requests_per_minute: 4", f"requests_per_minute: {limit}")
                    + f"redis:\n  url: \"{server.url}\"\n  on_error: closed\n"
                    + "threat_detection:\n  enabled_checks: []\n"
                )
            bases = []
            for _ in range(2):
                daemon = Daemon()
                proc = reactor.spawnProcess(
                    daemon, sys.executable,
                    [sys.executable, "-c", "from twisted.scripts.twistd import run; run()",
                     "-n", "--pidfile=", "akto-proxy", "--config", path],
                    env=dict(os.environ, PYTHONPATH=ROOT, STATE_DIRECTORY=os.path.abspath(self.mktemp())), path=ROOT,
                )
                self.addCleanup(lambda p=proc, d=daemon: (p.signalProcess("KILL"), d.ended)[1] if not d.ended.called else None)
                started = await daemon.waitFor(lambda e: e.get("listening"))
                bases.append(f"http://127.0.0.1:{started['port']}")
            codes = []
            for i in range(3 * limit):
                base = bases[i % 2]
                url = f"{base}/proxy/http/{upstream.authority}/rpc".encode()
                response, _ = await rpc(url, {"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {"name": "echo"}})
                codes.append(response.code)
            self.assertEqual(codes.count(200), limit)
            self.assertEqual(codes.count(429), 2 * limit)

        return ensureDeferred(go())
