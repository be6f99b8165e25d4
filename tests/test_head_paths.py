"""
The one-string head paths (smallpost): the upstream request's head
(InMemoryRequest.writeTo, compat.headersOf) and the client's response head
(StrictChannel.writeHeaders, compat.setFields) hold no header the proxy
drops and no line a peer put in a value: a client cannot forge the
proxy's own headers or pass hop-by-hop ones upstream, an upstream cannot
split the client's response with a bare CR or an obs-fold.
"""

from __future__ import annotations

import re
from typing import Any

from twisted.internet import endpoints, protocol, reactor
from twisted.trial.unittest import TestCase

from tests.harness import KEY, ProxyHarness, connectRaw

#: what the upstream answers a request with: a forged request id and cache
#: mark, hop-by-hop headers; L{BREAKS} put in it, lines a value would make
ANSWER = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: application/json\r\n"
    b"%s"
    b"X-Akto-Request-Id: forged\r\n"
    b"X-Akto-Cache: hit\r\n"
    b"Keep-Alive: timeout=5\r\n"
    b"Connection: close, X-Hop\r\n"
    b"X-Hop: 1\r\n"
    b"Content-Length: 13\r\n"
    b"\r\n"
    b'{"ok": "yes"}'
)
BREAKS = {
    "none": b"",
    "bare CR": b"X-Bare: a\rSet-Cookie: bare=1\r\n",
    "bare LF": b"X-Bare: a\nSet-Cookie: bare=1\r\n",
    "obs-fold": b"X-Folded: b\r\n Set-Cookie: folded=1\r\n",
    "NUL": b"X-Nul: a\x00Set-Cookie: nul=1\r\n",
}


class _Answer(protocol.Protocol):
    def __init__(self, heads: list[bytes], answer: bytes) -> None:
        self.heads = heads
        self.answer = answer
        self.buffer = b""

    def dataReceived(self, data: bytes) -> None:
        self.buffer += data
        if b"\r\n\r\n" in self.buffer and self.transport is not None:
            self.heads.append(self.buffer)
            self.transport.write(self.answer)
            self.transport.loseConnection()


class _Upstream:
    def __init__(self, answer: bytes) -> None:
        self.heads: list[bytes] = []
        self.answer = answer

    async def start(self) -> None:
        factory = protocol.Factory.forProtocol(lambda: _Answer(self.heads, self.answer))  # type: ignore[arg-type]
        self.port = await endpoints.TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(factory)

    @property
    def authority(self) -> str:
        return f"127.0.0.1:{self.port.getHost().port}"


def fields(head: bytes) -> list[tuple[bytes, bytes]]:
    lines = head.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]
    return [(n.lower(), v.strip()) for n, _, v in (line.partition(b":") for line in lines)]


class HeadPathTests(TestCase):
    async def _exchange(self, breaks: bytes = b"") -> tuple[bytes, bytes]:
        upstream = _Upstream(ANSWER % breaks)
        await upstream.start()
        self.addCleanup(upstream.port.stopListening)
        proxy = ProxyHarness(self)
        path = f"/proxy/http/{upstream.authority}/mcp".encode()
        body = b'{"a": "b"}'
        request = (
            b"POST " + path + b" HTTP/1.1\r\n"
            b"Host: 127.0.0.1\r\n"
            b"X-Akto-Api-Key: " + KEY.encode() + b"\r\n"
            b"X-Akto-Request-Id: forged\r\n"
            b"Connection: keep-alive, X-Secret\r\n"
            b"X-Secret: s\r\n"
            b"Keep-Alive: timeout=5\r\n"
            b"Proxy-Authorization: Basic eDp5\r\n"
            b"TE: trailers\r\n"
            b"Content-Type: application/json\r\n"
            b"Content-Length: %d\r\n"
            b"Connection: close\r\n"
            b"\r\n" % len(body)
        ) + body
        answer = await _answer(proxy.port, request)
        self.assertEqual(len(upstream.heads), 1, answer)
        return upstream.heads[0], answer

    async def test_upstreamGetsNoDroppedHeader(self) -> None:
        """
        The upstream's request head: one Host (the upstream's), one
        Content-Length (the body's), one request id (the proxy's), none of
        the hop-by-hop headers nor the proxy's key.
        """
        head, _ = await self._exchange()
        got = fields(head)
        names = [n for n, _ in got]
        for name in (b"host", b"content-length", b"x-akto-request-id"):
            self.assertEqual(names.count(name), 1, (name, head))
        self.assertNotIn((b"x-akto-request-id", b"forged"), got)
        self.assertIn((b"content-length", b"10"), got)
        for name in (b"x-secret", b"keep-alive", b"proxy-authorization", b"te", b"x-akto-api-key", b"transfer-encoding"):
            self.assertNotIn(name, names, head)
        self.assertFalse(re.search(rb"[\r\n\x00]", head.split(b"\r\n\r\n")[0].replace(b"\r\n", b"")), head)

    async def test_clientGetsNoForgedLine(self) -> None:
        """
        The client's response head: the upstream's bare CR, bare LF or NUL
        refuses its response (a 502), its obs-fold makes no line of its
        own; its request id and cache mark are not relayed, nor its
        hop-by-hop headers.
        """
        for what, breaks in BREAKS.items():
            _, answer = await self._exchange(breaks)
            self._noForgedLine(what, answer)

    def _noForgedLine(self, what: str, answer: bytes) -> None:
        head = answer.split(b"\r\n\r\n", 1)[0]
        if not head.startswith(b"HTTP/1.1 200 "):
            # refused whole (the client parser is strict): a 502 of the proxy's own
            self.assertNotEqual(what, "none", answer)
            self.assertTrue(head.startswith(b"HTTP/1.1 502 "), (what, answer))
            self.assertNotIn(b"Set-Cookie", answer, what)
            self.assertIn(b"malformed response head", answer, what)
            return
        self.assertNotIn(what, ("bare CR", "bare LF", "NUL"), answer)
        self.assertNotIn(b"\r", head.replace(b"\r\n", b""), head)
        self.assertNotIn(b"\n", head.replace(b"\r\n", b""), head)
        self.assertNotIn(b"\x00", head, head)
        got = fields(answer)
        names = [n for n, _ in got]
        self.assertNotIn(b"set-cookie", names, head)
        self.assertEqual(names.count(b"x-akto-request-id"), 1, head)
        self.assertNotIn((b"x-akto-request-id", b"forged"), got)
        for name in (b"x-akto-cache", b"keep-alive", b"x-hop"):
            self.assertNotIn(name, names, head)
        self.assertEqual(names.count(b"content-length"), 1, head)


async def _answer(port: int, request: bytes) -> bytes:
    """
    The proxy's answer to C{request}: its head and as much body as its
    Content-Length says (the connection may stay open).
    """
    client = await connectRaw(port)
    client.transport.write(request)
    for _ in range(50):
        data = client.data
        head, sep, body = data.partition(b"\r\n\r\n")
        length = re.search(rb"\r\ncontent-length: *(\d+)", head, re.I)
        if sep and length and len(body) >= int(length.group(1)):
            client.transport.loseConnection()
            return data
        if client.done.called:
            return data
        await client.waitData()
    raise AssertionError(client.data)
