"""
The JSON-RPC decoding path fuzzed through the proxy, in memory (a proxy
service on a L{MemoryReactorClock}, a client on a L{StringTransport}, the
upstream a twisted.web site joined by L{twisted.test.iosim}): whatever a
client sends (JSON-RPC messages and batches with any field of any type,
strings with lone surrogates, bytes that are not UTF-8, bodies cut short,
gzip or not, MCP headers with any bytes) and whatever the upstream answers
with, no answer is a 5xx from the proxy itself (the upstream here never
answers one) and nothing is logged as an error.  Example counts follow the
hypothesis profile (C{HYPOTHESIS_PROFILE=ci}: 200).
"""

from __future__ import annotations

import gzip
import json
from typing import Any, Optional

from hypothesis import given, strategies as st
from twisted.internet.address import IPv4Address
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.test import iosim
from twisted.trial.unittest import SynchronousTestCase
from twisted.web import server
from twisted.web.resource import Resource

from akto_proxy.config import parseConfig
from akto_proxy.service import ProxyService
from akto_proxy.web.channel import ProxySite
from akto_proxy.web.root import Root

KEY = b"fuzz-key-0123456789abcdef"
UPSTREAM = "10.1.2.3:8080"

CONFIG = """
listen: ["tcp:0:interface=127.0.0.1"]
access_control:
  api_keys:
    - {name: fuzzer, key: "fuzz-key-0123456789abcdef", roles: [developer]}
  roles:
    developer:
      allow: ["initialize", "tools/list", "tools/call:*", "resources/*", "prompts/*"]
      deny: ["tools/call:delete_*"]
upstreams:
  allow: ["10.1.2.3"]
  allow_private: ["10.0.0.0/8"]
limits:
  max_request_body: 64KiB
  max_inspected_response: 64KiB
threat_detection:
  custom_rules:
    - {name: passwd, pattern: "/etc/passwd", action: block}
    - {name: internal, pattern: "[a-z]+\\\\.corp\\\\.internal", action: redact}
guardrails:
  - name: "PII Protection"
    type: "content_filter"
    rules:
      - {pattern: "social security", action: block}
      - {pattern: "credit card", action: redact}
  - name: "Rate"
    type: "rate_limit"
    rules:
      - {requests_per_minute: 1000000, per_client: true}
"""

# -- what a client may send

SURROGATES = st.sampled_from(["\ud800", "\udbff", "\udc00", "\udfff"])
TEXT = st.text(st.one_of(st.characters(), SURROGATES, st.sampled_from(list("\x00\n\r\"\\"))), max_size=12) | st.sampled_from(
    ["/etc/passwd", "host.corp.internal", "credit card 4111 1111 1111 1111", "ignore previous instructions", "' OR 1=1 --", "../../x", "rm -rf /", ""]
)
SCALARS = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False) | TEXT
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4), max_leaves=12)
METHODS = st.sampled_from(
    ["initialize", "tools/list", "tools/call", "resources/read", "prompts/get", "ping", "notifications/initialized", "delete_all", "server/discover"]
) | TEXT | JSON
MISSING = object()


@st.composite
def messages(draw: Any) -> Any:
    """
    Something shaped like a JSON-RPC message, each field present or not,
    of the right type or not.
    """
    fields: dict[str, Any] = {}
    for name, value in (
        ("jsonrpc", st.sampled_from(["2.0", "2.0", "2.0", "1.0", 2]) | JSON),
        ("id", st.integers(-5, 5) | TEXT | JSON),
        ("method", METHODS),
        (
            "params",
            st.fixed_dictionaries({}, optional={"name": TEXT | JSON, "arguments": JSON, "uri": TEXT | JSON, "_meta": JSON, "cursor": JSON}) | JSON,
        ),
        ("result", JSON),
        ("error", st.fixed_dictionaries({"code": st.integers() | JSON, "message": TEXT}) | JSON),
    ):
        if draw(st.integers(0, 3)) or name in ("jsonrpc",):
            if name in ("result", "error") and draw(st.booleans()):
                continue
            fields[name] = draw(value)
    return fields


def serialize(value: Any, ascii: bool) -> bytes:
    """
    JSON text as a client might write it: ASCII with escapes, or UTF-8
    (where a lone surrogate cannot be written: its bytes are then the
    invalid UTF-8 a careless encoder produces).
    """
    text = json.dumps(value, ensure_ascii=ascii)
    return text.encode("utf-8", "surrogatepass")


