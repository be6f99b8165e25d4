"""
The client side's HTTP/1.1 parser: a request head that arrives whole is
taken in one pass (StrictChannel._wholeHead), with the same outcome as
HTTPChannel's line-by-line way for every input, well-formed or not.
"""

from __future__ import annotations

import re
from typing import Any

import attrs
from hypothesis import given, settings, strategies as st
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import TestCase
from twisted.web import resource, server

from akto_proxy.access.keys import KeyRing
from akto_proxy.config.model import AccessControl, Limits
from akto_proxy.mcp.events import EventBus
from akto_proxy.web.channel import ProxySite, StrictChannel


class LineByLine(StrictChannel):
    """
    The channel with the whole-head path off.
    """

    def _wholeHead(self, data: bytes) -> bool:
        return False


class Echo(resource.Resource):
    """
    Answers with what the request was, as the channel parsed it.
    """

    isLeaf = True

    def render(self, request: Any) -> bytes:
        content = request.content.read() if request.content is not None else b""
        seen = (request.method, request.uri, request.clientproto, list(request.requestHeaders.getAllRawHeaders()), content)
        return repr(seen).encode("utf-8")


@attrs.frozen
class _Config:
    limits: Limits
    access_control: AccessControl = AccessControl()


@attrs.frozen
class _Runtime:
    config: _Config

    @property
    def keys(self) -> KeyRing:
        return KeyRing(self.config.access_control)


class _Service:
    def __init__(self, limits: Limits):
        self.runtime = _Runtime(_Config(limits))
        self.reactor = self.clock = Clock()
        self.bus = EventBus()  # refusals made before a request are exchange records


LIMITS = Limits(max_headers=6, max_header_bytes=300, max_request_body=64, client_header_timeout=5.0, client_body_timeout=5.0)

_DATE = re.compile(rb"\r\nDate: [^\r]*")


def served(protocol: type, chunks: list[bytes]) -> tuple[bytes, bool, list[str]]:
    """
    What a client sending C{chunks} gets back, whether the connection is
    being closed, and what the whole-head path took.
    """
    site = ProxySite(Echo(), _Service(LIMITS))  # type: ignore[arg-type]
    site.protocol = protocol
    ch = site.buildProtocol(None)
    transport = StringTransport()
    ch.makeConnection(transport)
    taken: list[str] = []
    original = ch._wholeHead

    def whole(data: bytes) -> bool:
        took = original(data)
        taken.append("whole" if took else "lines")
        return took

    ch._wholeHead = whole  # type: ignore[method-assign]
    for chunk in chunks:
        if transport.disconnecting:
            break
        ch.dataReceived(chunk)
    return _DATE.sub(b"", transport.value()), bool(transport.disconnecting), taken


# -- requests, well-formed and not

TOKENS = st.sampled_from([b"Host", b"X-Akto-Api-Key", b"content-type", b"Accept", b"Mcp-Session-Id", b"X-H", b"Connection", b"Expect"])
VALUES = st.sampled_from([b"x", b"", b" padded\t", b"keep-alive", b"close", b"application/json", b"\xff\xfe", b"a:b", b"a b"])
SEPARATORS = st.sampled_from([b":", b": ", b":\t", b":  "])

# what turns a well-formed head into one a strict parser refuses, or may
MUTATIONS: dict[str, list[bytes]] = {
    "method": [b"G T", b"", b"P\x00ST", b"G\xc3\xa9T", b"GET("],
    "target": [b"", b"/a b", b"/\xb1", b"/\x7f", b"/\x00", b"/a\tb"],
    "version": [b"HTTP/2.0", b"http/1.1", b"HTTP/1.1 ", b"HTTP/1.2", b"HTTP/1"],
    "lead": [b"\r\n", b"\n", b" "],
    "eol": [b"\n", b"\r", b"\r\n ", b"\r\n\t", b"\r\r\n"],
    "name": [b"", b"X H", b"X\x00H", b"X(H)", b"\xc3\xa9", b" X", b"X\t", b"X\r"],
    "separator": [b" :", b"", b"\t:"],
    "value": [b"a\x00b", b"a\rb", b"a\nb", b"\x00"],
}


