"""
Fallback upstreams and their circuit breaker (issue 19): the breaker on an
injected clock, prefixes and routes, the retry rules, the configuration;
then a running proxy on loopback with a primary that refuses connections
and alternates that answer.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, strategies as st
from twisted.internet import error as ierror
from twisted.internet import reactor
from twisted.internet.defer import Deferred, ensureDeferred
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.internet.protocol import Factory
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web import server
from twisted.web.client import ResponseNeverReceived

from akto_proxy.config import ConfigError, parseConfig
from akto_proxy.config.model import BreakerSettings
from akto_proxy.relay.breaker import CLOSED, HALF_OPEN, OPEN, Breakers
from akto_proxy.relay.fallback import ANY, NEVER, UNSENT, Fallbacks, Prefix, retryRule, unsent
from akto_proxy.relay.http import UpstreamForbidden
from akto_proxy.relay.url import Target, parseProxyURI
from tests.test_relay import inline
from tests.harness import ADMIN_ACCESS, ADMIN_KEY, BASE, KEY, OTHER_KEY, ProxyHarness, Upstream, request, rpc


class BreakerTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.breakers = Breakers(BreakerSettings(failures=3, open_for=5.0, max_open_for=12.0), self.clock.seconds)

    def test_opens_after_consecutive_failures(self) -> None:
        b = self.breakers
        self.assertTrue(b.acquire("http://a"))
        self.assertFalse(b.failed("http://a", "refused"))
        b.succeeded("http://a")  # a success resets the count
        self.assertFalse(b.failed("http://a", "refused"))
        self.assertFalse(b.failed("http://a", "refused"))
        self.assertTrue(b.available("http://a"))
        self.assertTrue(b.failed("http://a", "timeout"))
        self.assertFalse(b.available("http://a"))
        self.assertFalse(b.acquire("http://a"))
        self.assertTrue(b.acquire("http://other"))
        state = b.health(["http://a"])["http://a"]
        self.assertEqual(state["state"], OPEN)
        self.assertEqual(state["consecutive_failures"], 3)
        self.assertEqual(state["last_error"], "timeout")
        self.assertEqual(state["next_probe"], 5.0)
        self.assertEqual(b.retryAfter("http://a"), 5.0)

    def test_half_open_single_probe(self) -> None:
        b = self.breakers
        for _ in range(3):
            b.failed("http://a", "refused")
        self.clock.advance(4.9)
        self.assertFalse(b.acquire("http://a"))
        self.clock.advance(0.1)
        self.assertTrue(b.available("http://a"))
        self.assertTrue(b.acquire("http://a"))  # the probe
        self.assertEqual(b.health(["http://a"])["http://a"]["state"], HALF_OPEN)
        self.assertFalse(b.available("http://a"))
        self.assertFalse(b.acquire("http://a"))  # one probe at a time
        b.succeeded("http://a")
        self.assertEqual(b.health(["http://a"])["http://a"]["state"], CLOSED)
        self.assertTrue(b.acquire("http://a"))

    def test_failed_probe_doubles_back_off_up_to_cap(self) -> None:
        b = self.breakers
        for _ in range(3):
            b.failed("http://a", "refused")
        waits = []
        for _ in range(3):
            wait = b.retryAfter("http://a")
            waits.append(wait)
            self.clock.advance(wait)
            self.assertTrue(b.acquire("http://a"))
            self.assertTrue(b.failed("http://a", "refused"))  # the probe failed: open again
        self.assertEqual(waits, [5.0, 10.0, 12.0])
        self.assertEqual(b.retryAfter("http://a"), 12.0)

    def test_released_probe(self) -> None:
        b = self.breakers
        for _ in range(3):
            b.failed("http://a", "refused")
        self.clock.advance(5)
        self.assertTrue(b.acquire("http://a"))
        b.released("http://a")  # the client went away: another request may probe
        self.assertTrue(b.acquire("http://a"))

    def test_named_upstreams_in_health(self) -> None:
        health = self.breakers.health(["http://a", "http://b"])
        self.assertEqual(health["http://b"]["state"], CLOSED)
        self.assertIsNone(health["http://b"]["next_probe"])


def target(url: bytes) -> Target:
    return parseProxyURI(url).target


class RouteTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.fallbacks = Fallbacks(
            [
                ("https://mcp.example.com/mcp", ("https://mcp-b.example.com/v2/mcp", "http://10.0.0.9:8080")),
                ("https://mcp.example.com", ("https://root-b.example.com",)),
            ]
        )

    def test_longest_prefix_and_replacement(self) -> None:
        t = target(b"/proxy/https/mcp.example.com/mcp/x/y?a=1&b=%2F")
        chain = self.fallbacks.chainFor(t)
        assert chain is not None
        first, second = chain.routes
        alt = first.apply(t)
        self.assertEqual(alt.upstreamURL(), b"https://mcp-b.example.com/v2/mcp/x/y?a=1&b=%2F")
        self.assertEqual(alt.authority, "mcp-b.example.com")
        self.assertEqual(second.apply(t).upstreamURL(), b"http://10.0.0.9:8080/x/y?a=1&b=%2F")
        self.assertEqual(first.apply(target(b"/proxy/https/mcp.example.com/mcp")).path, b"/v2/mcp")
        # a path that only starts like the prefix takes the shorter one
        other = self.fallbacks.chainFor(target(b"/proxy/https/mcp.example.com/mcpx"))
        assert other is not None
        self.assertEqual(other.routes[0].apply(target(b"/proxy/https/mcp.example.com/mcpx")).upstreamURL(), b"https://root-b.example.com/mcpx")
        self.assertIsNone(self.fallbacks.chainFor(target(b"/proxy/http/mcp.example.com/mcp")))  # another scheme
        self.assertIsNone(self.fallbacks.chainFor(target(b"/proxy/https/mcp.example.com:8443/mcp")))

    def test_back(self) -> None:
        t = target(b"/proxy/https/mcp.example.com/mcp")
        chain = self.fallbacks.chainFor(t)
        assert chain is not None
        route = chain.routes[0]
        self.assertEqual(route.back("https://mcp-b.example.com/v2/mcp/messages?s=1"), "https://mcp.example.com/mcp/messages?s=1")
        self.assertEqual(route.back("https://mcp-b.example.com/v2/mcp"), "https://mcp.example.com/mcp")
        self.assertEqual(route.back("https://mcp-b.example.com:443/v2/mcp?x"), "https://mcp.example.com/mcp?x")
        # outside the alternate's prefix: left as it is (it names the alternate)
        self.assertEqual(route.back("https://mcp-b.example.com/other"), "https://mcp-b.example.com/other")
        self.assertEqual(route.back("https://elsewhere.example.com/v2/mcp"), "https://elsewhere.example.com/v2/mcp")
        self.assertEqual(self.fallbacks.route(t, route.name), route)
        self.assertIsNone(self.fallbacks.route(t, "https://gone.example.com"))

    @given(
        st.lists(st.sampled_from(["a", "b", "%2F", "x.y", "..", "%7C", "-"]), max_size=4),
        st.one_of(st.none(), st.sampled_from(["", "q=1", "a=%2F&b=|"])),
        st.sampled_from(["https://mcp-b.example.com/v2/mcp", "http://10.0.0.9:8080", "https://[::1]:9/x/"]),
    )
    def test_apply_then_back(self, segments: list[str], query: Any, alternate: str) -> None:
        # what the alternate is sent, mapped back, is what the client named;
        # only the prefix changes, byte for byte
        fallbacks = Fallbacks([("https://mcp.example.com/mcp", (alternate,))])
        path = "/mcp" + "".join("/" + s for s in segments if s != "..")
        uri = f"/proxy/https/mcp.example.com{path}" + (f"?{query}" if query is not None else "")
        t = target(uri.encode())
        chain = fallbacks.chainFor(t)
        assert chain is not None
        route = chain.routes[0]
        sent = route.apply(t)
        self.assertEqual(sent.query, t.query)
        self.assertTrue(sent.path.endswith(t.path[len(b"/mcp") :]))
        named = t.upstreamURL().decode("latin-1")
        back = route.back(sent.upstreamURL().decode("latin-1"))
        if t.path == b"/mcp" and sent.path == b"/":
            # the prefix itself on a root alternate is "/", which comes back
            # as the prefix with its slash
            named = named.replace("example.com/mcp", "example.com/mcp/", 1)
        self.assertEqual(back, named)

    def test_origins(self) -> None:
        self.assertEqual(
            sorted(self.fallbacks.origins()),
            ["http://10.0.0.9:8080", "https://mcp-b.example.com", "https://mcp.example.com", "https://root-b.example.com"],
        )
        self.assertEqual(Prefix.parse("http://[::1]:81/a/").origin, "http://[::1]:81")

    def test_retry_rules(self) -> None:
        self.assertEqual(retryRule(b"POST", ["initialize"], False), ANY)
        self.assertEqual(retryRule(b"POST", ["server/discover"], False), ANY)
        self.assertEqual(retryRule(b"POST", ["tools/list", "resources/read"], False), ANY)
        self.assertEqual(retryRule(b"POST", ["tools/list", "tools/call"], False), UNSENT)
        self.assertEqual(retryRule(b"POST", ["notifications/initialized"], False), UNSENT)
        self.assertEqual(retryRule(b"POST", [""], False), UNSENT)  # a response
        self.assertEqual(retryRule(b"POST", ["tools/list"], True), NEVER)
        self.assertEqual(retryRule(b"GET", None, False), ANY)
        self.assertEqual(retryRule(b"PUT", None, False), ANY)
        self.assertEqual(retryRule(b"POST", None, False), UNSENT)
        self.assertEqual(retryRule(b"GET", None, True), NEVER)

    def test_unsent(self) -> None:
        from OpenSSL import SSL

        self.assertTrue(unsent(Failure(ierror.ConnectionRefusedError())))
        self.assertTrue(unsent(Failure(ierror.DNSLookupError())))
        self.assertTrue(unsent(Failure(ierror.TimeoutError())))
        self.assertTrue(unsent(Failure(UpstreamForbidden("private"))))
        self.assertTrue(unsent(Failure(ResponseNeverReceived([Failure(SSL.Error("certificate verify failed"))]))))
        self.assertFalse(unsent(Failure(ResponseNeverReceived([Failure(ierror.ConnectionLost())]))))
        self.assertFalse(unsent(Failure(ValueError())))


SPEC_SNIPPET = """
listen: ["tcp:8080:interface=127.0.0.1"]
upstreams:
  fallbacks:                                   # upstream URL prefix -> alternates, in order
    "https://mcp.example.com/mcp": ["https://mcp-b.example.com/mcp"]
