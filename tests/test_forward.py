"""
The routing of legacy-SSE POSTs between instances (L{akto_proxy.web.forward}),
in one process: two proxy services sharing a real redis-server, a Twisted
upstream holding the stream.  What each instance answers, what reaches the
upstream, the bounds, and Redis going away under each C{on_error}.
"""

from __future__ import annotations

import json
from typing import Any

from twisted.internet import reactor as _reactor
from twisted.internet.defer import ensureDeferred
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase
from twisted.web import server

from akto_proxy.relay.url import LEGACY_MARKER
from tests.access.redisserver import SKIP, RedisServer
from tests.harness import BASE, KEY, OTHER_KEY, ProxyHarness, Upstream, request, rpc
from tests.test_stream import openStream, waitFor

reactor: Any = _reactor

CONFIG = """
upstreams:
  allow: ['127.0.0.1']
  allow_private: ['127.0.0.0/8']
threat_detection:
  enabled_checks: []
  custom_rules:
    - {name: "passwd", pattern: "/etc/passwd", action: block}
redis:
  url: "%s"
  on_error: {legacy_routing: %s}
  max_forward_body: 2KiB
"""

CALL = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "read_file", "arguments": {"path": "notes.txt"}}}
BLOCKED = {"jsonrpc": "2.0", "id": 8, "method": "tools/call", "params": {"name": "read_file", "arguments": {"path": "/etc/passwd"}}}