@st.composite
def heads(draw: Any, mutations: int) -> bytes:
    """
    A well-formed request head, with up to C{mutations} of its parts
    replaced by L{MUTATIONS}.  A well-formed head may still be refused for
    its size, its field count or its framing headers.
    """
    pick = st.sampled_from
    method = draw(pick([b"POST", b"GET", b"DELETE"]))
    target = draw(pick([b"/proxy/http/h/mcp", b"/a?b=c%20d", b"/\xb0", b"/", b"*"]))
    version = draw(pick([b"HTTP/1.1", b"HTTP/1.1", b"HTTP/1.0"]))
    fields = [list(f) for f in draw(st.lists(st.tuples(TOKENS, SEPARATORS, VALUES), max_size=7))]
    fields += [[b"Content-Length", draw(SEPARATORS), v] for v in draw(pick(LENGTHS))]
    fields += [[b"Transfer-Encoding", draw(SEPARATORS), v] for v in draw(pick([[]] * 6 + [[b"chunked"], [b"identity"], [b"gzip"]]))]
    fields += [[b"X-Long", b": ", v] for v in draw(pick([[], [], [b"v" * 100], [b"v" * 230]]))]
    fields = draw(st.permutations(fields))
    lead = b""
    eols = [b"\r\n"] * (len(fields) + 1)
    for _ in range(draw(st.integers(0, mutations))):
        part = draw(pick(sorted(MUTATIONS)))
        bad = draw(pick(MUTATIONS[part]))
        if part in ("name", "separator", "value") and fields:
            fields[draw(st.integers(0, len(fields) - 1))][("name", "separator", "value").index(part)] = bad
        elif part == "eol":
            eols[draw(st.integers(0, len(eols) - 1))] = bad
        elif part in ("method", "target", "version", "lead"):
            method, target, version, lead = (bad if p == part else v for p, v in zip(("method", "target", "version", "lead"), (method, target, version, lead)))
    head = lead + method + b" " + target + b" " + version + eols[0]
    for (name, sep, value), eol in zip(fields, eols[1:]):
        head += name + sep + value + eol
    return head + b"\r\n"


LENGTHS = [[], [], [], [b"0"], [b"5"], [b"5"], [b"12"], [b"99999"], [b"5", b"5"], [b"5", b"12"], [b"5, 5"], [b"+5"], [b"-1"], [b" 7 "], [b"1e3"], [b"\xd9\xa5"], [b""]]
BODIES = st.sampled_from([b"", b"hello", b"hello world!", b"5\r\nhello\r\n0\r\n\r\n", b"x" * 80])
NEXT = b"GET /next HTTP/1.1\r\nHost: h\r\n\r\n"


class WholeHeadTests(TestCase):
    def setUp(self) -> None:
        from akto_proxy.web import answers

        self.patch(answers, "newRequestId", lambda: "req_0")  # a 413 names its request

    def test_on(self) -> None:
        """
        This Twisted has what the whole-head path reads: were it off, the
        tests below would compare the line-by-line way with itself.
        """
        from akto_proxy import compat

        self.assertTrue(compat.WHOLE_HEADS)

    def test_taken(self) -> None:
        """
        An ordinary request, and the next on the same connection, are taken
        whole, and answered.
        """
        request = b"POST /proxy/http/h/mcp HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Type: application/json\r\n\r\nhello"
        out, closed, taken = served(StrictChannel, [request, NEXT])
        self.assertEqual(taken, ["whole", "whole"])
        self.assertFalse(closed)
        self.assertEqual(out.count(b"HTTP/1.1 200 OK"), 2)
        self.assertIn(b"b'hello'", out)
        self.assertEqual(out, served(LineByLine, [request, NEXT])[0])

    def test_each_mutation(self) -> None:
        """
        Every mutation, alone, of an ordinary request: answered as line by
        line would (a 400, for most).
        """
        good = [b"POST", b" ", b"/proxy/http/h/mcp", b" ", b"HTTP/1.1", b"\r\n", b"Host", b": ", b"h", b"\r\n"]
        good += [b"Content-Length", b": ", b"5", b"\r\n", b"\r\n", b"hello"]
        where = {"method": [0], "target": [2], "version": [4], "lead": [], "eol": [5, 9, 13], "name": [6, 10], "separator": [7, 11], "value": [8, 12]}
        for part, bads in MUTATIONS.items():
            for bad in bads:
                for i in where[part] or [None]:
                    data = good[:]
                    if i is None:
                        data.insert(0, bad)
                    else:
                        data[i] = bad
                    request = b"".join(data)
                    expected = served(LineByLine, [request, NEXT])
                    got = served(StrictChannel, [request, NEXT])
                    self.assertEqual(got[:2], expected[:2], (request, got[2]))

    @settings(max_examples=1000, deadline=None)
    @given(heads(2), BODIES, st.sampled_from([None, None, None, 1, 7, 25]), st.booleans())
    def test_same_as_line_by_line(self, head: bytes, body: bytes, split: Any, more: bool) -> None:
        """
        Whatever arrives, in one piece or two, with or without a request
        after it: the same answer, the same connection state, as taking it
        line by line.
        """
        data = head + body
        chunks = [data] if split is None else [data[:split], data[split:]]
        if more:
            chunks.append(NEXT)
        expected = served(LineByLine, chunks)
        got = served(StrictChannel, chunks)
        self.assertEqual(got[:2], expected[:2], (data, got[2]))


