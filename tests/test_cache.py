"""
The response cache through a running proxy (issue 19), against a loopback
upstream that counts what reaches it: MCP list and read results kept for
their ttlMs (or cache.ttl), keyed by everything that changes the answer,
judged again on every hit, dropped by list_changed and by a reload that
changes policy; revalidation by ETag; plain HTTP GETs per Cache-Control.
The proxy runs on a L{Clock}, so that freshness is moved by hand.
"""

from __future__ import annotations

import json
from typing import Any, Optional

from twisted.internet import reactor
from twisted.internet.defer import ensureDeferred
from twisted.internet.task import Clock, deferLater
from twisted.trial.unittest import TestCase
from twisted.web import server

from akto_proxy.mcp.events import ExchangeEvent
from tests.harness import ADMIN_ACCESS, ADMIN_KEY, KEY, OTHER_KEY, ProxyHarness, Upstream, request, rpc

CACHE = """
cache:
  enabled: true
  ttl: 60s
  max_size: 1MiB
"""

#: tester sees every tool, other only echo (and the lists), boss is admin
ROLES = ADMIN_ACCESS.replace(
    f'{{name: other, key: "{OTHER_KEY}", roles: [dev]}}', f'{{name: other, key: "{OTHER_KEY}", roles: [narrow]}}'
) + """    narrow:
      allow: ["tools/list", "tools/call:echo", "resources/*"]
"""

BASE = """
listen: ["tcp:0:interface=127.0.0.1"]
upstreams:
  allow: ["127.0.0.1"]
  allow_private: ["127.0.0.0/8"]
mcp:
  pin_tools: false
"""

TOOLS = [
    {"name": "echo", "description": "Echo the text back.", "inputSchema": {"type": "object"}},
    {"name": "delete_everything", "description": "Delete every record.", "inputSchema": {"type": "object"}},
]


class FakeMCP:
    """
    An MCP server on the loopback upstream's C{/custom}: C{tools/list},
    C{resources/read} (with an C{ETag}, C{304} to C{If-None-Match}),
    C{prompts/list}; what each answer carries is set by the test.
    """

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.result: dict[str, Any] = {}
        self.etag: Optional[bytes] = None
        self.sse = False
        self.headers: dict[bytes, bytes] = {}
        self.resource = "the readme"
        self.sessions = 0

    def count(self, method: str) -> int:
        return sum(1 for c in self.calls if c["method"] == method)

    def __call__(self, req: server.Request, body: bytes) -> bytes:
        msg = json.loads(body)
        if isinstance(msg, list):
            req.setHeader(b"content-type", b"application/json")
            self.calls.extend({"method": m.get("method"), "headers": {}} for m in msg)
            return json.dumps([{"jsonrpc": "2.0", "id": m["id"], "result": {"tools": []}} for m in msg]).encode()
        if msg.get("method") == "initialize":
            self.sessions += 1
            req.setHeader(b"mcp-session-id", b"s%d" % self.sessions)
            req.setHeader(b"content-type", b"application/json")
            return json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": {"protocolVersion": "2025-06-18", "capabilities": {}, "serverInfo": {"name": "fake", "version": "1"}}}).encode()
        self.calls.append({"method": msg.get("method"), "headers": dict(req.requestHeaders.getAllRawHeaders())})
        for k, v in self.headers.items():
            req.setHeader(k, v)
        if self.etag is not None:
            req.setHeader(b"etag", self.etag)
            if req.getHeader(b"if-none-match") == self.etag:
                req.setResponseCode(304)
                return b""
        method = msg.get("method")
        if method == "tools/list":
            result: dict[str, Any] = {"tools": TOOLS}
        elif method == "resources/read":
            result = {"contents": [{"uri": msg["params"]["uri"], "text": self.resource}]}
        elif method == "prompts/list":
            result = {"prompts": []}
        else:
            result = {"content": [{"type": "text", "text": "ok"}]}
        result.update(self.result)
        answer = json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": result}).encode()
        if self.sse:
            req.setHeader(b"content-type", b"text/event-stream")
            return b"event: message\ndata: " + answer + b"\n\n"
        req.setHeader(b"content-type", b"application/json")
        return answer


