"""
The relay through a running proxy on loopback (SPEC sections 2, 3, 5).
"""

from __future__ import annotations

import json

from twisted.internet import reactor
from twisted.internet.defer import Deferred, ensureDeferred
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import TestCase

from tests.harness import KEY, ProxyHarness, Upstream, raw, request, rpc


def inline(f):  # async test methods for trial
    def wrapper(self, *a, **kw):
        return ensureDeferred(f(self, *a, **kw))

    wrapper.__name__ = f.__name__
    return wrapper


class RelayTests(TestCase):
    extra = ""

    async def _setUp(self) -> None:
        self.upstream = await Upstream().start()
        self.addCleanup(self.upstream.stop)
        self.proxy = ProxyHarness(self, self.extra)

    def setUp(self):
        self.events: list = []
        globalLogPublisher.addObserver(self.events.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.events.append)
        return ensureDeferred(self._setUp())

    @inline
    async def test_path_query_headers(self) -> None:
        url = self.proxy.url(self.upstream, "/echo/a%2Fb/%7C?q=%2F&x=a|b&akto_api_key=zzz")
        response, body = await request(
            url,
            headers={
                b"authorization": [b"Bearer upstream-token"],
                b"cookie": [b"s=1"],
                b"mcp-protocol-version": [b"2025-11-25"],
                b"accept-encoding": [b"br, gzip;q=0.8, zstd"],
                b"connection": [b"keep-alive, x-drop-me"],
                b"x-drop-me": [b"1"],
                b"te": [b"trailers"],
            },
        )
        self.assertEqual(response.code, 200)
        seen = self.upstream.recorder.requests[-1]
        self.assertEqual(seen["uri"], b"/echo/a%2Fb/%7C?q=%2F&x=a|b")
        h = seen["headers"]
        self.assertEqual(h[b"host"], [self.upstream.authority.encode()])
        self.assertEqual(h[b"authorization"], [b"Bearer upstream-token"])
        self.assertEqual(h[b"cookie"], [b"s=1"])
        self.assertEqual(h[b"mcp-protocol-version"], [b"2025-11-25"])
        self.assertEqual(h[b"accept-encoding"], [b"gzip;q=0.8"])
        self.assertEqual(h[b"x-forwarded-for"], [b"127.0.0.1"])
        self.assertEqual(h[b"x-forwarded-proto"], [b"http"])
        self.assertNotIn(b"x-akto-api-key", h)
        self.assertNotIn(b"x-drop-me", h)
        self.assertNotIn(b"te", h)
        rid = response.headers.getRawHeaders(b"x-akto-request-id")[0]
        self.assertTrue(rid.startswith(b"req_"))
        self.assertIsNone(response.headers.getRawHeaders(b"x-secret-hop"))
        self.assertIsNone(response.headers.getRawHeaders(b"keep-alive"))
        self.assertEqual(response.headers.getRawHeaders(b"set-cookie"), [b"a=1"])
        access = [e for e in self.events if e.get("access") and e.get("request_id") == rid.decode()]
        self.assertEqual(len(access), 1)
        self.assertEqual(access[0]["key"], "tester")
        self.assertEqual(access[0]["status"], 200)
        self.assertGreater(access[0]["bytes"], 0)
        for e in self.events:
            self.assertNotIn(KEY, json.dumps(e, default=repr))
            self.assertNotIn("zzz", json.dumps(e, default=repr))

    @inline
    async def test_query_credential(self) -> None:
        url = self.proxy.url(self.upstream, f"/echo/x?akto_api_key={KEY}&keep=1")
        response, _ = await request(url, key=None)
        self.assertEqual(response.code, 200)
        self.assertEqual(self.upstream.recorder.requests[-1]["uri"], b"/echo/x?keep=1")

    @inline
    async def test_missing_and_unknown_key(self) -> None:
        for key in (None, "wrong-key-0123456789"):
            response, body = await request(self.proxy.url(self.upstream, "/echo"), key=key)
            self.assertEqual(response.code, 401)
            self.assertEqual(response.headers.getRawHeaders(b"www-authenticate"), [b'AktoApiKey realm="akto-proxy"'])
            env = json.loads(body)
            self.assertFalse(env["success"])
            self.assertEqual(env["error"]["code"], "unauthorized")
            self.assertTrue(env["error"]["request_id"].startswith("req_"))
        self.assertEqual(self.upstream.recorder.requests, [])

    @inline
    async def test_malformed_paths(self) -> None:
        for path in (b"/proxy/ftp/127.0.0.1/x", b"/proxy/http/user@127.0.0.1/x", b"/proxy/http/127.0.0.1:99999/",
                     b"/proxy/http/127.0.0.1/../../etc", b"/proxy/http/", b"/proxy"):
            response, body = await request(self.proxy.base.encode() + path)
            self.assertEqual(response.code, 400, path)
            self.assertIn(b"malformed proxy path", body)
        self.assertEqual(self.upstream.recorder.requests, [])

    @inline
    async def test_upstream_not_allowed(self) -> None:
        response, body = await request(f"{self.proxy.base}/proxy/https/evil.test/x".encode())
        self.assertEqual(response.code, 403)
        self.assertEqual(json.loads(body)["error"]["code"], "upstream_not_allowed")

    @inline
    async def test_own_address_refused(self) -> None:
        response, body = await request(f"{self.proxy.base}/proxy/http/127.0.0.1:{self.proxy.port}/health".encode())
        self.assertEqual(response.code, 403)
        self.assertIn(b"own address", body)

    @inline
    async def test_status_passthrough(self) -> None:
        for code in (400, 404, 405, 500):
            response, body = await request(self.proxy.url(self.upstream, f"/status/{code}"))
            self.assertEqual(response.code, code)
            self.assertEqual(json.loads(body), {"status": code})

    @inline
    async def test_redirect_rewritten_not_followed(self) -> None:
        response, _ = await request(self.proxy.url(self.upstream, "/redirect"))
        self.assertEqual(response.code, 302)
        self.assertEqual(
            response.headers.getRawHeaders(b"location"),
            [f"{self.proxy.base}/proxy/http/{self.upstream.authority}/echo/landed".encode()],
        )
        response, _ = await request(self.proxy.url(self.upstream, "/redirect?to=SELF/a?b=1"))
        self.assertEqual(
            response.headers.getRawHeaders(b"location"),
            [f"{self.proxy.base}/proxy/http/{self.upstream.authority}/a?b=1".encode()],
        )
        response, _ = await request(self.proxy.url(self.upstream, "/redirect?to=https://login.other.test/x"))
        self.assertEqual(response.headers.getRawHeaders(b"location"), [b"https://login.other.test/x"])
        self.assertEqual(len([r for r in self.upstream.recorder.requests if r["uri"].startswith(b"/echo/landed")]), 0)

    @inline
    async def test_oauth_passthrough(self) -> None:
        response, body = await request(self.proxy.url(self.upstream, "/auth"))
        self.assertEqual(response.code, 401)
        www = response.headers.getRawHeaders(b"www-authenticate")[0].decode()
        prm = f"{self.proxy.base}/.well-known/oauth-protected-resource/proxy/http/{self.upstream.authority}/auth"
        self.assertIn(f'resource_metadata="{prm}"', www)
        self.assertTrue(www.startswith("Bearer"))
        response, body = await request(prm.encode())
        self.assertEqual(response.code, 200)
        doc = json.loads(body)
        self.assertEqual(doc["resource"], f"{self.proxy.base}/proxy/http/{self.upstream.authority}/auth")
        self.assertEqual(self.upstream.recorder.requests[-1]["uri"], b"/.well-known/oauth-protected-resource/auth")

    @inline
    async def test_public_url(self) -> None:
        import attrs

        rt = self.proxy.service.runtime
        self.proxy.service.runtime = attrs.evolve(rt, config=attrs.evolve(rt.config, public_url="https://px.example"))
        response, _ = await request(self.proxy.url(self.upstream, "/redirect"))
        self.assertEqual(
            response.headers.getRawHeaders(b"location"),
            [f"https://px.example/proxy/http/{self.upstream.authority}/echo/landed".encode()],
        )

    @inline
    async def test_connection_refused_502(self) -> None:
        port = self.upstream.port.getHost().port
        await self.upstream.port.stopListening()
        response, body = await request(f"{self.proxy.base}/proxy/http/127.0.0.1:{port}/echo".encode())
        self.assertEqual(response.code, 502)
        self.assertEqual(json.loads(body)["error"]["code"], "bad_gateway")

    @inline
    async def test_localhost_resolves_to_private(self) -> None:
        # localhost resolves to loopback, which this configuration allows; a
        # second proxy without allow_private must refuse it after resolution.
        from tests.harness import BASE

        strict = ProxyHarness(self, base=BASE.replace('allow_private: ["127.0.0.0/8", "::1/128"]', "allow_private: []"))
        response, body = await request(f"{strict.base}/proxy/http/localhost:{self.upstream.port.getHost().port}/echo".encode())
        self.assertEqual(response.code, 403)
        self.assertIn(b"private", body)
        self.assertEqual(self.upstream.recorder.requests, [])

    @inline
    async def test_reload_applies_address_policy_to_pooled_upstreams(self) -> None:
        # A reload that leaves the upstream settings alone keeps the pooled
        # connection; one that removes allow_private refuses the same URL:
        # neither the parsed URL nor the idle connection outlives the policy
        # it was made under.
        from tests.harness import BASE

        url = f"{self.proxy.base}/proxy/http/localhost:{self.upstream.port.getHost().port}/echo".encode()
        for _ in range(2):
            response, _ = await request(url)
            self.assertEqual(response.code, 200)
        self.assertTrue(self.proxy.service.reload())
        response, _ = await request(url)
        self.assertEqual(response.code, 200)
        peers = {r["peer"] for r in self.upstream.recorder.requests}
        self.assertEqual(len(peers), 1, "one pooled upstream connection across a reload that changed nothing")
        self.proxy.rewrite("", base=BASE.replace('allow_private: ["127.0.0.0/8", "::1/128"]', "allow_private: []"))
        self.assertTrue(self.proxy.service.reload())
        response, body = await request(url)
        self.assertEqual(response.code, 403)
        self.assertIn(b"private", body)
        self.assertEqual(len(self.upstream.recorder.requests), 3)

    @inline
    async def test_health(self) -> None:
        response, body = await request(f"{self.proxy.base}/health".encode(), headers={b"authorization": [f"Bearer {KEY}".encode()]}, key=None)
        self.assertEqual(response.code, 200)
        data = json.loads(body)
        self.assertTrue(data["success"])
        self.assertEqual(data["data"]["response"]["config_generation"], 1)
        response, _ = await request(f"{self.proxy.base}/health".encode(), key=None)
        self.assertEqual(response.code, 401)