class ForwardTests(TestCase):
    skip = SKIP
    onError = "closed"

    def setUp(self) -> Any:
        return ensureDeferred(self._setUp())

    async def _setUp(self) -> None:
        self.redis = await RedisServer().start()
        self.addCleanup(self.redis.kill)
        self.upstream = await Upstream().start()
        self.addCleanup(self.upstream.stop)
        self.posted: list[dict[str, Any]] = []

        def accept(request: server.Request, body: bytes) -> bytes:
            self.posted.append({"uri": request.uri, "body": body, "headers": dict(request.requestHeaders.getAllRawHeaders())})
            request.setResponseCode(202)
            return b"Accepted"

        self.upstream.handlers[b"custom"] = accept
        extra = CONFIG % (self.redis.url, self.onError)
        base = BASE.split("upstreams:")[0]
        self.a = ProxyHarness(self, extra, base=base)
        self.b = ProxyHarness(self, extra, base=base)
        for p in (self.a, self.b):
            assert p.service.router is not None
            await p.service.router.whenSubscribed().addTimeout(10, reactor)

    async def openSession(self) -> tuple[Any, Any, str]:
        """
        A legacy stream through A: (the upstream's stream, the client's
        reader, the POST path as the client got it, without the origin).
        """
        streamD = self.upstream.nextStream()
        responseD = ensureDeferred(openStream(self.a.url(self.upstream, "/sse")))
        stream = await streamD
        _, reader = await responseD
        stream.send(b"event: endpoint\r\ndata: /custom/messages?session_id=abc\r\n\r\n")
        data = await waitFor(reader, b"session_id=abc")
        line = [l for l in data.decode().splitlines() if l.startswith("data: ")][0]
        endpoint = line[len("data: "):]
        self.assertTrue(endpoint.startswith(self.a.base + "/proxy/http/"), endpoint)
        return stream, reader, endpoint[len(self.a.base):]

    def test_forwardedToTheHolder(self) -> Any:
        async def run() -> None:
            stream, reader, path = await self.openSession()
            assert self.a.service.router is not None and self.b.service.router is not None
            self.assertTrue(path.endswith(f"session_id=abc&akto_sse={self.a.service.router.instance}"), path)
            # allowed, through B: the upstream gets it at its own URL, the
            # marker and the proxy key stripped, the body unchanged
            response, body = await rpc((self.b.base + path).encode(), CALL)
            self.assertEqual((response.code, body), (202, b"Accepted"))
            (post,) = self.posted
            self.assertEqual(post["uri"], b"/custom/messages?session_id=abc")
            self.assertEqual(json.loads(post["body"]), CALL)
            self.assertNotIn(b"X-Akto-Api-Key", post["headers"])
            self.assertEqual(self.b.service.router.stats["forwarded"], 1)
            self.assertEqual(self.a.service.router.stats["served"], 1)
            # blocked, through B: 202, the refusal on A's stream, nothing upstream
            response, body = await rpc((self.b.base + path).encode(), BLOCKED)
            self.assertEqual(response.code, 202)
            data = await waitFor(reader, b"Blocked by akto-proxy")
            refusal = [l for l in data.decode().splitlines() if "Blocked by akto-proxy" in l][0]
            answer = json.loads(refusal[len("data: "):])
            self.assertEqual((answer["id"], answer["result"]["isError"]), (8, True))
            self.assertEqual(len(self.posted), 1)
            # A judged it: the record is A's, with the rule
            (blocked,) = [e for e in self.a.service.recentEvents() if e.get("blocked")]
            self.assertEqual(blocked["threats_detected"][0]["rule"], "passwd")
            self.assertFalse([e for e in self.b.service.recentEvents() if e.get("blocked")])
            # another key, through B: the holder's 404
            response, _ = await rpc((self.b.base + path).encode(), CALL, key=OTHER_KEY)
            self.assertEqual(response.code, 404)
            # no key at all: B's 401, nothing published
            before = self.b.service.router.stats["forwarded"]
            response, _ = await rpc((self.b.base + path).encode(), CALL, key=None)
            self.assertEqual(response.code, 401)
            self.assertEqual(self.b.service.router.stats["forwarded"], before)
            # too large to forward: 413 on B
            big = dict(CALL, params={"name": "read_file", "arguments": {"path": "x" * 4096}})
            response, _ = await rpc((self.b.base + path).encode(), big)
            self.assertEqual(response.code, 413)
            self.assertEqual(self.b.service.router.stats["forwarded"], before)
            # the bound is reloaded with the rest (SIGHUP): now it goes
            self.b.rewrite((CONFIG % (self.redis.url, self.onError)).replace("2KiB", "8KiB"), base=BASE.split("upstreams:")[0])
            self.assertTrue(self.b.service.reload())
            response, _ = await rpc((self.b.base + path).encode(), big)
            self.assertEqual(response.code, 202)
            self.assertEqual(self.b.service.router.stats["forwarded"], before + 1)
            self.assertEqual(len(self.posted), 2)
            # A's stream closes: a POST to B is served by A as if it had
            # landed there, as one instance does (relayed to the upstream)
            stream.end()
            await reader.done
            response, body = await rpc((self.b.base + path).encode(), CALL)
            self.assertEqual((response.code, body), (202, b"Accepted"))
            self.assertEqual(len(self.posted), 3)
            self.assertEqual(self.a.service.router.serving, 0)
            self.assertEqual(self.b.service.router.inFlight, 0)

        return ensureDeferred(run())

    def test_noInstanceHoldsIt(self) -> Any:
        """
        A POST naming an instance that does not exist (it stopped) gets the
        answer a single instance gives: relayed to the upstream from here.
        """

        async def run() -> None:
            path = f"/proxy/http/{self.upstream.authority}/custom/messages?session_id=zz&{LEGACY_MARKER.decode()}=0123abcd"
            response, body = await rpc((self.b.base + path).encode(), CALL)
            self.assertEqual((response.code, body), (202, b"Accepted"))
            self.assertEqual(self.posted[0]["uri"], b"/custom/messages?session_id=zz")
            assert self.b.service.router is not None
            self.assertEqual((self.b.service.router.stats["unheld"], self.b.service.router.stats["forwarded"]), (1, 0))

        return ensureDeferred(run())

    def test_redisDown(self) -> Any:
        """
        Redis gone: C{legacy_routing: closed} answers 503; the stream's own
        instance still serves its POSTs.
        """

        async def run() -> None:
            _, reader, path = await self.openSession()
            await self.redis.kill()
            response, body = await rpc((self.b.base + path).encode(), CALL)
            self.assertEqual(response.code, 503)
            self.assertIn(b"redis_unavailable", body)
            self.assertEqual(self.posted, [])
            response, body = await rpc((self.a.base + path).encode(), CALL)
            self.assertEqual((response.code, body), (202, b"Accepted"))

        return ensureDeferred(run())