def listing(n: int, method: str = "tools/list", params: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    msg: dict[str, Any] = {"jsonrpc": "2.0", "id": n, "method": method}
    if params is not None:
        msg["params"] = params
    return msg


class _CacheCase(TestCase):
    extra = CACHE
    access = ROLES

    async def asyncSetUp(self) -> None:
        self.upstream = await Upstream().start()
        self.addCleanup(self.upstream.stop)
        self.fake = FakeMCP()
        self.upstream.handlers[b"custom"] = self.fake
        self.clock = Clock()
        self.clock.advance(1000)
        self.proxy = ProxyHarness(self, self.access + self.extra, base=BASE, clock=self.clock)
        self.lines: list[dict[str, Any]] = []
        self.proxy.service.bus.subscribe(ExchangeEvent, lambda e: self.lines.append(e.fields))
        self.url = self.proxy.url(self.upstream, "/custom/mcp")

    def setUp(self) -> Any:
        return ensureDeferred(self.asyncSetUp())

    async def session(self) -> dict[bytes, list[bytes]]:
        """
        A new MCP session (initialize), as the headers that name it.
        """
        response, _ = await rpc(self.url, {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {}})
        return {b"mcp-session-id": response.headers.getRawHeaders(b"mcp-session-id")}

    async def call(self, msg: Any, key: str = KEY, headers: Optional[dict[bytes, list[bytes]]] = None, accept: bytes = b"application/json, text/event-stream") -> tuple[Any, Any, Optional[bytes]]:
        response, body = await rpc(self.url, msg, accept=accept, key=key, extra=headers)
        cache = response.headers.getRawHeaders(b"x-akto-cache")
        if body.startswith(b"event:") or body.startswith(b"data:"):
            data = [line[5:].strip() for line in body.splitlines() if line.startswith(b"data:")]
            return response, json.loads(b"".join(data)), cache[0] if cache else None
        return response, json.loads(body) if body else None, cache[0] if cache else None


class MCPCacheTests(_CacheCase):
    async def test_hitWithinTTL(self) -> None:
        """
        A second tools/list within the TTL is answered without the upstream,
        with the id of its own request; after the TTL it is fetched again.
        """
        _, first, how = await self.call(listing(1))
        self.assertEqual((how, self.fake.count("tools/list")), (b"miss", 1))
        response, second, how = await self.call(listing("two"))
        self.assertEqual((how, self.fake.count("tools/list")), (b"hit", 1))
        self.assertEqual(second["id"], "two")
        self.assertEqual(second["result"], first["result"])
        self.assertEqual(response.code, 200)
        self.assertTrue(response.headers.getRawHeaders(b"x-akto-request-id"))
        # the access line of a hit: the same transport, no upstream time
        hit = self.lines[-1]
        self.assertEqual((hit["cache"], hit["transport"], hit["upstream_ms"], hit["rpc_method"]), ("hit", "http", None, "tools/list"))
        self.assertEqual(hit["request_id"], response.headers.getRawHeaders(b"x-akto-request-id")[0].decode())
        self.clock.advance(61)
        _, _, how = await self.call(listing(3))
        self.assertEqual((how, self.fake.count("tools/list")), (b"miss", 2))

    async def test_serverTTL(self) -> None:
        """
        The server's ttlMs wins over cache.ttl; the served answer says what
        is left of it; ttlMs 0 is never served from the cache.
        """
        self.fake.result = {"ttlMs": 5000, "cacheScope": "private"}
        await self.call(listing(1))
        self.clock.advance(2)
        _, answer, how = await self.call(listing(2))
        self.assertEqual(how, b"hit")
        self.assertEqual(answer["result"]["ttlMs"], 3000)
        self.clock.advance(4)
        _, _, how = await self.call(listing(3))
        self.assertEqual((how, self.fake.count("tools/list")), (b"miss", 2))
        self.clock.advance(10)
        self.fake.result = {"ttlMs": 0, "cacheScope": "public"}
        await self.call(listing(4))
        _, _, how = await self.call(listing(5))
        self.assertEqual((how, self.fake.count("tools/list")), (b"miss", 4))

    async def test_rolesNeverCross(self) -> None:
        """
        One raw answer, two keys whose roles see different tools: each sees
        its own list, whichever fetched it.
        """
        _, wide, how = await self.call(listing(1), KEY)
        self.assertEqual(how, b"miss")
        _, narrow, how = await self.call(listing(2), OTHER_KEY)
        self.assertEqual(how, b"hit")
        self.assertEqual([t["name"] for t in wide["result"]["tools"]], ["echo", "delete_everything"])
        self.assertEqual([t["name"] for t in narrow["result"]["tools"]], ["echo"])
        _, wide, how = await self.call(listing(3), KEY)
        self.assertEqual(how, b"hit")
        self.assertEqual([t["name"] for t in wide["result"]["tools"]], ["echo", "delete_everything"])
        self.assertEqual(self.fake.count("tools/list"), 1)

    async def test_reloadThatChangesPolicy(self) -> None:
        """
        A reload that changes roles drops the cache, and the next list is
        filtered by the new roles.
        """
        await self.call(listing(1), OTHER_KEY)
        self.proxy.rewrite(self.access.replace('"tools/call:echo"', '"tools/call:*"') + self.extra, BASE)
        self.assertTrue(self.proxy.service.reload())
        _, narrow, how = await self.call(listing(2), OTHER_KEY)
        self.assertEqual(how, b"miss")
        self.assertEqual([t["name"] for t in narrow["result"]["tools"]], ["echo", "delete_everything"])

    async def test_sessionsAndScope(self) -> None:
        """
        A private (or unscoped) answer is kept per Mcp-Session-Id; a public
        one is shared across sessions.
        """
        s1 = await self.session()
        s2 = await self.session()
        await self.call(listing(1), headers=s1)
        _, _, how = await self.call(listing(2), headers=s2)
        self.assertEqual(how, b"miss")
        _, _, how = await self.call(listing(3), headers=s1)
        self.assertEqual(how, b"hit")
        self.fake.result = {"ttlMs": 60000, "cacheScope": "public"}
        await self.call(listing(4, "prompts/list"), headers=s1)
        _, answer, how = await self.call(listing(5, "prompts/list"), headers=s2)
        self.assertEqual((how, answer["id"]), (b"hit", 5))
        self.assertEqual(self.fake.count("prompts/list"), 1)

    async def test_upstreamCredentials(self) -> None:
        """
        The client's own Authorization (and any other header that reaches
        the upstream) keys the answer, even a public one.
        """
        self.fake.result = {"ttlMs": 60000, "cacheScope": "public"}
        await self.call(listing(1), headers={b"authorization": [b"Bearer alice"]})
        _, _, how = await self.call(listing(2), headers={b"authorization": [b"Bearer bob"]})
        self.assertEqual(how, b"miss")
        _, _, how = await self.call(listing(3), headers={b"authorization": [b"Bearer alice"]})
        self.assertEqual(how, b"hit")
        _, _, how = await self.call(listing(4), headers={b"authorization": [b"Bearer alice"], b"cookie": [b"a=1"]})
        self.assertEqual(how, b"miss")
        # the protocol revision too
        _, _, how = await self.call(listing(5), headers={b"authorization": [b"Bearer alice"], b"mcp-protocol-version": [b"2025-06-18"]})
        self.assertEqual(how, b"miss")
        self.assertEqual(self.fake.count("tools/list"), 4)

    async def test_paramsKey(self) -> None:
        """
        Another cursor or uri is another answer; a progress token is not.
        """
        await self.call(listing(1, "resources/read", {"uri": "demo://a"}))
        _, answer, how = await self.call(listing(2, "resources/read", {"uri": "demo://b"}))
        self.assertEqual((how, answer["result"]["contents"][0]["uri"]), (b"miss", "demo://b"))
        _, answer, how = await self.call(listing(3, "resources/read", {"uri": "demo://a", "_meta": {"progressToken": 7}}))
        self.assertEqual((how, answer["result"]["contents"][0]["uri"]), (b"hit", "demo://a"))
        _, _, how = await self.call(listing(4, "tools/list", {"cursor": "p2"}))
        self.assertEqual(how, b"miss")

    async def test_notCached(self) -> None:
        """
        Errors, interim input_required results, retries carrying
        requestState, batches, other methods: relayed every time.
        """
        self.fake.result = {"resultType": "input_required", "inputRequests": {}}
        await self.call(listing(1))
        _, _, how = await self.call(listing(2))
        self.assertEqual(how, b"miss")
        self.fake.result = {}
        await self.call(listing(3, "tools/list", {"requestState": "x"}))
        _, _, how = await self.call(listing(4, "tools/list", {"requestState": "x"}))
        self.assertIsNone(how)
        await self.call([listing(5), listing(6)])
        response, _, how = await self.call([listing(7), listing(8)])
        self.assertIsNone(how)
        _, _, how = await self.call({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "echo"}})
        self.assertIsNone(how)
        self.fake.result = {"padding": "x" * 2_000_000}  # over max_entry (1 MiB, the default)
        await self.call(listing(12, "resources/list"))
        _, _, how = await self.call(listing(13, "resources/list"))
        self.assertEqual(how, b"miss")
        self.fake.result = {}
        self.fake.headers = {b"set-cookie": b"s=1"}
        await self.call(listing(10, "prompts/list"))
        _, _, how = await self.call(listing(11, "prompts/list"))
        self.assertEqual((how, self.fake.count("prompts/list")), (b"miss", 2))

    async def test_listChangedInvalidates(self) -> None:
        """
        notifications/tools/list_changed on the session's stream drops the
        upstream's cached tool lists (not its other entries).
        """
        await self.call(listing(1))
        await self.call(listing(2, "prompts/list"))
        streamed = self.upstream.nextStream()
        d = ensureDeferred(request(self.proxy.url(self.upstream, "/sse"), headers={b"accept": [b"text/event-stream"]}))
        stream = await streamed
        stream.send(b'event: message\ndata: {"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}\n\n')
        for _ in range(500):  # the event through the proxy: a few reactor turns
            if len(self.proxy.service.cache.entries) < 2:
                break
            await deferLater(reactor, 0.01, lambda: None)
        stream.end()
        await d
        _, _, how = await self.call(listing(3))
        self.assertEqual((how, self.fake.count("tools/list")), (b"miss", 2))
        _, _, how = await self.call(listing(4, "prompts/list"))
        self.assertEqual(how, b"hit")

    async def test_etagRevalidation(self) -> None:
        """
        A stale resources/read with an ETag is revalidated with
        If-None-Match: a 304 serves the kept answer for the new request.
        """
        self.fake.etag = b'"v1"'
        self.fake.result = {"ttlMs": 1000, "cacheScope": "private"}
        await self.call(listing(1, "resources/read", {"uri": "demo://readme"}))
        _, _, how = await self.call(listing(2, "resources/read", {"uri": "demo://readme"}))
        self.assertEqual(how, b"hit")
        self.clock.advance(2)
        _, answer, how = await self.call(listing(3, "resources/read", {"uri": "demo://readme"}))
        self.assertEqual(how, b"revalidated")
        self.assertEqual(answer["id"], 3)
        self.assertEqual(answer["result"]["contents"][0]["text"], "the readme")
        self.assertEqual(self.fake.calls[-1]["headers"].get(b"If-None-Match"), [b'"v1"'])
        self.assertEqual(self.fake.count("resources/read"), 2)
        _, _, how = await self.call(listing(4, "resources/read", {"uri": "demo://readme"}))
        self.assertEqual(how, b"hit")
        # a changed resource: the upstream answers 200, kept anew
        self.clock.advance(2)
        self.fake.etag = b'"v2"'
        self.fake.resource = "a new readme"
        _, answer, how = await self.call(listing(5, "resources/read", {"uri": "demo://readme"}))
        self.assertEqual((how, answer["result"]["contents"][0]["text"]), (b"miss", "a new readme"))

    async def test_sseAnswers(self) -> None:
        """
        An answer that came as an SSE event is kept, and served as one to a
        client that takes SSE, as JSON to one that takes only JSON.
        """
        self.fake.sse = True
        response, first, how = await self.call(listing(1))
        self.assertEqual(how, b"miss")
        response, second, how = await self.call(listing(2))
        self.assertEqual((how, second["id"]), (b"hit", 2))
        self.assertEqual(response.headers.getRawHeaders(b"content-type"), [b"text/event-stream"])
        self.assertEqual(self.lines[-1]["transport"], "sse")
        response, third, how = await self.call(listing(3), accept=b"application/json")
        self.assertEqual((how, third["id"]), (b"hit", 3))
        self.assertEqual(response.headers.getRawHeaders(b"content-type"), [b"application/json"])
        self.assertEqual(self.fake.count("tools/list"), 1)

    async def test_metrics(self) -> None:
        await self.call(listing(1))
        await self.call(listing(2))
        await self.call(listing(3))
        _, body = await request(f"{self.proxy.base}/metrics".encode(), headers={b"authorization": [f"Bearer {ADMIN_KEY}".encode()]}, key=None)
        text = body.decode()
        self.assertIn('akto_proxy_cache_hits_total{method="tools/list"', text)
        hits = [line for line in text.splitlines() if line.startswith("akto_proxy_cache_hits_total")]
        misses = [line for line in text.splitlines() if line.startswith("akto_proxy_cache_misses_total")]
        self.assertTrue(hits[0].endswith(" 2.0"), hits)
        self.assertTrue(misses[0].endswith(" 1.0"), misses)