class TimeoutTests(TestCase):
    def setUp(self):
        return ensureDeferred(self._setUp())

    async def _setUp(self) -> None:
        self.upstream = await Upstream().start()
        self.addCleanup(self.upstream.stop)
        from twisted.internet.task import Clock

        self.clock = Clock()
        self.proxy = ProxyHarness(
            self, "upstreams:\n  allow: ['127.0.0.1']\n  allow_private: ['127.0.0.0/8']\n  connect_timeout: 2s\n  read_timeout: 3s\n",
            base=BASE_NO_UPSTREAMS, clock=self.clock,
        )

    @inline
    async def test_read_timeout_504(self) -> None:
        """
        No response head within connect_timeout + read_timeout of the
        request: 504 (and not a moment before).
        """
        arrived = self.upstream.recorder.next()
        answer = ensureDeferred(request(self.proxy.url(self.upstream, "/never")))
        await arrived
        self.clock.advance(4.9)
        self.assertNoResult(answer)
        self.clock.advance(0.1)
        response, body = await answer
        self.assertEqual(response.code, 504)
        self.assertEqual(json.loads(body)["error"]["code"], "gateway_timeout")


BASE_NO_UPSTREAMS = """
listen: ["tcp:0:interface=127.0.0.1"]
access_control:
  api_keys:
    - {name: tester, key: "%s"}
""" % KEY


