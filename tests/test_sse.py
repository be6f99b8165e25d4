"""
SSE parsing (any chunking gives the same events) and endpoint rewriting.
"""

import re

from hypothesis import example, given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.relay.url import Target
from akto_proxy.relay.rewrite import (
    rewriteEndpoint,
    rewriteLocation,
    rewriteWWWAuthenticate,
    upstreamWellKnown,
    wellKnownProxyURL,
)
from akto_proxy.relay import sse
from akto_proxy.relay.sse import SSEParser, makeEvent

STREAM = (
    b": ping\r\n\r\n"
    b"event: endpoint\r\ndata: /messages/?session_id=abc\r\n\r\n"
    b"id: 7\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\n"
    b"data: \"result\":{}}\n\n"
    b"data:no-space\rdata: second\r\r"
    b"retry: 1000\nid: 8\ndata:\n\n"
)


_TERMINATOR = re.compile(rb"\r\n|\r|\n")


def reference(stream: bytes) -> list[tuple[bytes, tuple[tuple[str, str], ...]]]:
    """
    The events of a whole C{stream} as the SSE specification reads them:
    lines (CRLF, CR or LF), each decoded from UTF-8 with malformed bytes
    replaced, a comment after a leading colon, else a name and a value at
    the first colon (one space after it dropped); a blank line ends an event.
    Each event with its exact bytes (a leading byte order mark in the first).
    """
    out = []
    fields: list[tuple[str, str]] = []
    pos = 3 if stream.startswith(b"\xef\xbb\xbf") else 0
    start = 0
    for m in _TERMINATOR.finditer(stream, pos):
        line, pos = stream[pos : m.start()], m.end()
        if not line:
            out.append((stream[start:pos], tuple(fields)))
            start, fields = pos, []
            continue
        text = line.decode("utf-8", "replace")
        if text.startswith(":"):
            fields.append(("", text[1:]))
            continue
        name, sep, value = text.partition(":")
        fields.append((name, value[1:] if sep and value.startswith(" ") else value))
    return out


#: pieces of generated streams: field names, colons, spaces, every line
#: end, text, multi-byte, malformed and cut UTF-8
PIECES = [b"data", b"event", b"id", b":", b" ", b"\r", b"\n", b"\r\n", b"x", b"{}", "\u00e9\u20ac".encode(), b"\xff", b"\xe2\x82", b"\xef\xbb\xbf"]


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

    @settings(max_examples=300, deadline=None, derandomize=True)
    @given(st.lists(st.sampled_from(PIECES), max_size=60).map(b"".join), st.lists(st.integers(min_value=0, max_value=400), max_size=8))
    @example(STREAM, [5, 11, 40])
    def test_as_the_specification_reads(self, stream: bytes, cuts: list) -> None:
        """
        Generated streams, whole and in any chunking, give the events the
        specification reads (L{reference}): the same fields, and the same
        bytes.
        """
        expected = reference(stream)
        whole = SSEParser().feed(stream)
        self.assertEqual([(e.raw, e.fields) for e in whole], expected)
        points = sorted({c for c in cuts if 0 < c < len(stream)})
        chunks = [stream[a:b] for a, b in zip([0] + points, points + [len(stream)])]
        parser = SSEParser()
        split = events(parser, chunks)
        self.assertEqual([e.fields for e in split], [f for _, f in expected])
        # the same bytes (but for the LF of a CRLF cut after its CR, which
        # goes with the next event)
        relayed = b"".join(e.raw for e in split)
        complete = sum(len(raw) for raw, _ in expected)
        self.assertTrue(stream.startswith(relayed))
        self.assertIn(len(relayed), (complete, complete - 1))

    @settings(max_examples=300, deadline=None, derandomize=True)
    @given(st.lists(st.sampled_from(PIECES), max_size=60).map(b"".join))
    @example(STREAM)
    def test_large_lines_as_the_specification_reads(self, stream: bytes) -> None:
        """
        The same with every line read as a large one (decoded in place).
        """
        self.patch(sse, "LARGE_LINE", 1)
        self.assertEqual([(e.raw, e.fields) for e in SSEParser().feed(stream)], reference(stream))

    def test_large_line_once(self) -> None:
        """
        A data line of megabytes comes out whole: its value and the event's
        bytes.
        """
        value = "word " * 400_000
        stream = b"event: message\ndata: " + value.encode() + b"\n\n"
        chunks = [stream[i : i + 65536] for i in range(0, len(stream), 65536)]
        (event,) = events(SSEParser(), chunks)
        self.assertEqual(event.data, value)
        self.assertEqual(event.raw, stream)

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