class ChecksOnHitTests(_CacheCase):
    extra = CACHE + """
threat_detection:
  enabled_checks: []
  custom_rules:
    - {name: shadow, pattern: "/etc/shadow", action: block}
"""

    async def test_responseChecksOnHit(self) -> None:
        """
        A kept answer still meets the response checks in force: blocked on
        the hit as it was when relayed.
        """
        self.fake.resource = "root:x:0:0 from /etc/shadow"
        _, first, how = await self.call(listing(1, "resources/read", {"uri": "file:///x"}))
        self.assertEqual(how, b"miss")
        self.assertEqual(first["error"]["code"], -31001)
        _, second, how = await self.call(listing(2, "resources/read", {"uri": "file:///x"}))
        self.assertEqual(how, b"hit")
        self.assertEqual((second["id"], second["error"]["code"]), (2, -31001))
        self.assertEqual(self.fake.count("resources/read"), 1)
        self.assertTrue(self.lines[-1]["blocked"])


class DisabledTests(_CacheCase):
    extra = "cache: {enabled: false}\n"

    async def test_relayedEveryTime(self) -> None:
        _, _, how = await self.call(listing(1))
        _, _, how = await self.call(listing(2))
        self.assertIsNone(how)
        self.assertEqual(self.fake.count("tools/list"), 2)
        self.assertIsNone(self.lines[-1]["cache"])