class BareLineFeedTests(TestCase):
    """
    A request head whose lines end in a bare LF is refused at once (400,
    the envelope with a request id, the connection closed), as soon as its
    first such line arrives: not left waiting for a CRLF that never comes.
    """

    def setUp(self) -> None:
        from akto_proxy.web import answers

        self.patch(answers, "newRequestId", lambda: "req_0")

    def assertRefused(self, out: bytes, closed: bool) -> None:
        import json

        head, _, body = out.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 400 Bad Request\r\n"), out)
        self.assertIn(b"\r\nx-akto-request-id: req_0", head)
        self.assertIn(b"\r\nconnection: close", head)
        error = json.loads(body)["error"]
        self.assertEqual((error["code"], error["request_id"]), ("bad_request", "req_0"))
        self.assertIn("bare LF", error["message"])
        self.assertTrue(closed)

    def test_whole_head(self) -> None:
        for protocol in (StrictChannel, LineByLine):
            out, closed, _ = served(protocol, [b"GET /proxy/http/h/mcp HTTP/1.1\nHost: h\n\n"])
            self.assertRefused(out, closed)

    def test_first_line_alone(self) -> None:
        """
        The request line alone, with nothing after it: answered now, not
        after the header timeout.
        """
        out, closed, _ = served(StrictChannel, [b"GET /proxy/http/h/mcp HTTP/1.1\n"])
        self.assertRefused(out, closed)

    def test_one_line_of_many(self) -> None:
        for head in (
            b"GET / HTTP/1.1\r\nHost: h\nAccept: */*\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: h\r\n\n",
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\n",
        ):
            out, closed, _ = served(StrictChannel, [head])
            self.assertRefused(out, closed)

    def test_after_a_request(self) -> None:
        """
        On a keep-alive connection, the next request's bare LF is refused
        after the first is answered.
        """
        out, closed, _ = served(StrictChannel, [NEXT, b"GET /b HTTP/1.1\nHost: h\n\n"])
        self.assertTrue(out.startswith(b"HTTP/1.1 200 OK"), out)
        self.assertRefused(out[out.index(b"HTTP/1.1 400") :], closed)

    def test_body_may_hold_bare_lf(self) -> None:
        """
        Only the head is held to CRLF: a body may hold any byte.
        """
        body = b'{\n"a": 1\n}\n'
        request = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n" % len(body) + body
        for chunks in ([request], [request[:40], request[40:]], [request[:-3], request[-3:]]):
            out, closed, _ = served(StrictChannel, chunks)
            self.assertTrue(out.startswith(b"HTTP/1.1 200 OK"), out)
            self.assertIn(repr(body).encode(), out)
            self.assertFalse(closed)
        chunked = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\na\nb\nc\r\n0\r\n\r\n"
        out, closed, _ = served(StrictChannel, [chunked])
        self.assertTrue(out.startswith(b"HTTP/1.1 200 OK"), out)
        self.assertIn(b"a\\nb\\nc", out)

    def test_line_limit_as_before(self) -> None:
        """
        A line still unterminated is refused once it holds more than
        C{max_header_bytes} + 1 bytes, as when lines were split at CRLF (a
        line of the limit and its CR may yet be followed by its LF).
        """
        limit = LIMITS.max_header_bytes
        first = b"GET / HTTP/1.1\r\n"
        out, closed, _ = served(StrictChannel, [first + b"X" * (limit + 1)])
        self.assertEqual((out, closed), (b"", False))
        out, closed, _ = served(StrictChannel, [first + b"X" * (limit + 2)])
        self.assertTrue(out.startswith(b"HTTP/1.1 400"), out)
        self.assertTrue(closed)