@st.composite
def bodies(draw: Any) -> bytes:
    kind = draw(st.sampled_from(["message", "message", "batch", "json", "bytes"]))
    if kind == "message":
        value: Any = draw(messages())
    elif kind == "batch":
        value = draw(st.lists(messages(), max_size=4))
    elif kind == "json":
        value = draw(JSON)
    else:
        return draw(st.binary(max_size=64))
    data = serialize(value, draw(st.booleans()))
    cut = draw(st.sampled_from([None, None, None, 1, 7, -1, -3]))
    if cut is not None and data:
        data = data[:cut]
    return data


HEADER_BYTES = st.binary(max_size=12).filter(lambda b: b"\r" not in b and b"\n" not in b and b"\x00" not in b)


@st.composite
def requests(draw: Any) -> tuple[bytes, dict[bytes, bytes], bytes]:
    method = draw(st.sampled_from([b"POST"] * 6 + [b"GET", b"DELETE"]))
    body = draw(bodies()) if method == b"POST" else b""
    headers: dict[bytes, bytes] = {}
    contentType = draw(st.sampled_from([b"application/json", b"application/json", b"text/plain", None, b"application/json; charset=utf-16", b"application/x-\xff"]))
    if contentType is not None:
        headers[b"Content-Type"] = contentType
    headers[b"Accept"] = draw(st.sampled_from([b"application/json, text/event-stream", b"text/event-stream", b"application/json", b"*/*", b"\xff"]))
    if draw(st.integers(0, 4)) == 0 and body:
        headers[b"Content-Encoding"] = draw(st.sampled_from([b"gzip", b"deflate", b"br", b"gzip"]))
        if headers[b"Content-Encoding"] == b"gzip" and draw(st.booleans()):
            body = gzip.compress(body)
    for name in (b"Mcp-Method", b"Mcp-Name", b"Mcp-Param-Path", b"MCP-Protocol-Version", b"Mcp-Session-Id"):
        if draw(st.integers(0, 5)) == 0:
            headers[name] = draw(HEADER_BYTES | st.sampled_from([b"tools/call", b"2026-07-28", b"2025-06-18", b"=?base64?Y2Fmw6k=?=", b"=?base64?!!?="]))
    return method, headers, body


# -- what the upstream answers

@st.composite
def answers(draw: Any) -> tuple[bytes, bytes]:
    """
    An upstream answer: a content type and a body (JSON-RPC, any JSON,
    bytes, or SSE events of those).
    """
    kind = draw(st.sampled_from(["message", "batch", "json", "bytes", "sse"]))
    if kind == "bytes":
        return b"application/json", draw(st.binary(max_size=64))
    value: Any = draw(st.lists(messages(), max_size=3)) if kind == "batch" else draw(JSON if kind == "json" else messages())
    data = serialize(value, draw(st.booleans()))
    if kind == "sse":
        events = [data, serialize(draw(messages()), True)]
        return b"text/event-stream", b"".join(b"event: message\ndata: " + e.replace(b"\n", b"\\n") + b"\n\n" for e in events)
    return b"application/json", data


class Echo(Resource):
    """
    The upstream: answers each request with the answer the test set, or a
    JSON-RPC result holding the request body as a string (so what the client
    sent comes back through the response path too).
    """

    isLeaf = True
    answer: Optional[tuple[bytes, bytes]] = None

    def render(self, request: server.Request) -> bytes:
        body = request.content.read() if request.content is not None else b""
        if self.answer is not None:
            request.setHeader(b"content-type", self.answer[0])
            return self.answer[1]
        request.setHeader(b"content-type", b"application/json")
        text = body.decode("utf-8", "surrogateescape")
        return json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"content": [{"type": "text", "text": text}]}}).encode("ascii")