class StrictHTTPTests(TestCase):
    def setUp(self):
        return ensureDeferred(self._setUp())

    async def _setUp(self) -> None:
        self.upstream = await Upstream().start()
        self.addCleanup(self.upstream.stop)
        from twisted.internet.task import Clock

        self.clock = Clock()
        self.proxy = ProxyHarness(
            self, "limits:\n  max_request_body: 4KiB\n  max_headers: 20\n  max_header_bytes: 4KiB\n  client_header_timeout: 10s\n", clock=self.clock
        )

    def head(self, extra: bytes = b"", body: bytes = b"") -> bytes:
        return (
            b"POST /proxy/http/" + self.upstream.authority.encode() + b"/echo HTTP/1.1\r\n"
            b"Host: x\r\nConnection: close\r\nX-Akto-Api-Key: " + KEY.encode() + b"\r\n" + extra + b"\r\n" + body
        )

    @inline
    async def test_ambiguous_framing_refused(self) -> None:
        cases = [
            b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
            b"Content-Length: 5\r\nContent-Length: 6\r\n",
            b"Content-Length: 5, 5\r\n",
            b"Transfer-Encoding: xchunked\r\n",
            b"Transfer-Encoding: chunked, identity\r\n",
            b"Transfer-Encoding: identity\r\n",
            b"Content-Length: +5\r\n",
            b"X-Folded: a\r\n  continued\r\n",
        ]
        for extra in cases:
            answer = await raw(self.proxy.port, self.head(extra, b"hello"))
            self.assertTrue(answer.startswith(b"HTTP/1.1 400"), (extra, answer[:60]))
        answer = await raw(self.proxy.port, self.head(b"X-A: 1\nX-B: 2\r\n"))
        self.assertTrue(answer.startswith(b"HTTP/1.1 400"), answer[:60])
        self.assertEqual(self.upstream.recorder.requests, [])

    @inline
    async def test_header_limits(self) -> None:
        many = b"".join(b"X-H%d: v\r\n" % i for i in range(30))
        answer = await raw(self.proxy.port, self.head(many))
        self.assertTrue(answer.startswith(b"HTTP/1.1 400"), answer[:40])
        self.assertIn(b'"request_id":"req_', answer)  # the envelope, though no request exists
        answer = await raw(self.proxy.port, self.head(b"X-Long: " + b"a" * 5000 + b"\r\n"))
        self.assertTrue(answer.startswith(b"HTTP/1.1 400"), answer[:40])
        self.assertIn(b'"header_too_large"', answer)
        self.assertEqual(self.upstream.recorder.requests, [])
        # each refusal is an exchange record with the client's address
        records = [e for e in self.proxy.service.recentEvents() if e["status"] == 400]
        self.assertEqual([(e["client"], e["outcome"]) for e in records], [("127.0.0.1", "bad_request"), ("127.0.0.1", "header_too_large")])
        self.assertTrue(all(e["timestamp"].endswith("Z") and e["reason"] for e in records))

    @inline
    async def test_body_too_large(self) -> None:
        answer = await raw(self.proxy.port, self.head(b"Content-Length: 5000\r\n"))
        self.assertTrue(answer.startswith(b"HTTP/1.1 413"), answer[:40])
        self.assertIn(b'"payload_too_large"', answer)
        (record,) = [e for e in self.proxy.service.recentEvents() if e["status"] == 413]
        self.assertEqual((record["key"], record["client"], record["method"], record["outcome"]), ("tester", "127.0.0.1", "POST", "payload_too_large"))
        chunk = b"400\r\n" + b"a" * 1024 + b"\r\n"
        answer = await raw(self.proxy.port, self.head(b"Transfer-Encoding: chunked\r\n", chunk * 5))
        self.assertTrue(answer.startswith(b"HTTP/1.1 413"), answer[:40])
        self.assertEqual(self.upstream.recorder.requests, [])

    @inline
    async def test_gzip_bomb(self) -> None:
        import gzip

        bomb = gzip.compress(b"{" + b" " * 2_000_000 + b"}")
        self.assertLess(len(bomb), 4096)
        answer = await raw(
            self.proxy.port,
            self.head(b"Content-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n" % len(bomb), bomb),
        )
        self.assertTrue(answer.startswith(b"HTTP/1.1 413"), answer[:40])
        self.assertEqual(self.upstream.recorder.requests, [])

    @inline
    async def test_slowloris(self) -> None:
        from tests.harness import connectRaw

        slow = await connectRaw(self.proxy.port)
        slow.transport.write(b"GET /proxy/http/" + self.upstream.authority.encode() + b"/echo HTTP/1.1\r\nHost: x\r\n")
        # another client is served meanwhile
        response, _ = await request(self.proxy.url(self.upstream, "/echo"))
        self.assertEqual(response.code, 200)
        self.clock.advance(9.9)
        self.assertFalse(slow.done.called)
        self.clock.advance(0.1)
        data = await slow.done
        self.assertTrue(data.startswith(b"HTTP/1.1 408"), data[:40])
        self.assertIn(b'"request_timeout"', data)
        (record,) = [e for e in self.proxy.service.recentEvents() if e["status"] == 408]
        self.assertEqual((record["client"], record["reason"]), ("127.0.0.1", "client too slow sending headers"))