class IdleKeepAliveTests(TestCase):
    """
    A keep-alive connection idle between requests is closed after
    C{limits.client_keepalive_timeout} (nginx's keepalive_timeout), without
    an answer; a request that begins within it is timed by the header
    timeout from its first byte.
    """

    def connect(self, limits: Limits = LIMITS) -> tuple[Any, StringTransport, Clock]:
        service = _Service(limits)
        site = ProxySite(Echo(), service)  # type: ignore[arg-type]
        ch = site.buildProtocol(None)
        transport = StringTransport()
        ch.makeConnection(transport)
        self.addCleanup(ch.connectionLost, None)
        return ch, transport, service.clock

    def test_default(self) -> None:
        self.assertEqual(Limits().client_keepalive_timeout, 75.0)

    def test_idle_closed(self) -> None:
        ch, transport, clock = self.connect()
        ch.dataReceived(NEXT)
        answered = transport.value()
        self.assertTrue(answered.startswith(b"HTTP/1.1 200 OK"))
        clock.advance(74.9)
        self.assertFalse(transport.disconnecting)
        clock.advance(0.1)
        self.assertTrue(transport.disconnecting)
        self.assertEqual(transport.value(), answered)  # closed without a word

    def test_each_request_restarts_it(self) -> None:
        ch, transport, clock = self.connect()
        for _ in range(3):
            ch.dataReceived(NEXT)
            clock.advance(70)
            self.assertFalse(transport.disconnecting)
        self.assertEqual(transport.value().count(b"HTTP/1.1 200 OK"), 3)
        clock.advance(5)
        self.assertTrue(transport.disconnecting)

    def test_request_begun_is_timed_by_header_timeout(self) -> None:
        ch, transport, clock = self.connect()
        ch.dataReceived(NEXT)
        clock.advance(50)
        ch.dataReceived(b"GET /b HTTP/1.1\r\nHo")
        clock.advance(LIMITS.client_header_timeout - 0.1)
        self.assertFalse(transport.disconnecting)
        clock.advance(0.1)
        self.assertTrue(transport.disconnecting)
        self.assertIn(b"HTTP/1.1 408 Request Timeout", transport.value())

    def test_not_while_a_request_is_handled(self) -> None:
        """
        A request the proxy is still answering is not idle, however long.
        """
        ch, transport, clock = self.connect()
        ch.dataReceived(NEXT)
        pending: list[Any] = []

        class Pending(resource.Resource):
            isLeaf = True

            def render(self, request: Any) -> Any:
                pending.append(request)
                return server.NOT_DONE_YET

        ch.site.resource = Pending()
        ch.dataReceived(NEXT)
        clock.advance(1000)
        self.assertFalse(transport.disconnecting)
        pending[0].finish()
        clock.advance(74)
        self.assertFalse(transport.disconnecting)
        clock.advance(1)
        self.assertTrue(transport.disconnecting)

    def test_zero_keeps_it_open(self) -> None:
        ch, transport, clock = self.connect(attrs.evolve(LIMITS, client_keepalive_timeout=0))
        ch.dataReceived(NEXT)
        clock.advance(100_000)
        self.assertFalse(transport.disconnecting)

    def test_before_the_first_request(self) -> None:
        """
        Before the first request, the header timeout applies, as before.
        """
        ch, transport, clock = self.connect()
        clock.advance(LIMITS.client_header_timeout)
        self.assertTrue(transport.disconnecting)
        self.assertTrue(transport.value().startswith(b"HTTP/1.1 408"))