class HTTPCacheTests(_CacheCase):
    """
    Plain HTTP GETs: kept per Cache-Control, revalidated by ETag.
    """

    async def asyncSetUp(self) -> None:
        await super().asyncSetUp()
        self.gets = 0
        self.cc: Optional[bytes] = b"max-age=60"
        self.etag: Optional[bytes] = None
        self.text = b'{"page": 1}'

        def page(req: server.Request, body: bytes) -> bytes:
            self.gets += 1
            req.setHeader(b"content-type", b"application/json")
            req.setHeader(b"x-upstream", b"yes")
            if self.cc is not None:
                req.setHeader(b"cache-control", self.cc)
            if self.etag is not None:
                req.setHeader(b"etag", self.etag)
                if req.getHeader(b"if-none-match") == self.etag:
                    req.setResponseCode(304)
                    return b""
            return self.text

        self.upstream.handlers[b"echo"] = page
        self.page = self.proxy.url(self.upstream, "/echo/page")

    async def get(self, headers: Optional[dict[bytes, list[bytes]]] = None) -> tuple[Any, bytes, Optional[bytes]]:
        response, body = await request(self.page, headers=headers)
        how = response.headers.getRawHeaders(b"x-akto-cache")
        return response, body, how[0] if how else None

    async def test_maxAge(self) -> None:
        await self.get()
        response, body, how = await self.get()
        self.assertEqual((how, body, self.gets), (b"hit", b'{"page": 1}', 1))
        self.assertEqual(response.headers.getRawHeaders(b"x-upstream"), [b"yes"])
        self.assertEqual(response.headers.getRawHeaders(b"age"), [b"0"])
        self.clock.advance(61)
        _, _, how = await self.get()
        self.assertEqual((how, self.gets), (b"miss", 2))

    async def test_notKept(self) -> None:
        for cc in (b"no-store", b"private, max-age=60", None):
            self.cc = cc
            await self.get()
            _, _, how = await self.get()
            self.assertEqual(how, b"miss", cc)
        self.cc = b"max-age=60"
        await self.get(headers={b"authorization": [b"Bearer x"]})
        _, _, how = await self.get(headers={b"authorization": [b"Bearer x"]})
        self.assertEqual(how, b"miss")
        # the client's own conditions go to the upstream
        _, _, how = await self.get(headers={b"if-none-match": [b'"x"']})
        self.assertIsNone(how)

    async def test_etag(self) -> None:
        self.cc = b"no-cache"
        self.etag = b'"e1"'
        await self.get()
        response, body, how = await self.get()
        self.assertEqual((how, body, self.gets), (b"revalidated", b'{"page": 1}', 2))
        self.assertEqual(response.code, 200)