class InspectionTests(TestCase):
    """
    The chain proven with the brief's custom_rules (SPEC section 5 answers).
    """

    extra = """
threat_detection:
  enabled_checks: []
  custom_rules:
    - name: "Block Sensitive File Access"
      pattern: "/etc/passwd|/etc/shadow"
      action: "block"
guardrails:
  - name: "PII Protection"
    type: "content_filter"
    rules:
      - pattern: "credit card|cc number"
        action: "redact"
"""

    def setUp(self):
        return ensureDeferred(self._setUp())

    async def _setUp(self) -> None:
        self.upstream = await Upstream().start()
        self.addCleanup(self.upstream.stop)
        self.proxy = ProxyHarness(self, self.extra)
        self.url = self.proxy.url(self.upstream, "/rpc")

    def call(self, args: dict, id=1, method="tools/call", name="read_file") -> dict:
        return {"jsonrpc": "2.0", "id": id, "method": method, "params": {"name": name, "arguments": args}}

    @inline
    async def test_tools_call_blocked_as_tool_error(self) -> None:
        response, body = await rpc(self.url, self.call({"path": "/etc/passwd"}, id=7))
        self.assertEqual(response.code, 200)
        self.assertEqual(response.headers.getRawHeaders(b"content-type"), [b"application/json"])
        msg = json.loads(body)
        self.assertEqual(msg["id"], 7)
        self.assertTrue(msg["result"]["isError"])
        self.assertTrue(msg["result"]["content"][0]["text"].startswith("Blocked by akto-proxy: "))
        meta = msg["result"]["_meta"]["akto"]
        self.assertEqual(meta["threats_detected"][0]["rule"], "Block Sensitive File Access")
        self.assertEqual(meta["threats_detected"][0]["location"], "params.arguments.path")
        self.assertEqual(self.upstream.recorder.requests, [])

    @inline
    async def test_other_method_blocked_31001(self) -> None:
        msg = {"jsonrpc": "2.0", "id": "r1", "method": "resources/read", "params": {"uri": "file:///etc/shadow"}}
        response, body = await rpc(self.url, msg)
        answer = json.loads(body)
        self.assertEqual(answer["error"]["code"], -31001)
        self.assertEqual(answer["id"], "r1")
        self.assertIn("request_id", answer["error"]["data"])
        self.assertEqual(self.upstream.recorder.requests, [])

    @inline
    async def test_upload_refused_in_words(self) -> None:
        """
        A body that is not JSON-RPC (a binary upload) refused for a check:
        403, and the envelope says what the check looks for in words.
        """
        response, body = await request(
            self.url, b"POST", {b"content-type": [b"application/octet-stream"]}, b"\x00\x01 cat /etc/shadow \xff"
        )
        self.assertEqual(response.code, 403)
        error = json.loads(body)["error"]
        self.assertEqual(error["code"], "threat_blocked")
        self.assertEqual(error["message"], "blocked by policy: the request body matched the custom rule 'Block Sensitive File Access'")
        self.assertEqual(self.upstream.recorder.requests, [])

    @inline
    async def test_sse_only_client_gets_event(self) -> None:
        response, body = await rpc(self.url, self.call({"path": "/etc/passwd"}), accept=b"text/event-stream")
        self.assertEqual(response.headers.getRawHeaders(b"content-type"), [b"text/event-stream"])
        self.assertTrue(body.startswith(b"event: message\ndata: "))
        self.assertTrue(json.loads(body.split(b"data: ", 1)[1])["result"]["isError"])

    @inline
    async def test_notification_dropped_202(self) -> None:
        response, body = await rpc(self.url, {"jsonrpc": "2.0", "method": "notifications/message", "params": {"data": "/etc/passwd"}})
        self.assertEqual(response.code, 202)
        self.assertEqual(self.upstream.recorder.requests, [])

    @inline
    async def test_batch(self) -> None:
        batch = [
            self.call({"path": "/etc/passwd"}, id=1),
            self.call({"path": "notes.txt"}, id=2),
            {"jsonrpc": "2.0", "method": "notifications/x", "params": {"p": "/etc/shadow"}},
        ]
        response, body = await rpc(self.url, batch)
        answers = {a["id"]: a for a in json.loads(body)}
        self.assertTrue(answers[1]["result"]["isError"])
        self.assertIn("notes.txt", answers[2]["result"]["content"][0]["text"])
        forwarded = json.loads(self.upstream.recorder.requests[-1]["body"])
        self.assertEqual([m.get("id") for m in forwarded], [2])

    @inline
    async def test_response_blocked_and_redacted(self) -> None:
        response, body = await rpc(self.url, self.call({"q": "my credit card is here"}, name="echo"))
        text = json.loads(body)["result"]["content"][0]["text"]
        self.assertNotIn("credit card", text)
        self.assertIn("[REDACTED:PII Protection#1]", text)
        # the request itself was redacted before reaching the upstream
        self.assertNotIn(b"credit card", self.upstream.recorder.requests[-1]["body"])

    @inline
    async def test_response_blocked_in_sse(self) -> None:
        self.upstream.handlers[b"rpc"] = lambda request, body: (
            request.setHeader(b"content-type", b"text/event-stream"),
            b'event: message\r\ndata: {"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text","text":"root:x:0:0 /etc/passwd"}]}}\r\n\r\n',
        )[1]
        response, body = await rpc(self.url, self.call({"path": "ok"}, id=3, name="cat"))
        self.assertEqual(response.headers.getRawHeaders(b"x-accel-buffering"), [b"no"])
        event = json.loads(body.split(b"data: ", 1)[1])
        self.assertEqual(event["id"], 3)
        self.assertTrue(event["result"]["isError"])
        self.assertNotIn("root:x", json.dumps(event))

    @inline
    async def test_gzip_response_inspected(self) -> None:
        response, body = await request(self.proxy.url(self.upstream, "/gzip?text=bad"))
        self.assertEqual(json.loads(body)["error"]["code"], -31001)
        response, body = await request(self.proxy.url(self.upstream, "/gzip?text=fine"), headers={b"accept-encoding": [b"gzip"]})
        self.assertEqual(response.headers.getRawHeaders(b"content-encoding"), [b"gzip"])

    @inline
    async def test_url_inspected(self) -> None:
        response, body = await request(self.proxy.url(self.upstream, "/echo/x?file=%2Fetc%2Fpasswd"))
        self.assertEqual(response.code, 403)
        self.assertEqual(json.loads(body)["error"]["threats_detected"][0]["location"], "url.query.file")

    @inline
    async def test_header_mismatch(self) -> None:
        response, body = await rpc(self.url, self.call({"path": "x"}), extra={b"mcp-method": [b"tools/list"], b"mcp-protocol-version": [b"2026-07-28"]})
        self.assertEqual(response.code, 400)
        self.assertEqual(json.loads(body)["error"]["code"], -32020)
        self.assertEqual(self.upstream.recorder.requests, [])


