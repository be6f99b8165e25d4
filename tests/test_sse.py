"""
SSE parsing (any chunking gives the same events) and endpoint rewriting.
"""

from hypothesis import given, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.relay.url import Target
from akto_proxy.relay.rewrite import (
    rewriteEndpoint,
    rewriteLocation,
    rewriteWWWAuthenticate,
    upstreamWellKnown,
    wellKnownProxyURL,
)
from akto_proxy.relay.sse import SSEParser, makeEvent

STREAM = (
    b": ping\r\n\r\n"
    b"event: endpoint\r\ndata: /messages/?session_id=abc\r\n\r\n"
    b"id: 7\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\n"
    b"data: \"result\":{}}\n\n"
    b"data:no-space\rdata: second\r\r"
    b"retry: 1000\nid: 8\ndata:\n\n"
)


def events(parser, chunks):
    out = []
    for c in chunks:
        out.extend(parser.feed(c))
    return out


class ParserTests(SynchronousTestCase):
    def test_whole(self) -> None:
        evs = SSEParser().feed(STREAM)
        self.assertEqual(b"".join(e.raw for e in evs), STREAM)
        self.assertTrue(evs[0].isComment)
        self.assertEqual((evs[1].event, evs[1].data), ("endpoint", "/messages/?session_id=abc"))
        self.assertEqual(evs[2].id, "7")
        self.assertEqual(evs[2].data, '{"jsonrpc":"2.0","id":1,\n"result":{}}')
        self.assertEqual(evs[3].data, "no-space\nsecond")
        self.assertEqual(evs[4].data, "")

    @given(st.lists(st.integers(min_value=1, max_value=len(STREAM)), max_size=20))
    def test_any_chunking_same_events(self, cuts: list) -> None:
        points = sorted(set(cuts))
        chunks = [STREAM[a:b] for a, b in zip([0] + points, points + [len(STREAM)])]
        whole = SSEParser().feed(STREAM)
        split = events(SSEParser(), chunks)
        self.assertEqual([(e.fields) for e in split], [e.fields for e in whole])
        self.assertEqual(b"".join(e.raw for e in split), STREAM)

    def test_event_emitted_without_waiting(self) -> None:
        p = SSEParser()
        self.assertEqual(p.feed(b"data: a\r\n"), [])
        self.assertEqual(len(p.feed(b"\r\n")), 1)
        # a CR at the very end of a chunk completes the event at once
        self.assertEqual(len(p.feed(b"data: b\r\r")), 1)
        self.assertEqual(p.feed(b"\n"), [])

    def test_oversize(self) -> None:
        p = SSEParser(maxEvent=10)
        evs = p.feed(b"data: 0123456789abcdef")
        self.assertTrue(evs[-1].oversize)

    def test_with_data(self) -> None:
        e = SSEParser().feed(b"id: 3\r\nevent: message\r\ndata: old\r\n\r\n")[0]
        new = e.withData('{"a":\n1}')
        self.assertEqual(new.raw, b"id: 3\r\nevent: message\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\n")
        self.assertEqual(makeEvent("x", "message").raw, b"event: message\ndata: x\n\n")


class EndpointTests(SynchronousTestCase):
    SSE = "http://127.0.0.1:9000/sse"
    ORIGIN = "https://proxy.example"

    def rewrite(self, data, cred=None):
        return rewriteEndpoint(data, self.SSE, self.ORIGIN, "akto_api_key", cred)

    def test_four_shapes(self) -> None:
        expected = "https://proxy.example/proxy/http/127.0.0.1:9000/messages/?session_id=1"
        self.assertEqual(self.rewrite("/messages/?session_id=1")[0], expected)
        self.assertEqual(self.rewrite("http://127.0.0.1:9000/messages/?session_id=1")[0], expected)
        self.assertEqual(self.rewrite("messages/?session_id=1")[0], expected)
        self.assertEqual(
            self.rewrite("?session_id=1")[0], "https://proxy.example/proxy/http/127.0.0.1:9000/sse?session_id=1"
        )
        self.assertEqual(
            self.rewrite("../up/messages?s=1")[0], "https://proxy.example/proxy/http/127.0.0.1:9000/up/messages?s=1"
        )

    def test_resolved_upstream(self) -> None:
        self.assertEqual(self.rewrite("messages/?session_id=1")[1], "http://127.0.0.1:9000/messages/?session_id=1")

    def test_credential_kept(self) -> None:
        self.assertEqual(
            self.rewrite("/messages/?session_id=1", b"k/1")[0],
            "https://proxy.example/proxy/http/127.0.0.1:9000/messages/?session_id=1&akto_api_key=k%2F1",
        )


class LocationTests(SynchronousTestCase):
    T = Target("https", "up.example.com", 443, b"/mcp")
    O = "http://127.0.0.1:8080"

    def test_rewrites(self) -> None:
        r = lambda v, c=None: rewriteLocation(v, self.T, self.O, "akto_api_key", c)  # noqa: E731
        self.assertEqual(r("/login?x=1"), "http://127.0.0.1:8080/proxy/https/up.example.com/login?x=1")
        self.assertEqual(r("https://up.example.com/a"), "http://127.0.0.1:8080/proxy/https/up.example.com/a")
        self.assertEqual(r("https://up.example.com:443/a"), "http://127.0.0.1:8080/proxy/https/up.example.com/a")
        self.assertEqual(r("https://accounts.other.com/a"), "https://accounts.other.com/a")
        self.assertEqual(r("http://up.example.com/a"), "http://up.example.com/a")
        self.assertEqual(r("relative/path"), "relative/path")
        self.assertEqual(r("/a", b"k"), "http://127.0.0.1:8080/proxy/https/up.example.com/a?akto_api_key=k")


class OAuthTests(SynchronousTestCase):
    T = Target("https", "up.example.com", 443, b"/mcp")

    def test_www_authenticate(self) -> None:
        v = 'Bearer error="invalid_token", resource_metadata="https://up.example.com/.well-known/oauth-protected-resource/mcp", scope="a"'
        out = rewriteWWWAuthenticate(v, self.T, "http://px")
        self.assertIn(
            'resource_metadata="http://px/.well-known/oauth-protected-resource/proxy/https/up.example.com/mcp"', out
        )
        self.assertTrue(out.startswith('Bearer error="invalid_token"'))
        self.assertTrue(out.endswith('scope="a"'))

    def test_well_known_urls(self) -> None:
        self.assertEqual(upstreamWellKnown("oauth-protected-resource", self.T), b"https://up.example.com/.well-known/oauth-protected-resource/mcp")
        self.assertEqual(
            upstreamWellKnown("oauth-authorization-server", Target("https", "a.example", 443, b"/")),
            b"https://a.example/.well-known/oauth-authorization-server",
        )
        self.assertEqual(
            wellKnownProxyURL("https://up.example.com/.well-known/oauth-protected-resource", "http://px"),
            "http://px/.well-known/oauth-protected-resource/proxy/https/up.example.com",
        )