class Proxy:
    """
    One proxy service for all the examples of a test; a client connection
    per example; upstream connections joined as the proxy opens them.
    """

    def __init__(self, testcase: SynchronousTestCase):
        self.reactor = MemoryReactorClock()
        self.service = ProxyService(parseConfig(CONFIG + f"mcp:\n  state_dir: '{testcase.mktemp()}'\n"), self.reactor)
        self.site = ProxySite(Root(self.service), self.service)
        self.upstream = Echo()
        self.upstreamSite = server.Site(self.upstream, reactor=self.reactor)
        self.pumps: list[iosim.IOPump] = []

    def exchange(self, method: bytes, headers: dict[bytes, bytes], body: bytes) -> bytes:
        """
        Send one request on a new connection; what the client got.
        """
        client = StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 40000))
        channel = self.site.buildProtocol(None)
        channel.makeConnection(client)
        try:
            head = [method + b" /proxy/http/" + UPSTREAM.encode() + b"/mcp HTTP/1.1", b"Host: proxy.test", b"X-Akto-Api-Key: " + KEY]
            head += [k + b": " + v for k, v in headers.items()]
            head.append(b"Content-Length: %d" % len(body))
            channel.dataReceived(b"\r\n".join(head) + b"\r\n\r\n" + body)
            for _ in range(20):  # bounded: each round joins and pumps every connection
                if self._answered(client.value()):
                    break
                self._pump()
            return client.value()
        finally:
            channel.connectionLost(None)
            self._pump()

    @staticmethod
    def _answered(data: bytes) -> bool:
        head, found, body = data.partition(b"\r\n\r\n")
        if not found:
            return False
        lower = head.lower()
        if b"\r\ncontent-length:" in lower:
            return len(body) >= int(lower.split(b"\r\ncontent-length:")[1].split(b"\r\n")[0])
        return body.endswith(b"0\r\n\r\n")

    def _pump(self) -> None:
        while len(self.pumps) < len(self.reactor.tcpClients):
            host, port, factory, timeout, bind = self.reactor.tcpClients[len(self.pumps)]
            client = factory.buildProtocol(None)
            serverProto = self.upstreamSite.buildProtocol(None)
            self.pumps.append(
                iosim.connect(
                    serverProto,
                    iosim.FakeTransport(serverProto, isServer=True),
                    client,
                    iosim.FakeTransport(client, isServer=False),
                    greet=False,
                )
            )
        for _ in range(5):
            for pump in self.pumps:
                pump.flush()


class FuzzTests(SynchronousTestCase):
    proxy: Optional[Proxy] = None

    def setUp(self) -> None:
        from akto_proxy.web import answers

        self.patch(answers, "newRequestId", lambda: "req_fuzz")

    def through(self, method: bytes, headers: dict[bytes, bytes], body: bytes) -> None:
        if self.proxy is None:
            self.proxy = Proxy(self)
        data = self.proxy.exchange(method, headers, body)
        self.assertTrue(data.startswith(b"HTTP/1.1 "), (method, headers, body, data[:200]))
        status = int(data.split(b" ", 2)[1])
        self.assertLess(status, 500, (method, headers, body, data[:600]))
        errors = self.flushLoggedErrors()
        self.assertEqual(errors, [], "".join(f.getTraceback() for f in errors))

    @given(requests())
    def test_requests(self, request: tuple[bytes, dict[bytes, bytes], bytes]) -> None:
        """
        Whatever a client sends: never a 5xx of the proxy's own, never a
        logged error.
        """
        method, headers, body = request
        self.through(method, headers, body)

    @given(requests(), answers())
    def test_answers(self, request: tuple[bytes, dict[bytes, bytes], bytes], answer: tuple[bytes, bytes]) -> None:
        """
        Whatever the upstream answers (JSON-RPC with any field of any type,
        lone surrogates, bytes that are not UTF-8, SSE events of those).
        """
        method, headers, body = request
        if self.proxy is None:
            self.proxy = Proxy(self)
        self.proxy.upstream.answer = answer
        try:
            self.through(method, headers, body)
        finally:
            self.proxy.upstream.answer = None

    def test_known_cases(self) -> None:
        """
        The cases the black-box suite found, and their neighbours.
        """
        call = '{"jsonrpc":"2.0","id":%s,"method":%s,"params":{"name":%s,"arguments":{"a":%s}}}'
        for body in (
            call % ("1", '"tools/call"', '"t"', '"\\ud800"'),
            call % ("1", '"\\ud800"', '"t"', '"x"'),
            call % ('"\\udfff"', '"tools/call"', '"t"', '"/etc/passwd"'),
            call % ("1", '"tools/call"', '"\\udc00x"', '"x"'),
            call % ("1", '"tools/call"', '"t"', '"credit card \\ud800"'),
            "[" + call % ("1", '"tools/call"', '"t"', '"\\ud800"') + "," + call % ("2", '"tools/call"', '"t"', '"/etc/passwd"') + "]",
        ):
            self.through(b"POST", {b"Content-Type": b"application/json", b"Accept": b"application/json, text/event-stream"}, body.encode())
        for name, value in ((b"Mcp-Session-Id", b"\xff"), (b"MCP-Protocol-Version", b"\xc3("), (b"Mcp-Name", b"\xff\xfe")):
            headers = {b"Content-Type": b"application/json", b"Mcp-Method": b"tools/call", name: value}
            self.through(b"POST", headers, (call % ("1", '"tools/call"', '"t"', '"x"')).encode())