class ForwardBoundsTests(TestCase):
    skip = SKIP

    def test_inFlightAndTimeout(self) -> Any:
        """
        An instance that takes a forward and never answers: the client gets
        504 once the upstream timeouts (and 2 s) have passed; meanwhile,
        with C{max_forwards: 1}, a second forward is refused with 503.
        """

        async def run() -> None:
            redis = await RedisServer().start()
            self.addCleanup(redis.kill)
            upstream = await Upstream().start()
            self.addCleanup(upstream.stop)
            extra = (
                "upstreams:\n  allow: ['127.0.0.1']\n  allow_private: ['127.0.0.0/8']\n"
                "  connect_timeout: 0.1\n  read_timeout: 0.1\n"
                f'redis:\n  url: "{redis.url}"\n  max_forwards: 1\n'
            )
            proxy = ProxyHarness(self, extra, base=BASE.split("upstreams:")[0])
            router = proxy.service.router
            assert router is not None
            await router.whenSubscribed().addTimeout(10, reactor)
            heard: list[bytes] = []
            mute = proxy.service.redis.subscribe(proxy.service.redis.key("sse", "mute0"), heard.append)  # type: ignore[union-attr]
            await mute.whenSubscribed().addTimeout(10, reactor)
            path = f"/proxy/http/{upstream.authority}/custom/messages?session_id=s&{LEGACY_MARKER.decode()}=mute0"
            first = ensureDeferred(rpc((proxy.base + path).encode(), CALL))
            for _ in range(1000):  # bounded: reactor turns until the first is in flight
                if router.inFlight:
                    break
                await deferLater(reactor, 0, lambda: None)
            response, body = await rpc((proxy.base + path).encode(), CALL)
            self.assertEqual(response.code, 503)
            self.assertIn(b"max_forwards", body)
            started = reactor.seconds()
            response, body = await first
            self.assertEqual(response.code, 504)
            self.assertGreaterEqual(reactor.seconds() - started, 1.0)
            self.assertEqual(len(heard), 1)
            self.assertEqual(json.loads(heard[0].split(b"\n", 1)[1]), CALL)
            self.assertNotIn(KEY.encode(), heard[0])  # the key's name crosses Redis, never the key
            self.assertEqual((router.inFlight, router.stats["timed_out"]), (0, 1))
            health = proxy.service.health()["redis"]["legacy_routing"]
            self.assertEqual((health["instance"], health["subscribed"], health["refused"]), (router.instance, True, 1))

        return ensureDeferred(run())


class ForwardOpenTests(ForwardTests):
    onError = "open"

    def test_redisDown(self) -> Any:
        """
        Redis gone, C{legacy_routing: open}: the POST is relayed from the
        instance it landed on (it reaches the upstream).
        """

        async def run() -> None:
            _, reader, path = await self.openSession()
            await self.redis.kill()
            response, body = await rpc((self.b.base + path).encode(), CALL)
            self.assertEqual((response.code, body), (202, b"Accepted"))
            self.assertEqual(self.posted[0]["uri"], b"/custom/messages?session_id=abc")

        return ensureDeferred(run())


class SingleInstanceTests(TestCase):
    def test_noMarkerWithoutRedis(self) -> Any:
        """
        Without Redis the endpoint is the upstream's, rewritten, nothing
        added; a POST carrying the parameter is relayed as it is.
        """

        async def run() -> None:
            upstream = await Upstream().start()
            self.addCleanup(upstream.stop)
            proxy = ProxyHarness(self, "upstreams:\n  allow: ['127.0.0.1']\n  allow_private: ['127.0.0.0/8']\n", base=BASE.split("upstreams:")[0])
            self.assertIsNone(proxy.service.router)
            streamD = upstream.nextStream()
            responseD = ensureDeferred(openStream(proxy.url(upstream, "/sse")))
            stream = await streamD
            _, reader = await responseD
            stream.send(b"event: endpoint\r\ndata: /custom/messages?session_id=abc\r\n\r\n")
            data = await waitFor(reader, b"session_id=abc")
            self.assertNotIn(LEGACY_MARKER, data)
            self.assertIn("/custom/messages?session_id=abc\r\n".encode(), data)
            stream.end()
            await reader.done
            response, _ = await request(proxy.url(upstream, "/echo?a=1&akto_sse=x"), b"POST", body=b"{}")
            self.assertEqual(json.loads(_)["uri"], "/echo?a=1&akto_sse=x")

        return ensureDeferred(run())