class FallbackCacheTests(TestCase):
    """
    Beside fallback upstreams: an answer the alternate gave for the
    upstream the client named is kept under the named one, and served
    without contacting either.
    """

    async def _setUp(self) -> None:
        from tests.test_fallback import chainConfig, refusingPort

        self.dead = await refusingPort()
        self.alt = await Upstream().start()
        self.addCleanup(self.alt.stop)
        self.fake = FakeMCP()
        self.alt.handlers[b"custom"] = self.fake
        text = chainConfig(f"http://127.0.0.1:{self.dead}/", [f"http://{self.alt.authority}/"]) + CACHE + "mcp:\n  pin_tools: false\n"
        self.proxy = ProxyHarness(self, ROLES + text, base='listen: ["tcp:0:interface=127.0.0.1"]\n')
        self.url = f"{self.proxy.base}/proxy/http/127.0.0.1:{self.dead}/custom/mcp".encode()

    def setUp(self) -> Any:
        return ensureDeferred(self._setUp())

    async def test_keptUnderTheNamedUpstream(self) -> None:
        response, body = await rpc(self.url, listing(1))
        self.assertEqual((response.code, response.headers.getRawHeaders(b"x-akto-cache")), (200, [b"miss"]))
        response, body = await rpc(self.url, listing(2))
        self.assertEqual((response.code, response.headers.getRawHeaders(b"x-akto-cache")), (200, [b"hit"]))
        self.assertEqual(json.loads(body)["id"], 2)
        self.assertEqual(self.fake.count("tools/list"), 1)