class RawUpstreamTests(TestCase):
    """
    Upstreams that misbehave at the byte level.
    """

    def setUp(self):
        from twisted.internet import endpoints, protocol, reactor

        self.replies: list[bytes] = []
        self.lost = []
        self.received: Deferred[None] = Deferred()  # the upstream has a request
        self.closed: Deferred[None] = Deferred()  # an upstream connection ended
        test = self

        class Raw(protocol.Protocol):
            def dataReceived(self, data: bytes) -> None:
                reply = test.replies.pop(0) if test.replies else b""
                if not test.received.called:
                    test.received.callback(None)
                if reply == b"RESET":
                    self.transport.abortConnection()
                elif reply == b"HOLD":
                    pass
                else:
                    self.transport.write(reply)
                    self.transport.loseConnection()

            def connectionLost(self, reason) -> None:
                test.lost.append(reason)
                if not test.closed.called:
                    test.closed.callback(None)

        factory = protocol.Factory.forProtocol(Raw)
        d = endpoints.TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(factory)

        def listening(port) -> None:
            self.port = port
            self.addCleanup(port.stopListening)
            self.proxy = ProxyHarness(self)

        return d.addCallback(listening)

    def url(self, path: str = "/x") -> bytes:
        return f"{self.proxy.base}/proxy/http/127.0.0.1:{self.port.getHost().port}{path}".encode()

    @inline
    async def test_reset_502(self) -> None:
        self.replies.append(b"RESET")
        response, body = await request(self.url())
        self.assertEqual(response.code, 502)
        self.assertEqual(json.loads(body)["error"]["code"], "bad_gateway")

    @inline
    async def test_header_with_bare_cr_not_split(self) -> None:
        self.replies.append(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Evil: a\rSet-Cookie: injected=1\r\n"
            b"Content-Length: 2\r\nConnection: close\r\n\r\nok"
        )
        response, body = await request(self.url())
        self.assertIsNone(response.headers.getRawHeaders(b"set-cookie"))
        for name, values in response.headers.getAllRawHeaders():
            for v in values:
                self.assertNotIn(b"\r", v)
                self.assertNotIn(b"\n", v)

    @inline
    async def test_client_gone_closes_pending_upstream(self) -> None:
        from tests.harness import connectRaw

        self.replies.append(b"HOLD")
        client = await connectRaw(self.proxy.port)
        client.transport.write(
            b"GET /proxy/http/127.0.0.1:%d/x HTTP/1.1\r\nHost: x\r\nX-Akto-Api-Key: %s\r\n\r\n"
            % (self.port.getHost().port, KEY.encode())
        )
        # once the upstream has the request, the client leaves
        await self.received.addTimeout(10, reactor)
        self.assertEqual(self.replies, [])
        client.transport.loseConnection()
        await self.closed.addTimeout(10, reactor)
        self.assertEqual(len(self.lost), 1)  # the upstream connection was closed
        self.assertEqual(len(self.proxy.service.inflight), 0)


class AuditFileTests(TestCase):
    def setUp(self):
        return ensureDeferred(self._setUp())

    async def _setUp(self) -> None:
        import os

        self.upstream = await Upstream().start()
        self.addCleanup(self.upstream.stop)
        self.path = os.path.abspath(self.mktemp())
        self.proxy = ProxyHarness(self, f"audit:\n  destination: '{self.path}'\n  max_file_size: 600\n  keep_files: 2\n")

    @inline
    async def test_audit_lines_rotated(self) -> None:
        import os

        for _ in range(5):
            response, _ = await request(self.proxy.url(self.upstream, "/echo"))
            self.assertEqual(response.code, 200)
        self.proxy.service.audit.flush()  # lines are written in batches
        lines = open(self.path).read().splitlines()
        for line in lines:
            event = json.loads(line)
            self.assertEqual(event["key"], "tester")
            self.assertNotIn(KEY, line)
        self.assertTrue(os.path.exists(self.path + ".1"))