"""


class ConfigTests(SynchronousTestCase):
    def test_spec_shape_loads_as_written(self) -> None:
        config = parseConfig(SPEC_SNIPPET, "f.yaml")
        u = config.upstreams
        self.assertEqual(u.fallbacks, (("https://mcp.example.com/mcp", ("https://mcp-b.example.com/mcp",)),))
        self.assertEqual(u.fallback_statuses, (502, 503, 504))
        self.assertEqual(u.breaker, BreakerSettings(3, 5.0, 120.0))

    def test_settings(self) -> None:
        config = parseConfig(
            SPEC_SNIPPET + "  fallback_statuses: [503]\n  breaker: {failures: 1, open_for: 30s, max_open_for: 10m}\n",
            "f.yaml",
        )
        self.assertEqual(config.upstreams.fallback_statuses, (503,))
        self.assertEqual(config.upstreams.breaker, BreakerSettings(1, 30.0, 600.0))

    def test_alternate_outside_allow_warns(self) -> None:
        config = parseConfig(SPEC_SNIPPET.replace("upstreams:\n", 'upstreams:\n  allow: ["mcp.example.com"]\n'), "f.yaml")
        self.assertEqual(len(config.warnings), 1)
        self.assertIn("f.yaml:6: upstreams.fallbacks.https://mcp.example.com/mcp[0]: mcp-b.example.com is not in upstreams.allow", config.warnings[0])

    def test_errors_name_file_line_key(self) -> None:
        cases = [
            ('"ftp://a.example.com": ["https://b.example.com"]', "f.yaml:5: upstreams.fallbacks.ftp://a.example.com: expected an http:// or https:// URL prefix"),
            ('"https://a.example.com?x=1": ["https://b.example.com"]', "upstreams.fallbacks.https://a.example.com?x=1: an upstream URL prefix has no query"),
            ('"https://a.example.com": []', "upstreams.fallbacks.https://a.example.com: list at least one alternate URL"),
            ('"https://a.example.com": ["https://u:p@b.example.com"]', "upstreams.fallbacks.https://a.example.com[0]: userinfo is not allowed"),
            ('"https://a.example.com": ["https://a.example.com/"]', "an alternate is the upstream itself"),
            ('"https://a.example.com": "https://b.example.com"', "upstreams.fallbacks.https://a.example.com: expected a list"),
        ]
        for line, message in cases:
            text = f'listen: ["tcp:8080"]\nupstreams:\n  allow: ["*.example.com"]\n  fallbacks:\n    {line}\n'
            e = self.assertRaises(ConfigError, parseConfig, text, "f.yaml")
            self.assertIn(message, str(e))
        for extra, message in [
            ("  fallback_statuses: [404]\n", "upstreams.fallback_statuses[0]"),
            ("  breaker: {failures: 0}\n", "upstreams.breaker.failures"),
            ("  breaker: {open_for: 10s, max_open_for: 5s}\n", "upstreams.breaker.max_open_for: max_open_for must not be below open_for"),
            ("  breaker: {open_fro: 10s}\n", "did you mean"),
            ("  fallbaks: {}\n", "did you mean"),
        ]:
            e = self.assertRaises(ConfigError, parseConfig, SPEC_SNIPPET + extra, "f.yaml")
            self.assertIn(message, str(e))
            self.assertTrue(str(e).startswith("f.yaml:"), str(e))


async def refusingPort() -> int:
    """
    A loopback port nothing listens on (bound, then closed: connections to
    it are refused).
    """
    port = await TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(Factory())
    number = port.getHost().port
    await port.stopListening()
    return number


def chainConfig(primary: str, alternates: list[str], extra: str = "") -> str:
    """
    An C{upstreams} section for loopback upstreams with one fallback chain.
    """
    return (
        "upstreams:\n"
        '  allow: ["127.0.0.1"]\n'
        '  allow_private: ["127.0.0.0/8"]\n'
        "  fallbacks:\n"
        f"    {json.dumps(primary)}: {json.dumps(alternates)}\n"
    ) + extra


#: the harness's keys (with an admin), and no upstreams section
PLAIN = 'listen: ["tcp:0:interface=127.0.0.1"]\n' + ADMIN_ACCESS

INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
CALL = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "hi"}}}


class FallbackRelayTests(TestCase):
    """
    A primary that refuses connections and alternates that answer, through
    a running proxy; the breaker's time is a L{Clock}.
    """

    breaker = "  breaker: {failures: 2, open_for: 10s, max_open_for: 40s}\n"

    async def _setUp(self) -> None:
        self.dead = await refusingPort()
        self.alt = await Upstream().start()
        self.addCleanup(self.alt.stop)
        self.second = await Upstream().start()
        self.addCleanup(self.second.stop)
        self.clock = Clock()
        self.proxy = ProxyHarness(self, self.config(), base=PLAIN, clock=self.clock)

    def config(self) -> str:
        return chainConfig(f"http://127.0.0.1:{self.dead}/", [f"http://{self.alt.authority}/", f"http://{self.second.authority}/"], self.breaker)

    def setUp(self) -> Deferred[None]:
        return ensureDeferred(self._setUp())

    def primary(self, path: str) -> bytes:
        return f"{self.proxy.base}/proxy/http/127.0.0.1:{self.dead}{path}".encode()

    def last(self) -> dict[str, Any]:
        return self.proxy.service.recentEvents()[-1]

    async def health(self) -> dict[str, Any]:
        response, body = await request(f"{self.proxy.base}/health".encode(), headers={b"authorization": [f"Bearer {KEY}".encode()]}, key=None)
        self.assertEqual(response.code, 200)
        return json.loads(body)["data"]["response"]  # type: ignore[no-any-return]

    async def stop(self, upstream: Upstream) -> None:
        """
        Stop an upstream and the proxy's idle connections to it.
        """
        await upstream.stop()
        await self.proxy.service.pool.closeCachedConnections()

    @inline
    async def test_new_request_goes_to_alternate(self) -> None:
        response, body = await request(self.primary("/echo/a%2Fb?q=1&akto_api_key=x"), headers={b"authorization": [b"Bearer up"]})
        self.assertEqual(response.code, 200)
        self.assertEqual(json.loads(body)["uri"], "/echo/a%2Fb?q=1")
        seen = self.alt.recorder.requests[-1]
        self.assertEqual(seen["headers"][b"host"], [self.alt.authority.encode()])
        self.assertEqual(seen["headers"][b"authorization"], [b"Bearer up"])
        self.assertNotIn(b"x-akto-api-key", seen["headers"])
        record = self.last()
        self.assertEqual(record["status"], 200)
        self.assertTrue(record["fallback"])
        self.assertEqual(record["upstream"], f"http://127.0.0.1:{self.dead}/echo/a%2Fb")
        self.assertEqual(record["upstream_used"], f"http://{self.alt.authority}/echo/a%2Fb")
        self.assertEqual(record["upstream_attempts"], [{"upstream": f"http://127.0.0.1:{self.dead}/echo/a%2Fb", "error": "refused"}])
        self.assertEqual(self.second.recorder.requests, [])

    @inline
    async def test_tool_call_never_sent_is_retried(self) -> None:
        # refused: the call never reached the primary, so it may go on
        response, body = await rpc(self.primary("/rpc"), CALL)
        self.assertEqual(response.code, 200)
        self.assertIn("echo", json.loads(body)["result"]["content"][0]["text"])
        self.assertEqual(len(self.alt.recorder.requests), 1)

    @inline
    async def test_5xx_answers(self) -> None:
        # the first alternate answers 503: a list is retried on the next,
        # a tool call (it reached an upstream) is not
        self.alt.handlers[b"rpc"] = lambda request, body: (request.setResponseCode(503), b'{"busy": true}')[1]
        response, body = await rpc(self.primary("/rpc"), LIST)
        self.assertEqual(response.code, 200)
        self.assertEqual(len(self.second.recorder.requests), 1)
        self.assertEqual([a["error"] for a in self.last()["upstream_attempts"]], ["refused", "status 503"])
        response, body = await rpc(self.primary("/rpc"), CALL)
        self.assertEqual(response.code, 503)
        self.assertEqual(json.loads(body), {"busy": True})
        self.assertEqual(len(self.second.recorder.requests), 1)
        self.assertEqual(self.last()["upstream_used"], f"http://{self.alt.authority}/rpc")

    @inline
    async def test_breaker_skips_then_probes_back(self) -> None:
        for _ in range(2):
            response, _ = await request(self.primary("/echo/x"))
            self.assertEqual(response.code, 200)
        circuit = (await self.health())["circuits"][f"http://127.0.0.1:{self.dead}"]
        self.assertEqual(circuit["state"], "open")
        self.assertEqual(circuit["last_error"], "refused")
        self.assertEqual(circuit["next_probe"], 10.0)
        # open: skipped without a connection attempt
        response, _ = await request(self.primary("/echo/x"))
        self.assertEqual(response.code, 200)
        self.assertEqual(self.last()["upstream_attempts"][0]["error"], "circuit_open")
        # the primary comes back; after the back-off one request probes it
        primary = Upstream()
        primary.port = await TCP4ServerEndpoint(reactor, self.dead, interface="127.0.0.1").listen(server.Site(primary.root))
        self.addCleanup(primary.stop)
        self.clock.advance(10)
        self.assertEqual((await self.health())["circuits"][f"http://127.0.0.1:{self.dead}"]["state"], "open")
        response, _ = await request(self.primary("/echo/x"))
        self.assertEqual(response.code, 200)
        self.assertEqual(len(primary.recorder.requests), 1)
        self.assertFalse(self.last()["fallback"])
        self.assertEqual(self.last()["upstream_attempts"], [])
        circuit = (await self.health())["circuits"][f"http://127.0.0.1:{self.dead}"]
        self.assertEqual(circuit["state"], "closed")
        self.assertEqual(circuit["failures"], 2)
        response, body = await request(f"{self.proxy.base}/metrics".encode(), headers={b"authorization": [f"Bearer {ADMIN_KEY}".encode()]}, key=None)
        self.assertEqual(response.code, 200)
        text = body.decode()
        self.assertIn(f'akto_proxy_upstream_circuit_state{{proxy_instance="{self.proxy.service.metrics.instance}",upstream="http://127.0.0.1:{self.dead}"}} 0.0', text)
        self.assertIn(f'akto_proxy_upstream_circuit_state{{proxy_instance="{self.proxy.service.metrics.instance}",upstream="http://{self.alt.authority}"}} 0.0', text)
        self.assertIn(f'akto_proxy_upstream_fallbacks_total{{proxy_instance="{self.proxy.service.metrics.instance}",upstream="127.0.0.1:{self.dead}"}} 3.0', text)

    @inline
    async def test_failed_probe_reopens_longer(self) -> None:
        for _ in range(2):
            await request(self.primary("/echo/x"))
        self.clock.advance(10)
        response, _ = await request(self.primary("/echo/x"))  # the probe, refused
        self.assertEqual(response.code, 200)
        circuit = (await self.health())["circuits"][f"http://127.0.0.1:{self.dead}"]
        self.assertEqual((circuit["state"], circuit["next_probe"]), ("open", 30.0))

    @inline
    async def test_all_open(self) -> None:
        await self.stop(self.alt)
        await self.stop(self.second)
        for _ in range(2):
            response, body = await request(self.primary("/echo/x"))
            self.assertEqual(response.code, 502)
            self.assertIn("refused the connection", json.loads(body)["error"]["message"])
        response, body = await request(self.primary("/echo/x"))
        self.assertEqual(response.code, 503)
        self.assertEqual(response.headers.getRawHeaders(b"retry-after"), [b"10"])
        error = json.loads(body)["error"]
        self.assertEqual(error["code"], "upstream_unavailable")
        self.assertIn("circuit open", error["message"])
        self.assertEqual(self.last()["upstream_error"], "circuit_open")

    @inline
    async def test_session_stays_on_its_upstream(self) -> None:
        # a session issued by the alternate keeps going there
        self.alt.handlers[b"rpc"] = self.sessionRPC(b"sess-alt")
        self.second.handlers[b"rpc"] = self.sessionRPC(b"sess-second")
        response, body = await rpc(self.primary("/rpc"), INIT)
        self.assertEqual(response.headers.getRawHeaders(b"mcp-session-id"), [b"sess-alt"])
        # the alternate now fails: the session's request gets the error,
        # and never reaches another upstream
        alt = self.alt.authority
        await self.stop(self.alt)
        response, body = await rpc(self.primary("/rpc"), LIST, extra={b"mcp-session-id": [b"sess-alt"]})
        self.assertEqual(response.code, 502)
        self.assertEqual(self.second.recorder.requests, [])
        self.assertEqual(self.last()["upstream_attempts"], [{"upstream": f"http://{alt}/rpc", "error": "refused"}])
        # a new session goes to the next alternate
        response, body = await rpc(self.primary("/rpc"), INIT)
        self.assertEqual(response.headers.getRawHeaders(b"mcp-session-id"), [b"sess-second"])
        response, body = await rpc(self.primary("/rpc"), LIST, extra={b"mcp-session-id": [b"sess-second"]})
        self.assertEqual(response.code, 200)
        self.assertEqual(self.second.recorder.requests[-1]["headers"][b"mcp-session-id"], [b"sess-second"])
        # the session is still the key's: another key gets 404
        response, body = await rpc(self.primary("/rpc"), LIST, key=OTHER_KEY, extra={b"mcp-session-id": [b"sess-second"]})
        self.assertEqual(response.code, 404)

    @staticmethod
    def sessionRPC(session: bytes) -> Any:
        def handle(request: Any, body: bytes) -> bytes:
            msg = json.loads(body)
            request.setHeader(b"content-type", b"application/json")
            if msg.get("method") == "initialize":
                request.setHeader(b"mcp-session-id", session)
            return json.dumps({"jsonrpc": "2.0", "id": msg.get("id"), "result": {"session": session.decode()}}).encode()

        return handle

    @inline
    async def test_location_maps_back(self) -> None:
        response, _ = await request(self.primary("/redirect?to=SELF/echo/landed"))
        self.assertEqual(response.code, 302)
        self.assertEqual(
            response.headers.getRawHeaders(b"location"),
            [f"{self.proxy.base}/proxy/http/127.0.0.1:{self.dead}/echo/landed".encode()],
        )
        response, _ = await request(self.primary("/auth"))
        self.assertEqual(response.code, 401)
        [challenge] = response.headers.getRawHeaders(b"www-authenticate")
        self.assertIn(f'resource_metadata="{self.proxy.base}/.well-known/oauth-protected-resource/proxy/http/127.0.0.1:{self.dead}/auth"'.encode(), challenge)
        response, body = await request(f"{self.proxy.base}/.well-known/oauth-protected-resource/proxy/http/127.0.0.1:{self.dead}/auth".encode())
        self.assertEqual(response.code, 200)
        self.assertEqual(json.loads(body)["resource"], f"{self.proxy.base}/proxy/http/127.0.0.1:{self.dead}/auth")

    @inline
    async def test_alternate_outside_allow_skipped(self) -> None:
        self.proxy.rewrite(self.config().replace(f"http://{self.alt.authority}/", f"http://localhost:{self.alt.port.getHost().port}/"), base=PLAIN)
        self.assertTrue(self.proxy.service.reload())
        response, _ = await request(self.primary("/echo/x"))
        self.assertEqual(response.code, 200)
        self.assertEqual(self.alt.recorder.requests, [])
        self.assertEqual(len(self.second.recorder.requests), 1)
        self.assertEqual([a["error"] for a in self.last()["upstream_attempts"]], ["refused", "not_allowed"])

    @inline
    async def test_reload(self) -> None:
        # SIGHUP: new breaker settings for the same circuits, new chains
        await request(self.primary("/echo/x"))
        self.proxy.rewrite(self.config().replace("failures: 2", "failures: 5"), base=PLAIN)
        self.assertTrue(self.proxy.service.reload())
        self.assertEqual(self.proxy.service.breakers.settings.failures, 5)
        await request(self.primary("/echo/x"))
        self.assertEqual((await self.health())["circuits"][f"http://127.0.0.1:{self.dead}"]["state"], "closed")
        self.proxy.rewrite("upstreams:\n  allow: ['127.0.0.1']\n  allow_private: ['127.0.0.0/8']\n", base=PLAIN)
        self.assertTrue(self.proxy.service.reload())
        response, _ = await request(self.primary("/echo/x"))
        self.assertEqual(response.code, 502)  # no chain any more
        self.assertEqual((await self.health())["circuits"], {})

    @inline
    async def test_no_chain_unchanged(self) -> None:
        response, _ = await request(self.proxy.url(self.alt, "/echo/x"))
        self.assertEqual(response.code, 200)
        self.assertNotIn("fallback", self.last())
        self.assertNotIn("upstream_attempts", self.last())


class SilentPrimaryTests(TestCase):
    """
    A primary that accepts the request and never answers: the timeout
    before any byte of the answer (on the proxy's L{Clock}).
    """

    async def _setUp(self) -> None:
        self.silent = await Upstream().start()
        self.addCleanup(self.silent.stop)
        self.alt = await Upstream().start()
        self.addCleanup(self.alt.stop)
        self.silent.handlers[b"rpc"] = lambda request, body: server.NOT_DONE_YET
        self.clock = Clock()
        self.proxy = ProxyHarness(
            self,
            chainConfig(f"http://{self.silent.authority}/rpc", [f"http://{self.alt.authority}/rpc"], "  connect_timeout: 1s\n  read_timeout: 4s\n"),
            base=PLAIN,
            clock=self.clock,
        )

    def setUp(self) -> Deferred[None]:
        return ensureDeferred(self._setUp())

    async def timedOut(self, message: Any) -> Any:
        url = self.proxy.url(self.silent, "/rpc")
        d = ensureDeferred(rpc(url, message))
        await self.silent.recorder.next()  # the primary has the request
        self.clock.advance(5)
        return await d

    @inline
    async def test_list_retried(self) -> None:
        response, body = await self.timedOut(LIST)
        self.assertEqual(response.code, 200)
        self.assertEqual(len(self.alt.recorder.requests), 1)
        record = self.proxy.service.recentEvents()[-1]
        self.assertEqual(record["upstream_attempts"], [{"upstream": f"http://{self.silent.authority}/rpc", "error": "timeout"}])
        self.assertEqual(record["upstream_used"], f"http://{self.alt.authority}/rpc")

    @inline
    async def test_call_not_retried(self) -> None:
        # the primary may have run it: never twice
        response, body = await self.timedOut(CALL)
        self.assertEqual(response.code, 504)
        self.assertEqual(self.alt.recorder.requests, [])
        self.assertEqual(self.proxy.service.recentEvents()[-1]["upstream_used"], None)


class TLSFallbackTests(TestCase):
    """
    A primary whose certificate the proxy does not trust: a TLS failure
    (the request never reached it), so even a tool call goes on, to an
    alternate verified against its own name.
    """

    async def tlsUpstream(self, caKey: Any, caCert: Any) -> Upstream:
        from twisted.internet.ssl import CertificateOptions, PrivateCertificate
        from twisted.protocols.tls import TLSMemoryBIOFactory

        from tests.test_tls import makeLeaf

        certPEM, keyPEM = makeLeaf(caKey, caCert, ["127.0.0.1"])
        cert = PrivateCertificate.loadPEM(certPEM + keyPEM)
        options = CertificateOptions(privateKey=cert.privateKey.original, certificate=cert.original)
        upstream = Upstream()
        site = server.Site(upstream.root)
        upstream.port = await TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(TLSMemoryBIOFactory(options, False, site))
        self.addCleanup(upstream.stop)
        return upstream

    @inline
    async def test_untrusted_primary(self) -> None:
        import os

        from tests.test_tls import makeCA, pem

        caKey, caCert = makeCA()
        otherKey, otherCert = makeCA("other CA")
        untrusted = await self.tlsUpstream(otherKey, otherCert)
        trusted = await self.tlsUpstream(caKey, caCert)
        bundle = os.path.abspath(self.mktemp())
        with open(bundle, "wb") as f:
            f.write(pem(caCert))
        proxy = ProxyHarness(
            self,
            chainConfig(f"https://{untrusted.authority}", [f"https://{trusted.authority}"], f"tls:\n  upstream: {{ca_bundle: '{bundle}'}}\n"),
            base=PLAIN,
        )
        response, body = await rpc(f"{proxy.base}/proxy/https/{untrusted.authority}/rpc".encode(), CALL)
        self.assertEqual(response.code, 200, body)
        self.assertEqual(untrusted.recorder.requests, [])
        self.assertEqual(len(trusted.recorder.requests), 1)
        record = proxy.service.recentEvents()[-1]
        self.assertEqual(record["upstream_attempts"], [{"upstream": f"https://{untrusted.authority}/rpc", "error": "tls"}])
        self.assertEqual(record["upstream_used"], f"https://{trusted.authority}/rpc")


__all__ = ["BASE"]
